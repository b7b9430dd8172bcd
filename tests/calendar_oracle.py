"""A brute-force oracle of business time: walk UTC minute by minute and read the office clock.

Independent of ``csmetrics.calendar``: it reads the calendar's file structure (the dict of
DESIGN §5.1) with its own small parser and decides each minute with :mod:`zoneinfo` alone.
A UTC minute is open when its local wall-clock time lies inside an open interval of the day
that interval belongs to: the local date it starts on, whose hours are its holiday's (if
any) or its schedule's (the latest ``effective_from`` on or before it; the first schedule
before that). Interval endpoints and offsets are whole minutes, so the walk is exact.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _minutes(text: str) -> tuple[int, int]:
    start, end = text.split("-")
    h0, m0 = (int(x) for x in start.split(":"))
    h1, m1 = (int(x) for x in end.split(":"))
    a, b = h0 * 60 + m0, h1 * 60 + m1
    return (a, b if b > a else b + 1440)


def _day(value: object) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


class Oracle:
    """Per-minute openness of one calendar dict, with prefix sums over a window of minutes."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.tz = ZoneInfo(spec["timezone"])
        self.schedules: list[tuple[dt.date | None, list[list[tuple[int, int]]]]] = []
        for entry in spec["schedule"]:
            start = _day(entry["effective_from"]) if "effective_from" in entry else None
            week = [[_minutes(t) for t in entry.get(day, [])] for day in DAYS]
            self.schedules.append((start, week))
        self.holidays: dict[dt.date, list[tuple[int, int]]] = {}
        for entry in spec.get("holidays", []):
            self.holidays[_day(entry["date"])] = [_minutes(t) for t in entry.get("hours", [])]
        self._hours: dict[dt.date, list[tuple[int, int]]] = {}
        self._prefix: dict[int, int] = {}
        self._lo = self._hi = 0

    def hours(self, day: dt.date) -> list[tuple[int, int]]:
        if day in self._hours:
            return self._hours[day]
        if day in self.holidays:
            found = self.holidays[day]
        else:
            chosen = self.schedules[0][1]
            for start, week in self.schedules:
                if start is None or start <= day:
                    chosen = week
            found = chosen[day.weekday()]
        self._hours[day] = found
        return found

    def is_open(self, utc_minute: int) -> bool:
        wall = dt.datetime.fromtimestamp(utc_minute * 60, self.tz)
        day = wall.date()
        minute = wall.hour * 60 + wall.minute
        if any(a <= minute < b for a, b in self.hours(day)):
            return True
        yesterday = day - dt.timedelta(days=1)
        return any(a <= minute + 1440 < b for a, b in self.hours(yesterday))

    def prepare(self, lo_minute: int, hi_minute: int) -> None:
        """Tabulate openness of every minute in ``[lo_minute, hi_minute)``."""
        self._lo, self._hi = lo_minute, hi_minute
        total = 0
        prefix = {lo_minute: 0}
        for m in range(lo_minute, hi_minute):
            total += self.is_open(m)
            prefix[m + 1] = total
        self._prefix = prefix

    def business_minutes(self, a: int, b: int) -> int:
        """Open minutes in ``[a, b)`` (negative when ``b < a``), both inside the window."""
        if not (self._lo <= a <= self._hi and self._lo <= b <= self._hi):
            raise ValueError("outside the prepared window")
        return self._prefix[b] - self._prefix[a]


def minute_of(value: dt.datetime) -> int:
    return int((value - EPOCH).total_seconds()) // 60


def from_minute(minute: int) -> dt.datetime:
    return EPOCH + dt.timedelta(minutes=minute)


def windows_around(days: Sequence[dt.date], *, before: int, after: int) -> list[tuple[int, int]]:
    """UTC minute windows ``[day - before, day + after)`` (days), one per day."""
    return [
        (
            minute_of(dt.datetime.combine(d - dt.timedelta(days=before), dt.time(), dt.UTC)),
            minute_of(dt.datetime.combine(d + dt.timedelta(days=after), dt.time(), dt.UTC)),
        )
        for d in days
    ]
