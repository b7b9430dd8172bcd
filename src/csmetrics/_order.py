"""The one total order of events within a case (DESIGN §2.2), as an integer key.

Events are ordered by ``ts``, then event type (``case_created`` first), then actor
(``customer`` first), then ``event_id`` — integer ids as integers, text ids as text. Every
plan that needs "the first" or "the last" event of a kind reads this one key, so two plans
can never order tied events differently (they once did: one by a hash of the id, one by the
id).

The key is an ``Int128``: the high part ``ts·64 + type·4 + actor`` (ts in microseconds), the
low :data:`TIE_BITS` bits the tie-break: an integer ``event_id`` offset to be non-negative,
the rank of a text ``event_id`` among all text ids (so it compares as text), or — without
event ids — a hash of the row's content (identical rows are interchangeable). Rows with a
null ``event_id`` sort after those with one, tied among themselves by their content hash.
"""

from __future__ import annotations

from typing import Final

import polars as pl

__all__ = [
    "CASE_NO",
    "KEY",
    "TIE_BITS",
    "decode_actor",
    "decode_ts",
    "in_case_order",
    "order_key",
    "row_hash",
]

KEY: Final = "_k"
"""The name of the order-key column."""

CASE_NO: Final = "_case_no"
"""A dense number per case (``UInt32``), in no particular order: see :func:`in_case_order`."""

TIE_BITS: Final = 66
_TIE_SPAN: Final = 2**TIE_BITS
_INT_OFFSET: Final = 2**63
_NULL_BASE: Final = 2**64  # null ids: after every id, ordered by content hash
_I128: Final = pl.Int128


def row_hash(names: list[str]) -> pl.Expr:
    """A hash of a row's content (the tie-break of events without ``event_id``)."""
    return pl.struct(sorted(n for n in names if not n.startswith("_"))).hash(0x7135)


def _high() -> pl.Expr:
    # in Int128 from the start: ts·64 overflows Int64 after the year 6537
    return (
        pl.col("ts").cast(pl.Int64).cast(_I128) * 64
        + pl.col("event_type").to_physical().cast(_I128) * 4
        + pl.col("actor").to_physical().cast(_I128)
    )


def order_key(schema: pl.Schema, *, null_ids: bool = True) -> pl.Expr:
    """The ``Int128`` order key of each event (see the module docstring).

    ``null_ids=False`` promises that ``event_id`` has no null (the caller checked): the
    content hash, which only null ids need, is then not computed.
    """
    names = schema.names()
    if "event_id" not in schema:
        tie = row_hash(names).cast(_I128)
    else:
        ids = pl.col("event_id")
        if schema["event_id"].is_integer():
            tie = ids.cast(_I128) + _INT_OFFSET
        else:  # text compares as text: the dense rank among all ids keeps that order
            tie = ids.cast(pl.String).rank("dense").cast(_I128)
        if null_ids:
            tie = (
                pl.when(ids.is_null()).then(row_hash(names).cast(_I128) + _NULL_BASE).otherwise(tie)
            )
    return (_high() * _TIE_SPAN + tie).alias(KEY)


def decode_ts(key: pl.Expr) -> pl.Expr:
    """The time stamp encoded in an order key."""
    high = key // _TIE_SPAN
    return (high // 64).cast(pl.Int64).cast(pl.Datetime("us", "UTC"))


def decode_actor(key: pl.Expr) -> pl.Expr:
    """The actor's physical code (0 customer, 1 agent, 2 bot, 3 system) in an order key."""
    return ((key // _TIE_SPAN) % 4).cast(pl.Int8)


def in_case_order(rows: pl.LazyFrame) -> pl.LazyFrame:
    """``rows`` (with the order key) sorted by case, then in the one event order.

    One sort by one ``UInt64`` column instead of by (``case_id``, key), which costs about
    twice as much: the case's number in the high 32 bits (the :data:`CASE_NO` column when
    ``rows`` have it, the cases then in no particular order; else the dense rank of
    ``case_id``), the row's rank by the order key in the low 32 bits. Both fit: a frame
    holds fewer than 2³² rows. With Polars' 64-bit index build (``polars-u64-idx``) they
    may not, and the rows are sorted by (``case_id``, key).
    """
    if pl.get_index_type() != pl.UInt32:
        return rows.sort(["case_id", KEY], nulls_last=True)
    names = rows.collect_schema().names()
    case = pl.col(CASE_NO) if CASE_NO in names else pl.col("case_id").rank("dense")
    # ties on the key (identical rows without an event_id) are interchangeable
    position = pl.col(KEY).rank("ordinal")
    order = case.cast(pl.UInt64) * 2**32 + position.cast(pl.UInt64)
    return rows.with_columns(order.alias("_in_case")).sort("_in_case").drop("_in_case")
