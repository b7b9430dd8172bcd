"""Journey metrics: measured on customer issues, not on single cases (DESIGN §7).

Every metric here has ``level="issue"``; :func:`csmetrics.compute` takes them with any other
metric in one call, over the same case table. Each names (``frame``) one of three frames
:mod:`csmetrics.journeys` builds:

- ``issues``: one row per customer issue (:func:`csmetrics.journeys.journeys`);
- ``journey_cases``: one row per case, with its issue and the cross-channel flags
  (:func:`csmetrics.journeys.journey_cases`);
- ``transitions``: one row per follow-up case of an issue (a case with an earlier one),
  ``from_channel`` → ``to_channel``.

A metric with ``keys`` is split by extra columns of its own (the switch matrix by
``from_channel`` and ``to_channel``). A plugin metric with ``level="issue"`` reads the
``issues`` frame unless it names another.
"""

from __future__ import annotations

import polars as pl

from csmetrics.metrics._common import counted
from csmetrics.metrics.registry import Metric, builtin
from csmetrics.policy import Policy

__all__ = [
    "channel_switch_matrix",
    "channel_switch_rate",
    "comp_rate_by_channel",
    "comp_rate_per_issue",
    "contacts_per_issue",
    "cross_channel_fcr",
    "issue_first_response_time",
    "issue_resolution_time",
    "queue_jump_rate",
    "repeat_contact_rate",
]


def _all(policy: Policy) -> pl.Expr:
    # a column, not a literal: a literal would aggregate to one row per group
    return pl.col("issue_id").is_not_null()


channel_switch_rate = builtin(
    Metric(
        name="channel_switch_rate",
        unit="ratio",
        kind="rate",
        level="issue",
        definition=(
            "Share of customer issues in which the customer changed channel at least once "
            "between consecutive cases (email, then phone, then Twitter …)."
        ),
        docs="metrics/channel_switch_rate",
        population=_all,
        value=lambda policy: pl.col("n_switches") > 0,
        columns=("n_switches", "is_open"),
    )
)

queue_jump_rate = builtin(
    Metric(
        name="queue_jump_rate",
        unit="ratio",
        kind="rate",
        level="issue",
        definition=(
            "Share of customer issues with a queue jump: a move from a private case (email, "
            "phone, chat, messaging, web, or a direct message on a social channel) to a "
            "public one (a public post) while the earlier case was still unresolved. "
            "Visibility is the case's, taken from its events (DESIGN §2.4)."
        ),
        docs="metrics/queue_jump_rate",
        requires=frozenset({"status_changed"}),
        population=_all,
        value=lambda policy: pl.col("n_queue_jumps") > 0,
        columns=("n_queue_jumps", "is_open"),
    )
)

repeat_contact_rate = builtin(
    Metric(
        name="repeat_contact_rate",
        unit="ratio",
        kind="rate",
        level="issue",
        definition=(
            "Share of customer issues that took more than one case (contact), on any "
            "channel. Issues still open at as_of may yet get a repeat: n_open counts them."
        ),
        docs="metrics/repeat_contact_rate",
        population=_all,
        value=lambda policy: pl.col("n_contacts") > 1,
        columns=("n_contacts", "is_open"),
    )
)

contacts_per_issue = builtin(
    Metric(
        name="contacts_per_issue",
        unit="count",
        kind="amount",
        level="issue",
        definition=(
            "Cases (contacts) a customer needed per issue, on every channel: customer "
            "effort. As every amount, the headline value is the total; mean and quantiles "
            "are per issue (read mean for contacts per issue)."
        ),
        docs="metrics/contacts_per_issue",
        population=_all,
        value=lambda policy: pl.col("n_contacts"),
        columns=("n_contacts",),
    )
)

