"""Periods, instants and date ranges given as text.

A *period* cuts time into buckets for :func:`csmetrics.compute` and the reports. It is
one of

- a calendar name: ``"hour"``, ``"day"``, ``"week"`` (starting Monday), ``"month"``,
  ``"quarter"``, ``"year"``;
- a Polars duration string: ``"15m"``, ``"1h"``, ``"1d"``, ``"1w"``, ``"2w"``, ``"1mo"``,
  ``"1q"``, ``"1y"`` (``m`` is minutes, ``mo`` months; compound ``"1h30m"`` works too);
- a *profile*: ``"weekday"`` (Monday … Sunday) or ``"hour_of_day"`` (0 … 23), the
  shapes staffing plans use: every Monday of the log falls in one ``Monday`` bucket.

Calendar periods and durations give a ``period_start`` column: the start of each bucket as
a time zone-aware datetime in the zone periods are cut in (``Policy.timezone``). Profiles
have no start: their key column is named after the profile, ``weekday`` (an ordered
``Enum`` ``Monday`` … ``Sunday``, so it sorts by day, not by name) or ``hour_of_day``
(``Int8``, local hour 0 … 23). :attr:`Period.column` says which.

Buckets are cut in local time, so days and weeks follow daylight-saving changes (a day
in Europe/Paris is 23 or 25 hours long twice a year) and an hour bucket on the autumn change
exists twice (02:00 CEST and 02:00 CET).

Instants and ranges given as text (:func:`parse_instant`, :func:`parse_range`) are read
with pendulum: ``"2024-03-01 09:00 Europe/Paris"``, ``"2024-03-01T09:00:00+01:00"``,
``"last 4 weeks"``, ``"2024-01-01..2024-02-01"``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Final

import attrs
import pendulum
import polars as pl

from csmetrics._text import did_you_mean
from csmetrics.exceptions import PolicyError

__all__ = [
    "CALENDAR_PERIODS",
    "PROFILES",
    "WEEKDAYS",
    "Period",
    "check_period",
    "parse_instant",
    "parse_range",
    "period_label",
    "period_label_expr",
    "period_start_expr",
]

CALENDAR_PERIODS: Final[dict[str, str]] = {
    "hour": "1h",
    "day": "1d",
    "week": "1w",
    "month": "1mo",
    "quarter": "1q",
    "year": "1y",
}
"""Calendar period names and the Polars duration each one truncates to."""

PROFILES: Final[dict[str, str]] = {"weekday": "weekday", "hour_of_day": "hour_of_day"}
"""Profile period names and the key column each one gives."""

WEEKDAYS: Final[tuple[str, ...]] = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)
"""The categories of the ``weekday`` key, in order (ISO: Monday is day 1)."""

WEEKDAY_ENUM: Final = pl.Enum(list(WEEKDAYS))

_DURATION: Final = re.compile(r"^(?:[1-9][0-9]*(?:mo|s|m|h|d|w|q|y))+$")
_PART: Final = re.compile(r"([0-9]+)(mo|s|m|h|d|w|q|y)")
_NAMES: Final = (*CALENDAR_PERIODS, *PROFILES)


@attrs.frozen
class Period:
    """A validated period: how to cut time into buckets (see the module docstring).

    Build one with :func:`check_period`; ``Period`` values are accepted wherever a period
    name is.

    Attributes
    ----------
    name
        The name as given, normalised (``"week"``, ``"15m"``, ``"weekday"``).
    every
        The Polars duration buckets are truncated to (``"1w"``), ``None`` for a profile.
    column
        The key column: ``"period_start"``, ``"weekday"`` or ``"hour_of_day"``.

    Examples
    --------
    >>> check_period("week")
    Period(name='week', every='1w', column='period_start')
    >>> check_period("15m").every, check_period("weekday").column
    ('15m', 'weekday')
    >>> check_period("1w") == check_period("week")  # a duration that is a calendar period
    True
    """

    name: str
    every: str | None
    column: str

    @property
    def is_profile(self) -> bool:
        """True for ``weekday`` and ``hour_of_day`` (no period start, no timeline)."""
        return self.every is None

    def __str__(self) -> str:
        return self.name


def _duration_unit(every: str) -> str:
    """The largest unit of a duration string, for labels (``"1h30m"`` → ``"h"``)."""
    units = [u for _, u in _PART.findall(every)]
    order = ("y", "q", "mo", "w", "d", "h", "m", "s")
    return next(u for u in order if u in units)


def check_period(value: object, *, option: str = "period") -> Period:
    """Validate a period given by a user; returns a :class:`Period`.

    Parameters
    ----------
    value
        A name (``"day"`` …, any case), a Polars duration string, a profile, or a
        :class:`Period`.
    option
        How the caller calls the argument in messages (``"--period"`` for the CLI).

    Raises
    ------
    PolicyError
        For anything else, with the accepted values and a "did you mean".

    Examples
    --------
    >>> check_period("Day").name, check_period("1h").every
    ('day', '1h')
    >>> check_period("wekday")
    Traceback (most recent call last):
    ...
    csmetrics.exceptions.PolicyError: period 'wekday' is not a period (did you mean 'weekday'?); ...
    """
    if isinstance(value, Period):
        return value
    if not isinstance(value, str):
        raise PolicyError(
            f"{option} must be a period name or a duration such as '1w' "
            f"(got {type(value).__name__} {value!r})"
        )
    text = value.strip().lower()
    if text in CALENDAR_PERIODS:
        return Period(text, CALENDAR_PERIODS[text], "period_start")
    if text in PROFILES:
        return Period(text, None, PROFILES[text])
    if _DURATION.match(text):
        named = {every: name for name, every in CALENDAR_PERIODS.items()}
        return Period(named.get(text, text), text, "period_start")
    hint = did_you_mean(text, _NAMES)
    raise PolicyError(
        f"{option} {value!r} is not a period{hint}; use one of {', '.join(_NAMES)} or a "
        "duration such as 15m, 1h, 1d, 1w, 1mo (m = minutes, mo = months)"
    )


def period_start_expr(column: str, period: Period | str, timezone: str = "UTC") -> pl.Expr:
    """The bucket key of each value of ``column`` (a time zone-aware datetime column).

    The expression is aliased to ``Period.column``: for a calendar period or a duration,
    ``period_start``, the start of the bucket in ``timezone`` (local midnight for a day,
    Monday 00:00 for a week); for ``weekday``, the local day name as an ordered ``Enum``;
    for ``hour_of_day``, the local hour (``Int8``). Nulls stay null.

    Examples
    --------
    >>> import datetime as dt
    >>> import polars as pl
    >>> utc = dt.timezone.utc
    >>> frame = pl.DataFrame({"ts": [dt.datetime(2024, 3, 31, 22, 30, tzinfo=utc)]})
    >>> frame.select(period_start_expr("ts", "day", "Europe/Paris")).item()
    datetime.datetime(2024, 4, 1, 0, 0, tzinfo=zoneinfo.ZoneInfo(key='Europe/Paris'))
    >>> frame.select(period_start_expr("ts", "weekday", "Europe/Paris")).item()
    'Monday'
    """
    spec = check_period(period)
    local = pl.col(column).dt.convert_time_zone(timezone)
    if spec.name == "weekday":
        expr = (local.dt.weekday() - 1).replace_strict(
            list(range(7)), list(WEEKDAYS), default=None, return_dtype=WEEKDAY_ENUM
        )
    elif spec.name == "hour_of_day":
        expr = local.dt.hour()
    else:
        assert spec.every is not None
        expr = local.dt.truncate(spec.every)
    return expr.alias(spec.column)


def period_label(value: object, period: Period | str) -> str:
    """A short label of a bucket key: ``2024-W01``, ``2024-01-01``, ``2024-Q1`` …

    ``hour`` and minute durations show the local time (``2024-01-01 09:00``), ``day`` and
    day durations the date, ``week`` the ISO week, ``month`` ``2024-01``, ``quarter``
    ``2024-Q1``, ``year`` ``2024``; profile keys are shown as they are.

    Examples
    --------
    >>> import datetime as dt
    >>> start = dt.datetime(2024, 1, 1)
    >>> [period_label(start, p) for p in ("hour", "day", "week", "month", "quarter", "year")]
    ['2024-01-01 00:00', '2024-01-01', '2024-W01', '2024-01', '2024-Q1', '2024']
    >>> period_label(None, "week"), period_label("Monday", "weekday")
    ('—', 'Monday')
    """
    if value is None:
        return "—"
    if not isinstance(value, dt.datetime | dt.date):
        return str(value)
    spec = check_period(period)
    if spec.every is None:
        return str(value)
    unit = _duration_unit(spec.every)
    if unit == "w" and spec.every == "1w":
        year, week, _ = value.isocalendar()
        return f"{year}-W{week:02d}"
    if unit == "q":
        return f"{value.year}-Q{(value.month - 1) // 3 + 1}"
    if unit == "y":
        return f"{value.year}"
    if unit == "mo":
        return f"{value.year}-{value.month:02d}"
    if unit in ("d", "w") or not isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d}"
    if unit == "s":
        return f"{value:%Y-%m-%d %H:%M:%S}"
    return f"{value:%Y-%m-%d %H:%M}"


def period_label_expr(column: str, period: Period | str) -> pl.Expr:
    """:func:`period_label` as a Polars expression over a key column (a String column).

    Examples
    --------
    >>> import datetime as dt
    >>> import polars as pl
    >>> frame = pl.DataFrame({"period_start": [dt.datetime(2024, 1, 1), dt.datetime(2024, 12, 30)]})
    >>> frame.select(period_label_expr("period_start", "week"))["period_start"].to_list()
    ['2024-W01', '2025-W01']
    """
    spec = check_period(period)
    col = pl.col(column)
    if spec.every is None:
        return col.cast(pl.String)
    unit = _duration_unit(spec.every)
    if unit == "w" and spec.every == "1w":
        fmt = "%G-W%V"
    elif unit == "q":
        return pl.format("{}-Q{}", col.dt.year(), col.dt.quarter()).alias(column)
    elif unit == "y":
        fmt = "%Y"
    elif unit == "mo":
        fmt = "%Y-%m"
    elif unit in ("d", "w"):
        fmt = "%Y-%m-%d"
    elif unit == "s":
        fmt = "%Y-%m-%d %H:%M:%S"
    else:
        fmt = "%Y-%m-%d %H:%M"
    return col.dt.strftime(fmt).alias(column)


# ------------------------------------------------------------------------------------------
# Instants and ranges as text (pendulum)
# ------------------------------------------------------------------------------------------

_ZONE_SUFFIX: Final = re.compile(
    r"^(?P<when>.+?)\s+(?P<zone>[A-Za-z_]+(?:/[A-Za-z0-9_+\-]+)+|UTC)$"
)
_RELATIVE: Final = re.compile(
    r"^(?:last|past)\s+(?P<n>[0-9]+)?\s*(?P<unit>minute|hour|day|week|month|quarter|year)s?$"
)
_UNIT_WORDS: Final[dict[str, str]] = {
    "minute": "minutes",
    "hour": "hours",
    "day": "days",
    "week": "weeks",
    "month": "months",
    "year": "years",
}


def _zone(name: str, option: str) -> pendulum.Timezone:
    try:
        zone = pendulum.timezone(name)
    except Exception as exc:  # pendulum raises its own InvalidTimezone
        raise PolicyError(
            f"{option}: {name!r} is not a time zone; use an IANA name such as "
            "Europe/Paris, America/New_York or UTC"
        ) from exc
    if not isinstance(zone, pendulum.Timezone):  # a fixed offset: not a zone name
        raise PolicyError(f"{option}: {name!r} is an offset; use an IANA zone name")
    return zone


def parse_instant(
    text: str, *, timezone: str | None = None, option: str = "--as-of"
) -> dt.datetime:
    """An instant given as text, as a time zone-aware datetime (in UTC).

    Accepts ISO 8601 with an offset (``2024-03-01T09:00:00+01:00``, ``…Z``), or a date and
    time followed by an IANA zone (``2024-03-01 09:00 Europe/Paris``), or a naive date or
    time read in ``timezone``; ``now`` and ``today`` too.

    Raises
    ------
    PolicyError
        Text that is not an instant, or a naive one without a zone, in the caller's terms.

    Examples
    --------
    >>> parse_instant("2024-03-01 09:00 Europe/Paris")
    datetime.datetime(2024, 3, 1, 8, 0, tzinfo=datetime.timezone.utc)
    >>> parse_instant("2024-07-01T09:00:00+02:00")
    datetime.datetime(2024, 7, 1, 7, 0, tzinfo=datetime.timezone.utc)
    >>> parse_instant("2024-03-01", timezone="UTC")
    datetime.datetime(2024, 3, 1, 0, 0, tzinfo=datetime.timezone.utc)
    >>> parse_instant("2024-03-01 09:00")
    Traceback (most recent call last):
    ...
    csmetrics.exceptions.PolicyError: --as-of '2024-03-01 09:00' has no time zone; ...
    """
    raw = text.strip()
    zone_name = timezone
    match = _ZONE_SUFFIX.match(raw)
    if match:
        raw, zone_name = match.group("when"), match.group("zone")
    example = f"{option} '2024-03-01 09:00 Europe/Paris' or {option} 2024-03-01T09:00:00+01:00"
    if raw.lower() in ("now", "today"):
        zone = _zone(zone_name or "UTC", option)
        moment = pendulum.now(zone)
        if raw.lower() == "today":
            moment = moment.start_of("day")
        return _to_utc(moment)
    try:
        parsed = pendulum.parse(raw, exact=True, strict=False, tz=None)
    except Exception as exc:  # pendulum's ParserError and ValueError
        raise PolicyError(f"{option} {text!r} is not a date or time; write {example}") from exc
    if isinstance(parsed, pendulum.Time | pendulum.Duration | pendulum.Interval):
        raise PolicyError(f"{option} {text!r} is not a date or time; write {example}")
    if isinstance(parsed, dt.datetime):
        if parsed.tzinfo is not None and not match:
            return _to_utc(parsed)
        naive = parsed.replace(tzinfo=None)
    else:
        naive = dt.datetime(parsed.year, parsed.month, parsed.day)
    if zone_name is None:
        raise PolicyError(
            f"{option} {text!r} has no time zone; add one (--tz does not apply here): "
            f"write {example}"
        )
    zone = _zone(zone_name, option)
    local = pendulum.datetime(
        naive.year,
        naive.month,
        naive.day,
        naive.hour,
        naive.minute,
        naive.second,
        naive.microsecond,
        tz=zone,
    )
    return _to_utc(local)


def _to_utc(moment: dt.datetime) -> dt.datetime:
    utc = moment.astimezone(dt.UTC)
    return dt.datetime(
        utc.year,
        utc.month,
        utc.day,
        utc.hour,
        utc.minute,
        utc.second,
        utc.microsecond,
        tzinfo=dt.UTC,
    )


def parse_range(
    text: str,
    *,
    now: dt.datetime | None = None,
    timezone: str = "UTC",
    option: str = "--since",
) -> tuple[dt.datetime, dt.datetime]:
    """A half-open range ``[start, end)`` given as text, as two UTC datetimes.

    ``"last 4 weeks"`` (also ``past``, and minutes, hours, days, months, quarters, years)
    ends at ``now`` (default the current time) and starts that long before it, counted in
    ``timezone`` (4 weeks before a Monday 09:00 in Paris is a Monday 09:00, across a
    daylight-saving change); ``"A..B"`` takes two instants (:func:`parse_instant`); a single
    instant is ``[instant, now)``.

    Examples
    --------
    >>> import datetime as dt
    >>> now = dt.datetime(2024, 4, 1, 7, 0, tzinfo=dt.timezone.utc)  # 09:00 in Paris
    >>> start, end = parse_range("last 2 weeks", now=now, timezone="Europe/Paris")
    >>> start.isoformat(), end.isoformat()
    ('2024-03-18T08:00:00+00:00', '2024-04-01T07:00:00+00:00')
    >>> [d.date().isoformat() for d in parse_range("2024-01-01..2024-02-01", timezone="UTC")]
    ['2024-01-01', '2024-02-01']
    """
    raw = text.strip().lower()
    end = _to_utc(now) if now is not None else _to_utc(pendulum.now("UTC"))
    match = _RELATIVE.match(raw)
    if match:
        n = int(match.group("n") or 1)
        unit = match.group("unit")
        local = pendulum.instance(end).in_timezone(_zone(timezone, option))
        if unit == "quarter":
            start = local.subtract(months=3 * n)
        else:
            start = local.subtract(**{_UNIT_WORDS[unit]: n})
        return _to_utc(start), end
    if ".." in text:
        first, _, second = text.partition("..")
        begin = parse_instant(first, timezone=timezone, option=option)
        stop = parse_instant(second, timezone=timezone, option=option)
        if stop <= begin:
            raise PolicyError(f"{option} {text!r}: the end is not after the start")
        return begin, stop
    try:
        return parse_instant(text, timezone=timezone, option=option), end
    except PolicyError as exc:
        raise PolicyError(
            f"{option} {text!r} is not a range; write {option} 'last 4 weeks', "
            f"{option} 2024-01-01..2024-02-01 or {option} 2024-01-01"
        ) from exc
