"""Mergeable metric state: finalize equals compute, any split merges to the whole, storage.

What must hold (DESIGN §8, issue 6): for any split of a log into partitions of whole
cases, the states of the partitions merged equal the state of the whole — counts exactly,
sums to rounding, the sketches *identically* — and ``finalize`` gives compute's table:
counts, rates and the backlog exactly, quantiles within the sketch's relative error.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from tests.strategies import as_of_choices, event_logs, policies, to_frame

import csmetrics as csm
from csmetrics.compute import resolve_metrics
from csmetrics.exceptions import PolicyError, SchemaError, UnknownMetricError
from csmetrics.state import (
    MetricState,
    compute_partitioned,
    compute_state,
    suggest_partitions,
)

ALPHA = 0.01
EXACT = ("metric", "unit", "n", "n_open", "numerator", "denominator")
NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)


def _kinds() -> dict[str, str]:
    return {m.name: m.kind for m in resolve_metrics(None)}


def assert_like_compute(got: pl.DataFrame, expected: pl.DataFrame, alpha: float = ALPHA) -> None:
    """``got`` (from a state) against compute's table: exact, rounding, sketch error."""
    assert got.schema == expected.schema
    assert got.height == expected.height
    keys = [c for c in expected.columns if c not in (*EXACT, "value", "mean")]
    keys = [c for c in keys if not (c.startswith("p") and c[1:2].isdigit())]
    for column in (*keys, *EXACT):
        assert got[column].equals(expected[column]), column
    durations = [name for name, kind in _kinds().items() if kind == "duration"]
    is_duration = pl.col("metric").is_in(durations)
    # value: exact for rates, counts, scores and the backlog; a sum for amounts (rounding)
    assert_frame_equal(
        got.filter(~is_duration).select("value"),
        expected.filter(~is_duration).select("value"),
        check_exact=False,
        rel_tol=1e-12,
        abs_tol=1e-9,
    )
    assert_frame_equal(
        got.select("mean"), expected.select("mean"), check_exact=False, rel_tol=1e-12,
        abs_tol=1e-9,
    )  # fmt: skip
    sketched = [c for c in expected.columns if c.startswith("p") and c[1:2].isdigit()]
    for column in sketched:
        _within(got[column], expected[column], alpha, column)
    _within(got.filter(is_duration)["value"], expected.filter(is_duration)["value"], alpha, "value")


def _within(got: pl.Series, exact: pl.Series, alpha: float, name: str) -> None:
    assert (got.is_null() == exact.is_null()).all(), name
    # every value here is >= 0, so the bound is relative to the exact quantile itself
    error = (got - exact).abs()
    bound = exact.abs() * alpha * (1 + 1e-9) + 1e-9
    bad = (error > bound).fill_null(value=False)
    assert not bad.any(), (name, got.filter(bad).to_list(), exact.filter(bad).to_list())


@pytest.fixture(scope="module")
def sim() -> csm.EventLog:
    return csm.datasets.simulate(1500, seed=11)


@pytest.fixture(scope="module")
def sim_policy(sim: csm.EventLog) -> csm.Policy:
    return csm.Policy(as_of=sim.frame.select(pl.col("ts").max()).collect().item())


# -- finalize equals compute ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("by", "period", "policy"),
    [
        ((), None, csm.Policy()),
        ("channel", "week", csm.Policy()),
        (("team", "channel_kind"), "day", csm.Policy(timezone="America/New_York")),
        ("channel", "month", csm.Policy(period_by="resolved")),
        ("priority", None, csm.Policy.preset("zendesk")),
    ],
)
def test_finalize_equals_compute(
    sim: csm.EventLog, by: str | tuple[str, ...], period: Any, policy: csm.Policy
) -> None:
    """Every built-in metric (backlog and next-reply pairs included), quantiles 10/50/90."""
    qs = (0.1, 0.5, 0.9)
    expected = csm.compute(sim, by=by, period=period, policy=policy, quantiles=qs).collect()
    state = compute_state(sim, by=by, period=period, policy=policy, quantiles=qs)
    assert_like_compute(state.finalize().collect(), expected)


