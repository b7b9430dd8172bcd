"""Planted effects keep the simulator's invariants and its ground truth exact."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest

from csmetrics.datasets import Effects, simulate_frame
from csmetrics.exceptions import PolicyError
from csmetrics.log import EventLog

from .test_simulate import assert_truth_follows_rule, last_resolutions

ALL = Effects(contagion=1.0, pulled_agents=2, redirect_share=0.6)


def test_effects_off_by_default_change_nothing() -> None:
    assert simulate_frame(800, seed=3, truth=True).equals(
        simulate_frame(800, seed=3, truth=True, effects=Effects())
    )


def test_with_every_effect_the_log_is_valid_and_the_truth_exact() -> None:
    frame = simulate_frame(6_000, seed=9, truth=True, effects=ALL)
    assert frame["case_id"].n_unique() == 6_000
    assert frame["event_id"].is_unique().all()
    EventLog.from_frame(frame.drop("redirected_to")).validate("raise")
    labels = set(frame["sim_planted"].drop_nulls().str.split(",").explode())
    assert labels == {"contagion", "pulled", "redirect"}
    cases = frame.group_by("case_id").agg(
        pl.col("customer_id").first(),
        pl.col("channel").first(),
        pl.col("sim_issue_id").first(),
        pl.col("sim_switched").first(),
        pl.col("ts").min().alias("created_at"),
    )
    assert_truth_follows_rule(last_resolutions(frame).join(cases, on="case_id", how="right"))
    # a redirect tag sits on an agent message and names the next case's channel
    tagged = frame.filter(pl.col("redirected_to").is_not_null())
    assert set(tagged["actor"].cast(pl.String)) == {"agent"}
    assert set(tagged["event_type"].cast(pl.String)) == {"message"}


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"contagion": -0.1}, "contagion must be finite and >= 0"),
        ({"contagion": True}, "contagion must be a number"),
        ({"contagion_window": dt.timedelta(0)}, "contagion_window must be a positive"),
        ({"pulled_agents": -1}, "pulled_agents must be an integer >= 0"),
        ({"pulled_share": 1.5}, "pulled_share must be between 0 and 1"),
        ({"redirect_share": float("nan")}, "redirect_share must be finite"),
    ],
)
def test_bad_effects_raise_policy_errors(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(PolicyError, match=fragment):
        Effects(**kwargs)


def test_effects_must_be_an_effects_object() -> None:
    with pytest.raises(PolicyError, match=r"'effects' must be a csmetrics\.datasets\.Effects"):
        simulate_frame(10, effects={"contagion": 1.0})  # type: ignore[arg-type]


def _cases_in_order(frame: pl.DataFrame) -> pl.DataFrame:
    """Per case: customer, its rank among the customer's cases, creation, first agent reply."""
    agent_reply = (pl.col("event_type") == "message") & (pl.col("actor") == "agent")
    return (
        frame.group_by("case_id")
        .agg(
            pl.col("customer_id").first(),
            pl.col("channel").first(),
            pl.col("sim_issue_id").first(),
            pl.col("sim_planted").first(),
            pl.col("ts").min().alias("created_at"),
            pl.col("ts").filter(agent_reply).min().alias("replied_at"),
            pl.col("ts").max().alias("last_at"),
        )
        .with_columns(pl.col("created_at").rank("ordinal").over("customer_id").alias("nth"))
    )


