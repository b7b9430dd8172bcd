"""Per-event expressions: what each event is, and where it stands in its case.

The case table is built from a frame sorted in event order (DESIGN §2.2) within each case.
Sequential facts ("how many replies came before this event", "which status held just before
it") are computed with segmented scans over that sorted frame: a global cumulative sum or
forward fill, reset at the first row of every case. No window hash-partitioning, no Python.
"""

from __future__ import annotations

from typing import Final

import polars as pl

from csmetrics.policy import Policy
from csmetrics.schema import RESOLVED_STATUSES, STATUS_DTYPE

__all__ = ["annotate_events", "sort_events"]

UNRESOLVED: Final[tuple[str, ...]] = ("new", "open", "pending", "on_hold")
_SENTINEL: Final = -(2**62)  # "nobody is waiting" in the next-reply scan (µs since epoch)


def order_key(case_part: pl.Expr) -> pl.Expr:
    """One Int128 key putting events in event order: case, ts, event type, actor (DESIGN §2.2).

    The upper 64 bits hold ``case_part`` (the integer case id, or a hash of a string id);
    the lower 64 bits hold ``ts`` in microseconds times 64 plus the event type (16 values)
    and actor (4 values) codes. Sorting one Int128 column is several times faster than
    sorting by five columns; exact ties (and, for string ids, hash collisions) are broken
    by the further keys of :func:`sort_events`.
    """
    low = (
        pl.col("ts").cast(pl.Int64) * 64
        + pl.col("event_type").to_physical().cast(pl.Int64) * 4
        + pl.col("actor").to_physical().cast(pl.Int64)
    )
    return case_part.cast(pl.Int128) * pl.lit(2**64, pl.Int128) + low.cast(pl.Int128)


def sort_events(events: pl.LazyFrame) -> pl.LazyFrame:
    """Sort events by case, then in event order: ts, event type, actor, event id."""
    schema = events.collect_schema()
    if schema["case_id"].is_integer():
        keys = ["_order"]
        case_part = pl.col("case_id")
    else:
        keys = ["_order", "case_id"]  # the id itself separates hash collisions
        case_part = pl.col("case_id").hash(0x5EED).cast(pl.Int64, wrap_numerical=True)
    keyed = events.with_columns(order_key(case_part).alias("_order"))
    if "event_id" in schema:
        keys.append("event_id")
        return keyed.sort(keys, nulls_last=True).drop("_order")
    # no event ids: break ties on everything else an event carries, so that two events at
    # the same instant of the same type by the same actor (two status changes, say) come
    # in the same order whatever the row order (identical rows are interchangeable)
    keyed = keyed.with_columns(row_hash(schema.names()).alias("_tie"))
    return keyed.sort([*keys, "_tie"], nulls_last=True).drop("_order", "_tie")


def row_hash(names: list[str]) -> pl.Expr:
    """A hash of a row's content (the tie-break of events without ``event_id``)."""
    return pl.struct(sorted(n for n in names if not n.startswith("_"))).hash(0x7135)


# -- what an event is ---------------------------------------------------------------------


def exact_sum(values: pl.Expr) -> pl.Expr:
    """Sum of a Float64 column in exact micro-units, so the result does not depend on the
    order rows are added in (engine, threads, row order): identical bits every time.
    """
    return (values * 1e6).round(0).cast(pl.Int64).sum().cast(pl.Float64) / 1e6


def is_type(name: str) -> pl.Expr:
    """The event is of type ``name``."""
    return pl.col("event_type") == name


def is_message_by(actor: str) -> pl.Expr:
    """A message written by ``actor``."""
    return is_type("message") & (pl.col("actor") == actor)


def is_human_reply() -> pl.Expr:
    """A message by a human agent: the only thing that always answers a customer."""
    return is_message_by("agent")


def is_reply(policy: Policy) -> pl.Expr:
    """A reply under ``policy``: a human agent message, or a bot message when bots count.

    Notes and system messages (auto-replies) never are.
    """
    reply = is_human_reply()
    if policy.bots_count_as_responders:
        reply = reply | is_message_by("bot")
    return reply


def new_status() -> pl.Expr:
    """The status an event sets: ``status`` on status_changed, ``closed`` on merged."""
    return (
        pl.when(is_type("status_changed"))
        .then(pl.col("status"))
        .when(is_type("merged"))
        .then(pl.lit("closed", STATUS_DTYPE))
    )


# -- where an event stands in its case -----------------------------------------------------


def case_start() -> pl.Expr:
    """The first event of its case (the frame is sorted by case)."""
    return (pl.col("case_id") != pl.col("case_id").shift(1)).fill_null(value=True)


