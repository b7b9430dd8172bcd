"""Customer journeys: identity, issues, switches and queue jumps across channels (DESIGN §7).

A customer who gets no answer on one channel tries another; a per-ticket view sees two
unrelated tickets. Here a customer's cases are linked into **issues**: sorted by customer and
creation time, a case belongs to the current issue when it starts while an earlier case of the
issue is unresolved, or within ``window`` after that case's resolution. The rule is a running
maximum of "reach" (resolution + window; unresolved = forever) over each customer's cases,
computed with one sort and cumulative scans: no joins between cases, no Python per customer.

- :class:`IdentityMap` maps (channel, handle) → customer before anything else;
- :func:`journey_cases` is the case table with each case's issue and cross-channel flags;
- :func:`journeys` has one row per issue;
- :func:`journey_metrics` aggregates the journey metrics (:mod:`csmetrics.metrics.journeys`)
  into the tidy frame of :func:`csmetrics.compute`;
- :func:`channel_switch_matrix` counts from → to moves between consecutive cases.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Final

import attrs
import polars as pl

from csmetrics.cases import CASE_COLUMNS, OnInvalid, case_table
from csmetrics.exceptions import PolicyError
from csmetrics.log import EventLog, as_event_log
from csmetrics.metrics._aggregate import (
    Period,
    by_columns,
    check_period,
    period_key,
    period_start,
)
from csmetrics.policy import Policy
from csmetrics.schema import CANONICAL_COLUMNS

__all__ = [
    "CASE_NEEDS",
    "DEFAULT_WINDOW",
    "ISSUE_COLUMNS",
    "ISSUE_SOURCES",
    "JOURNEY_CASE_COLUMNS",
    "IdentityMap",
    "Window",
    "case_columns_for",
    "channel_switch_matrix",
    "issues_from_cases",
    "journey_cases",
    "journeys",
    "link_cases",
    "parse_window",
    "transitions",
]

Window = str | dt.timedelta

JOURNEY_CASE_COLUMNS: Final[tuple[str, ...]] = (
    "issue_id",
    "issue_case_number",
    "issue_first_channel",
    "previous_channel",
    "is_channel_switch",
    "is_public_switch",
    "is_queue_jump",
    "switched_to_public",
    "next_contact_at",
    "is_fcr_censored",
    "resolved_first_contact",
)
"""Columns :func:`journey_cases` adds to the case table."""

ISSUE_COLUMNS: Final[tuple[str, ...]] = (
    "issue_id",
    "customer_id",
    "issue_number",
    "topic",
    "cases",
    "channels",
    "n_contacts",
    "n_channels",
    "first_channel",
    "last_channel",
    "first_contact_at",
    "last_contact_at",
    "first_response_at",
    "first_response_time",
    "resolved_at",
    "resolution_time",
    "is_open",
    "n_switches",
    "n_queue_jumps",
    "switched_to_public",
    "comp_count",
    "comp_total",
    "n_customer_messages",
    "as_of",
)
"""Columns of :func:`journeys` (``sla_breached`` follows when SLA results are given)."""

_WINDOW_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(w|d|h|m|s)")
_WINDOW_FULL = re.compile(r"^\s*(?:\d+(?:\.\d+)?\s*[wdhms]\s*)+$")
_UNIT_SECONDS: Final[dict[str, int]] = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}
DEFAULT_WINDOW: Final = "7d"


def parse_window(value: Window, *, name: str = "window") -> dt.timedelta:
    """A window as a :class:`~datetime.timedelta`: ``"7d"``, ``"36h"``, ``"1d12h"``, ``"90m"``.

    Raises
    ------
    PolicyError
        For a negative window or text that is not a number and a unit (w, d, h, m, s).

    Examples
    --------
    >>> parse_window("1d12h")
    datetime.timedelta(days=1, seconds=43200)
    """
    if isinstance(value, dt.timedelta):
        if value < dt.timedelta(0):
            raise PolicyError(f"{name!r} must not be negative (got {value!r})")
        if value > dt.timedelta(days=36_525):  # 100 years
            raise PolicyError(f"{name!r} must be at most 100 years (got {value!r})")
        return value
    if not isinstance(value, str) or not _WINDOW_FULL.match(value):
        raise PolicyError(
            f"{name!r} must be a timedelta or text such as '7d', '36h', '1d12h' (units w, d, "
            f"h, m, s) (got {value!r})"
        )
    seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in _WINDOW_PART.findall(value))
    if not seconds <= 36_525 * 86_400:  # 100 years; longer cannot be a time stamp difference
        raise PolicyError(f"{name!r} must be at most 100 years (36525d) (got {value!r})")
    return dt.timedelta(seconds=seconds)


# --------------------------------------------------------------------------------------------
# Identity


def _table(obj: object, what: str) -> pl.DataFrame:
    if isinstance(obj, pl.DataFrame):
        return obj
    if isinstance(obj, pl.LazyFrame):
        return obj.collect()
    pd = sys.modules.get("pandas")  # whoever passed one has imported it
    try:
        if pd is not None and isinstance(obj, pd.DataFrame):
            table: pl.DataFrame = pl.from_pandas(obj)
            return table
        if isinstance(obj, Mapping) or hasattr(obj, "__arrow_c_stream__"):
            return pl.DataFrame(obj)
    except (pl.exceptions.PolarsError, TypeError, ValueError) as exc:
        raise PolicyError(f"cannot read {what} from {type(obj).__name__}: {exc}") from exc
    raise PolicyError(
        f"{what} must be a Polars, pandas or Arrow table or a dict of columns "
        f"(got {type(obj).__name__})"
    )


def _id_dtype(dtype: pl.DataType) -> pl.DataType:
    return pl.Int64() if dtype.is_integer() else pl.String()


@attrs.frozen
class IdentityMap:
    """Handles on channels → one customer: identity stitching before journeys (DESIGN §7).

    A customer writes from a Twitter handle, an email address and a phone number; each
    channel's helpdesk records its own handle as ``customer_id``. The map says which handles
    are one customer. A row with a null channel matches the handle on every channel (an email
    address used on email and web forms); a row with a channel wins over it. Handles are
    compared as text, exactly (normalise them, e.g. lower-case emails, before building the map).
    Handles that are not in the map keep their ``customer_id``: give mapped customers ids that
    no raw handle uses.

    Build one with :meth:`from_frame`; apply it to a log with :meth:`apply` or to any frame
    with ``channel`` and ``customer_id`` with :meth:`apply_to`. :func:`journeys` takes it as
    ``identity=``.

    Attributes
    ----------
    frame
        Columns ``channel`` (String, null = any channel), ``handle`` (String) and
        ``customer_id`` (Int64 or String); one row per (channel, handle).

    Examples
    --------
    >>> import polars as pl
    >>> ids = IdentityMap.from_frame(pl.DataFrame({"channel": ["twitter", "email"],
    ...     "handle": ["@ann", "ann@example.com"], "customer": ["C1", "C1"]}),
    ...     customer="customer")
    >>> cases = pl.LazyFrame({"channel": ["twitter", "email", "email"],
    ...     "customer_id": ["@ann", "ann@example.com", "bob@example.com"]})
    >>> ids.apply_to(cases).collect()["customer_id"].to_list()
    ['C1', 'C1', 'bob@example.com']
    """

    frame: pl.DataFrame

    @classmethod
    def from_frame(
        cls,
        frame: object,
        *,
        channel: str | None = "channel",
        handle: str = "handle",
        customer: str = "customer_id",
    ) -> IdentityMap:
        """A map from a table of (channel, handle) → customer.

        Parameters
        ----------
        frame
            A Polars, pandas or Arrow table, or a dict of columns.
        channel, handle, customer
            Its column names. ``channel=None``: the table has no channel column and every
            handle matches on every channel.

        Raises
        ------
        PolicyError
            A column is missing, a handle or customer is null, or one (channel, handle) is
            mapped to two customers.
        """
        table = _table(frame, "an identity map")
        wanted = [c for c in (channel, handle, customer) if c is not None]
        missing = [c for c in wanted if c not in table.columns]
        if missing:
            raise PolicyError(
                f"identity map: column(s) {missing} not found; available: {table.columns}. "
                "Pass channel=, handle=, customer= to name them."
            )
        chan = (
            pl.col(channel).cast(pl.String).str.strip_chars().str.to_lowercase()
            if channel is not None
            else pl.lit(None, pl.String)
        )
        try:
            out = table.select(
                chan.alias("channel"),
                pl.col(handle).cast(pl.String).alias("handle"),
                pl.col(customer).cast(_id_dtype(table.schema[customer])).alias("customer_id"),
            )
        except pl.exceptions.PolarsError as exc:
            raise PolicyError(f"identity map: cannot read the columns as text: {exc}") from exc
        nulls = out.filter(pl.col("handle").is_null() | pl.col("customer_id").is_null())
        if nulls.height:
            raise PolicyError(
                f"identity map: {nulls.height} row(s) have a null {handle!r} or {customer!r} "
                f"(first: {nulls.head(3).rows()}); drop them or fill them in."
            )
        out = out.unique(maintain_order=True)
        clash = out.filter(pl.len().over("channel", "handle") > 1).sort("channel", "handle")
        if clash.height:
            raise PolicyError(
                f"identity map: {clash.select('channel', 'handle').n_unique()} (channel, handle) "
                f"pair(s) map to more than one customer (first: {clash.head(4).rows()}); keep "
                "one customer per handle."
            )
        return cls(out)

    def __len__(self) -> int:
        return self.frame.height

    def apply_to(
        self, frame: pl.LazyFrame, *, customer: str = "customer_id", channel: str = "channel"
    ) -> pl.LazyFrame:
        """``frame`` with ``customer`` replaced by the mapped customer where the map has one.

        Rows keep their order; nothing is collected.
        """
        if self.frame.height == 0:
            return frame
        own = frame.collect_schema()[customer]
        mapped = self.frame.schema["customer_id"]
        target = own if own == mapped else pl.String()
        specific = self.frame.filter(pl.col("channel").is_not_null()).select(
            pl.col("channel").alias("_im_channel"),
            pl.col("handle").alias("_im_handle"),
            pl.col("customer_id").cast(target).alias("_im_specific"),
        )
        anywhere = self.frame.filter(pl.col("channel").is_null()).select(
            pl.col("handle").alias("_im_handle"),
            pl.col("customer_id").cast(target).alias("_im_any"),
        )
        out = frame.with_columns(pl.col(customer).cast(pl.String).alias("_im_handle"))
        if specific.height:
            out = out.join(
                specific.lazy(),
                left_on=[channel, "_im_handle"],
                right_on=["_im_channel", "_im_handle"],
                how="left",
                maintain_order="left",
            )
        else:
            out = out.with_columns(pl.lit(None, target).alias("_im_specific"))
        if anywhere.height:
            out = out.join(anywhere.lazy(), on="_im_handle", how="left", maintain_order="left")
        else:
            out = out.with_columns(pl.lit(None, target).alias("_im_any"))
        names = frame.collect_schema().names()
        return out.with_columns(
            pl.coalesce("_im_specific", "_im_any", pl.col(customer).cast(target)).alias(customer)
        ).select(names)

    def apply(self, log: EventLog | object) -> EventLog:
        """The log with every event's ``customer_id`` mapped (lazily; nothing is collected)."""
        event_log = as_event_log(log)
        return attrs.evolve(event_log, frame=self.apply_to(event_log.frame))


