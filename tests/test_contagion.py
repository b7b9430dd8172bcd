"""comp_contagion: hand-worked event studies, and the simulator's planted contagion."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import csmetrics as csm
from csmetrics.contagion import CONTAGION_COLUMNS, comp_contagion, contagion_events
from csmetrics.datasets import Effects, simulate
from csmetrics.exceptions import PolicyError


def new_case(ts: str, case_id: int, customer: str, channel: str = "twitter", **extra: Any) -> Any:
    return (
        ts,
        "case_created",
        "customer",
        {"case_id": case_id, "customer_id": customer, "channel": channel, **extra},
    )


def message(
    ts: str,
    case_id: int,
    customer: str,
    public: bool | None,
    actor: str = "customer",
    channel: str = "twitter",
) -> Any:
    return (
        ts,
        "message",
        actor,
        {"case_id": case_id, "customer_id": customer, "channel": channel, "is_public": public},
    )


def comp(ts: str, case_id: int, customer: str, channel: str = "twitter", **extra: Any) -> Any:
    return (
        ts,
        "comp_granted",
        "agent",
        {
            "case_id": case_id,
            "customer_id": customer,
            "channel": channel,
            "comp_amount": 5.0,
            **extra,
        },
    )


def row(frame: pl.DataFrame, channel: str | None) -> dict[str, Any]:
    rows = frame.filter(pl.col("channel").eq_missing(channel)).to_dicts()
    assert len(rows) == 1
    return rows[0]


def test_one_public_comp_with_a_control() -> None:
    # comp on twitter 03-08 10:00; windows (10:00, 12:00] on 03-01, 03-08, 03-15
    log = csm.testing.log_from_rows(
        [
            new_case("2024-03-01T09:00Z", 90, "z", "email"),  # the log starts here
            new_case("2024-03-01T10:30Z", 91, "p"),  # baseline 03-01: twitter 1
            new_case("2024-03-01T11:00Z", 92, "q", "email"),  # baseline 03-01: email 2
            new_case("2024-03-01T11:30Z", 93, "r", "email"),
            new_case("2024-03-08T09:00Z", 1, "a"),
            comp("2024-03-08T10:00Z", 1, "a"),
            new_case("2024-03-08T10:10Z", 2, "b"),  # after: twitter 2 (b, c)
            new_case("2024-03-08T11:59Z", 3, "c"),
            new_case("2024-03-08T11:00Z", 4, "a"),  # the comped customer's own: not counted
            *(new_case(f"2024-03-08T1{h}:20Z", 10 + h, f"e{h}", "email") for h in (0, 1)),
            new_case("2024-03-08T10:40Z", 12, "e2", "phone"),
            new_case("2024-03-08T11:40Z", 13, "e3", "chat"),  # after: other channels 4
            new_case("2024-03-08T12:30Z", 14, "late"),  # after the window
            new_case("2024-03-15T10:05Z", 21, "s", "email"),  # baseline 03-15: twitter 0, email 2
            new_case("2024-03-15T12:00Z", 22, "t", "email"),  # (end inclusive)
            new_case("2024-03-15T13:00Z", 23, "u", "email"),  # the log ends here
        ]
    )
    events = contagion_events(log, baseline_days=[-7, 7]).collect()
    assert events.select(
        "case_id",
        "is_event",
        "after",
        "baseline",
        "n_baseline_windows",
        "control_after",
        "control_baseline",
    ).rows() == [
        (1, True, 2, 0.5, 2, 4, 2.0)  # baseline (1 + 0) / 2; control (2 + 2) / 2
    ]
    out = comp_contagion(log, baseline_days=[-7, 7]).collect()
    assert tuple(out.columns) == CONTAGION_COLUMNS
    twitter = row(out, "twitter")
    # control ratio 4 / 2 = 2; effect = 2 - 0.5 x 2 = 1; relative 1 / (0.5 x 2) = 1
    assert twitter["control_ratio"] == 2.0
    assert twitter["effect"] == pytest.approx(1.0)
    assert twitter["relative_effect"] == pytest.approx(1.0)
    # one event: every bootstrap replicate draws it, so the interval is the point
    assert twitter["ci_low"] == pytest.approx(1.0)
    assert twitter["ci_high"] == pytest.approx(1.0)
    assert (twitter["n_comps"], twitter["n_events"], twitter["n_excluded"]) == (1, 1, 0)
    # without the control: 2 - 0.5 = 1.5
    plain = comp_contagion(log, baseline_days=[-7, 7], control=False).collect()
    assert row(plain, None)["effect"] == pytest.approx(1.5)
    assert row(plain, None)["window_seconds"] == 7_200.0


def test_exclusions_overlap_edge_and_baseline_windows_with_a_comp() -> None:
    log = csm.testing.log_from_rows(
        [
            new_case("2024-03-01T08:00Z", 1, "a"),
            comp("2024-03-01T09:00Z", 1, "a"),  # 03-01 09:00 and 10:30: 1h30 apart < 2h: overlap
            new_case("2024-03-01T09:30Z", 2, "b"),
            comp("2024-03-01T10:30Z", 2, "b"),
            new_case("2024-03-08T08:00Z", 3, "c"),
            comp("2024-03-08T09:00Z", 3, "c"),  # isolated; baseline -7d holds the comps above
            comp("2024-03-15T09:00Z", 3, "c", channel="facebook"),  # the window passes the end
            new_case("2024-03-15T10:00Z", 4, "d", "email"),  # the log ends 03-15 10:00
        ]
    )
    events = contagion_events(log, baseline_days=[-7, 7]).collect()
    reasons = dict(events.select("ts", "excluded_reason").iter_rows())
    assert list(reasons.values()) == ["overlap", "overlap", "no_baseline", "edge"]
    # 03-08 09:00: -7d = 03-01 09:00 has comps within 2h; +7d ends 03-15 11:00 > the end
    assert events.filter(pl.col("excluded_reason") == "no_baseline")[
        "n_baseline_windows"
    ].to_list() == [0]
    out = comp_contagion(log, baseline_days=[-7, 7]).collect()
    overall = row(out, None)
    assert (overall["n_comps"], overall["n_events"], overall["n_excluded"]) == (4, 0, 4)
    assert overall["effect"] is None


def test_visibility_comes_from_the_events() -> None:
    # a DM conversation on twitter (first customer message private) is not a public comp;
    # a public complaint taken to DM keeps the case public (comp without its own flag);
    # a comp row marked private is not public, whatever the case
    log = csm.testing.log_from_rows(
        [
            new_case("2024-03-01T08:00Z", 1, "dm"),
            message("2024-03-01T08:00Z", 1, "dm", public=False),
            comp("2024-03-01T09:00Z", 1, "dm"),
            new_case("2024-03-02T08:00Z", 2, "moved"),
            message("2024-03-02T08:00Z", 2, "moved", public=True),
            message("2024-03-02T08:30Z", 2, "moved", public=False, actor="agent"),
            comp("2024-03-02T09:00Z", 2, "moved"),
            new_case("2024-03-03T08:00Z", 3, "flagged"),
            comp("2024-03-03T09:00Z", 3, "flagged", is_public=False),
            new_case("2024-03-04T08:00Z", 4, "e", "email"),
            comp("2024-03-04T09:00Z", 4, "e", channel="email"),  # email: private by default
        ]
    )
    events = contagion_events(log, baseline_days=[1]).collect()
    assert events["case_id"].to_list() == [2]
    # new public cases: a DM (case 1) is not one; the window (03-02 09:00, 11:00] is empty
    assert events["after"].to_list() == [0]


def test_bad_arguments_raise_policy_errors() -> None:
    log = csm.testing.log_from_rows([("09:00", "case_created", "customer")])
    with pytest.raises(PolicyError, match="baseline_days"):
        comp_contagion(log, baseline_days=[0])
    with pytest.raises(PolicyError, match="window"):
        comp_contagion(log, window="0h")
    with pytest.raises(PolicyError, match="n_boot"):
        comp_contagion(log, n_boot=0).collect()
    with pytest.raises(PolicyError, match="level"):
        comp_contagion(log, level=1.5).collect()


# --------------------------------------------------------------------------------------------
# The simulator plants contagion with a known size


@pytest.fixture(scope="module")
def planted() -> pl.DataFrame:
    return comp_contagion(simulate(10_000, seed=2, effects=Effects(contagion=1.0))).collect()


@pytest.fixture(scope="module")
def unplanted() -> pl.DataFrame:
    return comp_contagion(simulate(10_000, seed=2)).collect()


def test_planted_contagion_is_recovered_within_the_interval(planted: pl.DataFrame) -> None:
    overall = row(planted, None)
    assert overall["n_events"] > 50
    # one extra public case per public comp was planted
    assert overall["ci_low"] < 1.0 < overall["ci_high"]
    assert overall["ci_low"] > 0  # and the interval excludes "no effect"
    for channel in ("twitter", "facebook"):
        assert row(planted, channel)["ci_low"] < 1.0 < row(planted, channel)["ci_high"]


def test_no_contagion_planted_no_effect_found(unplanted: pl.DataFrame) -> None:
    for channel in ("twitter", "facebook", None):
        found = row(unplanted, channel)
        assert found["ci_low"] < 0.0 < found["ci_high"], channel
        assert abs(found["effect"]) < 0.5


def test_the_same_seed_gives_the_same_interval(unplanted: pl.DataFrame) -> None:
    again = comp_contagion(simulate(10_000, seed=2)).collect()
    # the same draws; parallel float sums may differ in the last bits between runs
    assert_frame_equal(again, unplanted, check_exact=False, rel_tol=1e-9, abs_tol=1e-12)


def test_planted_cases_arrive_in_the_window_after_a_public_comp() -> None:
    frame = csm.datasets.simulate_frame(
        4_000,
        seed=5,
        truth=True,
        effects=Effects(contagion=0.5, contagion_window=dt.timedelta(hours=1)),
    )
    moved = frame.filter(pl.col("sim_planted") == "contagion")
    assert moved["case_id"].n_unique() > 10
    assert moved["sim_is_public"].all()
    comps = frame.filter((pl.col("event_type") == "comp_granted") & pl.col("sim_is_public"))
    starts = moved.group_by("case_id", "channel").agg(pl.col("ts").min())
    # each planted case starts within an hour after a public comp on its channel
    joined = starts.sort("ts").join_asof(
        comps.select("channel", pl.col("ts").alias("comp_ts")).sort("comp_ts"),
        left_on="ts",
        right_on="comp_ts",
        by="channel",
        strategy="backward",
    )
    assert ((joined["ts"] - joined["comp_ts"]) <= dt.timedelta(hours=1)).all()
    assert frame["case_id"].n_unique() == 4_000


# --------------------------------------------------------------------------------------------
# Comp requests: read from the message text with topic rules

REQUESTS = {"comp_request": {"keywords": ["compensation", "voucher", "refund me too"]}}


def test_comp_requests_hand_worked() -> None:
    log = csm.testing.log_from_rows(
        [
            new_case("2024-03-01T09:00Z", 90, "z", "email"),
            (
                "2024-03-01T10:30Z",
                "message",
                "customer",
                {
                    "case_id": 91,
                    "customer_id": "p",
                    "channel": "twitter",
                    "text": "a voucher, please",
                },
            ),
            new_case("2024-03-08T09:00Z", 1, "a"),
            comp("2024-03-08T10:00Z", 1, "a"),
            (
                "2024-03-08T10:20Z",
                "message",
                "customer",  # a public request: counts
                {
                    "case_id": 2,
                    "customer_id": "b",
                    "channel": "twitter",
                    "text": "Compensation too!",
                },
            ),
            (
                "2024-03-08T10:40Z",
                "message",
                "customer",  # a request in a DM: not public
                {
                    "case_id": 3,
                    "customer_id": "c",
                    "channel": "twitter",
                    "text": "voucher?",
                    "is_public": False,
                },
            ),
            (
                "2024-03-08T11:00Z",
                "message",
                "customer",  # the comped customer's own: not counted
                {
                    "case_id": 1,
                    "customer_id": "a",
                    "channel": "twitter",
                    "text": "more compensation",
                },
            ),
            (
                "2024-03-08T11:30Z",
                "message",
                "customer",  # not a request
                {"case_id": 4, "customer_id": "d", "channel": "twitter", "text": "hello"},
            ),
            new_case("2024-03-15T13:00Z", 23, "u", "email"),
        ]
    )
    events = contagion_events(log, baseline_days=[-7, 7], requests=REQUESTS).collect()
    # after: b (public request); baseline: 03-01 one request (p), 03-15 none → 0.5
    assert events.select("requests_after", "requests_baseline").row(0) == (1, 0.5)
    out = comp_contagion(log, baseline_days=[-7, 7], requests=REQUESTS, control=False).collect()
    asks = out.filter((pl.col("outcome") == "comp_requests") & pl.col("channel").is_null())
    assert asks["effect"].item() == pytest.approx(0.5)
    assert out["outcome"].unique(maintain_order=True).to_list() == [
        "new_public_cases",
        "comp_requests",
    ]
    no_text = csm.testing.log_from_rows([("09:00", "case_created", "customer")])
    with pytest.raises(PolicyError, match="column 'text', which the log does not have"):
        comp_contagion(no_text, requests=REQUESTS)


def requests_row(contagion: float) -> dict[str, Any]:
    log = simulate(10_000, seed=2, effects=Effects(contagion=contagion, text=True))
    out = comp_contagion(log, requests=REQUESTS).collect()
    return out.filter((pl.col("outcome") == "comp_requests") & pl.col("channel").is_null()).row(
        0, named=True
    )


def test_planted_comp_requests_are_recovered() -> None:
    # every planted customer asks for a comp: half a request per public comp on average
    # (half the comps get one), none elsewhere
    found = requests_row(0.5)
    assert found["ci_low"] < 0.5 < found["ci_high"]
    assert found["ci_low"] > 0
    # one per comp: exactly one request after every event, none in the baselines
    exact = requests_row(1.0)
    assert exact["effect"] == exact["ci_low"] == exact["ci_high"] == 1.0


def test_no_requests_planted_none_found() -> None:
    found = requests_row(0.0)
    assert found["ci_low"] <= 0.0 <= found["ci_high"]
