"""Tiny event logs written by hand (tests, examples, the plugin checks).

:func:`csmetrics.testing.log_from_rows` is the public name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import polars as pl

from csmetrics.log import EventLog

__all__ = ["log_from_rows"]

_ROW_FIELDS = ("ts", "event_type", "actor")


def _timestamp(value: object, date: str) -> object:
    if isinstance(value, str) and len(value) in (5, 8) and value[2] == ":":
        return f"{date}T{value}{':00' if len(value) == 5 else ''}Z"
    return value


def log_from_rows(
    rows: Iterable[Sequence[Any] | Mapping[str, Any]],
    *,
    case_id: int | str = 1,
    customer_id: int | str = 1,
    channel: str = "email",
    date: str = "2024-03-01",
    tz: str | None = None,
) -> EventLog:
    """A validated event log from a few hand-written rows.

    Parameters
    ----------
    rows
        Tuples ``(time, event_type, actor)`` or ``(time, event_type, actor, {extra columns})``,
        or mappings with any canonical columns. ``time`` may be ``"HH:MM"`` or ``"HH:MM:SS"``
        (on ``date``, UTC), an ISO 8601 string or a datetime.
    case_id, customer_id, channel
        Defaults for rows that do not say.
    date
        The day ``"HH:MM"`` times fall on.
    tz
        Zone of naive time stamps, passed to validation.

    Examples
    --------
    >>> log = log_from_rows([("09:00", "case_created", "customer"),
    ...     ("09:30", "status_changed", "agent", {"status": "solved"})])
    >>> log.frame.collect()["status"].to_list()
    [None, 'solved']
    """
    records: list[dict[str, Any]] = []
    for row in rows:
        if isinstance(row, Mapping):
            record = dict(row)
        else:
            record = dict(zip(_ROW_FIELDS, row[:3], strict=True))
            if len(row) > 3:
                record.update(row[3])
        record.setdefault("case_id", case_id)
        record.setdefault("customer_id", customer_id)
        record.setdefault("channel", channel)
        record["ts"] = _timestamp(record["ts"], date)
        records.append(record)
    columns: dict[str, list[Any]] = {}
    for i, record in enumerate(records):
        for key in record:
            columns.setdefault(key, [None] * i)
        for key, values in columns.items():
            values.append(record.get(key))
    if "ts" in columns and any(isinstance(v, dt.datetime) for v in columns["ts"]):
        columns["ts"] = [v.isoformat() if isinstance(v, dt.datetime) else v for v in columns["ts"]]
    frame = pl.DataFrame(columns, strict=False)
    log = EventLog.from_frame(frame, tz=tz, source="<log_from_rows>")
    return log.checked("raise")