def test_the_spike_slowdown_adds_exactly_its_seconds_to_the_other_channels() -> None:
    spike = Effects(spike_cases=150, spike_day=10)
    slow = Effects(spike_cases=150, spike_day=10, spike_slowdown_seconds=600.0)
    before = _cases_in_order(simulate_frame(6_000, seed=9, truth=True, effects=spike))
    after = _cases_in_order(simulate_frame(6_000, seed=9, truth=True, effects=slow))
    pair = before.join(after, on=["customer_id", "nth"], suffix="_slow")
    assert pair.height == before.height == after.height == 6_000
    slowed = pair.filter(pl.col("sim_planted_slow").str.contains("slowed").fill_null(False))
    assert slowed.height > 30
    # the slowed cases: created 10:00-13:00 on day 10 (11 January), on another channel
    assert (slowed["channel"] != "twitter").all()
    window = slowed["created_at"].dt.date().unique().to_list()
    assert window == [dt.date(2024, 1, 11)]
    assert slowed["created_at"].dt.hour().is_between(10, 12).all()
    wait = (pl.col("replied_at") - pl.col("created_at")).dt.total_seconds()
    wait_slow = (pl.col("replied_at_slow") - pl.col("created_at_slow")).dt.total_seconds()
    # each waits 600 s more for its first reply (to the microsecond the timestamps keep)
    assert slowed.select((wait_slow - wait - 600).abs().max()).item() <= 1
    # and no case that was not slowed waits any longer
    others = pair.join(slowed.select("customer_id", "nth"), on=["customer_id", "nth"], how="anti")
    assert others.select((wait_slow - wait).abs().max()).item() <= 1
    # the log stays valid and its issues follow the rule
    frame = simulate_frame(6_000, seed=9, truth=True, effects=slow)
    EventLog.from_frame(frame).validate("raise")
    cases = frame.group_by("case_id").agg(
        pl.col("customer_id").first(),
        pl.col("channel").first(),
        pl.col("sim_issue_id").first(),
        pl.col("sim_switched").first(),
        pl.col("ts").min().alias("created_at"),
    )
    assert_truth_follows_rule(last_resolutions(frame).join(cases, on="case_id", how="right"))


def test_the_redirect_delay_adds_exactly_its_hours_to_redirected_issues() -> None:
    base = Effects(redirect_share=0.6)
    late = Effects(redirect_share=0.6, redirect_delay_hours=24.0)
    before = simulate_frame(6_000, seed=9, truth=True, effects=base)
    after = simulate_frame(6_000, seed=9, truth=True, effects=late)
    assert after["case_id"].n_unique() == 6_000
    EventLog.from_frame(after.drop("redirected_to")).validate("raise")
    cases = after.group_by("case_id").agg(
        pl.col("customer_id").first(),
        pl.col("channel").first(),
        pl.col("sim_issue_id").first(),
        pl.col("sim_switched").first(),
        pl.col("ts").min().alias("created_at"),
    )
    assert_truth_follows_rule(last_resolutions(after).join(cases, on="case_id", how="right"))

    def issues(frame: pl.DataFrame) -> pl.DataFrame:
        # an issue's span, from its first event to its last, keyed by its customer and its
        # rank among the customer's issues (the delay keeps their order)
        return (
            frame.group_by("sim_issue_id")
            .agg(
                pl.col("customer_id").first(),
                pl.col("ts").min().alias("first"),
                pl.col("ts").max().alias("last"),
                pl.col("sim_planted").str.contains("delayed").any().alias("delayed"),
            )
            .with_columns(pl.col("first").rank("ordinal").over("customer_id").alias("nth"))
        )

    pair = issues(before).join(issues(after), on=["customer_id", "nth"], suffix="_late")
    delayed = pair.filter(pl.col("delayed_late"))
    assert delayed.height > 40
    span = (pl.col("last") - pl.col("first")).dt.total_seconds()
    span_late = (pl.col("last_late") - pl.col("first_late")).dt.total_seconds()
    # an issue whose events, 24 h later, are not cut by the end of the window (28 days from
    # 1 January) lasts 24 h longer, to the microsecond
    end = dt.datetime(2024, 1, 29, tzinfo=dt.UTC)
    kept = delayed.filter(pl.col("last") + dt.timedelta(hours=24) < end)
    assert kept.height > 0.7 * delayed.height
    assert kept.select((span_late - span - 86_400).abs().max()).item() <= 1
    # the issues of other customers are untouched
    untouched = pair.join(delayed.select("customer_id"), on="customer_id", how="anti")
    assert untouched.select((span_late - span).abs().max()).item() <= 1


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"spike_slowdown_seconds": -1.0}, "spike_slowdown_seconds must be finite and >= 0"),
        ({"redirect_delay_hours": float("inf")}, "redirect_delay_hours must be finite"),
    ],
)
def test_bad_delays_raise_policy_errors(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(PolicyError, match=fragment):
        Effects(**kwargs)
