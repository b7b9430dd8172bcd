"""Contact-centre metrics: handle time and abandonment."""

from __future__ import annotations

import polars as pl

from csmetrics.metrics._common import counted
from csmetrics.metrics.registry import Metric, builtin

handle_time = builtin(
    Metric(
        name="handle_time",
        unit="seconds",
        kind="duration",
        definition=(
            "Agent working time on a case: the sum of handle_seconds (talk, hold and "
            "after-contact work) over its events, for cases that record it."
        ),
        docs="metrics/handle_time",
        requires=frozenset({"field:handle_seconds"}),
        population=lambda policy: counted(policy) & pl.col("handle_time").is_not_null(),
        value=lambda policy: pl.col("handle_time"),
        columns=("handle_time", "merged"),
    )
)

abandonment_rate = builtin(
    Metric(
        name="abandonment_rate",
        unit="ratio",
        kind="rate",
        definition=(
            "Share of voice cases in which the caller hung up (call_abandoned) before any "
            "agent answered."
        ),
        docs="metrics/abandonment_rate",
        requires=frozenset({"call_abandoned"}),
        population=lambda policy: counted(policy) & (pl.col("channel_kind") == "voice"),
        value=lambda policy: pl.col("abandoned"),
        columns=("channel_kind", "abandoned", "merged"),
    )
)
