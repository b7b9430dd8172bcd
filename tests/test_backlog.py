"""Backlog (DESIGN §3, §4.2): at every period end, the cases open at that instant.

Checked against an independent plain-Python replay of each case's status over its events in
event order (no csmetrics code), on a simulated log with reopens, auto-closes and merges.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import polars as pl
import pytest

import csmetrics as csm
from csmetrics.schema import ACTORS, EVENT_TYPES

RESOLVED = {"solved", "closed"}


def _replay_open_at(
    events: list[dict[str, Any]], instants: list[dt.datetime]
) -> dict[Any, list[bool]]:
    """For each case: open (exists, status not solved/closed) just before each instant."""
    by_case: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        by_case[event["case_id"]].append(event)
    out: dict[Any, list[bool]] = {}
    for case_id, rows in by_case.items():
        rows.sort(
            key=lambda e: (
                e["ts"],
                EVENT_TYPES.index(e["event_type"]),
                ACTORS.index(e["actor"]),
                e["event_id"],
            )
        )
        created = next((e["ts"] for e in rows if e["event_type"] == "case_created"), rows[0]["ts"])
        flags = []
        for instant in instants:
            status = "new"
            for e in rows:
                if e["ts"] >= instant:
                    break
                if e["event_type"] == "status_changed":
                    status = e["status"]
                elif e["event_type"] == "merged":
                    status = "closed"
            flags.append(created < instant and status not in RESOLVED)
        out[case_id] = flags
    return out


@pytest.fixture(scope="module")
def simulated() -> pl.DataFrame:
    return csm.datasets.simulate_frame(n_cases=1500, seed=11)


def test_backlog_by_day_equals_a_replay_of_each_case(simulated: pl.DataFrame) -> None:
    log = csm.EventLog.from_frame(simulated)
    policy = csm.Policy()
    out = (
        csm.compute(log, "backlog", by="channel", period="day", policy=policy)
        .collect()
        .sort("channel", "period_start")
    )
    merged = set(simulated.filter(pl.col("event_type") == "merged")["case_id"].to_list())
    events = simulated.filter(~pl.col("case_id").is_in(list(merged))).to_dicts()
    for e in events:
        e["event_type"], e["actor"] = str(e["event_type"]), str(e["actor"])
        e["status"] = None if e["status"] is None else str(e["status"])
    days = sorted(set(out["period_start"].to_list()))
    ends = [d + dt.timedelta(days=1) for d in days]
    flags = _replay_open_at(events, ends)
    channel_of = {e["case_id"]: e["channel"] for e in events if e["event_type"] == "case_created"}
    expected: dict[tuple[str, dt.datetime], int] = defaultdict(int)
    for case_id, opened in flags.items():
        for day, is_open in zip(days, opened, strict=True):
            expected[(channel_of[case_id], day)] += int(is_open)
    checked = 0
    for row in out.iter_rows(named=True):
        assert row["value"] == expected[(row["channel"], row["period_start"])], row
        checked += 1
    assert checked == len(out) > 50
    # the last period's figure is the count open at as_of
    open_now = csm.compute(log, "backlog", by="channel", policy=policy).collect().sort("channel")
    last_day = out.filter(pl.col("period_start") == days[-1]).sort("channel")
    assert last_day["value"].to_list() == open_now["value"].to_list()
    table = csm.case_table(log, policy=policy, columns=["channel", "is_open", "merged"]).collect()
    per_channel = (
        table.filter(~pl.col("merged"))
        .group_by("channel")
        .agg(pl.col("is_open").sum())
        .sort("channel")
    )
    assert open_now["value"].cast(pl.Int64).to_list() == per_channel["is_open"].to_list()


def test_a_solved_then_auto_closed_case_is_not_open_in_between() -> None:
    # solved 1 Mar 10:00, closed (auto-close) 5 Mar: open only on 1 Mar before 10:00,
    # so the backlog at the end of every day from 1 to 7 March is 0
    log = csm.testing.log_from_rows(
        [
            ("2024-03-01T09:00:00+00:00", "case_created", "customer"),
            ("2024-03-01T10:00:00+00:00", "status_changed", "agent", {"status": "solved"}),
            ("2024-03-05T10:00:00+00:00", "status_changed", "system", {"status": "closed"}),
        ]
    )
    policy = csm.Policy(as_of=dt.datetime(2024, 3, 7, 12, tzinfo=dt.UTC))
    out = csm.compute(log, "backlog", period="day", policy=policy).collect()
    assert out["value"].to_list() == [0.0] * 7
