"""Cost per resolved issue: rate cards, hand-worked logs, and a plain-Python oracle on the
simulator's ground truth (its issues, its handle time on every channel)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import csmetrics as csm
from csmetrics.cost import COST_COLUMNS, RateCard, case_costs, cost_per_resolved_issue
from csmetrics.datasets import simulate_frame
from csmetrics.exceptions import PolicyError
from csmetrics.log import EventLog


def reply(ts: str, case_id: int, seconds: float, **extra: Any) -> Any:
    return (ts, "message", "agent", {"case_id": case_id, "handle_seconds": seconds, **extra})


def solve(ts: str, case_id: int, **extra: Any) -> Any:
    return (ts, "status_changed", "agent", {"case_id": case_id, "status": "solved", **extra})


def test_rate_precedence_and_interval() -> None:
    log = csm.testing.log_from_rows(
        [
            ("09:00", "case_created", "customer", {"case_id": 1, "customer_id": "a"}),
            reply("09:10", 1, 900.0, customer_id="a"),  # email 15 min at 40/h = 10
            solve("09:20", 1, customer_id="a"),
            ("09:00", "case_created", "customer", {"case_id": 2, "customer_id": "b"}),
            reply("09:10", 2, 900.0, customer_id="b", team="tier2"),  # tier2 15 min at 80/h = 20
            solve("09:20", 2, customer_id="b"),
            (
                "09:00",
                "case_created",
                "customer",
                {"case_id": 3, "customer_id": "c", "channel": "twitter"},
            ),
            # social_care on twitter: 30 min at 50/h = 25 (channel_team beats team and channel)
            reply("09:10", 3, 1800.0, customer_id="c", channel="twitter", team="social_care"),
            solve("09:20", 3, customer_id="c", channel="twitter"),
        ]
    )
    card = RateCard.from_dict(
        {
            "currency": "EUR",
            "channel": {"email": 40, "twitter": 30},
            "team": {"tier2": 80, "social_care": 60},
            "channel_team": {"twitter": {"social_care": 50}},
        }
    )
    assert case_costs(log, card).collect().rows() == [
        (1, 0.25, 10.0),
        (2, 0.25, 20.0),
        (3, 0.5, 25.0),
    ]
    out = cost_per_resolved_issue(log, card).collect()
    assert tuple(out.columns) == COST_COLUMNS
    email = out.row(0, named=True)
    assert email["channel"] == "email"
    assert (email["n_issues"], email["n_resolved"], email["cost"]) == (2, 2, 30.0)
    # mean 15; sd of (10, 20) = 7.0711; half width 1.96 x 7.0711 / sqrt(2) = 9.7998
    assert email["cost_per_resolved_issue"] == 15.0
    assert email["ci_low"] == pytest.approx(5.2002, abs=1e-4)
    assert email["ci_high"] == pytest.approx(24.7998, abs=1e-4)
    assert email["currency"] == "EUR"
    overall = out.row(-1, named=True)
    assert overall["channel"] is None
    assert overall["cost_per_resolved_issue"] == pytest.approx(55.0 / 3)  # (10 + 20 + 25) / 3
    only = cost_per_resolved_issue(log, card, by=None).collect()
    assert only.height == 1
    assert only.row(0) == out.row(-1)


def test_missing_rates_and_bad_cards_raise(tmp_path: Path) -> None:
    log = csm.testing.log_from_rows(
        [
            ("09:00", "case_created", "customer"),
            reply("09:10", 1, 60.0, team="billing"),
            reply("09:20", 1, 60.0, team="billing"),
        ]
    )
    with pytest.raises(PolicyError, match=r"channel 'email' team 'billing' \(2 events\)"):
        case_costs(log, {"channel": {"phone": 30}})
    with pytest.raises(PolicyError, match="unknown key"):
        RateCard.from_dict({"chanel": {"email": 1}})
    with pytest.raises(PolicyError, match=r"channel\.email must be finite and >= 0"):
        RateCard.from_dict({"channel": {"email": -1}})
    with pytest.raises(PolicyError, match="by='team'"):
        cost_per_resolved_issue(log, {"default": 1}, by="team")
    path = tmp_path / "rates.toml"
    path.write_text('default = "cheap"\n')
    with pytest.raises(PolicyError, match=f"{path}: rate card: default must be a number"):
        RateCard.from_toml(path)
    path.write_text("default = \n")
    with pytest.raises(PolicyError, match="not valid TOML"):
        RateCard.from_toml(path)
    with pytest.raises(PolicyError, match="not found"):
        RateCard.from_toml(tmp_path / "none.toml")
    path.write_text('currency = "USD"\ndefault = 30\n[channel]\nPhone = 36\n')
    card = RateCard.from_toml(path)
    assert (card.currency, card.rate("phone", None), card.rate("chat", "x")) == ("USD", 36.0, 30.0)


# --------------------------------------------------------------------------------------------
# The simulator: every channel has handle time; the oracle prices it in plain Python


RATES = {
    "currency": "EUR",
    "default": 30.0,
    "channel": {"phone": 36.0, "chat": 24.0, "twitter": 42.0},
    "team": {"tier2": 55.0},
    "channel_team": {"facebook": {"social_care": 40.0}},
}


def oracle(frame: pl.DataFrame) -> dict[str | None, tuple[int, int, float]]:
    """Per first channel of the simulated issue: (issues, resolved, cost of resolved)."""
    card = RateCard.from_dict(RATES)
    cost: dict[int, float] = defaultdict(float)
    last_status: dict[int, tuple[Any, str]] = {}
    first: dict[int, tuple[Any, int, str]] = {}
    issue_of: dict[int, int] = {}
    for case, issue, channel, ts, status, team, seconds, kind in frame.select(
        "case_id",
        "sim_issue_id",
        "channel",
        "ts",
        pl.col("status").cast(pl.String),
        "team",
        "handle_seconds",
        pl.col("event_type").cast(pl.String),
    ).iter_rows():
        issue_of[case] = issue
        if issue not in first or (ts, case) < first[issue][:2]:
            first[issue] = (ts, case, channel)
        if seconds is not None:
            rate = card.rate(channel, team)
            assert rate is not None
            cost[case] += seconds / 3600 * rate
        if kind == "status_changed" and (case not in last_status or ts >= last_status[case][0]):
            last_status[case] = (ts, status)
    resolved_case = {c: s[1] in ("solved", "closed") for c, s in last_status.items()}
    issue_open: dict[int, bool] = defaultdict(bool)
    issue_cost: dict[int, float] = defaultdict(float)
    for case, issue in issue_of.items():
        issue_open[issue] |= not resolved_case.get(case, False)
        issue_cost[issue] += cost[case]
    out: dict[str | None, list[float]] = defaultdict(lambda: [0, 0, 0.0])
    for issue, (_, _, channel) in first.items():
        for key in (channel, None):
            out[key][0] += 1
            if not issue_open[issue]:
                out[key][1] += 1
                out[key][2] += issue_cost[issue]
    return {k: (int(v[0]), int(v[1]), v[2]) for k, v in out.items()}


def test_simulated_costs_match_the_plain_python_oracle() -> None:
    frame = simulate_frame(3_000, seed=4, truth=True)
    out = cost_per_resolved_issue(EventLog.trusted(frame), RATES).collect()
    expected = oracle(frame)
    assert set(out["channel"].to_list()) == set(expected)
    for row in out.iter_rows(named=True):
        n_issues, n_resolved, cost = expected[row["channel"]]
        assert (row["n_issues"], row["n_resolved"]) == (n_issues, n_resolved), row["channel"]
        assert row["cost"] == pytest.approx(cost, rel=1e-9)
        assert row["cost_per_resolved_issue"] == pytest.approx(cost / n_resolved, rel=1e-9)
        assert row["ci_low"] < row["cost_per_resolved_issue"] < row["ci_high"]
    # every channel has handle time now, so every channel costs something
    assert (out["cost"] > 0).all()


def test_a_free_rate_card_costs_nothing() -> None:
    log = EventLog.trusted(simulate_frame(500, seed=4))
    out = cost_per_resolved_issue(log, {"default": 0}).collect()
    assert (out["cost"] == 0).all()
    assert (out["ci_low"] == 0).all()
    assert (out["ci_high"] == 0).all()
