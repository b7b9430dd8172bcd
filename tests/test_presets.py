"""Each published rule where the vendors differ (csmetrics.policy.PRESET_RULES), on a hand log.

Every test cites the rule and its source (../shared/reference/presets.md gathers them) and
works the expected figures out in comments. Times are on 1 March 2024, UTC.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import csmetrics as csm
from csmetrics.policy import PRESET_RULES, PRESETS

AS_OF = dt.datetime(2024, 3, 2, tzinfo=dt.UTC)


def _row(rows: list[Any], preset: str) -> dict[str, Any]:
    policy = csm.Policy.preset(preset, as_of=AS_OF)
    table = csm.case_table(csm.testing.log_from_rows(rows), policy=policy).collect()
    return table.row(0, named=True)


def _seconds(value: dt.timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def test_every_preset_states_its_rules_with_a_source() -> None:
    assert set(PRESET_RULES) == set(PRESETS)
    for rules in PRESET_RULES.values():
        for knob, rule, source in rules:
            assert hasattr(csm.Policy(), knob)
            assert rule
            assert source


def test_zendesk_agent_created_public_first_comment_ends_at_the_second() -> None:
    # Zendesk Z1: an agent-created ticket whose first comment is public ends at the second
    # public agent comment: 09:00 → 10:30 = 5400 s. csmetrics skips agent-created cases;
    # chatwoot counts the agent's own 09:00 opener (0 s).
    rows = [
        ("09:00", "case_created", "agent"),
        ("09:00", "message", "agent"),
        ("10:00", "message", "customer"),
        ("10:30", "message", "agent"),
    ]
    assert _seconds(_row(rows, "zendesk")["first_response_time"]) == 5400
    assert _row(rows, "csmetrics")["first_response_time"] is None
    assert _seconds(_row(rows, "chatwoot")["first_response_time"]) == 0


def test_zendesk_agent_created_private_first_comment_ends_at_the_first_public() -> None:
    # Zendesk Z1: the exception needs a public first comment; a note first → the first
    # public agent comment ends it: 09:00 → 09:40 = 2400 s
    rows = [
        ("09:00", "case_created", "agent"),
        ("09:00", "note", "agent"),
        ("09:40", "message", "agent"),
    ]
    assert _seconds(_row(rows, "zendesk")["first_response_time"]) == 2400


def test_zendesk_one_touch_counts_zero_replies() -> None:
    # Zendesk Z5: agent replies < 2 AND status in (Solved, Closed): solved with no reply is
    # one-touch in zendesk; csmetrics needs exactly one reply
    rows = [
        ("09:00", "case_created", "customer"),
        ("09:30", "status_changed", "agent", {"status": "solved"}),
    ]
    assert _row(rows, "zendesk")["one_touch"] is True
    assert _row(rows, "csmetrics")["one_touch"] is False


def test_zendesk_one_touch_survives_a_reopen_without_a_new_reply() -> None:
    # Zendesk Z5: a customer's "thank you" reopens, solved again with no new reply: still
    # one agent reply (< 2) and solved → one-touch; csmetrics: reopened → not one-touch
    rows = [
        ("09:00", "case_created", "customer"),
        ("09:10", "message", "agent"),
        ("09:20", "status_changed", "agent", {"status": "solved"}),
        ("10:00", "status_changed", "system", {"status": "open"}),
        ("10:05", "status_changed", "agent", {"status": "solved"}),
    ]
    assert _row(rows, "zendesk")["one_touch"] is True
    assert _row(rows, "csmetrics")["one_touch"] is False


def test_intercom_clock_starts_at_the_contacts_first_message() -> None:
    # Intercom I4/I5: measured after first_contact_reply_at: created 09:00, the contact writes
    # 09:10, the admin replies 09:30 → 1200 s (csmetrics, from creation: 1800 s)
    rows = [
        ("09:00", "case_created", "customer"),
        ("09:10", "message", "customer"),
        ("09:30", "message", "agent"),
        ("10:10", "status_changed", "agent", {"status": "closed"}),
    ]
    assert _seconds(_row(rows, "intercom")["first_response_time"]) == 1200
    assert _seconds(_row(rows, "csmetrics")["first_response_time"]) == 1800
    # time to close also after the first contact message: 09:10 → 10:10 = 3600 s
    assert _seconds(_row(rows, "intercom")["full_resolution_time"]) == 3600


def test_intercom_closed_on_first_contact_is_one_teammate_whatever_the_replies() -> None:
    # Intercom I1: closed once, with one participating teammate: teammate a1 replied twice
    # → closed on first contact; csmetrics (exactly one reply) → not one-touch
    rows = [
        ("09:00", "case_created", "customer"),
        ("09:05", "message", "agent", {"agent_id": "a1"}),
        ("09:15", "message", "customer"),
        ("09:20", "message", "agent", {"agent_id": "a1"}),
        ("09:30", "status_changed", "agent", {"status": "closed"}),
    ]
    assert _row(rows, "intercom")["one_touch"] is True
    assert _row(rows, "csmetrics")["one_touch"] is False
    # a second teammate participating → not closed on first contact
    second = [*rows[:3], ("09:20", "message", "agent", {"agent_id": "a2"}), rows[4]]
    assert _row(second, "intercom")["one_touch"] is False
    # closed twice (closed, reopened, closed) → not closed on first contact
    twice = [
        *rows,
        ("10:00", "status_changed", "system", {"status": "open"}),
        ("10:10", "status_changed", "agent", {"status": "closed"}),
    ]
    assert _row(twice, "intercom")["one_touch"] is False


def test_chatwoot_clock_restarts_at_the_latest_reopen_before_the_first_reply() -> None:
    # Chatwoot reporting_event_helper.rb: last_non_human_activity is the latest bot hand-off
    # or conversation_opened (reopen) before the first human reply: solved by a bot 09:05,
    # reopened 10:00, agent 10:20 → 1200 s; csmetrics from creation 09:00 → 4800 s
    rows = [
        ("09:00", "case_created", "customer"),
        ("09:01", "message", "bot"),
        ("09:05", "status_changed", "bot", {"status": "solved"}),
        ("10:00", "status_changed", "customer", {"status": "open"}),
        ("10:20", "message", "agent"),
    ]
    assert _seconds(_row(rows, "chatwoot")["first_response_time"]) == 1200
    assert _seconds(_row(rows, "csmetrics")["first_response_time"]) == 4800


def test_plain_excludes_threads_created_by_a_plain_user_and_starts_at_the_inbound() -> None:
    # Plain first-response-time: first inbound customer message → first human reply
    # (09:10 → 09:40 = 1800 s); threads created by a Plain user are excluded
    customer = [
        ("09:00", "case_created", "customer"),
        ("09:10", "message", "customer"),
        ("09:40", "message", "agent"),
    ]
    assert _seconds(_row(customer, "plain")["first_response_time"]) == 1800
    outbound = [
        ("09:00", "case_created", "agent"),
        ("09:00", "message", "agent"),
        ("09:10", "message", "customer"),
        ("09:40", "message", "agent"),
    ]
    assert _row(outbound, "plain")["first_response_time"] is None


@pytest.mark.parametrize("preset", PRESETS)
def test_presets_are_described_in_the_policy(preset: str) -> None:
    described = csm.Policy.preset(preset).describe()
    for knob, _rule, _source in PRESET_RULES[preset]:
        assert knob in described
