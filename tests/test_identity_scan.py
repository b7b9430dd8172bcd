"""``scan_events(identity=...)`` joins handles of one customer before anything else."""

from __future__ import annotations

from pathlib import Path

import polars as pl

import csmetrics as csm


def test_scan_events_applies_the_identity_map(tmp_path: Path) -> None:
    events = tmp_path / "events.csv"
    events.write_text(
        "case_id,customer_id,channel,ts,event_type,actor\n"
        "1,ann@example.com,email,2024-03-01T09:00:00Z,case_created,customer\n"
        "2,@ann,twitter,2024-03-01T10:00:00Z,case_created,customer\n"
    )
    identity = csm.IdentityMap.from_frame(
        pl.DataFrame(
            {
                "channel": ["email", "twitter"],
                "handle": ["ann@example.com", "@ann"],
                "customer_id": ["ann", "ann"],
            }
        )
    )
    log = csm.scan_events(events, identity=identity)
    assert log.frame.collect()["customer_id"].to_list() == ["ann", "ann"]
    # one customer, two channels, the second case while the first is open: one issue
    issues = csm.journeys(log).collect()
    assert issues.height == 1
    assert issues["n_switches"].item() == 1
