"""Per-event expressions: what each event is, and where it stands in its case.

The case table is built from a frame sorted in event order (DESIGN §2.2) within each case.
Sequential facts ("how many replies came before this event", "which status held just before
it") are computed with segmented scans over that sorted frame: a global cumulative sum or
forward fill, reset at the first row of every case. No window hash-partitioning, no Python.
"""

from __future__ import annotations

from typing import Final

import polars as pl

from csmetrics._columns import UNRESOLVED, is_human_reply, is_message_by, is_reply, is_type
from csmetrics._order import KEY, in_case_order, order_key
from csmetrics.policy import Policy
from csmetrics.schema import RESOLVED_STATUSES, STATUS_DTYPE

__all__ = ["SENTINEL", "annotate_events", "seg_count", "sort_events"]

SENTINEL: Final = -(2**62)
"""The "nobody is waiting" mark of the next-reply scan (µs since epoch)."""


def sort_events(events: pl.LazyFrame) -> pl.LazyFrame:
    """Sort events by case, then in the one event order of :mod:`csmetrics._order`."""
    keyed = events.with_columns(order_key(events.collect_schema()))
    return in_case_order(keyed).drop(KEY)


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
    has_creation = "created_at" in events.collect_schema()
    post = pl.col("ts") >= pl.col("created_at") if has_creation else pl.lit(value=True)
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
        seg_count(pl.col("_reply") & post).alias("_post_reply_rank"),
        seg_count((is_type("message") | is_type("note")) & post).alias("_post_comment_rank"),
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
        .then(pl.lit(SENTINEL))
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
        (
            pl.col("_sets").is_in(RESOLVED_STATUSES) & pl.col("_status_before").is_in(UNRESOLVED)
        ).alias("_resolve"),
        # a next-reply pair closes here: a reply after the first, with somebody waiting
        pl.when(
            pl.col("_reply")
            & (pl.col("_n_reply_before") >= 1)
            & ~pl.col("_start")
            & (waiting_before != SENTINEL)
        )
        .then(pl.duration(microseconds=ts_us - waiting_before))
        .alias("_pair"),
        (pl.col("_cust_rank") > 0).alias("_cust_seen"),
        is_type("bot_handoff").alias("_handoff"),
    )