def test_finalize_can_read_other_quantiles(sim: csm.EventLog) -> None:
    state = compute_state(sim, "first_response_time", by="channel")
    expected = csm.compute(sim, "first_response_time", by="channel", quantiles=(0.25, 0.99))
    assert_like_compute(state.finalize(quantiles=(0.25, 0.99)).collect(), expected.collect())


def test_hand_worked_state_and_finalize() -> None:
    """Two cases, replies after 30 and 90 minutes.

    first_response_time: n = 2, values 1800 s and 5400 s, sum 7200, mean 3600.
    The median 3600 (linear interpolation, halfway) is read from the sketch as halfway
    between the representatives of the buckets of 1800 and 5400, each within 1 % of it,
    so within 1 % of 3600; the maximum is exact (clamped to the stored max 5400).
    """
    log = csm.testing.log_from_rows(
        [
            ("09:00", "case_created", "customer", {"case_id": 1}),
            ("09:30", "message", "agent", {"case_id": 1}),
            ("09:00", "case_created", "customer", {"case_id": 2}),
            ("10:30", "message", "agent", {"case_id": 2}),
        ]
    )
    state = compute_state(log, "first_response_time", quantiles=(0.5, 1.0))
    stats = state.table.filter(pl.col("part") == "stats").row(0, named=True)
    assert (stats["n"], stats["n_values"], stats["sum"]) == (2, 2, 7200.0)
    assert (stats["min"], stats["max"]) == (1800.0, 5400.0)
    assert state.table.filter(pl.col("part") == "sketch")["n"].to_list() == [1, 1]
    row = state.finalize().collect().row(0, named=True)
    assert row["mean"] == 3600.0
    assert row["p100"] == 5400.0
    assert abs(row["p50"] - 3600.0) <= 36.0
    assert row["value"] == row["p50"]


def test_empty_log_gives_compute_zero_rows() -> None:
    empty = csm.testing.log_from_rows([("09:00", "case_created", "customer")]).frame.clear()
    log = csm.EventLog.trusted(empty)
    expected = csm.compute(log, ["volume", "reopen_rate", "first_response_time"]).collect()
    state = compute_state(log, ["volume", "reopen_rate", "first_response_time"])
    assert_like_compute(state.finalize().collect(), expected)
    assert state.as_of is None


# -- merge equivalence ---------------------------------------------------------------------


def _sorted(table: pl.DataFrame) -> pl.DataFrame:
    value_columns = {"n", "n_open", "n_values", "sum", "min", "max", "numerator"}
    value_columns |= {"denominator", "rank", "as_of"}
    return table.sort([c for c in table.columns if c not in value_columns], nulls_last=True)


def assert_same_state(
    merged: MetricState, whole: MetricState, ignore: tuple[str, ...] = ()
) -> None:
    """Equal tables: every column exactly, except float sums (addition order)."""
    left, right = _sorted(merged.table), _sorted(whole.table)
    assert_frame_equal(left.drop("sum", *ignore), right.drop("sum", *ignore))
    assert_frame_equal(
        left.select("sum"), right.select("sum"), check_exact=False, rel_tol=1e-12, abs_tol=1e-9
    )


@settings(max_examples=15, deadline=None, phases=NO_SHRINK)
@given(data=st.data())
def test_any_split_merges_to_the_whole(data: st.DataObject) -> None:
    """Any assignment of whole cases to partitions: merged state == state of the whole."""
    events = data.draw(event_logs(max_cases=8), label="events")
    as_of = data.draw(as_of_choices(events), label="as_of")
    if as_of is None:  # the whole log's latest event: every partition must use the same
        as_of = max(e["ts"] for e in events)
    policy = data.draw(policies(as_of), label="policy")
    frame = to_frame(events)
    by = data.draw(st.sampled_from([(), ("channel",), ("team", "priority")]), label="by")
    period = data.draw(st.sampled_from([None, "day", "week"]), label="period")
    n_parts = data.draw(st.integers(1, 4), label="partitions")
    case_ids = sorted(set(frame["case_id"].to_list()), key=str)
    labels = data.draw(
        st.lists(st.integers(0, n_parts - 1), min_size=len(case_ids), max_size=len(case_ids)),
        label="partition of each case",
    )
    assign = pl.DataFrame(
        {"case_id": case_ids, "_part": labels},
        schema={"case_id": frame["case_id"].dtype, "_part": pl.Int64},
    )
    split = frame.join(assign, on="case_id")
    metrics = [m.name for m in resolve_metrics(None)]
    args: dict[str, Any] = {"by": by, "period": period, "policy": policy}
    states = [
        compute_state(csm.EventLog.from_frame(split.filter(pl.col("_part") == i).drop("_part")),
                      metrics, **args)
        for i in range(n_parts)
    ]  # fmt: skip
    merged = states[0].merge(*states[1:])
    whole = compute_state(csm.EventLog.from_frame(frame), metrics, **args)
    assert_same_state(merged, whole)
    if not policy.include_merged:
        # compute() counts a literal population (include_merged=True) as 1 per group
        # (reported to the lead); the state counts the cases
        expected = csm.compute(csm.EventLog.from_frame(frame), metrics, **args).collect()
        assert_like_compute(merged.finalize().collect(), expected)


