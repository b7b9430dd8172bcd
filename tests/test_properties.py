"""Invariants of the whole pipeline (validation → case table → compute) on hypothesis logs.

- every duration is ≥ 0 and ≤ the case's lifetime (``as_of - created_at``), in the case table,
  in the next-reply pairs and in every aggregate ``compute`` reports;
- every rate (and the csat share) is in [0, 1], with ``numerator ≤ denominator ≤ n``;
- counts are conserved: events → cases (``n_events`` and each per-type count) → summary
  (``volume``, by channel and period, adds up to the whole);
- the presets differ from the ``csmetrics`` preset only in the case-table columns their knobs
  (``csmetrics.policy.PRESET_DIFFERENCES``) are documented to change.

(``good + rejected == input`` for validation and quarantine: ``tests/test_quarantine.py``.)
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from tests.strategies import as_of_choices, event_logs, policies, to_frame

import csmetrics as csm
from csmetrics.metrics import registry
from csmetrics.policy import PRESET_DIFFERENCES, PRESETS, Policy

FIRST_RESPONSE = ("first_response_start_at", "first_response_at", "first_response_time")
RESOLUTION = ("first_resolution_time", "full_resolution_time")
KNOB_COLUMNS: dict[str, tuple[str, ...]] = {
    "first_response_start": FIRST_RESPONSE,
    "agent_created": FIRST_RESPONSE,
    "bots_count_as_responders": FIRST_RESPONSE,
    "resolution_start": RESOLUTION,
    "one_touch": ("one_touch",),
}
"""The case-table columns each knob a preset sets is documented to change (docs/presets.md)."""

LIFETIME_EXEMPT = ("handle_time",)  # agents' working time, not a clock on the case's calendar
METRICS = [m for m in registry.builtins() if m.level in ("case", "pair")]
RATE_KINDS = ("rate", "score")


def drawn(data: st.DataObject) -> tuple[pl.DataFrame, Policy]:
    events = data.draw(event_logs(), label="events")
    as_of = data.draw(as_of_choices(events), label="as_of")
    policy = data.draw(policies(as_of), label="policy")
    return to_frame(events), policy


def test_literal_population_counts_every_case() -> None:
    """A population that is a literal (``pl.lit(True)``) counts every case of each group."""
    # two cases on chat, neither answered; include_merged=True makes the population pl.lit(True)
    log = csm.testing.log_from_rows(
        [
            ("09:00", "case_created", "customer", {"case_id": 1}),
            ("09:00", "case_created", "customer", {"case_id": 2}),
        ],
        channel="chat",
    )
    policy = Policy(include_merged=True)
    out = csm.compute(log, ["volume", "unanswered_rate"], by="channel", policy=policy).collect()
    # 2 cases, both unanswered: volume n = 2; unanswered_rate 2 / 2 = 1.0
    assert out.select("metric", "n", "value").rows() == [
        ("unanswered_rate", 2, 1.0),
        ("volume", 2, 2.0),
    ]


def checked(frame: pl.DataFrame) -> csm.EventLog:
    """The frame through validation (every strategy log is valid: nothing is rejected)."""
    log = csm.EventLog.from_frame(frame)
    _, rejected = log.validate("split")
    assert rejected.collect().height == 0
    return log.checked("raise")


def observed(frame: pl.DataFrame, as_of: dt.datetime) -> pl.DataFrame:
    """The events inside the observation window."""
    return frame.filter(pl.col("ts") <= as_of)


# -- durations ---------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_durations_are_within_zero_and_the_case_lifetime(data: st.DataObject) -> None:
    frame, policy = drawn(data)
    log = checked(frame)
    cases = csm.case_table(log, policy=policy).collect()
    lifetime = pl.col("as_of") - pl.col("created_at")
    durations = [
        c for c, dtype in cases.schema.items() if isinstance(dtype, pl.Duration)
    ]  # every Duration column, including ones added later
    assert "first_response_time" in durations
    for column in durations:
        value = pl.col(column)
        negative = cases.filter(value < dt.timedelta(0))
        assert negative.height == 0, (column, negative.select("case_id", column).rows())
        if column in LIFETIME_EXEMPT:
            continue
        too_long = cases.filter(value > lifetime)
        assert too_long.height == 0, (column, too_long.select("case_id", column).rows())
    assert cases.filter(pl.col("last_event_at") > pl.col("as_of")).height == 0
    # next-reply pairs: each within its case's lifetime
    pairs = csm.next_reply_pairs(log, policy=policy).collect()
    joined = pairs.join(cases.select("case_id", "created_at", "as_of"), on="case_id", how="left")
    assert joined["created_at"].null_count() == 0  # every pair belongs to a case of the table
    assert joined.filter(pl.col("next_reply_time") < dt.timedelta(0)).height == 0
    assert joined.filter(pl.col("next_reply_time") > lifetime).height == 0
    # aggregates: every statistic of a duration metric lies in [0, the longest lifetime]
    longest = cases.select(lifetime.max()).item().total_seconds()
    results = csm.compute(log, by="channel", policy=policy, quantiles=(0.0, 0.5, 1.0)).collect()
    durations_out = results.filter(pl.col("unit") == "seconds")
    for stat in ("value", "mean", "p0", "p50", "p100"):
        values = durations_out[stat].drop_nulls()
        assert (values >= 0).all(), stat
        assert (values <= longest + 1e-6).all(), (stat, values.max(), longest)


# -- rates --------------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(data=st.data(), period=st.sampled_from((None, "day")))
def test_rates_are_shares_of_their_population(data: st.DataObject, period: Any) -> None:
    frame, policy = drawn(data)
    results = csm.compute(checked(frame), by="channel", period=period, policy=policy).collect()
    kinds = {m.name: m.kind for m in METRICS}
    rates = results.filter(pl.col("metric").replace_strict(kinds, default="").is_in(RATE_KINDS))
    assert rates.height > 0
    for row in rates.iter_rows(named=True):
        n, numerator, denominator = row["n"], row["numerator"], row["denominator"]
        assert 0 <= numerator <= denominator <= n, row
        if denominator == 0:
            assert row["value"] is None, row
        else:
            assert 0.0 <= row["value"] <= 1.0, row
            assert row["value"] == numerator / denominator, row
        if kinds[row["metric"]] == "rate" and row["value"] is not None:
            assert row["mean"] == row["value"], row
    csat = results.filter(pl.col("metric") == "csat")["mean"].drop_nulls()
    assert ((csat >= 1) & (csat <= 5)).all()
    # n_open never exceeds n
    assert results.filter(pl.col("n_open") > pl.col("n")).height == 0


# -- counts -----------------------------------------------------------------------------------

EVENT_COUNTS: dict[str, pl.Expr] = {
    "n_events": pl.lit(value=True),
    "n_customer_messages": (pl.col("event_type") == "message") & (pl.col("actor") == "customer"),
    "n_agent_replies": (pl.col("event_type") == "message") & (pl.col("actor") == "agent"),
    "n_bot_messages": (pl.col("event_type") == "message") & (pl.col("actor") == "bot"),
    "n_notes": pl.col("event_type") == "note",
    "n_assignments": pl.col("event_type") == "assigned",
    "n_transfers": pl.col("event_type") == "transferred",
    "n_escalations": pl.col("event_type") == "escalated",
    "comp_count": pl.col("event_type") == "comp_granted",
}
"""Case-table count → the events it counts (CASE_SEMANTICS rule 11)."""


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_counts_are_conserved_from_events_to_cases_to_summary(data: st.DataObject) -> None:
    frame, policy = drawn(data)
    log = checked(frame)
    cases = csm.case_table(log, policy=policy).collect()
    as_of = cases["as_of"][0]
    events = observed(frame, as_of)
    # events -> cases
    assert cases.height == events["case_id"].n_unique()
    assert cases["case_id"].n_unique() == cases.height
    for column, counted in EVENT_COUNTS.items():
        assert cases[column].sum() == events.filter(counted).height, column
    comps = events.filter(pl.col("event_type") == "comp_granted")["comp_amount"].sum()
    assert cases["comp_total"].sum() == comps  # amounts are exact binary fractions here
    pairs = csm.next_reply_pairs(log, policy=policy).collect()
    assert cases["next_reply_count"].sum() == pairs.height
    # cases -> summary
    n_counted = cases.height if policy.include_merged else cases.filter(~pl.col("merged")).height
    overall = csm.compute(log, ["volume", "backlog"], policy=policy).collect()
    volume = overall.filter(pl.col("metric") == "volume").row(0, named=True)
    assert volume["n"] == volume["value"] == n_counted
    counted_open = cases.filter(pl.col("is_open") & (~pl.col("merged") | policy.include_merged))
    assert volume["n_open"] == counted_open.height
    backlog = overall.filter(pl.col("metric") == "backlog").row(0, named=True)
    assert backlog["value"] == counted_open.height
    for by, period in (("channel", None), ("channel_kind", None), ("team", "day")):
        parts = csm.compute(log, "volume", by=by, period=period, policy=policy).collect()
        assert parts["n"].sum() == n_counted, (by, period)
        assert parts["n_open"].sum() == volume["n_open"], (by, period)
    # pair-level n counts the pairs of counted cases
    nrt = csm.compute(log, "next_reply_time", policy=policy).collect().row(0, named=True)
    counted_ids = cases.filter(~pl.col("merged") | policy.include_merged)["case_id"]
    assert nrt["n"] == pairs.filter(pl.col("case_id").is_in(counted_ids.implode())).height


# -- presets ------------------------------------------------------------------------------------


def affected_columns(preset: str) -> set[str]:
    knobs = PRESET_DIFFERENCES[preset]
    unknown = set(knobs) - set(KNOB_COLUMNS)
    assert not unknown, f"preset {preset} sets {unknown}: say which columns they change"
    return {column for knob in knobs for column in KNOB_COLUMNS[knob]}


@pytest.mark.parametrize("preset", [p for p in PRESETS if p != "csmetrics"])
def test_knob_table_covers_every_preset(preset: str) -> None:
    assert affected_columns(preset)


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_presets_differ_only_where_documented(data: st.DataObject) -> None:
    events = data.draw(event_logs(), label="events")
    as_of = data.draw(as_of_choices(events), label="as_of")
    log = checked(to_frame(events))
    base = (
        csm.case_table(log, policy=Policy.preset("csmetrics", as_of=as_of))
        .collect()
        .sort("case_id")
    )
    for preset in PRESETS:
        table = (
            csm.case_table(log, policy=Policy.preset(preset, as_of=as_of)).collect().sort("case_id")
        )
        kept = [c for c in base.columns if c not in affected_columns(preset)]
        assert table.columns == base.columns
        try:
            assert_frame_equal(table.select(kept), base.select(kept), check_exact=True)
        except AssertionError as exc:
            raise AssertionError(f"preset {preset}: {exc}") from exc


# -- hostile sizes (correctness only; times: benchmarks/bench_hostile.py) -----------------------

_BLOCK = ("message", "message", "note", "message", "message", "status_changed",
          "status_changed", "assigned")  # fmt: skip
_BLOCK_ACTORS = ("customer", "agent", "agent", "customer", "agent", "agent", "customer", "system")


def _one_long_case(blocks: int) -> pl.DataFrame:
    """``case_created`` at 09:00, then ``blocks`` blocks of 8 events, one a minute."""
    i = pl.int_range(1 + 8 * blocks, dtype=pl.Int64)
    j = (i - 1) % 8
    first = i == 0

    def pick(values: tuple[str, ...]) -> pl.Expr:
        return j.replace_strict(dict(enumerate(values)), return_dtype=pl.String)

    return pl.select(
        i.alias("event_id"),
        pl.lit(1).alias("case_id"),
        pl.lit(1).alias("customer_id"),
        pl.lit("email").alias("channel"),
        (pl.lit(dt.datetime(2024, 3, 1, 9, tzinfo=dt.UTC)) + pl.duration(minutes=i)).alias("ts"),
        pl.when(first).then(pl.lit("case_created")).otherwise(pick(_BLOCK)).alias("event_type"),
        pl.when(first).then(pl.lit("customer")).otherwise(pick(_BLOCK_ACTORS)).alias("actor"),
        pl.when(~first & (j == 5))
        .then(pl.lit("solved"))
        .when(~first & (j == 6))
        .then(pl.lit("open"))
        .alias("status"),
    )


def test_one_case_with_a_hundred_thousand_events() -> None:
    blocks = 12_500
    frame = _one_long_case(blocks)  # 1 + 8 * 12,500 = 100,001 events
    log = csm.EventLog.from_frame(frame)
    row = csm.case_table(log).collect().row(0, named=True)
    assert row["n_events"] == 100_001
    # per block: 2 customer messages, 2 replies, 1 note, 1 solve then 1 reopen, 1 assignment
    assert row["n_customer_messages"] == row["n_agent_replies"] == 2 * blocks
    assert row["n_notes"] == row["n_assignments"] == row["n_reopens"] == blocks
    # created 09:00 (event 0), first reply 09:02 (event 2): 120 s
    assert row["first_response_time"] == dt.timedelta(minutes=2)
    # first solve: event 6 (block 0, position 5) at 09:06; reopened last: the case is open
    assert row["first_resolution_time"] == dt.timedelta(minutes=6)
    assert row["is_open"]
    assert row["full_resolution_time"] is None
    # pairs: block 0 has one (customer at position 3, reply at 4); every later block two
    # (positions 0 -> 1 and 3 -> 4): 1 + 2 * 12,499 = 24,999 pairs of 60 s each
    assert row["next_reply_count"] == 2 * blocks - 1
    assert row["next_reply_time_sum"] == dt.timedelta(minutes=2 * blocks - 1)
    assert row["next_reply_time_max"] == dt.timedelta(minutes=1)
    assert csm.next_reply_pairs(log).collect().height == 2 * blocks - 1


def test_a_hundred_thousand_topics_and_channels() -> None:
    n = 100_000
    case = pl.int_range(2 * n, dtype=pl.Int64) // 2
    second = (pl.int_range(2 * n) % 2) == 1
    frame = pl.select(
        pl.int_range(2 * n, dtype=pl.Int64).alias("event_id"),
        case.alias("case_id"),
        case.alias("customer_id"),
        pl.format("ch{}", case).alias("channel"),
        pl.format("t{}", case).alias("topic"),
        (
            pl.lit(dt.datetime(2024, 3, 1, 9, tzinfo=dt.UTC))
            + pl.duration(seconds=case, minutes=second.cast(pl.Int64))
        ).alias("ts"),
        pl.when(second)
        .then(pl.lit("message"))
        .otherwise(pl.lit("case_created"))
        .alias("event_type"),
        pl.when(second).then(pl.lit("agent")).otherwise(pl.lit("customer")).alias("actor"),
    )
    log = csm.EventLog.from_frame(frame).checked("raise")
    for by in ("topic", "channel"):
        out = csm.compute(log, ["volume", "first_response_time"], by=by).collect()
        # one case per topic (and channel): 100,000 groups x 2 metrics, each n = 1
        assert out.height == 2 * n
        assert out[by].n_unique() == n
        assert (out["n"] == 1).all()
        # each case answered a minute after it was created
        frt = out.filter(pl.col("metric") == "first_response_time")["value"]
        assert (frt == 60.0).all()