# --------------------------------------------------------------------------------------------
# Linking cases into issues


def _flag_first(expr: pl.Expr) -> pl.Expr:
    """True on the first row of each run of equal values (the frame is sorted by it)."""
    return expr.ne_missing(expr.shift(1)).fill_null(value=True)


def _segment_fill(start: pl.Expr, value: pl.Expr) -> pl.Expr:
    """``value`` at the last row where ``start`` was true, carried forward."""
    return pl.when(start).then(value).forward_fill()


def _sla_join(cases: pl.LazyFrame, sla: object | None) -> pl.LazyFrame:
    if sla is None:
        return cases
    table = sla if isinstance(sla, pl.LazyFrame) else _table(sla, "'sla'").lazy()
    names = table.collect_schema().names()
    if "sla_breached" in names or "breached" in names:
        flag = pl.col("sla_breached" if "sla_breached" in names else "breached").cast(pl.Boolean)
    elif "status" in names:  # csm.sla.sla_table: one row per case and target
        flag = pl.col("status").cast(pl.String) == "breached"
    else:
        flag = None
    if "case_id" not in names or flag is None:
        raise PolicyError(
            "'sla' must have columns 'case_id' and 'sla_breached' (or 'breached', or the "
            f"'status' of csmetrics.sla.sla_table); got {names}"
        )
    id_dtype = cases.collect_schema()["case_id"]
    per_case = table.group_by(pl.col("case_id").cast(id_dtype, strict=False)).agg(
        flag.any().alias("_sla")
    )
    if "sla_breached" in cases.collect_schema().names():
        cases = cases.drop("sla_breached")
    return cases.join(per_case, on="case_id", how="left").rename({"_sla": "sla_breached"})


