"""Results do not depend on row order, file partitioning, thread count or engine (DESIGN §9).

The same log, shuffled (hypothesis permutations), split into several Parquet or CSV files
(read through a glob, a list of paths or a hive-partitioned folder), computed with
``POLARS_MAX_THREADS=1`` or with many threads and tiny streaming morsels (in a subprocess: the
thread pool is fixed at import), and collected with the in-memory or the streaming engine,
gives identical case tables, next-reply pairs and metric results.

Identical means bit for bit (``check_exact=True``): sums and means are taken over integer
micro-units, so even they do not depend on the order rows are added in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from tests.strategies import as_of_choices, event_logs, policies, to_frame
from tests.strategies_pipeline import partitions

import csmetrics as csm
from csmetrics.engines import Engine, collect
from csmetrics.policy import Policy

REPO = Path(__file__).resolve().parents[1]
ENGINES: tuple[Engine, ...] = ("in-memory", "streaming")


def case_rows(log: Any, policy: Policy, engine: Engine = "in-memory") -> pl.DataFrame:
    return collect(csm.case_table(log, policy=policy), engine).sort("case_id")


def pair_rows(log: Any, policy: Policy, engine: Engine = "in-memory") -> pl.DataFrame:
    pairs = collect(csm.next_reply_pairs(log, policy=policy), engine)
    return pairs.sort(pairs.columns)


def results(log: Any, policy: Policy, engine: Engine = "in-memory") -> pl.DataFrame:
    """Every case-level built-in by channel and day, in one fixed row order."""
    out = collect(
        csm.compute(log, by="channel", period="day", policy=policy, quantiles=(0.1, 0.5, 0.99)),
        engine,
    )
    return out.sort("channel", "period_start", "metric", nulls_last=True)


def assert_same_everything(
    expected: dict[str, pl.DataFrame], actual: dict[str, pl.DataFrame]
) -> None:
    assert_frame_equal(expected["cases"], actual["cases"], check_exact=True)
    assert_frame_equal(expected["pairs"], actual["pairs"], check_exact=True)
    assert_frame_equal(expected["results"], actual["results"], check_exact=True)


def everything(log: Any, policy: Policy, engine: Engine = "in-memory") -> dict[str, pl.DataFrame]:
    """Case table, next-reply pairs and metric results (the log's rules checked once)."""
    log = csm.EventLog.from_frame(log) if not isinstance(log, csm.EventLog) else log
    log = log.checked("raise")
    return {
        "cases": case_rows(log, policy, engine),
        "pairs": pair_rows(log, policy, engine),
        "results": results(log, policy, engine),
    }


def drawn_policy(data: st.DataObject, events: list[dict[str, Any]]) -> Policy:
    as_of = data.draw(as_of_choices(events), label="as_of")
    return data.draw(policies(as_of), label="policy")


# -- row order ----------------------------------------------------------------------------------


@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_row_order_gives_identical_results(data: st.DataObject) -> None:
    events = data.draw(event_logs(), label="events")
    policy = drawn_policy(data, events)
    frame = to_frame(events)
    order = data.draw(st.permutations(range(frame.height)), label="row order")
    expected = everything(csm.EventLog.from_frame(frame), policy)
    actual = everything(csm.EventLog.from_frame(frame[order]), policy)
    assert_same_everything(expected, actual)


# -- engines ------------------------------------------------------------------------------------


@settings(max_examples=12, deadline=None)
@given(data=st.data())
def test_in_memory_and_streaming_engines_agree(data: st.DataObject) -> None:
    events = data.draw(event_logs(), label="events")
    policy = drawn_policy(data, events)
    log = csm.EventLog.from_frame(to_frame(events))
    expected = everything(log, policy, "in-memory")
    assert_same_everything(expected, everything(log, policy, "streaming"))


# -- files and partitions ---------------------------------------------------------------------


def _write_parts(frame: pl.DataFrame, parts: list[list[int]], folder: Path, fmt: str) -> None:
    folder.mkdir()
    for i, rows in enumerate(parts):
        part = frame[rows]
        if fmt == "csv":
            part.write_csv(folder / f"part-{i}.csv")
        else:
            part.write_parquet(folder / f"part-{i}.parquet")


@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_partitioning_into_files_gives_identical_results(
    data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    events = data.draw(event_logs(), label="events")
    policy = drawn_policy(data, events)
    frame = to_frame(events)
    parts = data.draw(partitions(frame.height), label="parts")
    root = tmp_path_factory.mktemp("parts")
    frame.write_parquet(root / "one.parquet")
    _write_parts(frame, parts, root / "pq", "parquet")
    _write_parts(frame, parts, root / "csv", "csv")
    hive_by = data.draw(st.sampled_from(("channel", "customer_id")), label="hive column")
    frame.write_parquet(root / "hive", partition_by=[hive_by])
    sources: dict[str, Any] = {
        "one file": root / "one.parquet",
        "parquet glob": str(root / "pq" / "*.parquet"),
        "list of paths": sorted((root / "pq").glob("*.parquet")),
        "csv glob": str(root / "csv" / "*.csv"),
        "hive folder": root / "hive",
    }
    expected = everything(csm.EventLog.from_frame(frame), policy)
    for name, source in sources.items():
        log = csm.scan_events(source)
        try:
            assert_same_everything(expected, everything(log, policy))
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from exc


# -- thread count (subprocesses) ----------------------------------------------------------------

_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import polars as pl
    import csmetrics as csm
    from csmetrics.policy import Policy
    sys.path.insert(0, {repo!r})
    from tests.test_determinism import everything

    jobs = json.loads(sys.argv[1])
    assert pl.thread_pool_size() == int({threads!r}), pl.thread_pool_size()
    for job in jobs:
        policy = Policy.preset(job["preset"])
        log = csm.scan_events(job["input"])
        for engine in ("in-memory", "streaming"):
            for name, frame in everything(log, policy, engine).items():
                frame.write_parquet(f"{{job['output']}}-{{engine}}-{{name}}.parquet")
    """
)


def _collected_logs(n: int) -> list[list[dict[str, Any]]]:
    """``n`` logs drawn by the strategies (deterministically)."""
    drawn: list[list[dict[str, Any]]] = []

    @settings(max_examples=n, deadline=None, derandomize=True, database=None)
    @given(event_logs())
    def collect_logs(events: list[dict[str, Any]]) -> None:
        drawn.append(events)

    collect_logs()
    return drawn[:n]


@pytest.mark.slow
def test_thread_count_and_morsel_size_do_not_change_results(tmp_path: Path) -> None:
    inputs = [to_frame(events) for events in _collected_logs(4)]
    inputs.append(csm.datasets.simulate_frame(n_cases=1000, seed=8))
    presets = ["csmetrics", "zendesk", "intercom", "chatwoot"]
    jobs = []
    for i, frame in enumerate(inputs):
        path = tmp_path / f"log-{i}.parquet"
        frame.write_parquet(path)
        jobs.append({"input": str(path), "output": "", "preset": presets[i % len(presets)]})
    settings_by_run = {
        "one-thread": {"POLARS_MAX_THREADS": "1"},
        "many-threads-tiny-morsels": {"POLARS_MAX_THREADS": "6", "POLARS_IDEAL_MORSEL_SIZE": "64"},
    }
    running = []
    for run, env in settings_by_run.items():
        run_jobs = [{**job, "output": str(tmp_path / f"{run}-{i}")} for i, job in enumerate(jobs)]
        script = _SCRIPT.format(repo=str(REPO), threads=env["POLARS_MAX_THREADS"])
        running.append(
            subprocess.Popen(
                [sys.executable, "-c", script, json.dumps(run_jobs)],
                env={**os.environ, **env},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=REPO,
            )
        )
    for process in running:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    for i, job in enumerate(jobs):
        policy = Policy.preset(job["preset"])
        expected = everything(csm.scan_events(job["input"]), policy)
        for run in settings_by_run:
            for engine in ENGINES:
                prefix = tmp_path / f"{run}-{i}-{engine}"
                actual = {
                    name: pl.read_parquet(f"{prefix}-{name}.parquet")
                    for name in ("cases", "pairs", "results")
                }
                try:
                    assert_same_everything(expected, actual)
                except AssertionError as exc:
                    raise AssertionError(f"log {i}, {run}, {engine}: {exc}") from exc


# -- a larger log: several morsels and partitions ---------------------------------------------


@pytest.fixture(scope="module")
def simulated() -> pl.DataFrame:
    return csm.datasets.simulate_frame(n_cases=4000, seed=42)


@pytest.mark.slow
def test_large_log_shuffled_and_streamed_gives_identical_results(simulated: pl.DataFrame) -> None:
    """Several morsels and partitions; means and amount totals are bit-identical too."""
    policy = Policy()
    expected = everything(csm.EventLog.from_frame(simulated), policy)
    for seed, engine in ((1, "in-memory"), (2, "streaming")):
        shuffled = simulated.sample(fraction=1.0, shuffle=True, seed=seed)
        actual = everything(csm.EventLog.from_frame(shuffled), policy, engine)
        assert_same_everything(expected, actual)


def test_ties_without_event_id_do_not_depend_on_row_order() -> None:
    # two status changes by the agent at 10:00, no event_id: solved and open
    frame = pl.DataFrame(
        {"case_id": [1, 1, 1], "customer_id": [7, 7, 7], "channel": ["email"] * 3,
         "ts": ["2024-03-01T09:00:00Z", "2024-03-01T10:00:00Z", "2024-03-01T10:00:00Z"],
         "event_type": ["case_created", "status_changed", "status_changed"],
         "actor": ["customer", "agent", "agent"], "status": [None, "solved", "open"]}
    )  # fmt: skip
    first = case_rows(csm.EventLog.from_frame(frame), Policy())
    swapped = case_rows(csm.EventLog.from_frame(frame[[0, 2, 1]]), Policy())
    assert_frame_equal(first, swapped, check_exact=True)
