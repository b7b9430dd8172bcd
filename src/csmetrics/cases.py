"""The case table: one row per case, every per-case fact the metrics need (DESIGN §3).

Built as one plan: filter to the observation window, sort in event order, add per-event
columns (:mod:`csmetrics._events`), one ``group_by("case_id")``, then a few derived columns.
Call ``.explain()`` on the result to read it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Final, Literal

import polars as pl

from csmetrics._events import annotate_events, exact_sum, is_type, sort_events
from csmetrics._light import light_case_table, light_columns
from csmetrics.calendar import BusinessCalendar, business_duration
from csmetrics.exceptions import PolicyError
from csmetrics.log import EventLog, as_event_log
from csmetrics.policy import Policy
from csmetrics.schema import (
    CANONICAL_COLUMNS,
    PUBLIC_KINDS,
    RESOLVED_STATUSES,
    STATUS_DTYPE,
    channel_kind_expr,
    with_optional_columns,
)

__all__ = [
    "BUSINESS_COLUMNS",
    "CASE_COLUMNS",
    "aggregate_cases",
    "annotated_events",
    "case_table",
    "explain",
    "next_reply_pairs",
    "resolve_as_of",
]

OnInvalid = Literal["raise", "quarantine"]

CASE_COLUMNS: Final[tuple[str, ...]] = (
    "case_id",
    "customer_id",
    "channel",
    "channel_kind",
    "is_public_channel",
    "team",
    "agent_id",
    "priority",
    "topic",
    "created_at",
    "first_customer_message_at",
    "first_response_start_at",
    "first_response_at",
    "first_resolved_at",
    "last_resolved_at",
    "last_event_at",
    "as_of",
    "first_response_time",
    "first_resolution_time",
    "full_resolution_time",
    "requester_wait_time",
    "agent_wait_time",
    "on_hold_time",
    "next_reply_time_sum",
    "next_reply_time_max",
    "next_reply_count",
    "handle_time",
    "n_events",
    "n_customer_messages",
    "n_agent_replies",
    "n_bot_messages",
    "n_notes",
    "n_reopens",
    "reopened",
    "n_assignments",
    "n_transfers",
    "n_escalations",
    "comp_count",
    "comp_total",
    "csat_score",
    "agent_created",
    "abandoned",
    "merged",
    "merged_into",
    "one_touch",
    "status_at_as_of",
    "is_open",
)
"""The case table's columns, in order; pass-through columns follow them."""

_ZERO: Final = pl.lit(dt.timedelta(0), pl.Duration("us"))


def resolve_as_of(events: pl.LazyFrame, policy: Policy) -> pl.Expr:
    """The observation end: ``policy.as_of``, else the latest event of the whole log."""
    if policy.as_of is not None:
        return pl.lit(policy.as_of).cast(pl.Datetime("us", "UTC"))
    return pl.col("ts").max()


def _first_ts(condition: pl.Expr) -> pl.Expr:
    return pl.when(condition).then(pl.col("ts")).min()


def _last_ts(condition: pl.Expr) -> pl.Expr:
    return pl.when(condition).then(pl.col("ts")).max()


def _count(condition: pl.Expr) -> pl.Expr:
    return condition.sum().cast(pl.UInt32)


def _span_in(statuses: frozenset[str]) -> pl.Expr:
    """Time spent in ``statuses`` between status events (the open end is added later)."""
    return (
        pl.when(pl.col("_status_before").is_in(sorted(statuses))).then(pl.col("_status_span")).sum()
    )


