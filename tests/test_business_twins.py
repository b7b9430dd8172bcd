"""Business-time twins of the durations in case_table and compute (DESIGN §5)."""

from __future__ import annotations

import datetime as dt

import polars as pl

import csmetrics as csm

# Paris office, Monday to Friday 09:00–17:00 local (UTC+1 in March 2024)
WEEKDAYS = dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), "09:00-17:00")
PARIS = csm.BusinessCalendar.weekly("Europe/Paris", **WEEKDAYS)


def _events() -> csm.EventLog:
    return csm.testing.log_from_rows(
        [
            # Fri 1 March 15:00 UTC = 16:00 Paris
            {"ts": "2024-03-01T15:00:00Z", "event_type": "case_created", "actor": "customer"},
            # Mon 4 March 09:00 UTC = 10:00 Paris
            {"ts": "2024-03-04T09:00:00Z", "event_type": "message", "actor": "agent"},
            {
                "ts": "2024-03-04T10:00:00Z",
                "event_type": "status_changed",
                "actor": "agent",
                "status": "pending",
            },
            {"ts": "2024-03-04T10:30:00Z", "event_type": "message", "actor": "customer"},
            {"ts": "2024-03-04T11:00:00Z", "event_type": "message", "actor": "agent"},
            {
                "ts": "2024-03-04T12:00:00Z",
                "event_type": "status_changed",
                "actor": "agent",
                "status": "solved",
            },
        ]
    )


def test_case_table_business_twins() -> None:
    row = csm.case_table(_events(), calendar=PARIS).collect().row(0, named=True)
    hours = {
        k: v / dt.timedelta(hours=1)
        for k, v in row.items()
        if k.endswith("_business") and isinstance(v, dt.timedelta)
    }
    # first response: Fri 16:00 → 17:00 (1 h) + Mon 09:00 → 10:00 (1 h) = 2 h
    # (calendar time: 66 h)
    assert hours["first_response_time_business"] == 2
    assert row["first_response_time"] == dt.timedelta(hours=66)
    # resolution: Fri 16:00 → Mon 13:00 Paris = 1 h + 4 h = 5 h
    assert hours["first_resolution_time_business"] == 5
    assert hours["full_resolution_time_business"] == 5
    # requester wait (new): Fri 16:00 → Mon 11:00 Paris = 1 h + 2 h = 3 h
    assert hours["requester_wait_time_business"] == 3
    # agent wait (pending): Mon 11:00 → 13:00 Paris = 2 h
    assert hours["agent_wait_time_business"] == 2
    # next reply: customer 11:30 → agent 12:00 Paris = 0.5 h, all in business hours
    assert hours["next_reply_time_sum_business"] == 0.5


def test_compute_reports_business_twins() -> None:
    out = csm.compute(
        _events(), ["first_response_time", "next_reply_time"], calendar=PARIS
    ).collect()
    values = dict(zip(out["metric"], out["value"], strict=True))
    assert values["first_response_time"] == 66 * 3600
    assert values["first_response_time_business"] == 2 * 3600
    assert values["next_reply_time_business"] == 0.5 * 3600


def test_always_open_calendar_equals_calendar_time() -> None:
    table = csm.case_table(
        csm.datasets.simulate(n_cases=300, seed=4), calendar=csm.BusinessCalendar.always_open()
    ).collect()
    for name in ("first_response_time", "requester_wait_time", "full_resolution_time"):
        same = table.select(
            (pl.col(name) == pl.col(f"{name}_business")) | pl.col(name).is_null()
        ).to_series()
        assert same.all(), name
