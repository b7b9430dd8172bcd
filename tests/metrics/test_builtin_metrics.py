"""Hand-worked tests for every built-in metric (expected values worked out in comments)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest

import csmetrics as csm

AS_OF = dt.datetime(2024, 3, 1, 18, 0, tzinfo=dt.UTC)
POLICY = csm.Policy(as_of=AS_OF)


def ev(case: int, time: str, event_type: str, actor: str, **extra: Any) -> dict[str, Any]:
    return {
        "case_id": case,
        "customer_id": extra.pop("customer_id", case),
        "channel": extra.pop("channel", "email"),
        "ts": f"2024-03-01T{time}:00Z",
        "event_type": event_type,
        "actor": actor,
        **extra,
    }


# Four cases on 2024-03-01 (as_of 18:00):
# 1 email: created 09:00, agent reply 09:30, customer 10:00, agent 10:20, solved 11:00,
#   csat 5, handle 300 s.   FRT 1800; next reply 1200; resolution 2 h.
# 2 chat: created 09:00, bot 09:01, agent 09:10, solved 09:20, reopened 10:00 (open),
#   agent 10:30, solved 11:00, comp 20.   FRT 600; first res 1200, full res 7200; reopened.
# 3 phone: created 12:00, call_abandoned 12:01 — never answered, open to as_of.
# 4 twitter (agent-created): created 13:00 by agent, agent message 13:00, escalated 13:05,
#   transferred 13:06, comp 10 + 5, customer 14:00, agent 15:00, solved 16:00, csat 2.
EVENTS = [
    ev(1, "09:00", "case_created", "customer"),
    ev(1, "09:00", "message", "customer"),
    ev(1, "09:30", "message", "agent", handle_seconds=120.0),
    ev(1, "10:00", "message", "customer"),
    ev(1, "10:20", "message", "agent", handle_seconds=180.0),
    ev(1, "11:00", "status_changed", "agent", status="solved"),
    ev(1, "11:05", "csat", "customer", csat_score=5.0),
    ev(2, "09:00", "case_created", "customer", channel="chat"),
    ev(2, "09:01", "message", "bot", channel="chat"),
    ev(2, "09:10", "message", "agent", channel="chat"),
    ev(2, "09:20", "status_changed", "agent", channel="chat", status="solved"),
    ev(2, "10:00", "status_changed", "customer", channel="chat", status="open"),
    ev(2, "10:30", "message", "agent", channel="chat"),
    ev(2, "10:40", "comp_granted", "agent", channel="chat", comp_amount=20.0),
    ev(2, "11:00", "status_changed", "agent", channel="chat", status="solved"),
    ev(3, "12:00", "case_created", "customer", channel="phone"),
    ev(3, "12:01", "call_abandoned", "customer", channel="phone"),
    ev(4, "13:00", "case_created", "agent", channel="twitter"),
    ev(4, "13:00", "message", "agent", channel="twitter"),
    ev(4, "13:05", "escalated", "agent", channel="twitter"),
    ev(4, "13:06", "transferred", "agent", channel="twitter", team="tier2"),
    ev(4, "13:10", "comp_granted", "agent", channel="twitter", comp_amount=10.0),
    ev(4, "13:20", "comp_granted", "agent", channel="twitter", comp_amount=5.0),
    ev(4, "14:00", "message", "customer", channel="twitter"),
    ev(4, "15:00", "message", "agent", channel="twitter"),
    ev(4, "16:00", "status_changed", "agent", channel="twitter", status="solved"),
    ev(4, "16:10", "csat", "customer", channel="twitter", csat_score=2.0),
]


@pytest.fixture(scope="module")
def results() -> dict[str, dict[str, Any]]:
    log = csm.EventLog.from_frame(pl.DataFrame(EVENTS))
    table = csm.compute(log, policy=POLICY).collect()
    return {row["metric"]: row for row in table.iter_rows(named=True)}


def test_every_builtin_is_computed(results: dict[str, dict[str, Any]]) -> None:
    expected = {m.name for m in csm.metrics.builtins() if m.level != "issue"}
    assert set(results) == expected


def test_first_response_time(results: dict[str, dict[str, Any]]) -> None:
    row = results["first_response_time"]
    # population: customer-created, not merged → cases 1, 2, 3 (4 is agent-created)
    # values: 1: 09:00 → 09:30 = 1800; 2: 09:00 → 09:10 = 600 (the 09:01 bot is no reply);
    # 3: no reply → open.  median of (600, 1800) = 1200; mean 1200
    assert (row["n"], row["n_open"]) == (3, 1)
    assert row["value"] == pytest.approx(1200.0)
    assert row["mean"] == pytest.approx(1200.0)
    # p90 by linear interpolation: 600 + 0.9 * (1800 - 600) = 1680
    assert row["p90"] == pytest.approx(1680.0)


def test_next_reply_time(results: dict[str, dict[str, Any]]) -> None:
    row = results["next_reply_time"]
    # pairs: case 1 customer 10:00 → agent 10:20 = 1200; case 4 customer 14:00 → 15:00 = 3600
    # case 2: reopened by a status change, no customer message → no pair
    assert row["n"] == 2
    assert row["value"] == pytest.approx((1200 + 3600) / 2)


def test_resolution_times(results: dict[str, dict[str, Any]]) -> None:
    first, full = results["first_resolution_time"], results["full_resolution_time"]
    # first: 1: 2 h = 7200; 2: 09:00 → 09:20 = 1200; 4: 13:00 → 16:00 = 10800; 3 open
    assert (first["n"], first["n_open"]) == (4, 1)
    assert first["value"] == pytest.approx(7200.0)  # median of 1200, 7200, 10800
    # full: 2 ends at the last solve 11:00 → 7200; others as first
    assert full["value"] == pytest.approx(7200.0)  # median of 7200, 7200, 10800
    assert full["mean"] == pytest.approx((7200 + 7200 + 10800) / 3)


def test_reopen_and_one_touch(results: dict[str, dict[str, Any]]) -> None:
    reopen = results["reopen_rate"]
    # solved at least once: 1, 2, 4; reopened: 2 → 1/3
    assert (reopen["numerator"], reopen["denominator"]) == (1, 3)
    one_touch = results["one_touch_resolution_rate"]
    # solved at as_of: 1 (2 replies), 2 (reopened), 4 (2 replies) → 0/3 one-touch
    assert (one_touch["numerator"], one_touch["denominator"]) == (0, 3)


def test_status_clocks(results: dict[str, dict[str, Any]]) -> None:
    wait = results["requester_wait_time"]
    # 1: new 09:00 → 11:00 = 7200; 2: new 09:00 → 09:20 = 1200 + open 10:00 → 11:00 = 3600
    #    → 4800; 3: new 12:00 → as_of 18:00 = 21600; 4: new 13:00 → 16:00 = 10800
    # median of (4800, 7200, 10800, 21600) = (7200 + 10800) / 2 = 9000
    assert wait["n_open"] == 0  # a status clock always has a value
    assert wait["value"] == pytest.approx(9000.0)
    assert results["agent_wait_time"]["mean"] == 0.0
    assert results["on_hold_time"]["mean"] == 0.0


def test_response_rates(results: dict[str, dict[str, Any]]) -> None:
    # first-response population 1, 2, 3; answered 1, 2
    assert (results["response_rate"]["numerator"], results["response_rate"]["denominator"]) == (
        2,
        3,
    )
    assert results["unanswered_rate"]["value"] == pytest.approx(1 / 3)


def test_routing_rates(results: dict[str, dict[str, Any]]) -> None:
    # 4 cases, case 4 escalated once and transferred once → 1/4 each
    assert results["escalation_rate"]["value"] == pytest.approx(0.25)
    assert results["transfer_rate"]["value"] == pytest.approx(0.25)


def test_comp(results: dict[str, dict[str, Any]]) -> None:
    # comped: 2 (20) and 4 (10 + 5 = 15) → rate 2/4; total 35, mean 17.5
    assert results["comp_rate"]["value"] == pytest.approx(0.5)
    comp = results["comp_value"]
    assert (comp["n"], comp["value"], comp["mean"]) == (2, 35.0, 17.5)


def test_csat(results: dict[str, dict[str, Any]]) -> None:
    row = results["csat"]
    # answers: 5 (case 1), 2 (case 4) → share >= 4 is 1/2; mean score 3.5
    assert (row["n"], row["value"], row["mean"]) == (2, 0.5, 3.5)


def test_handle_time_and_abandonment(results: dict[str, dict[str, Any]]) -> None:
    # handle: only case 1 records it: 120 + 180 = 300 s
    assert (results["handle_time"]["n"], results["handle_time"]["value"]) == (1, 300.0)
    # voice cases: case 3, abandoned before any agent answer → 1/1
    assert results["abandonment_rate"]["value"] == 1.0


def test_volume_and_backlog(results: dict[str, dict[str, Any]]) -> None:
    assert results["volume"]["value"] == 4.0
    # open at as_of: only case 3
    assert results["backlog"]["value"] == 1.0


def test_backlog_by_day() -> None:
    # case 1 opens day 1 and is solved day 3; case 2 opens day 2 and stays open
    # end of day 1: 1 open; day 2: 2 open; day 3: 1 open
    events = [
        ev(1, "09:00", "case_created", "customer"),
        {
            **ev(1, "09:00", "status_changed", "agent", status="solved"),
            "ts": "2024-03-03T09:00:00Z",
        },
        {**ev(2, "09:00", "case_created", "customer"), "ts": "2024-03-02T09:00:00Z"},
    ]
    out = csm.compute(pl.DataFrame(events), "backlog", period="day").collect()
    assert out["value"].to_list() == [1.0, 2.0, 1.0]


def test_period_cut_in_policy_timezone() -> None:
    # 23:30 UTC on 1 March is 00:30 on 2 March in Paris (UTC+1)
    events = [{**ev(1, "09:00", "case_created", "customer"), "ts": "2024-03-01T23:30:00Z"}]
    paris = csm.Policy(timezone="Europe/Paris")
    out = csm.compute(pl.DataFrame(events), "volume", period="day", policy=paris).collect()
    assert out["period_start"].item() == dt.datetime(
        2024, 3, 2, tzinfo=dt.timezone(dt.timedelta(hours=1))
    )


def test_fewer_metrics_fewer_rows() -> None:
    log = csm.EventLog.from_frame(pl.DataFrame(EVENTS))
    out = csm.compute(log, ["comp_rate"], by="channel").collect()
    # one row per channel for the one metric asked
    assert sorted(out["channel"].to_list()) == ["chat", "email", "phone", "twitter"]
    assert set(out["metric"]) == {"comp_rate"}


def test_unknown_metric_suggests_close_names() -> None:
    with pytest.raises(csm.UnknownMetricError, match="first_response_time"):
        csm.compute(pl.DataFrame(EVENTS), "first_reponse_time")


def test_unknown_by_column() -> None:
    with pytest.raises(csm.PolicyError, match="not in the case table"):
        csm.compute(pl.DataFrame(EVENTS), "volume", by="region")


def test_survival_censors_open_cases() -> None:
    # FRT population 1, 2, 3: answered after 1800 and 600; case 3 waits 12:00 → 18:00
    # = 21600 s, censored. KM: at 600 S = 2/3, at 1800 S = 1/3; median (S <= 0.5) = 1800;
    # p90 needs S <= 0.1: never reached → null
    out = csm.survival(pl.DataFrame(EVENTS), policy=POLICY).collect().row(0, named=True)
    assert (out["n"], out["n_events"], out["n_censored"]) == (3, 2, 1)
    assert out["p50"] == 1800.0
    assert out["p90"] is None