def _aggregations(policy: Policy, passthrough: list[str]) -> list[pl.Expr]:
    cust_first = pl.col("_cust") & (pl.col("_cust_rank") == 1)
    aggs = [
        pl.col("customer_id").first(),
        pl.col("channel").first(),
        pl.col("team").last(ignore_nulls=True),
        pl.col("agent_id").last(ignore_nulls=True),
        pl.col("priority").last(ignore_nulls=True),
        pl.col("topic").first(ignore_nulls=True),
        pl.col("ts").first().alias("created_at"),
        pl.col("ts").last().alias("last_event_at"),
        pl.col("_as_of").first().alias("as_of"),
        _first_ts(cust_first).alias("first_customer_message_at"),
        _first_ts(pl.col("_reply")).alias("_first_reply_at"),
        _first_ts(pl.col("_reply") & (pl.col("_reply_rank") == 2)).alias("_second_reply_at"),
        _first_ts(pl.col("_reply") & pl.col("_cust_seen")).alias("_reply_after_cust_at"),
        (pl.col("_msg") & (pl.col("_msg_rank") == 1) & pl.col("_reply"))
        .any()
        .alias("_agent_wrote_first"),
        # creator: the actor of the first case_created, else of the first event
        pl.when(is_type("case_created"))
        .then(pl.col("actor"))
        .first(ignore_nulls=True)
        .alias("_creator"),
        pl.col("actor").first().alias("_first_actor"),
        _first_ts(pl.col("_resolve")).alias("first_resolved_at"),
        _last_ts(pl.col("_resolve")).alias("_last_resolve_at"),
        _span_in(policy.requester_wait_statuses).alias("_requester_spans"),
        _span_in(policy.agent_wait_statuses).alias("_agent_spans"),
        _span_in(policy.on_hold_statuses).alias("_hold_spans"),
        pl.col("_status_after").last().alias("status_at_as_of"),
        pl.col("_status_since").last().alias("_status_since"),
        pl.col("_pair").sum().alias("next_reply_time_sum"),
        pl.col("_pair").max().alias("next_reply_time_max"),
        pl.col("_pair").count().cast(pl.UInt32).alias("next_reply_count"),
        exact_sum(pl.col("handle_seconds")).alias("_handle_sum"),
        pl.col("handle_seconds").count().alias("_handle_n"),
        pl.len().cast(pl.UInt32).alias("n_events"),
        _count(pl.col("_cust")).alias("n_customer_messages"),
        _count(pl.col("_human")).alias("n_agent_replies"),
        _count(is_type("message") & (pl.col("actor") == "bot")).alias("n_bot_messages"),
        _count(is_type("note")).alias("n_notes"),
        _count(pl.col("_reopen")).alias("n_reopens"),
        _count(is_type("assigned")).alias("n_assignments"),
        _count(is_type("transferred")).alias("n_transfers"),
        _count(is_type("escalated")).alias("n_escalations"),
        _count(is_type("comp_granted")).alias("comp_count"),
        exact_sum(pl.when(is_type("comp_granted")).then(pl.col("comp_amount"))).alias("comp_total"),
        pl.when(is_type("csat"))
        .then(pl.col("csat_score"))
        .last(ignore_nulls=True)
        .alias("csat_score"),
        (is_type("call_abandoned") & (pl.col("_n_human_before") == 0)).any().alias("abandoned"),
        is_type("merged").any().alias("merged"),
        pl.when(is_type("merged"))
        .then(pl.col("merged_into"))
        .last(ignore_nulls=True)
        .alias("merged_into"),
    ]
    if policy.first_response_start == "last_handoff":
        marker = (pl.col("_handoff") | pl.col("_reopen")) & (pl.col("_n_reply_before") == 0)
        aggs.append(_last_ts(marker).alias("_handoff_at"))
    aggs.extend(pl.col(name).first(ignore_nulls=True) for name in passthrough)
    return aggs


BUSINESS_COLUMNS: Final[tuple[str, ...]] = (
    "first_response_time_business",
    "first_resolution_time_business",
    "full_resolution_time_business",
    "requester_wait_time_business",
    "agent_wait_time_business",
    "on_hold_time_business",
    "next_reply_time_sum_business",
    "next_reply_time_max_business",
)
"""Business-time twins added to the case table when a calendar is given (DESIGN §5)."""


def _business_aggregations(policy: Policy) -> list[pl.Expr]:
    def spans(statuses: frozenset[str]) -> pl.Expr:
        inside = pl.col("_status_before").is_in(sorted(statuses))
        return pl.when(inside).then(pl.col("_status_span_b")).sum()

    return [
        spans(policy.requester_wait_statuses).alias("_requester_spans_b"),
        spans(policy.agent_wait_statuses).alias("_agent_spans_b"),
        spans(policy.on_hold_statuses).alias("_hold_spans_b"),
        pl.col("_pair_b").sum().alias("next_reply_time_sum_business"),
        pl.col("_pair_b").max().alias("next_reply_time_max_business"),
    ]


