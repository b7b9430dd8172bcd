"""The case table: one row per case, every per-case fact the metrics need (DESIGN §3).

Built as one plan: filter to the observation window, sort in event order, add per-event
columns (:mod:`csmetrics._events`), one ``group_by("case_id")``, then a few derived columns.
Call ``.explain()`` on the result to read it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Final, Literal

import polars as pl

from csmetrics._columns import (
    PAIR_FIELDS,
    PAIR_NEEDS,
    PAIR_POSSIBLE,
    STATUS_ROWS,
    ZERO,
    CaseColumn,
    annotate_status,
    columns_for,
    is_reply,
    is_type,
    message_rows,
    pair_rows,
)
from csmetrics._events import annotate_events, sort_events
from csmetrics._order import CASE_NO, KEY, in_case_order, order_key
from csmetrics.calendar import BusinessCalendar, business_duration
from csmetrics.exceptions import PolicyError
from csmetrics.log import EventLog, as_event_log
from csmetrics.policy import Policy
from csmetrics.schema import CANONICAL_COLUMNS, with_optional_columns

__all__ = [
    "BUSINESS_COLUMNS",
    "CASE_COLUMNS",
    "OnInvalid",
    "annotated_events",
    "case_table",
    "explain",
    "keyed_events",
    "next_reply_pairs",
    "open_changes",
    "passthrough_columns",
    "resolve_as_of",
    "windowed_events",
]

OnInvalid = Literal["raise", "quarantine"]

CASE_COLUMNS: Final[tuple[str, ...]] = (
    "case_id",
    "customer_id",
    "channel",
    "channel_kind",
    "is_public_channel",
    "is_public",
    "moved_to_private",
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
    "n_resolutions",
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
    "difficulty",
    "status_at_as_of",
    "is_open",
)
"""The case table's columns, in order; pass-through columns follow them."""

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


def resolve_as_of(events: pl.LazyFrame, policy: Policy) -> pl.Expr:
    """The observation end: ``policy.as_of``, else the latest event of the whole log."""
    if policy.as_of is not None:
        return pl.lit(policy.as_of).cast(pl.Datetime("us", "UTC"))
    return pl.col("ts").max()


def _business_columns(policy: Policy, calendar: BusinessCalendar) -> list[CaseColumn]:
    """Business twins of the durations: same start and end, measured in ``calendar``."""
    tail = business_duration("_running_since", "as_of", calendar)

    def clock(spans: str, statuses: frozenset[str]) -> pl.Expr:
        running = pl.when(pl.col("status_at_as_of").is_in(sorted(statuses))).then(tail)
        return pl.col(spans).fill_null(ZERO) + running.fill_null(ZERO)

    def twin(name: str, calendar_column: str, start: str, end: str) -> CaseColumn:
        measured = business_duration(start, end, calendar)
        clamped = pl.when(measured < ZERO).then(ZERO).otherwise(measured)
        expr = pl.when(pl.col(calendar_column).is_not_null()).then(clamped)
        return CaseColumn(name, "derived", expr, (calendar_column, start, end))

    status_needs = ("status_at_as_of", "as_of", "_running_since")
    return [
        twin(
            "first_response_time_business",
            "first_response_time",
            "first_response_start_at",
            "first_response_at",
        ),
        twin(
            "first_resolution_time_business",
            "first_resolution_time",
            "_resolution_start",
            "first_resolved_at",
        ),
        twin(
            "full_resolution_time_business",
            "full_resolution_time",
            "_resolution_start",
            "last_resolved_at",
        ),
        CaseColumn(
            "requester_wait_time_business",
            "derived",
            clock("_requester_spans_b", policy.requester_wait_statuses),
            ("_requester_spans_b", *status_needs),
        ),
        CaseColumn(
            "agent_wait_time_business",
            "derived",
            clock("_agent_spans_b", policy.agent_wait_statuses),
            ("_agent_spans_b", *status_needs),
        ),
        CaseColumn(
            "on_hold_time_business",
            "derived",
            clock("_hold_spans_b", policy.on_hold_statuses),
            ("_hold_spans_b", *status_needs),
        ),
    ]


