"""The headline metrics in one call, by channel, and visibility from the events (issue 15).

First response, full resolution, channel-switch rate and comp rate come from one ``compute``
call over one case table; the switch rate per channel is checked against the simulator's
ground truth; visibility (public post vs direct message) is the case's, from its events.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

import csmetrics as csm
from csmetrics.datasets import SOCIAL_COMP_RATE, SOCIAL_FIRST_RESPONSE_MEDIAN

HEADLINE = ["first_response_time", "full_resolution_time", "channel_switch_rate", "comp_rate"]


@pytest.fixture(scope="module")
def simulated() -> pl.DataFrame:
    return csm.datasets.simulate_frame(20_000, seed=5, truth=True)


def test_the_headline_in_one_call_equals_the_simulators_truth(simulated: pl.DataFrame) -> None:
    log = csm.EventLog.trusted(simulated)
    out = csm.compute(log, HEADLINE, by="channel").collect()
    assert set(out["metric"]) == set(HEADLINE)
    assert out.columns[:2] == ["channel", "metric"]
    # truth: an issue switched when any of its cases is a simulated switch; it belongs to the
    # channel of its first case (creation order)
    per_case = simulated.group_by("case_id").agg(
        pl.col("sim_issue_id").first(),
        pl.col("sim_switched").first(),
        pl.col("channel").filter(pl.col("event_type") == "case_created").first(),
        pl.col("ts").filter(pl.col("event_type") == "case_created").min().alias("created"),
    )
    issues = (
        per_case.sort("created", "case_id")
        .group_by("sim_issue_id", maintain_order=True)
        .agg(pl.col("channel").first(), pl.col("sim_switched").any().alias("switched"))
    )
    truth = issues.group_by("channel").agg(
        pl.len().alias("n"), pl.col("switched").sum().alias("hits")
    )
    rates = out.filter(pl.col("metric") == "channel_switch_rate").join(truth, on="channel")
    assert rates.height == truth.height == simulated["channel"].n_unique()
    for row in rates.iter_rows(named=True):
        assert row["denominator"] == row["n_right"], row["channel"]
        assert row["numerator"] == row["hits"], row["channel"]
        assert row["value"] == row["hits"] / row["n_right"]  # exactly
    assert rates["hits"].sum() > 100


def test_by_channel_and_visibility_and_by_week(simulated: pl.DataFrame) -> None:
    log = csm.EventLog.trusted(simulated)
    both = csm.compute(log, HEADLINE, by=["channel", "is_public"]).collect()
    twitter = both.filter((pl.col("channel") == "twitter") & (pl.col("metric") == "comp_rate"))
    assert sorted(twitter["is_public"].to_list()) == [False, True]  # DMs and public posts
    weekly = csm.compute(log, HEADLINE, by="channel", period="week").collect()
    assert set(weekly["metric"]) == set(HEADLINE)
    assert weekly["period_start"].n_unique() >= 4  # four weeks simulated


def test_every_journey_metric_by_channel(simulated: pl.DataFrame) -> None:
    log = csm.EventLog.trusted(simulated.head(40_000))
    every = [m.name for m in csm.metrics.builtins() if m.level == "issue"]
    out = csm.journey_metrics(log, every, by="channel").collect()
    assert set(out["metric"]) == set(every)
    assert out["channel"].null_count() == 0


def test_comp_rate_and_first_response_by_visibility_recover_the_planted_figures(
    simulated: pl.DataFrame,
) -> None:
    social = simulated.filter(pl.col("channel").is_in(["twitter", "facebook"]))
    log = csm.EventLog.trusted(social)
    out = csm.compute(log, ["comp_rate", "first_response_time"], by="is_public").collect()
    truth = social.group_by("case_id").agg(pl.col("sim_is_public").first())
    table = csm.case_table(log, columns=["is_public"]).collect().join(truth, on="case_id")
    assert (table["is_public"] == table["sim_is_public"]).all()  # case visibility, exactly
    for public, key in ((True, "public"), (False, "private")):
        rows = out.filter(pl.col("is_public") == public)
        comp = rows.filter(pl.col("metric") == "comp_rate").row(0, named=True)
        planted, n = SOCIAL_COMP_RATE[key], comp["n"]
        # within 3 standard errors (+0.01: comps granted after the window are cut off)
        assert abs(comp["value"] - planted) < 3 * (planted * (1 - planted) / n) ** 0.5 + 0.01
        frt = rows.filter(pl.col("metric") == "first_response_time").row(0, named=True)
        # the median of the simulated first responses, within 15 %
        assert frt["value"] == pytest.approx(SOCIAL_FIRST_RESPONSE_MEDIAN[key], rel=0.15), key


def _hand_log(second: dict[str, object]) -> csm.EventLog:
    # 09:00 an email, still open; 10:00 the same customer writes on Twitter
    at = dt.datetime(2024, 3, 1, 9, tzinfo=dt.UTC)
    base = {"customer_id": 7, "actor": "customer"}
    rows = [
        {**base, "case_id": 1, "channel": "email", "ts": at, "event_type": "case_created"},
        {**base, "case_id": 1, "channel": "email", "ts": at, "event_type": "message"},
        {
            **base,
            "case_id": 2,
            "channel": "twitter",
            "ts": at + dt.timedelta(hours=1),
            "event_type": "case_created",
            **second,
        },
        {
            **base,
            "case_id": 2,
            "channel": "twitter",
            "ts": at + dt.timedelta(hours=1),
            "event_type": "message",
            **second,
        },
    ]
    return csm.testing.log_from_rows(rows)


@pytest.mark.parametrize(
    ("second", "jump"),
    [({"is_public": False}, False), ({"is_public": True}, True), ({}, True)],
    ids=["to a DM", "to a public tweet", "to a tweet (public by default)"],
)
def test_a_move_to_a_dm_is_a_switch_but_no_queue_jump(
    second: dict[str, object], jump: bool
) -> None:
    log = _hand_log(second)
    cases = csm.journey_cases(log).collect().sort("case_id")
    assert cases["is_channel_switch"].to_list() == [False, True]  # email → twitter
    assert cases["is_queue_jump"].to_list() == [False, jump]
    out = csm.journey_metrics(log, ["channel_switch_rate", "queue_jump_rate"]).collect()
    values = dict(zip(out["metric"], out["value"], strict=True))
    assert values == {"channel_switch_rate": 1.0, "queue_jump_rate": 1.0 if jump else 0.0}
