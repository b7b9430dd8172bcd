"""Agent occupancy and pulled agents: hand-worked logs and the simulator's planted pull."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

import csmetrics as csm
from csmetrics.datasets import Effects, simulate
from csmetrics.exceptions import PolicyError
from csmetrics.occupancy import OCCUPANCY_COLUMNS, PULLED_COLUMNS, agent_occupancy, pulled_onto

UTC = dt.UTC


def test_occupancy_counts_messages_and_handle_time_per_hour() -> None:
    log = csm.testing.log_from_rows(
        [
            ("09:00", "message", "customer", {"case_id": 1}),  # not an agent: ignored
            (
                "09:10",
                "message",
                "agent",
                {"case_id": 1, "agent_id": "ann", "handle_seconds": 60.0},
            ),
            ("09:15", "note", "agent", {"case_id": 1, "agent_id": "ann", "handle_seconds": 120.0}),
            ("09:30", "message", "agent", {"case_id": 2, "channel": "chat", "agent_id": "ann"}),
            ("09:45", "message", "agent", {"case_id": 2, "channel": "chat"}),  # no agent id
            (
                "10:05",
                "message",
                "agent",
                {"case_id": 3, "channel": "phone", "agent_id": "bob", "handle_seconds": 600.0},
            ),
        ]
    )
    out = agent_occupancy(log).collect()
    assert tuple(out.columns) == OCCUPANCY_COLUMNS
    assert out.select(
        "agent_id",
        pl.col("bucket_start").dt.hour(),
        "channel",
        "n_messages",
        "handle_seconds",
        "message_share",
        "handle_share",
    ).rows() == [
        # ann 09:00: 1 email message (+ a note: handle 60 + 120 = 180 s), 1 chat (0 s)
        ("ann", 9, "chat", 1, 0.0, 0.5, 0.0),
        ("ann", 9, "email", 1, 180.0, 0.5, 1.0),
        ("bob", 10, "phone", 1, 600.0, 1.0, 1.0),
    ]
    daily = agent_occupancy(log, freq="1d").collect()
    assert daily.height == 3
    with pytest.raises(PolicyError, match="whole minutes"):
        agent_occupancy(log, freq="30s")


def test_pulled_onto_hand_worked() -> None:
    rows = []
    # baseline days (-7, +7): sam answers both twitter cases each day
    for day in ("2024-03-01", "2024-03-15"):
        for case, hour in ((1, 10), (2, 11)):
            rows.append(
                (
                    f"{day}T{hour}:00Z",
                    "message",
                    "agent",
                    {"agent_id": "sam", "channel": "twitter", "case_id": f"{day}/{case}"},
                )
            )
    # the surge day: 4 twitter cases; eve (an email agent) takes 2 of them and 2 emails
    rows += [
        (
            "2024-03-08T09:30Z",
            "message",
            "agent",
            {"agent_id": "sam", "channel": "twitter", "case_id": "t1"},
        ),
        (
            "2024-03-08T09:40Z",
            "message",
            "agent",
            {"agent_id": "sam", "channel": "twitter", "case_id": "t2"},
        ),
        (
            "2024-03-08T10:00Z",
            "message",
            "agent",
            {"agent_id": "eve", "channel": "twitter", "case_id": "t3"},
        ),
        (
            "2024-03-08T10:05Z",
            "message",
            "agent",
            {"agent_id": "eve", "channel": "twitter", "case_id": "t3"},
        ),
        (
            "2024-03-08T10:30Z",
            "message",
            "agent",
            {"agent_id": "eve", "channel": "twitter", "case_id": "t4"},
        ),
        ("2024-03-08T11:00Z", "message", "agent", {"agent_id": "eve", "case_id": "e1"}),
        ("2024-03-08T11:30Z", "message", "agent", {"agent_id": "eve", "case_id": "e2"}),
        (
            "2024-03-08T12:30Z",
            "message",
            "agent",
            {"agent_id": "eve", "channel": "twitter", "case_id": "t5"},
        ),  # after the window
    ]
    log = csm.testing.log_from_rows(rows)
    out = pulled_onto(
        log,
        ["twitter"],
        dt.datetime(2024, 3, 8, 9, tzinfo=UTC),
        dt.datetime(2024, 3, 8, 12, tzinfo=UTC),
    ).collect()
    assert tuple(out.columns) == PULLED_COLUMNS
    eve, sam = out.row(0, named=True), out.row(1, named=True)
    # 4 twitter cases in the window; eve 2 (t3, t4), sam 2; baseline: 4 cases, all sam's
    assert (eve["agent_id"], eve["n_cases"], eve["case_share"]) == ("eve", 2, 0.5)
    assert (eve["baseline_n_cases"], eve["baseline_case_share"], eve["change"]) == (0, 0.0, 0.5)
    # eve's own messages in the window: 3 twitter of 5
    assert eve["own_share"] == pytest.approx(3 / 5)
    assert (sam["case_share"], sam["baseline_case_share"], sam["change"]) == (0.5, 1.0, -0.5)
    # Wilson 95 %, k = 2, n = 4: centre (0.5 + 1.9208 / 4) / (1 + 3.8415 / 4) = 0.5;
    # half 1.96 x sqrt(0.0625 + 3.8415 / 64) / 1.9604 = 0.3499
    assert eve["ci_low"] == pytest.approx(0.5 - 0.34994, abs=1e-4)
    assert eve["ci_high"] == pytest.approx(0.5 + 0.34994, abs=1e-4)
    assert (eve["n_channel_cases"], eve["n_baseline_channel_cases"]) == (4, 4)


def test_pulled_onto_bad_arguments() -> None:
    log = csm.testing.log_from_rows([("09:00", "message", "agent", {"agent_id": "a"})])
    start = dt.datetime(2024, 3, 1, 9, tzinfo=UTC)
    with pytest.raises(PolicyError, match="time-zone aware"):
        pulled_onto(log, "twitter", dt.datetime(2024, 3, 1), start)
    with pytest.raises(PolicyError, match="after 'start'"):
        pulled_onto(log, "twitter", start, start)
    with pytest.raises(PolicyError, match="channel names"):
        pulled_onto(log, [], start, start + dt.timedelta(hours=1))


# --------------------------------------------------------------------------------------------
# The simulator: a surge on social pulls two named email agents


def surge_window(frame: pl.DataFrame) -> tuple[dt.datetime, dt.datetime]:
    start = frame.filter(pl.col("topic") == "outage")["ts"].min()
    assert isinstance(start, dt.datetime)
    return start, start + dt.timedelta(hours=6)


# 10,000 cases: 3 agents per team; the email team is the second: A00004, A00005
PULLED = ["A00004", "A00005"]


def test_the_planted_pull_is_recovered() -> None:
    log = simulate(10_000, seed=3, effects=Effects(pulled_agents=2, pulled_share=0.5))
    start, end = surge_window(log.frame.collect())
    out = pulled_onto(log, ["twitter", "facebook"], start, end).collect()
    pulled = out.filter(pl.col("agent_id").is_in(PULLED))
    assert pulled.height == 2
    for row in pulled.iter_rows(named=True):
        assert row["ci_low"] > 0  # pulled onto social ...
        assert row["baseline_case_share"] == 0.0  # ... where they never write otherwise
    # together they took about half the social cases of the surge (cases answered in the
    # window include some started before it, which the social team had: a little less)
    assert 0.3 < pulled["case_share"].sum() < 0.6
    # the social team's share fell by about as much
    social_team = out.filter(~pl.col("agent_id").is_in(PULLED) & (pl.col("baseline_n_cases") > 0))
    assert social_team["change"].sum() < -0.2


def test_no_pull_planted_none_found() -> None:
    log = simulate(10_000, seed=3)
    start, end = surge_window(log.frame.collect())
    out = pulled_onto(log, ["twitter", "facebook"], start, end).collect()
    # the email agents never write on social: no row, or an interval from zero
    for row in out.filter(pl.col("agent_id").is_in(PULLED)).iter_rows(named=True):
        assert row["n_cases"] == 0
        assert row["ci_low"] <= 0.0