def _business_twins(policy: Policy, calendar: BusinessCalendar) -> list[pl.Expr]:
    """Business twins of the durations: same start and end, measured in ``calendar``."""
    tail = business_duration("_status_since", "as_of", calendar)

    def clock(spans: str, statuses: frozenset[str]) -> pl.Expr:
        running = pl.when(pl.col("status_at_as_of").is_in(sorted(statuses))).then(tail)
        return pl.col(spans).fill_null(_ZERO) + running.fill_null(_ZERO)

    def twin(calendar_column: str, start: str, end: str) -> pl.Expr:
        measured = business_duration(start, end, calendar)
        clamped = pl.when(measured < _ZERO).then(_ZERO).otherwise(measured)
        return pl.when(pl.col(calendar_column).is_not_null()).then(clamped)

    return [
        twin("first_response_time", "first_response_start_at", "first_response_at").alias(
            "first_response_time_business"
        ),
        twin("first_resolution_time", "_resolution_start", "first_resolved_at").alias(
            "first_resolution_time_business"
        ),
        twin("full_resolution_time", "_resolution_start", "last_resolved_at").alias(
            "full_resolution_time_business"
        ),
        clock("_requester_spans_b", policy.requester_wait_statuses).alias(
            "requester_wait_time_business"
        ),
        clock("_agent_spans_b", policy.agent_wait_statuses).alias("agent_wait_time_business"),
        clock("_hold_spans_b", policy.on_hold_statuses).alias("on_hold_time_business"),
        pl.col("next_reply_time_sum_business").fill_null(_ZERO),
    ]


def _derived(policy: Policy) -> list[list[pl.Expr]]:
    """Columns computed from the aggregates, in dependency stages."""
    as_of = pl.col("as_of")
    open_span = as_of - pl.col("_status_since")

    def clock(spans: str, statuses: frozenset[str]) -> pl.Expr:
        tail = pl.when(pl.col("status_at_as_of").is_in(sorted(statuses))).then(open_span)
        return pl.col(spans).fill_null(_ZERO) + tail.fill_null(_ZERO)

    if policy.first_response_start == "created":
        start = pl.col("created_at")
        reply_at = pl.col("_first_reply_at")
    elif policy.first_response_start == "first_customer_message":
        start = pl.coalesce("first_customer_message_at", "created_at")
        reply_at = (
            pl.when(pl.col("first_customer_message_at").is_null())
            .then(pl.col("_first_reply_at"))
            .otherwise(pl.col("_reply_after_cust_at"))
        )
    else:
        start = pl.coalesce("_handoff_at", "created_at")
        reply_at = pl.col("_first_reply_at")
    agent_created = pl.col("agent_created")
    if policy.agent_created == "skip":
        reply_at = pl.when(~agent_created).then(reply_at)
    elif policy.agent_created == "second_public_reply":
        start = pl.when(agent_created).then(pl.col("created_at")).otherwise(start)
        reply_at = (
            pl.when(agent_created & pl.col("_agent_wrote_first"))
            .then(pl.col("_second_reply_at"))
            .when(agent_created)  # the customer wrote first: the first reply, from creation
            .then(pl.col("_first_reply_at"))
            .otherwise(reply_at)
        )
    resolution_start = (
        pl.col("created_at")
        if policy.resolution_start == "created"
        else pl.coalesce("first_customer_message_at", "created_at")
    )
    is_open = ~pl.col("status_at_as_of").is_in(RESOLVED_STATUSES)
    frt = pl.col("first_response_at") - pl.col("first_response_start_at")
    if not policy.include_merged:
        frt = pl.when(~pl.col("merged")).then(frt)
    max_replies = 1
    n_replies_ok = (
        pl.col("n_agent_replies") == max_replies
        if policy.one_touch == "exactly_one"
        else pl.col("n_agent_replies") <= max_replies
    )

    def elapsed(end: str, begin: pl.Expr) -> pl.Expr:
        delta = pl.col(end) - begin
        return pl.when(delta < _ZERO).then(_ZERO).otherwise(delta)

    stage1 = [
        (pl.col("_creator").fill_null(pl.col("_first_actor")) == "agent").alias("agent_created"),
        is_open.alias("is_open"),
        pl.when(~is_open).then(pl.col("_last_resolve_at")).alias("last_resolved_at"),
        clock("_requester_spans", policy.requester_wait_statuses).alias("requester_wait_time"),
        clock("_agent_spans", policy.agent_wait_statuses).alias("agent_wait_time"),
        clock("_hold_spans", policy.on_hold_statuses).alias("on_hold_time"),
        pl.when(pl.col("_handle_n") > 0)
        .then(pl.duration(microseconds=(pl.col("_handle_sum") * 1e6).round(0).cast(pl.Int64)))
        .alias("handle_time"),
        pl.col("comp_total").fill_null(0.0),
        pl.col("next_reply_time_sum").fill_null(_ZERO),
    ]
    stage2 = [
        start.alias("first_response_start_at"),
        reply_at.alias("first_response_at"),
        resolution_start.alias("_resolution_start"),
        (~is_open & (pl.col("n_reopens") == 0) & n_replies_ok).alias("one_touch"),
        (pl.col("n_reopens") > 0).alias("reopened"),
    ]
    stage3 = [
        frt.alias("first_response_time"),
        elapsed("first_resolved_at", pl.col("_resolution_start")).alias("first_resolution_time"),
        elapsed("last_resolved_at", pl.col("_resolution_start")).alias("full_resolution_time"),
    ]
    return [stage1, stage2, stage3]


