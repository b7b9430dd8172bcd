"""Business calendars and business time (DESIGN §5): hand-worked cases, an oracle, properties."""

from __future__ import annotations

import datetime as dt
import random
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csmetrics.calendar import (
    BusinessCalendar,
    Holiday,
    Schedule,
    business_deadline,
    business_duration,
    with_business_durations,
)
from csmetrics.exceptions import CalendarError, PolicyError, SchemaError

from .calendar_oracle import Oracle, from_minute, minute_of, windows_around

UTC = dt.UTC
TS = pl.Datetime("us", "UTC")
H = 3600
SPAN = (dt.datetime(2023, 6, 1, tzinfo=UTC), dt.datetime(2025, 6, 1, tzinfo=UTC))


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def local(tz: str, *args: int, fold: int = 0) -> dt.datetime:
    from zoneinfo import ZoneInfo

    return dt.datetime(*args, tzinfo=ZoneInfo(tz), fold=fold).astimezone(UTC)


def durations(
    calendar: Any, pairs: list[tuple[dt.datetime, dt.datetime]], **kwargs: Any
) -> list[dt.timedelta | None]:
    frame = pl.DataFrame(
        {"a": [p[0] for p in pairs], "b": [p[1] for p in pairs]}, schema={"a": TS, "b": TS}
    )
    out = frame.select(business_duration("a", "b", calendar, **kwargs))
    return out.to_series().to_list()


def one(calendar: Any, a: dt.datetime, b: dt.datetime, **kwargs: Any) -> dt.timedelta | None:
    [value] = durations(calendar, [(a, b)], **kwargs)
    # The literal-table path must agree with the batch path (null outside its span).
    [spanned] = durations(calendar, [(a, b)], span=SPAN, **kwargs)
    inside = all(SPAN[0] <= x <= SPAN[1] for x in (a, b))
    assert spanned == (value if inside else None)
    return value


PARIS_SPLIT = BusinessCalendar.weekly(
    "Europe/Paris",
    mon=["09:00-12:30", "13:30-18:00"],
    tue=["09:00-12:30", "13:30-18:00"],
    wed="09:00-18:00",
    thu="09:00-18:00",
    fri=["09:00-17:00", "22:00-06:00"],
)


# --------------------------------------------------------------------------- hand-worked


def test_business_duration_skips_lunch_and_night() -> None:
    # Paris 09:00–12:30 + 13:30–18:00; Mon 2024-06-03 11:00 → Tue 10:00 (CEST):
    # Mon 11:00–12:30 = 1.5 h, 13:30–18:00 = 4.5 h, Tue 09:00–10:00 = 1 h → 7 h
    a = local("Europe/Paris", 2024, 6, 3, 11)
    b = local("Europe/Paris", 2024, 6, 4, 10)
    assert one(PARIS_SPLIT, a, b) == dt.timedelta(hours=7)


def test_spring_forward_gap_is_never_open() -> None:
    # 2024-03-31 Paris skips 02:00–03:00: 02:00–04:00 that day lasts 1 h (03:00–04:00 CEST).
    cal = BusinessCalendar.weekly("Europe/Paris", sun="02:00-04:00")
    assert one(cal, utc(2024, 3, 30), utc(2024, 4, 1)) == dt.timedelta(hours=1)
    # A week earlier, no change: 2 h.
    assert one(cal, utc(2024, 3, 23), utc(2024, 3, 25)) == dt.timedelta(hours=2)


def test_fall_back_repeat_is_open_twice() -> None:
    # 2024-10-27 Paris repeats 02:00–03:00: 00:00–04:00 that day lasts 5 h
    # (00:00 CEST = 22:00 UTC Sat, 04:00 CET = 03:00 UTC Sun → 5 h).
    cal = BusinessCalendar.weekly("Europe/Paris", sun="00:00-04:00")
    assert one(cal, utc(2024, 10, 26), utc(2024, 10, 28)) == dt.timedelta(hours=5)
    # Half-way through the repeat: from the first 02:30 (00:30 UTC) to 04:00 CET = 2.5 h.
    a = local("Europe/Paris", 2024, 10, 27, 2, 30, fold=0)
    assert a == utc(2024, 10, 27, 0, 30)
    assert one(cal, a, utc(2024, 10, 28)) == dt.timedelta(hours=2, minutes=30)


def test_new_york_fall_back_inside_interval() -> None:
    # 2024-11-03 01:00–02:00 EDT then 01:00–02:00 EST: 00:30–01:30 → 0.5 + 0.5 + 0.5 = 1.5 h
    cal = BusinessCalendar.weekly("America/New_York", sun="00:30-01:30")
    assert one(cal, utc(2024, 11, 2), utc(2024, 11, 5)) == dt.timedelta(hours=1, minutes=30)


def test_half_hour_zone() -> None:
    # Kolkata is UTC+05:30: 09:00–17:30 IST = 03:30–12:00 UTC; from 06:00 UTC → 6 h
    cal = BusinessCalendar.weekly("Asia/Kolkata", mon="09:00-17:30")
    assert one(cal, utc(2024, 6, 3, 6), utc(2024, 6, 4)) == dt.timedelta(hours=6)


