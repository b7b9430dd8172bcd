"""Routing metrics: escalation and transfer rates."""

from __future__ import annotations

import polars as pl

from csmetrics.metrics._common import counted
from csmetrics.metrics.registry import Metric, builtin

escalation_rate = builtin(
    Metric(
        name="escalation_rate",
        unit="ratio",
        kind="rate",
        definition="Share of cases escalated to a higher tier at least once.",
        docs="metrics/escalation_rate",
        requires=frozenset({"escalated"}),
        population=counted,
        value=lambda policy: pl.col("n_escalations") > 0,
        columns=("n_escalations", "merged"),
    )
)

transfer_rate = builtin(
    Metric(
        name="transfer_rate",
        unit="ratio",
        kind="rate",
        definition="Share of cases transferred to another team or queue at least once.",
        docs="metrics/transfer_rate",
        requires=frozenset({"transferred"}),
        population=counted,
        value=lambda policy: pl.col("n_transfers") > 0,
        columns=("n_transfers", "merged"),
    )
)
