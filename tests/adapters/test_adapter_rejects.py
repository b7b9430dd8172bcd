"""Source records an adapter cannot map make raise mode fail and stay in the rejects."""

from __future__ import annotations

import polars as pl
import pytest

import csmetrics as csm
from csmetrics.adapters._base import finish, rejects


def _log() -> csm.EventLog:
    mapped = pl.LazyFrame(
        {
            "case_id": [1, 1],
            "customer_id": [7, 7],
            "channel": ["email", "email"],
            "ts": ["2024-03-01T09:00:00Z", "2024-03-01T09:30:00Z"],
            "event_type": ["case_created", "message"],
            "actor": ["customer", "agent"],
        }
    )
    unmapped = rejects(pl.LazyFrame({"Activity": ["Dance"]}), "unmapped_value", "Activity")
    return finish(mapped, unmapped, source="demo.csv", tz=None)


def test_raise_mode_names_the_unmapped_records() -> None:
    with pytest.raises(csm.AdapterError, match=r"demo\.csv: 1 source record.*unmapped_value"):
        csm.case_table(_log()).collect()


def test_quarantine_keeps_them_aside() -> None:
    log = _log()
    table = csm.case_table(log, on_invalid="quarantine").collect()
    assert table["n_events"].item() == 2
    assert log.rejected is not None
    # 2 mapped events + 1 rejected source record = every input row accounted for
    assert log.rejected.collect()["reason"].to_list() == ["unmapped_value"]
