"""Validation of an event log against the canonical schema (DESIGN §2.3).

Casting and checking happen in one lazy plan: :func:`annotate` turns any raw frame into a frame
holding the raw columns unchanged, their canonical casts, and a ``reason`` column with the code
of the first rule each row breaks (null when the row is good). :func:`validate` then either
raises on the first broken rule or splits the rows into ``(good, rejected)``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Final, Literal, overload

import attrs
import polars as pl

from csmetrics.exceptions import SchemaError
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

__all__ = ["REASONS", "Annotated", "annotate", "validate"]

REASONS: Final[tuple[str, ...]] = (
    "missing_column",
    "bad_type",
    "naive_timestamp",
    "null_key",
    "unknown_event_type",
    "unknown_actor",
    "missing_status",
    "unknown_status",
    "bad_comp_amount",
    "bad_csat_score",
    "missing_merge_target",
    "ts_out_of_range",
    "duplicate_event",
)
"""Stable reason codes in the order rules are checked (the first broken rule is reported)."""

HINTS: Final[dict[str, str]] = {
    "bad_type": "fix the source values or pass `ts_format=` / `schema_overrides=` to read them",
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
    "missing_merge_target": "a merged event needs `merged_into`",
    "ts_out_of_range": "check the time stamps' unit and zone, or widen `ts_bounds=`",
    "duplicate_event": "drop the repeated rows (only the first of each event_id is kept in "
    "split mode)",
}

_NAIVE_FORMATS: Final[tuple[str, ...]] = (
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
)
DEFAULT_TS_MIN: Final = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_C = "__c_"  # prefix of canonical casts inside an annotated frame


def _c(name: str) -> str:
    return _C + name


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
    """

    frame: pl.LazyFrame
    raw_columns: tuple[str, ...]
    canonical: tuple[str, ...]
    source: str

    def good(self) -> pl.LazyFrame:
        """The rows that break no rule, in canonical form."""
        return self.frame.filter(pl.col("reason").is_null()).select(
            pl.col(_c(name)).alias(name) for name in self.canonical
        )

    def rejected(self) -> pl.LazyFrame:
        """The rows that break a rule, unchanged, plus ``reason`` and ``reason_column``."""
        return self.frame.filter(pl.col("reason").is_not_null()).select(
            *self.raw_columns, "reason", "reason_column"
        )

    def reason_counts(self) -> pl.DataFrame:
        """Collect, per reason and column, how many rows break it and the first few values."""
        try:
            return (
                self.frame.filter(pl.col("reason").is_not_null())
                .group_by("reason", "reason_column")
                .agg(pl.len().alias("n_rows"), pl.col("__value").head(5).alias("examples"))
                .collect()
                .sort(pl.col("reason").cast(pl.Enum(REASONS)), "reason_column")
            )
        except pl.exceptions.PolarsError as exc:  # unreadable source: name it
            raise SchemaError(
                f"cannot read {self.source}: {exc}", reason="bad_type"
            ) from exc


def _is_integer_dtype(dtype: pl.DataType) -> bool:
    return dtype.is_integer()


def _cast_id(name: str, dtype: pl.DataType, integer_strings: bool) -> pl.Expr:
    col = pl.col(name)
    if dtype.is_integer():
        return col.cast(pl.Int64, strict=False)
    if dtype.is_float():
        # ids written as floats (1.0): integral values become Int64, others are bad_type
        return pl.when(col == col.round(0)).then(col).cast(pl.Int64, strict=False)
    text = col.cast(pl.String, strict=False).str.strip_chars()
    if integer_strings:
        return text.str.to_integer(strict=False).cast(pl.Int64)
    return text


def _parse_ts_strings(
    col: pl.Expr, tz: str | None, ts_format: str | None
) -> tuple[pl.Expr, pl.Expr]:
    """Return (utc_timestamp, is_naive) for a string column."""
    text = col.str.strip_chars()
    if ts_format is not None and "%z" not in ts_format and "%Z" not in ts_format:
        naive = text.str.to_datetime(ts_format, strict=False, time_unit="us")
        if tz is None:
            return pl.lit(None, TS_DTYPE), naive.is_not_null()
        local = naive.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
        return local.dt.convert_time_zone("UTC"), pl.lit(value=False)
    if ts_format is not None:
        return text.str.to_datetime(
            ts_format, strict=False, time_unit="us", time_zone="UTC"
        ), pl.lit(value=False)
    aware = text.str.to_datetime("%+", strict=False, time_unit="us", time_zone="UTC")
    naive = pl.coalesce(
        *(text.str.to_datetime(f, strict=False, time_unit="us") for f in _NAIVE_FORMATS)
    )
    if tz is None:
        return aware, aware.is_null() & naive.is_not_null()
    local = naive.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
    return pl.coalesce(aware, local.dt.convert_time_zone("UTC")), pl.lit(value=False)