def link_cases(
    cases: pl.LazyFrame,
    *,
    window: Window = DEFAULT_WINDOW,
    fcr_window: Window = DEFAULT_WINDOW,
    same_topic: bool = False,
    identity: IdentityMap | None = None,
    sla: object | None = None,
) -> pl.LazyFrame:
    """A case table with each case's issue and cross-channel flags (see :func:`journey_cases`).

    The plan: one sort by (customer, [topic,] created_at, case_id), then cumulative scans.
    A case joins the current issue when ``created_at`` ≤ the running maximum, over the
    earlier cases of the customer, of ``last_resolved_at + window`` (an unresolved case
    reaches forever). The running maximum restarts per customer: times (``Int128``) are
    offset by the customer's segment number · 2⁶⁴, so one global ``cum_max`` does it.
    """
    span = parse_window(window)
    fcr_span = parse_window(fcr_window, name="fcr_window")
    if identity is not None:
        cases = identity.apply_to(cases)
    cases = _sla_join(cases, sla)
    col = pl.col
    group = ["customer_id", "topic"] if same_topic else ["customer_id"]
    ordered = cases.sort([*group, "created_at", "case_id"], nulls_last=True)
    one_us = dt.timedelta(microseconds=1)
    never = col("as_of") + one_us  # later than any case's creation
    reach = (
        pl.when(col("last_resolved_at").is_null())
        .then(never)
        .otherwise(pl.min_horizontal(col("last_resolved_at") + span, never))
    )
    group_start = _flag_first(col("customer_id"))
    if same_topic:
        group_start = group_start | _flag_first(col("topic"))
    # each customer's times in a range of their own: its segment number · 2⁶⁴ plus the time
    # (µs, Int128), so one global cum_max restarts at every customer
    segment = group_start.cast(pl.Int64).cum_sum().cast(pl.Int128) * 2**64

    def in_segment(at: pl.Expr) -> pl.Expr:
        return segment + at.dt.epoch("us").cast(pl.Int128)

    linked = ordered.with_columns(
        group_start.alias("_group_start"),
        in_segment(col("created_at")).alias("_key"),
        in_segment(reach).cum_max().shift(1).alias("_reach_before"),
        pl.int_range(pl.len(), dtype=pl.Int64).alias("_row"),
    ).with_columns(
        (col("_reach_before").is_null() | (col("_key") > col("_reach_before"))).alias("_new")
    )
    new = col("_new")
    previous_resolved = col("last_resolved_at").shift(1)
    was_unresolved = previous_resolved.is_null() | (col("created_at") < previous_resolved)
    switch = ~new & (col("channel") != col("channel").shift(1))
    # a move from a private case to a public one (case visibility, DESIGN §2.4: a direct
    # message on a social channel is private), on the same channel or another
    if "is_public" in cases.collect_schema().names():
        public_switch = ~new & col("is_public") & ~col("is_public").shift(1)
    else:  # a case table without visibility: the public-switch columns are unknown
        public_switch = pl.lit(None, pl.Boolean)
    n_public = col("_public_switch").cast(pl.Int64).cum_sum()
    deadline = col("last_resolved_at") + fcr_span
    next_same_group = ~col("_group_start").shift(-1).fill_null(value=True)
    next_contact = pl.when(next_same_group).then(col("created_at").shift(-1))
    linked = linked.with_columns(
        _segment_fill(new, col("case_id")).alias("issue_id"),
        (col("_row") - _segment_fill(new, col("_row")) + 1)
        .cast(pl.UInt32)
        .alias("issue_case_number"),
        _segment_fill(new, col("channel")).alias("issue_first_channel"),
        pl.when(~new).then(col("channel").shift(1)).alias("previous_channel"),
        switch.alias("is_channel_switch"),
        public_switch.alias("_public_switch"),
        (public_switch & was_unresolved).alias("is_queue_jump"),
        next_contact.alias("next_contact_at"),
        (col("last_resolved_at").is_not_null() & (deadline > col("as_of"))).alias(
            "is_fcr_censored"
        ),
    ).with_columns(
        col("_public_switch").alias("is_public_switch"),
        (n_public - _segment_fill(new, n_public - col("_public_switch").cast(pl.Int64)) > 0).alias(
            "switched_to_public"
        ),
        pl.when(col("last_resolved_at").is_not_null() & ~col("is_fcr_censored"))
        .then(col("next_contact_at").is_null() | (col("next_contact_at") > deadline))
        .alias("resolved_first_contact"),
    )
    names = [c for c in cases.collect_schema().names() if c not in JOURNEY_CASE_COLUMNS]
    return linked.select(*names, *JOURNEY_CASE_COLUMNS)


