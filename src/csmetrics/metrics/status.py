"""Status-clock metrics: requester wait, agent wait and on-hold time."""

from __future__ import annotations

import polars as pl

from csmetrics.metrics._common import counted
from csmetrics.metrics.registry import Metric, builtin


def _status_clock(name: str, statuses: str) -> Metric:
    return builtin(
        Metric(
            name=name,
            unit="seconds",
            kind="duration",
            definition=(
                f"Time a case spent in {statuses} (per the policy's status sets). A case is "
                "new from creation to its first status change; each status holds until the "
                "next; time after a solve counts in no clock until a reopen; a case still "
                "open runs to as_of, so this is known for every case."
            ),
            docs=f"metrics/{name}",
            requires=frozenset({"status_changed"}),
            population=counted,
            value=lambda policy: pl.col(name),
            columns=(name, "merged"),
            business=f"{name}_business",
        )
    )


requester_wait_time = _status_clock("requester_wait_time", "new, open and on-hold")
agent_wait_time = _status_clock("agent_wait_time", "pending (waiting on the customer)")
on_hold_time = _status_clock("on_hold_time", "on-hold (waiting on a third party)")
