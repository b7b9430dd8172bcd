"""Satisfaction: CSAT."""

from __future__ import annotations

import polars as pl

from csmetrics.metrics._common import counted
from csmetrics.metrics.registry import Metric, builtin

csat = builtin(
    Metric(
        name="csat",
        unit="score",
        kind="score",
        definition=(
            "Customer satisfaction: share of answered surveys scoring 4 or 5 on the 1-5 "
            "scale (the headline value); mean is the mean score. A case counts once, with "
            "its latest answer."
        ),
        docs="metrics/csat",
        requires=frozenset({"csat"}),
        population=lambda policy: counted(policy) & pl.col("csat_score").is_not_null(),
        value=lambda policy: pl.col("csat_score"),
        columns=("csat_score", "merged"),
    )
)
