"""How fast is the simulator? Up to 10^7 events (about 950,000 cases).

Run: ``.venv/bin/python benchmarks/bench_simulate.py [--cases N ...] [--repeat R]``

Each size runs in a fresh process (so the peak memory is its own): one warm-up on a small log,
then R timed runs of :func:`csmetrics.datasets.simulate_frame`. Prints a markdown table:
cases, events, median wall seconds, events per second, median CPU seconds (all threads: on a
busy machine it shows the work better than the wall clock), peak resident memory. Before timing, a
20,000-case log is checked: it validates with no rejects, and the same seed gives the same log.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import polars as pl

from csmetrics.datasets import EVENTS_PER_CASE, simulate_frame
from csmetrics.log import EventLog

DEFAULT_CASES = (100_000, round(10_000_000 / EVENTS_PER_CASE))


def check() -> None:
    """The simulator's output is valid and reproducible before we time it."""
    frame = simulate_frame(20_000, seed=1)
    _good, rejected = EventLog.from_frame(frame).validate("split")
    assert rejected.collect().height == 0, "the simulator wrote rows that break a rule"
    assert frame.equals(simulate_frame(20_000, seed=1)), "the same seed gave another log"


def _cpu() -> float:
    """CPU seconds of this process, all threads (robust to other load on the machine)."""
    times = os.times()
    return times.user + times.system


def one(n_cases: int, repeat: int) -> dict[str, float]:
    """Time ``simulate_frame(n_cases)`` in this process."""
    simulate_frame(10_000, seed=0)  # warm-up
    seconds = []
    cpu_seconds = []
    n_events = 0
    for run in range(repeat):
        begin, cpu_begin = time.perf_counter(), _cpu()
        frame = simulate_frame(n_cases, seed=run)
        seconds.append(time.perf_counter() - begin)
        cpu_seconds.append(_cpu() - cpu_begin)
        n_events = frame.height
        del frame
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "n_cases": n_cases,
        "n_events": n_events,
        "seconds": statistics.median(seconds),
        "cpu_seconds": statistics.median(cpu_seconds),
        "peak_mib": peak_mib,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, nargs="*", default=list(DEFAULT_CASES))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(one(args.one, args.repeat)))
        return
    check()
    rows = []
    for n_cases in args.cases:
        result = subprocess.run(
            [sys.executable, __file__, "--one", str(n_cases), "--repeat", str(args.repeat)],
            check=True,
            capture_output=True,
            text=True,
        )
        rows.append(json.loads(result.stdout.strip().splitlines()[-1]))
    threads = os.environ.get("POLARS_MAX_THREADS", str(pl.thread_pool_size()))
    print(f"simulate_frame, median of {args.repeat} after a warm-up, {threads} threads\n")
    print("| n_cases | n_events | seconds | events/s | CPU seconds | peak MiB |")
    print("|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        rate = row["n_events"] / row["seconds"]
        print(
            f"| {row['n_cases']:,} | {row['n_events']:,} | {row['seconds']:.2f} | "
            f"{rate:,.0f} | {row['cpu_seconds']:.2f} | {row['peak_mib']:,.0f} |"
        )


if __name__ == "__main__":
    main()