def case_table(
    log: EventLog | object,
    policy: Policy | None = None,
    *,
    columns: Collection[str] | None = None,
    calendar: BusinessCalendar | None = None,
    on_invalid: OnInvalid = "raise",
) -> pl.LazyFrame:
    """One row per case with every per-case fact (DESIGN §3), as a lazy frame.

    Parameters
    ----------
    log
        An :class:`~csmetrics.EventLog`, or anything :meth:`EventLog.from_frame` reads.
    policy
        The definitions to apply; default ``Policy()`` (the ``csmetrics`` preset).
    calendar
        A :class:`~csmetrics.BusinessCalendar`: adds the business-time twin of every
        duration (``first_response_time_business`` …, the status clocks summed per status
        interval, next-reply pairs per pair), measured in that calendar (DESIGN §5).
    columns
        Only these columns (and ``case_id``). When none of them needs the events in
        sequence (status clocks, next-reply pairs, reopen counts, the chatwoot/zendesk
        first-response variants), the table is built by one ``group_by`` without sorting
        the events, which is several times faster: you pay only for what you ask.
    on_invalid
        ``"raise"``: check the log's rules first and raise on any broken one (this collects
        the rule counts once); ``"quarantine"``: leave invalid rows out (they stay in
        ``log.rejected``).

    Returns
    -------
    pl.LazyFrame
        Columns :data:`CASE_COLUMNS` (or ``columns``), then pass-through columns. Durations are
        ``Duration("us")``, counts ``UInt32``, flags ``Boolean``.

    Examples
    --------
    >>> import csmetrics as csm
    >>> log = csm.testing.log_from_rows([("09:00", "case_created", "customer"),
    ...     ("09:01", "message", "bot"), ("09:30", "message", "agent")])
    >>> csm.case_table(log).collect()["first_response_time"].item()
    datetime.timedelta(seconds=1800)

    30 minutes, not 1: the bot's 09:01 message is not a response.
    """
    policy = policy or Policy()
    if columns is not None:
        wanted = list(dict.fromkeys(c for c in columns if c != "case_id"))
        passthrough = _passthrough_of(log)
        known = {*CASE_COLUMNS, *(BUSINESS_COLUMNS if calendar is not None else ())}
        unknown = [c for c in wanted if c not in known and c not in passthrough]
        if unknown:
            raise PolicyError(
                f"column(s) {unknown} are not in the case table; available: "
                f"{[*CASE_COLUMNS, *sorted(passthrough)]}"
            )
        if set(wanted) <= light_columns(policy) | passthrough:
            events = windowed_events(log, policy, on_invalid=on_invalid)
            return light_case_table(events, policy, wanted)
        events = annotated_events(log, policy, on_invalid=on_invalid, calendar=calendar)
        return aggregate_cases(events, policy, calendar=calendar).select("case_id", *wanted)
    events = annotated_events(log, policy, on_invalid=on_invalid, calendar=calendar)
    return aggregate_cases(events, policy, calendar=calendar)


def _passthrough_of(log: EventLog | object) -> set[str]:
    names = as_event_log(log).frame.collect_schema().names()
    return {
        _passthrough_name(c) for c in names if c not in CANONICAL_COLUMNS and not c.startswith("_")
    }


def _passthrough_name(name: str) -> str:
    """A pass-through column keeps its name, unless the case table has a column of that name:
    then it is ``source_<name>`` (e.g. an adapter's own ``reopened`` flag)."""
    return f"source_{name}" if name in CASE_COLUMNS or name in BUSINESS_COLUMNS else name


