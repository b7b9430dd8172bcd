"""Population expressions shared by the metric families."""

from __future__ import annotations

import polars as pl

from csmetrics.policy import Policy


def counted(policy: Policy) -> pl.Expr:
    """Cases that count at all: merged cases leave every population unless the policy keeps them."""
    if policy.include_merged:
        return pl.lit(value=True)
    return ~pl.col("merged")


def customer_cases(policy: Policy) -> pl.Expr:
    """The first-response population: counted cases, less agent-created ones when skipped."""
    population = counted(policy)
    if policy.agent_created == "skip":
        population = population & ~pl.col("agent_created")
    return population


def resolution_start(policy: Policy) -> pl.Expr:
    """When the resolution clocks start under ``policy``."""
    if policy.resolution_start == "created":
        return pl.col("created_at")
    return pl.coalesce("first_customer_message_at", "created_at")
