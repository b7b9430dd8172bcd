"""Resolution metrics: first and full resolution time, reopens, one-touch resolution."""

from __future__ import annotations

import polars as pl

from csmetrics.metrics._common import counted, resolution_start
from csmetrics.metrics.registry import Metric, builtin

first_resolution_time = builtin(
    Metric(
        name="first_resolution_time",
        unit="seconds",
        kind="duration",
        definition=(
            "Time from the start of the resolution clock (creation by default) to the first "
            "time the case was solved or closed. Cases never solved are open."
        ),
        docs="metrics/first_resolution_time",
        requires=frozenset({"status_changed"}),
        population=counted,
        value=lambda policy: pl.col("first_resolution_time"),
        business="first_resolution_time_business",
        columns=("first_resolution_time", "merged"),
        censor_start=resolution_start,
    )
)

full_resolution_time = builtin(
    Metric(
        name="full_resolution_time",
        unit="seconds",
        kind="duration",
        definition=(
            "Time from the start of the resolution clock to the last solve, for cases solved "
            "or closed at as_of. A case reopened and not solved again is open."
        ),
        docs="metrics/full_resolution_time",
        requires=frozenset({"status_changed"}),
        population=counted,
        value=lambda policy: pl.col("full_resolution_time"),
        business="full_resolution_time_business",
        columns=("full_resolution_time", "merged"),
        censor_start=resolution_start,
    )
)

reopen_rate = builtin(
    Metric(
        name="reopen_rate",
        unit="ratio",
        kind="rate",
        definition=(
            "Share of cases solved at least once that were reopened (moved from solved or "
            "closed back to new, open, pending or on-hold) at least once."
        ),
        docs="metrics/reopen_rate",
        requires=frozenset({"status_changed"}),
        population=lambda policy: counted(policy) & pl.col("first_resolved_at").is_not_null(),
        value=lambda policy: pl.col("reopened"),
        columns=("first_resolved_at", "reopened", "merged"),
    )
)

one_touch_resolution_rate = builtin(
    Metric(
        name="one_touch_resolution_rate",
        unit="ratio",
        kind="rate",
        definition=(
            "Share of cases solved or closed at as_of that were solved with exactly one "
            "human agent reply (at most one under the zendesk preset) and never reopened."
        ),
        docs="metrics/one_touch_resolution_rate",
        requires=frozenset({"status_changed", "message:agent"}),
        population=lambda policy: counted(policy) & ~pl.col("is_open"),
        value=lambda policy: pl.col("one_touch"),
        columns=("one_touch", "is_open", "merged"),
    )
)