CASE_NEEDS: Final[tuple[str, ...]] = (
    "customer_id",
    "channel",
    "created_at",
    "last_resolved_at",
    "is_open",
    "merged",
    "as_of",
)
"""The case-table columns linking cases into issues reads."""

ISSUE_SOURCES: Final[dict[str, tuple[str, ...]]] = {
    "topic": ("topic",),
    "first_response_at": ("first_response_at",),
    "first_response_time": ("first_response_at",),
    "comp_count": ("comp_count",),
    "comp_total": ("comp_total",),
    "n_customer_messages": ("n_customer_messages",),
    # visibility: only the public-switch columns read it
    "n_queue_jumps": ("is_public",),
    "switched_to_public": ("is_public",),
    "is_public_switch": ("is_public",),
    "is_queue_jump": ("is_public",),
}
"""Issue columns that sum up case-table columns beyond :data:`CASE_NEEDS`, and those columns."""

ALL_ISSUE_SOURCES: Final[tuple[str, ...]] = tuple(
    dict.fromkeys(c for cols in ISSUE_SOURCES.values() for c in cols)
)


def case_columns_for(issue_columns: Iterable[str]) -> list[str]:
    """The case-table columns needed for ``issue_columns`` of :func:`issues_from_cases`."""
    wanted = [c for name in issue_columns for c in ISSUE_SOURCES.get(name, ())]
    return list(dict.fromkeys([*CASE_NEEDS, *wanted]))


