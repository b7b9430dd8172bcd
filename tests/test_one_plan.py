"""One definition, one plan (DESIGN §3): a value never depends on what else is asked for.

For random logs with minute-resolution time stamps (many exact ties), integer and text ids
and shuffled rows, every case-table column computed alone, with a random subset of other
columns, and in the full table is identical; every metric from ``compute`` alone equals the
same metric computed with all the others (case, pair, period and issue metrics together).
"""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal, assert_series_equal
from tests.strategies import as_of_choices, event_logs, policies, to_frame

import csmetrics as csm
from csmetrics import cases as cases_module
from csmetrics.cases import CASE_COLUMNS

COLUMNS = [c for c in CASE_COLUMNS if c != "case_id"]
METRICS = sorted(m.name for m in csm.metrics.builtins())


def _log(events: list[dict[str, object]]) -> csm.EventLog:
    return csm.EventLog.from_frame(to_frame(events))


@st.composite
def _log_and_policy(draw: st.DrawFn) -> tuple[list[dict[str, object]], csm.Policy]:
    events = draw(event_logs(max_cases=6))
    as_of = draw(as_of_choices(events))
    return events, draw(policies(as_of))


@settings(max_examples=60)
@given(data=_log_and_policy(), picks=st.data())
def test_every_column_is_the_same_alone_with_others_and_in_the_full_table(
    data: tuple[list[dict[str, object]], csm.Policy], picks: st.DataObject
) -> None:
    events, policy = data
    log = _log(events)
    full = csm.case_table(log, policy=policy).collect().sort("case_id")
    column = picks.draw(st.sampled_from(COLUMNS), label="column")
    others = picks.draw(st.lists(st.sampled_from(COLUMNS), max_size=6), label="others")
    alone = csm.case_table(log, policy=policy, columns=[column]).collect().sort("case_id")
    mixed = csm.case_table(log, policy=policy, columns=[*others, column]).collect().sort("case_id")
    for frame in (alone, mixed):
        assert_series_equal(frame["case_id"], full["case_id"])
        assert_series_equal(frame[column], full[column])


@settings(max_examples=25)
@given(data=_log_and_policy(), picks=st.data())
def test_every_metric_alone_equals_the_metric_among_all(
    data: tuple[list[dict[str, object]], csm.Policy], picks: st.DataObject
) -> None:
    events, policy = data
    log = _log(events)
    together = csm.compute(log, METRICS, policy=policy).collect()
    name = picks.draw(st.sampled_from(METRICS), label="metric")
    alone = csm.compute(log, name, policy=policy).collect()
    mine = together.filter(pl.col("metric") == name).select(alone.columns)
    keys = [
        c
        for c in ("from_channel", "to_channel", "channel", "switched_to_public")
        if c in alone.columns
    ]
    assert_frame_equal(alone.sort(keys), mine.sort(keys), check_dtypes=False)


@settings(max_examples=40)
@given(data=_log_and_policy())
def test_status_shortcuts_give_what_the_status_sequence_gives(
    data: tuple[list[dict[str, object]], csm.Policy],
) -> None:
    """Resolutions, reopens and the status at as_of come from plain aggregations for cases
    with a simple status history, from the sorted status rows for the others: both ways
    agree on every case."""
    events, policy = data
    log = _log(events)
    columns = [
        "status_at_as_of",
        "is_open",
        "first_resolved_at",
        "last_resolved_at",
        "n_resolutions",
        "n_reopens",
        "reopened",
        "full_resolution_time",
    ]
    fast = csm.case_table(log, policy=policy, columns=columns).collect().sort("case_id")
    original = cases_module.SHORTCUTS
    cases_module.SHORTCUTS = False
    try:
        slow = csm.case_table(log, policy=policy, columns=columns).collect().sort("case_id")
    finally:
        cases_module.SHORTCUTS = original
    assert_frame_equal(fast, slow)


def test_durations_and_sla_targets_by_difficulty() -> None:
    # case 1 urgent (hard): reply 09:00 → 09:40 = 2400 s; case 2 one transfer (medium):
    # 09:00 → 09:10 = 600 s; case 3 nothing special (easy): 09:00 → 09:05 = 300 s
    rows = [
        ("09:00", "case_created", "customer", {"case_id": 1}),
        ("09:01", "priority_changed", "agent", {"case_id": 1, "priority": "urgent"}),
        ("09:40", "message", "agent", {"case_id": 1}),
        ("09:00", "case_created", "customer", {"case_id": 2}),
        ("09:02", "transferred", "agent", {"case_id": 2, "team": "billing"}),
        ("09:10", "message", "agent", {"case_id": 2}),
        ("09:00", "case_created", "customer", {"case_id": 3}),
        ("09:05", "message", "agent", {"case_id": 3}),
    ]
    log = csm.testing.log_from_rows(rows)
    out = csm.compute(log, "first_response_time", by="difficulty").collect()
    values = dict(zip(out["difficulty"].cast(pl.String), out["value"], strict=True))
    assert values == {"easy": 300.0, "medium": 600.0, "hard": 2400.0}
    # a stricter rule: one transfer is already hard
    strict = csm.Policy(difficulty={"transfers_hard": 1})
    out = csm.compute(log, "first_response_time", by="difficulty", policy=strict).collect()
    assert sorted(out["difficulty"].cast(pl.String).to_list()) == ["easy", "hard"]
    sla = csm.SlaPolicy([csm.SlaRule("all", targets={"first_reply": "30m"})])
    attained = csm.sla_metrics(log, sla, by="difficulty").collect()
    by_level = {
        r["difficulty"]: r["value"]
        for r in attained.iter_rows(named=True)
        if r["metric"] == "sla_attainment"
    }
    assert by_level == {"easy": 1.0, "medium": 1.0, "hard": 0.0}  # 40 min > 30 min target
