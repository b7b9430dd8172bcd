"""Spill-over: surges on one channel and the other queues meanwhile."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest

import csmetrics as csm
from csmetrics.exceptions import PolicyError
from csmetrics.log import EventLog
from csmetrics.spillover import BUCKET_COLUMNS, EFFECT_COLUMNS, SURGE_COLUMNS, spillover

D1 = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)


def at(day: int, hhmm: str) -> dt.datetime:
    hours, minutes = (int(x) for x in hhmm.split(":"))
    return D1 + dt.timedelta(days=day - 1, hours=hours, minutes=minutes)


class Log:
    """Cases by hand: each created by the customer, maybe answered after ``wait`` minutes."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.next_id = 1

    def add(
        self, channel: str, created: dt.datetime, wait: int | None = None, *, n: int = 1
    ) -> None:
        for _ in range(n):
            base = {"case_id": self.next_id, "customer_id": self.next_id, "channel": channel}
            self.rows.append(
                {**base, "ts": created, "event_type": "case_created", "actor": "customer"}
            )
            if wait is not None:
                reply = created + dt.timedelta(minutes=wait)
                self.rows.append({**base, "ts": reply, "event_type": "message", "actor": "agent"})
            self.next_id += 1

    def log(self) -> EventLog:
        return csm.testing.log_from_rows(self.rows)


def evening_surge() -> Log:
    # every day 1-5: an email at 10:00 answered in 10 min, an email at 20:00 answered in
    # 60 min, one tweet at 20:00. Day 5 at 20:00: 8 tweets, and that email waits 90 min.
    log = Log()
    for day in range(1, 6):
        log.add("email", at(day, "10:00"), 10)
        log.add("email", at(day, "20:00"), 90 if day == 5 else 60)
        log.add("twitter", at(day, "20:00"), 5, n=8 if day == 5 else 1)
    return log


def test_surge_is_compared_with_the_same_hour_on_other_days() -> None:
    result = spillover(evening_surge().log())
    surges = result.surges.collect()
    assert surges.columns == list(SURGE_COLUMNS)
    # baseline of day 5 20:00: median of the 20:00 volumes of days 1-4 = 1; 8 ≥ 5 and > 2 × 1
    # the other channel (email: 1 against its baseline 1) did not surge: not a shared surge
    assert surges.rows() == [(at(5, "20:00"), at(5, "21:00"), 1, 8, 1.0, 8, 1.0, False)]
    effects = result.effects.collect()
    assert effects.columns == list(EFFECT_COLUMNS)
    email = effects.filter(channel="email", figure="first_response_time").row(0, named=True)
    # 90 min in the surge hour vs the 60 min of the four other 20:00 emails; the 10:00 emails
    # (10 min) are not comparable hours
    assert email["surge_value"] == 5400.0
    assert email["comparable_value"] == 3600.0
    assert email["change"] == 1800.0
    assert email["relative_change"] == pytest.approx(0.5)
    assert (email["n_surge_buckets"], email["n_comparable_buckets"]) == (1, 4)
    assert email["is_surge_channel"] is False
    assert email["unit"] == "seconds"
    twitter = effects.filter(channel="twitter", figure="volume").row(0, named=True)
    assert (twitter["is_surge_channel"], twitter["surge_value"], twitter["change"]) == (
        True,
        8.0,
        7.0,
    )


def test_without_seasonality_every_non_surge_hour_is_comparable() -> None:
    result = spillover(evening_surge().log(), seasonal=False)
    email = result.effects.filter(channel="email", figure="first_response_time").collect()
    # baseline: median of the previous 168 hourly volumes, mostly 0, so only the 8 tweets
    # (≥ min_volume 5) surge. Comparable: every other email: five at 10 min, four at 60 min
    # → (5 × 600 + 4 × 3600) / 9 = 1933.33 s
    row = email.row(0, named=True)
    assert row["comparable_value"] == pytest.approx((5 * 600 + 4 * 3600) / 9)
    assert row["n_comparable_buckets"] == 9


