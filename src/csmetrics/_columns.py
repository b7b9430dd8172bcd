"""Every case-table column, declared once: its expression, the events it reads, its order needs.

A column comes from one of four *sources*:

``facts``
    One ``group_by("case_id")`` over every event, of plain aggregations (min, max, sum,
    any, and ``min_by`` / ``max_by`` of the one order key of :mod:`csmetrics._order`): no
    sort of the events. Most columns live here.
``creation``
    One small ``group_by("case_id")`` of the ``case_created`` rows only, joined to the
    facts: the inputs of the creation shortcuts.
``status``
    The status sequence: only ``status_changed`` and ``merged`` rows, sorted in event
    order within each case, with the case's creation joined in. Status clocks,
    resolutions, reopens and the status at ``as_of``.
``messages``
    The message sequence: ``message``, ``note``, ``bot_handoff`` and ``case_created`` rows
    (plus status rows for the ``last_handoff`` clock) in event order. Next-reply pairs and
    the zendesk / chatwoot first-response variants.
``derived``
    An expression over other columns, after the sources are joined.

The planner (:func:`csmetrics.cases.case_table`) builds exactly the columns asked for and
what they need, each always by its one declaration: a column's value never depends on which
other columns are asked for.
"""

from __future__ import annotations

import datetime as dt
from typing import Final, Literal

import attrs
import polars as pl

from csmetrics._difficulty import difficulty_columns, difficulty_expr
from csmetrics._order import KEY, decode_actor, decode_ts
from csmetrics.policy import Policy
from csmetrics.schema import (
    PUBLIC_KINDS,
    RESOLVED_STATUSES,
    STATUS_DTYPE,
    channel_kind_expr,
)

__all__ = [
    "PAIR_FIELDS",
    "PAIR_NEEDS",
    "PAIR_POSSIBLE",
    "SIMPLE_STATUS",
    "STATUS_FACTS",
    "STATUS_ROWS",
    "UNRESOLVED",
    "ZERO",
    "CaseColumn",
    "Source",
    "annotate_status",
    "columns_for",
    "exact_sum",
    "is_human_reply",
    "is_message_by",
    "is_reply",
    "is_type",
    "message_rows",
    "pair_rows",
]

Source = Literal["facts", "creation", "status", "messages", "derived"]
UNRESOLVED: Final[tuple[str, ...]] = ("new", "open", "pending", "on_hold")
ZERO: Final = pl.lit(dt.timedelta(0), pl.Duration("us"))
_NONE: Final = pl.lit(0, pl.UInt32)
_CREATED_FIRST: Final = 2**125  # added to the key of non-creation events: creation sorts first
_VIS_CODES: Final = 4  # visibility packed under the key: 0 private, 1 public, 2 unknown


@attrs.frozen
class CaseColumn:
    """One case-table column (or a private working column, named ``_…``).

    Attributes
    ----------
    name
        The column name.
    source
        Where it is computed (see the module docstring).
    expr
        For ``facts``, ``status`` and ``messages``: the aggregation over that source's
        rows; for ``derived``: an expression over the columns named in ``needs``.
    needs
        The columns ``expr`` reads (derived columns), or that must be joined into the
        source's rows first (``created_at`` for the sequences).
    empty
        For the sequences: the value of a case that has no rows there (``0`` for counts).
    shortcut
        The same value from plain ``Int64`` aggregations (the ``fast`` facts), exact for
        the cases where ``easy`` holds; the other cases get ``expr`` over their own events
        in the one event order (``Int128`` key, sorted sequences). Switched off by
        :data:`csmetrics.cases.SHORTCUTS` (the tests check both ways agree).
    fast
        The plain facts ``shortcut`` and ``easy`` read.
    easy
        When ``shortcut`` is exact (an expression over the facts table).
    """

    name: str
    source: Source
    expr: pl.Expr
    needs: tuple[str, ...] = ()
    empty: pl.Expr | None = None
    shortcut: pl.Expr | None = None
    fast: tuple[str, ...] = ()
    easy: pl.Expr | None = None


