"""The cross-channel analyses against ``compute`` of the five headline metrics, same log.

Usage::

    python benchmarks/bench_analyses.py                      # 1e5 and 1e6 events
    python benchmarks/bench_analyses.py --events 1e7 --data /big/disk   # the target size
    python benchmarks/bench_analyses.py --out benchmarks/RESULTS-analyses.md

The target (issue 17): each analysis within 2x the time of ``compute`` of the five headline
metrics (first response, full resolution, channel switch rate, comp rate, reopen rate) on the
same log. The log is the simulator's (planted contagion so that the study has events, message
text for the topics), written once to Parquet in a child process, under ``--data`` (kept and
reused) or a temporary folder (removed at the end). Each measurement is one fresh process
that imports csmetrics, scans the file and collects the analysis in full; its wall seconds,
CPU seconds (user + system, from the kernel's ``wait4``) and peak resident memory are
reported. Every kind runs once per round, ``--repeats`` rounds, so load changes hit them all;
the table gives medians and the ratio of wall seconds to ``compute``'s.

Measured on the development machine (2 CPU cores): every analysis within 1.6x of ``compute``
at 1e7 events (``redirect_rate`` 1.54x, one round), within 1.1x at 1e5 and 1e6 in the last
run; see ``benchmarks/RESULTS-analyses.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _process import measure_child, report_peak

HEADLINE = [
    "first_response_time",
    "full_resolution_time",
    "channel_switch_rate",
    "comp_rate",
    "reopen_rate",
]
TOPICS = {
    "billing": {"keywords": ["invoice", "refund"]},
    "delivery": {"keywords": ["parcel", "package"]},
    "outage": {"keywords": ["down"]},
}
RATES = {"currency": "EUR", "default": 30.0, "channel": {"phone": 36.0, "chat": 24.0}}
KINDS = (
    "compute",
    "comp_contagion",
    "cost_per_resolved_issue",
    "difficulty_summary",
    "agent_occupancy",
    "pulled_onto",
    "redirect_rate",
    "spillover",
    "topics",
)
LABELS = {
    "compute": "compute (5 headline metrics)",
    "spillover": "spillover (effects + cascade)",
    "topics": "tag_topics + trends",
}


def _work(kind: str, path: str) -> None:
    """Collect one analysis in full on the log at ``path``."""
    import polars as pl

    import csmetrics as csm
    from csmetrics.contagion import comp_contagion
    from csmetrics.cost import cost_per_resolved_issue
    from csmetrics.difficulty import difficulty_summary
    from csmetrics.occupancy import agent_occupancy, pulled_onto
    from csmetrics.redirects import redirect_rate
    from csmetrics.spillover import spillover
    from csmetrics.topics import tag_topics
    from csmetrics.trends import trends

    log = csm.scan_events(path)

    def headline() -> object:
        return csm.compute(log, HEADLINE).collect()

    def pulled() -> object:
        first = pl.scan_parquet(path).select(pl.col("ts").min()).collect().item()
        start = first + dt.timedelta(days=10, hours=9)
        window = pulled_onto(log, ["twitter", "facebook"], start, start + dt.timedelta(hours=6))
        return window.collect()

    def spill() -> object:
        result = spillover(log)
        assert result.cascade is not None
        return pl.collect_all([result.effects, result.cascade])

    runs: dict[str, Callable[[], object]] = {
        "compute": headline,
        "comp_contagion": lambda: comp_contagion(log).collect(),
        "cost_per_resolved_issue": lambda: cost_per_resolved_issue(log, RATES).collect(),
        "difficulty_summary": lambda: difficulty_summary(log).collect(),
        "agent_occupancy": lambda: agent_occupancy(log).collect(),
        "pulled_onto": pulled,
        "redirect_rate": lambda: redirect_rate(log).collect(),
        "spillover": spill,
        "topics": lambda: trends(tag_topics(log, TOPICS), by=["topic", "channel"]).collect(),
    }
    runs[kind]()


def _write(path: Path, n_events: int) -> int:
    """Write the simulated log (in a child process, so the measuring one stays small)."""
    import polars as pl

    from csmetrics.datasets import Effects, simulate_parquet

    path.parent.mkdir(parents=True, exist_ok=True)
    simulate_parquet(n_events, seed=1, effects=Effects(contagion=0.5, text=True), path=path)
    return int(pl.scan_parquet(path).select(pl.len()).collect().item())


def measure(kind: str, path: Path) -> dict[str, float]:
    """Wall seconds, CPU seconds and peak RSS (MiB) of one fresh process."""
    return measure_child([sys.executable, __file__, "--child", kind, str(path)], kind)


def run(path: Path, n_events: int, kinds: list[str], repeats: int) -> list[dict[str, Any]]:
    """Every kind once per round; medians over the rounds."""
    runs: dict[str, list[dict[str, float]]] = {k: [] for k in kinds}
    for _ in range(repeats):
        for kind in kinds:
            runs[kind].append(measure(kind, path))
    rows = []
    for kind in kinds:
        rs = runs[kind]
        rows.append(
            {
                "events": n_events,
                "analysis": LABELS.get(kind, kind),
                "wall": statistics.median(r["wall"] for r in rs),
                "cpu": statistics.median(r["cpu"] for r in rs),
                "peak": max(r["peak"] for r in rs),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--events", nargs="+", default=["1e5", "1e6"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    parser.add_argument("--data", type=Path, help="keep the generated logs here (reused)")
    parser.add_argument("--out", help="also write the Markdown table here")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--write", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _work(*args.child)
        report_peak()
        return
    if args.write:
        print(_write(Path(args.write[0]), int(args.write[1])))
        return
    kinds = ["compute", *(k for k in args.kinds if k != "compute")]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = args.data or Path(tmp)
        for text in args.events:
            n_events = int(float(text))
            path = root / f"analyses-{n_events}.parquet"
            if not path.is_file():
                command = [sys.executable, __file__, "--write", str(path), str(n_events)]
                subprocess.run(command, check=True, capture_output=True, text=True)
            measured = run(path, n_events, kinds, args.repeats)
            print(json.dumps(measured), file=sys.stderr)
            rows += measured
    import polars as pl

    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, load average at the end "
        f"{os.getloadavg()[0]:.1f}; Python {platform.python_version()}, Polars {pl.__version__}; "
        f"median of {args.repeats} fresh processes each.",
        "",
        "| events | analysis | wall s | CPU s | × compute (wall) | peak RSS MiB |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    base: dict[int, float] = {
        r["events"]: r["wall"] for r in rows if r["analysis"] == LABELS["compute"]
    }
    for row in rows:
        lines.append(
            f"| {row['events']:.0e} | {row['analysis']} | {row['wall']:.2f} | {row['cpu']:.2f} | "
            f"{row['wall'] / base[row['events']]:.2f} | {row['peak']:.0f} |"
        )
    table = "\n".join(lines)
    print(table)
    if args.out:
        Path(args.out).write_text(table + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
