"""Customer journeys: issues, switches, queue jumps, identity, cross-channel FCR (DESIGN §7)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from tests.strategies import event_logs, to_frame

import csmetrics as csm
from csmetrics.compute import journey_metrics
from csmetrics.exceptions import PolicyError, UnknownMetricError
from csmetrics.journeys import (
    ISSUE_COLUMNS,
    IdentityMap,
    channel_switch_matrix,
    journey_cases,
    journeys,
    parse_window,
)
from csmetrics.log import EventLog

D0 = dt.datetime(2024, 3, 4, tzinfo=dt.UTC)  # a Monday
AS_OF = D0 + dt.timedelta(days=30)


def at(day: float, hhmm: str = "09:00") -> dt.datetime:
    hours, minutes = (int(x) for x in hhmm.split(":"))
    return D0 + dt.timedelta(days=day, hours=hours, minutes=minutes)


def case(
    case_id: int | str,
    customer: int | str,
    channel: str,
    created: dt.datetime,
    *,
    solved: dt.datetime | None = None,
    reply: dt.datetime | None = None,
    topic: str | None = None,
    comp: float | None = None,
) -> list[dict[str, Any]]:
    """The events of one case: created by the customer, maybe a reply, a comp and a solve."""
    base = {"case_id": case_id, "customer_id": customer, "channel": channel}
    rows: list[dict[str, Any]] = [
        {**base, "ts": created, "event_type": "case_created", "actor": "customer", "topic": topic}
    ]
    if reply is not None:
        rows.append({**base, "ts": reply, "event_type": "message", "actor": "agent"})
    if comp is not None:
        rows.append(
            {
                **base,
                "ts": reply or created,
                "event_type": "comp_granted",
                "actor": "agent",
                "comp_amount": comp,
            }
        )
    if solved is not None:
        rows.append(
            {
                **base,
                "ts": solved,
                "event_type": "status_changed",
                "actor": "agent",
                "status": "solved",
            }
        )
    return rows


def make_log(*cases: list[dict[str, Any]]) -> EventLog:
    rows = [row for c in cases for row in c]
    return csm.testing.log_from_rows(rows)


POLICY = csm.Policy(as_of=AS_OF)


def issues_of(log: EventLog, **kwargs: Any) -> pl.DataFrame:
    kwargs.setdefault("policy", POLICY)
    return journeys(log, **kwargs).collect()


def cases_of(log: EventLog, **kwargs: Any) -> pl.DataFrame:
    kwargs.setdefault("policy", POLICY)
    return journey_cases(log, **kwargs).collect()


# --------------------------------------------------------------------------------------------
# The linking rule, by hand


def test_switch_while_unresolved_is_a_queue_jump() -> None:
    # email 09:00 day 0, solved day 1 10:00; the customer tweets day 0 12:00, while the
    # email is unresolved: one issue, one switch email → twitter, one queue jump.
    log = make_log(
        case(1, 1, "email", at(0), solved=at(1, "10:00"), reply=at(1, "09:00")),
        case(2, 1, "twitter", at(0, "12:00"), solved=at(0, "13:00"), reply=at(0, "12:30")),
    )
    (issue,) = issues_of(log).iter_rows(named=True)
    assert issue["issue_id"] == 1
    assert issue["cases"] == [1, 2]
    assert issue["channels"] == ["email", "twitter"]
    assert (issue["n_contacts"], issue["n_switches"], issue["n_queue_jumps"]) == (2, 1, 1)
    assert issue["switched_to_public"] is True
    # first response on any case: the tweet's reply at 12:30, 3.5 h after the first contact
    assert issue["first_response_at"] == at(0, "12:30")
    assert issue["first_response_time"] == dt.timedelta(hours=3, minutes=30)
    # resolved when its last case is: the email, day 1 10:00 = 25 h after 09:00 day 0
    assert issue["resolved_at"] == at(1, "10:00")
    assert issue["resolution_time"] == dt.timedelta(hours=25)
    assert issue["is_open"] is False
    assert issue["last_contact_at"] == at(0, "12:00")


def test_switch_after_resolution_inside_the_window_is_not_a_queue_jump() -> None:
    # email solved day 0 10:00; tweet day 3 (inside 7 days): the same issue, a switch to a
    # public channel, but the email was resolved: no queue jump.
    log = make_log(
        case(1, 1, "email", at(0), solved=at(0, "10:00")),
        case(2, 1, "twitter", at(3), solved=at(3, "10:00")),
    )
    rows = (
        cases_of(log)
        .select(
            "case_id",
            "issue_id",
            "is_channel_switch",
            "is_public_switch",
            "is_queue_jump",
            "switched_to_public",
            "previous_channel",
        )
        .rows()
    )
    assert rows == [
        (1, 1, False, False, False, False, None),
        (2, 1, True, True, False, True, "email"),
    ]


def test_switch_after_resolution_outside_the_window_starts_a_new_issue() -> None:
    # email solved day 0 10:00; window 7 d ends day 7 10:00. A call at day 7 10:00 is inside
    # (the bound is inclusive), a call at day 7 10:01 is not.
    inside = make_log(
        case(1, 1, "email", at(0), solved=at(0, "10:00")), case(2, 1, "phone", at(7, "10:00"))
    )
    outside = make_log(
        case(1, 1, "email", at(0), solved=at(0, "10:00")), case(2, 1, "phone", at(7, "10:01"))
    )
    assert issues_of(inside)["issue_id"].to_list() == [1]
    out = issues_of(outside)
    assert out["issue_id"].to_list() == [1, 2]
    assert out["issue_number"].to_list() == [1, 2]
    assert out["n_switches"].to_list() == [0, 0]
    # a one-day window splits the first log too
    assert issues_of(inside, window="1d")["issue_id"].to_list() == [1, 2]
    assert issues_of(inside, window=dt.timedelta(days=7))["issue_id"].to_list() == [1]


def test_same_channel_repeat_is_a_repeat_contact_not_a_switch() -> None:
    log = make_log(
        case(1, 1, "email", at(0), solved=at(0, "10:00")),
        case(2, 1, "email", at(1), solved=at(1, "10:00")),
    )
    (issue,) = issues_of(log).iter_rows(named=True)
    assert (issue["n_contacts"], issue["n_switches"], issue["n_channels"]) == (2, 0, 1)
    out = journey_metrics(
        log, ["repeat_contact_rate", "channel_switch_rate"], policy=POLICY
    ).collect()
    assert out.select("metric", "value").rows() == [
        ("channel_switch_rate", 0.0),
        ("repeat_contact_rate", 1.0),
    ]
    matrix = channel_switch_matrix(log, policy=POLICY).collect()
    assert matrix.select("from_channel", "to_channel", "count", "rate", "is_switch").rows() == [
        ("email", "email", 1, 1.0, False)
    ]


def test_an_unresolved_earlier_case_keeps_the_issue_open_for_later_cases() -> None:
    # case 1 (email) never resolved; case 2 (chat) day 1, solved day 1; case 3 (phone) day 20:
    # 19 days after case 2's resolution, but case 1 is still open, so all three are one issue.
    # The running maximum of reach is over every earlier case, not just the previous one.
    log = make_log(
        case(1, 1, "email", at(0)),
        case(2, 1, "chat", at(1), solved=at(1, "10:00")),
        case(3, 1, "phone", at(20)),
    )
    (issue,) = issues_of(log).iter_rows(named=True)
    assert issue["cases"] == [1, 2, 3]
    assert issue["n_switches"] == 2
    assert issue["is_open"] is True
    assert issue["resolved_at"] is None
    # chat → phone: the previous case (chat) was resolved, so no queue jump even though the
    # email was still open; phone is not public either.
    assert issue["n_queue_jumps"] == 0


def test_queue_jump_needs_private_to_public() -> None:
    # twitter → facebook while open: public → public, no jump; chat → email while open:
    # private → private, no jump; a reopened case still open at as_of is unresolved.
    log = make_log(
        case(1, 1, "twitter", at(0)),
        case(2, 1, "facebook", at(0, "10:00")),
        case(3, 2, "chat", at(0)),
        case(4, 2, "email", at(0, "10:00")),
        [
            {
                "case_id": 5,
                "customer_id": 3,
                "channel": "phone",
                "ts": at(0),
                "event_type": "case_created",
                "actor": "customer",
            },
            {
                "case_id": 5,
                "customer_id": 3,
                "channel": "phone",
                "ts": at(0, "09:10"),
                "event_type": "status_changed",
                "actor": "agent",
                "status": "solved",
            },
            {
                "case_id": 5,
                "customer_id": 3,
                "channel": "phone",
                "ts": at(0, "11:00"),
                "event_type": "status_changed",
                "actor": "customer",
                "status": "open",
            },
        ],
        case(6, 3, "instagram", at(0, "12:00")),
    )
    out = cases_of(log).select("case_id", "is_channel_switch", "is_queue_jump").sort("case_id")
    assert out.rows() == [
        (1, False, False),
        (2, True, False),
        (3, False, False),
        (4, True, False),
        (5, False, False),
        (6, True, True),  # phone reopened at 11:00 and open at as_of: unresolved at 12:00
    ]


def test_identity_map_joins_two_handles() -> None:
    # the same person: "@ann" on Twitter, "ann@example.com" by email. Without the map, two
    # customers and two one-case issues; with it, one issue with a queue jump.
    log = make_log(
        case("c1", "ann@example.com", "email", at(0), solved=at(2)),
        case("c2", "@ann", "twitter", at(1), solved=at(1, "12:00")),
        case("c3", "bob@example.com", "email", at(1)),
    )
    assert issues_of(log).height == 3
    ids = IdentityMap.from_frame(
        pl.DataFrame(
            {
                "channel": ["twitter", "EMAIL ", None],
                "handle": ["@ann", "ann@example.com", "ann@example.com"],
                "person": ["P1", "P1", "P1"],
            }
        ),
        customer="person",
    )
    out = issues_of(log, identity=ids)
    assert out.select("customer_id", "cases", "n_queue_jumps").rows() == [
        ("P1", ["c1", "c2"], 1),
        ("bob@example.com", ["c3"], 0),
    ]
    # applied to the events (what scan_events does with it), the result is the same
    assert_frame_equal(issues_of(ids.apply(log)), out)


def test_identity_map_wildcard_channel_and_integer_ids() -> None:
    # a null channel matches the handle everywhere; a channel-specific row wins over it.
    ids = IdentityMap.from_frame(
        {"channel": [None, "sms"], "handle": ["5551234", "5551234"], "customer_id": [7, 8]}
    )
    frame = pl.LazyFrame(
        {"channel": ["phone", "sms", "email"], "customer_id": [5551234, 5551234, 5551234]}
    )
    assert ids.apply_to(frame).collect()["customer_id"].to_list() == [7, 8, 7]
    assert ids.apply_to(frame).collect_schema()["customer_id"] == pl.Int64
    assert len(ids) == 2


def test_identity_map_rejects_bad_maps() -> None:
    with pytest.raises(PolicyError, match="more than one customer"):
        IdentityMap.from_frame(
            {"channel": ["email", "email"], "handle": ["a", "a"], "customer_id": [1, 2]}
        )
    with pytest.raises(PolicyError, match="not found"):
        IdentityMap.from_frame({"chan": ["email"], "handle": ["a"], "customer_id": [1]})
    with pytest.raises(PolicyError, match="null"):
        IdentityMap.from_frame({"channel": ["email"], "handle": [None], "customer_id": [1]})
    with pytest.raises(PolicyError, match="must be a Polars"):
        IdentityMap.from_frame([("email", "a", 1)])
    # exact duplicates are harmless
    ok = IdentityMap.from_frame(
        {"channel": ["email", "email"], "handle": ["a", "a"], "customer_id": [1, 1]}
    )
    assert len(ok) == 1


def test_topic_restricted_journeys() -> None:
    # billing by email (open), then a chat about login while the email is open: one issue
    # with a switch; with same_topic, two issues and no switch.
    log = make_log(
        case(1, 1, "email", at(0), topic="billing"),
        case(2, 1, "chat", at(0, "10:00"), topic="login", solved=at(0, "10:30")),
        case(3, 1, "phone", at(2), topic="billing"),
    )
    assert issues_of(log).select("cases", "n_switches").rows() == [([1, 2, 3], 2)]
    by_topic = issues_of(log, same_topic=True)
    assert by_topic.select("issue_id", "topic", "cases", "n_switches").rows() == [
        (1, "billing", [1, 3], 1),
        (2, "login", [2], 0),
    ]
    # FCR looks at the same topic only: the login chat (solved 10:30) has no later login case
    cases = cases_of(log, same_topic=True, fcr_window="1d").sort("case_id")
    assert cases["resolved_first_contact"].to_list() == [None, True, None]
    # without the topic rule, the billing call on day 2 is more than a day after 10:30
    assert cases_of(log, fcr_window="1d").sort("case_id")["resolved_first_contact"].to_list() == [
        None,
        True,
        None,
    ]
    # ... but inside a 3-day window it is a new contact
    assert cases_of(log, fcr_window="3d").sort("case_id")["resolved_first_contact"].to_list() == [
        None,
        False,
        None,
    ]


def test_cross_channel_fcr_censors_at_as_of() -> None:
    # as_of = day 20.
    # customer 1: email solved day 0 10:00, then a call day 2 (inside 7 d): not FCR;
    #             the call, solved day 2 09:30, window ends day 9 09:30 ≤ day 20: FCR.
    # customer 2: chat solved day 15 10:00: window ends day 22 10:00 > as_of: censored.
    # customer 3: email never solved: not in the population.
    # customer 4: email solved day 1 12:00, but the customer tweeted day 1 10:00 while it
    #             was open: a new contact, so not FCR; the tweet (solved day 1 11:00) is FCR.
    # population: cases 1, 2, 5, 6 (4 cases); resolved at first contact: 2 and 6 → 2 / 4.
    log = make_log(
        case(1, 1, "email", at(0), solved=at(0, "10:00")),
        case(2, 1, "phone", at(2), solved=at(2, "09:30")),
        case(3, 2, "chat", at(15), solved=at(15, "10:00")),
        case(4, 3, "email", at(1)),
        case(5, 4, "email", at(1), solved=at(1, "12:00")),
        case(6, 4, "twitter", at(1, "10:00"), solved=at(1, "11:00")),
    )
    policy = csm.Policy(as_of=at(20))
    cases = journey_cases(log, policy=policy).collect().sort("case_id")
    assert cases["is_fcr_censored"].to_list() == [False, False, True, False, False, False]
    assert cases["resolved_first_contact"].to_list() == [False, True, None, None, False, True]
    assert cases["next_contact_at"].to_list() == [at(2), None, None, None, at(1, "10:00"), None]
    (row,) = (
        journey_metrics(log, "cross_channel_fcr", policy=policy).collect().iter_rows(named=True)
    )
    assert (row["n"], row["n_open"], row["numerator"], row["value"]) == (4, 1, 2.0, 0.5)


def test_sla_results_mark_issues_that_breached() -> None:
    log = make_log(
        case(1, 1, "email", at(0), solved=at(0, "10:00")),
        case(2, 1, "twitter", at(1)),
        case(3, 2, "chat", at(0)),
    )
    sla = pl.DataFrame({"case_id": [1, 2, 3], "breached": [False, True, False]})
    out = issues_of(log, sla=sla)
    assert out.select("issue_id", "sla_breached").rows() == [(1, True), (3, False)]
    assert "sla_breached" not in issues_of(log).columns
    with pytest.raises(PolicyError, match="sla_breached"):
        issues_of(log, sla=pl.DataFrame({"case_id": [1]}))


def test_sla_table_output_is_accepted() -> None:
    # resolution within 1 h: case 1 solved after 1 h 30 → breached; case 2 (tweet, day 1,
    # never solved) runs until as_of → breached; case 3 solved in 10 min → achieved.
    sla_module = pytest.importorskip("csmetrics.sla")
    log = make_log(
        case(1, 1, "email", at(0), solved=at(0, "10:30")),
        case(2, 1, "twitter", at(1)),
        case(3, 2, "chat", at(0), solved=at(0, "09:10")),
    )
    rules = sla_module.SlaPolicy([sla_module.SlaRule("all", targets={"resolution": "1h"})])
    table = sla_module.sla_table(log, rules, policy=POLICY)
    out = issues_of(log, sla=table)
    assert out.select("issue_id", "sla_breached").rows() == [(1, True), (3, False)]


def test_an_empty_log_gives_empty_frames() -> None:
    log = EventLog.trusted(csm.datasets.simulate_frame(0))
    assert journeys(log).collect().height == 0
    assert journey_cases(log).collect().height == 0
    assert channel_switch_matrix(log).collect().height == 0
    out = journey_metrics(log).collect()
    assert out.filter(pl.col("metric") == "queue_jump_rate")["n"].to_list() == [0]


def test_issue_columns_and_types() -> None:
    log = make_log(case(1, 1, "email", at(0), comp=5.0, solved=at(0, "10:00")))
    out = issues_of(log)
    assert tuple(out.columns) == ISSUE_COLUMNS
    assert out.schema["cases"] == pl.List(pl.Int64)
    assert out.schema["first_response_time"] == pl.Duration("us")
    row = out.row(0, named=True)
    assert (row["comp_count"], row["comp_total"], row["n_customer_messages"]) == (1, 5.0, 0)


# --------------------------------------------------------------------------------------------
# Metrics


def _scenario() -> EventLog:
    # customer 1: email (open) → twitter while open (queue jump, comp 10 on twitter) → issue A
    # customer 2: phone solved → phone again 2 days later (same-channel repeat) → issue B
    # customer 3: chat solved, nothing else → issue C
    # customer 4: web_form solved day 0, email day 9 (new issue, outside 7 d) → issues D, E
    return make_log(
        case(1, 1, "email", at(0)),
        case(
            2, 1, "twitter", at(0, "12:00"), reply=at(0, "12:10"), comp=10.0, solved=at(0, "13:00")
        ),
        case(3, 2, "phone", at(1), solved=at(1, "09:10"), reply=at(1, "09:05")),
        case(4, 2, "phone", at(3), solved=at(3, "09:20"), reply=at(3, "09:01")),
        case(5, 3, "chat", at(2), solved=at(2, "09:30"), reply=at(2, "09:02")),
        case(6, 4, "web_form", at(0), solved=at(0, "12:00")),
        case(7, 4, "email", at(9), solved=at(9, "10:00")),
    )


def test_issue_level_metrics_by_hand() -> None:
    out = journey_metrics(_scenario(), policy=POLICY).collect()
    values = {r["metric"]: r for r in out.iter_rows(named=True)}
    assert set(values) == {
        m.name for m in csm.metrics.builtins() if m.level == "issue" and not m.keys
    }
    # 5 issues (A..E); one open (A: the email was never solved)
    assert values["channel_switch_rate"]["n"] == 5
    assert values["channel_switch_rate"]["n_open"] == 1
    assert values["channel_switch_rate"]["value"] == pytest.approx(1 / 5)  # A only
    assert values["queue_jump_rate"]["value"] == pytest.approx(1 / 5)  # A
    assert values["repeat_contact_rate"]["value"] == pytest.approx(2 / 5)  # A, B
    assert values["comp_rate_per_issue"]["value"] == pytest.approx(1 / 5)  # A
    # contacts: 2 + 2 + 1 + 1 + 1 = 7 over 5 issues; value is the total, mean per issue
    assert values["contacts_per_issue"]["value"] == 7.0
    assert values["contacts_per_issue"]["mean"] == pytest.approx(1.4)
    # issue first response: A 3h10 (09:00 → 12:10), B 5 min, C 2 min, D and E none; D and
    # E were resolved without a reply, so nobody waits: not open (DESIGN §3, one open rule)
    frt = values["issue_first_response_time"]
    assert (frt["n"], frt["n_open"]) == (5, 0)
    assert frt["value"] == 300.0  # median of 120, 300, 11400
    # issue resolution: A open; B 09:00 day 1 → 09:20 day 3 = 2 d 20 min; C 30 min;
    # D 3 h; E 1 h. Median of (1800, 3600, 10800, 174000) = (3600 + 10800) / 2
    res = values["issue_resolution_time"]
    assert (res["n"], res["n_open"], res["value"]) == (5, 1, 7200.0)
    # FCR (7 d, as_of day 30): resolved cases 2, 3, 4, 5, 6, 7 (all windows closed by day 30)
    # 2: no later case of customer 1 → FCR. 3: case 4 two days later → not. 4: FCR.
    # 5: FCR. 6: case 7 is 9 days later, after 7 d → FCR. 7: FCR. → 5 / 6
    fcr = values["cross_channel_fcr"]
    assert (fcr["n"], fcr["n_open"], fcr["numerator"]) == (6, 0, 5.0)


def test_keyed_metrics_add_their_columns() -> None:
    out = journey_metrics(
        _scenario(),
        ["channel_switch_matrix", "comp_rate_by_channel", "queue_jump_rate"],
        policy=POLICY,
    ).collect()
    assert out.columns[:4] == ["from_channel", "to_channel", "channel", "switched_to_public"]
    matrix = out.filter(pl.col("metric") == "channel_switch_matrix")
    # transitions: email → twitter (A), phone → phone (B)
    assert matrix.select("from_channel", "to_channel", "n", "numerator", "value").rows() == [
        ("email", "twitter", 1, 1.0, 1.0),
        ("phone", "phone", 1, 1.0, 1.0),
    ]
    comp = out.filter(pl.col("metric") == "comp_rate_by_channel")
    # twitter reached by a switch from email: 1 case, comped → 1.0; every other case 0
    twitter = comp.filter(pl.col("channel") == "twitter").row(0, named=True)
    assert (twitter["switched_to_public"], twitter["n"], twitter["value"]) == (True, 1, 1.0)
    # email (cases 1, 7), phone (3, 4), chat (5), web_form (6): no comps
    assert comp.filter(pl.col("channel") != "twitter")["value"].to_list() == [0.0] * 4
    qjr = out.filter(pl.col("metric") == "queue_jump_rate")
    assert qjr["from_channel"].to_list() == [None]


def test_journey_metrics_by_and_period() -> None:
    out = journey_metrics(
        _scenario(),
        ["repeat_contact_rate", "cross_channel_fcr"],
        by="topic",
        period="week",
        policy=POLICY,
    ).collect()
    # no topics: one null group; day 0 and day 3 are in week 1, day 9 in week 2
    weeks = out.filter(pl.col("metric") == "repeat_contact_rate")
    assert weeks["period_start"].dt.date().to_list() == [dt.date(2024, 3, 4), dt.date(2024, 3, 11)]
    # week 1: issues A, B, C, D: 2 repeats; week 2: E alone
    assert weeks["value"].to_list() == [0.5, 0.0]
    # a case attribute groups issues by their first case's value (DESIGN §7); a name that is
    # neither a case nor a journey column says which metric cannot use it
    by_team = journey_metrics(_scenario(), "queue_jump_rate", by="team", policy=POLICY)
    assert by_team.collect()["n"].sum() == 5
    with pytest.raises(PolicyError, match="'queue_jump_rate'"):
        journey_metrics(_scenario(), "queue_jump_rate", by="teem", policy=POLICY)
    # by a case column for a case-frame metric
    by_channel = journey_metrics(
        _scenario(), "cross_channel_fcr", by="channel", policy=POLICY
    ).collect()
    assert by_channel.filter(pl.col("channel") == "phone")["value"].to_list() == [0.5]


def test_journey_metrics_errors() -> None:
    log = _scenario()
    with pytest.raises(PolicyError, match=r"use csm\.compute"):
        journey_metrics(log, "first_response_time")
    with pytest.raises(UnknownMetricError):
        journey_metrics(log, "queue_jump_ratio")
    with pytest.raises(PolicyError, match="period 'fortnight'"):
        journey_metrics(log, "queue_jump_rate", period="fortnight")  # type: ignore[arg-type]
    with pytest.raises(PolicyError, match="'window'"):
        journey_metrics(log, "queue_jump_rate", window="7 days")
    with pytest.raises(PolicyError, match="at least one"):
        journey_metrics(log, [])


def test_parse_window() -> None:
    assert parse_window("7d") == dt.timedelta(days=7)
    assert parse_window("1w 2h") == dt.timedelta(days=7, hours=2)
    assert parse_window("90m") == dt.timedelta(minutes=90)
    assert parse_window("0s") == dt.timedelta(0)
    with pytest.raises(PolicyError, match="negative"):
        parse_window(dt.timedelta(days=-1))
    with pytest.raises(PolicyError, match="units"):
        parse_window("7")


def test_switch_matrix_by_group() -> None:
    out = channel_switch_matrix(_scenario(), by="issue_first_channel", policy=POLICY).collect()
    assert out.select(
        "issue_first_channel", "from_channel", "to_channel", "share_of_switches"
    ).rows() == [
        ("email", "email", "twitter", 1.0),
        ("phone", "phone", "phone", None),
    ]
    with pytest.raises(PolicyError, match="not in the journey case table"):
        channel_switch_matrix(_scenario(), by="nope")


# --------------------------------------------------------------------------------------------
# The simulator's ground truth


def _check_truth(n_cases: int, seed: int) -> None:
    frame = csm.datasets.simulate_frame(n_cases, seed=seed, truth=True)
    cases = journey_cases(
        EventLog.trusted(frame), columns=["sim_issue_id", "sim_switched"]
    ).collect()
    assert cases.height == n_cases
    # the same partition of cases: each found issue is exactly one simulated issue
    pairs = cases.select("issue_id", "sim_issue_id").unique()
    assert pairs.height == cases["issue_id"].n_unique() == cases["sim_issue_id"].n_unique()
    # and the same switches
    assert (cases["is_channel_switch"] == cases["sim_switched"]).all()
    assert cases["is_channel_switch"].sum() > n_cases // 50


def test_simulator_truth_is_recovered() -> None:
    _check_truth(20_000, seed=3)


@pytest.mark.slow
def test_simulator_truth_is_recovered_on_100k_cases() -> None:
    start = time.perf_counter()
    _check_truth(100_000, seed=11)
    assert time.perf_counter() - start < 120


# --------------------------------------------------------------------------------------------
# Properties


@st.composite
def _spread_logs(draw: st.DrawFn) -> pl.DataFrame:
    """A hypothesis log whose cases are moved by whole days, so windows matter."""
    events = draw(event_logs(max_cases=8))
    shift = {
        c: dt.timedelta(days=draw(st.integers(0, 12)))
        for c in sorted({e["case_id"] for e in events}, key=str)
    }
    for event in events:
        event["ts"] = event["ts"] + shift[event["case_id"]]
    return to_frame(events)


def _sorted_issues(frame: pl.DataFrame, **kwargs: Any) -> pl.DataFrame:
    return journeys(EventLog.trusted(frame), **kwargs).collect().sort("issue_id")


@settings(deadline=None)
@given(
    frame=_spread_logs(),
    window=st.sampled_from(("0s", "30m", "2d", "7d")),
    same_topic=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_journeys_ignore_row_order(
    frame: pl.DataFrame, window: str, same_topic: bool, seed: int
) -> None:
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=seed)
    assert_frame_equal(
        _sorted_issues(frame, window=window, same_topic=same_topic),
        _sorted_issues(shuffled, window=window, same_topic=same_topic),
    )


@settings(deadline=None)
@given(frame=_spread_logs(), window=st.sampled_from(("0s", "2d", "7d")), same_topic=st.booleans())
def test_journeys_of_a_split_log_are_the_journeys_of_the_whole(
    frame: pl.DataFrame, window: str, same_topic: bool
) -> None:
    policy = csm.Policy(as_of=frame["ts"].max())  # type: ignore[arg-type]
    whole = _sorted_issues(frame, window=window, same_topic=same_topic, policy=policy)
    customers = frame["customer_id"].unique().sort()
    half = customers.head(len(customers) // 2)
    parts = [
        _sorted_issues(part, window=window, same_topic=same_topic, policy=policy)
        for part in (
            frame.filter(pl.col("customer_id").is_in(half.implode())),
            frame.filter(~pl.col("customer_id").is_in(half.implode())),
        )
        if part.height
    ]
    assert_frame_equal(pl.concat(parts).sort("issue_id"), whole)


@settings(deadline=None, max_examples=25)
@given(frame=_spread_logs(), window=st.sampled_from(("0s", "2d", "7d")))
def test_journey_invariants(frame: pl.DataFrame, window: str) -> None:
    log = EventLog.trusted(frame)
    cases = journey_cases(log, window=window).collect()
    issues = journeys(log, window=window).collect()
    # every case is in exactly one issue, and the issue's cases are its customer's
    assert issues["n_contacts"].sum() == cases.height
    assert sorted(issues["cases"].explode().to_list(), key=str) == sorted(
        cases["case_id"].to_list(), key=str
    )
    assert (issues["n_switches"] <= issues["n_contacts"] - 1).all()
    assert (issues["n_queue_jumps"] <= issues["n_switches"]).all()
    rates = journey_metrics(log, window=window).collect().filter(pl.col("unit") == "ratio")
    assert rates["value"].drop_nulls().is_between(0, 1).all()


# --------------------------------------------------------------------------------------------
# Small worked examples, one per journey metric (at most five events each, as on the metric
# pages; ``as_of`` None = the latest event).

C, A = "customer", "agent"
DOC_EXAMPLES: dict[str, dict[str, Any]] = {
    "channel_switch_rate": {
        "title": "an email solved, then a call; another customer chats once",
        "rows": (
            ("09:00", "case_created", C, {"case_id": 1, "channel": "email"}),
            ("10:00", "status_changed", A, {"case_id": 1, "status": "solved"}),
            ("11:00", "case_created", C, {"case_id": 2, "channel": "phone"}),
            ("09:30", "case_created", C, {"case_id": 3, "customer_id": 2, "channel": "chat"}),
        ),
        "expected": ({"n": 2, "n_open": 2, "numerator": 1.0, "value": 0.5},),
        "why": "The call came an hour after the email was solved, inside the 7-day window: "
        "one issue, email → phone, a switch. Customer 2's chat is an issue of its own without "
        "one: 1 / 2 = 0.5. Both issues have an open case at as_of (n_open = 2).",
    },
    "queue_jump_rate": {
        "title": "two customers tweet after an email: one while it is open",
        "rows": (
            ("09:00", "case_created", C, {"case_id": 1, "channel": "email"}),
            ("10:00", "case_created", C, {"case_id": 2, "channel": "twitter"}),
            ("09:00", "case_created", C, {"case_id": 3, "customer_id": 2, "channel": "email"}),
            ("09:30", "status_changed", A, {"case_id": 3, "customer_id": 2, "status": "solved"}),
            ("11:00", "case_created", C, {"case_id": 4, "customer_id": 2, "channel": "twitter"}),
        ),
        "expected": ({"n": 2, "numerator": 1.0, "value": 0.5},),
        "why": "Customer 1 tweeted while the email was unresolved: a queue jump. Customer 2 "
        "tweeted after the email was solved: a switch to a public channel, not a jump. "
        "1 / 2 = 0.5.",
    },
    "repeat_contact_rate": {
        "title": "two emails from one customer, one chat from another",
        "rows": (
            ("09:00", "case_created", C, {"case_id": 1}),
            ("10:00", "status_changed", A, {"case_id": 1, "status": "solved"}),
            ("12:00", "case_created", C, {"case_id": 2}),
            ("09:30", "case_created", C, {"case_id": 3, "customer_id": 2, "channel": "chat"}),
        ),
        "expected": ({"n": 2, "numerator": 1.0, "value": 0.5},),
        "why": "The second email came 2 hours after the first was solved: the same issue, "
        "two contacts. The chat is an issue with one contact. 1 / 2 = 0.5.",
    },
    "contacts_per_issue": {
        "title": "two emails from one customer, one chat from another",
        "rows": (
            ("09:00", "case_created", C, {"case_id": 1}),
            ("10:00", "status_changed", A, {"case_id": 1, "status": "solved"}),
            ("12:00", "case_created", C, {"case_id": 2}),
            ("09:30", "case_created", C, {"case_id": 3, "customer_id": 2, "channel": "chat"}),
        ),
        "expected": ({"n": 2, "value": 3.0, "mean": 1.5},),
        "why": "Two issues, with 2 and 1 contacts: the total (value) is 3, the mean per "
        "issue (2 + 1) / 2 = 1.5.",
    },
    "comp_rate_per_issue": {
        "title": "a comp on the tweet of a two-case issue",
        "rows": (
            ("09:00", "case_created", C, {"case_id": 1, "channel": "email"}),
            ("10:00", "case_created", C, {"case_id": 2, "channel": "twitter"}),
            ("10:20", "comp_granted", A, {"case_id": 2, "channel": "twitter", "comp_amount": 20.0}),
            ("09:00", "case_created", C, {"case_id": 3, "customer_id": 2, "channel": "chat"}),
        ),
        "expected": ({"n": 2, "numerator": 1.0, "value": 0.5},),
        "why": "Customer 1's issue (email, then twitter) was comped once; customer 2's was "
        "not: 1 / 2 = 0.5.",
    },
    "issue_first_response_time": {
        "title": "an unanswered email, then a tweet answered in 15 minutes",
        "rows": (
            ("09:00", "case_created", C, {"case_id": 1, "channel": "email"}),
            ("10:00", "case_created", C, {"case_id": 2, "channel": "twitter"}),
            ("10:15", "message", A, {"case_id": 2, "channel": "twitter"}),
        ),
        "expected": ({"n": 1, "n_open": 0, "value": 4500.0},),
        "why": "One issue; its first contact is the email at 09:00 and the first reply on "
        "any of its cases is on the tweet at 10:15: 1 h 15 min = 4500 s (the tweet alone "
        "would say 15 minutes).",
    },
    "issue_resolution_time": {
        "title": "an email and a call, the email solved last",
        "rows": (
            ("09:00", "case_created", C, {"case_id": 1, "channel": "email"}),
            ("10:00", "case_created", C, {"case_id": 2, "channel": "phone"}),
            ("10:30", "status_changed", A, {"case_id": 2, "channel": "phone", "status": "solved"}),
            ("12:00", "status_changed", A, {"case_id": 1, "channel": "email", "status": "solved"}),
        ),
        "expected": ({"n": 1, "n_open": 0, "value": 10800.0},),
        "why": "The issue is resolved when its last case is: 09:00 → 12:00 = 3 h = 10800 s.",
    },
    "cross_channel_fcr": {
        "title": "an email solved, then a call an hour later",
        "as_of": "2024-03-09T00:00:00Z",
        "rows": (
            ("09:00", "case_created", C, {"case_id": 1, "channel": "email"}),
            ("10:00", "status_changed", A, {"case_id": 1, "channel": "email", "status": "solved"}),
            ("11:00", "case_created", C, {"case_id": 2, "channel": "phone"}),
            ("11:30", "status_changed", A, {"case_id": 2, "channel": "phone", "status": "solved"}),
        ),
        "expected": ({"n": 2, "n_open": 0, "numerator": 1.0, "value": 0.5},),
        "why": "Both cases are resolved and their 7-day windows closed by as_of (9 March). "
        "The customer called an hour after the email was solved, so the email was not "
        "resolved at first contact; nothing came after the call. 1 / 2 = 0.5.",
    },
    "comp_rate_by_channel": {
        "title": "a comp on a tweet sent after an email",
        "rows": (
            ("09:00", "case_created", C, {"case_id": 1, "channel": "email"}),
            ("10:00", "case_created", C, {"case_id": 2, "channel": "twitter"}),
            ("10:20", "comp_granted", A, {"case_id": 2, "channel": "twitter", "comp_amount": 20.0}),
        ),
        "expected": (
            {"n": 1, "numerator": 0.0, "value": 0.0},
            {"n": 1, "numerator": 1.0, "value": 1.0},
        ),
        "why": "Rows: email (switched_to_public false), twitter (true, reached by a switch "
        "from email). The tweet was comped: 1 / 1; the email was not: 0 / 1.",
    },
    "channel_switch_matrix": {
        "title": "an email, then two tweets",
        "rows": (
            ("09:00", "case_created", C, {"case_id": 1, "channel": "email"}),
            ("10:00", "case_created", C, {"case_id": 2, "channel": "twitter"}),
            ("11:00", "case_created", C, {"case_id": 3, "channel": "twitter"}),
        ),
        "expected": (
            {"n": 1, "numerator": 1.0, "value": 1.0},
            {"n": 1, "numerator": 1.0, "value": 1.0},
        ),
        "why": "Rows: email → twitter, twitter → twitter. One move out of email, to twitter "
        "(1 / 1); one out of twitter, a same-channel repeat (1 / 1).",
    },
}

EDGE_CASES: dict[str, dict[str, str]] = {
    name: {
        "No reply": "No effect on the linking: an unanswered case is unresolved, so every "
        "later case of the customer joins its issue. Issue response times count it as "
        "open.",
        "Reopened case": "A case's resolution is its last solve or close; a case reopened "
        "and still open at as_of is unresolved, so later cases join its issue and a switch "
        "to a public channel meanwhile is a queue jump.",
        "Bot hand-off": "No effect: bots neither create issues nor resolve them; the case's "
        "creation and resolution are what count.",
        "Agent-created case": "Included: an outbound case is a case of its customer and "
        "can start or extend an issue.",
    }
    for name in DOC_EXAMPLES
}


@pytest.mark.parametrize("name", sorted(DOC_EXAMPLES))
def test_doc_examples(name: str) -> None:
    example = DOC_EXAMPLES[name]
    assert len(example["rows"]) <= 5
    log = csm.testing.log_from_rows(list(example["rows"]))
    as_of = example.get("as_of")
    policy = csm.Policy(as_of=dt.datetime.fromisoformat(as_of) if as_of else None)
    out = journey_metrics(log, name, policy=policy).collect()
    assert out.height == len(example["expected"])
    for want, row in zip(example["expected"], out.iter_rows(named=True), strict=True):
        assert {k: row[k] for k in want} == pytest.approx(want), name
