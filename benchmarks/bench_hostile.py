"""Hostile sizes: one huge case, millions of customers, 1e5 channels and topics.

Usage::

    python benchmarks/bench_hostile.py                  # the sizes of issue 8 (a few minutes)
    python benchmarks/bench_hostile.py --quick          # a tenth of each (seconds)
    python benchmarks/bench_hostile.py --out benchmarks/HOSTILE.md

Each scenario runs at two sizes, ten times apart, and the table shows the time of each step
and the ratio of the two times: about 10 means linear (or n log n), about 100 would be
quadratic. Steps: validation (``EventLog.from_frame`` + ``validate("raise")``), the case table,
``compute`` (every case-level metric; by channel or topic where the scenario has many), and
the next-reply pairs. The logs are built with Polars expressions (no Python loops) and held
in memory; times are wall-clock seconds of one run after one warm-up of the smaller size.

Scenarios:

- ``one case``: a single case with n events (a conversation that never ends: 8-event blocks
  of customer message, reply, note, customer message, reply, solve, reopen, assignment);
- ``customers``: n distinct customers, each with one case of two events (created, replied);
- ``channels`` / ``topics``: n events in cases of 10, over k distinct channels or topics,
  grouped by that column (k = n / 10, so 1e5 groups at 1e6 events).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import platform
import time
from collections.abc import Callable

import polars as pl

import csmetrics as csm

BASE = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
BLOCK = ("message", "message", "note", "message", "message", "status_changed",
         "status_changed", "assigned")  # fmt: skip
BLOCK_ACTORS = ("customer", "agent", "agent", "customer", "agent", "agent", "customer", "system")


def _pick(index: pl.Expr, values: tuple[str, ...]) -> pl.Expr:
    return index.replace_strict(dict(enumerate(values)), return_dtype=pl.String)


def one_case(n_events: int) -> pl.DataFrame:
    """One case: ``case_created`` then 8-event blocks (see the module docstring), a minute apart."""
    i = pl.int_range(n_events, dtype=pl.Int64)
    j = (i - 1) % len(BLOCK)
    first = i == 0
    return pl.select(
        i.alias("event_id"),
        pl.lit(1, pl.Int64).alias("case_id"),
        pl.lit(1, pl.Int64).alias("customer_id"),
        pl.lit("email").alias("channel"),
        (pl.lit(BASE) + pl.duration(minutes=i)).alias("ts"),
        pl.when(first).then(pl.lit("case_created")).otherwise(_pick(j, BLOCK)).alias("event_type"),
        pl.when(first).then(pl.lit("customer")).otherwise(_pick(j, BLOCK_ACTORS)).alias("actor"),
        pl.when(~first & (j == 5))
        .then(pl.lit("solved"))
        .when(~first & (j == 6))
        .then(pl.lit("open"))
        .alias("status"),
        pl.when(~first & (j == 7)).then(pl.format("a{}", (i // 8) % 5)).alias("agent_id"),
    )


def cases_of_two(n_cases: int, *, groups: int | None = None, column: str = "topic") -> pl.DataFrame:
    """``n_cases`` cases of two events (created by the customer, replied a minute later), each
    for its own customer; with ``groups``, ``column`` takes ``groups`` distinct values."""
    row = pl.int_range(2 * n_cases, dtype=pl.Int64)
    case = row // 2
    second = (row % 2) == 1
    start = pl.duration(seconds=case % (86_400 * 300))
    columns = [
        row.alias("event_id"),
        case.alias("case_id"),
        case.alias("customer_id"),
        pl.lit("email").alias("channel"),
        (pl.lit(BASE) + start + pl.duration(minutes=second.cast(pl.Int64))).alias("ts"),
        pl.when(second)
        .then(pl.lit("message"))
        .otherwise(pl.lit("case_created"))
        .alias("event_type"),
        pl.when(second).then(pl.lit("agent")).otherwise(pl.lit("customer")).alias("actor"),
    ]
    frame = pl.select(columns)
    if groups is not None:
        frame = frame.with_columns(
            pl.format("{}{}", pl.lit(column[0]), case % groups).alias(column)
        )
    return frame


def many_groups(n_events: int, column: str) -> pl.DataFrame:
    """``n_events`` in cases of 10 (the block of :func:`one_case` plus 2 events), with
    ``n_events / 10`` distinct values of ``column`` (channel or topic), one per case."""
    i = pl.int_range(n_events, dtype=pl.Int64)
    case = i // 10
    k = i % 10
    j = (k - 1) % len(BLOCK)
    first = k == 0
    value = pl.format("{}{}", pl.lit(column[0]), case)
    return pl.select(
        i.alias("event_id"),
        case.alias("case_id"),
        case.alias("customer_id"),
        (value if column == "channel" else pl.lit("email")).alias("channel"),
        (pl.lit(BASE) + pl.duration(seconds=case % 1_000_000, minutes=k)).alias("ts"),
        pl.when(first).then(pl.lit("case_created")).otherwise(_pick(j, BLOCK)).alias("event_type"),
        pl.when(first).then(pl.lit("customer")).otherwise(_pick(j, BLOCK_ACTORS)).alias("actor"),
        pl.when(~first & (j == 5))
        .then(pl.lit("solved"))
        .when(~first & (j == 6))
        .then(pl.lit("open"))
        .alias("status"),
        *([value.alias("topic")] if column == "topic" else []),
    )


def _timed(step: Callable[[], object]) -> float:
    gc.collect()
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def measure(frame: pl.DataFrame, by: str | None) -> dict[str, float]:
    """Seconds per step for one log."""
    out: dict[str, float] = {}
    holder: dict[str, csm.EventLog] = {}

    def validate() -> None:
        log = csm.EventLog.from_frame(frame)
        log.validate("raise")
        holder["log"] = log.checked("raise")

    out["validate"] = _timed(validate)
    log = holder["log"]
    out["case_table"] = _timed(lambda: csm.case_table(log).collect())
    out["compute"] = _timed(lambda: csm.compute(log, by=by or ()).collect())
    out["pairs"] = _timed(lambda: csm.next_reply_pairs(log).collect())
    return out


SCENARIOS: dict[str, tuple[Callable[[int], pl.DataFrame], str | None, tuple[int, int]]] = {
    "one case, n events": (one_case, None, (100_000, 1_000_000)),
    "customers, n (2 events each)": (lambda n: cases_of_two(n), None, (1_000_000, 10_000_000)),
    "channels, n events (n/10 channels)": (
        lambda n: many_groups(n, "channel"),
        "channel",
        (100_000, 1_000_000),
    ),
    "topics, n events (n/10 topics)": (
        lambda n: many_groups(n, "topic"),
        "topic",
        (100_000, 1_000_000),
    ),
}
STEPS = ("validate", "case_table", "compute", "pairs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of each size")
    parser.add_argument("--only", nargs="*", default=None, help="scenario name prefixes")
    parser.add_argument("--out", help="also write the table to this Markdown file")
    args = parser.parse_args()
    divisor = 10 if args.quick else 1
    lines = [
        f"Hostile sizes — csmetrics {csm.__version__}, Polars {pl.__version__}, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"{pl.thread_pool_size()} Polars threads",
        "",
        "| scenario | n | rows | " + " | ".join(f"{s} s" for s in STEPS) + " |",
        "|---|---:|---:|" + "---:|" * len(STEPS),
    ]
    print("\n".join(lines), flush=True)
    for name, (build, by, sizes) in SCENARIOS.items():
        if args.only and not any(name.startswith(p) for p in args.only):
            continue
        small, large = (size // divisor for size in sizes)
        measure(build(max(small // 10, 10)), by)  # warm-up
        times = {}
        for n in (small, large):
            frame = build(n)
            times[n] = measure(frame, by)
            row = " | ".join(f"{times[n][s]:.2f}" for s in STEPS)
            line = f"| {name} | {n:,} | {frame.height:,} | {row} |"
            lines.append(line)
            print(line, flush=True)
            del frame
        ratio = " | ".join(f"×{times[large][s] / max(times[small][s], 1e-9):.1f}" for s in STEPS)
        line = f"| {name}: large / small (size ×{large // small}) | | | {ratio} |"
        lines.append(line)
        print(line, flush=True)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
