"""The benchmark's reference implementations agree with csmetrics (benchmarks/_reference.py).

``benchmarks/bench_alternatives.py`` checks that every implementation gives csmetrics'
answer before timing it; these tests run the same check on small logs in CI: a hand-worked
log (so the shared definition is pinned, not only the agreement) and a 2,000-case simulated
one. DuckDB and pm4py are optional (the ``bench`` extra): their tests skip without them.
"""

from __future__ import annotations

import importlib.util
import sys
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import polars as pl
import pytest

import csmetrics as csm


def _load_reference() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "_reference.py"
    spec = importlib.util.spec_from_file_location("_benchmark_reference", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


ref = _load_reference()


# Customer 1 emails (case 1), then tweets (case 2: a channel switch); customer 2 has an
# agent-created email case (3) and a second email case merged into it (4); customer 3's
# email case (5) has only a bot message and a note (no reply) and a comp; customer 4 tweets
# (case 6). Case 2's two status events share a time stamp: the event ids put "open" before
# "solved" although the rows come the other way round, so case 2 ends solved, not reopened.
def _event(
    time: str,
    event_type: str,
    actor: str,
    case: int,
    event_id: int,
    customer: int = 1,
    channel: str = "email",
    **extra: Any,
) -> tuple[str, str, str, dict[str, Any]]:
    columns = {"case_id": case, "event_id": event_id, "customer_id": customer}
    return (time, event_type, actor, {**columns, "channel": channel, **extra})


ROWS = [
    _event("09:00", "case_created", "customer", 1, 1),
    _event("09:30", "message", "agent", 1, 2),
    _event("10:00", "status_changed", "agent", 1, 3, status="solved"),
    _event("11:00", "status_changed", "customer", 1, 4, status="open"),
    _event("12:00", "status_changed", "agent", 1, 5, status="closed"),
    _event("10:30", "message", "agent", 2, 12, channel="twitter"),
    _event("10:30", "case_created", "customer", 2, 11, channel="twitter"),
    _event("10:40", "comp_granted", "agent", 2, 13, channel="twitter", comp_amount=5.0),
    _event("10:45", "status_changed", "agent", 2, 15, channel="twitter", status="solved"),
    _event("10:45", "status_changed", "agent", 2, 14, channel="twitter", status="open"),
    _event("08:00", "case_created", "agent", 3, 21, customer=2),
    _event("08:10", "message", "customer", 3, 22, customer=2),
    _event("08:20", "message", "agent", 3, 23, customer=2),
    _event("09:00", "case_created", "customer", 4, 31, customer=2),
    _event("09:05", "merged", "agent", 4, 32, customer=2, merged_into=3),
    _event("09:00", "case_created", "customer", 5, 41, customer=3),
    _event("09:01", "message", "bot", 5, 42, customer=3),
    _event("09:02", "note", "agent", 5, 43, customer=3),
    _event("09:10", "status_changed", "agent", 5, 44, customer=3, status="pending"),
    _event("09:20", "comp_granted", "agent", 5, 45, customer=3, comp_amount=10.0),
    _event("09:00", "case_created", "customer", 6, 51, customer=4, channel="twitter"),
    _event("10:00", "message", "agent", 6, 52, customer=4, channel="twitter"),
    _event(
        "10:00", "status_changed", "agent", 6, 53, customer=4, channel="twitter", status="solved"
    ),
]

# (channel, metric): (n, n_value, mean, p50, p90)
EXPECTED: dict[tuple[str, str], tuple[int, int, float, float | None, float | None]] = {
    # email: cases 1, 3, 4, 5; 3 is agent-created, 4 merged.
    # first response: cases 1 and 5; 1 replied 09:00 → 09:30 = 1800 s, 5 never (open)
    ("email", "first_response_time"): (2, 1, 1800.0, 1800.0, 1800.0),
    # full resolution: cases 1, 3, 5; only 1 ends closed: 09:00 → 12:00 = 10800 s
    ("email", "full_resolution_time"): (3, 1, 10800.0, 10800.0, 10800.0),
    # reopens: case 1 (solved once), reopened at 11:00
    ("email", "reopen_rate"): (1, 1, 1.0, None, None),
    # comp: case 5 of 1, 3, 5
    ("email", "comp_rate"): (3, 1, 1 / 3, None, None),
    # switches: none of the 4 email cases follows a case of its customer on another channel
    ("email", "channel_switch_rate"): (4, 0, 0.0, None, None),
    # twitter: cases 2 and 6. First response 0 s (case 2: reply at creation) and 3600 s;
    # mean 1800; p50 = 0 + 0.5 × 3600 = 1800; p90 = 0 + 0.9 × 3600 = 3240
    ("twitter", "first_response_time"): (2, 2, 1800.0, 1800.0, 3240.0),
    # full resolution 10:30 → 10:45 = 900 s and 09:00 → 10:00 = 3600 s; mean 2250;
    # p50 = 900 + 0.5 × 2700 = 2250; p90 = 900 + 0.9 × 2700 = 3330
    ("twitter", "full_resolution_time"): (2, 2, 2250.0, 2250.0, 3330.0),
    # case 2 went new → open → solved (the tie broken by event id): no reopen
    ("twitter", "reopen_rate"): (2, 0, 0.0, None, None),
    ("twitter", "comp_rate"): (2, 1, 0.5, None, None),
    # case 2 follows customer 1's email case 1: a switch; case 6 is customer 4's first
    ("twitter", "channel_switch_rate"): (2, 1, 0.5, None, None),
}


@pytest.fixture(scope="module")
def worked(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("worked") / "events.parquet"
    csm.testing.log_from_rows(ROWS).frame.collect().write_parquet(path)
    return str(path)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("simulated") / "events.parquet"
    return str(csm.datasets.simulate_parquet(n_cases=2_000, seed=7, path=path))


@pytest.fixture(scope="module")
def expected_simulated(simulated: str) -> pl.DataFrame:
    answer: pl.DataFrame = ref.csmetrics_answer(simulated)
    return answer


def _as_expected(answer: pl.DataFrame) -> dict[tuple[str, str], tuple[Any, ...]]:
    return {
        (r["channel"], r["metric"]): (r["n"], r["n_value"], r["mean"], r["p50"], r["p90"])
        for r in answer.iter_rows(named=True)
    }


def _approx(table: dict[tuple[str, str], tuple[Any, ...]]) -> dict[Any, Any]:
    return {
        k: tuple(pytest.approx(v) if v is not None else None for v in t) for k, t in table.items()
    }


def test_csmetrics_gives_the_hand_worked_answer(worked: str) -> None:
    assert _as_expected(ref.csmetrics_answer(worked)) == _approx(EXPECTED)


@pytest.mark.parametrize("name", ["polars_answer", "pandas_answer"])
def test_reference_gives_the_hand_worked_answer(worked: str, name: str) -> None:
    if name == "pandas_answer":
        pytest.importorskip("pandas", reason="pandas is in the 'bench' and 'dev' extras")
    assert _as_expected(getattr(ref, name)(worked)) == _approx(EXPECTED)


def test_duckdb_gives_the_hand_worked_answer(worked: str) -> None:
    pytest.importorskip("duckdb", reason="DuckDB is optional: pip install 'csmetrics[bench]'")
    assert _as_expected(ref.duckdb_answer(worked, threads=1)) == _approx(EXPECTED)


@pytest.mark.parametrize("name", ["polars_answer", "pandas_answer", "duckdb_answer"])
def test_reference_agrees_with_csmetrics_on_a_simulated_log(
    simulated: str, expected_simulated: pl.DataFrame, name: str
) -> None:
    if name == "pandas_answer":
        pytest.importorskip("pandas", reason="pandas is in the 'bench' and 'dev' extras")
    if name == "duckdb_answer":
        pytest.importorskip("duckdb", reason="DuckDB is optional: pip install 'csmetrics[bench]'")
    answer = getattr(ref, name)(simulated)
    assert ref.differences(expected_simulated, answer) == []
    # every channel of the simulator has every metric, and something to measure
    assert answer.height == 5 * expected_simulated["channel"].n_unique()
    assert answer.filter(pl.col("metric") == "reopen_rate")["n_value"].sum() > 0


def test_fewer_metrics_give_the_same_rows(simulated: str, expected_simulated: pl.DataFrame) -> None:
    one = ref.csmetrics_answer(simulated, ("first_response_time",))
    rows = expected_simulated.filter(pl.col("metric") == "first_response_time")
    assert ref.differences(rows, one) == []


def test_case_durations_agree(simulated: str) -> None:
    expected = ref.csmetrics_case_durations(simulated)
    assert expected["n"].item() == 2_000
    assert ref.differences(expected, ref.polars_case_durations(simulated)) == []


def test_pm4py_case_durations_agree(simulated: str) -> None:
    with warnings.catch_warnings():  # pm4py's own import-time deprecations are not ours
        warnings.simplefilter("ignore")
        pytest.importorskip("pm4py", reason="pm4py is optional (the 'bench' extra)")
        answer = ref.pm4py_case_durations(simulated)
    assert ref.differences(ref.csmetrics_case_durations(simulated), answer) == []


def test_differences_reports_a_disagreement(worked: str) -> None:
    answer = ref.csmetrics_answer(worked)
    changed = answer.with_columns(
        pl.when(pl.col("metric") == "comp_rate").then(pl.col("n_value") + 1).otherwise("n_value")
    )
    problems = ref.differences(answer, changed)
    assert problems[0].startswith("email/comp_rate/n_value: 1 != 2")


def test_scan_floor_reads_the_columns(simulated: str) -> None:
    assert ref.scan_floor(simulated).columns == list(ref.COLUMNS)