def _rename_clashes(events: pl.LazyFrame) -> pl.LazyFrame:
    names = events.collect_schema().names()
    clashes = {
        c: _passthrough_name(c)
        for c in names
        if c not in CANONICAL_COLUMNS and _passthrough_name(c) != c
    }
    return events.rename(clashes) if clashes else events


def windowed_events(
    log: EventLog | object, policy: Policy, *, on_invalid: OnInvalid = "raise"
) -> pl.LazyFrame:
    """The log's valid events up to ``as_of``, with ``_as_of``, in no particular order."""
    if on_invalid not in ("raise", "quarantine"):
        raise PolicyError(f"'on_invalid' must be in ('raise', 'quarantine') (got {on_invalid!r})")
    events = _rename_clashes(with_optional_columns(as_event_log(log).checked(on_invalid).frame))
    return events.with_columns(resolve_as_of(events, policy).alias("_as_of")).filter(
        pl.col("ts") <= pl.col("_as_of")
    )


def annotated_events(
    log: EventLog | object,
    policy: Policy,
    *,
    on_invalid: OnInvalid = "raise",
    calendar: BusinessCalendar | None = None,
) -> pl.LazyFrame:
    """The log's events up to ``as_of``, sorted in event order, with per-event columns.

    Shared by :func:`case_table`, :func:`next_reply_pairs` and :func:`csmetrics.compute`,
    so that a plan using several of them reads and sorts the events once.
    """
    events = annotate_events(
        sort_events(windowed_events(log, policy, on_invalid=on_invalid)), policy
    )
    if calendar is None:
        return events
    return events.with_columns(
        pl.when(pl.col("_status_span").is_not_null())
        .then(business_duration(pl.col("_status_before_since"), "ts", calendar))
        .alias("_status_span_b"),
        pl.when(pl.col("_pair").is_not_null())
        .then(business_duration(pl.col("ts") - pl.col("_pair"), "ts", calendar))
        .alias("_pair_b"),
    )


def aggregate_cases(
    events: pl.LazyFrame, policy: Policy, *, calendar: BusinessCalendar | None = None
) -> pl.LazyFrame:
    """The case table from :func:`annotated_events` (one ``group_by``)."""
    names = events.collect_schema().names()
    passthrough = [c for c in names if c not in CANONICAL_COLUMNS and not c.startswith("_")]
    aggs = _aggregations(policy, passthrough)
    if calendar is not None:
        aggs += _business_aggregations(policy)
    table = events.group_by("case_id").agg(aggs)
    for stage in _derived(policy):
        table = table.with_columns(stage)
    if calendar is not None:
        table = table.with_columns(_business_twins(policy, calendar))
    kind = channel_kind_expr(policy.channels)
    table = table.with_columns(
        kind.alias("channel_kind"),
        kind.is_in(sorted(PUBLIC_KINDS)).alias("is_public_channel"),
        pl.col("status_at_as_of").cast(STATUS_DTYPE),
    )
    business = BUSINESS_COLUMNS if calendar is not None else ()
    return table.select(*CASE_COLUMNS, *business, *passthrough)


