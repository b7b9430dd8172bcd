"""Business calendars and business time: the office hours a duration is counted in.

A :class:`BusinessCalendar` is a time zone, weekly opening hours (any number of intervals a
day, overnight shifts included), holidays (closed days and partial days) and a history of
schedules (DESIGN §5). :func:`business_duration` and :func:`business_deadline` are Polars
expressions answered from tables built once per calendar over the data's span: no Python
runs per row. The exact meaning — DST gaps and repeats, overnight shifts, schedule
history — is in ``docs/business-time.md``.

Examples
--------
>>> import datetime as dt
>>> import polars as pl
>>> from csmetrics.calendar import BusinessCalendar, business_duration
>>> paris = BusinessCalendar.weekly(
...     "Europe/Paris", mon=["09:00-12:30", "13:30-18:00"], tue=["09:00-12:30", "13:30-18:00"]
... )
>>> frame = pl.DataFrame(
...     {"a": [dt.datetime(2024, 6, 3, 9)], "b": [dt.datetime(2024, 6, 4, 8)]},  # UTC
...     schema={"a": pl.Datetime("us", "UTC"), "b": pl.Datetime("us", "UTC")},
... )
>>> frame.select(business_duration("a", "b", paris)).item()
datetime.timedelta(seconds=25200)

Mon 11:00 → Tue 10:00 Paris time (UTC+2): 11:00–12:30 = 1.5 h, 13:30–18:00 = 4.5 h, Tue
09:00–10:00 = 1 h → 7 h = 25,200 s.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import re
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from os import PathLike
from typing import Any, Final, Literal, TypeAlias

import attrs
import polars as pl

from csmetrics import _calendar_table as _tables
from csmetrics._toml import read_toml
from csmetrics.exceptions import CalendarError, PolicyError, SchemaError
from csmetrics.validate import check_time_zone

__all__ = [
    "WEEKDAYS",
    "BusinessCalendar",
    "Holiday",
    "Interval",
    "Schedule",
    "business_deadline",
    "business_duration",
    "with_business_durations",
]

WEEKDAYS: Final[tuple[str, ...]] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Weekday keys of a schedule, Monday first (``date.weekday()`` order)."""

Interval: TypeAlias = tuple[int, int]
"""An open interval in minutes after the local midnight of the day it belongs to:
``start`` in ``[0, 1440)``, ``end`` in ``(start, start + 1440]``; ``end > 1440`` is an
overnight shift ending the next day (``"22:00-06:00"`` is ``(1320, 1800)``)."""

IntervalsLike: TypeAlias = str | Iterable[str | tuple[int, int]]
"""What a day's hours may be given as: ``"09:00-17:00"``, a list of such strings, or
:data:`Interval` tuples."""

_TIME: Final = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_DAY_MIN: Final = 1440
_WEEK_MIN: Final = 7 * _DAY_MIN
_FILE_KEYS: Final = ("name", "timezone", "schedule", "holidays", "holidays_from")
_SCHEDULE_KEYS: Final = ("effective_from", *WEEKDAYS)
_HOLIDAY_KEYS: Final = ("date", "name", "hours")
_HOLIDAYS_FROM_KEYS: Final = ("country", "subdivision", "years")


# --------------------------------------------------------------------------- parsing