def _declared(policy: Policy, calendar: BusinessCalendar | None) -> dict[str, CaseColumn]:
    declared = columns_for(policy, business=calendar is not None)
    if calendar is not None:
        declared.update({c.name: c for c in _business_columns(policy, calendar)})
    return declared


_FIX_UP: Final = "_reply_from_start"  # the one column built by a join after the facts
SHORTCUTS: bool = True
"""Use the columns' shortcuts (:attr:`csmetrics._columns.CaseColumn.shortcut`); the tests
switch them off to check that both ways give the same table."""


def _closure(wanted: list[str], declared: dict[str, CaseColumn]) -> list[str]:
    """``wanted`` and every column they need, dependencies first."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        needs: tuple[str, ...]
        if name == _FIX_UP:
            needs = ("_first_reply_any", "first_response_start_at")
        elif name in declared:
            column = declared[name]
            needs = column.needs
            if column.source in ("status", "messages"):
                needs = (*needs, "created_at")
        else:  # pass-through
            needs = ()
        for need in needs:
            visit(need)
        order.append(name)

    for name in wanted:
        visit(name)
    return order


def _ordered(rows: pl.LazyFrame, facts: pl.LazyFrame) -> pl.LazyFrame:
    """``rows`` of each case in the one event order, with the case's creation joined in."""
    created = facts.select("case_id", "created_at", CASE_NO)
    return in_case_order(rows.join(created, on="case_id", how="left"))


def _sequence(
    rows: pl.LazyFrame,
    facts: pl.LazyFrame,
    annotate: Callable[[pl.LazyFrame], pl.LazyFrame],
    aggregations: list[pl.Expr],
) -> pl.LazyFrame:
    """Aggregations over ``rows`` of each case, in event order, creation joined in."""
    return annotate(_ordered(rows, facts)).group_by("case_id").agg(aggregations)


def open_changes(
    log: EventLog | object, policy: Policy, *, on_invalid: OnInvalid = "raise"
) -> pl.LazyFrame:
    """When each case became open or stopped being open: ``case_id``, ``ts``, ``change``.

    ``+1`` at creation (unless the status at creation was already solved or closed) and at
    every reopen, ``-1`` at every resolution (DESIGN §3). Summed up to an instant, they give
    the cases open at that instant: the backlog.
    """
    events = windowed_events(log, policy, on_invalid=on_invalid)
    cases = _plan(events, policy, ["created_at", "_status_at_creation"], [], None).cache()
    rows = events.filter(STATUS_ROWS)
    simple: list[pl.LazyFrame] = []
    if "_easy" in cases.collect_schema():
        # a case with a simple status history resolves at most once, at its first resolving
        # row, and never reopens: only the other cases' status rows are sorted
        rows = rows.join(cases.filter(~pl.col("_easy")).select("case_id"), on="case_id", how="semi")
        resolved = cases.filter(pl.col("_easy") & pl.col("_resolving_first").is_not_null())
        simple.append(
            resolved.select("case_id", pl.col("_resolving_first").alias("ts"), change=pl.lit(-1))
        )
    keyed = _with_key(rows)
    status = annotate_status(_ordered(keyed, cases)).filter(
        pl.col("_resolution") | pl.col("_reopen")
    )
    moves = status.select(
        "case_id", "ts", pl.when(pl.col("_reopen")).then(1).otherwise(-1).alias("change")
    )
    resolved_at_creation = pl.col("_status_at_creation").is_in(["solved", "closed"])
    created = cases.select(
        "case_id",
        pl.col("created_at").alias("ts"),
        pl.when(resolved_at_creation.fill_null(value=False)).then(0).otherwise(1).alias("change"),
    )
    return pl.concat(
        [created, *simple, moves.with_columns(pl.col("change").cast(pl.Int32))],
        how="vertical_relaxed",
    )


