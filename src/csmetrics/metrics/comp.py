"""Compensation metrics: comp rate and comp value."""

from __future__ import annotations

import polars as pl

from csmetrics.metrics._common import counted
from csmetrics.metrics.registry import Metric, builtin

comp_rate = builtin(
    Metric(
        name="comp_rate",
        unit="ratio",
        kind="rate",
        definition="Share of cases granted compensation (goodwill credit, refund …) at least once.",
        docs="metrics/comp_rate",
        requires=frozenset({"comp_granted"}),
        population=counted,
        value=lambda policy: pl.col("comp_count") > 0,
        columns=("comp_count", "merged"),
    )
)

comp_value = builtin(
    Metric(
        name="comp_value",
        unit="currency",
        kind="amount",
        definition=(
            "Compensation granted: the headline value is the total over comped cases; mean "
            "and quantiles are per comped case. One currency per log."
        ),
        docs="metrics/comp_value",
        requires=frozenset({"comp_granted", "field:comp_amount"}),
        population=lambda policy: counted(policy) & (pl.col("comp_count") > 0),
        value=lambda policy: pl.col("comp_total"),
        columns=("comp_count", "comp_total", "merged"),
    )
)
