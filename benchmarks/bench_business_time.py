"""How fast are business durations? 10^7 intervals, one calendar and per-row calendars.

Run: ``.venv/bin/python benchmarks/bench_business_time.py [--rows N] [--repeat R]``

Prints a markdown table: median of R runs after a warm-up, rows per second, and the ratio to
plain elapsed time (``end - start``, the floor). Before timing, the vectorised result is
checked against the brute-force minute-walking oracle of the tests on 2,000 rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl

import csmetrics as csm
from csmetrics import _calendar_table
from csmetrics.calendar import BusinessCalendar, business_duration, with_business_durations

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.calendar_oracle import Oracle

TS = pl.Datetime("us", "UTC")
START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
YEAR_US = 366 * 86_400 * 10**6
SPEC = {
    "timezone": "Europe/Paris",
    "schedule": [
        {
            "mon": ["09:00-12:30", "13:30-18:00"],
            "tue": ["09:00-12:30", "13:30-18:00"],
            "wed": ["09:00-18:00"],
            "thu": ["09:00-18:00"],
            "fri": ["09:00-17:00", "22:00-06:00"],
        },
        {
            "effective_from": "2024-07-01",
            "mon": ["08:00-16:00"],
            "tue": ["08:00-16:00"],
            "wed": ["08:00-16:00"],
            "thu": ["08:00-16:00"],
            "fri": ["08:00-16:00"],
            "sat": ["10:00-14:00"],
        },
    ],
    "holidays": [
        {"date": "2024-01-01"},
        {"date": "2024-05-01"},
        {"date": "2024-12-24", "hours": ["09:00-12:00"]},
        {"date": "2024-12-25"},
    ],
}
ZONES = (
    "Europe/Paris",
    "America/New_York",
    "Australia/Sydney",
    "Asia/Kolkata",
    "Australia/Adelaide",
    "Europe/London",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "America/Sao_Paulo",
    "Africa/Johannesburg",
)


def intervals(n: int, *, seed: int = 0, minute: bool = False) -> pl.DataFrame:
    """``n`` intervals starting in 2024, lasting up to a week (log-uniform-ish), with a team."""
    i = pl.int_range(n, dtype=pl.UInt64)
    start = (i.hash(seed) % YEAR_US).cast(pl.Int64)
    length = (i.hash(seed + 1) % (7 * 86_400 * 10**6)).cast(pl.Int64) // (
        (i.hash(seed + 2) % 100).cast(pl.Int64) + 1
    )
    frame = pl.select(
        start=start + int(START.timestamp()) * 10**6,
        end=start + length + int(START.timestamp()) * 10**6,
        team=pl.lit(pl.Series(ZONES)).gather((i.hash(seed + 3) % len(ZONES)).cast(pl.Int64)),
    )
    if minute:
        frame = frame.with_columns(pl.col("start", "end") // 60_000_000 * 60_000_000)
    return frame.with_columns(pl.col("start", "end").cast(TS))


def check_against_oracle(calendar: BusinessCalendar) -> None:
    sample = intervals(2_000, seed=7, minute=True)
    got = sample.select(business_duration("start", "end", calendar).dt.total_microseconds())
    oracle = Oracle(SPEC)
    lo = int(sample["start"].min().timestamp()) // 60  # type: ignore[union-attr]
    hi = int(sample["end"].max().timestamp()) // 60 + 1  # type: ignore[union-attr]
    oracle.prepare(lo, hi)
    expected = [
        oracle.business_minutes(int(a.timestamp()) // 60, int(b.timestamp()) // 60) * 60 * 10**6
        for a, b in sample.select("start", "end").iter_rows()
    ]
    assert got.to_series().to_list() == expected, "vectorised result disagrees with the oracle"


def measure(name: str, run: Callable[[], object], n: int, repeat: int) -> dict[str, object]:
    run()  # warm-up (tables cached after this)
    times, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        run()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    median = statistics.median(times)
    return {
        "what": name,
        "seconds": median,
        "cpu_seconds": statistics.median(cpu),
        "rows_per_s": n / median,
    }


def markdown_table(rows: list[dict[str, object]], floor: float) -> str:
    lines = [
        "| what | median wall s | CPU s | rows/s (wall) | × plain elapsed |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        seconds = float(row["seconds"])  # type: ignore[arg-type]
        cpu = float(row["cpu_seconds"])  # type: ignore[arg-type]
        rate = float(row["rows_per_s"])  # type: ignore[arg-type]
        lines.append(
            f"| {row['what']} | {seconds:.3f} | {cpu:.2f} | {rate:,.0f} | {seconds / floor:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10**7)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    n, repeat = args.rows, args.repeat

    calendar = BusinessCalendar.from_dict(SPEC)
    teams = {zone: BusinessCalendar.from_dict({**SPEC, "timezone": zone}) for zone in ZONES}
    check_against_oracle(calendar)
    frame = intervals(n)
    span = (
        frame["start"].min(),
        max(frame["start"].max(), frame["end"].max()),  # type: ignore[type-var]
    )

    t0 = time.perf_counter()
    _calendar_table.build_tables((calendar,), *(int(x.timestamp() * 10**6) for x in span))  # type: ignore[union-attr]
    build_one = time.perf_counter() - t0
    t0 = time.perf_counter()
    _calendar_table.build_tables(
        tuple(teams.values()),
        *(int(x.timestamp() * 10**6) for x in span),  # type: ignore[union-attr]
    )
    build_ten = time.perf_counter() - t0

    lazy = frame.lazy()
    rows = [
        measure(
            "plain elapsed `end - start`",
            lambda: lazy.select(pl.col("end") - pl.col("start")).collect(),
            n,
            repeat,
        ),
        measure(
            "business_duration(span=…) — literal tables",
            lambda: lazy.select(
                business_duration("start", "end", calendar, span=span)  # type: ignore[arg-type]
            ).collect(),
            n,
            repeat,
        ),
        measure(
            "business_duration() — span from the batch",
            lambda: lazy.select(business_duration("start", "end", calendar)).collect(),
            n,
            repeat,
        ),
        measure(
            "with_business_durations (collects the span first)",
            lambda: (
                with_business_durations(lazy, {"d": ("start", "end")}, calendar)
                .select("d")
                .collect()
            ),
            n,
            repeat,
        ),
        measure(
            "with_business_durations, 10 calendars by key",
            lambda: (
                with_business_durations(lazy, {"d": ("start", "end")}, teams, key="team")
                .select("d")
                .collect()
            ),
            n,
            repeat,
        ),
    ]
    floor = float(rows[0]["seconds"])  # type: ignore[arg-type]
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    load = os.getloadavg()[0]
    print(
        f"{n:,} intervals (up to a week each, starts over 2024); polars {pl.__version__}, "
        f"csmetrics {csm.__version__}, {pl.thread_pool_size()} threads; median of {repeat} "
        f"after a warm-up; load average {load:.1f} on {os.cpu_count()} cores; checked against "
        "the minute-walking oracle on 2,000 rows.\n"
    )
    print(markdown_table(rows, floor))
    print(
        f"\nTable build (cold, once per calendar and span): one calendar {build_one:.3f} s, "
        f"ten calendars {build_ten:.3f} s. Peak RSS {peak_mib:,.0f} MiB."
    )


if __name__ == "__main__":
    main()