def test_adelaide_spring_forward() -> None:
    # Adelaide 2024-10-06: 02:00 ACST → 03:00 ACDT; 01:30–03:30 keeps 01:30–02:00 and
    # 03:00–03:30 → 1 h.
    cal = BusinessCalendar.weekly("Australia/Adelaide", sun="01:30-03:30")
    assert one(cal, utc(2024, 10, 4), utc(2024, 10, 8)) == dt.timedelta(hours=1)


def test_overnight_shift_belongs_to_the_day_it_starts() -> None:
    # Fri 22:00–06:00 with Saturday a holiday: the shift is Friday's, whole: 8 h.
    cal = BusinessCalendar.weekly(
        "UTC", fri="22:00-06:00", sat="10:00-12:00", holidays=["2024-06-08"]
    )
    assert one(cal, utc(2024, 6, 7), utc(2024, 6, 9)) == dt.timedelta(hours=8)
    # With Friday a holiday instead, the whole shift goes, Saturday's 2 h stay.
    cal = BusinessCalendar.weekly(
        "UTC", fri="22:00-06:00", sat="10:00-12:00", holidays=["2024-06-07"]
    )
    assert one(cal, utc(2024, 6, 7), utc(2024, 6, 9)) == dt.timedelta(hours=2)


def test_overnight_shift_across_fall_back() -> None:
    # New York Sat 2024-11-02 22:00 EDT → Sun 06:00 EST (clocks back at 02:00): 9 h elapse.
    cal = BusinessCalendar.weekly("America/New_York", sat="22:00-06:00")
    assert one(cal, utc(2024, 11, 1), utc(2024, 11, 5)) == dt.timedelta(hours=9)


def test_partial_holiday_replaces_the_days_hours() -> None:
    # Christmas Eve 09:00–12:00 instead of 09:00–17:00; Christmas closed:
    # Tue 24th 3 h + Thu 26th 8 h (Mon 23rd before the window) → 11 h
    cal = BusinessCalendar.weekly(
        "UTC",
        **dict.fromkeys(["mon", "tue", "wed", "thu", "fri"], "09:00-17:00"),
        holidays=[
            Holiday(date="2024-12-24", hours=["09:00-12:00"], name="Christmas Eve"),
            Holiday(date="2024-12-25", name="Christmas Day"),
        ],
    )
    assert one(cal, utc(2024, 12, 24), utc(2024, 12, 27)) == dt.timedelta(hours=11)


def test_schedule_history() -> None:
    # 9–17 until Tue 2024-06-04, 10–12 from Wed 2024-06-05 on: Mon..Fri = 8 + 8 + 2 + 2 + 2
    cal = BusinessCalendar(
        timezone="UTC",
        schedules=[
            Schedule(**dict.fromkeys(["mon", "tue", "wed", "thu", "fri"], "09:00-17:00")),
            Schedule(
                effective_from="2024-06-05",
                **dict.fromkeys(["mon", "tue", "wed", "thu", "fri"], "10:00-12:00"),
            ),
        ],
    )
    assert one(cal, utc(2024, 6, 3), utc(2024, 6, 8)) == dt.timedelta(hours=22)
    # The first schedule also covers the days before anything: 2020 is 9–17.
    assert one(cal, utc(2020, 1, 6), utc(2020, 1, 7)) == dt.timedelta(hours=8)


def test_signed_and_null() -> None:
    cal = BusinessCalendar.always_open("Europe/Paris")
    pairs = [(utc(2024, 1, 2), utc(2024, 1, 1))]
    assert durations(cal, pairs) == [dt.timedelta(days=-1)]
    frame = pl.DataFrame({"a": [utc(2024, 1, 1), None], "b": [None, utc(2024, 1, 1)]})
    assert frame.select(business_duration("a", "b", cal)).to_series().to_list() == [None, None]
    assert frame.select(business_duration("a", "b", cal, span=SPAN)).to_series().null_count() == 2


def test_outside_span_is_null() -> None:
    cal = BusinessCalendar.always_open()
    got = durations(cal, [(utc(2030, 1, 1), utc(2030, 1, 2))], span=SPAN)
    assert got == [None]


def test_empty_and_all_null_frames() -> None:
    cal = BusinessCalendar.always_open()
    empty = pl.DataFrame({"a": [], "b": []}, schema={"a": TS, "b": TS})
    assert empty.select(business_duration("a", "b", cal)).height == 0
    nulls = pl.DataFrame({"a": [None], "b": [None]}, schema={"a": TS, "b": TS})
    assert nulls.select(business_duration("a", "b", cal)).item() is None


def test_other_time_units_and_zones() -> None:
    # ms precision and a column displayed in Paris time read the same instants.
    cal = BusinessCalendar.weekly("UTC", mon="09:00-17:00")
    frame = pl.DataFrame(
        {"a": [utc(2024, 6, 3, 8)], "b": [utc(2024, 6, 3, 10)]},
        schema={"a": pl.Datetime("ms", "UTC"), "b": pl.Datetime("ns", "Europe/Paris")},
    )
    assert frame.select(business_duration("a", "b", cal)).item() == dt.timedelta(hours=1)