def _cases(
    log: EventLog | object,
    policy: Policy,
    on_invalid: OnInvalid,
    extra: Iterable[str] | None = (),
) -> pl.LazyFrame:
    """The case table, with only the columns journeys need and ``extra`` (``None``: all).

    Asking for fewer columns lets :func:`csmetrics.case_table` skip sorting the events.
    """
    if extra is None:
        return case_table(log, policy=policy, on_invalid=on_invalid)
    event_log = as_event_log(log)
    names = event_log.frame.collect_schema().names()
    known = {*CASE_COLUMNS, *(c for c in names if c not in CANONICAL_COLUMNS)}
    base = [*CASE_NEEDS, *ALL_ISSUE_SOURCES]
    wanted = [*base, *(c for c in extra if c in known and c not in base)]
    return case_table(event_log, policy=policy, columns=wanted, on_invalid=on_invalid)


def journey_cases(
    log: EventLog | object,
    *,
    window: Window = DEFAULT_WINDOW,
    fcr_window: Window = DEFAULT_WINDOW,
    same_topic: bool = False,
    policy: Policy | None = None,
    identity: IdentityMap | None = None,
    sla: object | None = None,
    columns: Collection[str] | None = None,
    on_invalid: OnInvalid = "raise",
) -> pl.LazyFrame:
    """The case table with each case's customer issue and its cross-channel flags.

    Parameters
    ----------
    log
        An :class:`~csmetrics.EventLog` or anything :meth:`EventLog.from_frame` reads.
    window
        How long after a case's (last) resolution a new case of the same customer still
        belongs to the same issue: ``"7d"``, ``"48h"`` or a timedelta.
    fcr_window
        For ``resolved_first_contact``: how long after the resolution the customer must not
        come back.
    same_topic
        Link only cases with the same ``topic`` (a null topic is a topic of its own).
    policy
        The case-table definitions and ``as_of``; default ``Policy()``.
    identity
        An :class:`IdentityMap` applied to ``customer_id`` first.
    sla
        SLA results: a frame with ``case_id`` and ``sla_breached`` (or ``breached``), or the
        output of :func:`csmetrics.sla.sla_table` (a case breached when any of its targets
        did); adds ``sla_breached``.
    columns
        Case-table (or pass-through) columns to carry besides the ones journeys read
        (:data:`CASE_NEEDS`); default every column. Fewer columns cost less: the case table
        can then be built without sorting the events.
    on_invalid
        ``"raise"`` or ``"quarantine"`` invalid events (see :func:`csmetrics.case_table`).

    Returns
    -------
    pl.LazyFrame
        The case-table columns, sorted by customer, [topic,] creation, case id, then
        :data:`JOURNEY_CASE_COLUMNS`: ``issue_id`` (the first case's ``case_id``),
        ``issue_case_number`` (1, 2 … within the issue), ``issue_first_channel``,
        ``previous_channel`` (of the previous case of the issue), ``is_channel_switch``,
        ``is_public_switch`` (private → public social), ``is_queue_jump`` (a public switch
        while the previous case was unresolved: created before its last resolution, or it
        is still open), ``switched_to_public`` (a public switch at or before this case in
        its issue), ``next_contact_at`` (the customer's next case, any channel),
        ``is_fcr_censored`` (resolved, but ``fcr_window`` after the resolution is later than
        ``as_of``) and ``resolved_first_contact`` (resolved, window closed and no next case
        until ``fcr_window`` after the resolution; null otherwise).

    Examples
    --------
    >>> import csmetrics as csm
    >>> log = csm.testing.log_from_rows([
    ...     ("09:00", "case_created", "customer", {"case_id": 1, "channel": "email"}),
    ...     ("11:00", "case_created", "customer", {"case_id": 2, "channel": "twitter"}),
    ...     ("11:30", "status_changed", "agent", {"case_id": 2, "status": "solved"}),
    ...     ("12:00", "status_changed", "agent", {"case_id": 1, "status": "solved"})])
    >>> journey_cases(log).collect().select("case_id", "issue_id", "is_queue_jump").rows()
    [(1, 1, False), (2, 1, True)]

    The tweet came at 11:00 while the email (solved at 12:00) was unresolved: a queue jump.
    """
    policy = policy or Policy()
    return link_cases(
        _cases(log, policy, on_invalid, None if columns is None else list(columns)),
        window=window,
        fcr_window=fcr_window,
        same_topic=same_topic,
        identity=identity,
        sla=sla,
    )