def _reply_fix_up(events: pl.LazyFrame, cases: pl.LazyFrame, policy: Policy) -> pl.LazyFrame:
    """The first reply at or after the first-response clock start, for every case.

    The facts hold each case's first reply ever; it is the answer unless it came before the
    clock started (a reply stamped before creation, a reply before the first customer
    message or the latest hand-off). Only those cases are looked up again, over the replies.
    """
    start, first = pl.col("first_response_start_at"), pl.col("_first_reply_any")
    early = cases.filter(first < start).select("case_id", start.alias("_start_at"))
    later = (
        events.filter(is_reply(policy))
        .select("case_id", "ts")
        .join(early, on="case_id", how="inner")
        .filter(pl.col("ts") >= pl.col("_start_at"))
        .group_by("case_id")
        .agg(pl.col("ts").min().alias("_later_reply"))
    )
    return (
        cases.join(later, on="case_id", how="left")
        .with_columns(
            pl.when(first >= start).then(first).otherwise(pl.col("_later_reply")).alias(_FIX_UP)
        )
        .drop("_later_reply")
    )


def _with_key(events: pl.LazyFrame) -> pl.LazyFrame:
    """``events`` with the order key. Rows with an ``event_id`` are keyed by it; only the
    rows without one need the content hash (of every column): two streams, so that the
    hash's columns are read only where ``event_id`` is null (a scan skips the rest)."""
    schema = events.collect_schema()
    if "event_id" not in schema:
        return events.with_columns(order_key(schema))
    ids = pl.col("event_id")
    with_id = events.filter(ids.is_not_null()).with_columns(order_key(schema, null_ids=False))
    without = events.filter(ids.is_null()).with_columns(order_key(schema, null_ids=True))
    return pl.concat([with_id, without])


def _reads_key(expr: pl.Expr) -> bool:
    return KEY in expr.meta.root_names()


