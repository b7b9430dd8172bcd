"""The cross-channel analyses against ``compute`` of the five headline metrics, same log.

Usage::

    python benchmarks/bench_analyses.py                      # 1e5 and 1e6 events
    python benchmarks/bench_analyses.py --events 1e7         # the issue-17 target size
    python benchmarks/bench_analyses.py --out benchmarks/RESULTS-analyses.md

The target (issue 17): each analysis within 2x the time of ``compute`` of the five headline
metrics (first response, full resolution, channel switch rate, comp rate, reopen rate) on the
same log. Each figure is the median of ``--repeats`` runs, after one warm-up run, on a
simulated Parquet file (``simulate_parquet``, planted contagion so that the study has events);
every analysis is collected in full. All timings of one size run in one fresh process, so
they share the file cache; the peak RSS column is that process's peak so far.

Measured on the development machine (2 CPU cores shared with other jobs): every analysis
within 1.7x of ``compute`` at 1e6 events (spill-over 1.6x, the contagion study 1.5x); see
``benchmarks/RESULTS-analyses.md``. 1e7 events was not run there (shared cores); run
``--events 1e7`` on a dedicated machine to check the target at that size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def _spill(result: Any) -> object:
    import polars as pl

    assert result.cascade is not None
    return pl.collect_all([result.effects, result.cascade])


def _measure(n_events: int, repeats: int) -> list[dict[str, Any]]:
    import polars as pl

    import csmetrics as csm
    from csmetrics.contagion import comp_contagion
    from csmetrics.cost import cost_per_resolved_issue
    from csmetrics.datasets import Effects, simulate_parquet
    from csmetrics.difficulty import difficulty_summary
    from csmetrics.occupancy import agent_occupancy, pulled_onto
    from csmetrics.redirects import redirect_rate
    from csmetrics.spillover import spillover
    from csmetrics.topics import tag_topics
    from csmetrics.trends import trends

    path = simulate_parquet(n_events, seed=1, effects=Effects(contagion=0.5, text=True))
    log = csm.scan_events(str(path))

    def headline() -> object:
        try:
            return csm.compute(log, HEADLINE).collect()
        except csm.CsMetricsError:  # before issue 15: journey metrics apart
            case_level = [m for m in HEADLINE if m != "channel_switch_rate"]
            return (
                csm.compute(log, case_level).collect(),
                csm.journey_metrics(log, "channel_switch_rate").collect(),
            )

    first = pl.scan_parquet(path).select(pl.col("ts").min()).collect().item()
    start = first + dt.timedelta(days=10, hours=9)
    runs: dict[str, Callable[[], object]] = {
        "compute (5 headline metrics)": headline,
        "comp_contagion": lambda: comp_contagion(log).collect(),
        "cost_per_resolved_issue": lambda: cost_per_resolved_issue(log, RATES).collect(),
        "difficulty_summary": lambda: difficulty_summary(log).collect(),
        "agent_occupancy": lambda: agent_occupancy(log).collect(),
        "pulled_onto": lambda: pulled_onto(
            log, ["twitter", "facebook"], start, start + dt.timedelta(hours=6)
        ).collect(),
        "redirect_rate": lambda: redirect_rate(log).collect(),
        "spillover (effects + cascade)": lambda: _spill(spillover(log)),
        "tag_topics + trends": lambda: trends(
            tag_topics(log, TOPICS), by=["topic", "channel"]
        ).collect(),
    }
    rows = []
    for name, run in runs.items():
        run()  # warm-up (file cache, plan)
        times = []
        for _ in range(repeats):
            began = time.perf_counter()
            run()
            times.append(time.perf_counter() - began)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rows.append({"analysis": name, "seconds": statistics.median(times), "peak_mib": peak})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", nargs="+", default=["1e5", "1e6"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(_measure(args.child, args.repeats)))
        return
    lines = [
        "| events | analysis | median s | × compute | peak RSS MiB |",
        "|---:|---|---:|---:|---:|",
    ]
    for text in args.events:
        n_events = int(float(text))
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(n_events), "--repeats", str(args.repeats)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        rows = json.loads(out.strip().splitlines()[-1])
        base = rows[0]["seconds"]
        for row in rows:
            lines.append(
                f"| {n_events:.0e} | {row['analysis']} | {row['seconds']:.3f} | "
                f"{row['seconds'] / base:.2f} | {row['peak_mib']:.0f} |"
            )
    table = "\n".join(lines)
    print(table)
    if args.out:
        Path(args.out).write_text(table + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
