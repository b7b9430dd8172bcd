"""Validation of an event log against the canonical schema (DESIGN §2.3).

Casting and checking happen in one lazy plan: :func:`annotate` turns any raw frame into a frame
holding the raw columns unchanged, their canonical casts, and a ``reason`` column with the code
of the first rule each row breaks (null when the row is good). :func:`validate` then either
raises on the first broken rule or splits the rows into ``(good, rejected)``.
"""

from __future__ import annotations

import datetime as dt
import warnings
import zoneinfo
from collections.abc import Collection, Sequence
from typing import Final

import attrs
import polars as pl

from csmetrics.exceptions import CsMetricsWarning, PolicyError, SchemaError
from csmetrics.schema import (
    ACTOR_DTYPE,
    CANONICAL_COLUMNS,
    EVENT_TYPE_DTYPE,
    ID_COLUMNS,
    KEY_COLUMNS,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    STATUS_DTYPE,
    TS_DTYPE,
)

__all__ = ["REASONS", "Annotated", "annotate"]

REASONS: Final[tuple[str, ...]] = (
    "missing_column",
    "ragged_row",
    "bad_type",
    "naive_timestamp",
    "null_key",
    "unknown_event_type",
    "unknown_actor",
    "missing_status",
    "unknown_status",
    "bad_comp_amount",
    "bad_csat_score",
    "value_out_of_range",
    "missing_merge_target",
    "ts_out_of_range",
    "duplicate_event",
)

"""Stable reason codes in the order rules are checked (the first broken rule is reported)."""

HINTS: Final[dict[str, str]] = {
    "bad_type": "fix the source values, or say how to read them (`ts_format=`, `id_dtype=`)",
    "naive_timestamp": "pass `tz=` (an IANA name such as 'Europe/Paris') to say which zone "
    "the clock times are in, or write the offset into each time stamp",
    "null_key": "every event needs a case_id, customer_id, channel, ts, event_type and actor",
    "unknown_event_type": "map source values onto the canonical event types with an adapter "
    "(the `mapping` adapter takes a value mapping)",
    "unknown_actor": "map source values onto customer/agent/bot/system with an adapter",
    "missing_status": "a status_changed event needs the new `status`",
    "unknown_status": "map source statuses onto new/open/pending/on_hold/solved/closed",
    "bad_comp_amount": "a comp_granted event needs a finite comp_amount >= 0",
    "bad_csat_score": "csat scores are on a 1-5 scale; rescale the source scores",
    "value_out_of_range": "amounts, handle times and scores are summed exactly in "
    "millionths, which must fit a 64-bit integer: |value| must stay below 9,223,372,036,854 "
    "(9.2e12); check the unit (cents instead of units?) or rescale the column",
    "ragged_row": "the CSV line has more fields than the header: quote the fields that hold "
    "the separator, or add the missing column names to the header",
    "missing_merge_target": "a merged event needs `merged_into`",
    "ts_out_of_range": "check the time stamps' unit and zone, or widen `ts_bounds=`",
    "duplicate_event": "drop the repeated rows (split mode keeps the first of each event in "
    "event order)",
}

_COLUMN_HINTS: Final[dict[tuple[str, str], str]] = {
    ("bad_type", "ts"): "time stamps must be ISO 8601 text (with an offset, or naive together "
    "with `tz=`), RFC 2822 text or a Datetime column; pass `ts_format=` (a strftime format such "
    "as '%d/%m/%Y %H:%M') for other text, and convert epoch numbers first "
    "(`pl.from_epoch(col, time_unit='s')`)",
    ("bad_type", "event_id"): "ids must be all integers or all text: pass `id_dtype='string'` "
    "to read every id as text",
    ("bad_type", "case_id"): "ids must be all integers or all text: pass `id_dtype='string'` "
    "to read every id as text",
    ("bad_type", "customer_id"): "ids must be all integers or all text: pass "
    "`id_dtype='string'` to read every id as text",
    ("bad_type", "merged_into"): "merged_into holds case ids, with case_id's type; pass "
    "`id_dtype='string'` to read every id as text",
    ("bad_type", "is_public"): "is_public takes true/false, yes/no, t/f or 1/0",
    ("bad_type", "handle_seconds"): "handle_seconds must be a finite number of seconds >= 0",
}

_NAIVE_FORMATS: Final[tuple[str, ...]] = (
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
)
_AWARE_FORMATS: Final[tuple[str, ...]] = (
    "%+",
    "%Y-%m-%dT%H:%M%#z",
    "%Y-%m-%d %H:%M%#z",
    "%a, %d %b %Y %H:%M:%S %z",
    "%d %b %Y %H:%M:%S %z",
)
_TRUE_WORDS: Final = ("true", "t", "yes", "y", "1", "1.0")
_FALSE_WORDS: Final = ("false", "f", "no", "n", "0", "0.0")

DEFAULT_TS_MIN: Final = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
"""Default earliest plausible time stamp (rule R10)."""