def _fmt_minute(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _format_interval(interval: Interval) -> str:
    """``(1320, 1800)`` → ``"22:00-06:00"``; an end of exactly 24:00 is written ``24:00``."""
    start, end = interval
    end_text = "24:00" if end == _DAY_MIN else _fmt_minute(end % _DAY_MIN)
    return f"{_fmt_minute(start)}-{end_text}"


def _parse_interval(text: object, where: str) -> Interval:
    if isinstance(text, tuple) and len(text) == 2 and all(type(v) is int for v in text):
        start, end = text
        if not (0 <= start < _DAY_MIN and start < end <= start + _DAY_MIN):
            raise CalendarError(
                f"{where}: interval {text!r} must have 0 <= start < 1440 and "
                "start < end <= start + 1440 (minutes after local midnight)"
            )
        return (start, end)
    match = _TIME.match(text) if isinstance(text, str) else None
    if match is None:
        raise CalendarError(
            f"{where}: {text!r} is not an interval; write 'HH:MM-HH:MM' such as '09:00-17:30' "
            "('22:00-06:00' for an overnight shift, '00:00-24:00' for a whole day)"
        )
    h0, m0, h1, m1 = (int(g) for g in match.groups())
    if h0 > 23 or m0 > 59 or m1 > 59 or h1 > 24 or (h1 == 24 and m1 != 0):
        raise CalendarError(
            f"{where}: {text!r} has a time out of range; hours run 00–23 (24:00 only as an "
            "end) and minutes 00–59"
        )
    start, end = h0 * 60 + m0, h1 * 60 + m1
    if end == start:
        raise CalendarError(
            f"{where}: {text!r} is empty (start equals end); for a whole day write '00:00-24:00'"
        )
    if end < start:
        end += _DAY_MIN  # overnight: ends the next day
    return (start, end)


def _parse_intervals(value: object, where: str) -> tuple[Interval, ...]:
    if value is None:
        return ()
    items: list[object]
    if isinstance(value, str) or (
        isinstance(value, tuple) and len(value) == 2 and all(type(v) is int for v in value)
    ):
        items = [value]
    elif isinstance(value, Iterable):
        items = list(value)
    else:
        raise CalendarError(
            f"{where}: hours must be a list of 'HH:MM-HH:MM' strings (got {value!r})"
        )
    parsed = sorted(_parse_interval(item, f"{where}[{i}]") for i, item in enumerate(items))
    return tuple(parsed)


def _parse_date(value: object, where: str) -> dt.date:
    if isinstance(value, dt.datetime):
        raise CalendarError(f"{where}: {value!r} is a date-time; give a local date 'YYYY-MM-DD'")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise CalendarError(f"{where}: {value!r} is not a date; write a local date 'YYYY-MM-DD'")


def _check_keys(table: object, allowed: Sequence[str], where: str) -> Mapping[str, Any]:
    if not isinstance(table, Mapping):
        raise CalendarError(f"{where}: expected a table (mapping) with keys {list(allowed)}")
    unknown = [k for k in table if k not in allowed]
    if unknown:
        raise CalendarError(f"{where}: unknown key(s) {unknown}; allowed keys are {list(allowed)}")
    return table


def _check_overlaps(intervals: Sequence[tuple[int, int, str]], where: str, *, cyclic: bool) -> None:
    """``(start, end, label)`` in week (or day) minutes; touching is fine, overlapping is not."""
    ordered = sorted(intervals)
    pairs = list(itertools.pairwise(ordered))
    if cyclic and ordered:
        last = max(ordered, key=lambda i: i[1])
        first = ordered[0]
        if last[1] - _WEEK_MIN > first[0]:
            pairs.append((last, (first[0] + _WEEK_MIN, first[1] + _WEEK_MIN, first[2])))
    for a, b in pairs:
        if b[0] < a[1]:
            raise CalendarError(
                f"{where}: intervals overlap: {a[2]} and {b[2]}; make them disjoint (intervals "
                "may touch: '09:00-12:00' and '12:00-18:00' is fine)"
            )


# --------------------------------------------------------------------------- classes


def _schedule_hours(value: object) -> tuple[Interval, ...]:
    return _parse_intervals(value, "Schedule")


def _holiday_hours(value: object) -> tuple[Interval, ...]:
    return _parse_intervals(value, "Holiday.hours")


def _holiday_date(value: object) -> dt.date:
    return _parse_date(value, "Holiday.date")


def _date_or_none(value: object) -> dt.date | None:
    return None if value is None else _parse_date(value, "Schedule.effective_from")


@attrs.frozen(kw_only=True)
class Schedule:
    """Weekly opening hours in force from a local date on.

    Parameters
    ----------
    effective_from
        The first local date this schedule applies to (``None``: since always). The earliest
        schedule of a calendar also covers the days before its ``effective_from``.
    mon, tue, wed, thu, fri, sat, sun
        The day's open intervals, ``"HH:MM-HH:MM"`` strings (or :data:`Interval` tuples). An
        end before the start is an overnight shift ending the next day; a missing day is
        closed.

    Raises
    ------
    CalendarError
        A malformed interval, intervals that overlap (an overnight shift against the next
        day's first interval included), or a week with no open interval.

    Examples
    --------
    >>> s = Schedule(fri=["09:00-17:00", "22:00-06:00"])
    >>> s.fri
    ((540, 1020), (1320, 1800))
    >>> Schedule(fri="22:00-06:00", sat="05:00-08:00")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    csmetrics.exceptions.CalendarError: Schedule: intervals overlap: fri 22:00-06:00 and sat ...
    """

    effective_from: dt.date | None = attrs.field(default=None, converter=_date_or_none)
    mon: tuple[Interval, ...] = attrs.field(default=(), converter=_schedule_hours)
    tue: tuple[Interval, ...] = attrs.field(default=(), converter=_schedule_hours)
    wed: tuple[Interval, ...] = attrs.field(default=(), converter=_schedule_hours)
    thu: tuple[Interval, ...] = attrs.field(default=(), converter=_schedule_hours)
    fri: tuple[Interval, ...] = attrs.field(default=(), converter=_schedule_hours)
    sat: tuple[Interval, ...] = attrs.field(default=(), converter=_schedule_hours)
    sun: tuple[Interval, ...] = attrs.field(default=(), converter=_schedule_hours)

    def __attrs_post_init__(self) -> None:
        where = "Schedule" if self.effective_from is None else f"Schedule({self.effective_from})"
        if not any(self.week):
            raise CalendarError(
                f"{where}: the week has no open interval; give at least one day hours such as "
                "mon = ['09:00-17:00'] (close single days with holidays instead)"
            )
        labelled = [
            (i * _DAY_MIN + start, i * _DAY_MIN + end, f"{day} {_format_interval((start, end))}")
            for i, day in enumerate(WEEKDAYS)
            for start, end in getattr(self, day)
        ]
        _check_overlaps(labelled, where, cyclic=True)

    @property
    def week(self) -> tuple[tuple[Interval, ...], ...]:
        """The seven days' intervals, Monday first."""
        return (self.mon, self.tue, self.wed, self.thu, self.fri, self.sat, self.sun)

    def to_dict(self) -> dict[str, Any]:
        """The file form: ``{"effective_from": "2024-01-01", "mon": ["09:00-17:00"], …}``."""
        out: dict[str, Any] = {}
        if self.effective_from is not None:
            out["effective_from"] = self.effective_from.isoformat()
        for day, intervals in zip(WEEKDAYS, self.week, strict=True):
            out[day] = [_format_interval(i) for i in intervals]
        return out


@attrs.frozen(kw_only=True)
class Holiday:
    """A local date whose own hours are replaced: closed (no ``hours``) or a partial day.

    Intervals belonging to the day before are not cut: a holiday on Saturday leaves Friday's
    22:00–06:00 shift whole (DESIGN §5.2).

    Examples
    --------
    >>> Holiday(date="2024-12-24", hours=["09:00-12:00"], name="Christmas Eve").hours
    ((540, 720),)
    """

    date: dt.date = attrs.field(converter=_holiday_date)
    name: str = attrs.field(default="", converter=str)
    hours: tuple[Interval, ...] = attrs.field(default=(), converter=_holiday_hours)

    def __attrs_post_init__(self) -> None:
        labelled = [(s, e, _format_interval((s, e))) for s, e in self.hours]
        _check_overlaps(labelled, f"Holiday({self.date})", cyclic=False)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"date": self.date.isoformat()}
        if self.name:
            out["name"] = self.name
        if self.hours:
            out["hours"] = [_format_interval(i) for i in self.hours]
        return out