def test_bucket_table_by_hand() -> None:
    buckets = spillover(evening_surge().log()).buckets.collect()
    assert buckets.columns == list(BUCKET_COLUMNS)
    # 1 March 10:00 … 5 March 21:00 (as_of = the last reply, 21:30): 4 × 24 + 11 hours
    # apart, so 108 buckets, for each channel from the log's first bucket
    n_hours = 4 * 24 + 11 + 1
    assert buckets.height == 2 * n_hours
    surge_hour = buckets.filter(bucket_start=at(5, "20:00"))
    twitter = surge_hour.filter(channel="twitter").row(0, named=True)
    assert (twitter["volume"], twitter["baseline"], twitter["volume_ratio"]) == (8, 1.0, 8.0)
    assert twitter["is_channel_surge"] is True
    # 8 tweets answered 5 minutes later: none left unanswered at 21:00; never solved: the
    # backlog is every tweet so far, 4 + 8 = 12
    assert (twitter["n_answered"], twitter["unanswered"], twitter["backlog"]) == (8, 0, 12)
    email = surge_hour.filter(channel="email").row(0, named=True)
    # the 20:00 email waits until 21:30: still unanswered at the bucket's end
    assert email["is_surge"] is True
    assert email["is_channel_surge"] is False
    assert (email["unanswered"], email["backlog"], email["first_response_time"]) == (1, 10, 5400.0)
    # no baseline before three earlier days: 20:00 on days 1-3 has none
    early = buckets.filter(channel="twitter", bucket_start=at(3, "20:00")).row(0, named=True)
    assert early["baseline"] is None
    assert early["is_channel_surge"] is False
    assert buckets.filter(channel="twitter", bucket_start=at(4, "20:00"))["baseline"].item() == 1.0


def test_consecutive_surge_buckets_are_one_window() -> None:
    log = evening_surge()
    for day in range(1, 5):
        log.add("twitter", at(day, "21:00"), 5)
    log.add("twitter", at(5, "21:00"), 5, n=6)
    surges = spillover(log.log()).surges.collect()
    assert surges.select(
        "surge_start", "surge_end", "n_buckets", "volume", "peak_volume"
    ).rows() == [(at(5, "20:00"), at(5, "22:00"), 2, 14, 8)]


def test_min_volume_and_factor() -> None:
    # the 8 tweets are not a surge when 10 are needed, nor when 9 × the baseline is
    assert spillover(evening_surge().log(), min_volume=10).surges.collect().height == 0
    assert spillover(evening_surge().log(), factor=9.0).surges.collect().height == 0
    assert spillover(evening_surge().log(), factor=7.5).surges.collect().height == 1


def test_daily_buckets_compare_with_previous_days() -> None:
    # daily buckets: no time of day to match; baseline = median of the previous 3 days
    log = Log()
    for day in range(1, 6):
        log.add("twitter", at(day, "12:00"), 5, n=12 if day == 5 else 2)
        log.add("phone", at(day, "12:00"), 20 if day == 5 else 2)
    result = spillover(log.log(), freq="1d", baseline="3d")
    assert result.freq == "1d"
    assert result.surges.collect()["surge_start"].to_list() == [at(5, "00:00")]
    phone = result.effects.filter(channel="phone", figure="first_response_time").collect()
    # 20 min vs 2 min on each of the four other days
    assert phone.select("surge_value", "comparable_value", "n_comparable_buckets").row(0) == (
        1200.0,
        120.0,
        4,
    )


def test_buckets_are_cut_in_the_policy_time_zone() -> None:
    policy = csm.Policy(timezone="Europe/Paris")
    buckets = spillover(evening_surge().log(), policy=policy).buckets.collect()
    assert buckets.schema["bucket_start"] == pl.Datetime("us", "Europe/Paris")
    # 20:00 UTC is 21:00 in Paris in March (UTC+1)
    first = buckets.filter(channel="twitter", volume=8)["bucket_start"].item()
    assert (first.hour, first.utcoffset()) == (21, dt.timedelta(hours=1))


