"""Case-table edge cases and each preset's documented difference (hand-worked)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest

import csmetrics as csm
from csmetrics.cases import CASE_COLUMNS


def row(rows: list[Any], policy: csm.Policy | None = None, **kw: Any) -> dict[str, Any]:
    table = csm.case_table(csm.testing.log_from_rows(rows, **kw), policy=policy).collect()
    assert table.height == 1
    return table.row(0, named=True)


def secs(value: dt.timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


CUSTOMER_WRITES_LATER = [
    ("09:00", "case_created", "customer"),
    ("09:20", "message", "customer"),
    ("09:50", "message", "agent"),
    ("10:00", "status_changed", "agent", {"status": "solved"}),
]


def test_columns_and_dtypes() -> None:
    table = csm.case_table(csm.testing.log_from_rows(CUSTOMER_WRITES_LATER)).collect()
    assert tuple(table.columns) == CASE_COLUMNS
    assert table.schema["first_response_time"] == pl.Duration("us")
    assert table.schema["n_events"] == pl.UInt32
    assert table.schema["one_touch"] == pl.Boolean


@pytest.mark.parametrize(
    ("preset", "frt", "resolution"),
    [
        # csmetrics / zendesk / chatwoot: from creation 09:00 → reply 09:50 = 3000 s;
        # resolution 09:00 → 10:00 = 3600 s
        ("csmetrics", 3000, 3600),
        ("zendesk", 3000, 3600),
        ("chatwoot", 3000, 3600),
        # intercom / plain: from the first customer message 09:20 → 09:50 = 1800 s;
        # resolution 09:20 → 10:00 = 2400 s
        ("intercom", 1800, 2400),
        ("plain", 1800, 2400),
    ],
)
def test_clock_start_per_preset(preset: str, frt: int, resolution: int) -> None:
    got = row(CUSTOMER_WRITES_LATER, csm.Policy.preset(preset))
    assert secs(got["first_response_time"]) == frt
    assert secs(got["first_resolution_time"]) == resolution


def test_first_customer_message_falls_back_to_creation() -> None:
    # no customer message at all: the clock starts at creation 09:00 → reply 09:30
    rows = [("09:00", "case_created", "customer"), ("09:30", "message", "agent")]
    assert secs(row(rows, csm.Policy.preset("intercom"))["first_response_time"]) == 1800


def test_one_touch_zero_replies_only_under_zendesk() -> None:
    # solved with no agent reply: zendesk's formula (replies < 2) counts it, ours does not
    rows = [
        ("09:00", "case_created", "customer"),
        ("09:10", "status_changed", "agent", {"status": "solved"}),
    ]
    assert row(rows)["one_touch"] is False
    assert row(rows, csm.Policy.preset("zendesk"))["one_touch"] is True


def test_agent_created_include() -> None:
    # outbound case: the agent's own first message at 09:00 ends the clock under "include"
    rows = [
        ("09:00", "case_created", "agent"),
        ("09:00", "message", "agent"),
        ("10:00", "message", "customer"),
        ("10:30", "message", "agent"),
    ]
    got = row(rows, csm.Policy(agent_created="include"))
    assert got["agent_created"] is True
    assert secs(got["first_response_time"]) == 0
    # next reply: customer 10:00 → agent 10:30
    assert secs(got["next_reply_time_sum"]) == 1800


def test_agent_created_second_reply_when_the_customer_wrote_first() -> None:
    # agent-created, but the first message is the customer's: the first reply counts
    rows = [
        ("09:00", "case_created", "agent"),
        ("09:05", "message", "customer"),
        ("09:45", "message", "agent"),
    ]
    got = row(rows, csm.Policy.preset("zendesk"))
    assert secs(got["first_response_time"]) == 2700  # 09:00 → 09:45


def test_bots_count_when_the_policy_says_so() -> None:
    rows = [
        ("09:00", "case_created", "customer"),
        ("09:01", "message", "bot"),
        ("09:30", "message", "agent"),
    ]
    assert secs(row(rows)["first_response_time"]) == 1800
    assert secs(row(rows, csm.Policy(bots_count_as_responders=True))["first_response_time"]) == 60


def test_abandoned_call() -> None:
    # the caller hangs up at 09:02 before any agent answer; an agent calls back at 09:30
    rows = [
        ("09:00", "case_created", "customer"),
        ("09:02", "call_abandoned", "customer"),
        ("09:30", "message", "agent"),
    ]
    assert row(rows, channel="phone")["abandoned"] is True
    answered = [
        ("09:00", "case_created", "customer"),
        ("09:01", "message", "agent"),
        ("09:02", "call_abandoned", "customer"),
    ]
    assert row(answered, channel="phone")["abandoned"] is False


def test_events_after_as_of_are_ignored() -> None:
    rows = [
        ("09:00", "case_created", "customer"),
        ("09:30", "message", "agent"),
        ("12:00", "status_changed", "agent", {"status": "solved"}),
    ]
    as_of = dt.datetime(2024, 3, 1, 11, tzinfo=dt.UTC)
    got = row(rows, csm.Policy(as_of=as_of))
    # the 12:00 solve happens after as_of: the case is open, new since 09:00 → 2 h waiting
    assert got["is_open"] is True
    assert got["first_resolved_at"] is None
    assert secs(got["requester_wait_time"]) == 7200
    assert got["n_events"] == 2


def test_closed_then_reopened_and_solved_is_one_reopen() -> None:
    # solved → closed is no reopen; closed → open is one; → solved again
    rows = [
        ("09:00", "case_created", "customer"),
        ("09:10", "status_changed", "agent", {"status": "solved"}),
        ("09:20", "status_changed", "system", {"status": "closed"}),
        ("10:00", "status_changed", "customer", {"status": "open"}),
        ("11:00", "status_changed", "agent", {"status": "solved"}),
    ]
    got = row(rows)
    assert got["n_reopens"] == 1
    assert secs(got["first_resolution_time"]) == 600  # 09:00 → 09:10
    assert secs(got["full_resolution_time"]) == 7200  # 09:00 → 11:00
    # new 09:00 → 09:10 (600) + open 10:00 → 11:00 (3600)
    assert secs(got["requester_wait_time"]) == 4200


def test_ties_follow_event_order_not_row_order() -> None:
    # a message and a solve at the same instant: message (type order) comes first, so the
    # case is solved with the reply, and nothing is pending after it
    rows = [
        ("09:00", "case_created", "customer"),
        ("09:30", "status_changed", "agent", {"status": "solved"}),
        ("09:30", "message", "agent"),
    ]
    got = row(rows)
    assert secs(got["first_response_time"]) == 1800
    assert got["one_touch"] is True


def test_attributes_first_and_last() -> None:
    rows = [
        ("09:00", "case_created", "customer", {"topic": "billing", "team": "t1"}),
        ("09:05", "assigned", "system", {"agent_id": "a1", "team": "t2"}),
        ("09:06", "priority_changed", "agent", {"priority": "high", "topic": "refund"}),
        ("09:30", "message", "agent", {"agent_id": "a2"}),
    ]
    got = row(rows)
    assert (got["topic"], got["team"], got["agent_id"], got["priority"]) == (
        "billing",
        "t2",
        "a2",
        "high",
    )
    assert got["n_assignments"] == 1


def test_explain_names_start_stop_and_skips() -> None:
    rows = [
        ("09:00", "case_created", "customer"),
        ("09:01", "message", "bot"),
        ("09:05", "message", "system"),
        ("09:30", "message", "agent"),
    ]
    out = csm.explain(csm.testing.log_from_rows(rows), 1)
    assert out["role"].to_list() == [
        "case_start, first_response_start",
        "skipped",
        "skipped",
        "first_response",
    ]
    assert "auto-reply" in out["note"][2]


def test_explain_unknown_case() -> None:
    log = csm.testing.log_from_rows(CUSTOMER_WRITES_LATER)
    with pytest.raises(csm.PolicyError, match="no events"):
        csm.explain(log, 42)


def test_string_ids_and_passthrough_columns() -> None:
    rows = [
        {
            "ts": "09:00",
            "event_type": "case_created",
            "actor": "customer",
            "case_id": "T-1",
            "customer_id": "c@example.com",
            "region": "emea",
        },
        {
            "ts": "09:30",
            "event_type": "message",
            "actor": "agent",
            "case_id": "T-1",
            "customer_id": "c@example.com",
            "region": None,
        },
    ]
    got = csm.case_table(csm.testing.log_from_rows(rows)).collect().row(0, named=True)
    assert (got["case_id"], got["region"]) == ("T-1", "emea")


def test_invalid_rows_raise_by_default_and_are_left_out_in_quarantine() -> None:
    frame = pl.DataFrame(
        {
            "case_id": [1, 1, 1],
            "customer_id": [1, 1, 1],
            "channel": ["email"] * 3,
            "ts": ["2024-03-01T09:00:00Z", "2024-03-01T09:30:00Z", "2024-03-01T09:40:00Z"],
            "event_type": ["case_created", "message", "telepathy"],
            "actor": ["customer", "agent", "agent"],
        }
    )
    with pytest.raises(csm.SchemaError, match="unknown_event_type"):
        csm.case_table(frame).collect()
    table = csm.case_table(frame, on_invalid="quarantine").collect()
    assert table["n_events"].item() == 2