def test_population_of_every_case_is_counted() -> None:
    """With merged cases included the population is a literal True: 3 cases, not 1."""
    rows = [("09:00", "case_created", "customer", {"case_id": i}) for i in (1, 2, 3)]
    log = csm.testing.log_from_rows(rows)
    state = compute_state(
        log, ["volume", "escalation_rate"], policy=csm.Policy(include_merged=True)
    )
    out = state.finalize().collect()
    assert out["n"].to_list() == [3, 3]
    assert out["value"].to_list() == [0.0, 3.0]  # escalation 0/3; volume 3 cases


def test_merge_order_does_not_matter(sim: csm.EventLog, sim_policy: csm.Policy) -> None:
    frames = [sim.frame.filter(pl.col("case_id") % 3 == i) for i in range(3)]
    states = [
        compute_state(csm.EventLog.trusted(f), by="channel", period="week", policy=sim_policy)
        for f in frames
    ]
    one = states[0].merge(states[1]).merge(states[2])
    other = states[2].merge(states[0], states[1])
    assert_same_state(one, other)


def test_merging_refuses_other_arguments(sim: csm.EventLog) -> None:
    base = compute_state(sim, "volume", by="channel")
    with pytest.raises(PolicyError, match="by"):
        base.merge(compute_state(sim, "volume", by="team"))
    with pytest.raises(PolicyError, match="policy"):
        base.merge(compute_state(sim, "volume", by="channel", policy=csm.Policy.preset("zendesk")))
    with pytest.raises(PolicyError, match="alpha"):
        base.merge(compute_state(sim, "volume", by="channel", alpha=0.02))
    with pytest.raises(PolicyError, match="metrics"):
        base.merge(compute_state(sim, "comp_rate", by="channel"))


# -- partitions ----------------------------------------------------------------------------


@pytest.mark.parametrize("partition_by", ["case_id", "customer_id"])
def test_partitioned_equals_whole(sim: csm.EventLog, partition_by: Any) -> None:
    """as_of left open: compute_partitioned resolves it once for the whole log."""
    args: dict[str, Any] = {"by": "channel_kind", "period": "week"}
    whole = compute_state(sim, **args)
    parts = compute_partitioned(sim, partitions=3, partition_by=partition_by, **args)
    assert_same_state(parts, whole)


def test_partitioned_spills_once_and_cleans_up(sim: csm.EventLog, tmp_path: Path) -> None:
    """The partitions go to a temporary folder under spill_dir, removed at the end; a
    partition with no case (more partitions than customers' hashes fill) is fine."""
    spill = tmp_path / "spill"
    spill.mkdir()
    parts = compute_partitioned(sim, "volume", partitions=5, spill_dir=spill)
    assert list(spill.iterdir()) == []
    assert_same_state(parts, compute_state(sim, "volume"))
    tiny = csm.testing.log_from_rows([("09:00", "case_created", "customer")])
    one = compute_partitioned(tiny, "volume", partitions=4, spill_dir=spill)
    assert one.finalize().collect()["value"].item() == 1.0  # one case, three empty partitions