def _cast_ts(
    dtype: pl.DataType, tz: str | None, ts_format: str | None, source: str
) -> tuple[pl.Expr, pl.Expr]:
    col = pl.col("ts")
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is not None:
            return col.dt.convert_time_zone("UTC").cast(TS_DTYPE), pl.lit(value=False)
        if tz is None:
            raise SchemaError(
                f"naive_timestamp: column 'ts' in {source} is {dtype} without a time zone; "
                f"fix: {HINTS['naive_timestamp']}.",
                reason="naive_timestamp",
                column="ts",
            )
        local = col.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
        return local.dt.convert_time_zone("UTC").cast(TS_DTYPE), pl.lit(value=False)
    if isinstance(dtype, pl.Date):
        return _cast_ts(pl.Datetime("us"), tz, ts_format, source)[0].fill_null(
            pl.lit(None, TS_DTYPE)
        ), pl.lit(value=tz is None)
    if dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum):
        return _parse_ts_strings(col.cast(pl.String), tz, ts_format)
    # numbers, booleans …: no unit or zone can be assumed
    return pl.lit(None, TS_DTYPE), pl.lit(value=False)


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
        {"true": True, "t": True, "1": True, "yes": True, "false": False, "f": False,
         "0": False, "no": False, "": None},
        default=None,
        return_dtype=pl.Boolean,
    )