# -- what an event is ------------------------------------------------------------------------


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


def exact_sum(values: pl.Expr) -> pl.Expr:
    """Sum of a Float64 column in exact micro-units (``Int128``: no wrap-around), so the
    result does not depend on the order rows are added in: identical bits every time."""
    return (values * 1e6).round(0).cast(pl.Int128).sum().cast(pl.Float64) / 1e6


def _first_ts(where: pl.Expr) -> pl.Expr:
    return pl.when(where).then(pl.col("ts")).min()


def _count(where: pl.Expr) -> pl.Expr:
    return where.sum().cast(pl.UInt32)


def _key_where(where: pl.Expr) -> pl.Expr:
    return pl.when(where).then(pl.col(KEY))


def _first_of(column: str | pl.Expr, where: pl.Expr) -> pl.Expr:
    """The value at the first event (in the one order) where ``where`` holds."""
    value = pl.col(column) if isinstance(column, str) else column
    return value.min_by(_key_where(where))


def _last_of(column: str | pl.Expr, where: pl.Expr) -> pl.Expr:
    value = pl.col(column) if isinstance(column, str) else column
    return value.max_by(_key_where(where))


def _visibility_code() -> pl.Expr:
    return pl.col("is_public").cast(pl.Int8).fill_null(2).cast(pl.Int128)


def _ts_us() -> pl.Expr:
    return pl.col("ts").cast(pl.Int64)


def _creation_facts() -> list[CaseColumn]:
    """Plain facts of the creation rows (one small ``group_by`` of the ``case_created``
    rows, as a hand-written query does): creation is exact from them unless a case has no
    ``case_created`` row or its creation rows disagree (ties that need the full key)."""
    actor = pl.col("actor").to_physical().cast(pl.Int64)
    code = pl.col("is_public").cast(pl.Int8).fill_null(2).cast(pl.Int64)
    customer_msg = is_message_by("customer")
    packed = _ts_us() * _VIS_CODES  # customer messages are ordered by ts, then id
    return [
        # ts·4 + actor of the first creation row (no overflow for any datetime)
        CaseColumn("_creation_ta", "creation", (_ts_us() * 4 + actor).min()),
        CaseColumn("_cust_lo", "creation", pl.col("customer_id").min()),
        CaseColumn("_cust_hi", "creation", pl.col("customer_id").max()),
        CaseColumn("_chan_lo", "creation", pl.col("channel").min()),
        CaseColumn("_chan_hi", "creation", pl.col("channel").max()),
        CaseColumn("_cvis_lo", "creation", code.min()),
        CaseColumn("_cvis_hi", "creation", code.max()),
        CaseColumn("_fcm_lo", "facts", pl.when(customer_msg).then(packed + code).min()),
        CaseColumn("_fcm_hi", "facts", pl.when(customer_msg).then(packed + 3 - code).min()),
    ]


_HAS_CREATION: Final = pl.col("_creation_ta").is_not_null()
_CREATION_FAST: Final = ("_creation_ta",)


def _at_creation(name: str, exact: pl.Expr, fact: str) -> CaseColumn:
    """A value of the creation event: the creation rows' one value when they agree (the
    ``{fact}_lo`` and ``{fact}_hi`` facts), else the full event order."""
    low, high = f"{fact}_lo", f"{fact}_hi"
    return CaseColumn(
        name,
        "facts",
        exact,
        shortcut=pl.col(low),
        fast=(*_CREATION_FAST, low, high),
        easy=_HAS_CREATION & (pl.col(low) == pl.col(high)),
    )