def seg_count(flag: pl.Expr, start: str = "_start") -> pl.Expr:
    """How many rows of this case up to and including this one have ``flag``."""
    as_int = flag.cast(pl.Int64)
    total = as_int.cum_sum()
    base = pl.when(pl.col(start)).then(total - as_int).forward_fill()
    return total - base


def annotate_events(events: pl.LazyFrame, policy: Policy) -> pl.LazyFrame:
    """Add the per-event columns the case table aggregates (sorted frame in, same order out).

    Columns added (all private, prefixed ``_``): ``_start``, ``_reply``, ``_human``,
    ``_cust``, ``_n_reply_before``, ``_n_human_before``, ``_status_after``,
    ``_status_before``, ``_status_since``, ``_status_span``, ``_reopen``, ``_resolve``,
    ``_cust_seen``, ``_wait_pair``, ``_msg_rank``, ``_reply_rank``, ``_handoff``.
    """
    reply = is_reply(policy)
    sets_status = new_status()
    ts_us = pl.col("ts").cast(pl.Int64)
    frame = events.with_columns(
        case_start().alias("_start"),
        reply.alias("_reply"),
        is_human_reply().alias("_human"),
        is_message_by("customer").alias("_cust"),
        sets_status.alias("_sets"),
        is_type("message").alias("_msg"),
    )
    frame = frame.with_columns(
        seg_count(pl.col("_reply")).alias("_reply_rank"),
        seg_count(pl.col("_human")).alias("_human_rank"),
        seg_count(pl.col("_msg")).alias("_msg_rank"),
        seg_count(pl.col("_cust")).alias("_cust_rank"),
        # status holding after this event ("new" from the first event on)
        pl.when(pl.col("_sets").is_not_null())
        .then(pl.col("_sets"))
        .when(pl.col("_start"))
        .then(pl.lit("new", STATUS_DTYPE))
        .forward_fill()
        .alias("_status_after"),
        # when the status holding after this event was set
        pl.when(pl.col("_sets").is_not_null() | pl.col("_start"))
        .then(pl.col("ts"))
        .forward_fill()
        .alias("_status_since"),
        # next-reply scan: 0 marks a reset (case start or reply), 1 a customer message
        pl.when(pl.col("_start") | pl.col("_reply"))
        .then(0)
        .when(pl.col("_cust"))
        .then(1)
        .forward_fill()
        .alias("_wait_kind"),
    )
    frame = frame.with_columns(
        (pl.col("_reply_rank") - pl.col("_reply").cast(pl.Int64)).alias("_n_reply_before"),
        (pl.col("_human_rank") - pl.col("_human").cast(pl.Int64)).alias("_n_human_before"),
        pl.when(pl.col("_start"))
        .then(pl.lit("new", STATUS_DTYPE))
        .otherwise(pl.col("_status_after").shift(1))
        .alias("_status_before"),
        pl.when(pl.col("_start"))
        .then(pl.col("ts"))
        .otherwise(pl.col("_status_since").shift(1))
        .alias("_status_before_since"),
        # the oldest unanswered customer message since the last reset
        pl.when(pl.col("_start") | pl.col("_reply"))
        .then(pl.lit(_SENTINEL))
        .when(pl.col("_cust") & (pl.col("_wait_kind").shift(1) == 0).fill_null(value=True))
        .then(ts_us)
        .forward_fill()
        .alias("_waiting_since"),
    )
    waiting_before = pl.col("_waiting_since").shift(1)
    return frame.with_columns(
        # time spent in the previous status, counted where the status changes
        pl.when(pl.col("_sets").is_not_null() & ~pl.col("_start"))
        .then(pl.col("ts") - pl.col("_status_before_since"))
        .alias("_status_span"),
        (
            pl.col("_sets").is_in(UNRESOLVED) & pl.col("_status_before").is_in(RESOLVED_STATUSES)
        ).alias("_reopen"),
        pl.col("_sets").is_in(RESOLVED_STATUSES).alias("_resolve"),
        # a next-reply pair closes here: a reply after the first, with somebody waiting
        pl.when(
            pl.col("_reply")
            & (pl.col("_n_reply_before") >= 1)
            & ~pl.col("_start")
            & (waiting_before != _SENTINEL)
        )
        .then(pl.duration(microseconds=ts_us - waiting_before))
        .alias("_pair"),
        (pl.col("_cust_rank") > 0).alias("_cust_seen"),
        is_type("bot_handoff").alias("_handoff"),
    )