_P = "__csm_"  # prefix of every private column inside an annotated frame
_ROW = _P + "row"
_NAIVE = _P + "naive"
_DUP = _P + "dup"
_VALUE = _P + "value"
_RESERVED: Final = ("reason", "reason_column")
RAGGED: Final = _P + "extra"
"""The column a CSV reader adds to hold the first field beyond the header (rule ``ragged_row``)."""
_MAX_MICRO: Final = 2**63 / 1e6
"""Amounts, handle times and scores are summed in millionths as Int64: |value| must be below."""
_MICRO_COLUMNS: Final = ("comp_amount", "handle_seconds", "csat_score")
_EXAMPLES = 5
_EXAMPLE_CHARS = 60


def _c(name: str) -> str:
    """Private name of the canonical cast of ``name``."""
    return _P + "c_" + name


def _b(name: str) -> str:
    """Private name of the R2 flag of ``name`` (a present value that cannot be cast)."""
    return _P + "b_" + name


@attrs.frozen
class Annotated:
    """A raw frame with its canonical casts and a ``reason`` per row (see :func:`annotate`).

    Attributes
    ----------
    frame
        Raw columns unchanged, canonical casts under private names, ``reason`` and
        ``reason_column`` (null for good rows).
    raw_columns
        The raw column names, in order.
    canonical
        The canonical column names the good frame will have, in order.
    source
        Where the rows came from (a path, or a description of the object).
    naive_rows
        The row numbers and raw ``ts`` of the rows breaking R3 (naive string time stamps read
        without ``tz``), as a cheap plan of its own; ``None`` when no row can break it.
    unprintable
        Raw columns whose values cannot be shown as text (lists, structs, objects).
    """

    frame: pl.LazyFrame
    raw_columns: tuple[str, ...]
    canonical: tuple[str, ...]
    source: str
    naive_rows: pl.LazyFrame | None = None
    unprintable: frozenset[str] = frozenset()
    tz: str | None = None

    def raise_naive(self) -> None:
        """Raise the R3 :class:`SchemaError` (a whole-frame error) if any time stamp is naive."""
        if self.naive_rows is None:
            return
        try:
            found = self.naive_rows.select(
                pl.len().alias("n_rows"),
                pl.col("ts").cast(pl.String).head(_EXAMPLES).implode().alias("examples"),
                pl.col(_ROW).head(_EXAMPLES).implode().alias("rows"),
            ).collect()
        except (pl.exceptions.PolarsError, pl.exceptions.PanicException, OSError) as exc:
            raise unreadable(self.source, exc) from exc
        n_rows = int(found["n_rows"][0])
        if n_rows:
            _raise(
                "naive_timestamp",
                "ts",
                self.source,
                n_rows,
                list(found["examples"][0]),
                list(found["rows"][0]),
                "",
            )

    def good(self) -> pl.LazyFrame:
        """The rows that break no rule, in canonical form, in input order."""
        return self.frame.filter(pl.col("reason").is_null()).select(
            pl.col(_c(name)).alias(name) for name in self.canonical
        )

    def canonical_with_reason(self) -> pl.LazyFrame:
        """Every row in canonical form plus ``reason`` (null when good), in input order.

        Collecting this once both checks the rules and gives the good rows (see
        :meth:`csmetrics.EventLog.collect`).
        """
        return self.frame.select(
            *(pl.col(_c(name)).alias(name) for name in self.canonical), "reason"
        )

    def rejected(self) -> pl.LazyFrame:
        """The rows that break a rule, unchanged, plus ``reason`` and ``reason_column``."""
        return self.frame.filter(pl.col("reason").is_not_null()).select(
            *self.raw_columns, "reason", "reason_column"
        )

    def reason_counts(self) -> pl.DataFrame:
        """Collect, per reason and column, how many rows break it and the first few values.

        Columns: ``reason``, ``reason_column``, ``n_rows``, ``examples`` (raw values as
        text) and ``rows`` (their 0-based row numbers), sorted in rule order.
        """
        order = {name: i for i, name in enumerate((*CANONICAL_COLUMNS, *self.raw_columns))}
        value = pl.lit(None, pl.String)
        for name in (*CANONICAL_COLUMNS, "*"):
            if name in self.raw_columns or name == "*":
                value = (
                    pl.when(pl.col("reason_column") == name)
                    .then(_value_text(name, self.raw_columns, self.unprintable))
                    .otherwise(value)
                )
        try:
            counts = (
                self.frame.filter(pl.col("reason").is_not_null())
                .with_columns(value.alias(_VALUE))
                .group_by("reason", "reason_column")
                .agg(
                    pl.len().alias("n_rows"),
                    pl.struct(_ROW, _VALUE).bottom_k_by(_ROW, _EXAMPLES).alias("first"),
                )
                .collect()
            )
            first = pl.element().sort_by(pl.element().struct.field(_ROW))
            counts = counts.with_columns(
                pl.col("first").list.eval(first.struct.field(_VALUE)).alias("examples"),
                pl.col("first").list.eval(first.struct.field(_ROW)).alias("rows"),
            ).drop("first")
        except (
            pl.exceptions.PolarsError,
            pl.exceptions.PanicException,
            OSError,
        ) as exc:  # unreadable source: name it
            raise unreadable(self.source, exc) from exc
        return (
            counts.with_columns(
                pl.col("reason")
                .replace_strict({r: i for i, r in enumerate(REASONS)}, return_dtype=pl.Int32)
                .alias("_rule"),
                pl.col("reason_column")
                .replace_strict(order, default=len(order), return_dtype=pl.Int32)
                .alias("_column"),
            )
            .sort("_rule", "_column")
            .drop("_rule", "_column")
        )


