"""Core benchmark: csmetrics against the hand-written Polars yardstick, whole process.

Usage::

    python benchmarks/bench_core.py                      # 1e6 and 1e7 events, 3 repeats
    python benchmarks/bench_core.py --events 1e5 --repeats 1
    python benchmarks/bench_core.py --events 1e8 --files 10 --kinds ref headline partitioned
    python benchmarks/bench_core.py --out benchmarks/RESULTS.md

The simulator's log is written to Parquet (``--files`` files; ids offset per file so every
file holds whole customers). Each measurement runs in a fresh process and is read from the
kernel's accounting of that process (``wait4``): CPU seconds (user + system), wall seconds,
peak resident memory. csmetrics and the yardstick alternate within each repeat, so load
changes hit both; the table reports medians and the ratios to the yardstick.

The yardstick is ``../shared/reference/handwritten_polars.py`` (``--reference`` to point
elsewhere): the five headline metrics by channel in one streaming plan. Without it the
script stops with a message (the repository does not ship it).

What is timed (``--kinds``):

- ``ref``: the yardstick;
- ``headline``: ``csm.compute`` of first response, full resolution, reopen rate, comp rate and
  channel-switch rate by channel, one call;
- ``case_table``: the full case table, collected;
- ``all``: every built-in metric by channel in one ``compute`` call;
- ``scan``: reading the eight columns the yardstick reads (the floor);
- ``partitioned``: ``csm.compute_partitioned`` of the headline case metrics with a 2 GiB
  memory budget.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _process import measure_child, report_peak

HEADLINE = [
    "first_response_time",
    "full_resolution_time",
    "reopen_rate",
    "comp_rate",
    "channel_switch_rate",
]
REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "handwritten_polars.py"
COLUMNS = ["case_id", "customer_id", "channel", "ts", "event_type", "actor", "is_public", "status"]
KINDS = ("ref", "headline", "case_table", "all", "scan", "partitioned")
LABELS = {
    "ref": "hand-written Polars (reference), 5 headline metrics",
    "headline": "csmetrics compute, 5 headline metrics, one call",
    "case_table": "csmetrics case_table (every column)",
    "all": "csmetrics compute, every built-in metric",
    "scan": "scan the 8 columns the reference reads (floor)",
    "partitioned": "csmetrics compute_partitioned, 2 GiB budget",
}


def _source(folder: Path) -> str:
    return str(folder / "*.parquet")


def write_log(folder: Path, n_events: int, files: int) -> int:
    """Write ``n_events`` simulated events in ``files`` Parquet files; return the count."""
    import csmetrics as csm

    folder.mkdir(parents=True, exist_ok=True)
    per_file = -(-n_events // files)
    offset = 10**9
    for k in range(files):
        frame = csm.datasets.simulate_frame(
            max(1, round(per_file / csm.datasets.EVENTS_PER_CASE)), seed=1000 + k
        ).with_columns(
            (pl.col(c) + k * offset).alias(c)
            for c in ("event_id", "case_id", "customer_id", "merged_into")
        )
        frame.write_parquet(folder / f"part-{k:03d}.parquet")
        del frame
    return int(pl.scan_parquet(_source(folder)).select(pl.len()).collect().item())


def _child(kind: str, source: str, reference: str) -> None:
    """Run one measurement in this (fresh) process, then print its peak memory."""
    _work(kind, source, reference)
    report_peak()


def _work(kind: str, source: str, reference: str) -> None:
    if kind == "ref":
        import runpy

        sys.argv = [reference, source, "--quiet"]
        runpy.run_path(reference, run_name="__main__")
        return
    if kind == "scan":
        pl.scan_parquet(source).select(COLUMNS).collect(engine="streaming")
        return
    import csmetrics as csm

    log = csm.EventLog.trusted(pl.scan_parquet(source))
    if kind == "headline":
        csm.compute(log, HEADLINE, by="channel").collect(engine="streaming")
    elif kind == "case_table":
        csm.case_table(log).collect(engine="streaming")
    elif kind == "all":
        every = [m.name for m in csm.metrics.builtins()]
        csm.compute(log, every, by="channel").collect(engine="streaming")
    elif kind == "partitioned":
        state = csm.compute_partitioned(log, HEADLINE[:4], by="channel", memory_limit=2 * 1024**3)
        state.finalize().collect()
    else:
        raise SystemExit(f"unknown kind {kind!r}")


def measure(kind: str, source: str, reference: Path) -> dict[str, float]:
    """CPU seconds, wall seconds and peak RSS (MiB) of one fresh process."""
    command = [sys.executable, __file__, "--child", kind, source, str(reference)]
    return measure_child(command, kind)


def run(
    source: str, n_events: int, kinds: list[str], repeats: int, reference: Path
) -> list[dict[str, str]]:
    runs: dict[str, list[dict[str, float]]] = {k: [] for k in kinds}
    for _ in range(repeats):  # alternate: every kind once per round
        for kind in kinds:
            runs[kind].append(measure(kind, source, reference))
    med = {
        k: {m: statistics.median(r[m] for r in rs) for m in ("cpu", "wall")}
        | {"peak": max(r["peak"] for r in rs)}
        for k, rs in runs.items()
    }
    ref = med.get("ref")
    rows = []
    for kind in kinds:
        m = med[kind]
        rows.append(
            {
                "events": f"{n_events:,}",
                "what": LABELS[kind],
                "CPU s": f"{m['cpu']:.2f}",
                "wall s": f"{m['wall']:.2f}",
                "peak MiB": f"{m['peak']:,.0f}",
                "CPU vs ref": f"{m['cpu'] / ref['cpu']:.2f}x" if ref else "",
                "wall vs ref": f"{m['wall'] / ref['wall']:.2f}x" if ref else "",
                "peak vs ref": f"{m['peak'] / ref['peak']:.2f}x" if ref else "",
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--events", nargs="*", type=float, default=[1e6, 1e7])
    parser.add_argument("--files", type=int, default=1, help="Parquet files per log")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--kinds",
        nargs="*",
        default=["ref", "headline", "case_table", "all", "scan"],
        choices=KINDS,
    )
    parser.add_argument("--reference", type=Path, default=REFERENCE)
    parser.add_argument("--data", type=Path, help="keep the generated logs here (reused)")
    parser.add_argument("--out", help="also write the Markdown table here")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--write", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    if args.write:  # in a child process, so that this one stays small
        folder, n, files = args.write
        print(write_log(Path(folder), int(n), int(files)))
        return
    if "ref" in args.kinds and not args.reference.is_file():
        raise SystemExit(
            f"the reference query {args.reference} is not here (it lives in ../shared/reference); "
            "pass --reference PATH, or drop 'ref' from --kinds"
        )
    rows: list[dict[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = args.data or Path(tmp)
        for n in args.events:
            folder = root / f"events-{int(n)}-{args.files}"
            if folder.is_dir() and any(folder.glob("*.parquet")):
                actual = int(pl.scan_parquet(_source(folder)).select(pl.len()).collect().item())
            else:
                written = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--write",
                        str(folder),
                        str(int(n)),
                        str(args.files),
                    ],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                actual = int(written.strip().splitlines()[-1])
            rows += run(_source(folder), actual, args.kinds, args.repeats, args.reference)
            print(json.dumps(rows[-len(args.kinds) :]), file=sys.stderr)
    header = list(rows[0])
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, load average at the end "
        f"{os.getloadavg()[0]:.1f}; Python {platform.python_version()}, Polars {pl.__version__}; "
        f"median of {args.repeats} runs (peak: the largest), each a fresh process, "
        "csmetrics and the reference alternating.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
        *("| " + " | ".join(r[h] for h in header) + " |" for r in rows),
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