def test_partitioned_reads_files_and_reports_progress(sim: csm.EventLog, tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    sim.frame.collect().write_parquet(path)
    seen: list[tuple[int, int]] = []
    parts = compute_partitioned(
        str(path),
        ["volume", "first_response_time", "backlog"],
        period="week",
        partitions="auto",
        memory_limit=2_000_000,  # ~15,000 events x 400 bytes / 2 MB -> 3 partitions
        progress=lambda i, n: seen.append((i, n)),
    )
    n_events = sim.frame.select(pl.len()).collect().item()
    count = suggest_partitions(n_events, 2_000_000)
    assert seen == [(i, count) for i in range(1, count + 1)]
    assert count > 1
    expected = csm.compute(sim, ["volume", "first_response_time", "backlog"], period="week")
    assert_like_compute(parts.finalize().collect(), expected.collect())


def test_suggest_partitions() -> None:
    # 1e8 events x 400 bytes = 4e10 bytes; / 2 GiB (2,147,483,648) = 18.6 -> 19
    assert suggest_partitions(100_000_000) == 19
    assert suggest_partitions(10) == 1
    with pytest.raises(PolicyError, match="memory_limit"):
        suggest_partitions(10, memory_limit=0)


# -- daily jobs and late events ------------------------------------------------------------


def test_daily_job_with_late_events(sim: csm.EventLog) -> None:
    """Yesterday's stored state + today's recomputed periods == a full recompute today.

    Day D's state is stored. On day D+1 new events arrive, some of them for old cases
    (replies, reopens). The periods to recompute are the creation periods of the cases
    that got events, and the periods that still had open cases at D (their clocks ran on).
    """
    frame = sim.frame.collect()
    day_d = dt.datetime(2024, 1, 20, tzinfo=dt.UTC)
    day_next = day_d + dt.timedelta(days=1)
    args: dict[str, Any] = {"by": "channel", "period": "day"}
    stored = compute_state(
        csm.EventLog.trusted(frame.filter(pl.col("ts") <= day_d)),
        policy=csm.Policy(as_of=day_d),
        **args,
    )
    today = frame.filter(pl.col("ts") <= day_next)
    created = today.group_by("case_id").agg(
        pl.col("ts").min().dt.truncate("1d").alias("period_start")
    )
    touched = frame.filter((pl.col("ts") > day_d) & (pl.col("ts") <= day_next))
    late = created.join(touched.select("case_id").unique(), on="case_id", how="semi")
    affected = set(late["period_start"].to_list()) | set(stored.open_periods())
    redo_cases = created.filter(pl.col("period_start").is_in(sorted(affected)))
    assert late["period_start"].min() < day_d - dt.timedelta(days=3)  # truly late events
    fresh = compute_state(
        csm.EventLog.trusted(today.join(redo_cases, on="case_id", how="semi")),
        policy=csm.Policy(as_of=day_next),
        **args,
    )
    updated = stored.replace_periods(fresh, periods=affected)
    full = compute_state(csm.EventLog.trusted(today), policy=csm.Policy(as_of=day_next), **args)
    # rows of the periods kept from day D still say when they were computed
    assert_same_state(updated, full, ignore=("as_of",))
    assert updated.as_of == day_next
    assert_frame_equal(updated.finalize().collect(), full.finalize().collect())


def test_open_periods_and_customers(sim: csm.EventLog) -> None:
    state = compute_state(sim, "volume", by="channel", period="week")
    cases = csm.case_table(sim).with_columns(
        pl.col("created_at").dt.truncate("1w").alias("period_start")
    )
    exact = (
        cases.group_by("channel", "period_start")
        .agg(
            pl.len().cast(pl.Int64).alias("n_cases"),
            pl.col("is_open").sum().cast(pl.Int64).alias("n_open"),
            pl.col("customer_id").n_unique().alias("exact"),
        )
        .collect()
    )
    got = state.customers().collect().join(exact, on=["channel", "period_start"])
    assert got.height == exact.height
    assert (got["n_cases"] == got["n_cases_right"]).all()
    assert (got["n_open"] == got["n_open_right"]).all()
    # HyperLogLog: relative standard error 0.81 %; these groups hold < 300 customers,
    # where the estimator is within a customer or two
    assert ((got["n_customers"] - got["exact"]).abs() <= 2 + 0.03 * got["exact"]).all()
    open_weeks = exact.filter(pl.col("n_open") > 0)["period_start"].unique().sort().to_list()
    assert state.open_periods() == open_weeks


def test_replace_periods_refuses_to_count_twice(sim: csm.EventLog) -> None:
    state = compute_state(sim, "volume", period="week")
    weeks = state.table["period_start"].unique().sort().to_list()
    assert_frame_equal(state.replace_periods(state).finalize().collect(),
                       state.finalize().collect())  # fmt: skip
    with pytest.raises(PolicyError, match="counted twice"):
        state.replace_periods(state, periods=weeks[:1])
    with pytest.raises(PolicyError, match="aware"):
        state.replace_periods(state, periods=[w.replace(tzinfo=None) for w in weeks])


def test_replace_and_open_periods_need_a_period(sim: csm.EventLog) -> None:
    state = compute_state(sim, "volume")
    with pytest.raises(PolicyError, match="period"):
        state.open_periods()
    with pytest.raises(PolicyError, match="period"):
        state.replace_periods(state)


# -- storage -------------------------------------------------------------------------------


def test_parquet_round_trip(sim: csm.EventLog, tmp_path: Path) -> None:
    state = compute_state(sim, by=("channel_kind", "team"), period="week", quantiles=(0.5, 0.75))
    path = state.to_parquet(tmp_path / "state.parquet")
    again = MetricState.from_parquet(path)
    assert again.meta() == state.meta()
    assert_frame_equal(_sorted(again.table), _sorted(state.table))
    assert_frame_equal(again.finalize().collect(), state.finalize().collect())


def test_bad_state_files(tmp_path: Path) -> None:
    plain = tmp_path / "plain.parquet"
    pl.DataFrame({"a": [1]}).write_parquet(plain)
    with pytest.raises(SchemaError, match="not a csmetrics metric state"):
        MetricState.from_parquet(plain)
    with pytest.raises(SchemaError, match="cannot read metric state"):
        MetricState.from_parquet(tmp_path / "missing.parquet")
    broken = tmp_path / "broken.parquet"
    pl.DataFrame({"a": [1]}).write_parquet(broken, metadata={"csmetrics.state": "{"})
    with pytest.raises(SchemaError, match="unreadable"):
        MetricState.from_parquet(broken)


# -- bad arguments -------------------------------------------------------------------------


def test_bad_arguments(sim: csm.EventLog) -> None:
    with pytest.raises(PolicyError, match="not in the case table"):
        compute_state(sim, "volume", by="nope")
    with pytest.raises(PolicyError, match="period"):
        compute_state(sim, "volume", period="fortnight")  # type: ignore[arg-type]
    with pytest.raises(PolicyError, match="alpha"):
        compute_state(sim, "volume", alpha=0.7)
    with pytest.raises(PolicyError, match="precision"):
        compute_state(sim, "volume", precision=30)
    with pytest.raises(PolicyError, match="quantiles"):
        compute_state(sim, "volume", quantiles=(1.5,))
    with pytest.raises(PolicyError, match="journeys"):
        compute_state(sim, "repeat_contact_rate")
    with pytest.raises(UnknownMetricError):
        compute_state(sim, "not_a_metric")
    with pytest.raises(PolicyError, match="partitions"):
        compute_partitioned(sim, "volume", partitions=0)
    with pytest.raises(PolicyError, match="partition_by"):
        compute_partitioned(sim, "volume", partitions=2, partition_by="team")  # type: ignore[arg-type]


def test_compute_state_true_returns_the_mergeable_state() -> None:
    import csmetrics as csm

    log = csm.datasets.simulate(n_cases=500, seed=11)
    metrics = ["volume", "comp_rate"]
    state = csm.compute(log, metrics, by="channel", state=True)
    assert isinstance(state, csm.MetricState)
    # counts and rates are exact: the finalized state equals compute's table
    finalized = state.finalize().collect().sort("channel", "metric")
    direct = csm.compute(log, metrics, by="channel").collect().sort("channel", "metric")
    assert finalized.select("n", "value").equals(direct.select("n", "value"))
