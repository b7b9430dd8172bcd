"""Redirects: did an agent send the customer to another channel, and what did it cost?

A *redirect* is a case whose conversation the team moved elsewhere. Three kinds, read from
the events and the journeys (DESIGN §2.4, §7):

* ``explicit``: an event of the case carries ``redirected_to`` (an optional pass-through
  column naming where the customer was sent: a channel, a form; adapters and mappings fill
  it from a macro or a tag);
* ``to_private``: a public case moved to a DM (its first customer message is public, a
  later message is private);
* ``sent_elsewhere``: the next case of the same issue opened on another channel within
  ``window`` after an agent message on this case (the reply that sent the customer there).

:func:`redirect_cases` marks every case; :func:`redirect_rate` gives, per the channel each
issue started on, the share of issues with a redirect (Wilson interval) and the issue
resolution time of redirected against other resolved issues (medians, with an interval of
their difference).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import polars as pl

from csmetrics._analysis import (
    OnInvalid,
    analysis_events,
    median_difference,
    seconds,
    wilson,
)
from csmetrics.exceptions import PolicyError
from csmetrics.journeys import Window, issues_from_cases, journey_cases, parse_window
from csmetrics.log import EventLog
from csmetrics.policy import Policy
from csmetrics.schema import is_public_expr

__all__ = [
    "COMPARE",
    "KINDS",
    "REDIRECT_CASE_COLUMNS",
    "REDIRECT_COLUMN",
    "REDIRECT_RATE_COLUMNS",
    "redirect_cases",
    "redirect_rate",
]

REDIRECT_COLUMN: Final = "redirected_to"
"""The optional event column naming where an agent sent the customer (a pass-through)."""

REDIRECT_CASE_COLUMNS: Final[tuple[str, ...]] = (
    "case_id",
    "issue_id",
    "customer_id",
    "channel",
    "created_at",
    "explicit_to",
    "moved_to_private",
    "sent_elsewhere_to",
    "is_redirected",
    "redirect_kind",
)
"""Columns of :func:`redirect_cases`."""

REDIRECT_RATE_COLUMNS: Final[tuple[str, ...]] = (
    "channel",
    "n_issues",
    "n_redirected",
    "redirect_rate",
    "ci_low",
    "ci_high",
    "n_explicit",
    "n_to_private",
    "n_sent_elsewhere",
    "n_resolved_redirected",
    "n_resolved_other",
    "resolution_median_redirected_h",
    "resolution_median_other_h",
    "resolution_difference_h",
    "diff_ci_low",
    "diff_ci_high",
)
"""Columns of :func:`redirect_rate` (``channel`` null: all issues)."""

_ALL: Final = "\x00all"
KINDS: Final[tuple[str, ...]] = ("explicit", "to_private", "sent_elsewhere")
"""The kinds of redirect, in the order ``redirect_kind`` prefers them."""
COMPARE: Final[tuple[str, ...]] = ("all", "repeat")
"""What :func:`redirect_rate` compares redirected issues with (``compare``)."""


def redirect_cases(
    log: EventLog | object,
    *,
    window: Window = "2h",
    journey_window: Window = "7d",
    policy: Policy | None = None,
    on_invalid: OnInvalid = "raise",
) -> pl.LazyFrame:
    """Every case with its redirects (see the module): :data:`REDIRECT_CASE_COLUMNS`, by case.

    ``redirect_kind`` is the first of ``explicit``, ``to_private``, ``sent_elsewhere`` that
    holds (null: not redirected).

    Examples
    --------
    An email answered at 09:30; the customer calls at 09:40 (within 2 hours):

    >>> import csmetrics as csm
    >>> log = csm.testing.log_from_rows([
    ...     ("09:00", "case_created", "customer", {"case_id": 1}),
    ...     ("09:30", "message", "agent", {"case_id": 1}),
    ...     ("09:40", "case_created", "customer", {"case_id": 2, "channel": "phone"})])
    >>> redirect_cases(log).collect().select("case_id", "redirect_kind", "sent_elsewhere_to").rows()
    [(1, 'sent_elsewhere', 'phone'), (2, None, None)]
    """
    policy = policy or Policy()
    linked = journey_cases(
        log, window=journey_window, policy=policy, columns=(), on_invalid=on_invalid
    )
    return _redirect_cases(log, linked, window=window, policy=policy, on_invalid=on_invalid)


def _redirect_cases(
    log: EventLog | object,
    journey: pl.LazyFrame,
    *,
    window: Window,
    policy: Policy,
    on_invalid: OnInvalid,
) -> pl.LazyFrame:
    facts, replies = _event_facts(log, policy=policy, on_invalid=on_invalid)
    return _mark(journey, facts, replies, window=window)


def _event_facts(
    log: EventLog | object, *, policy: Policy, on_invalid: OnInvalid
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """From the events: per case the facts of the explicit and to-private kinds, and the
    agent replies (``case_id``, ``_reply_at``) sorted by time."""
    col = pl.col
    events = analysis_events(log, policy, on_invalid)
    names = events.collect_schema().names()
    replies = (
        events.filter((col("event_type") == "message") & (col("actor") == "agent"))
        .select("case_id", col("ts").alias("_reply_at"))
        .sort("_reply_at")
    )
    customer_message = (col("event_type") == "message") & (col("actor") == "customer")
    public = is_public_expr(policy.channels)
    first_customer = col("ts").filter(customer_message).min()
    per_case = [
        public.filter(customer_message)
        .sort_by(col("ts").filter(customer_message))
        .first()
        .alias("_public"),
        ((col("event_type") == "message") & ~public & (col("ts") > first_customer))
        .any()
        .alias("_later_private"),
    ]
    if REDIRECT_COLUMN in names:
        per_case.append(
            col(REDIRECT_COLUMN)
            .cast(pl.String)
            .filter(col(REDIRECT_COLUMN).is_not_null())
            .sort_by(col("ts").filter(col(REDIRECT_COLUMN).is_not_null()))
            .first()
            .alias("explicit_to")
        )
    facts = events.group_by("case_id").agg(per_case)
    if REDIRECT_COLUMN not in names:
        facts = facts.with_columns(pl.lit(None, pl.String).alias("explicit_to"))
    return facts, replies


def _mark(
    journey: pl.LazyFrame, facts: pl.LazyFrame, replies: pl.LazyFrame, *, window: Window
) -> pl.LazyFrame:
    """:data:`REDIRECT_CASE_COLUMNS` from the journeys and the events' facts and replies."""
    span = parse_window(window)
    col = pl.col
    linked = journey.select(
        "case_id",
        "issue_id",
        "customer_id",
        "channel",
        "created_at",
        "issue_case_number",
    )
    # The next case of the issue, when it is on another channel.
    nxt = linked.with_columns(
        pl.when(col("issue_id").shift(-1) == col("issue_id"))
        .then(col("created_at").shift(-1))
        .alias("_next_at"),
        pl.when(col("issue_id").shift(-1) == col("issue_id"))
        .then(col("channel").shift(-1))
        .alias("_next_channel"),
    ).with_columns(
        pl.when(col("_next_channel") != col("channel")).then(col("_next_at")).alias("_next_at")
    )
    queries = (
        nxt.filter(col("_next_at").is_not_null())
        .select("case_id", "_next_at")
        .sort("_next_at")
        .join_asof(
            replies,
            left_on="_next_at",
            right_on="_reply_at",
            by="case_id",
            strategy="backward",
            check_sortedness=False,
        )
        .select(
            "case_id",
            ((col("_next_at") - col("_reply_at")) <= span).fill_null(value=False).alias("_sent"),
        )
    )
    out = (
        nxt.join(queries, on="case_id", how="left")
        .join(facts, on="case_id", how="left")
        .with_columns(
            (
                col("_public").fill_null(value=False) & col("_later_private").fill_null(value=False)
            ).alias("moved_to_private"),
            pl.when(col("_sent").fill_null(value=False))
            .then(col("_next_channel"))
            .alias("sent_elsewhere_to"),
        )
        .with_columns(
            pl.when(col("explicit_to").is_not_null())
            .then(pl.lit("explicit"))
            .when(col("moved_to_private"))
            .then(pl.lit("to_private"))
            .when(col("sent_elsewhere_to").is_not_null())
            .then(pl.lit("sent_elsewhere"))
            .alias("redirect_kind"),
        )
        .with_columns(col("redirect_kind").is_not_null().alias("is_redirected"))
    )
    return out.select(REDIRECT_CASE_COLUMNS).sort("case_id")