def issues_from_cases(
    linked: pl.LazyFrame, *, carry: Sequence[str] = (), ordered: bool = True
) -> pl.LazyFrame:
    """One row per issue from :func:`link_cases` output (see :func:`journeys`).

    Issue columns whose case columns (:data:`ISSUE_SOURCES`) the input lacks are left out.
    ``carry``: case columns to keep, with their value on the issue's first case (so that an
    issue can be grouped by the channel, team … it started on). ``ordered=False`` leaves
    the rows in no particular order (what an aggregation needs, and cheaper).
    """
    col = pl.col
    names = set(linked.collect_schema().names())
    # the issue's number among its customer's issues, counted on the sorted cases
    new_issue = (col("issue_case_number") == 1).cast(pl.Int64)
    count = new_issue.cum_sum()
    before = _segment_fill(_flag_first(col("customer_id")), count - new_issue)
    linked = linked.with_columns((count - before).cast(pl.UInt32).alias("issue_number"))
    optional = {
        "topic": col("topic").first(ignore_nulls=True),
        "first_response_at": col("first_response_at").min(),
        "comp_count": col("comp_count").sum().cast(pl.UInt32),
        "comp_total": col("comp_total").sum(),
        "n_customer_messages": col("n_customer_messages").sum().cast(pl.UInt32),
    }
    aggs = [
        *(col(c).first().alias(c) for c in carry),
        col("customer_id").first(),
        col("case_id").alias("cases"),
        col("channel").alias("channels"),
        pl.len().cast(pl.UInt32).alias("n_contacts"),
        col("channel").n_unique().cast(pl.UInt32).alias("n_channels"),
        col("channel").first().alias("first_channel"),
        col("channel").last().alias("last_channel"),
        col("created_at").first().alias("first_contact_at"),
        col("created_at").last().alias("last_contact_at"),
        pl.when(~col("is_open").any()).then(col("last_resolved_at").max()).alias("resolved_at"),
        col("is_open").any(),
        col("is_channel_switch").sum().cast(pl.UInt32).alias("n_switches"),
        col("is_queue_jump").sum().cast(pl.UInt32).alias("n_queue_jumps"),
        col("is_public_switch").any().alias("switched_to_public"),
        col("as_of").first(),
        col("issue_number").first(),
        *(expr.alias(name) for name, expr in optional.items() if name in names),
    ]
    extra = []
    if "sla_breached" in names:
        aggs.append(col("sla_breached").any().alias("sla_breached"))
        extra.append("sla_breached")
    first_contact = col("first_contact_at")
    derived = [(col("resolved_at") - first_contact).alias("resolution_time")]
    if "first_response_at" in names:
        derived.append((col("first_response_at") - first_contact).alias("first_response_time"))
    # ``linked`` is sorted by customer, creation, case: the issues in the order of their
    # first cases are sorted by customer, first contact, issue id
    table = linked.group_by("issue_id", maintain_order=ordered).agg(aggs).with_columns(derived)
    present = set(table.collect_schema().names())
    return table.select(*(c for c in ISSUE_COLUMNS if c in present), *carry, *extra)