def _cast_float(name: str, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    if dtype.is_numeric():
        return col.cast(pl.Float64)
    return col.cast(pl.String, strict=False).str.strip_chars().cast(pl.Float64, strict=False)


def annotate(
    raw: pl.LazyFrame,
    *,
    tz: str | None = None,
    ts_format: str | None = None,
    ts_bounds: tuple[dt.datetime | None, dt.datetime | None] = (DEFAULT_TS_MIN, None),
    integer_id_strings: Sequence[str] = (),
    check_duplicates: bool = True,
    source: str = "<frame>",
) -> Annotated:
    """Cast a raw frame to the canonical schema and give each row the reason it is rejected.

    Parameters
    ----------
    raw
        The frame as read, with canonical column names.
    tz
        IANA zone of naive time stamps; ``None`` makes a naive time stamp an error (R3).
    ts_format
        strftime-style format of string time stamps (default: ISO 8601).
    ts_bounds
        ``(earliest, latest)`` allowed time stamps; ``latest=None`` means one day after now.
    integer_id_strings
        Id columns read as strings whose values are integers: they are cast to Int64.
    check_duplicates
        Check rule R11 (costs a sort of the events).
    source
        Named in error messages.

    Raises
    ------
    SchemaError
        When a required column is missing (R1) or ``ts`` is a naive datetime column and no
        ``tz`` is given (R3).
    """
    schema = raw.collect_schema()
    names = list(schema.names())
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise SchemaError.from_missing_columns(missing, names, source=source)
    for name in names:
        if name.startswith(_C) or name in ("reason", "reason_column", "__value"):
            raise SchemaError(
                f"bad_type: column {name!r} in {source} uses a name csmetrics reserves; "
                "rename it.",
                reason="bad_type",
                column=name,
            )

    casts: dict[str, pl.Expr] = {}
    ts_expr, naive_expr = _cast_ts(schema["ts"], tz, ts_format, source)
    for name in names:
        dtype = schema[name]
        if name in ID_COLUMNS:
            casts[name] = _cast_id(name, dtype, name in integer_id_strings)
        elif name == "ts":
            casts[name] = ts_expr
        elif name == "channel":
            casts[name] = (
                pl.col(name).cast(pl.String, strict=False).str.strip_chars().str.to_lowercase()
            )
        elif name in ("event_type", "actor", "status"):
            casts[name] = _cast_vocabulary(name, dtype)
        elif name == "is_public":
            casts[name] = _cast_bool(name, dtype)
        elif name in OPTIONAL_COLUMNS and OPTIONAL_COLUMNS[name] == pl.Float64:
            casts[name] = _cast_float(name, dtype)
        elif name in OPTIONAL_COLUMNS:
            casts[name] = pl.col(name).cast(pl.String, strict=False)
        else:
            casts[name] = pl.col(name)  # pass-through
    # optional canonical columns that are absent are added as typed nulls (§2.1)
    for name in CANONICAL_COLUMNS:
        if name not in casts and name != "event_id" and name != "merged_into":
            casts[name] = pl.lit(None, OPTIONAL_COLUMNS[name])
    if "merged_into" not in casts:
        casts["merged_into"] = pl.lit(None).cast(
            pl.Int64 if _id_is_int(schema["case_id"], "case_id" in integer_id_strings)
            else pl.String
        )
    canonical = tuple(
        [c for c in CANONICAL_COLUMNS if c in casts] + [c for c in names if c not in CANONICAL_COLUMNS]
    )

    frame = raw.with_columns(
        *(expr.alias(_c(name)) for name, expr in casts.items()),
        naive_expr.alias("__naive"),
    )
    checks = _rules(names, ts_bounds)
    if check_duplicates:
        frame = _flag_duplicates(frame, "event_id" in names, canonical)
    else:
        frame = frame.with_columns(pl.lit(value=False).alias("__dup"))
    reason = pl.lit(None, pl.String)
    column = pl.lit(None, pl.String)
    value = pl.lit(None, pl.String)
    for code, col_name, condition in reversed(checks):
        reason = pl.when(condition).then(pl.lit(code)).otherwise(reason)
        column = pl.when(condition).then(pl.lit(col_name)).otherwise(column)
        raw_value = (
            pl.col(col_name).cast(pl.String, strict=False) if col_name in names else pl.lit(None)
        )
        value = pl.when(condition).then(raw_value).otherwise(value)
    frame = frame.with_columns(
        reason.alias("reason"), column.alias("reason_column"), value.alias("__value")
    )
    return Annotated(frame, tuple(names), canonical, source)


def _id_is_int(dtype: pl.DataType, integer_strings: bool) -> bool:
    return dtype.is_integer() or dtype.is_float() or integer_strings


def _flag_duplicates(frame: pl.LazyFrame, has_event_id: bool, canonical: tuple[str, ...]) -> pl.LazyFrame:
    """Flag R11: the second and later rows of an event id, or of identical rows.

    Which row of a repeated event id is kept does not depend on row order: the first in
    canonical event order (ts, event type, actor, then every other column) is kept.
    """
    if has_event_id:
        order = [_c(c) for c in ("event_id", "ts", "event_type", "actor", "case_id")]
        rest = [_c(c) for c in canonical if _c(c) not in order]
        index = "__row"
        ranked = (
            frame.with_row_index(index)
            .sort([*order, *rest], nulls_last=True, maintain_order=False)
            .with_columns(
                (
                    (pl.col(_c("event_id")) == pl.col(_c("event_id")).shift(1))
                    .fill_null(value=False)
                ).alias("__dup")
            )
            .sort(index)
            .drop(index)
        )
        return ranked
    return frame.with_columns(
        (~pl.struct(pl.col(_c(c)) for c in canonical).is_first_distinct()).alias("__dup")
    )


def _rules(names: Sequence[str], ts_bounds: tuple[dt.datetime | None, dt.datetime | None]) -> list[tuple[str, str, pl.Expr]]:
    """(reason, column, broken?) for every per-row rule, in the order they are checked."""
    rules: list[tuple[str, str, pl.Expr]] = []
    for name in names:  # R2: a value present that cannot be cast
        if name in CANONICAL_COLUMNS and name not in ("event_type", "actor", "status"):
            rules.append(
                ("bad_type", name, pl.col(name).is_not_null() & pl.col(_c(name)).is_null()
                 & ~pl.col("__naive"))
            )
    rules.append(("naive_timestamp", "ts", pl.col("__naive")))
    for name in KEY_COLUMNS:  # R4
        rules.append(("null_key", name, pl.col(name).is_null()))
    rules.append(("unknown_event_type", "event_type", pl.col(_c("event_type")).is_null()))
    rules.append(("unknown_actor", "actor", pl.col(_c("actor")).is_null()))
    is_status = pl.col(_c("event_type")) == "status_changed"
    if "status" in names:
        rules.append(("missing_status", "status", is_status & pl.col("status").is_null()))
        rules.append(
            ("unknown_status", "status", pl.col("status").is_not_null() & pl.col(_c("status")).is_null())
        )
    else:
        rules.append(("missing_status", "status", is_status))
    amount = pl.col(_c("comp_amount"))
    rules.append(
        (
            "bad_comp_amount",
            "comp_amount",
            (pl.col(_c("event_type")) == "comp_granted")
            & (amount.is_null() | amount.is_nan() | amount.is_infinite() | (amount < 0)).fill_null(
                value=True
            ),
        )
    )
    score = pl.col(_c("csat_score"))
    rules.append(
        (
            "bad_csat_score",
            "csat_score",
            (pl.col(_c("event_type")) == "csat")
            & (score.is_null() | score.is_nan() | (score < 1) | (score > 5)).fill_null(value=True),
        )
    )
    rules.append(
        (
            "missing_merge_target",
            "merged_into",
            (pl.col(_c("event_type")) == "merged") & pl.col(_c("merged_into")).is_null(),
        )
    )
    low, high = ts_bounds
    if high is None:
        high = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    ts = pl.col(_c("ts"))
    out_of_range = pl.lit(value=False)
    if low is not None:
        out_of_range = out_of_range | (ts < pl.lit(low).cast(TS_DTYPE))
    out_of_range = out_of_range | (ts > pl.lit(high).cast(TS_DTYPE))
    rules.append(("ts_out_of_range", "ts", out_of_range.fill_null(value=False)))
    rules.append(("duplicate_event", "event_id" if "event_id" in names else "*", pl.col("__dup")))
    return rules


def raise_first(annotated: Annotated) -> None:
    """Raise a :class:`SchemaError` for the first broken rule, if any row breaks one."""
    counts = annotated.reason_counts()
    if counts.height == 0:
        return
    first = counts.row(0, named=True)
    reason, column, n_rows, examples = (
        first["reason"], first["reason_column"], first["n_rows"], first["examples"]
    )
    total = int(counts["n_rows"].sum())
    others = ""
    if counts.height > 1:
        others = "; other broken rules: " + ", ".join(
            f"{r['reason']} on {r['reason_column']!r} ({r['n_rows']} rows)"
            for r in counts.iter_rows(named=True)
            if (r["reason"], r["reason_column"]) != (reason, column)
        )
    raise SchemaError(
        f"{reason}: column {column!r} in {annotated.source}: {n_rows} row(s) break the rule "
        f"(first values: {examples}); fix: {HINTS[reason]}. {total} row(s) are invalid in all"
        f"{others}. Use validate(..., mode='split') or on_invalid='quarantine' to set them aside.",
        reason=reason,
        column=column,
        n_rows=n_rows,
        examples=examples,
    )


@overload
def validate(
    frame: object, mode: Literal["raise"] = ..., *, tz: str | None = ...
) -> pl.LazyFrame: ...
@overload
def validate(
    frame: object, mode: Literal["split"], *, tz: str | None = ...
) -> tuple[pl.LazyFrame, pl.LazyFrame]: ...
def validate(
    frame: object, mode: Literal["raise", "split"] = "raise", *, tz: str | None = None
) -> pl.LazyFrame | tuple[pl.LazyFrame, pl.LazyFrame]:
    """Check an event log against every rule of DESIGN §2.3.

    Parameters
    ----------
    frame
        An :class:`~csmetrics.EventLog`, a Polars DataFrame/LazyFrame, a pandas DataFrame or
        any Arrow object with the canonical column names.
    mode
        ``"raise"``: raise a :class:`SchemaError` on the first broken rule and return the
        canonical frame. ``"split"``: return ``(good, rejected)``; ``rejected`` holds every
        bad row unchanged plus ``reason`` and ``reason_column``.
    tz
        Zone of naive time stamps (see :func:`csmetrics.scan_events`).

    Returns
    -------
    pl.LazyFrame or tuple of two pl.LazyFrame
        The canonical frame, or ``(good, rejected)``; ``len(good) + len(rejected)`` is the
        number of input rows.

    Raises
    ------
    SchemaError
        In ``"raise"`` mode for any broken rule; in both modes for a missing column (R1) or
        naive time stamps without ``tz`` (R3).

    Examples
    --------
    >>> import polars as pl, csmetrics as csm
    >>> raw = pl.DataFrame({"case_id": [1, 1], "customer_id": [7, 7],
    ...     "channel": [" Email", "email"], "ts": ["2024-03-01T09:00:00Z", "2024-03-01T09:30:00Z"],
    ...     "event_type": ["case_created", "teleport"], "actor": ["customer", "agent"]})
    >>> good, rejected = csm.validate(raw, mode="split")
    >>> good.collect().height, rejected.collect()["reason"].to_list()
    (1, ['unknown_event_type'])
    """
    from csmetrics.log import EventLog  # log builds on this module

    log = frame if isinstance(frame, EventLog) else EventLog.from_frame(frame, tz=tz)
    return log.validate(mode)
