"""The order-free case table: the columns one ``group_by`` can give without sorting events.

Most per-case facts are minima, maxima, sums or "the value at the first/last event of a
kind". With one Int128 key per event that encodes its place in event order (ts, event
type, actor, then event id), "the value at the last status event" is
``get(arg_max(key of status events))`` — no sort of the events needed. Only the status
clocks, next-reply pairs, the number of reopens and the chatwoot / zendesk first-response
variants need the events in sequence; :func:`csmetrics.case_table` uses this plan when the
columns asked for do not (you pay only for what you ask).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from typing import Final

import polars as pl

from csmetrics._events import (
    UNRESOLVED,
    exact_sum,
    is_human_reply,
    is_message_by,
    is_reply,
    is_type,
    row_hash,
)
from csmetrics.policy import Policy
from csmetrics.schema import PUBLIC_KINDS, RESOLVED_STATUSES, STATUS_DTYPE, channel_kind_expr

__all__ = ["light_case_table", "light_columns"]

_ZERO: Final = pl.lit(dt.timedelta(0), pl.Duration("us"))
_KEY = "_k"


def _within_case_key(has_event_id: bool, integer_event_id: bool, names: list[str]) -> pl.Expr:
    """Int128 order of events within a case: ts, type, actor, then event id (or, without
    event ids, a hash of the row's content, as :func:`csmetrics._events.sort_events`)."""
    high = (
        pl.col("ts").cast(pl.Int64) * 64
        + pl.col("event_type").to_physical().cast(pl.Int64) * 4
        + pl.col("actor").to_physical().cast(pl.Int64)
    ).cast(pl.Int128) * pl.lit(2**64, pl.Int128)
    if not has_event_id:
        tie = row_hash(names).cast(pl.Int128)  # unsigned, as the sort of the full plan
        return high + tie
    low = pl.col("event_id") if integer_event_id else pl.col("event_id").hash(7)
    low = low.cast(pl.Int64, wrap_numerical=True).fill_null(0).cast(pl.Int128)
    return high + low


def _at_first(column: str | pl.Expr, where: pl.Expr | None = None) -> pl.Expr:
    expr = pl.col(column) if isinstance(column, str) else column
    key = pl.col(_KEY) if where is None else pl.when(where).then(pl.col(_KEY))
    return expr.get(key.arg_min())


def _at_last(column: str | pl.Expr, where: pl.Expr | None = None) -> pl.Expr:
    expr = pl.col(column) if isinstance(column, str) else column
    key = pl.col(_KEY) if where is None else pl.when(where).then(pl.col(_KEY))
    return expr.get(key.arg_max())


def _first_ts(where: pl.Expr) -> pl.Expr:
    return pl.when(where).then(pl.col("ts")).min()


def _count(where: pl.Expr) -> pl.Expr:
    return where.sum().cast(pl.UInt32)


_RESOLVE = pl.col("status").is_in(RESOLVED_STATUSES) & is_type("status_changed") | is_type("merged")
_UNRESOLVE = is_type("status_changed") & pl.col("status").is_in(UNRESOLVED)
_STATUS_EVENT = is_type("status_changed") | is_type("merged")
_SETS = pl.when(is_type("merged")).then(pl.lit("closed", STATUS_DTYPE)).otherwise(pl.col("status"))


def _aggregations(policy: Policy) -> dict[str, pl.Expr]:
    """Every column the light plan can aggregate, by name (private ones start with ``_``)."""
    reopened = (
        pl.when(_UNRESOLVE).then(pl.col(_KEY)).max() > pl.when(_RESOLVE).then(pl.col(_KEY)).min()
    ).fill_null(value=False)
    first_abandon = pl.when(is_type("call_abandoned")).then(pl.col(_KEY)).min()
    first_answer = pl.when(is_human_reply()).then(pl.col(_KEY)).min()
    creator = _at_first("actor", is_type("case_created")).fill_null(_at_first("actor"))
    return {
        "customer_id": _at_first("customer_id"),
        "channel": _at_first("channel"),
        "team": _at_last("team", pl.col("team").is_not_null()),
        "agent_id": _at_last("agent_id", pl.col("agent_id").is_not_null()),
        "priority": _at_last("priority", pl.col("priority").is_not_null()),
        "topic": _at_first("topic", pl.col("topic").is_not_null()),
        "created_at": pl.col("ts").min(),
        "last_event_at": pl.col("ts").max(),
        "as_of": pl.col("_as_of").first(),
        "first_customer_message_at": _first_ts(is_message_by("customer")),
        "_first_reply_at": _first_ts(is_reply(policy)),
        "first_resolved_at": _first_ts(_RESOLVE),
        "_last_resolve_at": pl.when(_RESOLVE).then(pl.col("ts")).max(),
        "status_at_as_of": _at_last(_SETS, _STATUS_EVENT).fill_null(pl.lit("new", STATUS_DTYPE)),
        "reopened": reopened,
        "n_events": pl.len().cast(pl.UInt32),
        "n_customer_messages": _count(is_message_by("customer")),
        "n_agent_replies": _count(is_human_reply()),
        "n_bot_messages": _count(is_message_by("bot")),
        "n_notes": _count(is_type("note")),
        "n_assignments": _count(is_type("assigned")),
        "n_transfers": _count(is_type("transferred")),
        "n_escalations": _count(is_type("escalated")),
        "comp_count": _count(is_type("comp_granted")),
        "comp_total": exact_sum(pl.when(is_type("comp_granted")).then(pl.col("comp_amount"))),
        "csat_score": _at_last("csat_score", is_type("csat")),
        "_handle_sum": exact_sum(pl.col("handle_seconds")),
        "_handle_n": pl.col("handle_seconds").count(),
        "abandoned": (
            first_abandon.is_not_null() & (first_answer.is_null() | (first_abandon < first_answer))
        ),
        "merged": is_type("merged").any(),
        "merged_into": _at_last("merged_into", is_type("merged")),
        "_creator": creator,
    }


# each public column: the aggregates it is derived from
_NEEDS: Final[dict[str, tuple[str, ...]]] = {
    "channel_kind": ("channel",),
    "is_public_channel": ("channel",),
    "is_open": ("status_at_as_of",),
    "last_resolved_at": ("status_at_as_of", "_last_resolve_at"),
    "agent_created": ("_creator",),
    "first_response_start_at": ("created_at",),
    "first_response_at": ("_first_reply_at", "_creator"),
    "first_response_time": ("_first_reply_at", "_creator", "created_at", "merged"),
    "first_resolution_time": ("first_resolved_at", "created_at", "first_customer_message_at"),
    "full_resolution_time": (
        "status_at_as_of",
        "_last_resolve_at",
        "created_at",
        "first_customer_message_at",
    ),
    "handle_time": ("_handle_sum", "_handle_n"),
    "one_touch": ("status_at_as_of", "reopened", "n_agent_replies"),
}


def light_columns(policy: Policy) -> frozenset[str]:
    """The case-table columns the order-free plan gives under ``policy``."""
    columns = {name for name in _aggregations(policy) if not name.startswith("_")}
    columns |= set(_NEEDS)
    if policy.first_response_start != "created" or policy.agent_created == "second_public_reply":
        columns -= {"first_response_start_at", "first_response_at", "first_response_time"}
    return frozenset(columns | {"case_id"})


def _derived(policy: Policy) -> dict[str, Callable[[], pl.Expr]]:
    is_open = ~pl.col("status_at_as_of").is_in(RESOLVED_STATUSES)
    agent_created = pl.col("_creator") == "agent"
    start = (
        pl.col("created_at")
        if policy.resolution_start == "created"
        else pl.coalesce("first_customer_message_at", "created_at")
    )
    reply = pl.col("_first_reply_at")
    if policy.agent_created == "skip":
        reply = pl.when(~agent_created).then(reply)
    frt = reply - pl.col("created_at")
    if not policy.include_merged:
        frt = pl.when(~pl.col("merged")).then(frt)
    last_resolved = pl.when(is_open.not_()).then(pl.col("_last_resolve_at"))

    def elapsed(end: pl.Expr) -> pl.Expr:
        delta = end - start
        return pl.when(delta < _ZERO).then(_ZERO).otherwise(delta)

    replies = pl.col("n_agent_replies")
    replies_ok = replies == 1 if policy.one_touch == "exactly_one" else replies <= 1
    kind = channel_kind_expr(policy.channels)
    return {
        "channel_kind": lambda: kind,
        "is_public_channel": lambda: kind.is_in(sorted(PUBLIC_KINDS)),
        "is_open": lambda: is_open,
        "last_resolved_at": lambda: last_resolved,
        "agent_created": lambda: agent_created,
        "first_response_start_at": lambda: pl.col("created_at"),
        "first_response_at": lambda: reply,
        "first_response_time": lambda: frt,
        "first_resolution_time": lambda: elapsed(pl.col("first_resolved_at")),
        "full_resolution_time": lambda: elapsed(last_resolved),
        "handle_time": lambda: pl.when(pl.col("_handle_n") > 0).then(
            pl.duration(microseconds=(pl.col("_handle_sum") * 1e6).round(0).cast(pl.Int64))
        ),
        "one_touch": lambda: is_open.not_() & ~pl.col("reopened") & replies_ok,
    }


def light_case_table(
    events: pl.LazyFrame, policy: Policy, columns: Collection[str]
) -> pl.LazyFrame:
    """The case table restricted to ``columns`` (a subset of :func:`light_columns`).

    ``events`` are canonical events up to ``as_of`` with an ``_as_of`` column, unsorted.
    """
    schema = events.collect_schema()
    has_id = "event_id" in schema
    keyed = events.with_columns(
        _within_case_key(has_id, has_id and schema["event_id"].is_integer(), schema.names()).alias(
            _KEY
        )
    )
    aggregations = _aggregations(policy)
    derived = _derived(policy)
    wanted = [c for c in columns if c != "case_id"]
    for name in wanted:  # pass-through columns: first non-null value in event order
        if name not in aggregations and name not in derived and name in schema:
            aggregations[name] = _at_first(name, pl.col(name).is_not_null())
    needed: set[str] = set()
    for name in wanted:
        if name in aggregations:
            needed.add(name)
        needed.update(_NEEDS.get(name, ()))
    table = keyed.group_by("case_id").agg(aggregations[name].alias(name) for name in needed)
    table = table.with_columns(pl.col(c).fill_null(0.0) for c in ("comp_total",) if c in needed)
    extra = [derived[name]().alias(name) for name in wanted if name in derived]
    if extra:
        table = table.with_columns(extra)
    return table.select("case_id", *wanted)
