"""Checks of what a user types on the command line, before any work, in CLI terms.

Each ``argparse`` ``type=`` function here refuses a bad value with the option's name, a
"did you mean" and an example (``argparse`` turns the message into a usage error, exit
code 2); the name checks that need the data (``--by`` columns, ``--metric`` names) raise
:class:`~csmetrics.exceptions.PolicyError` the same way.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import zoneinfo
from collections.abc import Callable, Iterable, Sequence

from csmetrics._periods import Period, check_period, parse_instant, parse_range
from csmetrics._text import did_you_mean
from csmetrics.exceptions import CsMetricsError, PolicyError

__all__ = [
    "check_by",
    "check_metrics",
    "choice",
    "instant",
    "period",
    "positive_int",
    "since",
    "zone",
]


def choice(option: str, choices: Sequence[str]) -> Callable[[str], str]:
    """A ``type=`` that accepts one of ``choices`` (any case), with a "did you mean"."""

    def parse(text: str) -> str:
        lowered = {c.lower(): c for c in choices}
        if text.lower() in lowered:
            return lowered[text.lower()]
        raise argparse.ArgumentTypeError(
            f"{option} {text!r} is not one of {', '.join(choices)}{did_you_mean(text, choices)}"
        )

    parse.__name__ = option.lstrip("-")
    return parse


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def zone(option: str) -> Callable[[str], str]:
    """A ``type=`` for an IANA time zone name (``Europe/Paris``, ``UTC``)."""

    def parse(text: str) -> str:
        if text in _zones() or text == "UTC":
            return text
        raise argparse.ArgumentTypeError(
            f"{option} {text!r} is not a time zone{did_you_mean(text, sorted(_zones()))}; "
            f"write an IANA name, e.g. {option} Europe/Paris or {option} UTC"
        )

    parse.__name__ = option.lstrip("-")
    return parse


def period(text: str) -> Period:
    """``--period``: a name, a profile or a Polars duration (:func:`check_period`)."""
    try:
        return check_period(text, option="--period")
    except PolicyError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def instant(text: str) -> dt.datetime:
    """``--as-of``: ``"2024-03-01 09:00 Europe/Paris"``, ISO 8601 with an offset, ``now``."""
    try:
        return parse_instant(text, option="--as-of")
    except PolicyError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def since(text: str) -> str:
    """``--since``: checked for its form now; the range is resolved against the data later."""

    try:
        parse_range(text, now=dt.datetime(2000, 1, 1, tzinfo=dt.UTC), option="--since")
    except PolicyError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    return text


def positive_int(option: str) -> Callable[[str], int]:
    """A ``type=`` for a count ≥ 1."""

    def parse(text: str) -> int:
        try:
            value = int(text.replace(",", "").replace("_", ""))
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"{option} {text!r} is not a whole number") from exc
        if value < 1:
            raise argparse.ArgumentTypeError(f"{option} must be at least 1 (got {value})")
        return value

    parse.__name__ = option.lstrip("-")
    return parse


def check_metrics(names: Iterable[str], known: Iterable[str]) -> None:
    """Refuse an unknown ``--metric`` name, with a "did you mean"."""
    catalogue = sorted(set(known))
    for name in names:
        if name not in catalogue:
            raise PolicyError(
                f"--metric {name!r} is not a metric{did_you_mean(name, catalogue)}; "
                "`csmetrics metrics` lists them"
            )


def check_by(names: Iterable[str], columns: Iterable[str], *, command: str = "cases") -> None:
    """Refuse a ``--by`` column the case table does not have, with a "did you mean"."""
    available = list(columns)
    for name in names:
        if name not in available:
            common = [
                c for c in ("channel", "team", "topic", "priority", "agent_id") if c in available
            ]
            raise PolicyError(
                f"--by {name!r} is not a column of the case table"
                f"{did_you_mean(name, available)}; group by e.g. "
                f"{', '.join(common)} (`csmetrics {command} FILE -o cases.parquet` has them all)"
            )


def user_error(exc: CsMetricsError) -> str:
    """The first line of an error, in CLI terms: Python spellings replaced by options."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    for python, cli in (
        ("`tz=`", "`--tz`"),
        ("pass tz=", "pass --tz "),
        ("tz=", "--tz "),
        ("'as_of'", "--as-of"),
        ("'timezone'", "--timezone"),
        ("'period'", "--period"),
        ("'on_invalid'", "--on-invalid"),
        ("format=", "--format-in "),
    ):
        text = text.replace(python, cli)
    if "datetime(" in text:
        text = text.split("; e.g. datetime(")[0] + "; e.g. --as-of '2024-03-01 09:00 Europe/Paris'"
    return text