def test_open_intervals_are_cut_and_repeated() -> None:
    cal = BusinessCalendar.weekly("Australia/Sydney", sun="01:00-04:00")
    # 2024-04-07 Sydney falls back 03:00 AEDT → 02:00 AEST: 01:00 AEDT (14:00 UTC Sat) to
    # 04:00 AEST (18:00 UTC) → 4 h, one merged piece.
    got = cal.open_intervals(dt.date(2024, 4, 7), dt.date(2024, 4, 7)).rows()
    assert got == [(utc(2024, 4, 6, 14), utc(2024, 4, 6, 18))]


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("days", "match"),
    [
        ({"mon": ["09:00-12:00", "11:00-13:00"]}, "overlap"),
        ({"fri": "22:00-06:00", "sat": "05:00-08:00"}, "overlap"),
        ({"sun": "23:00-02:00", "mon": "01:00-03:00"}, "overlap"),  # across the week's end
        ({"mon": "9-17"}, "not an interval"),
        ({"mon": "09:00-25:00"}, "out of range"),
        ({"mon": "24:00-02:00"}, "out of range"),
        ({"mon": "09:60-10:00"}, "out of range"),
        ({"mon": "09:00-09:00"}, "empty"),
        ({}, "no open interval"),
        ({"mon": [], "tue": []}, "no open interval"),
        ({"mon": 9}, "hours must be a list"),
    ],
)
def test_schedule_validation(days: dict[str, Any], match: str) -> None:
    with pytest.raises(CalendarError, match=match):
        BusinessCalendar.weekly("UTC", **days)


def test_touching_intervals_are_fine() -> None:
    cal = BusinessCalendar.weekly("UTC", mon=["09:00-12:00", "12:00-18:00"], sun="18:00-00:00")
    # Mon 09:00–18:00 is one piece; Sun 18:00 → Mon 00:00.
    assert one(cal, utc(2024, 6, 2), utc(2024, 6, 4)) == dt.timedelta(hours=15)


def test_calendar_validation() -> None:
    with pytest.raises(CalendarError, match="IANA"):
        BusinessCalendar.weekly("Europe/Pariss", mon="09:00-17:00")
    with pytest.raises(CalendarError, match="IANA"):
        BusinessCalendar.weekly("", mon="09:00-17:00")
    with pytest.raises(CalendarError, match="unknown weekday"):
        BusinessCalendar.weekly("UTC", monday="09:00-17:00")
    week = Schedule(mon="09:00-17:00")
    with pytest.raises(CalendarError, match="strictly increasing"):
        BusinessCalendar(
            timezone="UTC",
            schedules=[
                Schedule(effective_from="2024-02-01", mon="09:00-17:00"),
                Schedule(effective_from="2024-01-01", mon="09:00-17:00"),
            ],
        )
    with pytest.raises(CalendarError, match="strictly increasing"):
        BusinessCalendar(
            timezone="UTC",
            schedules=[
                Schedule(effective_from="2024-01-01", mon="09:00-17:00"),
                Schedule(effective_from="2024-01-01", mon="10:00-17:00"),
            ],
        )
    with pytest.raises(CalendarError, match="only the first"):
        BusinessCalendar(timezone="UTC", schedules=[week, week])
    with pytest.raises(CalendarError, match="at least one schedule"):
        BusinessCalendar(timezone="UTC", schedules=[])
    with pytest.raises(CalendarError, match="more than once"):
        BusinessCalendar(timezone="UTC", schedules=[week], holidays=["2024-01-01", "2024-01-01"])
    with pytest.raises(CalendarError, match="not a date"):
        BusinessCalendar(timezone="UTC", schedules=[week], holidays=["2024-13-01"])
    with pytest.raises(CalendarError, match="overlap"):
        Holiday(date="2024-01-01", hours=["09:00-12:00", "10:00-11:00"])


MINIMAL = {"timezone": "UTC", "schedule": [{"mon": ["09:00-17:00"]}]}


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({**MINIMAL, "timzone": "UTC"}, r"unknown key\(s\) \['timzone'\]"),
        ({"schedule": MINIMAL["schedule"]}, "'timezone' is required"),
        ({"timezone": "UTC"}, r"\[\[schedule\]\] is required"),
        ({"timezone": "UTC", "schedule": [{"mon": ["09:00-17:00"], "thur": []}]}, "schedule"),
        ({"timezone": "UTC", "schedule": [{"mon": ["9:00-17"]}]}, r"schedule\[0\]\.mon\[0\]"),
        ({**MINIMAL, "holidays": [{"name": "x"}]}, r"holidays\[0\]: 'date' is required"),
        ({**MINIMAL, "holidays": [{"date": "2024-01-01", "hours": "x"}]}, r"holidays\[0\]"),
        (
            {**MINIMAL, "holidays": [{"date": "2024-01-01"}, {"date": "2024-01-01"}]},
            "listed twice",
        ),
        ({**MINIMAL, "holidays": [{"date": dt.datetime(2024, 1, 1)}]}, "date-time"),
        ({**MINIMAL, "holidays_from": {"country": "FR"}}, "'country' and 'years'"),
        (
            {
                "timezone": "UTC",
                "schedule": [
                    {"effective_from": "2024-05-01", "mon": ["09:00-17:00"]},
                    {"effective_from": "2024-01-01", "mon": ["09:00-17:00"]},
                ],
            },
            "strictly increasing",
        ),
    ],
)
def test_from_dict_validation(data: dict[str, Any], match: str) -> None:
    with pytest.raises(CalendarError, match=match):
        BusinessCalendar.from_dict(data)


