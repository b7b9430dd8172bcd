"""case_table and compute on the real logs in ../shared/data/real, each read through its adapter.

Every pinned figure is computed twice: by csmetrics, and in the test by hand from the raw
file with the ``csv``/``json`` modules (or taken from the data set's README, which computed
it from the raw file independently of csmetrics).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import statistics
from collections import defaultdict
from pathlib import Path

import polars as pl
import pytest

import csmetrics as csm
from csmetrics.adapters.servicenow import read_servicenow
from csmetrics.adapters.twitter import read_twitter
from csmetrics.adapters.xes import read_process_log


def minutes(column: str) -> pl.Expr:
    return pl.col(column).dt.total_microseconds() / 60e6


def test_twcs_first_reply_per_brand(real_data: Path) -> None:
    log = read_twitter(real_data / "twcs" / "twcs_sample.csv")
    cases = csm.case_table(log).collect()
    # 920 threads: 906 started by a customer, 14 by a brand (agent-created cases)
    assert cases.height == 920
    assert int(cases["agent_created"].sum()) == 14
    # README: median first reply per brand = earliest brand tweet − the thread's first
    # customer tweet; for customer-started threads that is case creation → first reply
    medians = (
        cases.filter(~pl.col("agent_created"))
        .group_by("team")
        .agg(minutes("first_response_time").median().alias("m"), pl.len().alias("n"))
    )
    got = {r["team"]: (r["n"], r["m"]) for r in medians.iter_rows(named=True)}
    assert got["ChipotleTweets"][0] == 170
    assert got["ChipotleTweets"][1] == pytest.approx(9.85, abs=0.005)
    assert got["AmazonHelp"][1] == pytest.approx(12.43, abs=0.005)
    assert got["AskPlayStation"][1] == pytest.approx(511.43, abs=0.005)
    # every customer-started thread was answered (README: all 906 with a brand reply)
    assert int(cases.filter(~pl.col("agent_created"))["first_response_at"].null_count()) == 0


def test_ibm_twitter_care_first_reply(real_data: Path) -> None:
    path = real_data / "ibm-twitter-care" / "test.json"
    log = read_twitter(path)
    policy = csm.Policy.preset("intercom")  # clock from the customer's first tweet
    cases = csm.case_table(log, policy=policy).collect()
    assert cases.height == 500
    # by hand: t0 = first client item; t1 = first agent item at/after t0, else the
    # snowflake time of the final agentURL tweet
    by_hand = []
    for conv in json.loads(path.read_text(encoding="utf-8")):
        items = conv["dialogContent"]
        t0 = min(
            dt.datetime.fromisoformat(i["datetime"].replace("Z", "+00:00"))
            for i in items
            if "client" in i
        )
        agent_times = [
            dt.datetime.fromisoformat(i["datetime"].replace("Z", "+00:00"))
            for i in items
            if "agent" in i
        ]
        later = [t for t in agent_times if t >= t0]
        if later:
            t1 = min(later)
        else:
            ms = (int(conv["agentURL"]["tweet_ID"]) >> 22) + 1288834974657
            t1 = dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)
        by_hand.append((t1 - t0).total_seconds() / 60)
    assert statistics.median(by_hand) == pytest.approx(125.751, abs=0.001)  # README figure
    overall = cases.select(minutes("first_response_time").median()).item()
    assert overall == pytest.approx(statistics.median(by_hand), abs=1e-6)


def test_servicenow_resolution(real_data: Path) -> None:
    path = real_data / "servicenow-incidents" / "incident_event_log.csv"
    log = read_servicenow(path, tz="UTC", missing_caller="unknown")
    cases = csm.case_table(log).collect()
    # by hand: per incident, the earliest update at or after its opening whose state is
    # Resolved or Closed
    fmt = "%d/%m/%Y %H:%M"
    opened: dict[str, dt.datetime] = {}
    updates: dict[str, list[tuple[dt.datetime, str]]] = defaultdict(list)
    reopened = set()
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            number = row["number"]
            # the case is created at opened_at (DESIGN §2.2: the case_created event); 5
            # incidents have updates logged before their opened_at (a wart of the source):
            # they count as events but start no clock
            opened[number] = dt.datetime.strptime(row["opened_at"], fmt)
            at = dt.datetime.strptime(row["sys_updated_at"], fmt)
            updates[number].append((at, row["incident_state"]))
            if row["reopen_count"] not in ("0", "?"):
                reopened.add(number)
    first_resolved = {
        n: min(at for at, state in rows if state in ("Resolved", "Closed") and at >= opened[n])
        for n, rows in updates.items()
        if any(state in ("Resolved", "Closed") and at >= opened[n] for at, state in rows)
    }
    assert len(opened) == 3702  # README: 3,702 incidents
    hours = [(first_resolved[n] - opened[n]).total_seconds() / 3600 for n in first_resolved]
    got = cases.filter(pl.col("first_resolved_at").is_not_null())
    assert got.height == len(hours)
    assert got.select(minutes("first_resolution_time").median()).item() / 60 == pytest.approx(
        statistics.median(hours), abs=1e-6
    )
    assert len(reopened) == 59  # README: 59 incidents with reopen_count > 0
    # csmetrics finds one more: INC0000137's updates in time order go New 09:52 →
    # Resolved 11:03 → New 11:10 → Closed, a move back from a solve (DESIGN §3), although
    # the source's reopen_count stays 0 (the 11:10 row carries sys_mod_count 1, an update
    # logged out of order). We count what the time stamps say.
    ours = set(cases.filter(pl.col("n_reopens") > 0)["case_id"].to_list())
    assert ours == reopened | {"INC0000137"}


def test_helpdesk_case_duration(real_data: Path) -> None:
    path = real_data / "helpdesk" / "helpdesk.csv"
    log = read_process_log(path, tz="UTC")
    cases = csm.case_table(log).collect()
    # README: 4,580 cases; case duration (last − first time stamp) median 39.8592 days
    assert cases.height == 4580
    days = (pl.col("last_event_at") - pl.col("created_at")).dt.total_microseconds() / 86400e6
    assert cases.select(days.median()).item() == pytest.approx(39.8592, abs=1e-4)
    by_case: dict[str, list[str]] = defaultdict(list)
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            by_case[row["Case ID"]].append(row["Activity"])
    resolved = sum(1 for acts in by_case.values() if "Resolve ticket" in acts or "Closed" in acts)
    assert int(cases["first_resolved_at"].is_not_null().sum()) == resolved