def _plan(
    events: pl.LazyFrame,
    policy: Policy,
    wanted: list[str],
    passthrough: list[str],
    calendar: BusinessCalendar | None,
) -> pl.LazyFrame:
    """The case table with exactly ``wanted`` (and what they need), from windowed events.

    Columns with a shortcut (:attr:`CaseColumn.shortcut`) take it from plain ``Int64``
    aggregations for the cases where it is exact; only the other ("hard") cases' events are
    keyed and sorted, and give those columns by their full definition.
    """
    declared = _declared(policy, calendar)
    names = _closure([*wanted, "created_at"], declared)
    message_columns = [
        declared[n] for n in names if n in declared and declared[n].source == "messages"
    ]
    # next-reply columns alone read only the pair rows of the cases that can have a pair
    pairs_only = bool(message_columns) and all(
        set(c.expr.meta.root_names()) <= PAIR_FIELDS for c in message_columns
    )
    if pairs_only:
        names = _closure([*wanted, "created_at", *PAIR_NEEDS], declared)
    by_source: dict[str, list[str]] = {"facts": [], "status": [], "messages": []}
    for name in names:
        column = declared.get(name)
        if column is None and name in passthrough:
            by_source["facts"].append(name)
        elif column is not None and column.source in by_source:
            by_source[column.source].append(name)
    status_columns = [declared[n] for n in by_source["status"]]
    status_short = (
        SHORTCUTS and bool(status_columns) and all(c.shortcut is not None for c in status_columns)
    )
    fact_short = [
        declared[n]
        for n in by_source["facts"]
        if SHORTCUTS and n in declared and declared[n].shortcut is not None
    ]
    short = [*fact_short, *(status_columns if status_short else [])]
    short_names = {c.name for c in fact_short}
    plain = [n for n in by_source["facts"] if n not in short_names]
    fast = [f for c in short for f in c.fast if f not in plain]
    from_creation = [n for n in dict.fromkeys(fast) if declared[n].source == "creation"]
    aggregated = list(dict.fromkeys([*plain, *(n for n in fast if n not in from_creation)]))

    def aggregation(name: str) -> pl.Expr:
        if name in declared:
            return declared[name].expr.alias(name)
        return pl.col(name).min_by(pl.when(pl.col(name).is_not_null()).then(pl.col(KEY)))

    keyed = any(name not in declared or _reads_key(declared[name].expr) for name in aggregated)

    def hard_events(cases: pl.LazyFrame, flag: str) -> pl.LazyFrame:
        """The events of the cases whose shortcut ``flag`` does not hold, keyed (a case
        with no such event costs nothing: the join reads no row then)."""
        hard = cases.filter(~pl.col(flag)).select("case_id")
        return _with_key(events.join(hard, on="case_id", how="semi"))

    source = _with_key(events) if keyed else events
    table = source.group_by("case_id").agg(aggregation(n) for n in aggregated)
    if by_source["status"] or by_source["messages"]:
        table = table.with_row_index(CASE_NO)  # what the sequences sort by (in_case_order)
    if from_creation:
        creation = events.filter(is_type("case_created")).group_by("case_id")
        table = table.join(
            creation.agg(declared[n].expr.alias(n) for n in from_creation),
            on="case_id",
            how="left",
        )
    if short:

        def conjunction(columns: list[CaseColumn]) -> pl.Expr:
            conditions = {
                c.easy.meta.serialize(format="json"): c.easy for c in columns if c.easy is not None
            }
            return pl.all_horizontal(pl.lit(value=True), *conditions.values()).fill_null(False)

        status_easy = conjunction(status_columns if status_short else [])
        table = table.with_columns(
            conjunction(fact_short).alias("_easy_facts"), status_easy.alias("_easy")
        ).cache()

        if fact_short:
            exact = hard_events(table, "_easy_facts").group_by("case_id")
            table = table.join(
                exact.agg(c.expr.alias(c.name) for c in fact_short), on="case_id", how="left"
            ).with_columns(
                pl.when(pl.col("_easy_facts"))
                .then(c.shortcut)
                .otherwise(pl.col(c.name))
                .alias(c.name)
                for c in fact_short
                if c.shortcut is not None
            )
    if not short:
        table = table.cache()  # the sequences and the fix-up read it: built once
    pending = [n for n in names if n in declared and declared[n].source == "derived"]
    done = set(by_source["facts"])
    # what the facts alone give (often the first-reply fix-up): before the sequences, so that
    # it reads the facts, not the sequences, and nothing more is held in memory
    table, pending = _derive(table, events, policy, declared, names, pending, done, final=False)
    if status_short:
        status = _sequence(
            hard_events(table, "_easy").filter(STATUS_ROWS),
            table,
            lambda rows: _annotate_status(rows, calendar),
            [c.expr.alias(c.name) for c in status_columns],
        )
        table = table.join(status, on="case_id", how="left").with_columns(
            pl.when(pl.col("_easy"))
            .then(c.shortcut)
            .otherwise(pl.col(c.name) if c.empty is None else pl.col(c.name).fill_null(c.empty))
            .alias(c.name)
            for c in status_columns
        )
    elif status_columns:
        status = _sequence(
            _with_key(events.filter(STATUS_ROWS)),
            table,
            lambda rows: _annotate_status(rows, calendar),
            [c.expr.alias(c.name) for c in status_columns],
        )
        table = _join_sequence(table, status, status_columns)
    if pairs_only:
        possible = table.filter(PAIR_POSSIBLE).select("case_id", CASE_NO)
        rows = _pair_events(events.join(possible, on="case_id", how="inner"), policy, calendar)
        messages = rows.group_by("case_id").agg(c.expr.alias(c.name) for c in message_columns)
        table = _join_sequence(table, messages, message_columns)
    elif by_source["messages"]:
        messages = _sequence(
            _with_key(events.filter(message_rows(policy))),
            table,
            lambda rows: _annotate_messages(rows, policy, calendar),
            [declared[n].expr.alias(n) for n in by_source["messages"]],
        )
        table = _join_sequence(table, messages, [declared[n] for n in by_source["messages"]])
    done.update(by_source["status"], by_source["messages"])
    table, pending = _derive(table, events, policy, declared, names, pending, done, final=True)
    return table


