"""Volume metrics: cases created, and the backlog of open cases."""

from __future__ import annotations

import polars as pl

from csmetrics.metrics._common import counted
from csmetrics.metrics.registry import Metric, builtin

volume = builtin(
    Metric(
        name="volume",
        unit="count",
        kind="count",
        definition="Number of cases (created in the period when a period is asked for).",
        docs="metrics/volume",
        population=counted,
        value=lambda policy: pl.lit(value=True),
        columns=("merged",),
    )
)

backlog = builtin(
    Metric(
        name="backlog",
        unit="count",
        kind="backlog",
        level="period",
        definition=(
            "Cases open at the end of each period: created by then and not (finally) "
            "resolved by then. A case solved and later reopened counts as open from its "
            "creation until its last solve. Without a period: cases open at as_of."
        ),
        docs="metrics/backlog",
        requires=frozenset({"status_changed"}),
        population=counted,
        value=lambda policy: pl.col("is_open"),
        columns=("created_at", "last_resolved_at", "is_open", "merged"),
    )
)