TOML = """
name = "support-emea"
timezone = "Europe/Paris"

[[schedule]]
effective_from = "2024-01-01"
mon = ["09:00-12:30", "13:30-18:00"]
tue = ["09:00-12:30", "13:30-18:00"]
wed = ["09:00-18:00"]
thu = ["09:00-18:00"]
fri = ["09:00-17:00", "22:00-06:00"]
sat = []
sun = []

[[schedule]]
effective_from = 2024-07-01
mon = ["10:00-16:00"]

[[holidays]]
date = "2024-12-25"
name = "Christmas Day"

[[holidays]]
date = 2024-12-24
hours = ["09:00-12:00"]
"""


def test_from_toml_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "emea.toml"
    path.write_text(TOML)
    cal = BusinessCalendar.from_toml(path)
    assert cal.name == "support-emea"
    assert cal.schedules[0].fri == ((540, 1020), (1320, 1800))
    assert cal.schedules[1].effective_from == dt.date(2024, 7, 1)
    assert cal.intervals_on(dt.date(2024, 12, 24)) == ((540, 720),)
    assert cal.intervals_on(dt.date(2024, 12, 25)) == ()
    assert cal.intervals_on(dt.date(2024, 12, 23)) == ((600, 960),)  # the July schedule
    assert BusinessCalendar.from_dict(cal.to_dict()) == cal
    assert hash(BusinessCalendar.from_dict(cal.to_dict())) == hash(cal)


def test_from_toml_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('timezone = "UTC"\n[[schedule]]\nmon = ["09:00-12:00", "11:00-13:00"]\n')
    with pytest.raises(CalendarError, match=r"bad\.toml: schedule\[0\].*overlap"):
        BusinessCalendar.from_toml(path)
    path.write_text("timezone = \n")
    with pytest.raises(CalendarError, match="not valid TOML"):
        BusinessCalendar.from_toml(path)
    with pytest.raises(CalendarError, match="not found"):
        BusinessCalendar.from_toml(tmp_path / "missing.toml")


def test_holidays_package() -> None:
    pytest.importorskip("holidays")
    cal = BusinessCalendar.from_holidays(
        "FR", years=[2024], timezone="Europe/Paris", mon="09:00-17:00", wed="09:00-17:00"
    )
    # 2024-05-01 (Wed, Fête du Travail) and 2024-04-01 (Easter Monday) are closed.
    assert cal.intervals_on(dt.date(2024, 5, 1)) == ()
    assert cal.intervals_on(dt.date(2024, 4, 1)) == ()
    assert cal.intervals_on(dt.date(2024, 4, 8)) == ((540, 1020),)
    data = {
        **MINIMAL,
        "holidays_from": {"country": "US", "subdivision": "NY", "years": [2024]},
        "holidays": [{"date": "2024-12-25", "hours": ["09:00-10:00"]}],
    }
    cal = BusinessCalendar.from_dict(data)
    assert cal.intervals_on(dt.date(2024, 7, 4)) == ()  # Independence Day
    assert cal.intervals_on(dt.date(2024, 12, 25)) == ((540, 600),)  # explicit entry wins
    with pytest.raises(CalendarError, match="holidays_from"):
        BusinessCalendar.from_dict({**MINIMAL, "holidays_from": {"country": "XX", "years": [1]}})


def test_holidays_package_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "holidays", None)
    with pytest.raises(ImportError, match=r"csmetrics\[holidays\]"):
        BusinessCalendar.from_holidays("FR", years=[2024], timezone="UTC", mon="09:00-17:00")


# --------------------------------------------------------------------------- the oracle

RICH: dict[str, Any] = {
    "schedule": [
        {
            "effective_from": "2023-01-01",
            "mon": ["09:00-12:30", "13:30-18:00"],
            "tue": ["09:00-12:30", "13:30-18:00"],
            "wed": ["09:00-18:00"],
            "thu": ["00:00-24:00"],
            "fri": ["09:00-17:00", "22:00-06:00"],
            "sat": ["07:00-09:00"],
            "sun": ["01:00-04:00", "23:00-03:00"],
        },
        {
            "effective_from": "2024-10-01",
            "mon": ["08:00-16:00"],
            "tue": ["08:00-16:00"],
            "wed": ["08:00-16:00"],
            "thu": ["08:00-16:00"],
            "fri": ["08:00-16:00", "20:00-02:30"],
            "sat": ["10:00-12:00"],
            "sun": ["02:00-02:45", "03:00-05:00"],
        },
        {
            "effective_from": "2024-10-29",
            "mon": ["00:00-24:00"],
            "tue": ["07:30-11:15", "11:15-19:45"],
            "wed": ["12:00-03:00"],
            "thu": ["06:00-10:00"],
            "sat": ["23:59-00:01"],
            "sun": ["01:00-04:00"],
        },
    ],
    "holidays": [
        {"date": "2024-03-09"},
        {"date": "2024-03-30"},
        {"date": "2024-04-06"},
        {"date": "2024-10-05"},
        {"date": "2024-10-26"},
        {"date": "2024-11-02"},
        {"date": "2024-03-08", "hours": ["10:00-11:30", "20:00-02:00"]},
        {"date": "2024-04-04", "hours": ["13:00-15:00"]},
        {"date": "2024-10-31", "hours": ["00:00-02:00", "22:00-05:00"]},
        {"date": "2024-10-06", "hours": ["01:30-03:30"]},
        {"date": "2024-11-03", "hours": ["00:30-01:30"]},
        {"date": "2024-03-31", "hours": ["00:00-04:00", "22:00-03:30"]},
    ],
}

