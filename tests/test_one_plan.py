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


@st.composite
def _awkward_log_and_policy(draw: st.DrawFn) -> tuple[list[dict[str, object]], csm.Policy]:
    """Logs the shortcuts must send the exact way: a case's creation rows duplicated with
    another channel, customer or visibility (tied on the time stamp, so only ``event_id``
    orders them), events whose channel or customer differ from the case's, several CSAT
    surveys with different scores, unknown visibility, events without an id."""
    events, policy = draw(_log_and_policy())
    events = [dict(e) for e in events]
    next_id = len(events)
    for event in list(events):
        if event["event_type"] == "case_created" and draw(st.booleans()):
            twin = dict(event)
            next_id += 1
            twin["event_id"] = f"e{next_id:03d}" if isinstance(event["event_id"], str) else next_id
            twin["channel"] = draw(st.sampled_from(("email", "chat", "twitter")))
            twin["actor"] = draw(st.sampled_from(("customer", "agent")))
            twin["is_public"] = draw(st.sampled_from((True, False, None)))
            events.append(twin)
    for event in events:
        if draw(st.integers(0, 5)) == 0:
            event["channel"] = draw(st.sampled_from(("email", "chat", "twitter")))
        if event["event_type"] == "message" and draw(st.booleans()):
            event["is_public"] = draw(st.sampled_from((True, False, None)))
        if event["event_type"] == "csat":
            event["csat_score"] = float(draw(st.integers(1, 5)))
        if draw(st.integers(0, 7)) == 0:  # no id: ordered by its content among its ties
            event["event_id"] = None
    return events, policy


def _both_ways(log: csm.EventLog, policy: csm.Policy, columns: list[str] | None) -> None:
    fast = csm.case_table(log, policy=policy, columns=columns).collect().sort("case_id")
    original = cases_module.SHORTCUTS
    cases_module.SHORTCUTS = False
    try:
        slow = csm.case_table(log, policy=policy, columns=columns).collect().sort("case_id")
    finally:
        cases_module.SHORTCUTS = original
    assert_frame_equal(fast, slow)


_STATUS_SHORTCUT_COLUMNS = [
    "status_at_as_of",
    "is_open",
    "first_resolved_at",
    "last_resolved_at",
    "n_resolutions",
    "n_reopens",
    "reopened",
    "full_resolution_time",
]
_FACT_SHORTCUT_COLUMNS = [
    "created_at",
    "agent_created",
    "customer_id",
    "channel",
    "is_public",
    "moved_to_private",
    "csat_score",
    "abandoned",
    "first_response_time",
]


@settings(max_examples=40)
@given(data=_log_and_policy())
def test_status_shortcuts_give_what_the_status_sequence_gives(
    data: tuple[list[dict[str, object]], csm.Policy],
) -> None:
    """Resolutions, reopens and the status at as_of come from plain aggregations for cases
    with a simple status history, from the sorted status rows for the others: both ways
    agree on every case."""
    events, policy = data
    _both_ways(_log(events), policy, _STATUS_SHORTCUT_COLUMNS)


@settings(max_examples=40)
@given(data=_awkward_log_and_policy())
def test_every_shortcut_gives_what_the_full_key_gives(
    data: tuple[list[dict[str, object]], csm.Policy],
) -> None:
    """Creation (time, actor, customer, channel, visibility), CSAT and the status columns
    from plain Int64 aggregations where exact, by the full event order for the other
    cases: both ways agree, for the shortcut columns alone and in the full table."""
    events, policy = data
    log = _log(events)
    _both_ways(log, policy, _FACT_SHORTCUT_COLUMNS + _STATUS_SHORTCUT_COLUMNS)
    _both_ways(log, policy, None)


def test_tied_creation_rows_are_ordered_by_event_id() -> None:
    """Two case_created rows at 09:00 (ids 2 and 1): the creation is event 1's, so the case
    is on chat for customer 7 and was opened by the agent; the shortcut sees the rows
    disagree and takes the exact way."""
    rows = [
        (
            "09:00",
            "case_created",
            "customer",
            {"event_id": 2, "channel": "email", "customer_id": 8},
        ),
        ("09:00", "case_created", "customer", {"event_id": 1, "channel": "chat", "customer_id": 7}),
        ("09:20", "message", "agent", {"event_id": 3, "channel": "email", "customer_id": 8}),
    ]
    case = csm.case_table(csm.testing.log_from_rows(rows)).collect().row(0, named=True)
    assert (case["channel"], case["customer_id"]) == ("chat", 7)
    # first response 09:00 → 09:20 = 1200 s
    assert case["first_response_time"].total_seconds() == 1200


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


@settings(max_examples=40)
@given(data=_log_and_policy())
def test_next_reply_pairs_sum_to_the_case_table(
    data: tuple[list[dict[str, object]], csm.Policy],
) -> None:
    """The pairs (sorted from customer messages and replies only) give, per case, exactly
    the case table's next-reply count, sum and maximum (sorted from every message row)."""
    events, policy = data
    log = _log(events)
    pairs = csm.next_reply_pairs(log, policy=policy).collect()
    per_case = pairs.group_by("case_id").agg(
        pl.len().cast(pl.UInt32).alias("next_reply_count"),
        pl.col("next_reply_time").sum().alias("next_reply_time_sum"),
        pl.col("next_reply_time").max().alias("next_reply_time_max"),
    )
    table = csm.case_table(
        log,
        policy=policy,
        columns=["next_reply_count", "next_reply_time_sum", "next_reply_time_max"],
    ).collect()
    expected = table.filter(pl.col("next_reply_count") > 0).sort("case_id")
    assert_frame_equal(per_case.sort("case_id"), expected)