def _check_zone(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    try:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(value)
        zoneinfo.ZoneInfo(value)
        check_time_zone(value)  # one Polars knows too ('localtime' is not)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise CalendarError(
            f"'timezone' must be an IANA time zone such as 'Europe/Paris' or 'UTC' (got {value!r})"
        ) from exc


def _schedules(value: object) -> tuple[Schedule, ...]:
    if isinstance(value, Schedule):
        return (value,)
    if not isinstance(value, Iterable):
        raise CalendarError(f"'schedules' must be a list of Schedule (got {value!r})")
    items = tuple(value)
    bad = [s for s in items if not isinstance(s, Schedule)]
    if bad:
        raise CalendarError(f"'schedules' must hold Schedule objects (got {bad[0]!r})")
    return items


def _check_schedules(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not value:
        raise CalendarError(
            "a calendar needs at least one schedule; e.g. Schedule(mon=['09:00-17:00'], …)"
        )
    dates = [s.effective_from for s in value]
    if any(d is None for d in dates[1:]):
        raise CalendarError(
            "only the first schedule may omit 'effective_from'; give every later schedule the "
            "local date it starts on"
        )
    known = [d for d in dates if d is not None]
    for a, b in itertools.pairwise(known):
        if b <= a:
            raise CalendarError(
                f"schedules' effective_from dates must be strictly increasing (got {a} then "
                f"{b}); list the schedules oldest first, one per date"
            )


def _holidays(value: object) -> tuple[Holiday, ...]:
    if isinstance(value, Holiday):
        return (value,)
    if not isinstance(value, Iterable):
        raise CalendarError(f"'holidays' must be a list of Holiday (got {value!r})")
    items: list[Holiday] = []
    for item in value:
        if isinstance(item, Holiday):
            items.append(item)
        elif isinstance(item, dt.date | str):
            items.append(Holiday(date=item))
        else:
            raise CalendarError(
                f"'holidays' entries must be Holiday objects or dates (got {item!r})"
            )
    return tuple(sorted(items, key=lambda h: h.date))


def _check_holidays(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    dates = [h.date for h in value]
    dupes = sorted({d for d in dates if dates.count(d) > 1})
    if dupes:
        raise CalendarError(
            f"holidays list the same date more than once: {[str(d) for d in dupes[:5]]}; keep "
            "one entry per date (a partial day gives its 'hours')"
        )


@attrs.frozen(kw_only=True)
class BusinessCalendar:
    """Office hours in a time zone: weekly schedules with a history, and holidays.

    Parameters
    ----------
    timezone
        An IANA time zone name (``"Europe/Paris"``); wall-clock hours are read in it.
    schedules
        One or more :class:`Schedule`, oldest first; the latest ``effective_from`` on or
        before a local date gives that date's hours (the first one also covers earlier days).
    holidays
        :class:`Holiday` entries (or plain dates, closed all day); one per date.
    name
        A label (for messages and reports).

    Raises
    ------
    CalendarError
        Unknown time zone, overlapping or malformed intervals, a week without hours,
        ``effective_from`` not strictly increasing, a holiday date listed twice.

    See Also
    --------
    BusinessCalendar.from_dict, BusinessCalendar.from_toml, BusinessCalendar.weekly,
    BusinessCalendar.always_open, BusinessCalendar.from_holidays

    Examples
    --------
    >>> cal = BusinessCalendar.from_dict({
    ...     "timezone": "America/New_York",
    ...     "schedule": [{"mon": ["09:00-17:00"], "fri": ["22:00-06:00"]}],
    ...     "holidays": [{"date": "2024-12-25", "name": "Christmas Day"}],
    ... })
    >>> cal.intervals_on(dt.date(2024, 12, 23))  # a Monday
    ((540, 1020),)
    >>> cal.intervals_on(dt.date(2024, 12, 25))
    ()
    >>> BusinessCalendar.weekly("Mars/Olympus_Mons", mon="09:00-17:00")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    csmetrics.exceptions.CalendarError: 'timezone' must be an IANA time zone ...
    """

    timezone: str = attrs.field(validator=_check_zone)
    schedules: tuple[Schedule, ...] = attrs.field(converter=_schedules, validator=_check_schedules)
    holidays: tuple[Holiday, ...] = attrs.field(
        default=(), converter=_holidays, validator=_check_holidays
    )
    name: str = attrs.field(default="", converter=str)
    _starts: tuple[int, ...] = attrs.field(init=False, repr=False, eq=False, hash=False)
    _by_date: Mapping[int, tuple[Interval, ...]] = attrs.field(
        init=False, repr=False, eq=False, hash=False
    )

    def __attrs_post_init__(self) -> None:
        starts = tuple(
            -(10**9) if s.effective_from is None else s.effective_from.toordinal()
            for s in self.schedules
        )
        object.__setattr__(self, "_starts", starts)
        object.__setattr__(self, "_by_date", {h.date.toordinal(): h.hours for h in self.holidays})

    # ----------------------------------------------------------------- constructors

    @classmethod
    def weekly(
        cls,
        timezone: str = "UTC",
        *,
        name: str = "",
        holidays: Iterable[Holiday | dt.date | str] = (),
        **days: IntervalsLike,
    ) -> BusinessCalendar:
        """One schedule for all time: ``weekly("Europe/Paris", mon=["09:00-17:00"], …)``.

        Examples
        --------
        >>> BusinessCalendar.weekly("Asia/Kolkata", sat="10:00-14:00").schedules[0].sat
        ((600, 840),)
        """
        bad = [d for d in days if d not in WEEKDAYS]
        if bad:
            raise CalendarError(f"unknown weekday key(s) {bad}; use {list(WEEKDAYS)}")
        return cls(
            timezone=timezone,
            schedules=(Schedule(**days),),
            holidays=holidays,
            name=name,
        )

    @classmethod
    def always_open(cls, timezone: str = "UTC") -> BusinessCalendar:
        """Open 24×7: business time equals calendar time, in every zone.

        Examples
        --------
        >>> BusinessCalendar.always_open().intervals_on(dt.date(2024, 1, 1))
        ((0, 1440),)
        """
        return cls.weekly(timezone, name="24x7", **dict.fromkeys(WEEKDAYS, "00:00-24:00"))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str | None = None) -> BusinessCalendar:
        """Build a calendar from the file structure of DESIGN §5.1 as a dict.

        Keys: ``timezone`` (required), ``schedule`` (a list of tables with ``effective_from``
        and weekday keys ``mon``…``sun``), ``holidays`` (a list of tables with ``date``,
        ``name``, ``hours``, or plain dates), ``holidays_from`` (``country``,
        ``subdivision``, ``years``; needs the ``holidays`` extra) and ``name``. Explicit
        holidays win over ``holidays_from`` entries on the same date.

        Parameters
        ----------
        data
            The mapping (for example what :func:`tomllib.load` returns).
        source
            A file name to put in error messages.

        Raises
        ------
        CalendarError
            Any malformed entry; the message names the entry (``schedule[1].fri[0]``).
        """
        where = source or "calendar"
        try:
            return cls._from_dict(data, where)
        except CalendarError as exc:
            message = str(exc)
            if message.startswith(f"{where}:"):
                raise
            raise CalendarError(f"{where}: {message}") from None

    @classmethod
    def _from_dict(cls, data: Mapping[str, Any], where: str) -> BusinessCalendar:
        data = _check_keys(data, _FILE_KEYS, where)
        if "timezone" not in data:
            raise CalendarError(f"{where}: 'timezone' is required (an IANA name such as 'UTC')")
        raw_schedules = data.get("schedule")
        if raw_schedules is None:
            raise CalendarError(
                f"{where}: at least one [[schedule]] is required, e.g. "
                "[[schedule]] mon = ['09:00-17:00']"
            )
        if isinstance(raw_schedules, Mapping):
            raw_schedules = [raw_schedules]
        schedules = []
        for i, raw in enumerate(raw_schedules):
            entry = _check_keys(raw, _SCHEDULE_KEYS, f"schedule[{i}]")
            kwargs: dict[str, Any] = {}
            if "effective_from" in entry:
                kwargs["effective_from"] = _parse_date(
                    entry["effective_from"], f"schedule[{i}].effective_from"
                )
            for day in WEEKDAYS:
                kwargs[day] = _parse_intervals(entry.get(day), f"schedule[{i}].{day}")
            try:
                schedules.append(Schedule(**kwargs))
            except CalendarError as exc:
                raise CalendarError(f"schedule[{i}]: {exc}") from None
        holidays: dict[dt.date, Holiday] = {}
        spec = data.get("holidays_from")
        if spec is not None:
            spec = _check_keys(spec, _HOLIDAYS_FROM_KEYS, "holidays_from")
            if "country" not in spec or "years" not in spec:
                raise CalendarError(
                    "holidays_from: 'country' and 'years' are required, e.g. "
                    "holidays_from = { country = 'FR', years = [2024, 2025] }"
                )
            for h in _package_holidays(spec["country"], spec.get("subdivision"), spec["years"]):
                holidays[h.date] = h
        explicit: set[dt.date] = set()
        raw_holidays = data.get("holidays") or []
        if not isinstance(raw_holidays, list | tuple):
            raise CalendarError(f"'holidays' must be a list of tables (got {raw_holidays!r})")
        for i, raw in enumerate(raw_holidays):
            label = f"holidays[{i}]"
            if isinstance(raw, dt.date | str):
                raw = {"date": raw}
            entry = _check_keys(raw, _HOLIDAY_KEYS, label)
            if "date" not in entry:
                raise CalendarError(f"{label}: 'date' is required (a local date 'YYYY-MM-DD')")
            on = _parse_date(entry["date"], f"{label}.date")
            if on in explicit:
                raise CalendarError(
                    f"{label}: the date {on} is listed twice; keep one entry per date"
                )
            explicit.add(on)
            hours = _parse_intervals(entry.get("hours"), f"{label}.hours")
            try:
                holidays[on] = Holiday(date=on, name=entry.get("name", ""), hours=hours)
            except CalendarError as exc:
                raise CalendarError(f"{label}: {exc}") from None
        return cls(
            timezone=data["timezone"],
            schedules=tuple(schedules),
            holidays=tuple(holidays.values()),
            name=data.get("name", ""),
        )

    @classmethod
    def from_toml(cls, path: str | PathLike[str]) -> BusinessCalendar:
        """Read a calendar file (DESIGN §5.1); errors name the file.

        Raises
        ------
        CalendarError
            The file is missing, is not TOML, or holds a malformed calendar.
        """
        data = read_toml(path, CalendarError, "calendar")
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_holidays(
        cls,
        country: str,
        *,
        years: Iterable[int],
        timezone: str,
        subdivision: str | None = None,
        name: str = "",
        holidays: Iterable[Holiday | dt.date | str] = (),
        **days: IntervalsLike,
    ) -> BusinessCalendar:
        """A weekly calendar closed on a country's public holidays (``holidays`` package).

        Needs ``pip install 'csmetrics[holidays]'``. Entries of ``holidays`` win over the
        package's on the same date (to make a public holiday a partial day).

        Raises
        ------
        ImportError
            The ``holidays`` package is not installed.
        CalendarError
            An unknown country or subdivision, or a malformed schedule.
        """
        by_date = {h.date: h for h in _package_holidays(country, subdivision, years)}
        for h in _holidays(holidays):
            by_date[h.date] = h
        return cls.weekly(timezone, name=name, holidays=tuple(by_date.values()), **days)

    def to_dict(self) -> dict[str, Any]:
        """The file structure (``from_dict(cal.to_dict()) == cal``)."""
        out: dict[str, Any] = {"timezone": self.timezone}
        if self.name:
            out["name"] = self.name
        out["schedule"] = [s.to_dict() for s in self.schedules]
        if self.holidays:
            out["holidays"] = [h.to_dict() for h in self.holidays]
        return out

    # ----------------------------------------------------------------- queries

    def schedule_on(self, day: dt.date) -> Schedule:
        """The schedule in force on a local date."""
        index = bisect.bisect_right(self._starts, day.toordinal()) - 1
        return self.schedules[max(index, 0)]

    def intervals_on(self, day: dt.date) -> tuple[Interval, ...]:
        """The intervals belonging to a local date: its holiday's hours, else its schedule's."""
        ordinal = day.toordinal()
        if ordinal in self._by_date:
            return self._by_date[ordinal]
        index = bisect.bisect_right(self._starts, ordinal) - 1
        return self.schedules[max(index, 0)].week[day.weekday()]

    def open_intervals(self, first: dt.date, last: dt.date) -> pl.DataFrame:
        """The open UTC intervals of the local dates ``first``…``last``, as they are counted.

        Overlapping or touching intervals (of neighbouring days) are merged; an interval
        across a DST change is cut at the skipped wall times or repeated at the repeated ones.

        Examples
        --------
        >>> paris = BusinessCalendar.weekly("Europe/Paris", sun="01:00-04:00")
        >>> paris.open_intervals(dt.date(2024, 3, 31), dt.date(2024, 3, 31))
        shape: (1, 2)
        ┌─────────────────────────┬─────────────────────────┐
        │ open_at                 ┆ close_at                │
        │ ---                     ┆ ---                     │
        │ datetime[μs, UTC]       ┆ datetime[μs, UTC]       │
        ╞═════════════════════════╪═════════════════════════╡
        │ 2024-03-31 00:00:00 UTC ┆ 2024-03-31 02:00:00 UTC │
        └─────────────────────────┴─────────────────────────┘

        01:00–04:00 on the day Paris skips 02:00–03:00: 01:00 CET = 00:00 UTC to 04:00 CEST =
        02:00 UTC, two hours.
        """
        pieces = _tables.day_pieces(self, first.toordinal(), last.toordinal()).pieces
        return pl.DataFrame(
            {"open_at": [p[0] for p in pieces], "close_at": [p[1] for p in pieces]},
            schema={"open_at": pl.Int64, "close_at": pl.Int64},
        ).select(pl.all().cast(pl.Datetime("us", "UTC")))


def _package_holidays(country: object, subdivision: object, years: object) -> list[Holiday]:
    try:
        import holidays as holidays_package
    except ImportError:
        raise ImportError(
            "public holidays need the optional 'holidays' package: "
            "pip install 'csmetrics[holidays]'"
        ) from None
    if isinstance(years, int):
        years = [years]
    if not isinstance(years, Iterable) or not all(type(y) is int for y in years):
        raise CalendarError(f"holidays_from: 'years' must be a list of years (got {years!r})")
    try:
        table = holidays_package.country_holidays(
            str(country), subdiv=None if subdivision is None else str(subdivision), years=years
        )
    except NotImplementedError as exc:
        raise CalendarError(
            f"holidays_from: {exc}; use an ISO 3166 country code (e.g. 'FR') and one of its "
            "subdivisions"
        ) from None
    return [Holiday(date=day, name=str(label)) for day, label in sorted(table.items())]


# --------------------------------------------------------------------------- expressions

CalendarArg: TypeAlias = BusinessCalendar | Mapping[str, BusinessCalendar]
Span: TypeAlias = tuple[dt.datetime, dt.datetime]


def _to_expr(value: str | pl.Expr) -> pl.Expr:
    return pl.col(value) if isinstance(value, str) else value


def _span_us(span: Span) -> tuple[int, int]:
    lo, hi = span
    for v in (lo, hi):
        if not isinstance(v, dt.datetime) or v.tzinfo is None:
            raise PolicyError(
                f"'span' must be two time-zone aware datetimes (got {v!r}); "
                "e.g. (datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC))"
            )
    a = _to_us(lo)
    b = _to_us(hi)
    if b < a:
        raise PolicyError(f"'span' must be (earliest, latest) (got {lo} after {hi})")
    return a, b


def _to_us(value: dt.datetime) -> int:
    delta = value.astimezone(dt.UTC) - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _resolve(
    calendar: CalendarArg, key: str | pl.Expr | None, default: BusinessCalendar | None
) -> tuple[tuple[BusinessCalendar, ...], pl.Expr | None]:
    """The calendars of the blocks and the expression giving each row's block."""
    if isinstance(calendar, BusinessCalendar):
        if key is not None:
            raise PolicyError(
                "'key' is only used with a mapping of calendars ({key value: calendar})"
            )
        return (calendar,), None
    if not isinstance(calendar, Mapping) or not calendar:
        raise PolicyError(
            f"'calendar' must be a BusinessCalendar or a non-empty mapping of key values to "
            f"calendars (got {calendar!r})"
        )
    bad = {k: v for k, v in calendar.items() if not isinstance(v, BusinessCalendar)}
    if bad:
        raise PolicyError(f"'calendar' values must be BusinessCalendar (got {bad})")
    if key is None:
        raise PolicyError(
            "a mapping of calendars needs key=, the column holding each row's calendar key"
        )
    names = [str(k) for k in calendar]
    if len(set(names)) < len(names):
        raise PolicyError(f"'calendar' keys must be distinct as strings (got {list(calendar)})")
    calendars = tuple(calendar.values())
    # An Enum cast maps key values to block numbers (unknown values: null) faster than a
    # replace; the key column is read as strings.
    block = _to_expr(key).cast(pl.String).cast(pl.Enum(names), strict=False).to_physical()
    block = block.cast(pl.Int64)
    if default is not None:
        calendars = (*calendars, default)
        block = block.fill_null(len(calendars) - 1)
    return calendars, block


def _tables_for(calendars: tuple[BusinessCalendar, ...], lo: int, hi: int) -> _tables.Tables:
    return _tables.build_tables(calendars, lo, hi)


def business_duration(
    start: str | pl.Expr,
    end: str | pl.Expr,
    calendar: CalendarArg,
    *,
    key: str | pl.Expr | None = None,
    default: BusinessCalendar | None = None,
    span: Span | None = None,
) -> pl.Expr:
    """Business time from ``start`` to ``end``: the measure of open instants in ``[start, end)``.

    Parameters
    ----------
    start, end
        Datetime columns (names or expressions), time-zone aware (a naive one is read as UTC).
    calendar
        A :class:`BusinessCalendar`, or a mapping ``{key value: calendar}`` for per-row
        calendars (with ``key``).
    key
        The column holding each row's calendar key (cast to String to look it up).
    default
        The calendar for rows whose key is null or not in the mapping (else: null result).
    span
        ``(earliest, latest)`` aware datetimes that every time stamp lies in. Given, the result
        is a plain Polars expression over literal tables (rows outside the span: null).
        ``None``: the span is taken from the data when the expression runs (a batch function
        builds the tables; cached per calendar and span).

    Returns
    -------
    pl.Expr
        ``Duration("us")`` named ``business_duration``; null where ``start`` or ``end`` is
        null. Signed like ``end - start``: negative when ``end < start``
        (``d(a, b) = -d(b, a)``), so ``d(a, c) = d(a, b) + d(b, c)`` in any order.

    Examples
    --------
    >>> import datetime as dt
    >>> import polars as pl
    >>> from csmetrics.calendar import BusinessCalendar, business_duration
    >>> ny = BusinessCalendar.weekly("America/New_York", fri="22:00-06:00")
    >>> utc = dt.timezone.utc
    >>> frame = pl.DataFrame({
    ...     "a": [dt.datetime(2024, 11, 1, 12, tzinfo=utc)],
    ...     "b": [dt.datetime(2024, 11, 4, 12, tzinfo=utc)],
    ... })
    >>> frame.select(business_duration("a", "b", ny)).item()
    datetime.timedelta(seconds=28800)

    Friday 22:00 EDT → Saturday 06:00 EDT: 8 hours (the clocks fall back on Sunday, not
    inside the shift).
    """
    calendars, block = _resolve(calendar, key, default)
    start_e, end_e = _to_expr(start), _to_expr(end)
    if span is not None:
        lo, hi = _span_us(span)
        tables = _tables_for(calendars, lo, hi)
        value = _tables.duration_us(
            _tables.epoch_us(start_e), _tables.epoch_us(end_e), block, tables
        )
        return value.cast(pl.Duration("us")).alias("business_duration")

    fields = [start_e.alias("start"), end_e.alias("end")]
    if block is not None:
        fields.append(block.alias("block"))

    def run(batch: pl.Series) -> pl.Series:
        frame = batch.struct.unnest()
        lo, hi = _batch_span(frame.select(pl.col("start", "end").dt.epoch("us")))
        if lo is None or hi is None:
            return pl.Series("business_duration", [None] * len(frame), dtype=pl.Duration("us"))
        tables = _tables_for(calendars, lo, hi)
        blk = pl.col("block") if block is not None else None
        pairs = {"business_duration": ("start", "end")}
        out = _tables.with_durations(frame.lazy(), pairs, blk, tables)
        return out.select("business_duration").collect().to_series()

    return (
        pl.struct(fields)
        .map_batches(run, return_dtype=pl.Duration("us"), is_elementwise=True)
        .alias("business_duration")
    )


_SPAN_QUANTUM_US: Final = 32 * 86_400 * 10**6


def _batch_span(times: pl.DataFrame) -> tuple[int | None, int | None]:
    """The span of a batch (µs columns), rounded out to 32-day steps so that the batches of
    one frame (Polars cuts a column into many) share their tables."""
    lo, hi = times.select(
        pl.min_horizontal(pl.all().min()).alias("lo"), pl.max_horizontal(pl.all().max()).alias("hi")
    ).row(0)
    if lo is None or hi is None:
        return None, None
    q = _SPAN_QUANTUM_US
    return lo - lo % q, hi - hi % q + q - 1


def business_deadline(
    start: str | pl.Expr,
    amount: dt.timedelta | float | str | pl.Expr,
    calendar: CalendarArg,
    *,
    unit: Literal["time", "days"] = "time",
    key: str | pl.Expr | None = None,
    default: BusinessCalendar | None = None,
    span: Span | None = None,
) -> pl.Expr:
    """The instant a business-time target that starts at ``start`` ends (DESIGN §5.2).

    Parameters
    ----------
    start
        A Datetime column (name or expression).
    amount
        With ``unit="time"``: business time to elapse — a :class:`~datetime.timedelta`, a
        number of seconds, or a Duration column. With ``unit="days"``: a number of business
        days (an integer or integer column).
    calendar, key, default
        As in :func:`business_duration`.
    unit
        ``"time"``: the earliest instant at which ``amount`` of business time has elapsed
        since ``start``. ``"days"``: the close of the last interval of the ``amount``-th
        business day after the local date of ``start`` (a business day is a local date with
        open time; 0 days ends at ``start``).
    span
        As in :func:`business_duration`, but it must also cover the deadlines (a deadline
        after it is null). ``None``: the tables grow until every deadline is found.

    Returns
    -------
    pl.Expr
        ``Datetime("us", "UTC")`` named ``business_deadline``; null where ``start`` or
        ``amount`` is null or ``amount`` is negative. A zero amount ends at ``start``.

    Examples
    --------
    >>> import datetime as dt
    >>> import polars as pl
    >>> from csmetrics.calendar import BusinessCalendar, business_deadline
    >>> cal = BusinessCalendar.weekly("UTC", mon="09:00-17:00", tue="09:00-17:00")
    >>> frame = pl.DataFrame({"a": [dt.datetime(2024, 6, 3, 15, tzinfo=dt.timezone.utc)]})
    >>> frame.select(business_deadline("a", dt.timedelta(hours=4), cal)).item()
    datetime.datetime(2024, 6, 4, 11, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC'))
    >>> frame.select(business_deadline("a", 1, cal, unit="days")).item()
    datetime.datetime(2024, 6, 4, 17, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC'))

    Monday 15:00 + 4 business hours: 2 h to 17:00, then 2 h from Tuesday 09:00 → 11:00. One
    business day after Monday is Tuesday, whose last interval closes at 17:00.
    """
    if unit not in ("time", "days"):
        raise PolicyError(f"'unit' must be in ('time', 'days') (got {unit!r})")
    calendars, block = _resolve(calendar, key, default)
    start_e = _to_expr(start)
    if isinstance(amount, dt.timedelta):
        if unit != "time":
            raise PolicyError("a timedelta amount needs unit='time'")
        amount_e = pl.lit(amount // dt.timedelta(microseconds=1), dtype=pl.Int64)
    elif isinstance(amount, int | float) and not isinstance(amount, bool):
        amount_e = pl.lit(round(amount * 1_000_000) if unit == "time" else int(amount))
        amount_e = amount_e.cast(pl.Int64)
    elif isinstance(amount, str | pl.Expr):
        amount_e = _to_expr(amount)
        amount_e = amount_e.dt.total_microseconds() if unit == "time" else amount_e.cast(pl.Int64)
    else:
        raise PolicyError(
            f"'amount' must be a timedelta, a number, a column name or an expression "
            f"(got {amount!r})"
        )
    compute = _tables.deadline_time_us if unit == "time" else _tables.deadline_days_us

    def finish(value: pl.Expr) -> pl.Expr:
        return value.cast(pl.Datetime("us", "UTC")).alias("business_deadline")

    if span is not None:
        lo, hi = _span_us(span)
        tables = _tables_for(calendars, lo, hi)
        return finish(compute(_tables.epoch_us(start_e), amount_e, block, tables))

    fields = [start_e.alias("start"), amount_e.alias("amount")]
    if block is not None:
        fields.append(block.alias("block"))

    def run(batch: pl.Series) -> pl.Series:
        frame = batch.struct.unnest().with_columns(_tables.epoch_us(pl.col("start")))
        if block is None:
            frame = frame.with_columns(block=pl.lit(None, pl.Int64))
        lo, hi = _batch_span(frame.select("start"))
        wanted = frame.select(
            (
                pl.col("start").is_not_null()
                & (pl.col("amount") >= 0)
                & (pl.col("block").is_not_null() if block is not None else pl.lit(True))
            ).alias("wanted")
        ).to_series()
        if lo is None or hi is None:
            return pl.Series("business_deadline", [None] * len(frame), dtype=pl.Int64)
        most = frame.get_column("amount").max()
        most_int = int(most) if isinstance(most, int | float) and most > 0 else 0
        # A first guess at how far past the latest start the deadlines reach, then doubling.
        ahead = (most_int * 8 if unit == "time" else most_int * 3 * 86_400 * 10**6) + 14 * (
            86_400 * 10**6
        )
        blk = pl.col("block") if block is not None else None
        limit = 200 * 365 * 86_400 * 10**6
        while True:
            tables = _tables_for(calendars, lo, hi + ahead)
            out = frame.select(
                compute(pl.col("start"), pl.col("amount"), blk, tables).alias("deadline")
            ).to_series()
            missing = (out.is_null() & wanted).any()
            if not missing or ahead > limit:
                return out.alias("business_deadline")
            ahead *= 4

    return finish(pl.struct(fields).map_batches(run, return_dtype=pl.Int64, is_elementwise=True))


def with_business_durations(
    frame: pl.LazyFrame | pl.DataFrame,
    pairs: Mapping[str, tuple[str, str]],
    calendar: CalendarArg,
    *,
    key: str | None = None,
    default: BusinessCalendar | None = None,
    span: Span | None = None,
) -> pl.LazyFrame:
    """Add business-duration columns ``{output: (start, end)}`` to a frame.

    Parameters
    ----------
    frame
        The frame holding the time stamp columns (a DataFrame is made lazy).
    pairs
        Output column name → (start column, end column).
    calendar, default
        A calendar, or ``{key value: calendar}`` with ``key``; see :func:`business_duration`.
    key
        The column holding each row's calendar key.
    span
        ``(earliest, latest)`` covering every time stamp. ``None``: one query collects the
        minimum and maximum of the time stamp columns (and, with ``key``, the distinct keys),
        so the frame's plan runs once more; collect or cache the frame first if that is
        costly.

    Returns
    -------
    pl.LazyFrame
        ``frame`` with one ``Duration("us")`` column per pair.

    Raises
    ------
    SchemaError
        A column is missing, is not a Datetime, or has no time zone.
    CalendarError
        Without ``span`` and ``default``: a non-null key value has no calendar (the message
        lists them and their row counts).

    Examples
    --------
    >>> import datetime as dt
    >>> import polars as pl
    >>> from csmetrics.calendar import BusinessCalendar, with_business_durations
    >>> utc = dt.timezone.utc
    >>> teams = {
    ...     "paris": BusinessCalendar.weekly("Europe/Paris", mon="09:00-17:00"),
    ...     "sydney": BusinessCalendar.weekly("Australia/Sydney", mon="09:00-17:00"),
    ... }
    >>> cases = pl.DataFrame({
    ...     "team": ["paris", "sydney"],
    ...     "created_at": [dt.datetime(2024, 6, 2, 12, tzinfo=utc)] * 2,
    ...     "solved_at": [dt.datetime(2024, 6, 3, 12, tzinfo=utc)] * 2,
    ... })
    >>> out = with_business_durations(
    ...     cases, {"resolution_business": ("created_at", "solved_at")}, teams, key="team"
    ... ).collect()
    >>> out["resolution_business"].to_list()
    [datetime.timedelta(seconds=18000), datetime.timedelta(seconds=28800)]

    Monday 3 June until 12:00 UTC: Paris (UTC+2) is open 09:00–14:00 local = 5 h; Sydney
    (UTC+10) 09:00–17:00 Monday local is 23:00 Sunday – 07:00 Monday UTC = 8 h.
    """
    lazy = frame.lazy() if isinstance(frame, pl.DataFrame) else frame
    if not isinstance(lazy, pl.LazyFrame):
        raise PolicyError(f"'frame' must be a Polars DataFrame or LazyFrame (got {frame!r})")
    if not pairs:
        return lazy
    schema = lazy.collect_schema()
    columns = sorted({c for pair in pairs.values() for c in pair})
    needed = [*columns, *([key] if key is not None else [])]
    missing = [c for c in needed if c not in schema]
    if missing:
        raise SchemaError.from_missing_columns(missing, schema.names())
    for name in columns:
        dtype = schema[name]
        if not isinstance(dtype, pl.Datetime) or dtype.time_zone is None:
            raise SchemaError(
                f"bad_type: column {name!r} must be a time-zone aware Datetime (got {dtype}); "
                "convert it with pl.col(...).dt.replace_time_zone('UTC') or through EventLog",
                reason="bad_type",
                column=name,
            )
    if span is None:
        span = _collect_span(lazy, columns, calendar, key, default)
        if span is None:  # no time stamps at all: every result is null
            return lazy.with_columns(pl.lit(None, pl.Duration("us")).alias(out) for out in pairs)
    calendars, block = _resolve(calendar, key, default)
    tables = _tables_for(calendars, *_span_us(span))
    return _tables.with_durations(lazy, pairs, block, tables)


def _collect_span(
    lazy: pl.LazyFrame,
    columns: list[str],
    calendar: CalendarArg,
    key: str | None,
    default: BusinessCalendar | None,
) -> Span | None:
    bounds = lazy.select(
        pl.min_horizontal(pl.col(columns).min()).dt.epoch("us").alias("lo"),
        pl.max_horizontal(pl.col(columns).max()).dt.epoch("us").alias("hi"),
    )
    queries = [bounds]
    check_keys = key is not None and default is None and isinstance(calendar, Mapping)
    if check_keys and key is not None:
        queries.append(
            lazy.group_by(pl.col(key).cast(pl.String).alias("key")).agg(pl.len().alias("n"))
        )
    results = pl.collect_all(queries)
    lo, hi = results[0].row(0)
    if check_keys and isinstance(calendar, Mapping):
        counts = results[1].filter(
            pl.col("key").is_not_null() & ~pl.col("key").is_in([str(k) for k in calendar])
        )
        if counts.height:
            shown = ", ".join(f"{k!r} ({n} rows)" for k, n in counts.sort("key").head(5).rows())
            raise CalendarError(
                f"column {key!r}: {counts.height} key value(s) have no calendar: {shown}; add "
                f"them to the mapping (known: {sorted(str(k) for k in calendar)}) or pass "
                "default= a calendar for them"
            )
    if lo is None or hi is None:
        return None
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (epoch + dt.timedelta(microseconds=lo), epoch + dt.timedelta(microseconds=hi))