def next_reply_pairs(
    log: EventLog | object,
    policy: Policy | None = None,
    *,
    on_invalid: OnInvalid = "raise",
    events: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """One row per next-reply pair: ``case_id``, ``replied_at``, ``next_reply_time``.

    A pair is a customer message after the first reply that waited, and the next reply
    after it, timed from the oldest unanswered customer message (DESIGN §3).

    Examples
    --------
    >>> import csmetrics as csm
    >>> log = csm.testing.log_from_rows([("09:00", "case_created", "customer"),
    ...     ("09:10", "message", "agent"), ("10:00", "message", "customer"),
    ...     ("10:30", "message", "customer"), ("11:00", "message", "agent")])
    >>> csm.cases.next_reply_pairs(log).collect()["next_reply_time"].to_list()
    [datetime.timedelta(seconds=3600)]

    One pair, from 10:00 (the oldest unanswered message), not 10:30.
    """
    policy = policy or Policy()
    if events is None:
        events = annotated_events(log, policy, on_invalid=on_invalid)
    business = (
        [pl.col("_pair_b").alias("next_reply_time_business")]
        if "_pair_b" in events.collect_schema().names()
        else []
    )
    return events.filter(pl.col("_pair").is_not_null()).select(
        "case_id",
        pl.col("ts").alias("replied_at"),
        pl.col("_pair").alias("next_reply_time"),
        *business,
    )


def _starts_clock(policy: Policy, case: dict[str, object]) -> pl.Expr:
    """The event that started the first-response clock of ``case`` under ``policy``."""
    at = pl.col("ts") == pl.lit(case["first_response_start_at"])
    start = pl.col("_start")
    if case["agent_created"] and policy.agent_created == "second_public_reply":
        return start
    if policy.first_response_start == "first_customer_message":
        if case["first_customer_message_at"] is None:
            return start
        return pl.col("_cust") & (pl.col("_cust_rank") == 1)
    if policy.first_response_start == "last_handoff":
        marker = (pl.col("_handoff") | pl.col("_reopen")) & (pl.col("_n_reply_before") == 0)
        chosen = marker & at
        return chosen & (pl.int_range(pl.len()) == pl.int_range(pl.len()).filter(chosen).max()) | (
            start & ~marker.any()
        )
    return start


def explain(log: EventLog | object, case_id: object, policy: Policy | None = None) -> pl.DataFrame:
    """The events of one case, each with what it did to the case's clocks and why.

    Columns: the event's ``ts``, ``event_type``, ``actor``, ``status``, then ``role``
    (e.g. ``first_response_start``, ``first_response``, ``next_reply``, ``resolved``,
    ``reopened``) and ``note`` (why an event that might look like a reply is not one).

    Examples
    --------
    >>> import csmetrics as csm
    >>> log = csm.testing.log_from_rows([("09:00", "case_created", "customer"),
    ...     ("09:01", "message", "bot"), ("09:10", "note", "agent"),
    ...     ("09:30", "message", "agent")])
    >>> csm.explain(log, 1)["role"].to_list()
    ['case_start, first_response_start', 'skipped', 'skipped', 'first_response']
    """
    policy = policy or Policy()
    event_log = as_event_log(log).checked("raise")
    events = event_log.frame
    as_of = resolve_as_of(events, policy)
    one = events.with_columns(as_of.alias("_as_of")).filter(
        (pl.col("case_id") == case_id) & (pl.col("ts") <= pl.col("_as_of"))
    )
    rows = annotate_events(sort_events(one), policy).collect()
    if rows.height == 0:
        raise PolicyError(f"case {case_id!r} has no events in {event_log.source} up to as_of")
    case = (
        case_table(
            EventLog.trusted(one.drop("_as_of")),
            policy.replace(as_of=rows["_as_of"][0], name=policy.name),
        )
        .collect()
        .row(0, named=True)
    )
    ts = pl.col("ts")
    fr_start, fr_at = case["first_response_start_at"], case["first_response_at"]
    reply_note = (
        pl.when(is_type("note"))
        .then(pl.lit("internal note: never a reply"))
        .when(is_type("message") & (pl.col("actor") == "bot") & ~pl.col("_reply"))
        .then(pl.lit("bot message: not a human reply"))
        .when(is_type("message") & (pl.col("actor") == "system"))
        .then(pl.lit("system message (auto-reply): never a reply"))
        .when(pl.col("_reply") & (ts < pl.lit(fr_start)) & pl.lit(fr_start is not None))
        .then(pl.lit("reply before the first-response clock started"))
    )
    roles = pl.concat_list(
        pl.when(pl.col("_start")).then(pl.lit("case_start")),
        pl.when(_starts_clock(policy, case) & pl.lit(fr_start is not None)).then(
            pl.lit("first_response_start")
        ),
        pl.when(
            pl.col("_reply")
            & pl.lit(fr_at is not None)
            & (ts == pl.lit(fr_at))
            & (pl.col("_reply_rank") == pl.col("_reply_rank").filter(ts == pl.lit(fr_at)).min())
        ).then(pl.lit("first_response")),
        pl.when(pl.col("_pair").is_not_null()).then(pl.lit("next_reply")),
        pl.when(pl.col("_resolve")).then(pl.lit("resolved")),
        pl.when(pl.col("_reopen")).then(pl.lit("reopened")),
    ).list.drop_nulls()
    out = rows.with_columns(
        pl.when(roles.list.len() > 0)
        .then(roles.list.join(", "))
        .when(reply_note.is_not_null())
        .then(pl.lit("skipped"))
        .otherwise(pl.lit(""))
        .alias("role"),
        reply_note.fill_null("").alias("note"),
        pl.col("_status_before").alias("status_before"),
        pl.col("_pair").alias("next_reply_time"),
    )
    return out.select(
        "ts", "event_type", "actor", "status", "status_before", "role", "next_reply_time", "note"
    )