def journeys(
    log: EventLog | object,
    *,
    window: Window = DEFAULT_WINDOW,
    same_topic: bool = False,
    policy: Policy | None = None,
    identity: IdentityMap | None = None,
    sla: object | None = None,
    on_invalid: OnInvalid = "raise",
) -> pl.LazyFrame:
    """One row per customer issue: the customer's cases linked across channels (DESIGN §7).

    Consecutive cases of a customer belong to one issue when the later one starts while an
    earlier case of the issue is unresolved, or within ``window`` after its resolution (its
    last solve or close; a case still open at ``as_of`` is unresolved). With
    ``same_topic=True`` only cases with the same ``topic`` are linked.

    Parameters
    ----------
    log
        An :class:`~csmetrics.EventLog` or anything :meth:`EventLog.from_frame` reads.
    window
        ``"7d"`` (default), ``"48h"``, ``"1d12h"`` or a timedelta.
    same_topic
        Require the same ``topic`` too.
    policy
        The case-table definitions and ``as_of``; default ``Policy()``.
    identity
        An :class:`IdentityMap` joining handles on several channels into one customer.
    sla
        SLA results: ``case_id`` and ``sla_breached``, or :func:`csmetrics.sla.sla_table`'s
        output; adds ``sla_breached``, true when any case of the issue breached.
    on_invalid
        ``"raise"`` or ``"quarantine"`` invalid events.

    Returns
    -------
    pl.LazyFrame
        :data:`ISSUE_COLUMNS`, sorted by customer and first contact: ``issue_id`` (the
        ``case_id`` of its first case), ``customer_id``, ``issue_number`` (1, 2 … per
        customer), ``topic`` (the first case's with one), ``cases`` and ``channels`` (lists,
        in order), ``n_contacts`` (cases: customer effort), ``n_channels``,
        ``first_channel``, ``last_channel``, ``first_contact_at``, ``last_contact_at``,
        ``first_response_at`` (the first agent reply on any of its cases),
        ``first_response_time`` (from the first contact), ``resolved_at`` (the last
        resolution, once every case is resolved), ``resolution_time``, ``is_open``,
        ``n_switches`` (channel changes between consecutive cases), ``n_queue_jumps``,
        ``switched_to_public``, ``comp_count``, ``comp_total``, ``n_customer_messages``,
        ``as_of``; ``sla_breached`` with ``sla``.

    Raises
    ------
    PolicyError
        For a malformed window.

    Examples
    --------
    >>> import csmetrics as csm
    >>> log = csm.testing.log_from_rows([
    ...     ("09:00", "case_created", "customer", {"case_id": 1, "channel": "email"}),
    ...     ("10:00", "status_changed", "agent", {"case_id": 1, "status": "solved"}),
    ...     ("15:00", "case_created", "customer", {"case_id": 2, "channel": "phone"}),
    ...     ("15:05", "status_changed", "agent", {"case_id": 2, "status": "solved"})])
    >>> journeys(log).collect().select("issue_id", "channels", "n_switches").rows()
    [(1, ['email', 'phone'], 1)]
    >>> journeys(log, window="2h").collect()["issue_id"].to_list()
    [1, 2]

    The call came 5 hours after the email was solved: inside a 7-day window (one issue, one
    switch), outside a 2-hour one (two issues).
    """
    linked = journey_cases(
        log,
        window=window,
        same_topic=same_topic,
        policy=policy,
        identity=identity,
        sla=sla,
        columns=(),
        on_invalid=on_invalid,
    )
    return issues_from_cases(linked)


