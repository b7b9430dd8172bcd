"""csmetrics against the alternatives: hand-written Polars, DuckDB SQL, pandas, pm4py.

Usage::

    python benchmarks/bench_alternatives.py                          # 1e5, 1e6, 1e7 events
    python benchmarks/bench_alternatives.py --events 1e5 1e6 --repeats 5
    python benchmarks/bench_alternatives.py --events 1e8 --only scan polars csmetrics duckdb
    python benchmarks/bench_alternatives.py --out benchmarks/RESULTS-alternatives.md

The same metric subset — first response time, full resolution time, reopen rate, comp rate
and channel switch rate, by channel, with count, mean, p50 and p90 (linear interpolation) —
is computed by csmetrics and by each reference in ``benchmarks/_reference.py`` (whose
docstring defines the subset exactly). pm4py only computes case durations, so it is
compared with csmetrics and Polars on that task.

Method: for every size a simulated log is written to Parquet once
(:func:`csmetrics.datasets.simulate_parquet`; above 10^7 events in parts of 10^7 with
disjoint ids). Every implementation then runs once untimed in a fresh process — that run's
answer must equal csmetrics' answer (counts exactly, floats to 1e-9 relative) or the
benchmark stops — and then ``--repeats`` timed runs, each in a fresh process. Reported:
median wall seconds, median CPU seconds (user + system of the child, all threads: less
sensitive to other load on the machine than the wall clock), events per second (wall),
peak resident memory of the child (whole process, imports included; the import baseline is
given separately), and the 1-minute load average when the runs started.

pandas and pm4py (in-memory, single-threaded) run up to ``--max-in-memory`` events
(default 10^7); pm4py up to ``--pm4py-max`` (default 10^7). DuckDB and pm4py are optional:
missing packages are skipped with a note (``pip install 'csmetrics[bench]'``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _reference as ref

import csmetrics as csm

HERE = Path(__file__).resolve().parent
PART_EVENTS = 10_000_000  # larger logs are written in parts of this many events


@dataclass(frozen=True)
class Kind:
    """One implementation measured: what it computes and how."""

    name: str
    label: str
    task: str  # "subset" (the five metrics) or "durations" (case durations)
    run: Callable[[str], pl.DataFrame]
    metrics: tuple[str, ...] | None = ref.SUBSET  # the rows of the answer it is checked on
    needs: tuple[str, ...] = ()  # optional packages
    in_memory: bool = False  # skipped above --max-in-memory


def _floor(source: str) -> pl.DataFrame:
    ref.scan_floor(source)
    return pl.DataFrame(schema=ref.ANSWER_SCHEMA)


def _cs(metrics: tuple[str, ...] | None) -> Callable[[str], pl.DataFrame]:
    return lambda source: ref.csmetrics_answer(source, metrics)


KINDS: dict[str, Kind] = {
    k.name: k
    for k in [
        Kind("scan", "scan the 8 needed columns (floor)", "subset", _floor, metrics=()),
        Kind("polars", "hand-written Polars, streaming", "subset", ref.polars_answer),
        Kind("csmetrics", "csmetrics: compute + journey_cases", "subset", _cs(ref.SUBSET)),
        Kind("duckdb", "DuckDB SQL", "subset", ref.duckdb_answer, needs=("duckdb",)),
        Kind(
            "pandas",
            "pandas",
            "subset",
            ref.pandas_answer,
            needs=("pandas",),
            in_memory=True,
        ),
        Kind(
            "csmetrics_core",
            "csmetrics compute, 4 metrics (no switch)",
            "subset",
            _cs(ref.CORE),
            metrics=ref.CORE,
        ),
        Kind(
            "csmetrics_one",
            "csmetrics compute, 1 metric (first_response_time)",
            "subset",
            _cs(("first_response_time",)),
            metrics=("first_response_time",),
        ),
        Kind(
            "csmetrics_all",
            "csmetrics compute, all case-level metrics",
            "subset",
            _cs(None),
            metrics=ref.CORE,
        ),
        Kind("durations_polars", "hand-written Polars", "durations", ref.polars_case_durations),
        Kind(
            "durations_csmetrics",
            "csmetrics case_table, 2 columns",
            "durations",
            ref.csmetrics_case_durations,
        ),
        Kind(
            "durations_pm4py",
            "pm4py get_all_case_durations",
            "durations",
            ref.pm4py_case_durations,
            needs=("pandas", "pm4py"),
            in_memory=True,
        ),
    ]
}
EXPECTED = {"subset": "csmetrics", "durations": "durations_csmetrics"}
BASELINE = {"subset": "polars", "durations": "durations_polars"}


# -- the child process ----------------------------------------------------------------------


def _status_mib(field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process, from /proc (Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _peak_mib() -> float:
    """Peak resident memory of this process since it started.

    ``VmHWM`` belongs to the process's own address space. ``getrusage``'s ``ru_maxrss``
    is kept across ``execve`` on Linux, so a child would report its parent's peak when that
    was higher (here the parent simulates the logs); it is only the fallback.
    """
    peak = _status_mib("VmHWM")
    if math.isnan(peak):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return peak


def _child(kind_name: str, source: str, answer_path: str) -> None:
    """Run one implementation once; print its measures as JSON on the last line."""
    kind = KINDS[kind_name]
    for package in kind.needs:  # imports are not part of the time
        __import__(package)
    base = _status_mib("VmRSS")
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    answer = kind.run(source)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    answer.write_parquet(answer_path)
    peak = _peak_mib()
    print(json.dumps({"wall": wall, "cpu": cpu, "peak_mib": peak, "base_mib": base}))


# -- the parent -----------------------------------------------------------------------------


@dataclass
class Row:
    events: int
    kind: Kind
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    peaks: list[float] = field(default_factory=list)
    bases: list[float] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)
    note: str = ""


def _run_child(kind: Kind, source: str, answer: str, timeout: float) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind.name, source, answer],
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{kind.name} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _rows_of(answer: pl.DataFrame, metrics: tuple[str, ...] | None) -> pl.DataFrame:
    if metrics is None:
        return answer
    return answer.filter(pl.col("metric").is_in(list(metrics)))


def _check(kind: Kind, answer: pl.DataFrame, expected: pl.DataFrame) -> None:
    if kind.metrics == ():
        return
    want = _rows_of(expected, kind.metrics)
    got = _rows_of(answer, kind.metrics)
    problems = ref.differences(want, got)
    if problems:
        raise SystemExit(
            f"{kind.name} disagrees with {EXPECTED[kind.task]}: " + "; ".join(problems)
        )


def _available(kind: Kind) -> str:
    for package in kind.needs:
        try:
            importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            return f"skipped: {package} is not installed (pip install 'csmetrics[bench]')"
    return ""


def _prepare(
    n_events: int, data_dir: Path | None, part_events: int = PART_EVENTS
) -> tuple[str, int]:
    """Write (or reuse) the simulated log; return its source (file or glob) and row count.

    Above ``part_events`` the log is written in parts (one seed each, ids made disjoint),
    so that no single simulation needs more memory than a 10^7-event one.
    """
    if n_events <= part_events:
        mine = None if data_dir is None else data_dir / f"{n_events}.parquet"
        if mine is not None and mine.exists():
            source = str(mine)
        else:  # without a data dir: simulate_parquet's own cache
            source = str(csm.datasets.simulate_parquet(n_events, seed=0, path=mine))
    else:
        parts = math.ceil(n_events / part_events)
        folder = (data_dir or Path(tempfile.gettempdir()) / "csmetrics-simulate") / (
            f"bench-alternatives-{n_events}-{parts}"
        )
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(parts):
            target = folder / f"part-{i:03d}.parquet"
            if target.exists():
                continue
            raw = folder / f"raw-{i:03d}.parquet"  # our own file, not the shared cache
            csm.datasets.simulate_parquet(n_events // parts, seed=i, path=raw)
            offset = i * 10**10  # disjoint case, customer and event ids per part
            shifted = pl.col("case_id", "customer_id", "event_id", "merged_into") + offset
            partial = target.with_name(target.name + ".tmp")
            pl.scan_parquet(raw).with_columns(shifted).sink_parquet(partial)
            partial.replace(target)
            raw.unlink()
        source = str(folder / "part-*.parquet")
    rows = pl.scan_parquet(source).select(pl.len()).collect().item()
    return source, int(rows)


def _measure(kinds: list[Kind], n_events: int, args: argparse.Namespace, tmp: Path) -> list[Row]:
    source, actual = _prepare(n_events, args.data_dir, int(args.part_events))
    print(f"\n{actual:,} events: {source}", flush=True)
    rows: list[Row] = []
    expected: dict[str, pl.DataFrame] = {}
    ordered = sorted(kinds, key=lambda k: k.name != EXPECTED[k.task])  # the expected ones first
    for kind in ordered:
        row = Row(actual, kind)
        rows.append(row)
        row.note = _available(kind)
        if not row.note and kind.in_memory and n_events > args.max_in_memory:
            row.note = f"skipped above {args.max_in_memory:,.0f} events (in memory)"
        if not row.note and kind.name == "durations_pm4py" and n_events > args.pm4py_max:
            row.note = f"skipped above {args.pm4py_max:,.0f} events (--pm4py-max)"
        if row.note:
            print(f"  {kind.name}: {row.note}", flush=True)
            continue
        answer_path = str(tmp / f"{kind.name}-{n_events}.parquet")
        try:
            _run_child(kind, source, answer_path, args.timeout)  # untimed: check and warm up
        except subprocess.TimeoutExpired:
            row.note = f"timed out after {args.timeout:.0f} s"
            print(f"  {kind.name}: {row.note}", flush=True)
            continue
        answer = pl.read_parquet(answer_path)
        if kind.name == EXPECTED[kind.task]:
            expected[kind.task] = answer
        elif kind.task in expected:
            _check(kind, answer, expected[kind.task])
        for _ in range(args.repeats):
            row.loads.append(os.getloadavg()[0])
            result = _run_child(kind, source, answer_path, args.timeout)
            row.walls.append(result["wall"])
            row.cpus.append(result["cpu"])
            row.peaks.append(result["peak_mib"])
            row.bases.append(result["base_mib"])
        print(
            f"  {kind.name}: wall {statistics.median(row.walls):.2f} s, cpu "
            f"{statistics.median(row.cpus):.2f} s, peak {max(row.peaks):,.0f} MiB, load "
            f"{statistics.median(row.loads):.1f}",
            flush=True,
        )
    return rows


def _table(rows: list[Row], task: str) -> list[str]:
    header = [
        "events",
        "implementation",
        "wall s",
        "CPU s",
        "events/s (wall)",
        "peak RSS MiB",
        "(imports)",
        "wall vs hand",
        "CPU vs hand",
        "load (1 min)",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    order = list(KINDS)
    mine = sorted(
        (r for r in rows if r.kind.task == task),
        key=lambda r: (r.events, order.index(r.kind.name)),
    )
    for row in mine:
        hand = next(
            (r for r in mine if r.events == row.events and r.kind.name == BASELINE[task]), None
        )
        if not row.walls:
            cells = [f"{row.events:,}", row.kind.label, *([""] * 7), row.note]
            lines.append("| " + " | ".join(cells) + " |")
            continue
        wall, cpu = statistics.median(row.walls), statistics.median(row.cpus)
        if hand is not None and hand.walls:
            vs_wall = f"{wall / statistics.median(hand.walls):.2f}x"
            vs_cpu = f"{cpu / statistics.median(hand.cpus):.2f}x"
        else:
            vs_wall = vs_cpu = ""
        cells = [
            f"{row.events:,}",
            row.kind.label,
            f"{wall:.2f}",
            f"{cpu:.2f}",
            f"{row.events / wall:,.0f}",
            f"{max(row.peaks):,.0f}",
            f"{statistics.median(row.bases):,.0f}",
            vs_wall,
            vs_cpu,
            f"{statistics.median(row.loads):.1f} ({min(row.loads):.1f}-{max(row.loads):.1f})",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _versions() -> str:
    names = ["polars", "pyarrow", "duckdb", "pandas", "pm4py"]
    found = []
    for name in names:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} (absent)")
    return ", ".join([f"csmetrics {csm.__version__}", *found])


def _memory_gib() -> float:
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return float("nan")
    return pages / 2**30


def report(rows: list[Row], args: argparse.Namespace) -> str:
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Measured {when} with `python benchmarks/bench_alternatives.py "
        f"{' '.join(sys.argv[1:])}`.".replace(" `.", "`."),
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, {_memory_gib():.0f} GiB, "
        f"{platform.system()}; Python {platform.python_version()}; {_versions()}.",
        f"Median of {args.repeats} runs, each in a fresh process, after one untimed run whose "
        "answer was checked against csmetrics'. CPU s = user + system time of the process "
        "(all threads). Peak RSS is the whole process; (imports) is its RSS before the run. "
        "The load column is the 1-minute load average when each run started: median "
        "(min-max).",
        "",
        "**The metric subset** (first response, full resolution, reopen rate, comp rate, "
        "channel switch rate; by channel; n, mean, p50, p90):",
        "",
        *_table(rows, "subset"),
    ]
    if any(r.kind.task == "durations" for r in rows):
        lines += [
            "",
            "**Case durations** (first → last event of every case; what pm4py computes):",
            "",
            *_table(rows, "durations"),
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", nargs="+", type=float, default=[1e5, 1e6, 1e7])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, help="also write the Markdown report here")
    parser.add_argument(
        "--only", nargs="+", choices=sorted(KINDS), help="measure only these implementations"
    )
    parser.add_argument("--max-in-memory", type=float, default=1e7)
    parser.add_argument("--pm4py-max", type=float, default=1e7)
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per run")
    parser.add_argument(
        "--data-dir", type=Path, help="where simulated logs go (default: a temp cache)"
    )
    parser.add_argument(
        "--part-events",
        type=float,
        default=PART_EVENTS,
        help="logs larger than this are simulated and written in parts (default 1e7)",
    )
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    chosen = [KINDS[name] for name in (args.only or KINDS)]
    for task, name in EXPECTED.items():  # the answer to check against always runs
        if any(k.task == task for k in chosen) and KINDS[name] not in chosen:
            chosen.append(KINDS[name])
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n_events in args.events:
            rows += _measure(chosen, int(n_events), args, Path(tmp))
    text = report(rows, args)
    print("\n" + text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
