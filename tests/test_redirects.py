"""Redirects: hand-worked kinds and rates, and the simulator's planted redirects."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

import csmetrics as csm
from csmetrics.datasets import Effects, simulate_frame
from csmetrics.exceptions import PolicyError
from csmetrics.log import EventLog
from csmetrics.redirects import (
    REDIRECT_CASE_COLUMNS,
    REDIRECT_RATE_COLUMNS,
    redirect_cases,
    redirect_rate,
)


def ev(ts: str, kind: str, actor: str, case: int, customer: int, channel: str, **extra: Any) -> Any:
    return (
        ts,
        kind,
        actor,
        {"case_id": case, "customer_id": customer, "channel": channel, **extra},
    )


def test_the_three_kinds_on_a_hand_made_log() -> None:
    log = csm.testing.log_from_rows(
        [
            # customer 1: email answered 09:30, calls at 11:30 (exactly 2 h: sent elsewhere)
            ev("09:00", "case_created", "customer", 1, 1, "email"),
            ev("09:30", "message", "agent", 1, 1, "email"),
            ev("11:30", "case_created", "customer", 2, 1, "phone"),
            # customer 2: email answered 09:30, calls at 11:31 (2 h 1 min: not sent)
            ev("09:00", "case_created", "customer", 3, 2, "email"),
            ev("09:30", "message", "agent", 3, 2, "email"),
            ev("11:31", "case_created", "customer", 4, 2, "phone"),
            # customer 3: a public tweet taken to DM
            ev("09:00", "message", "customer", 5, 3, "twitter", is_public=True),
            ev("09:10", "message", "agent", 5, 3, "twitter", is_public=True),
            ev("09:20", "message", "customer", 5, 3, "twitter", is_public=False),
            # customer 4: a macro sends them to the web form (explicit), who writes on email
            # 10 minutes later on the same channel... and on the form: the kind is explicit
            ev("09:00", "case_created", "customer", 6, 4, "chat"),
            ev("09:05", "message", "agent", 6, 4, "chat", redirected_to="web_form"),
            ev("09:15", "case_created", "customer", 7, 4, "web_form"),
            # customer 5: the next case is on the same channel: not a redirect
            ev("09:00", "case_created", "customer", 8, 5, "chat"),
            ev("09:05", "message", "agent", 8, 5, "chat"),
            ev("09:15", "case_created", "customer", 9, 5, "chat"),
            # customer 6: a DM from the start is not a move to private
            ev("09:00", "message", "customer", 10, 6, "twitter", is_public=False),
            ev("09:10", "message", "agent", 10, 6, "twitter", is_public=False),
        ]
    )
    out = redirect_cases(log).collect().sort("case_id")
    assert tuple(out.columns) == REDIRECT_CASE_COLUMNS
    kinds = dict(out.select("case_id", "redirect_kind").iter_rows())
    assert kinds == {
        1: "sent_elsewhere",
        2: None,
        3: None,
        4: None,
        5: "to_private",
        6: "explicit",
        7: None,
        8: None,
        9: None,
        10: None,
    }
    case_6 = out.filter(pl.col("case_id") == 6).row(0, named=True)
    # explicit wins, but the inferred facts stay visible
    assert (case_6["explicit_to"], case_6["sent_elsewhere_to"]) == ("web_form", "web_form")
    assert out.filter(pl.col("case_id") == 1)["sent_elsewhere_to"].item() == "phone"
    # a 2-hour-1-minute gap is outside the default window, inside a 3-hour one
    wider = redirect_cases(log, window="3h").collect()
    assert wider.filter(pl.col("case_id") == 3)["redirect_kind"].item() == "sent_elsewhere"


def test_redirect_rate_hand_worked() -> None:
    log = csm.testing.log_from_rows(
        [
            # issue A (email → phone, redirected): resolved 3 h after its first contact
            ev("09:00", "case_created", "customer", 1, 1, "email"),
            ev("09:30", "message", "agent", 1, 1, "email"),
            ev("09:40", "case_created", "customer", 2, 1, "phone"),
            ev("10:00", "status_changed", "agent", 2, 1, "phone", status="solved"),
            ev("12:00", "status_changed", "agent", 1, 1, "email", status="solved"),
            # issues B, C (email, not redirected): 1 h and 2 h
            ev("09:00", "case_created", "customer", 3, 2, "email"),
            ev("10:00", "status_changed", "agent", 3, 2, "email", status="solved"),
            ev("09:00", "case_created", "customer", 4, 3, "email"),
            ev("11:00", "status_changed", "agent", 4, 3, "email", status="solved"),
            # issue D (email, not redirected): still open
            ev("09:00", "case_created", "customer", 5, 4, "email"),
        ]
    )
    out = redirect_rate(log).collect()
    assert tuple(out.columns) == REDIRECT_RATE_COLUMNS
    email = out.row(0, named=True)
    assert email["channel"] == "email"
    assert (email["n_issues"], email["n_redirected"], email["n_sent_elsewhere"]) == (4, 1, 1)
    assert email["redirect_rate"] == 0.25
    # Wilson 95 % (z = 1.95996, z² = 3.84146), k = 1, n = 4:
    # centre (0.25 + 3.84146 / 8) / (1 + 3.84146 / 4) = 0.730182 / 1.960365 = 0.372473,
    # half 1.95996 x sqrt(0.046875 + 3.84146 / 64) / 1.960365 = 0.326886 → [0.0456, 0.6994]
    assert email["ci_low"] == pytest.approx(0.045587, abs=1e-5)
    assert email["ci_high"] == pytest.approx(0.699359, abs=1e-5)
    # resolved: redirected 3 h; others 1 h and 2 h (median 1.5 h): difference 1.5 h
    assert (email["n_resolved_redirected"], email["n_resolved_other"]) == (1, 2)
    assert email["resolution_median_redirected_h"] == 3.0
    assert email["resolution_median_other_h"] == 1.5
    assert email["resolution_difference_h"] == 1.5
    assert email["diff_ci_low"] is None  # one redirected issue: no spread to measure
    assert out.row(-1, named=True)["channel"] is None
    only_explicit = redirect_rate(log, kinds=["explicit"]).collect()
    assert only_explicit["n_redirected"].to_list() == [0, 0]
    assert only_explicit["ci_low"].to_list() == [0.0, 0.0]
    with pytest.raises(PolicyError, match="'kinds'"):
        redirect_rate(log, kinds=["lost"])
    with pytest.raises(PolicyError, match="by='team'"):
        redirect_rate(log, by="team")


# --------------------------------------------------------------------------------------------
# The simulator plants redirects: tagged on the reply, the next case soon after


@pytest.fixture(scope="module")
def planted() -> pl.DataFrame:
    return simulate_frame(10_000, seed=4, truth=True, effects=Effects(redirect_share=0.6))


def test_planted_redirects_are_found_exactly(planted: pl.DataFrame) -> None:
    truth = set(planted.filter(pl.col("sim_planted").str.contains("redirect"))["case_id"].unique())
    assert len(truth) > 50
    log = EventLog.trusted(planted)
    found = redirect_cases(log).collect()
    explicit = set(found.filter(pl.col("explicit_to").is_not_null())["case_id"])
    assert explicit == truth
    # without the tag, every planted redirect is still inferred (the next case came within
    # 30 minutes of the reply, on another channel)
    untagged = EventLog.trusted(planted.drop("redirected_to"))
    inferred = redirect_cases(untagged).collect()
    sent = set(inferred.filter(pl.col("sent_elsewhere_to").is_not_null())["case_id"])
    assert truth <= sent
    rate = redirect_rate(log, kinds=["explicit"], by=None).collect().row(0, named=True)
    n_issues = rate["n_issues"]
    # the planted share of issues lies in the reported interval
    assert rate["ci_low"] <= len(truth) / n_issues <= rate["ci_high"]
    assert rate["n_redirected"] == len(truth)


def test_no_redirects_planted_none_tagged() -> None:
    frame = simulate_frame(10_000, seed=4, truth=True)
    assert "redirected_to" not in frame.columns
    rate = redirect_rate(EventLog.trusted(frame), kinds=["explicit"], by=None).collect()
    assert rate["n_redirected"].item() == 0
    assert rate["ci_low"].item() == 0.0  # the interval covers "no redirect"


def test_compare_repeat_takes_like_with_like_by_hand() -> None:
    log = csm.testing.log_from_rows(
        [
            # issue A (email → phone, redirected by the 09:30 reply): 09:00 → 12:00, 3 h
            ev("09:00", "case_created", "customer", 1, 1, "email"),
            ev("09:30", "message", "agent", 1, 1, "email"),
            ev("09:40", "case_created", "customer", 2, 1, "phone"),
            ev("10:00", "status_changed", "agent", 2, 1, "phone", status="solved"),
            ev("12:00", "status_changed", "agent", 1, 1, "email", status="solved"),
            # issue B (one contact): 1 h
            ev("09:00", "case_created", "customer", 3, 2, "email"),
            ev("10:00", "status_changed", "agent", 3, 2, "email", status="solved"),
            # issue E (two contacts, no agent reply before the second: not redirected):
            # 09:00 → 14:00, 5 h
            ev("09:00", "case_created", "customer", 6, 5, "email"),
            ev("10:00", "status_changed", "agent", 6, 5, "email", status="solved"),
            ev("12:00", "case_created", "customer", 7, 5, "email"),
            ev("14:00", "status_changed", "agent", 7, 5, "email", status="solved"),
        ]
    )
    every = redirect_rate(log, by=None).collect().row(0, named=True)
    # all: redirected 3 h against B (1 h) and E (5 h), median 3 h: no difference
    assert (every["n_resolved_redirected"], every["n_resolved_other"]) == (1, 2)
    assert every["resolution_difference_h"] == 0.0
    repeat = redirect_rate(log, by=None, compare="repeat").collect().row(0, named=True)
    # repeat: redirected 3 h against E alone (5 h): 2 h less; B (one contact) is left out;
    # the rate is still over every issue (1 of 3)
    assert (repeat["n_resolved_redirected"], repeat["n_resolved_other"]) == (1, 1)
    assert repeat["resolution_difference_h"] == -2.0
    assert repeat["redirect_rate"] == pytest.approx(1 / 3)
    with pytest.raises(PolicyError, match="'compare' must be one of"):
        redirect_rate(log, compare="same")


# --------------------------------------------------------------------------------------------
# The simulator plants a known cost: each redirected issue resolves 24 h later


@pytest.mark.parametrize("hours", [0.0, 24.0])
def test_a_planted_redirect_cost_is_recovered_within_its_interval(hours: float) -> None:
    effects = Effects(redirect_share=0.6, redirect_delay_hours=hours)
    log = EventLog.trusted(simulate_frame(10_000, seed=4, effects=effects))
    row = (
        redirect_rate(log, by=None, kinds=["explicit"], compare="repeat")
        .collect()
        .row(0, named=True)
    )
    assert row["n_resolved_redirected"] > 50
    assert row["n_resolved_other"] > 500
    # the difference of medians (redirected − other issues with more than one contact) has
    # the planted cost in its interval: 24 h more, clear of zero; or none, covering zero
    assert row["diff_ci_low"] <= hours <= row["diff_ci_high"], row
    if hours:
        assert row["diff_ci_low"] > 0
    # against every other issue (one-contact issues included) redirects look costly even
    # when nothing was planted: why like with like is needed
    every = redirect_rate(log, by=None, kinds=["explicit"]).collect().row(0, named=True)
    assert every["diff_ci_low"] > hours