# Zone → the local dates of its 2024 clock changes (any two dates for Kolkata).
ZONES = {
    "Europe/Paris": [dt.date(2024, 3, 31), dt.date(2024, 10, 27)],
    "America/New_York": [dt.date(2024, 3, 10), dt.date(2024, 11, 3)],
    "Australia/Sydney": [dt.date(2024, 4, 7), dt.date(2024, 10, 6)],
    "Australia/Adelaide": [dt.date(2024, 4, 7), dt.date(2024, 10, 6)],
    "Asia/Kolkata": [dt.date(2024, 3, 31), dt.date(2024, 10, 27)],
    "Australia/Lord_Howe": [dt.date(2024, 4, 7), dt.date(2024, 10, 6)],
}
N_PER_ZONE = 400


def random_pairs(
    rng: random.Random, windows: list[tuple[int, int]], n: int
) -> list[tuple[int, int]]:
    pairs = []
    for _ in range(n):
        lo, hi = rng.choice(windows)
        a = rng.randrange(lo, hi)
        length = rng.choice([rng.randrange(0, 120), rng.randrange(0, 1440), rng.randrange(0, 5760)])
        b = min(a + length, hi - 1)
        if rng.random() < 0.1:
            a, b = b, a
        pairs.append((a, b))
    return pairs