def _derive(
    table: pl.LazyFrame,
    events: pl.LazyFrame,
    policy: Policy,
    declared: dict[str, CaseColumn],
    names: list[str],
    pending: list[str],
    done: set[str],
    *,
    final: bool,
) -> tuple[pl.LazyFrame, list[str]]:
    """Add the derived columns (and the first-reply fix-up) whose inputs are ``done``;
    ``final``: all of them must be."""
    fix_up_needs = ("_first_reply_any", "first_response_start_at")
    while True:
        fix_up = _FIX_UP in names and _FIX_UP not in done
        if fix_up and all(n in done for n in fix_up_needs):
            # it reads the table twice (its early cases, then the join): after the
            # sequences, built once
            table = _reply_fix_up(events, table.cache() if final else table, policy)
            done.add(_FIX_UP)
            continue
        ready = [n for n in pending if all(d in done for d in declared[n].needs)]
        if not ready:
            break
        table = table.with_columns(declared[n].expr.alias(n) for n in ready)
        done.update(ready)
        pending = [n for n in pending if n not in done]
    if final and (pending or (_FIX_UP in names and _FIX_UP not in done)):
        raise AssertionError(f"case-table plan cannot order {pending}")  # declaration bug
    return table, pending


def _join_sequence(
    table: pl.LazyFrame, sequence: pl.LazyFrame, columns: list[CaseColumn]
) -> pl.LazyFrame:
    """The sequence's aggregates joined to the cases; a case with no rows there gets each
    column's ``empty`` value (0 reopens, no next-reply pair …)."""
    joined = table.join(sequence, on="case_id", how="left")
    fills = [pl.col(c.name).fill_null(c.empty) for c in columns if c.empty is not None]
    return joined.with_columns(fills) if fills else joined


def _pair_events(
    events: pl.LazyFrame, policy: Policy, calendar: BusinessCalendar | None
) -> pl.LazyFrame:
    """The pair rows (:func:`csmetrics._columns.pair_rows`) of ``events`` in event order,
    annotated: ``_pair`` (and ``_pair_b``) on the reply that closes a next-reply pair. The
    one source of the case table's next-reply columns and of :func:`next_reply_pairs`."""
    ordered = in_case_order(_with_key(events.filter(pair_rows(policy))))
    return _annotate_messages(ordered, policy, calendar)


def _annotate_status(rows: pl.LazyFrame, calendar: BusinessCalendar | None) -> pl.LazyFrame:
    annotated = annotate_status(rows)
    if calendar is None:
        return annotated
    return annotated.with_columns(
        business_duration(pl.col("_prev_since"), "ts", calendar).alias("_span_b")
    )


def _annotate_messages(
    rows: pl.LazyFrame, policy: Policy, calendar: BusinessCalendar | None
) -> pl.LazyFrame:
    annotated = annotate_events(rows, policy)
    if calendar is None:
        return annotated
    return annotated.with_columns(
        pl.when(pl.col("_pair").is_not_null())
        .then(business_duration(pl.col("ts") - pl.col("_pair"), "ts", calendar))
        .alias("_pair_b")
    )


