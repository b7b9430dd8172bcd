"""Journey metrics: measured on customer issues, not on single cases (DESIGN §7).

Every metric here has ``level="issue"``: :func:`csmetrics.journeys.journey_metrics` computes
them (``csm.compute`` does not). Each reads one of three frames :mod:`csmetrics.journeys`
builds, named in :data:`FRAMES`:

- ``issues``: one row per customer issue (:func:`csmetrics.journeys.journeys`);
- ``cases``: one row per case, with its issue and the cross-channel flags
  (:func:`csmetrics.journeys.journey_cases`);
- ``transitions``: one row per follow-up case of an issue (a case with an earlier one),
  ``from_channel`` → ``to_channel``.

A metric listed in :data:`KEYS` is split by extra columns of its own (the switch matrix by
``from_channel`` and ``to_channel``). A plugin metric with ``level="issue"`` reads the
``issues`` frame.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final, Literal

import polars as pl

from csmetrics.metrics._common import counted
from csmetrics.metrics.registry import Metric, _builtin
from csmetrics.policy import Policy

__all__ = ["CENSORED", "FRAMES", "KEYS", "JourneyFrame", "frame_of", "keys_of"]

JourneyFrame = Literal["issues", "cases", "transitions"]


def _all(policy: Policy) -> pl.Expr:
    # a column, not a literal: a literal would aggregate to one row per group
    return pl.col("issue_id").is_not_null()


channel_switch_rate = _builtin(
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

queue_jump_rate = _builtin(
    Metric(
        name="queue_jump_rate",
        unit="ratio",
        kind="rate",
        level="issue",
        definition=(
            "Share of customer issues with a queue jump: a switch from a private channel "
            "(email, phone, chat, messaging, web) to a public social channel while the "
            "earlier case was still unresolved."
        ),
        docs="metrics/queue_jump_rate",
        population=_all,
        value=lambda policy: pl.col("n_queue_jumps") > 0,
        columns=("n_queue_jumps", "is_open"),
    )
)

repeat_contact_rate = _builtin(
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

contacts_per_issue = _builtin(
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

comp_rate_per_issue = _builtin(
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
        population=_all,
        value=lambda policy: pl.col("comp_count") > 0,
        columns=("comp_count", "is_open"),
    )
)

issue_first_response_time = _builtin(
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
        population=_all,
        value=lambda policy: pl.col("first_response_time"),
        columns=("first_response_time",),
        censor_start=lambda policy: pl.col("first_contact_at"),
    )
)

issue_resolution_time = _builtin(
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


cross_channel_fcr = _builtin(
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
        population=_fcr_population,
        value=lambda policy: pl.col("resolved_first_contact"),
        columns=("last_resolved_at", "is_fcr_censored", "resolved_first_contact", "merged"),
    )
)

comp_rate_by_channel = _builtin(
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
        population=counted,
        value=lambda policy: pl.col("comp_count") > 0,
        columns=("comp_count", "channel", "switched_to_public", "merged", "is_open"),
    )
)

channel_switch_matrix = _builtin(
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
    )
)

FRAMES: Final[Mapping[str, JourneyFrame]] = MappingProxyType(
    {
        "channel_switch_rate": "issues",
        "queue_jump_rate": "issues",
        "repeat_contact_rate": "issues",
        "contacts_per_issue": "issues",
        "comp_rate_per_issue": "issues",
        "issue_first_response_time": "issues",
        "issue_resolution_time": "issues",
        "cross_channel_fcr": "cases",
        "comp_rate_by_channel": "cases",
        "channel_switch_matrix": "transitions",
    }
)
"""The frame each built-in journey metric reads (others read ``issues``)."""

KEYS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "channel_switch_matrix": ("from_channel", "to_channel"),
        "comp_rate_by_channel": ("channel", "switched_to_public"),
    }
)
"""Extra columns a journey metric is always split by."""

CENSORED: Final[Mapping[str, Callable[[Policy], pl.Expr]]] = MappingProxyType(
    {"cross_channel_fcr": _fcr_censored}
)
"""For rates whose ``n_open`` is not "still open": which rows are censored instead."""


def frame_of(metric: Metric) -> JourneyFrame:
    """The frame ``metric`` reads: ``issues``, ``cases`` or ``transitions``."""
    return FRAMES.get(metric.name, "issues")


def keys_of(metric: Metric) -> tuple[str, ...]:
    """The extra columns ``metric`` is split by (empty for most)."""
    return KEYS.get(metric.name, ())
