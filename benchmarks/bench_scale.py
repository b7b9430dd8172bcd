"""Scale benchmark: every metric on 1e7 and 1e8 events, partitioned and not (issue 6).

Usage::

    python benchmarks/bench_scale.py                         # 1e7 events
    python benchmarks/bench_scale.py --events 1e7 1e8        # 1e8 writes ~4 GB of Parquet
    python benchmarks/bench_scale.py --events 1e7 --modes compute partitioned:4
    python benchmarks/bench_scale.py --out benchmarks/RESULTS-scale.md

Data: simulated logs written as Parquet under ``--data`` (default the system temporary
folder), in files of at most 1e7 events (one simulator run of 1e6 cases each, ids offset
per file), reused when present. Each measurement runs in a fresh subprocess, so its peak
RSS (``ru_maxrss``) is its own; the child scans the files lazily and computes every
built-in metric by channel and week:

* ``compute``: :func:`csmetrics.compute` collected with the streaming engine (baseline);
* ``state``: :func:`csmetrics.state.compute_state` on the whole log, then ``finalize``;
* ``partitioned:N``: :func:`csmetrics.state.compute_partitioned` with ``N`` case-hash
  partitions (``partitioned:auto`` for the rule of ``suggest_partitions``), then
  ``finalize``.

Prints a Markdown table (seconds, peak RSS, bytes per event) with the machine's load
average before and after each run, since other processes share the cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

CASES_PER_FILE = 1_000_000  # about 1e7 events
ID_OFFSET = 10**9
ID_COLUMNS = ("event_id", "case_id", "customer_id", "merged_into")


def data_folder(root: Path, n_events: int) -> Path:
    """Write (or reuse) about ``n_events`` simulated events as Parquet files; return the folder."""
    from csmetrics.datasets import EVENTS_PER_CASE, simulate_frame

    n_cases = max(1, round(n_events / EVENTS_PER_CASE))
    folder = root / f"events-{n_events:.0e}".replace("+", "")
    done = folder / "_complete"
    if done.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    n_files = -(-n_cases // CASES_PER_FILE)
    for k in range(n_files):
        target = folder / f"part-{k:03d}.parquet"
        if target.exists():
            continue
        cases = min(CASES_PER_FILE, n_cases - k * CASES_PER_FILE)
        started = time.perf_counter()
        frame = simulate_frame(cases, seed=1000 + k).with_columns(
            pl.col(c) + k * ID_OFFSET for c in ID_COLUMNS
        )
        partial = target.with_suffix(".tmp")
        frame.write_parquet(partial)
        partial.replace(target)
        print(
            f"wrote {target.name}: {frame.height:,} events "
            f"in {time.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )
        del frame
    done.touch()
    return folder


def _child(mode: str, folder: str) -> None:
    """Run one measurement and print seconds and peak RSS as JSON."""
    import csmetrics as csm
    from csmetrics.state import compute_partitioned, compute_state

    log = csm.EventLog.trusted(pl.scan_parquet(f"{folder}/*.parquet"))
    args = {"by": "channel", "period": "week"}
    started = time.perf_counter()
    info: dict[str, object] = {}
    if mode == "compute":
        table = csm.compute(log, **args).collect(engine="streaming")
    elif mode == "state":
        table = compute_state(log, **args).finalize().collect()
    elif mode.startswith("partitioned:"):
        count = mode.split(":", 1)[1]
        partitions: int | str = "auto" if count == "auto" else int(count)
        seen: list[int] = []
        state = compute_partitioned(
            log, partitions=partitions, progress=lambda i, n: seen.append(n), **args
        )
        table = state.finalize().collect()
        info["partitions"] = seen[-1]
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mib": peak, "rows": table.height, **info}))


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f}/{five:.1f}"


def measure(mode: str, folder: Path) -> dict[str, object]:
    before = _load()
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(folder)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    result["load"] = f"{before} → {_load()}"
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--events", nargs="+", default=["1e7"])
    parser.add_argument(
        "--modes", nargs="+", default=["compute", "state", "partitioned:4", "partitioned:auto"]
    )
    parser.add_argument("--data", default=str(Path(tempfile.gettempdir()) / "csmetrics-scale"))
    parser.add_argument("--out", help="also write the table to this Markdown file")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    lines = [
        f"Polars {pl.__version__}, Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"{platform.machine()}; every built-in metric by channel and week.",
        "",
        "| events | mode | partitions | seconds | peak RSS (MiB) | bytes/event | load 1/5 min |",
        "|---:|---|---:|---:|---:|---:|---|",
    ]
    print("\n".join(lines), flush=True)
    for text in args.events:
        n_events = int(float(text))
        folder = data_folder(Path(args.data), n_events)
        actual = pl.scan_parquet(f"{folder}/*.parquet").select(pl.len()).collect().item()
        for mode in args.modes:
            r = measure(mode, folder)
            peak = float(r["peak_mib"])  # type: ignore[arg-type]
            parts = r.get("partitions", "1" if mode in ("compute", "state") else "?")
            line = (
                f"| {actual:,} | {mode.split(':')[0]} | {parts} | {float(r['seconds']):.1f} "  # type: ignore[arg-type]
                f"| {peak:,.0f} | {peak * 2**20 / actual:,.0f} | {r['load']} |"
            )
            lines.append(line)
            print(line, flush=True)
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