# --------------------------------------------------------------------------------------------
# Metrics on journeys


def transitions(linked: pl.LazyFrame) -> pl.LazyFrame:
    """Follow-up cases of each issue (from :func:`link_cases`), with ``from_channel`` (the
    previous case's channel) and ``to_channel``."""
    return linked.filter(pl.col("issue_case_number") > 1).with_columns(
        pl.col("previous_channel").alias("from_channel"), pl.col("channel").alias("to_channel")
    )


def channel_switch_matrix(
    log: EventLog | object,
    *,
    by: str | Sequence[str] = (),
    period: Period | None = None,
    window: Window = DEFAULT_WINDOW,
    same_topic: bool = False,
    policy: Policy | None = None,
    identity: IdentityMap | None = None,
    on_invalid: OnInvalid = "raise",
) -> pl.LazyFrame:
    """Moves between consecutive cases of an issue: from channel → to channel.

    Returns
    -------
    pl.LazyFrame
        The ``by`` columns, ``period_start`` (with a period), ``from_channel``,
        ``to_channel``, ``count`` (moves), ``n_from`` (every follow-up after a case on
        ``from_channel``), ``rate`` (``count / n_from``; the rates of one ``from_channel``
        add up to 1), ``share_of_switches`` (``count`` over every switch, null on the
        diagonal) and ``is_switch`` (false on the diagonal: a same-channel repeat).

    Examples
    --------
    >>> import csmetrics as csm
    >>> log = csm.testing.log_from_rows([
    ...     ("09:00", "case_created", "customer", {"case_id": 1, "channel": "email"}),
    ...     ("10:00", "case_created", "customer", {"case_id": 2, "channel": "twitter"}),
    ...     ("11:00", "case_created", "customer", {"case_id": 3, "channel": "twitter"})])
    >>> channel_switch_matrix(log).collect().select("from_channel", "to_channel", "count",
    ...     "rate").rows()
    [('email', 'twitter', 1, 1.0), ('twitter', 'twitter', 1, 1.0)]
    """
    policy = policy or Policy()
    keys = by_columns(by)
    check_period(period)
    linked = journey_cases(
        log,
        window=window,
        same_topic=same_topic,
        policy=policy,
        identity=identity,
        columns=keys,
        on_invalid=on_invalid,
    )
    carry = [c for c in keys if c in linked.collect_schema().names()]
    frame = transitions(linked.with_columns(pl.col(c).first().over("issue_id") for c in carry))
    unknown = [c for c in keys if c not in frame.collect_schema().names()]
    if unknown:
        raise PolicyError(
            f"'by' column(s) {unknown} are not in the journey case table; available: "
            f"{frame.collect_schema().names()}"
        )
    if period is not None:
        anchor = "created_at" if policy.period_by == "created" else "last_resolved_at"
        frame = frame.with_columns(period_start(anchor, period, policy.timezone))
        keys += period_key(period)
    cells = frame.group_by(*keys, "from_channel", "to_channel").agg(
        pl.len().cast(pl.Int64).alias("count")
    )
    switch = pl.col("from_channel") != pl.col("to_channel")
    n_from = pl.col("count").sum().over(*keys, "from_channel")
    n_switches = pl.when(switch).then(pl.col("count")).sum()
    if keys:
        n_switches = n_switches.over(keys)
    return cells.select(
        *keys,
        "from_channel",
        "to_channel",
        "count",
        n_from.alias("n_from"),
        (pl.col("count") / n_from).alias("rate"),
        pl.when(switch).then(pl.col("count") / n_switches).alias("share_of_switches"),
        switch.alias("is_switch"),
    ).sort([*keys, "from_channel", "to_channel"], nulls_last=True)