def check_against_oracle(spec: dict[str, Any], dates: list[dt.date], seed: int) -> pl.DataFrame:
    calendar = BusinessCalendar.from_dict(spec)
    oracle = Oracle(spec)
    windows = windows_around(dates, before=5, after=5)
    expected = []
    rng = random.Random(seed)
    pairs_all = []
    for lo, hi in windows:
        oracle.prepare(lo, hi)
        pairs = random_pairs(rng, [(lo, hi)], N_PER_ZONE // len(windows))
        expected += [oracle.business_minutes(a, b) * 60 * 10**6 for a, b in pairs]
        pairs_all += pairs
    frame = pl.DataFrame(
        {
            "a": [from_minute(a) for a, _ in pairs_all],
            "b": [from_minute(b) for _, b in pairs_all],
            "expected": expected,
        },
        schema={"a": TS, "b": TS, "expected": pl.Int64},
    )
    got = frame.with_columns(
        business_duration("a", "b", calendar).dt.total_microseconds().alias("batch"),
        business_duration("a", "b", calendar, span=SPAN).dt.total_microseconds().alias("lit"),
    )
    wrong = got.filter(
        (pl.col("batch") != pl.col("expected")) | (pl.col("lit") != pl.col("expected"))
    )
    assert wrong.height == 0, f"{spec['timezone']}: {wrong.height} mismatches\n{wrong.head(10)}"
    return frame.with_columns(zone=pl.lit(spec["timezone"]))


def test_oracle_rich_calendar_in_many_zones() -> None:
    # 6 zones × 400 random intervals (minutes, up to 4 days, 10 % reversed) inside ±5-day
    # windows around each clock change, with split and overnight shifts, full and partial
    # holidays (some on DST days) and two schedule changes.
    frames = [
        check_against_oracle({**RICH, "timezone": zone}, dates, seed=i)
        for i, (zone, dates) in enumerate(ZONES.items())
    ]
    # The same rows at once, each zone its own calendar through a key.
    frame = pl.concat(frames)
    calendars = {zone: BusinessCalendar.from_dict({**RICH, "timezone": zone}) for zone in ZONES}
    got = with_business_durations(frame, {"d": ("a", "b")}, calendars, key="zone").collect()
    assert (got["d"].dt.total_microseconds() == got["expected"]).all()
    batch = frame.select(business_duration("a", "b", calendars, key="zone"))
    assert (batch.to_series().dt.total_microseconds() == frame["expected"]).all()


def random_week(rng: random.Random) -> dict[str, list[str]]:
    while True:
        week: dict[str, list[str]] = {}
        for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
            cuts = sorted(rng.sample(range(96), rng.choice([0, 2, 2, 4, 4, 6])))
            pieces = [
                f"{cuts[i] // 4:02d}:{cuts[i] % 4 * 15:02d}-"
                f"{cuts[i + 1] // 4:02d}:{cuts[i + 1] % 4 * 15:02d}"
                for i in range(0, len(cuts), 2)
            ]
            if rng.random() < 0.3:  # an overnight shift at the end of the day
                start = rng.randrange((cuts[-1] + 1) if cuts else 0, 96)
                end = rng.randrange(0, 40)
                if end < start:
                    pieces.append(f"{start // 4:02d}:{start % 4 * 15:02d}-{end // 4:02d}:00")
            week[day] = pieces
        try:
            Schedule(**week)  # type: ignore[arg-type]
        except CalendarError:
            continue
        return week


def test_oracle_random_calendars() -> None:
    rng = random.Random(42)
    for zone in ("Europe/Paris", "Australia/Adelaide"):
        dates = ZONES[zone]
        spec = {
            "timezone": zone,
            "schedule": [
                {"effective_from": "2024-01-01", **random_week(rng)},
                {"effective_from": str(dates[1]), **random_week(rng)},
            ],
            "holidays": [
                {"date": str(dates[0] + dt.timedelta(days=1))},
                {"date": str(dates[1] - dt.timedelta(days=2)), "hours": ["10:00-23:00"]},
            ],
        }
        check_against_oracle(spec, dates, seed=rng.randrange(10**6))


# --------------------------------------------------------------------------- properties

MIN_US = int(SPAN[0].timestamp()) * 10**6 + 86_400 * 10**6
MAX_US = int(SPAN[1].timestamp()) * 10**6 - 86_400 * 10**6
PROPERTY_CALENDARS = [
    PARIS_SPLIT,
    BusinessCalendar.from_dict({**RICH, "timezone": "America/New_York"}),
    BusinessCalendar.from_dict({**RICH, "timezone": "Australia/Lord_Howe"}),
    BusinessCalendar.weekly("Asia/Kolkata", sat="23:00-01:00", mon="09:00-17:30"),
]
instants = st.integers(MIN_US, MAX_US)
near = st.integers(0, 10 * 86_400 * 10**6)


def _evaluate(calendar: BusinessCalendar, rows: list[tuple[int, int]]) -> list[int]:
    frame = pl.DataFrame({"a": [r[0] for r in rows], "b": [r[1] for r in rows]}).select(
        pl.all().cast(TS)
    )
    out = frame.select(business_duration("a", "b", calendar, span=SPAN).dt.total_microseconds())
    return out.to_series().to_list()


@settings(deadline=None, max_examples=40)
@given(
    calendar=st.sampled_from(PROPERTY_CALENDARS),
    rows=st.lists(st.tuples(instants, near, near), min_size=1, max_size=30),
)
def test_bounds_and_additivity(
    calendar: BusinessCalendar, rows: list[tuple[int, int, int]]
) -> None:
    a = [r[0] for r in rows]
    b = [min(r[0] + r[1], MAX_US) for r in rows]
    c = [min(x + r[2], MAX_US) for x, r in zip(b, rows, strict=True)]
    ab = _evaluate(calendar, list(zip(a, b, strict=True)))
    bc = _evaluate(calendar, list(zip(b, c, strict=True)))
    ac = _evaluate(calendar, list(zip(a, c, strict=True)))
    for i in range(len(rows)):
        assert 0 <= ab[i] <= b[i] - a[i]
        assert ac[i] == ab[i] + bc[i]
    ba = _evaluate(calendar, list(zip(b, a, strict=True)))
    assert ba == [-x for x in ab]


@settings(deadline=None, max_examples=25)
@given(
    zone=st.sampled_from(
        ["UTC", "Europe/Paris", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu"]
    ),
    rows=st.lists(st.tuples(instants, near), min_size=1, max_size=30),
)
def test_always_open_is_calendar_time(zone: str, rows: list[tuple[int, int]]) -> None:
    pairs = [(a, min(a + d, MAX_US)) for a, d in rows]
    got = _evaluate(BusinessCalendar.always_open(zone), pairs)
    assert got == [b - a for a, b in pairs]


@settings(deadline=None, max_examples=25)
@given(
    calendar=st.sampled_from(PROPERTY_CALENDARS),
    rows=st.lists(
        st.tuples(
            st.integers(MIN_US, MAX_US - 30 * 86_400 * 10**6), st.integers(0, 40 * 3600 * 10**6)
        ),
        min_size=1,
        max_size=20,
    ),
)
def test_deadline_inverts_duration(calendar: BusinessCalendar, rows: list[tuple[int, int]]) -> None:
    frame = pl.DataFrame({"t": [r[0] for r in rows], "amount": [r[1] for r in rows]}).with_columns(
        pl.col("t").cast(TS), pl.col("amount").cast(pl.Duration("us"))
    )
    out = frame.with_columns(
        end=business_deadline("t", "amount", calendar),
        end_lit=business_deadline("t", "amount", calendar, span=(SPAN[0], SPAN[1])),
    )
    out = out.with_columns(
        got=business_duration("t", "end", calendar, span=SPAN),
        just_before=business_duration(
            "t", pl.col("end") - pl.duration(microseconds=1), calendar, span=SPAN
        ),
    )
    for row in out.iter_rows(named=True):
        assert row["end"] >= row["t"]
        if row["end_lit"] is not None:  # inside the span
            assert row["end_lit"] == row["end"]
        assert row["got"] == row["amount"]
        if row["amount"] > dt.timedelta(0):  # the earliest such instant
            assert row["just_before"] < row["amount"]
        else:
            assert row["end"] == row["t"]


# --------------------------------------------------------------------------- deadlines


def test_deadline_hand_worked() -> None:
    # Paris split shifts; Mon 2024-06-03 17:00 CEST + 3 h business: 1 h to 18:00, Tue
    # 09:00–11:00 → Tue 11:00 CEST = 09:00 UTC.
    frame = pl.DataFrame({"t": [local("Europe/Paris", 2024, 6, 3, 17)]})
    got = frame.select(business_deadline("t", dt.timedelta(hours=3), PARIS_SPLIT)).item()
    assert got == utc(2024, 6, 4, 9)
    # 10_800 seconds is the same target.
    assert frame.select(business_deadline("t", 10_800, PARIS_SPLIT)).item() == utc(2024, 6, 4, 9)
    # Exactly the rest of Monday ends at Monday's close, not Tuesday's open.
    got = frame.select(business_deadline("t", dt.timedelta(hours=1), PARIS_SPLIT)).item()
    assert got == local("Europe/Paris", 2024, 6, 3, 18)


def test_deadline_days() -> None:
    # Fri 2024-06-07 10:00 Paris; business days after Friday: Mon 10th (closes 18:00),
    # Tue 11th, …; Friday's own 22:00–06:00 shift does not make Saturday a business day.
    frame = pl.DataFrame({"t": [local("Europe/Paris", 2024, 6, 7, 10)] * 4, "n": [0, 1, 2, 5]})
    got = frame.select(business_deadline("t", "n", PARIS_SPLIT, unit="days")).to_series()
    assert got.to_list() == [
        local("Europe/Paris", 2024, 6, 7, 10),
        local("Europe/Paris", 2024, 6, 10, 18),
        local("Europe/Paris", 2024, 6, 11, 18),
        # Fri 14th: its last interval is the overnight shift, closing Sat 06:00.
        local("Europe/Paris", 2024, 6, 15, 6),
    ]
    lit = frame.select(business_deadline("t", "n", PARIS_SPLIT, unit="days", span=SPAN))
    assert lit.to_series().to_list() == got.to_list()


def test_deadline_days_skips_holidays_and_counts_from_the_local_date() -> None:
    # Sydney Mon–Fri 09:00–17:00, Tue 2024-06-11 a holiday. Start: Sun 23:30 UTC = Mon 09:30
    # AEST, so the local date is Monday; 1 business day after Monday is Wednesday (17:00 AEST
    # = 07:00 UTC).
    cal = BusinessCalendar.weekly(
        "Australia/Sydney",
        **dict.fromkeys(["mon", "tue", "wed", "thu", "fri"], "09:00-17:00"),
        holidays=["2024-06-11"],
    )
    frame = pl.DataFrame({"t": [utc(2024, 6, 9, 23, 30)]})
    assert frame.select(business_deadline("t", 1, cal, unit="days")).item() == utc(2024, 6, 12, 7)


def test_deadline_nulls_and_errors() -> None:
    cal = BusinessCalendar.always_open()
    frame = pl.DataFrame({"t": [utc(2024, 1, 1), None, utc(2024, 1, 1)], "n": [-1, 1, None]})
    got = frame.select(business_deadline("t", "n", cal, unit="days")).to_series()
    assert got.to_list() == [None, None, None]
    with pytest.raises(PolicyError, match="unit"):
        business_deadline("t", 1, cal, unit="weeks")  # type: ignore[arg-type]
    with pytest.raises(PolicyError, match="unit='time'"):
        business_deadline("t", dt.timedelta(hours=1), cal, unit="days")
    with pytest.raises(PolicyError, match="amount"):
        business_deadline("t", [1], cal)  # type: ignore[arg-type]


def test_deadline_far_beyond_the_data() -> None:
    # One hour a week: 30 business hours from 2024-01-01 (Mon) end in the 30th week, Mon
    # 2024-07-22 10:00 (the tables grow to find it).
    cal = BusinessCalendar.weekly("UTC", mon="09:00-10:00")
    frame = pl.DataFrame({"t": [utc(2024, 1, 1)]})
    got = frame.select(business_deadline("t", dt.timedelta(hours=30), cal)).item()
    assert got == utc(2024, 1, 1, 10) + dt.timedelta(weeks=29)


# --------------------------------------------------------------------------- frame helper


def test_with_business_durations_keys_and_defaults() -> None:
    paris = BusinessCalendar.weekly("Europe/Paris", mon="09:00-17:00")
    frame = pl.DataFrame(
        {
            "team": ["paris", "tokyo", None],
            "a": [utc(2024, 6, 3)] * 3,
            "b": [utc(2024, 6, 4)] * 3,
        }
    )
    with pytest.raises(CalendarError, match=r"'tokyo' \(1 rows\)"):
        with_business_durations(frame, {"d": ("a", "b")}, {"paris": paris}, key="team")
    out = with_business_durations(
        frame,
        {"d": ("a", "b")},
        {"paris": paris},
        key="team",
        default=BusinessCalendar.always_open(),
    ).collect()
    # Paris 09:00–17:00 Monday = 8 h; tokyo and the null key fall back to 24×7 = 24 h.
    assert out["d"].to_list() == [dt.timedelta(hours=h) for h in (8, 24, 24)]
    # Without a default and with an explicit span: unknown keys give null, nothing collected.
    out = with_business_durations(
        frame, {"d": ("a", "b")}, {"paris": paris}, key="team", span=SPAN
    ).collect()
    assert out["d"].to_list() == [dt.timedelta(hours=8), None, None]


def test_with_business_durations_schema_errors() -> None:
    cal = BusinessCalendar.always_open()
    naive = pl.DataFrame({"a": [dt.datetime(2024, 1, 1)], "b": [dt.datetime(2024, 1, 2)]})
    with pytest.raises(SchemaError, match="time-zone aware"):
        with_business_durations(naive, {"d": ("a", "b")}, cal)
    with pytest.raises(SchemaError, match="missing_column"):
        with_business_durations(naive, {"d": ("a", "c")}, cal)
    with pytest.raises(PolicyError, match="key="):
        business_duration("a", "b", {"x": cal})
    with pytest.raises(PolicyError, match="only used with a mapping"):
        business_duration("a", "b", cal, key="team")
    with pytest.raises(PolicyError, match="aware"):
        business_duration("a", "b", cal, span=(dt.datetime(2024, 1, 1), dt.datetime(2024, 2, 1)))


def test_with_business_durations_empty_frame() -> None:
    frame = pl.DataFrame({"a": [], "b": []}, schema={"a": TS, "b": TS})
    out = with_business_durations(frame, {"d": ("a", "b")}, BusinessCalendar.always_open())
    assert out.collect().schema["d"] == pl.Duration("us")
    same = with_business_durations(frame, {}, BusinessCalendar.always_open())
    assert same.collect_schema().names() == ["a", "b"]


def test_row_order_does_not_matter() -> None:
    cal = PROPERTY_CALENDARS[1]
    rng = random.Random(7)
    a = [MIN_US + rng.randrange(0, 300 * 86_400 * 10**6) for _ in range(500)]
    frame = pl.DataFrame({"a": a, "b": [x + rng.randrange(0, 10**11) for x in a]}).select(
        pl.all().cast(TS)
    )
    first = with_business_durations(frame, {"d": ("a", "b")}, cal).collect()
    shuffled = with_business_durations(
        frame.sample(fraction=1.0, shuffle=True, seed=1), {"d": ("a", "b")}, cal
    ).collect()
    assert first.sort("a", "b").equals(shuffled.sort("a", "b"))


def test_minute_helpers_round_trip() -> None:
    assert minute_of(from_minute(28_000_000)) == 28_000_000


def test_keyed_deadlines_match_single_calendars() -> None:
    # Per-row calendars share one set of tables (one block per calendar): each row must get
    # what its own calendar alone gives, for business time and business days.
    calendars = {zone: BusinessCalendar.from_dict({**RICH, "timezone": zone}) for zone in ZONES}
    rng = random.Random(3)
    zones = list(ZONES)
    rows = [
        (
            rng.choice(zones),
            utc(2024, 3, 1) + dt.timedelta(minutes=rng.randrange(0, 300 * 1440)),
            rng.randrange(0, 30 * 3600),
            rng.randrange(0, 12),
        )
        for _ in range(300)
    ]
    frame = pl.DataFrame(
        rows,
        schema={"zone": pl.String, "t": TS, "seconds": pl.Int64, "days": pl.Int64},
        orient="row",
    ).with_columns(amount=pl.duration(seconds="seconds"))
    keyed = frame.select(
        time=business_deadline("t", "amount", calendars, key="zone"),
        days=business_deadline("t", "days", calendars, key="zone", unit="days"),
        time_lit=business_deadline("t", "amount", calendars, key="zone", span=SPAN),
        days_lit=business_deadline("t", "days", calendars, key="zone", unit="days", span=SPAN),
    )
    for zone, calendar in calendars.items():
        mask = frame["zone"] == zone
        part = frame.filter(mask)
        alone = part.select(
            time=business_deadline("t", "amount", calendar),
            days=business_deadline("t", "days", calendar, unit="days"),
        )
        assert keyed.filter(mask)["time"].to_list() == alone["time"].to_list()
        assert keyed.filter(mask)["days"].to_list() == alone["days"].to_list()
        assert keyed.filter(mask)["time_lit"].to_list() == alone["time"].to_list()
        assert keyed.filter(mask)["days_lit"].to_list() == alone["days"].to_list()


def test_deadline_days_against_open_intervals() -> None:
    # The N-th business day's last close, recomputed from the calendar's own day hours.
    calendar = BusinessCalendar.from_dict({**RICH, "timezone": "America/New_York"})
    start = local("America/New_York", 2024, 10, 20, 12)
    frame = pl.DataFrame({"t": [start] * 15, "n": list(range(1, 16))})
    got = frame.select(business_deadline("t", "n", calendar, unit="days")).to_series().to_list()
    from zoneinfo import ZoneInfo

    day = dt.date(2024, 10, 20)
    expected = []
    while len(expected) < 15:
        day += dt.timedelta(days=1)
        hours = calendar.intervals_on(day)
        if not hours:
            continue
        end = max(e for _, e in hours)
        wall = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=end)
        # Closes at a repeated wall time read the later (fold=1) instant.
        expected.append(wall.replace(tzinfo=ZoneInfo("America/New_York"), fold=1).astimezone(UTC))
    assert got == expected


def test_shared_columns_and_batch_keys() -> None:
    cal = BusinessCalendar.weekly("UTC", mon="09:00-17:00")
    frame = pl.DataFrame(
        {
            "created": [utc(2024, 6, 3, 8)],
            "replied": [utc(2024, 6, 3, 10)],
            "solved": [utc(2024, 6, 3, 16)],
            "team": ["x"],
        }
    )
    out = with_business_durations(
        frame, {"frt": ("created", "replied"), "ttr": ("created", "solved")}, cal
    ).collect()
    # 09:00–10:00 = 1 h; 09:00–16:00 = 7 h; no helper column is left behind.
    assert out.columns == ["created", "replied", "solved", "team", "frt", "ttr"]
    assert out.row(0)[-2:] == (dt.timedelta(hours=1), dt.timedelta(hours=7))
    # Batch path with a key: unknown key values give null.
    got = frame.select(business_duration("created", "solved", {"y": cal}, key="team"))
    assert got.item() is None