def unreadable(source: str, exc: BaseException) -> SchemaError:
    """The error for a source Polars cannot read while collecting, naming it and the fix."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "utf-8" in text.lower() or "utf8" in text.lower():
        fix = (
            "the file is not UTF-8: re-encode it (iconv -f latin1 -t utf-8) or pass "
            "encoding='utf8-lossy' to replace the invalid bytes"
        )
    else:
        fix = "check that the file is complete and in the format named (pass format= to override)"
    return SchemaError(
        f"bad_type: cannot read {source}: {text}; fix: {fix}.", reason="bad_type", column=None
    )


def _printable(dtype: pl.DataType) -> bool:
    """Whether values of ``dtype`` can be cast to text (not lists, structs, objects …)."""
    return not (dtype.is_nested() or dtype == pl.Object)


def _target_dtype(name: str, id_is_int: bool) -> pl.DataType:
    if name in ID_COLUMNS:
        return pl.Int64() if id_is_int else pl.String()
    if name == "ts":
        return TS_DTYPE
    if name in ("channel",):
        return pl.String()
    if name in ("event_type", "actor"):
        return EVENT_TYPE_DTYPE if name == "event_type" else ACTOR_DTYPE
    return OPTIONAL_COLUMNS[name]


def _is_text(dtype: pl.DataType) -> bool:
    return dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum)


def _missing(name: str, dtype: pl.DataType) -> pl.Expr:
    """Raw value absent: null, blank text, or a floating NaN (pandas' null)."""
    col = pl.col(name)
    if _is_text(dtype):
        return col.is_null() | (col.cast(pl.String).str.strip_chars() == "")
    if dtype.is_float():
        return col.is_null() | col.is_nan()
    return col.is_null()


def _blank_to_null(text: pl.Expr) -> pl.Expr:
    return pl.when(text != "").then(text)


def _integral(col: pl.Expr) -> pl.Expr:
    """Float values that are whole numbers, as Int64; others null."""
    return pl.when(col == col.round(0)).then(col).cast(pl.Int64, strict=False)


_ROUND_TRIP_INTEGER: Final = r"^(0|-?[1-9]\d{0,17})(\.0*)?$"
"""Integer text that reads back as the same text (no ``+``, no leading zeros): ``007`` and
``+7`` are not case 7."""


def _cast_id(name: str, dtype: pl.DataType, as_int: bool, exact: bool = False) -> pl.Expr:
    col = pl.col(name)
    if dtype.is_integer():
        value = col.cast(pl.Int64, strict=False)
        return value if as_int else value.cast(pl.String)
    if dtype.is_float():
        # ids written as floats (1.0): whole values become integers, others are bad_type
        value = _integral(col)
        return value if as_int else value.cast(pl.String)
    text = _blank_to_null(col.cast(pl.String, strict=False).str.strip_chars())
    if as_int:  # "12" and "12.0" (floats written as text) are 12
        number = text.str.replace(r"\.0*$", "").str.to_integer(strict=False).cast(pl.Int64)
        if exact:  # inferred integer ids: "007" or "+7" must not become case 7 (bad_type)
            return pl.when(text.str.contains(_ROUND_TRIP_INTEGER)).then(number)
        return number
    return text


_TS_TEXT = _P + "ts_text"
_TS_AWARE = _P + "ts_aware"
_TS_NAIVE = _P + "ts_naive"
Stages = list[list[pl.Expr]]


def _parse_ts_strings(tz: str | None, ts_format: str | None) -> tuple[Stages, pl.Expr, pl.Expr]:
    """Return (stages, utc_timestamp, is_naive) for a text ``ts`` column.

    Each format after the first is tried only on the rows the earlier ones could not parse
    (the others are masked to null), in separate stages, so well-formed data is parsed once.
    """
    text = pl.col(_TS_TEXT)
    stages: Stages = [[pl.col("ts").cast(pl.String).str.strip_chars().alias(_TS_TEXT)]]
    if ts_format is not None and "%z" not in ts_format and "%Z" not in ts_format:
        naive = text.str.to_datetime(ts_format, strict=False, time_unit="us")
        if tz is None:
            return stages, pl.lit(None, TS_DTYPE), naive.is_not_null()
        local = naive.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
        return stages, local.dt.convert_time_zone("UTC"), pl.lit(value=False)
    if ts_format is not None:
        parsed = text.str.to_datetime(ts_format, strict=False, time_unit="us", time_zone="UTC")
        return stages, parsed, pl.lit(value=False)
    aware, naive = pl.col(_TS_AWARE), pl.col(_TS_NAIVE)
    stages.append([pl.lit(None, TS_DTYPE).alias(_TS_AWARE)])
    for fmt in _AWARE_FORMATS:
        retry = pl.when(aware.is_null()).then(text)
        parsed = retry.str.to_datetime(fmt, strict=False, time_unit="us", time_zone="UTC")
        stages.append([pl.coalesce(aware, parsed).alias(_TS_AWARE)])
    stages.append([pl.lit(None, pl.Datetime("us")).alias(_TS_NAIVE)])
    for fmt in _NAIVE_FORMATS:
        retry = pl.when(aware.is_null() & naive.is_null()).then(text)
        parsed = retry.str.to_datetime(fmt, strict=False, time_unit="us")
        stages.append([pl.coalesce(naive, parsed).alias(_TS_NAIVE)])
    if tz is None:
        return stages, aware, aware.is_null() & naive.is_not_null()
    local = naive.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
    return stages, pl.coalesce(aware, local.dt.convert_time_zone("UTC")), pl.lit(value=False)


def _naive_error(dtype: pl.DataType, source: str) -> SchemaError:
    return SchemaError(
        f"naive_timestamp: column 'ts' in {source} is {dtype} without a time zone, so every "
        f"row is ambiguous; fix: {HINTS['naive_timestamp']}.",
        reason="naive_timestamp",
        column="ts",
    )


def _cast_ts(
    dtype: pl.DataType, tz: str | None, ts_format: str | None, source: str
) -> tuple[Stages, pl.Expr, pl.Expr]:
    """Return (stages, utc_timestamp, is_naive) for the ``ts`` column of dtype ``dtype``."""
    col = pl.col("ts")
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is not None:
            return [], col.dt.convert_time_zone("UTC").cast(TS_DTYPE), pl.lit(value=False)
        if tz is None:
            raise _naive_error(dtype, source)
        local = col.cast(pl.Datetime("us")).dt.replace_time_zone(
            tz, ambiguous="earliest", non_existent="null"
        )
        return [], local.dt.convert_time_zone("UTC").cast(TS_DTYPE), pl.lit(value=False)
    if isinstance(dtype, pl.Date):
        if tz is None:
            raise _naive_error(dtype, source)
        local = col.cast(pl.Datetime("us")).dt.replace_time_zone(
            tz, ambiguous="earliest", non_existent="null"
        )
        return [], local.dt.convert_time_zone("UTC").cast(TS_DTYPE), pl.lit(value=False)
    if _is_text(dtype):
        return _parse_ts_strings(tz, ts_format)
    # numbers, booleans …: no unit or zone can be assumed (bad_type, with a hint)
    return [], pl.lit(None, TS_DTYPE), pl.lit(value=False)


def _cast_vocabulary(name: str, dtype: pl.DataType) -> pl.Expr:
    target = {"event_type": EVENT_TYPE_DTYPE, "actor": ACTOR_DTYPE, "status": STATUS_DTYPE}[name]
    if dtype == target:
        return pl.col(name)
    return (
        pl.col(name)
        .cast(pl.String, strict=False)
        .str.strip_chars()
        .str.to_lowercase()
        .cast(target, strict=False)
    )


def _cast_bool(name: str, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    if dtype == pl.Boolean:
        return col
    text = col.cast(pl.String, strict=False).str.strip_chars().str.to_lowercase()
    return text.replace_strict(
        {**dict.fromkeys(_TRUE_WORDS, True), **dict.fromkeys(_FALSE_WORDS, False), "": None},
        default=None,
        return_dtype=pl.Boolean,
    )


def _parse_float(name: str, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    if dtype.is_numeric():
        return col.cast(pl.Float64)
    return col.cast(pl.String, strict=False).str.strip_chars().cast(pl.Float64, strict=False)


def _cast_text(name: str, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    if dtype.is_float():  # agent 17.0 (pandas ints with NaN) is agent "17"
        return (
            pl.when(col.is_nan())
            .then(None)
            .otherwise(pl.coalesce(_integral(col).cast(pl.String), col.cast(pl.String)))
        )
    return col.cast(pl.String, strict=False)


def check_time_zone(tz: object, *, name: str = "tz") -> None:
    """Raise a :class:`PolicyError` unless ``tz`` is an IANA zone both zoneinfo and Polars know.

    ``zoneinfo`` accepts a few names Polars refuses (``localtime``, ``posixrules``, file
    paths); a zone must work in both, or it would fail later, mid-computation.
    """
    try:
        zoneinfo.ZoneInfo(tz)  # type: ignore[arg-type]  # checked here
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError, OSError) as exc:
        raise PolicyError(
            f"{name!r} must be an IANA time zone name such as 'Europe/Paris' or 'UTC' (got {tz!r})"
        ) from exc
    try:
        pl.Series([dt.datetime(2024, 1, 1)]).dt.replace_time_zone(str(tz))
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException) as exc:
        raise PolicyError(
            f"{name!r}: the time zone {tz!r} is not a zone name of the IANA database that "
            "Polars can use (names such as 'localtime' depend on the machine); pass the "
            "IANA name itself, e.g. 'Europe/Paris' or 'UTC'"
        ) from exc


def _check_arguments(
    tz: str | None,
    ts_bounds: tuple[dt.datetime | None, dt.datetime | None],
    ts_format: str | None = None,
) -> None:
    if tz is not None:
        check_time_zone(tz)
    if ts_format is not None and not isinstance(ts_format, str):
        raise PolicyError(f"'ts_format' must be a strftime format string (got {ts_format!r})")
    if ts_format is not None and "%Z" in ts_format.replace("%%", ""):
        raise PolicyError(
            f"'ts_format' {ts_format!r} contains %Z, a zone abbreviation (EST, CET …): "
            "abbreviations are ambiguous and Polars would read every one of them as UTC. "
            "Use %z for numeric offsets (+01:00), or drop the abbreviation from the format "
            "and pass tz= with the IANA zone of the clock times"
        )
    if len(ts_bounds) != 2:
        raise PolicyError(f"'ts_bounds' must be (earliest, latest) (got {ts_bounds!r})")
    for bound in ts_bounds:
        if bound is not None and (not isinstance(bound, dt.datetime) or bound.utcoffset() is None):
            raise PolicyError(
                f"'ts_bounds' must hold time-zone aware datetimes or None (got {bound!r})"
            )
    low, high = ts_bounds
    if low is not None and high is not None and low >= high:
        raise PolicyError(f"'ts_bounds' earliest must be before latest (got {ts_bounds!r})")


def _schema_of(raw: pl.LazyFrame, source: str) -> pl.Schema:
    try:
        return raw.collect_schema()
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException, OSError) as exc:
        raise unreadable(source, exc) from exc


def annotate(
    raw: pl.LazyFrame,
    *,
    tz: str | None = None,
    ts_format: str | None = None,
    ts_bounds: tuple[dt.datetime | None, dt.datetime | None] = (DEFAULT_TS_MIN, None),
    integer_id_strings: Sequence[str] = (),
    string_ids: Sequence[str] = (),
    check_duplicates: bool = True,
    source: str = "<frame>",
    exact_integer_ids: Collection[str] = (),
) -> Annotated:
    """Cast a raw frame to the canonical schema and give each row the reason it is rejected.

    Parameters
    ----------
    raw
        The frame as read, with canonical column names.
    tz
        IANA zone of naive time stamps; ``None`` makes a naive time stamp an error (R3).
    ts_format
        strftime-style format of string time stamps (default: ISO 8601 or RFC 2822).
    ts_bounds
        ``(earliest, latest)`` allowed time stamps, aware; ``latest=None`` means one day
        after now, ``earliest=None`` no lower bound.
    integer_id_strings
        Id columns read as text whose values are integers: they are cast to Int64.
    string_ids
        Id columns kept (or turned into) text whatever their dtype.
        ``merged_into`` always follows ``case_id``.
    check_duplicates
        Check rule R11 (costs a hash of the ids, a sort of the repeated ones and keeping the
        checked rows in memory).
    source
        Named in error messages.
    exact_integer_ids
        Of ``integer_id_strings``, the columns whose type was inferred: a value that would
        not read back as the same text (``007``, ``+7``) is ``bad_type`` instead of becoming
        another id.

    Returns
    -------
    Annotated
        Nothing is collected.

    Raises
    ------
    SchemaError
        When a required column is missing (R1), ``ts`` is a naive Datetime/Date column and no
        ``tz`` is given (R3), or a column uses a name csmetrics reserves.
    PolicyError
        When ``tz`` is not an IANA zone or ``ts_bounds`` are not aware datetimes.
    """
    _check_arguments(tz, ts_bounds, ts_format)
    schema = _schema_of(raw, source)
    names = [n for n in schema.names() if n != RAGGED]
    ragged = RAGGED in schema
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise SchemaError.from_missing_columns(missing, names, source=source)
    for name in names:
        if (name.startswith(_P) and name != RAGGED) or name in _RESERVED:
            raise SchemaError(
                f"bad_type: column {name!r} in {source} uses a name csmetrics reserves "
                f"({', '.join(_RESERVED)} and names starting with {_P!r}); rename or drop it.",
                reason="bad_type",
                column=name,
            )

    def id_is_int(name: str) -> bool:
        if name == "merged_into":  # merged_into holds case ids
            name = "case_id"
        if name in string_ids:
            return False
        if name in integer_id_strings:
            return True
        dtype = schema.get(name, pl.String())
        return dtype.is_integer() or dtype.is_float()

    def id_is_exact(name: str) -> bool:
        return ("case_id" if name == "merged_into" else name) in exact_integer_ids

    casts: dict[str, pl.Expr] = {}
    bad: dict[str, pl.Expr] = {}  # R2: a value present that cannot be cast
    ts_stages, ts_expr, naive_expr = _cast_ts(schema["ts"], tz, ts_format, source)
    unprintable = frozenset(n for n in names if not _printable(schema[n]))
    for name in names:
        dtype = schema[name]
        present = ~_missing(name, dtype)
        if name in CANONICAL_COLUMNS and name in unprintable:  # lists, structs, objects
            target = _target_dtype(name, id_is_int(name))
            casts[name] = pl.lit(None, target)
            bad[name] = present
        elif name in ID_COLUMNS:
            casts[name] = _cast_id(name, dtype, id_is_int(name), id_is_exact(name))
            bad[name] = present & pl.col(_c(name)).is_null()
        elif name == "ts":
            casts[name] = ts_expr
            bad[name] = present & pl.col(_c(name)).is_null() & ~pl.col(_NAIVE)
        elif name == "channel":
            casts[name] = _blank_to_null(
                pl.col(name).cast(pl.String, strict=False).str.strip_chars().str.to_lowercase()
            )
            bad[name] = present & pl.col(_c(name)).is_null()
        elif name in ("event_type", "actor", "status"):
            casts[name] = _cast_vocabulary(name, dtype)  # unknown values: R5/R6, not R2
        elif name == "is_public":
            casts[name] = _cast_bool(name, dtype)
            bad[name] = present & pl.col(_c(name)).is_null()
        elif name in OPTIONAL_COLUMNS and OPTIONAL_COLUMNS[name] == pl.Float64:
            parsed = _parse_float(name, dtype)
            casts[name] = parsed.fill_nan(None)
            broken = parsed.is_null()
            if name == "handle_seconds":
                broken = broken | parsed.is_infinite() | (parsed < 0)
            bad[name] = present & broken.fill_null(value=True)
        elif name in OPTIONAL_COLUMNS:
            casts[name] = _cast_text(name, dtype)
            bad[name] = present & pl.col(_c(name)).is_null()  # lists, structs …
        else:
            casts[name] = pl.col(name)  # pass-through
    # optional canonical columns that are absent are added as typed nulls (§2.1)
    for name in CANONICAL_COLUMNS:
        if name in casts or name == "event_id":
            continue
        if name == "merged_into":
            casts[name] = pl.lit(None, pl.Int64 if id_is_int(name) else pl.String)
        else:
            casts[name] = pl.lit(None, OPTIONAL_COLUMNS[name])
    canonical = tuple(
        [c for c in CANONICAL_COLUMNS if c in casts]
        + [c for c in names if c not in CANONICAL_COLUMNS]
    )

    frame = raw.with_row_index(_ROW)
    for stage in ts_stages:
        frame = frame.with_columns(stage)
    frame = frame.with_columns(
        *(expr.alias(_c(name)) for name, expr in casts.items()),
        naive_expr.alias(_NAIVE),
    ).with_columns(expr.alias(_b(name)) for name, expr in bad.items())
    before_rules = frame
    rules = _rules(names, bad.keys(), schema, ts_bounds)
    if ragged:  # a CSV line with more fields than the header: nothing else can be trusted
        rules.insert(0, ("ragged_row", "*", pl.col(RAGGED).is_not_null()))
    frame = _with_reason(frame, rules)
    if check_duplicates:  # R11 among the rows that break no other rule
        frame = _flag_duplicates(frame, "event_id" in names, canonical, schema)
        dup = pl.col(_DUP)
        frame = frame.with_columns(
            pl.when(dup.is_not_null())
            .then(pl.lit("duplicate_event"))
            .otherwise("reason")
            .alias("reason"),
            pl.coalesce(dup, "reason_column").alias("reason_column"),
        ).drop(_DUP)
    naive_rows = None
    if tz is None and _is_text(schema["ts"]):
        naive_rows = before_rules.filter(pl.col(_NAIVE)).select(_ROW, "ts")
    return Annotated(frame, tuple(names), canonical, source, naive_rows, unprintable, tz)


def _value_text(name: str, names: Sequence[str], unprintable: Collection[str] = ()) -> pl.Expr:
    """The raw value of ``name`` as short text, for messages (a row summary for ``*``)."""
    if name in unprintable:
        return pl.lit("<nested value>")
    if name == "*":
        return pl.concat_str(
            [
                pl.lit("case_id="),
                pl.col(_c("case_id")).cast(pl.String).fill_null("null"),
                pl.lit(" ts="),
                pl.col(_c("ts")).cast(pl.String).fill_null("null"),
                pl.lit(" event_type="),
                pl.col(_c("event_type")).cast(pl.String).fill_null("null"),
            ]
        )
    if name not in names:
        return pl.lit(None, pl.String)
    text = pl.col(name).cast(pl.String, strict=False)
    return (
        pl.when(text.str.len_chars() > _EXAMPLE_CHARS)
        .then(text.str.slice(0, _EXAMPLE_CHARS) + "…")
        .otherwise(text)
    )


def _with_reason(frame: pl.LazyFrame, rules: list[tuple[str, str, pl.Expr]]) -> pl.LazyFrame:
    """Add ``reason`` and ``reason_column``: the first broken rule of each row."""
    reason = pl.lit(None, pl.String)
    column = pl.lit(None, pl.String)
    for code, col_name, condition in reversed(rules):
        reason = pl.when(condition).then(pl.lit(code)).otherwise(reason)
        column = pl.when(condition).then(pl.lit(col_name)).otherwise(column)
    return frame.with_columns(reason.alias("reason"), column.alias("reason_column"))


_SORTABLE = (pl.Boolean, pl.String, pl.Date, pl.Datetime, pl.Duration, pl.Time, pl.Enum)


def _sortable(dtype: pl.DataType) -> bool:
    return dtype.is_numeric() or isinstance(dtype, _SORTABLE)


def _flag_duplicates(
    frame: pl.LazyFrame, has_event_id: bool, canonical: tuple[str, ...], schema: pl.Schema
) -> pl.LazyFrame:
    """Add ``_DUP``: the R11 reason column (``event_id`` or ``*``) of duplicates, else null.

    Only rows that break no other rule count. With an ``event_id``, the second and later rows
    of an id are duplicates; which row is kept does not depend on row order: the first in event
    order (ts, event type, actor, case, then the other columns). Rows with a null ``event_id``
    (or no ``event_id`` column) are duplicates when identical to an earlier row in every column
    after casting. Only the rows whose id (or content) repeats are sorted; the flags are joined
    back by row number.
    """
    frame = frame.cache()  # read once: the flags below and the join share it
    valid = frame.filter(pl.col("reason").is_null())
    distinct = [c for c in canonical if c in CANONICAL_COLUMNS or schema[c] != pl.Object]
    content = pl.struct(*(pl.col(_c(c)) for c in distinct))
    eid = pl.col(_c("event_id"))
    exact_rows = valid.filter(eid.is_null()) if has_event_id else valid
    parts = [exact_rows.filter(~content.is_first_distinct()).select(_ROW, pl.lit("*").alias(_DUP))]
    if has_event_id:
        others = [
            c
            for c in canonical
            if c not in ("event_id", "ts", "event_type", "actor", "case_id")
            and (c in CANONICAL_COLUMNS or _sortable(schema[c]))
        ]
        keys = [_c(c) for c in ("event_id", "ts", "event_type", "actor", "case_id", *others)]
        parts.append(
            valid.filter(eid.is_not_null() & eid.is_duplicated())
            .sort([*keys, _ROW], nulls_last=True)
            .filter(eid == eid.shift(1))
            .select(_ROW, pl.lit("event_id").alias(_DUP))
        )
    flags = pl.concat(parts) if len(parts) > 1 else parts[0]
    return frame.join(flags, on=_ROW, how="left", maintain_order="left")


def _rules(
    names: Sequence[str],
    checked: Collection[str],
    schema: pl.Schema,
    ts_bounds: tuple[dt.datetime | None, dt.datetime | None],
) -> list[tuple[str, str, pl.Expr]]:
    """(reason, column, broken?) for every per-row rule but R11, in the order checked."""
    rules: list[tuple[str, str, pl.Expr]] = []
    for name in CANONICAL_COLUMNS:  # R2, in canonical column order
        if name in checked:
            rules.append(("bad_type", name, pl.col(_b(name))))
    rules.append(("naive_timestamp", "ts", pl.col(_NAIVE)))
    for name in KEY_COLUMNS:  # R4
        rules.append(("null_key", name, _missing(name, schema[name])))
    rules.append(("unknown_event_type", "event_type", pl.col(_c("event_type")).is_null()))
    rules.append(("unknown_actor", "actor", pl.col(_c("actor")).is_null()))
    event_type = pl.col(_c("event_type"))
    if "status" in names:
        status_missing = _missing("status", schema["status"])
        rules.append(
            ("missing_status", "status", (event_type == "status_changed") & status_missing)
        )
        rules.append(("unknown_status", "status", ~status_missing & pl.col(_c("status")).is_null()))
    else:
        rules.append(("missing_status", "status", event_type == "status_changed"))
    amount = pl.col(_c("comp_amount"))
    rules.append(
        (
            "bad_comp_amount",
            "comp_amount",
            (event_type == "comp_granted")
            & (amount.is_null() | amount.is_infinite() | (amount < 0)).fill_null(value=True),
        )
    )
    score = pl.col(_c("csat_score"))
    rules.append(
        (
            "bad_csat_score",
            "csat_score",
            (event_type == "csat")
            & (score.is_null() | (score < 1) | (score > 5)).fill_null(value=True),
        )
    )
    for name in _MICRO_COLUMNS:
        if name in names:
            huge = (pl.col(_c(name)).abs() >= _MAX_MICRO).fill_null(value=False)
            rules.append(("value_out_of_range", name, huge))
    rules.append(
        (
            "missing_merge_target",
            "merged_into",
            (event_type == "merged") & pl.col(_c("merged_into")).is_null(),
        )
    )
    low, high = ts_bounds
    if high is None:
        high = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    ts = pl.col(_c("ts"))
    out_of_range = ts > pl.lit(high.astimezone(dt.UTC)).cast(TS_DTYPE)
    if low is not None:
        out_of_range = out_of_range | (ts < pl.lit(low.astimezone(dt.UTC)).cast(TS_DTYPE))
    rules.append(("ts_out_of_range", "ts", out_of_range.fill_null(value=False)))
    return rules


def _hint(reason: str, column: str | None) -> str:
    return _COLUMN_HINTS.get((reason, column or ""), HINTS[reason])


def raise_first(annotated: Annotated) -> None:
    """Raise a :class:`SchemaError` for the first broken rule, if any row breaks one.

    Naive time stamps (R3, a whole-frame error) are reported before any per-row rule.
    """
    annotated.raise_naive()
    counts = annotated.reason_counts()
    if counts.height == 0:
        return
    first = counts.row(0, named=True)
    reason: str = first["reason"]
    column: str = first["reason_column"]
    others = ""
    if counts.height > 1:
        others = "; other broken rules: " + ", ".join(
            f"{r['reason']} on {r['reason_column']!r} ({r['n_rows']} rows)"
            for r in counts.iter_rows(named=True)
            if (r["reason"], r["reason_column"]) != (reason, column)
        )
    total = int(counts["n_rows"].sum())
    examples = list(first["examples"])
    _raise(
        reason,
        column,
        annotated.source,
        int(first["n_rows"]),
        examples,
        list(first["rows"]),
        f" {total} row(s) are invalid in all{others}.",
        hint=_gap_hint(examples, annotated.tz) if (reason, column) == ("bad_type", "ts") else "",
    )


def _gap_hint(examples: Sequence[str | None], tz: str | None) -> str:
    """The hint for clock times that parse but do not exist in ``tz`` (a DST gap), if any."""
    if tz is None:
        return ""
    text = pl.Series([e for e in examples if e is not None], dtype=pl.String).str.strip_chars()
    naive = pl.lit(None, pl.Datetime("us"))
    for fmt in _NAIVE_FORMATS:
        naive = pl.coalesce(naive, pl.col("t").str.to_datetime(fmt, strict=False))
    parsed = pl.DataFrame({"t": text}).select(naive.alias("t"))["t"]
    gaps = [v for v, p in zip(text.to_list(), parsed.to_list(), strict=True) if p is not None]
    if not gaps:
        return ""
    return (
        f"{', '.join(repr(g) for g in gaps)}: clock time(s) that do not exist in {tz} (the "
        "hour skipped when the clocks go forward): correct them to the time before or after "
        "the jump (02:30 is usually 03:30 local time), or write each with its UTC offset"
    )


def _raise(
    reason: str,
    column: str,
    source: str,
    n_rows: int,
    examples: list[str | None],
    rows: list[int],
    summary: str,
    *,
    hint: str = "",
) -> None:
    shown = ", ".join(
        f"{'null' if v is None else repr(v)} (row {r})"
        for v, r in zip(examples, rows, strict=False)
    )
    if column == "*":
        where = "identical rows" if reason == "duplicate_event" else "rows"
    else:
        where = f"column {column!r}"
    aside = (
        " This is a whole-frame error: split mode cannot set these rows aside."
        if reason == "naive_timestamp"
        else " Use validate(..., mode='split') or on_invalid='quarantine' to set them aside."
    )
    raise SchemaError(
        f"{reason}: {where} in {source}: {n_rows} row(s) break the rule "
        f"(first values: {shown}); fix: {hint or _hint(reason, column)}.{summary}{aside}",
        reason=reason,
        column=column,
        n_rows=n_rows,
        examples=examples,
    )


def integrity_counts(frame: pl.DataFrame) -> dict[str, int]:
    """Count what breaks no per-row rule but cannot be right across rows.

    ``frame`` is canonical (the good rows). Returns ``two_customers`` (cases whose events
    name more than one ``customer_id``), ``self_merges`` (``merged`` events whose
    ``merged_into`` is their own case) and ``merge_cycles`` (cases whose chain of merges
    never ends: A → B → A, or into such a loop).

    Examples
    --------
    >>> import polars as pl
    >>> integrity_counts(pl.DataFrame({"case_id": [1, 1, 2, 3], "customer_id": [7, 8, 9, 9],
    ...     "event_type": ["message", "merged", "merged", "merged"],
    ...     "merged_into": [None, 1, 3, 2]}))
    {'two_customers': 1, 'self_merges': 1, 'merge_cycles': 2}
    """
    two = (
        frame.group_by("case_id")
        .agg(pl.col("customer_id").n_unique().alias("n"))
        .filter(pl.col("n") > 1)
        .height
    )
    merges = (
        frame.filter((pl.col("event_type") == "merged") & pl.col("merged_into").is_not_null())
        .select("case_id", "merged_into")
        .unique()
    )
    self_merges = merges.filter(pl.col("case_id") == pl.col("merged_into"))
    edges = merges.filter(pl.col("case_id") != pl.col("merged_into"))
    # cases left after repeatedly removing those whose every merge target ends somewhere
    # (merges are a small share of events: a plain walk over them)
    targets: dict[object, set[object]] = {}
    sources: dict[object, set[object]] = {}
    for case, target in edges.iter_rows():
        targets.setdefault(case, set()).add(target)
        sources.setdefault(target, set()).add(case)
    pending = {case: len(out) for case, out in targets.items()}
    ends = [t for t in sources if t not in targets]
    while ends:
        for case in sources.get(ends.pop(), ()):
            pending[case] -= 1
            if pending[case] == 0:
                ends.append(case)
    cycles = sum(1 for n in pending.values() if n > 0)
    return {"two_customers": two, "self_merges": self_merges.height, "merge_cycles": cycles}


def warn_integrity(frame: pl.DataFrame, source: str, *, stacklevel: int = 2) -> dict[str, int]:
    """Emit one :class:`~csmetrics.CsMetricsWarning` when :func:`integrity_counts` finds any.

    Returns the counts.
    """
    counts = integrity_counts(frame)
    parts = []
    if counts["two_customers"]:
        parts.append(
            f"{counts['two_customers']} case(s) name more than one customer_id (per-customer "
            "metrics count such a case under one of them)"
        )
    if counts["self_merges"]:
        parts.append(f"{counts['self_merges']} merged event(s) merge a case into itself")
    if counts["merge_cycles"]:
        parts.append(
            f"{counts['merge_cycles']} case(s) are merged in a loop (A into B into A) or into "
            "one, so no case survives them"
        )
    if parts:
        warnings.warn(
            f"{source}: {'; '.join(parts)}. Fix the source's case and merge records (an "
            "adapter's mapping), or drop those events.",
            CsMetricsWarning,
            stacklevel=stacklevel + 1,
        )
    return counts