def redirect_rate(
    log: EventLog | object,
    *,
    by: str | None = "channel",
    window: Window = "2h",
    journey_window: Window = "7d",
    kinds: Sequence[str] = KINDS,
    compare: str = "all",
    level: float = 0.95,
    policy: Policy | None = None,
    on_invalid: OnInvalid = "raise",
) -> pl.LazyFrame:
    """Share of issues with a redirect, and what redirects cost in resolution time.

    Parameters
    ----------
    log
        An :class:`~csmetrics.EventLog` or anything :meth:`EventLog.from_frame` reads.
    by
        ``"channel"`` (the channel each issue started on) or None.
    window
        How soon after an agent message a case on another channel counts as sent there.
    journey_window
        The journey window linking a customer's cases into issues (DESIGN §7).
    kinds
        Which kinds count as a redirect (default all three; e.g. ``["explicit"]`` for the
        tagged ones only).
    compare
        Which issues the resolution times compare: ``"all"`` (default: redirected against
        every other resolved issue) or ``"repeat"``, like with like: only issues with more
        than one contact on both sides (a redirect makes a second contact by construction;
        other issues with a second contact are the fair comparison). The counts
        ``n_resolved_*`` follow the choice; the rate is over all issues either way.
    level
        Coverage of both intervals (the Wilson interval of the rate; the normal interval of
        the difference of medians, from distribution-free standard errors of each median).
    policy, on_invalid
        As for :func:`csmetrics.compute`.

    Returns
    -------
    pl.LazyFrame
        :data:`REDIRECT_RATE_COLUMNS`: ``n_issues``, ``n_redirected`` (issues with a
        redirected case), ``redirect_rate`` with its Wilson interval ``ci_low``/``ci_high``,
        the issues by kind, and over resolved issues the median resolution time (hours) of
        redirected and other issues, their difference and its interval. Redirected issues
        have more contacts by construction; compare like with like before reading the
        difference as a cost.

    Examples
    --------
    >>> import csmetrics as csm
    >>> log = csm.testing.log_from_rows([
    ...     ("09:00", "case_created", "customer", {"case_id": 1}),
    ...     ("09:30", "message", "agent", {"case_id": 1, "redirected_to": "web_form"}),
    ...     ("10:00", "status_changed", "agent", {"case_id": 1, "status": "solved"}),
    ...     ("09:00", "case_created", "customer", {"case_id": 2, "customer_id": 2}),
    ...     ("09:30", "status_changed", "agent", {"case_id": 2, "customer_id": 2,
    ...                                           "status": "solved"})])
    >>> out = redirect_rate(log, by=None).collect()
    >>> out.select("n_issues", "n_redirected", "redirect_rate", "resolution_difference_h").row(0)
    (2, 1, 0.5, 0.5)

    Issue 1 was redirected (to a web form by a macro) and took an hour; issue 2 half an hour.
    """
    if by not in ("channel", None):
        raise PolicyError(
            f"redirect_rate groups by 'channel' (the channel an issue started on) or None "
            f"(got by={by!r})"
        )
    if not 0 < level < 1:
        raise PolicyError(f"'level' must be between 0 and 1, e.g. 0.95 (got {level!r})")
    if compare not in COMPARE:
        raise PolicyError(
            f"'compare' must be one of {COMPARE}: 'all' issues or 'repeat' (more than one "
            f"contact) (got {compare!r})"
        )
    chosen = [kinds] if isinstance(kinds, str) else list(kinds)
    if not chosen or any(k not in KINDS for k in chosen):
        raise PolicyError(f"'kinds' must be a non-empty subset of {KINDS} (got {kinds!r})")
    policy = policy or Policy()
    col = pl.col
    # The journeys (one row per case, read by the marks and the issues) and the events'
    # facts and replies in one collect: one scan of the log where Polars can share it, and
    # the plans run side by side.
    parse_window(window)  # a bad window fails before any work
    linked_plan = journey_cases(
        log, window=journey_window, policy=policy, columns=(), on_invalid=on_invalid
    )
    facts_plan, replies_plan = _event_facts(log, policy=policy, on_invalid=on_invalid)
    linked_frame, facts_frame, replies_frame = pl.collect_all(
        [linked_plan, facts_plan, replies_plan]
    )
    linked = linked_frame.lazy()
    marked = _mark(linked, facts_frame.lazy(), replies_frame.lazy(), window=window).select(
        "case_id",
        col("explicit_to").is_not_null().alias("explicit"),
        col("moved_to_private").alias("to_private"),
        col("sent_elsewhere_to").is_not_null().alias("sent_elsewhere"),
    )
    issues = issues_from_cases(linked).select(
        "issue_id",
        col("first_channel").alias("channel"),
        "is_open",
        "n_contacts",
        (seconds(col("resolution_time")) / 3600.0).alias("_hours"),
    )
    per_issue = (
        marked.join(linked.select("case_id", "issue_id"), on="case_id", how="inner")
        .group_by("issue_id")
        .agg(
            pl.any_horizontal(chosen).any().alias("_redirected"),
            col("explicit").any().alias("_explicit"),
            col("to_private").any().alias("_to_private"),
            col("sent_elsewhere").any().alias("_sent"),
        )
        .join(issues, on="issue_id", how="inner")
        .collect()
        .lazy()
    )
    grouped = pl.concat(
        [
            *([per_issue.with_columns(col("channel").alias("_group"))] if by else []),
            per_issue.with_columns(pl.lit(_ALL).alias("_group")),
        ]
    )
    resolved = ~col("is_open") & col("_hours").is_not_null()
    if compare == "repeat":
        resolved = resolved & (col("n_contacts") > 1)
    summary = grouped.group_by("_group").agg(
        pl.len().cast(pl.UInt32).alias("n_issues"),
        col("_redirected").sum().cast(pl.UInt32).alias("n_redirected"),
        col("_explicit").sum().cast(pl.UInt32).alias("n_explicit"),
        col("_to_private").sum().cast(pl.UInt32).alias("n_to_private"),
        col("_sent").sum().cast(pl.UInt32).alias("n_sent_elsewhere"),
        (resolved & col("_redirected")).sum().cast(pl.UInt32).alias("n_resolved_redirected"),
        (resolved & ~col("_redirected")).sum().cast(pl.UInt32).alias("n_resolved_other"),
        col("_hours")
        .filter(resolved & col("_redirected"))
        .median()
        .alias("resolution_median_redirected_h"),
        col("_hours")
        .filter(resolved & ~col("_redirected"))
        .median()
        .alias("resolution_median_other_h"),
    )
    interval = median_difference(
        grouped.filter(resolved), group="_group", arm="_redirected", value="_hours", level=level
    ).select("_group", "diff_ci_low", "diff_ci_high")
    low, high = wilson(col("n_redirected"), col("n_issues"), level)
    return (
        summary.join(interval, on="_group", how="left")
        .with_columns(
            (col("n_redirected") / col("n_issues")).alias("redirect_rate"),
            low.alias("ci_low"),
            high.alias("ci_high"),
            (col("resolution_median_redirected_h") - col("resolution_median_other_h")).alias(
                "resolution_difference_h"
            ),
            pl.when(col("_group") != _ALL).then(col("_group")).alias("channel"),
        )
        .sort(col("_group") == _ALL, "_group")
        .select(REDIRECT_RATE_COLUMNS)
    )