def case_table(
    log: EventLog | object,
    *,
    policy: Policy | None = None,
    columns: Collection[str] | None = None,
    calendar: BusinessCalendar | None = None,
    on_invalid: OnInvalid = "raise",
) -> pl.LazyFrame:
    """One row per case with every per-case fact (DESIGN §3), as a lazy frame.

    Every column is declared once (:mod:`csmetrics._columns`): computed by one plain
    ``group_by`` over the events, or over the status or message rows in event order, or
    derived from other columns. The plan builds exactly the columns asked for and what they
    need, each by its one declaration: a value never depends on what else is asked for.

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
        Only these columns (and ``case_id``): you pay only for what you ask.
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
    log = as_event_log(log)  # once: a one-shot source is read once
    passthrough = sorted(_passthrough_of(log))
    business = BUSINESS_COLUMNS if calendar is not None else ()
    if columns is None:
        wanted = [*CASE_COLUMNS[1:], *business, *passthrough]
    else:
        wanted = list(dict.fromkeys(c for c in columns if c != "case_id"))
        known = {*CASE_COLUMNS, *business}
        unknown = [c for c in wanted if c not in known and c not in passthrough]
        if unknown:
            raise PolicyError(
                f"column(s) {unknown} are not in the case table; available: "
                f"{[*CASE_COLUMNS, *business, *passthrough]}"
            )
    events = windowed_events(log, policy, on_invalid=on_invalid)
    return _plan(events, policy, wanted, passthrough, calendar).select("case_id", *wanted)


def keyed_events(
    log: EventLog | object, policy: Policy, *, on_invalid: OnInvalid = "raise"
) -> pl.LazyFrame:
    """The log's valid events up to ``as_of`` with the order key, in no particular order."""
    events = windowed_events(log, policy, on_invalid=on_invalid)
    return _with_key(events)


def passthrough_columns(log: EventLog | object) -> set[str]:
    """The pass-through columns the case table of ``log`` carries (after renames)."""
    return _passthrough_of(log)


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
    """The log's valid events up to ``as_of`` (all of them when ``as_of`` is the latest)."""
    if on_invalid not in ("raise", "quarantine"):
        raise PolicyError(f"'on_invalid' must be in ('raise', 'quarantine') (got {on_invalid!r})")
    events = _rename_clashes(with_optional_columns(as_event_log(log).checked(on_invalid).frame))
    if policy.as_of is None:
        return events
    return events.filter(pl.col("ts") <= pl.lit(policy.as_of).cast(pl.Datetime("us", "UTC")))


def annotated_events(
    log: EventLog | object,
    policy: Policy,
    *,
    on_invalid: OnInvalid = "raise",
) -> pl.LazyFrame:
    """Every event up to ``as_of``, sorted in the one event order, with the per-event columns
    of :func:`csmetrics._events.annotate_events` (for SLA clocks and :func:`explain`)."""
    events = windowed_events(log, policy, on_invalid=on_invalid)
    events = events.with_columns(resolve_as_of(events, policy).alias("_as_of"))
    return annotate_events(sort_events(events), policy)


def next_reply_pairs(
    log: EventLog | object,
    *,
    policy: Policy | None = None,
    calendar: BusinessCalendar | None = None,
    on_invalid: OnInvalid = "raise",
) -> pl.LazyFrame:
    """One row per next-reply pair: ``case_id``, ``replied_at``, ``next_reply_time``.

    A pair is a customer message after the first reply that waited, and the next reply
    after it, timed from the oldest unanswered customer message (DESIGN §3). Built from the
    same message sequence as the case table's ``next_reply_time_sum``.

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
    events = windowed_events(log, policy, on_invalid=on_invalid)
    annotated = _pair_events(events, policy, calendar)
    business = [pl.col("_pair_b").alias("next_reply_time_business")] if calendar else []
    return annotated.filter(pl.col("_pair").is_not_null()).select(
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


def explain(
    log: EventLog | object, case_id: object, *, policy: Policy | None = None
) -> pl.DataFrame:
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
            policy=policy.replace(as_of=rows["_as_of"][0], name=policy.name),
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
