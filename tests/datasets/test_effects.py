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