def _facts(policy: Policy) -> list[CaseColumn]:
    """Columns of the one ``group_by`` over every event."""
    created = is_type("case_created")
    creation_key = pl.when(created).then(pl.col(KEY)).otherwise(pl.col(KEY) + _CREATED_FIRST)
    creation = creation_key.min() % _CREATED_FIRST
    customer_msg = is_message_by("customer")
    human = is_human_reply()
    packed = pl.col(KEY) * _VIS_CODES + _visibility_code()
    # a message sorts before a call_abandoned event at the same instant (event type order),
    # so comparing time stamps strictly is the key order
    abandon_at = _first_ts(is_type("call_abandoned"))
    answer_at = _first_ts(human)
    csat = is_type("csat")
    col = pl.col
    fcm_agree = (col("_fcm_lo") % _VIS_CODES) == 3 - (col("_fcm_hi") % _VIS_CODES)
    return [
        *_creation_facts(),
        CaseColumn(
            "created_at",
            "facts",
            decode_ts(creation),
            shortcut=(col("_creation_ta") // 4).cast(pl.Datetime("us", "UTC")),
            fast=_CREATION_FAST,
            easy=_HAS_CREATION,
        ),
        CaseColumn(
            "agent_created",
            "facts",
            decode_actor(creation) == 1,
            shortcut=col("_creation_ta") % 4 == 1,
            fast=_CREATION_FAST,
            easy=_HAS_CREATION,
        ),
        _at_creation("customer_id", col("customer_id").min_by(creation_key), "_cust"),
        _at_creation("channel", col("channel").min_by(creation_key), "_chan"),
        _at_creation("_first_event_vis", packed.min_by(creation_key) % _VIS_CODES, "_cvis"),
        CaseColumn(
            "_first_customer_vis",
            "facts",
            pl.when(customer_msg).then(packed).min() % _VIS_CODES,
            shortcut=col("_fcm_lo") % _VIS_CODES,
            fast=("_fcm_lo", "_fcm_hi"),
            easy=col("_fcm_lo").is_null() | fcm_agree,
        ),
        CaseColumn("team", "facts", _last_of("team", pl.col("team").is_not_null())),
        CaseColumn("agent_id", "facts", _last_of("agent_id", pl.col("agent_id").is_not_null())),
        CaseColumn("priority", "facts", _last_of("priority", pl.col("priority").is_not_null())),
        CaseColumn("topic", "facts", _first_of("topic", pl.col("topic").is_not_null())),
        CaseColumn("last_event_at", "facts", pl.col("ts").max()),
        CaseColumn("first_customer_message_at", "facts", _first_ts(customer_msg)),
        CaseColumn("_first_reply_any", "facts", _first_ts(is_reply(policy))),
        CaseColumn(
            "_last_customer_message_at", "facts", pl.when(customer_msg).then(pl.col("ts")).max()
        ),
        CaseColumn(
            "_private_message",
            "facts",
            (is_type("message") & (pl.col("is_public") == False)).any(),  # noqa: E712
        ),
        CaseColumn("n_events", "facts", pl.len().cast(pl.UInt32)),
        CaseColumn("n_customer_messages", "facts", _count(customer_msg)),
        CaseColumn("n_agent_replies", "facts", _count(human)),
        CaseColumn("n_bot_messages", "facts", _count(is_message_by("bot"))),
        CaseColumn("n_notes", "facts", _count(is_type("note"))),
        CaseColumn("n_assignments", "facts", _count(is_type("assigned"))),
        CaseColumn("n_transfers", "facts", _count(is_type("transferred"))),
        CaseColumn("n_escalations", "facts", _count(is_type("escalated"))),
        CaseColumn("comp_count", "facts", _count(is_type("comp_granted"))),
        CaseColumn(
            "_comp_sum",
            "facts",
            exact_sum(pl.when(is_type("comp_granted")).then(pl.col("comp_amount"))),
        ),
        CaseColumn("_handle_sum", "facts", exact_sum(pl.col("handle_seconds"))),
        CaseColumn("_handle_n", "facts", pl.col("handle_seconds").count()),
        CaseColumn(
            "csat_score",
            "facts",
            _last_of("csat_score", csat),
            # every survey of the case gave the same score (most cases: one survey)
            shortcut=col("_csat_lo"),
            fast=("_csat_lo", "_csat_hi"),
            easy=col("_csat_lo").is_null() | (col("_csat_lo") == col("_csat_hi")),
        ),
        CaseColumn("_csat_lo", "facts", pl.when(csat).then(col("csat_score")).min()),
        CaseColumn("_csat_hi", "facts", pl.when(csat).then(col("csat_score")).max()),
        CaseColumn(
            "abandoned",
            "facts",
            abandon_at.is_not_null() & (answer_at.is_null() | (abandon_at < answer_at)),
        ),
        CaseColumn("merged", "facts", is_type("merged").any()),
        CaseColumn("merged_into", "facts", _last_of("merged_into", is_type("merged"))),
        CaseColumn("_replying_agent_min", "facts", pl.when(human).then(pl.col("agent_id")).min()),
        CaseColumn("_replying_agent_max", "facts", pl.when(human).then(pl.col("agent_id")).max()),
    ]


# -- the status sequence ---------------------------------------------------------------------


STATUS_ROWS: Final = is_type("status_changed") | is_type("merged")
"""The rows the status sequence reads."""


_STATUS_CODES: Final = dict(enumerate(STATUS_DTYPE.categories))


def _sets() -> pl.Expr:
    return (
        pl.when(is_type("merged")).then(pl.lit("closed", STATUS_DTYPE)).otherwise(pl.col("status"))
    )


def _status_facts() -> list[CaseColumn]:
    """Plain aggregations of the status rows (no sort): enough to know most cases' status
    history — one or no resolution, never reopened — without the sequence."""
    # ts alone: a tie on ts is never taken as an order (it makes the case hard)
    ts, code = pl.col("ts"), _sets().to_physical().cast(pl.Int64)
    last = _ts_us() * 8
    resolving = STATUS_ROWS & _sets().is_in(RESOLVED_STATUSES)
    unresolving = STATUS_ROWS & _sets().is_in(UNRESOLVED)
    return [
        CaseColumn("_s_first", "facts", pl.when(STATUS_ROWS).then(ts).min()),
        CaseColumn("_s_last_a", "facts", pl.when(STATUS_ROWS).then(last + code).max()),
        CaseColumn("_s_last_b", "facts", pl.when(STATUS_ROWS).then(last + 7 - code).max()),
        CaseColumn("_resolving_first", "facts", pl.when(resolving).then(ts).min()),
        CaseColumn("_unresolving_last", "facts", pl.when(unresolving).then(ts).max()),
    ]


STATUS_FACTS: Final = (
    "_s_first",
    "_s_last_a",
    "_s_last_b",
    "_resolving_first",
    "_unresolving_last",
    *_CREATION_FAST,
)
SIMPLE_STATUS: Final = (
    _HAS_CREATION
    # no status row before creation (it would set the status at creation) ...
    & (
        pl.col("_s_first").is_null()
        | (pl.col("_s_first").cast(pl.Int64) >= pl.col("_creation_ta") // 4)
    )
    # ... every unresolved status strictly before every resolved one (one resolution at
    # most, no reopen, no tie to break) ...
    & (
        pl.col("_unresolving_last").is_null()
        | pl.col("_resolving_first").is_null()
        | (pl.col("_unresolving_last") < pl.col("_resolving_first"))
    )
    # ... and the rows tied last agree on the status they set
    & (pl.col("_s_last_a").is_null() | (pl.col("_s_last_a") % 8 == 7 - pl.col("_s_last_b") % 8))
)
"""Cases whose status columns the plain aggregations give exactly (the rest: the sequence)."""


def _simple(
    name: str, expr: pl.Expr, shortcut: pl.Expr, empty: pl.Expr | None = None
) -> CaseColumn:
    """A status column with its shortcut for the cases :data:`SIMPLE_STATUS` marks."""
    return CaseColumn(
        name,
        "status",
        expr,
        empty=empty,
        shortcut=shortcut,
        fast=STATUS_FACTS,
        easy=SIMPLE_STATUS,
    )


def _status_columns(policy: Policy, business: bool) -> list[CaseColumn]:
    """Aggregations over the sorted status rows annotated by :func:`annotate_status`."""

    def spans(statuses: frozenset[str], column: str) -> pl.Expr:
        inside = pl.col("_before").is_in(sorted(statuses)) & pl.col("_post")
        return pl.when(inside).then(pl.col(column)).sum()

    last = pl.col("_last_row")
    out = [
        # a simple case: the last row's status and time; its one resolution (if any) is its
        # first resolving row; no reopen; no row before creation
        _simple(
            "_last_status",
            pl.when(last).then(pl.col("_sets")).max(),
            (pl.col("_s_last_a") % 8).replace_strict(_STATUS_CODES, return_dtype=STATUS_DTYPE),
        ),
        _simple(
            "_status_since",
            pl.when(last).then(pl.col("_since")).max(),
            (pl.col("_s_last_a") // 8).cast(pl.Datetime("us", "UTC")),
        ),
        _simple("first_resolved_at", _first_ts(pl.col("_resolution")), pl.col("_resolving_first")),
        _simple(
            "_last_resolution_at",
            pl.when(pl.col("_resolution")).then(pl.col("ts")).max(),
            pl.col("_resolving_first"),
        ),
        _simple(
            "n_resolutions",
            _count(pl.col("_resolution")),
            pl.col("_resolving_first").is_not_null().cast(pl.UInt32),
            empty=_NONE,
        ),
        _simple("n_reopens", _count(pl.col("_reopen")), _NONE, empty=_NONE),
        _simple(
            "_status_at_creation",
            pl.col("_sets").max_by(pl.when(~pl.col("_post")).then(pl.col(KEY))),
            pl.lit(None, STATUS_DTYPE),
        ),
        CaseColumn("_requester_spans", "status", spans(policy.requester_wait_statuses, "_span")),
        CaseColumn("_agent_spans", "status", spans(policy.agent_wait_statuses, "_span")),
        CaseColumn("_hold_spans", "status", spans(policy.on_hold_statuses, "_span")),
    ]
    if business:
        out += [
            CaseColumn(
                "_requester_spans_b", "status", spans(policy.requester_wait_statuses, "_span_b")
            ),
            CaseColumn("_agent_spans_b", "status", spans(policy.agent_wait_statuses, "_span_b")),
            CaseColumn("_hold_spans_b", "status", spans(policy.on_hold_statuses, "_span_b")),
        ]
    return out


def annotate_status(rows: pl.LazyFrame) -> pl.LazyFrame:
    """Per status row (sorted by case and key, ``created_at`` joined): what it did.

    ``_sets`` the status it sets (``merged`` closes); ``_post`` at or after creation (no
    clock runs before creation; earlier rows only set the status at creation); ``_before``
    the status holding just before it (``new`` at creation unless an earlier row set one);
    ``_span`` the time in ``_before`` since the later of the previous row and creation;
    ``_resolution`` a move from an unresolved status into solved/closed; ``_reopen`` a move
    from solved/closed back to an unresolved one; ``_last_row`` the case's last status row;
    ``_since`` when the status after this row began to hold (never before creation).
    """
    sets = (
        pl.when(is_type("merged")).then(pl.lit("closed", STATUS_DTYPE)).otherwise(pl.col("status"))
    )
    same_case = pl.col("case_id") == pl.col("case_id").shift(1)
    created = pl.col("created_at")
    since = pl.max_horizontal(pl.col("ts"), created)
    frame = rows.with_columns(
        sets.alias("_sets"),
        (pl.col("ts") >= created).alias("_post"),
        same_case.fill_null(value=False).alias("_same_case"),
        (pl.col("case_id") != pl.col("case_id").shift(-1)).fill_null(value=True).alias("_last_row"),
        since.alias("_since"),
    )
    before = (
        pl.when(pl.col("_same_case"))
        .then(pl.col("_sets").shift(1))
        .otherwise(pl.lit("new", STATUS_DTYPE))
    )
    previous_since = (
        pl.when(pl.col("_same_case")).then(pl.col("_since").shift(1)).otherwise(created)
    )
    frame = frame.with_columns(before.alias("_before"), previous_since.alias("_prev_since"))
    resolved, unresolved = sorted(RESOLVED_STATUSES), list(UNRESOLVED)
    return frame.with_columns(
        (pl.col("ts") - pl.col("_prev_since")).alias("_span"),
        (
            pl.col("_post") & pl.col("_before").is_in(unresolved) & pl.col("_sets").is_in(resolved)
        ).alias("_resolution"),
        (
            pl.col("_post") & pl.col("_before").is_in(resolved) & pl.col("_sets").is_in(unresolved)
        ).alias("_reopen"),
    )


# -- the message sequence --------------------------------------------------------------------


def message_rows(policy: Policy) -> pl.Expr:
    """The rows the message sequence reads under ``policy``."""
    rows = is_type("message") | is_type("note") | is_type("bot_handoff") | is_type("case_created")
    if policy.first_response_start == "last_handoff":
        rows = rows | STATUS_ROWS
    return rows


PAIR_FIELDS: Final = frozenset({"_pair", "_pair_b"})
"""The per-event columns of the next-reply pairs: a message column that reads only these
needs only the pair rows (:data:`PAIR_NEEDS`)."""

PAIR_NEEDS: Final = ("_first_reply_any", "_last_customer_message_at")
"""The facts that say whether a case can have a next-reply pair: a customer message after
its first reply (a customer message sorts before a reply at the same instant, so strictly
later)."""

PAIR_POSSIBLE: Final = pl.col("_last_customer_message_at") > pl.col("_first_reply_any")


def pair_rows(policy: Policy) -> pl.Expr:
    """The rows that open or close a next-reply pair: customer messages and replies. The
    other message rows (notes, bot and system messages, creation) leave every pair as it
    is."""
    return is_message_by("customer") | is_reply(policy)


def _message_columns(policy: Policy, business: bool) -> list[CaseColumn]:
    """Aggregations over the sorted message rows annotated by :func:`annotate_events`."""
    post = pl.col("ts") >= pl.col("created_at")
    reply = pl.col("_reply") & post
    comment = (is_type("message") | is_type("note")) & post
    out = [
        CaseColumn("next_reply_time_sum", "messages", pl.col("_pair").sum(), empty=ZERO),
        CaseColumn("next_reply_time_max", "messages", pl.col("_pair").max()),
        CaseColumn(
            "next_reply_count", "messages", pl.col("_pair").count().cast(pl.UInt32), empty=_NONE
        ),
        CaseColumn(
            "_second_reply_at", "messages", _first_ts(reply & (pl.col("_post_reply_rank") == 2))
        ),
        CaseColumn(
            "_agent_wrote_first",
            "messages",
            (comment & (pl.col("_post_comment_rank") == 1) & pl.col("_human")).any(),
            empty=pl.lit(value=False),
        ),
        CaseColumn(
            "_handoff_at",
            "messages",
            pl.when(
                (pl.col("_handoff") | pl.col("_reopen")) & (pl.col("_n_reply_before") == 0) & post
            )
            .then(pl.col("ts"))
            .max(),
        ),
    ]
    if business:
        out.append(
            CaseColumn(
                "next_reply_time_sum_business", "messages", pl.col("_pair_b").sum(), empty=ZERO
            )
        )
        out.append(CaseColumn("next_reply_time_max_business", "messages", pl.col("_pair_b").max()))
    return out


# -- derived ---------------------------------------------------------------------------------


def _derived(policy: Policy) -> list[CaseColumn]:
    col = pl.col
    kind = channel_kind_expr(policy.channels)
    is_open = ~col("status_at_as_of").is_in(RESOLVED_STATUSES)

    def clock(spans: str, statuses: frozenset[str]) -> pl.Expr:
        tail = pl.when(col("status_at_as_of").is_in(sorted(statuses))).then(
            col("as_of") - col("_running_since")
        )
        return col(spans).fill_null(ZERO) + tail.fill_null(ZERO)

    def elapsed(end: str) -> pl.Expr:
        delta = col(end) - col("_resolution_start")
        return pl.when(delta < ZERO).then(ZERO).otherwise(delta)

    def decode_vis(column: str) -> pl.Expr:
        return (col(column) % _VIS_CODES).cast(pl.Int8)

    public_default = kind.is_in(sorted(PUBLIC_KINDS))
    # the first customer message's visibility, else the creation event's; unknown (null
    # is_public) takes the channel's default
    code = pl.coalesce(decode_vis("_first_customer_vis"), decode_vis("_first_event_vis"))
    visibility = pl.when(code < 2).then(code)
    frs_start, frs_needs = _first_response_start(policy)
    reply_at, reply_needs = _first_response_end(policy)
    frt = col("first_response_at") - col("first_response_start_at")
    frt_needs: tuple[str, ...] = ("first_response_at", "first_response_start_at")
    if not policy.include_merged:
        frt = pl.when(~col("merged")).then(frt)
        frt_needs += ("merged",)
    resolution_start: pl.Expr
    if policy.resolution_start == "created":
        resolution_start = col("created_at")
        rs_needs: tuple[str, ...] = ("created_at",)
    else:
        resolution_start = pl.coalesce("first_customer_message_at", "created_at")
        rs_needs = ("first_customer_message_at", "created_at")
    replies = col("n_agent_replies")
    one_touch: pl.Expr
    if policy.one_touch == "exactly_one":  # csmetrics: one reply, solved, never reopened
        one_touch = ~col("is_open") & (col("n_reopens") == 0) & (replies == 1)
        ot_needs: tuple[str, ...] = ("is_open", "n_reopens", "n_agent_replies")
    elif policy.one_touch == "at_most_one":  # zendesk Explore: replies < 2 and solved/closed
        one_touch = ~col("is_open") & (replies <= 1)
        ot_needs = ("is_open", "n_agent_replies")
    else:  # intercom: closed once, with one participating teammate
        one_touch = (
            ~col("is_open")
            & (col("n_resolutions") == 1)
            & col("_replying_agent_min").is_not_null()
            & (col("_replying_agent_min") == col("_replying_agent_max"))
        )
        ot_needs = ("is_open", "n_resolutions", "_replying_agent_min", "_replying_agent_max")
    return [
        CaseColumn("as_of", "derived", _as_of(policy), ("last_event_at",)),
        CaseColumn("channel_kind", "derived", kind, ("channel",)),
        CaseColumn("is_public_channel", "derived", public_default, ("channel",)),
        CaseColumn(
            "is_public",
            "derived",
            pl.when(visibility.is_not_null()).then(visibility == 1).otherwise(public_default),
            ("_first_customer_vis", "_first_event_vis", "channel"),
        ),
        CaseColumn(
            "moved_to_private",
            "derived",
            col("is_public") & col("_private_message"),
            ("is_public", "_private_message"),
        ),
        CaseColumn(
            "status_at_as_of",
            "derived",
            col("_last_status").fill_null(pl.lit("new", STATUS_DTYPE)).cast(STATUS_DTYPE),
            ("_last_status",),
        ),
        CaseColumn("is_open", "derived", is_open, ("status_at_as_of",)),
        CaseColumn(
            "_running_since",
            "derived",
            pl.coalesce("_status_since", "created_at"),
            ("_status_since", "created_at"),
        ),
        CaseColumn(
            "last_resolved_at",
            "derived",
            pl.when(~col("is_open")).then(col("_last_resolution_at")),
            ("is_open", "_last_resolution_at"),
        ),
        CaseColumn("_resolution_start", "derived", resolution_start, rs_needs),
        CaseColumn(
            "first_resolution_time",
            "derived",
            elapsed("first_resolved_at"),
            ("first_resolved_at", "_resolution_start"),
        ),
        CaseColumn(
            "full_resolution_time",
            "derived",
            elapsed("last_resolved_at"),
            ("last_resolved_at", "_resolution_start"),
        ),
        CaseColumn(
            "requester_wait_time",
            "derived",
            clock("_requester_spans", policy.requester_wait_statuses),
            ("_requester_spans", "status_at_as_of", "as_of", "_running_since"),
        ),
        CaseColumn(
            "agent_wait_time",
            "derived",
            clock("_agent_spans", policy.agent_wait_statuses),
            ("_agent_spans", "status_at_as_of", "as_of", "_running_since"),
        ),
        CaseColumn(
            "on_hold_time",
            "derived",
            clock("_hold_spans", policy.on_hold_statuses),
            ("_hold_spans", "status_at_as_of", "as_of", "_running_since"),
        ),
        CaseColumn("reopened", "derived", col("n_reopens") > 0, ("n_reopens",)),
        CaseColumn("comp_total", "derived", col("_comp_sum").fill_null(0.0), ("_comp_sum",)),
        CaseColumn(
            "handle_time",
            "derived",
            # the exact total in µs; beyond a duration's range (±292,000 years): null
            pl.when(col("_handle_n") > 0).then(
                pl.duration(
                    microseconds=(col("_handle_sum") * 1e6).round(0).cast(pl.Int64, strict=False)
                )
            ),
            ("_handle_sum", "_handle_n"),
        ),
        CaseColumn("first_response_start_at", "derived", frs_start, frs_needs),
        CaseColumn("first_response_at", "derived", reply_at, reply_needs),
        CaseColumn("first_response_time", "derived", frt, frt_needs),
        CaseColumn("one_touch", "derived", one_touch, ot_needs),
        CaseColumn(
            "difficulty",
            "derived",
            difficulty_expr(policy.difficulty),
            tuple(difficulty_columns(policy.difficulty)),
        ),
    ]


def _as_of(policy: Policy) -> pl.Expr:
    if policy.as_of is not None:
        return pl.lit(policy.as_of).cast(pl.Datetime("us", "UTC"))
    return pl.col("last_event_at").max()


def _first_response_start(policy: Policy) -> tuple[pl.Expr, tuple[str, ...]]:
    """When the first-response clock starts, and the columns that says."""
    if policy.first_response_start == "created":
        return pl.col("created_at"), ("created_at",)
    if policy.first_response_start == "first_customer_message":
        start = pl.coalesce("first_customer_message_at", "created_at")
        needs: tuple[str, ...] = ("first_customer_message_at", "created_at")
    else:
        start = pl.coalesce("_handoff_at", "created_at")
        needs = ("_handoff_at", "created_at")
    if policy.agent_created in ("second_public_reply", "include"):
        # an agent-created case's clock runs from creation
        start = pl.when(pl.col("agent_created")).then(pl.col("created_at")).otherwise(start)
        needs += ("agent_created",)
    return start, needs


def _first_response_end(policy: Policy) -> tuple[pl.Expr, tuple[str, ...]]:
    """The first response: the first reply at or after the clock start (``_reply_from_start``),
    but for agent-created cases as the policy says."""
    reply = pl.col("_reply_from_start")
    agent_created = pl.col("agent_created")
    needs: tuple[str, ...] = ("_reply_from_start", "agent_created")
    if policy.agent_created == "skip":
        return pl.when(~agent_created).then(reply), needs
    if policy.agent_created == "second_public_reply":
        # Zendesk: when the agent's own public comment opened the ticket, the second public
        # agent comment; when the first comment was private (a note), the first public one
        second = pl.when(pl.col("_agent_wrote_first")).then(pl.col("_second_reply_at"))
        end = pl.when(agent_created).then(second.otherwise(reply)).otherwise(reply)
        return end, (*needs, "_agent_wrote_first", "_second_reply_at")
    return reply, needs


def columns_for(policy: Policy, *, business: bool = False) -> dict[str, CaseColumn]:
    """Every column (public and private) under ``policy``, by name."""
    declared = [
        *_facts(policy),
        *_status_facts(),
        *_status_columns(policy, business),
        *_message_columns(policy, business),
        *_derived(policy),
    ]
    return {c.name: c for c in declared}