def test_a_channel_without_surges_gives_no_effects() -> None:
    result = spillover(evening_surge().log(), surge_channel="facebook")
    assert result.surges.collect().height == 0
    assert result.effects.collect().height == 0
    assert not result.buckets.collect()["is_surge"].any()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"freq": "1x"}, "'freq'"),
        ({"freq": "30s"}, "whole minutes"),
        ({"baseline": "soon"}, "'baseline'"),
        ({"factor": 0.0}, "'factor'"),
        ({"min_history": 0}, "'min_history'"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(PolicyError, match=match):
        spillover(evening_surge().log(), **kwargs)


def test_an_empty_log_gives_empty_frames() -> None:
    result = spillover(EventLog.trusted(csm.datasets.simulate_frame(0)))
    assert result.buckets.collect().height == 0
    assert result.surges.collect().height == 0
    assert result.effects.collect().height == 0


# --------------------------------------------------------------------------------------------
# Uncertainty, the control for events that hit every channel, and the cascade


def test_one_surge_bucket_gives_an_interval_of_one_point() -> None:
    effects = spillover(evening_surge().log()).effects.collect()
    email = effects.filter(channel="email", figure="first_response_time").row(0, named=True)
    # one surge bucket: every bootstrap replicate draws it, the interval is the change itself
    assert email["ci_low"] == email["ci_high"] == 1800.0


def test_two_surge_buckets_give_an_interval_between_their_changes() -> None:
    log = evening_surge()
    for day in range(1, 6):
        log.add("email", at(day, "21:00"), 30 if day < 5 else 150)
        log.add("twitter", at(day, "21:00"), 5, n=7 if day == 5 else 1)
    effects = spillover(log.log()).effects.collect()
    email = effects.filter(channel="email", figure="first_response_time").row(0, named=True)
    # 20:00: 90 vs 60 min (+1800 s); 21:00: 150 vs 30 min (+7200 s); mean +4500 s
    assert email["n_surge_buckets"] == 2
    assert email["change"] == 4500.0
    assert 1800.0 <= email["ci_low"] < 4500.0 < email["ci_high"] <= 7200.0


def outage_hour() -> Log:
    # day 5 at 20:00 everything surges: 8 tweets and 8 emails (an outage), not a social surge
    log = Log()
    for day in range(1, 6):
        log.add("email", at(day, "10:00"), 10)
        log.add("email", at(day, "20:00"), 60, n=8 if day == 5 else 1)
        log.add("twitter", at(day, "20:00"), 5, n=8 if day == 5 else 1)
    return log


def test_a_shared_surge_is_flagged_and_left_out() -> None:
    result = spillover(outage_hour().log())
    surge = result.surges.collect().row(0, named=True)
    # the other channel ran at 8 times its baseline (8 emails against 1): shared
    assert (surge["others_ratio"], surge["is_shared"]) == (8.0, True)
    assert result.effects.collect().height == 0
    without = spillover(outage_hour().log(), shared_factor=None)
    email = without.effects.filter(channel="email", figure="volume").collect().row(0, named=True)
    # without the control the outage reads as 7 extra emails "during the twitter surge"
    assert email["change"] == 7.0


def test_cascade_counts_customers_who_went_public_next() -> None:
    log = evening_surge()
    # two more emails in the surge hour; one customer tweets 30 minutes later (same issue)
    log.add("email", at(5, "20:10"), None)
    hit = log.next_id
    log.add("email", at(5, "20:20"), None)
    log.rows.append(
        {
            "case_id": 999,
            "customer_id": hit,
            "channel": "twitter",
            "ts": at(5, "20:50"),
            "event_type": "case_created",
            "actor": "customer",
        }
    )
    # three emails against a baseline of one would make it a shared surge: no control here
    cascade = spillover(log.log(), shared_factor=None).cascade
    assert cascade is not None
    email = cascade.collect().filter(channel="email").row(0, named=True)
    # hit: the three emails of 5 March 20:00 (one followed by a public tweet): 1/3; the four
    # 20:00 emails of days 1-4: none went public (the 10:00 emails are not comparable hours)
    assert (email["n_hit"], email["n_hit_to_public"]) == (3, 1)
    assert (email["n_comparable"], email["n_comparable_to_public"]) == (4, 0)
    assert email["change"] == pytest.approx(1 / 3)
    # normal interval: sqrt((1/3)(2/3)/3 + 0) = 0.2722; ± 1.96 x 0.2722 = ± 0.5335
    assert email["ci_low"] == pytest.approx(1 / 3 - 0.53352, abs=1e-4)
    assert spillover(log.log(), cascade=False).cascade is None


def test_on_the_simulator_the_outage_is_a_shared_surge() -> None:
    log = csm.datasets.simulate(10_000, seed=2)
    result = spillover(log, surge_channel="twitter")
    surges = result.surges.collect()
    outage = surges.filter(pl.col("is_shared"))
    assert outage.height >= 1  # the outage day: every channel ran far above its baseline
    assert outage["others_ratio"].max() > 2  # type: ignore[operator]
    assert (outage["others_ratio"] >= 1.5).all()  # the shared_factor threshold
    # without the control, the outage reads as a surge in email volume "caused" by twitter
    raw = spillover(log, surge_channel="twitter", shared_factor=None, cascade=False)
    email = raw.effects.filter(channel="email", figure="volume").collect().row(0, named=True)
    assert email["ci_low"] > 0
    # with it, no surge is left whose effect on email volume excludes zero
    for row in (
        result.effects.filter(channel="email", figure="volume").collect().iter_rows(named=True)
    ):
        assert row["ci_low"] <= 0 <= row["ci_high"]


# --------------------------------------------------------------------------------------------
# A slowdown planted with a known size: the simulator's topic spike is a surge on twitter
# alone (150 public tweets moved into 10:00-13:00 of 15 January); with
# ``spike_slowdown_seconds`` every case on the other channels created meanwhile waits that
# much longer for its first reply. Quarter-hour buckets give twelve surge buckets; the
# control needs the other channels at three times their baseline (quarter hours are noisy).

SLOWDOWN_S = 600.0


def _planted_slowdown(seconds: float) -> pl.DataFrame:
    effects = csm.datasets.Effects(spike_cases=150, spike_slowdown_seconds=seconds)
    log = EventLog.trusted(csm.datasets.simulate_frame(10_000, seed=3, effects=effects))
    result = spillover(log, freq="15m", min_volume=8, shared_factor=3.0, cascade=False)
    surges = result.surges.collect()
    # the planted spike is the one surge found
    spike = dt.datetime(2024, 1, 15, 10, tzinfo=dt.UTC)
    assert surges.select("surge_start", "surge_end").rows() == [
        (spike, spike + dt.timedelta(hours=3))
    ]
    return result.effects.filter(
        pl.col("figure") == "first_response_time", pl.col("channel").is_in(["chat", "phone"])
    ).collect()


def test_a_planted_slowdown_is_recovered_within_its_interval() -> None:
    effects = _planted_slowdown(SLOWDOWN_S)
    assert effects.height == 2
    for row in effects.iter_rows(named=True):
        # chat and phone (first replies of a minute or so): ten minutes more, in the interval,
        # and the interval clear of zero
        assert row["n_surge_buckets"] >= 6
        assert row["ci_low"] <= SLOWDOWN_S <= row["ci_high"], row
        assert row["ci_low"] > 0


def test_without_a_planted_slowdown_the_interval_covers_zero() -> None:
    effects = _planted_slowdown(0.0)
    assert effects.height == 2
    for row in effects.iter_rows(named=True):
        assert row["ci_low"] <= 0.0 <= row["ci_high"], row
