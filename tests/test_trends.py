"""Trend spotting: spikes against a rolling baseline, systemic or one loud customer."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest

import csmetrics as csm
from csmetrics.exceptions import PolicyError
from csmetrics.journeys import IdentityMap
from csmetrics.log import EventLog
from csmetrics.trends import TREND_COLUMNS, trends

D1 = dt.datetime(2024, 3, 1, 10, tzinfo=dt.UTC)


def day(n: int, hours: int = 0) -> dt.datetime:
    return D1 + dt.timedelta(days=n - 1, hours=hours)


def created(
    case_id: int, customer: int | str, when: dt.datetime, topic: str, channel: str = "email"
) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "customer_id": customer,
        "channel": channel,
        "topic": topic,
        "ts": when,
        "event_type": "case_created",
        "actor": "customer",
    }


def spikes() -> EventLog:
    # login and billing: one case a day, 1-4 March, each from its own customer. On 5 March:
    # 6 login cases from 6 customers (systemic); 6 billing cases, 5 of them from customer 99
    # (one loud customer).
    rows = []
    for n in range(1, 5):
        rows.append(created(100 + n, 100 + n, day(n), "login"))
        rows.append(created(200 + n, 200 + n, day(n), "billing"))
    rows += [created(300 + k, 300 + k, day(5), "login") for k in range(6)]
    rows += [created(400 + k, 99 if k < 5 else 98, day(5), "billing") for k in range(6)]
    return csm.testing.log_from_rows(rows)


def test_systemic_spike_and_one_loud_customer() -> None:
    out = trends(spikes(), by="topic", min_volume=5).collect()
    assert out.columns == ["topic", *TREND_COLUMNS]
    last = out.filter(pl.col("period_start") == day(5, -10)).sort("topic")
    assert last.select(
        "topic", "volume", "baseline", "is_spike", "n_customers", "top_customer_share", "cause"
    ).rows() == [
        # 6 cases, baseline mean(1, 1, 1, 1) = 1: 6 > 2 × 1; 2 customers, 99 made 5 of 6
        ("billing", 6, 1.0, True, 2, pytest.approx(5 / 6), "one_customer"),
        # 6 customers, each 1 of 6
        ("login", 6, 1.0, True, 6, pytest.approx(1 / 6), "systemic"),
    ]


def test_baseline_and_scores_by_hand() -> None:
    # login volumes by day: 1, 1, 1, 1, 6. Day 4: baseline mean(1, 1, 1) = 1, std 0 → no z.
    # Day 5: baseline 1, std 0: ratio 6, no z-score.
    out = trends(spikes(), by="topic", min_volume=5).collect().filter(topic="login")
    assert out["volume"].to_list() == [1, 1, 1, 1, 6]
    assert out["baseline"].to_list() == [None, None, None, 1.0, 1.0]
    assert out["ratio"].to_list() == [None, None, None, 1.0, 6.0]
    assert out["z_score"].to_list() == [None] * 5
    assert out["is_spike"].to_list() == [False, False, False, False, True]
    assert out["cause"].to_list() == [None, None, None, None, "systemic"]


def test_zero_filled_periods_and_z_score() -> None:
    # refund: 2 cases on day 1, none on day 2, 1 on day 3, 4 on day 4. Day 4's baseline is
    # the mean of (2, 0, 1) = 1, sample std = 1; z = (4 - 1) / 1 = 3; ratio 4.
    rows = [created(1, 1, day(1), "refund"), created(2, 2, day(1), "refund")]
    rows += [created(3, 3, day(3), "refund")]
    rows += [created(10 + k, 10 + k, day(4), "refund") for k in range(4)]
    out = trends(csm.testing.log_from_rows(rows), by="topic", min_volume=3).collect()
    assert out["volume"].to_list() == [2, 0, 1, 4]
    row = out.row(3, named=True)
    assert (row["baseline"], row["baseline_std"], row["z_score"], row["ratio"]) == (
        1.0,
        1.0,
        3.0,
        4.0,
    )
    assert row["is_spike"] is True
    assert out.row(1, named=True)["top_customer_share"] is None  # no cases that day


def test_by_several_columns_and_overall() -> None:
    out = trends(spikes(), min_volume=5).collect()  # by topic and channel
    assert out.columns[:2] == ["topic", "channel"]
    assert out.height == 2 * 5
    overall = trends(spikes(), by=(), min_volume=5).collect()
    # every case together: 2 a day, then 12; baseline 2
    assert overall["volume"].to_list() == [2, 2, 2, 2, 12]
    assert overall.row(4, named=True)["cause"] == "systemic"  # top customer 99: 5 of 12


def test_identity_map_counts_one_person_once() -> None:
    # the billing spike's other customer (98) is customer 99 on another handle
    ids = IdentityMap.from_frame({"channel": [None], "handle": ["98"], "customer_id": [99]})
    out = trends(spikes(), by="topic", min_volume=5, identity=ids).collect()
    billing = out.filter(topic="billing").row(4, named=True)
    assert (billing["n_customers"], billing["top_customer_share"]) == (1, 1.0)


def test_weekly_periods_in_the_policy_time_zone() -> None:
    policy = csm.Policy(timezone="America/New_York")
    out = trends(spikes(), by="topic", period="week", policy=policy).collect()
    assert out.schema["period_start"] == pl.Datetime("us", "America/New_York")
    # 1-5 March 2024: Friday to Tuesday, weeks starting Monday 26 Feb and Monday 4 March
    assert out.filter(topic="login")["volume"].to_list() == [3, 7]
    assert out["period_start"].dt.weekday().unique().to_list() == [1]


def test_hourly_periods() -> None:
    out = trends(spikes(), by=(), period="hour").collect()
    # day 1 10:00 … day 5 10:00: 4 × 24 + 1 hours
    assert out.height == 97
    assert out["volume"].sum() == 20


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"by": "nope"}, "not in the case table"),
        ({"period": "fortnight"}, "'period'"),
        ({"baseline": 0}, "'baseline'"),
        ({"baseline": 3, "min_history": 4}, "'min_history'"),
        ({"factor": -1.0}, "'factor'"),
        ({"loud_share": 0.0}, "'loud_share'"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(PolicyError, match=match):
        trends(spikes(), **kwargs)


def test_a_new_group_starts_from_the_logs_first_period() -> None:
    # "outage" appears on day 5 only, with 6 cases: days 1-4 count as zeros, baseline 0,
    # so it is a spike.
    rows = [created(n, n, day(n), "login") for n in range(1, 6)]
    rows += [created(10 + k, 10 + k, day(5), "outage") for k in range(6)]
    out = trends(csm.testing.log_from_rows(rows), by="topic", min_volume=5).collect()
    outage = out.filter(topic="outage")
    assert outage["volume"].to_list() == [0, 0, 0, 0, 6]
    assert outage.row(4, named=True)["baseline"] == 0.0
    assert outage.row(4, named=True)["cause"] == "systemic"


def test_an_empty_log_gives_no_rows() -> None:
    log = EventLog.trusted(csm.datasets.simulate_frame(0))
    assert trends(log).collect().height == 0
    assert trends(log, by=()).collect().height == 0