comp_rate_per_issue = builtin(
    Metric(
        name="comp_rate_per_issue",
        unit="ratio",
        kind="rate",
        level="issue",
        definition=(
            "Share of customer issues granted compensation at least once, on any of their "
            "cases. Split it by switched_to_public to see whether customers who moved to a "
            "public channel are comped more often."
        ),
        docs="metrics/comp_rate_per_issue",
        requires=frozenset({"comp_granted"}),
        population=_all,
        value=lambda policy: pl.col("comp_count") > 0,
        columns=("comp_count", "is_open"),
    )
)

issue_first_response_time = builtin(
    Metric(
        name="issue_first_response_time",
        unit="seconds",
        kind="duration",
        level="issue",
        definition=(
            "First contact of the issue (its first case's creation) → the first human agent "
            "reply on any of its cases. No reply yet: open (censored)."
        ),
        docs="metrics/issue_first_response_time",
        requires=frozenset({"message:agent"}),
        population=_all,
        value=lambda policy: pl.col("first_response_time"),
        columns=("first_response_time",),
        censor_start=lambda policy: pl.col("first_contact_at"),
    )
)

issue_resolution_time = builtin(
    Metric(
        name="issue_resolution_time",
        unit="seconds",
        kind="duration",
        level="issue",
        definition=(
            "First contact of the issue → the last resolution of its cases, once every case "
            "of the issue is solved or closed at as_of. Otherwise open (censored)."
        ),
        docs="metrics/issue_resolution_time",
        requires=frozenset({"status_changed"}),
        population=_all,
        value=lambda policy: pl.col("resolution_time"),
        columns=("resolution_time",),
        censor_start=lambda policy: pl.col("first_contact_at"),
    )
)


def _fcr_population(policy: Policy) -> pl.Expr:
    closed = pl.col("last_resolved_at").is_not_null() & ~pl.col("is_fcr_censored")
    return counted(policy) & closed


def _fcr_censored(policy: Policy) -> pl.Expr:
    return counted(policy) & pl.col("last_resolved_at").is_not_null() & pl.col("is_fcr_censored")


cross_channel_fcr = builtin(
    Metric(
        name="cross_channel_fcr",
        unit="ratio",
        kind="rate",
        level="issue",
        definition=(
            "Share of resolved cases after which the customer made no new contact, on any "
            "channel, within fcr_window (default 7 days) of the resolution; a contact made "
            "while the case was still open counts too. Cases whose window has not closed by "
            "as_of are left out and counted in n_open, never guessed."
        ),
        docs="metrics/cross_channel_fcr",
        requires=frozenset({"status_changed"}),
        population=_fcr_population,
        value=lambda policy: pl.col("resolved_first_contact"),
        columns=("last_resolved_at", "is_fcr_censored", "resolved_first_contact", "merged"),
        frame="journey_cases",
        open_when=_fcr_censored,
    )
)

comp_rate_by_channel = builtin(
    Metric(
        name="comp_rate_by_channel",
        unit="ratio",
        kind="rate",
        level="issue",
        definition=(
            "Share of cases granted compensation, per channel and by whether the customer "
            "had switched from a private to a public channel in the issue before or with "
            "this case (switched_to_public): does comping in public reward public complaints?"
        ),
        docs="metrics/comp_rate_by_channel",
        requires=frozenset({"comp_granted"}),
        population=counted,
        value=lambda policy: pl.col("comp_count") > 0,
        columns=("comp_count", "channel", "switched_to_public", "merged", "is_open"),
        frame="journey_cases",
        keys=("channel", "switched_to_public"),
    )
)

channel_switch_matrix = builtin(
    Metric(
        name="channel_switch_matrix",
        unit="ratio",
        kind="rate",
        level="issue",
        definition=(
            "For each pair of consecutive cases of an issue, from_channel → to_channel: the "
            "number of such moves (numerator) over every follow-up after a case on "
            "from_channel (denominator). The diagonal is the same-channel repeat."
        ),
        docs="metrics/channel_switch_matrix",
        population=_all,
        value=lambda policy: pl.lit(value=True),
        columns=("from_channel", "to_channel", "is_open"),
        frame="transitions",
        keys=("from_channel", "to_channel"),
    )
)
