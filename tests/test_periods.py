"""Periods (hour, weekday, Polars durations), instants and ranges as text: worked by hand."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from csmetrics._periods import (
    WEEKDAYS,
    Period,
    check_period,
    parse_instant,
    parse_range,
    period_label,
    period_label_expr,
    period_start_expr,
)
from csmetrics.exceptions import PolicyError

UTC = dt.UTC
PARIS = ZoneInfo("Europe/Paris")


def _keys(instants: list[dt.datetime], period: str, zone: str = "Europe/Paris") -> list[object]:
    frame = pl.DataFrame({"ts": pl.Series(instants, dtype=pl.Datetime("us", "UTC"))})
    return frame.select(period_start_expr("ts", period, zone)).to_series().to_list()


@pytest.mark.parametrize(
    ("text", "every", "column"),
    [
        ("hour", "1h", "period_start"),
        ("Day", "1d", "period_start"),
        ("week", "1w", "period_start"),
        ("month", "1mo", "period_start"),
        ("quarter", "1q", "period_start"),
        ("1w", "1w", "period_start"),
        ("1d", "1d", "period_start"),
        ("1h", "1h", "period_start"),
        ("15m", "15m", "period_start"),
        ("1h30m", "1h30m", "period_start"),
        ("weekday", None, "weekday"),
        ("hour_of_day", None, "hour_of_day"),
    ],
)
def test_accepted_periods(text: str, every: str | None, column: str) -> None:
    spec = check_period(text)
    assert (spec.every, spec.column) == (every, column)
    assert spec.is_profile == (every is None)
    assert check_period(spec) is spec


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("wekday", "did you mean 'weekday'"),
        ("weak", "did you mean 'week'"),
        ("mnth", "did you mean 'month'"),
        ("hours", "did you mean 'hour'"),
        ("0d", ""),
        ("1x", ""),
        ("-1d", ""),
    ],
)
def test_refused_periods_say_what_is_accepted(text: str, hint: str) -> None:
    with pytest.raises(PolicyError, match="is not a period") as info:
        check_period(text, option="--period")
    message = str(info.value)
    assert message.startswith(f"--period {text!r}")
    assert hint in message
    assert "weekday" in message
    assert "15m" in message


def test_not_a_string() -> None:
    with pytest.raises(PolicyError, match="got int 7"):
        check_period(7)


def test_day_follows_daylight_saving_in_paris() -> None:
    # 2024-03-30 23:30 UTC = 2024-03-31 00:30 CET (UTC+1) → local day 2024-03-31, whose
    # midnight is 2024-03-30 23:00 UTC. 2024-03-31 22:30 UTC = 2024-04-01 00:30 CEST (UTC+2)
    # → day 2024-04-01, midnight = 2024-03-31 22:00 UTC: that day was 23 hours long.
    keys = _keys(
        [
            dt.datetime(2024, 3, 30, 23, 30, tzinfo=UTC),
            dt.datetime(2024, 3, 31, 22, 30, tzinfo=UTC),
        ],
        "day",
    )
    assert keys == [dt.datetime(2024, 3, 31, tzinfo=PARIS), dt.datetime(2024, 4, 1, tzinfo=PARIS)]
    assert [k.astimezone(UTC) for k in keys] == [  # type: ignore[attr-defined]
        dt.datetime(2024, 3, 30, 23, tzinfo=UTC),
        dt.datetime(2024, 3, 31, 22, tzinfo=UTC),
    ]


def test_hour_on_the_autumn_change_exists_twice() -> None:
    # 2024-10-27: clocks go back at 03:00 CEST to 02:00 CET. 00:30 UTC = 02:30 CEST and
    # 01:30 UTC = 02:30 CET: both are "02:xx" local, but two different hours, starting at
    # 00:00 UTC and 01:00 UTC. 02:30 UTC = 03:30 CET → the hour starting 02:00 UTC.
    keys = _keys(
        [
            dt.datetime(2024, 10, 27, 0, 30, tzinfo=UTC),
            dt.datetime(2024, 10, 27, 1, 30, tzinfo=UTC),
            dt.datetime(2024, 10, 27, 2, 30, tzinfo=UTC),
        ],
        "hour",
    )
    assert [k.astimezone(UTC).hour for k in keys] == [0, 1, 2]  # type: ignore[attr-defined]
    assert [k.hour for k in keys] == [2, 2, 3]  # type: ignore[attr-defined]


def test_week_starts_on_monday_local() -> None:
    # Sunday 2024-03-31 23:30 CEST (21:30 UTC) is in the week of Monday 2024-03-25; Monday
    # 2024-04-01 00:10 CEST (2024-03-31 22:10 UTC) starts the next week.
    keys = _keys(
        [
            dt.datetime(2024, 3, 31, 21, 30, tzinfo=UTC),
            dt.datetime(2024, 3, 31, 22, 10, tzinfo=UTC),
        ],
        "1w",
    )
    assert keys == [dt.datetime(2024, 3, 25, tzinfo=PARIS), dt.datetime(2024, 4, 1, tzinfo=PARIS)]


def test_fifteen_minutes() -> None:
    # 09:44:59 → 09:30; 09:45:00 → 09:45 (local Paris in winter = UTC + 1).
    keys = _keys(
        [
            dt.datetime(2024, 1, 8, 8, 44, 59, tzinfo=UTC),
            dt.datetime(2024, 1, 8, 8, 45, tzinfo=UTC),
        ],
        "15m",
    )
    assert [(k.hour, k.minute) for k in keys] == [(9, 30), (9, 45)]  # type: ignore[attr-defined]


def test_weekday_profile_is_local_and_ordered() -> None:
    # 2024-03-31 22:30 UTC is Sunday in UTC but Monday 00:30 CEST in Paris;
    # 2024-01-06 is a Saturday; null stays null.
    frame = pl.DataFrame(
        {
            "ts": pl.Series(
                [
                    dt.datetime(2024, 3, 31, 22, 30, tzinfo=UTC),
                    dt.datetime(2024, 1, 6, 12, tzinfo=UTC),
                    None,
                ],
                dtype=pl.Datetime("us", "UTC"),
            )
        }
    )
    out = frame.select(period_start_expr("ts", "weekday", "Europe/Paris"))
    assert out.columns == ["weekday"]
    assert out["weekday"].to_list() == ["Monday", "Saturday", None]
    assert out.schema["weekday"] == pl.Enum(list(WEEKDAYS))
    # an Enum sorts Monday first, not alphabetically (Friday first)
    assert out.drop_nulls().sort("weekday")["weekday"].to_list() == ["Monday", "Saturday"]
    utc = frame.select(period_start_expr("ts", "weekday", "UTC"))["weekday"].to_list()
    assert utc[0] == "Sunday"


def test_hour_of_day_profile() -> None:
    # 2024-07-01 06:15 UTC = 08:15 CEST → 8
    keys = _keys([dt.datetime(2024, 7, 1, 6, 15, tzinfo=UTC)], "hour_of_day")
    assert keys == [8]


@pytest.mark.parametrize(
    ("period", "label"),
    [
        ("hour", "2024-12-30 09:00"),
        ("15m", "2024-12-30 09:00"),
        ("day", "2024-12-30"),
        ("week", "2025-W01"),  # ISO: Monday 2024-12-30 starts week 1 of 2025
        ("2w", "2024-12-30"),
        ("month", "2024-12"),
        ("quarter", "2024-Q4"),
        ("year", "2024"),
    ],
)
def test_short_labels(period: str, label: str) -> None:
    start = dt.datetime(2024, 12, 30, 9, tzinfo=PARIS)
    assert period_label(start, period) == label
    frame = pl.DataFrame({"p": pl.Series([start], dtype=pl.Datetime("us", "Europe/Paris"))})
    assert frame.select(period_label_expr("p", period))["p"].to_list() == [label]


def test_period_is_a_value() -> None:
    assert check_period("week") == Period("week", "1w", "period_start")
    assert str(check_period("15m")) == "15m"


# -- instants and ranges (pendulum) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # 09:00 in Paris in winter (UTC+1) = 08:00 UTC
        ("2024-03-01 09:00 Europe/Paris", dt.datetime(2024, 3, 1, 8, tzinfo=UTC)),
        # in summer (UTC+2) = 07:00 UTC
        ("2024-07-01 09:00 Europe/Paris", dt.datetime(2024, 7, 1, 7, tzinfo=UTC)),
        ("2024-03-01T09:00:00+01:00", dt.datetime(2024, 3, 1, 8, tzinfo=UTC)),
        ("2024-03-01T09:00:00Z", dt.datetime(2024, 3, 1, 9, tzinfo=UTC)),
        ("2024-03-01 UTC", dt.datetime(2024, 3, 1, tzinfo=UTC)),
        # 09:00 in New York on 2024-03-11 (EDT since 03-10, UTC-4) = 13:00 UTC
        ("2024-03-11 09:00 America/New_York", dt.datetime(2024, 3, 11, 13, tzinfo=UTC)),
    ],
)
def test_parse_instant(text: str, expected: dt.datetime) -> None:
    assert parse_instant(text) == expected


def test_parse_instant_naive_needs_a_zone() -> None:
    with pytest.raises(PolicyError, match=r"--as-of '2024-03-01 09:00' has no time zone.*"):
        parse_instant("2024-03-01 09:00")
    assert parse_instant("2024-03-01 09:00", timezone="Europe/Paris") == dt.datetime(
        2024, 3, 1, 8, tzinfo=UTC
    )


@pytest.mark.parametrize("text", ["yesterday-ish", "2024-13-01", "09:00 Europe/Paris"])
def test_parse_instant_refuses_in_cli_terms(text: str) -> None:
    with pytest.raises(PolicyError) as info:
        parse_instant(text)
    message = str(info.value)
    assert message.startswith("--as-of")
    assert "datetime(" not in message
    assert "tz=" not in message


def test_unknown_zone() -> None:
    with pytest.raises(PolicyError, match="'Europe/Pari' is not a time zone"):
        parse_instant("2024-03-01 09:00 Europe/Pari")


def test_last_n_weeks_counts_in_local_time() -> None:
    # now = Monday 2024-04-01 09:00 CEST = 07:00 UTC. Four weeks before, in Paris local
    # time, is Monday 2024-03-04 09:00 CET = 08:00 UTC (the DST change on 03-31 is crossed).
    now = dt.datetime(2024, 4, 1, 7, tzinfo=UTC)
    start, end = parse_range("last 4 weeks", now=now, timezone="Europe/Paris")
    assert (start, end) == (dt.datetime(2024, 3, 4, 8, tzinfo=UTC), now)
    start, _ = parse_range("past day", now=now, timezone="UTC")
    assert start == dt.datetime(2024, 3, 31, 7, tzinfo=UTC)
    start, _ = parse_range("last 1 quarter", now=now, timezone="UTC")
    assert start == dt.datetime(2024, 1, 1, 7, tzinfo=UTC)


def test_explicit_ranges() -> None:
    start, end = parse_range("2024-01-01..2024-02-01", timezone="UTC")
    assert (start, end) == (
        dt.datetime(2024, 1, 1, tzinfo=UTC),
        dt.datetime(2024, 2, 1, tzinfo=UTC),
    )
    with pytest.raises(PolicyError, match="end is not after the start"):
        parse_range("2024-02-01..2024-01-01", timezone="UTC")
    with pytest.raises(PolicyError, match="--since 'soon' is not a range"):
        parse_range("soon")


def test_preset_name_gets_a_did_you_mean() -> None:
    import csmetrics as csm

    with pytest.raises(PolicyError, match=r"\(got 'zendsk'\) \(did you mean 'zendesk'\?\)"):
        csm.Policy.preset("zendsk")
