"""csmetrics-acme: an example csmetrics plugin (one adapter, one metric).

Nothing here inherits from csmetrics: an adapter is any callable
``adapter(source, *, tz=None, **options) -> csmetrics.EventLog`` and a metric any frozen
object with the members of ``csmetrics.plugins.Metric``. The entry points in
``pyproject.toml`` name them; csmetrics imports this module only when one is asked for.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from typing import Any, Final, Literal

import polars as pl

import csmetrics as csm
from csmetrics.policy import Policy

__all__ = ["adapter", "plugin_api", "quick_reply_rate"]

plugin_api: Final = 1
"""The csmetrics plugin API this package was written for (csmetrics.plugins.PLUGIN_API)."""

ACTIONS: Final[dict[str, tuple[str, str]]] = {
    "opened": ("case_created", "customer"),
    "customer_wrote": ("message", "customer"),
    "agent_wrote": ("message", "agent"),
    "bot_wrote": ("message", "bot"),
    "internal_note": ("note", "agent"),
    "closed": ("status_changed", "agent"),
}
"""ACME's ``action`` column → (event type, actor). Other actions are rejected, with a reason."""


def read_acme(source: Any, *, tz: str | None = None, channel: str = "email") -> csm.EventLog:
    """Read an ACME Helpdesk CSV export (``ticket,customer,at,action``) into an event log.

    ``at`` is an ISO 8601 time stamp; naive ones need ``tz``. Unknown actions are not dropped:
    they reach ``log.rejected`` with the reason ``unknown_event_type``.
    """
    path = os.fspath(source)
    try:
        raw = pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise csm.AdapterError(f"{path}: cannot read the ACME export: {exc}") from exc
    missing = {"ticket", "customer", "at", "action"} - set(raw.columns)
    if missing:
        raise csm.AdapterError(
            f"{path}: missing column(s) {sorted(missing)}; an ACME export has "
            "ticket,customer,at,action"
        )
    action = pl.col("action").str.strip_chars().str.to_lowercase()
    event_type = action.replace_strict(
        {k: v[0] for k, v in ACTIONS.items()}, default=action, return_dtype=pl.String
    )
    actor = action.replace_strict(
        {k: v[1] for k, v in ACTIONS.items()}, default="agent", return_dtype=pl.String
    )
    frame = raw.select(
        pl.col("ticket").alias("case_id"),
        pl.col("customer").alias("customer_id"),
        pl.lit(channel).alias("channel"),
        pl.col("at").alias("ts"),
        event_type.alias("event_type"),
        actor.alias("actor"),
        pl.when(action == "closed").then(pl.lit("solved")).alias("status"),
    )
    return csm.EventLog.from_frame(frame, tz=tz, source=path)


@dataclasses.dataclass(frozen=True)
class Adapter:
    """The adapter object: a name, a description and ``__call__``."""

    name: str = "acme"
    description: str = "ACME Helpdesk CSV exports (ticket,customer,at,action)."

    def __call__(self, source: Any, *, tz: str | None = None, **options: Any) -> csm.EventLog:
        return read_acme(source, tz=tz, **options)


adapter: Final = Adapter()

_QUICK: Final = dt.timedelta(minutes=15)


@dataclasses.dataclass(frozen=True)
class QuickReplyRate:
    """Share of customer-created cases whose first human reply came within 15 minutes."""

    name: str = "acme_quick_reply_rate"
    unit: Literal["ratio"] = "ratio"
    kind: Literal["rate"] = "rate"
    level: Literal["case"] = "case"
    definition: str = (
        "Share of customer-created, unmerged cases whose first response (first human agent "
        "message after the clock start) came within 15 minutes. Cases not answered yet count "
        "as not quick."
    )
    docs: str = "https://example.com/acme/metrics#quick-reply-rate"
    columns: tuple[str, ...] = ("agent_created", "merged", "first_response_time")

    def population(self, policy: Policy) -> pl.Expr:
        return ~pl.col("agent_created") & ~pl.col("merged")

    def value(self, policy: Policy) -> pl.Expr:
        return (pl.col("first_response_time") <= _QUICK).fill_null(value=False)


quick_reply_rate: Final = QuickReplyRate()
