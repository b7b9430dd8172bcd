"""Response metrics: first response, next reply, response and unanswered rates."""

from __future__ import annotations

import polars as pl

from csmetrics.metrics._common import counted, customer_cases
from csmetrics.metrics.registry import Metric, builtin

first_response_time = builtin(
    Metric(
        name="first_response_time",
        unit="seconds",
        kind="duration",
        definition=(
            "Time from the start of the first-response clock (case creation by default; the "
            "policy may start it at the customer's first message or the latest bot hand-off) "
            "to the first message by a human agent at or after it. Bot and system messages "
            "and internal notes never count. Agent-created cases are outside the population "
            "unless the policy says otherwise; merged cases always are. Unresolved cases with "
            "no reply yet are open (counted in n_open, censored at as_of in survival "
            "estimates). A case resolved without a human reply (a bot solved it) has no value "
            "and is not open either: nobody is waiting (survival censors it at its "
            "resolution)."
        ),
        docs="metrics/first_response_time",
        requires=frozenset({"message:agent"}),
        population=customer_cases,
        value=lambda policy: pl.col("first_response_time"),
        business="first_response_time_business",
        columns=(
            "first_response_time",
            "first_response_start_at",
            "agent_created",
            "merged",
            "last_resolved_at",
        ),
        censor_start=lambda policy: pl.col("first_response_start_at"),
    )
)

next_reply_time = builtin(
    Metric(
        name="next_reply_time",
        unit="seconds",
        kind="duration",
        level="pair",
        definition=(
            "For every customer message after the first reply that waits for an answer: "
            "time from the oldest unanswered customer message to the next human agent "
            "message. Measured per pair, so a case contributes as many values as it has "
            "pairs. Customer messages still unanswered at as_of make no pair."
        ),
        docs="metrics/next_reply_time",
        requires=frozenset({"message:agent", "message:customer"}),
        population=counted,
        value=lambda policy: pl.col("next_reply_time"),
        business="next_reply_time_business",
        columns=("merged",),
    )
)

response_rate = builtin(
    Metric(
        name="response_rate",
        unit="ratio",
        kind="rate",
        definition=(
            "Share of the first-response population (customer-created cases, not merged) "
            "that had a human agent reply by as_of."
        ),
        docs="metrics/response_rate",
        requires=frozenset({"message:agent"}),
        population=customer_cases,
        value=lambda policy: pl.col("first_response_at").is_not_null(),
        columns=("first_response_at", "agent_created", "merged"),
    )
)

unanswered_rate = builtin(
    Metric(
        name="unanswered_rate",
        unit="ratio",
        kind="rate",
        definition=(
            "Share of the first-response population with no human agent reply by as_of: "
            "1 - response_rate."
        ),
        docs="metrics/unanswered_rate",
        requires=frozenset({"message:agent"}),
        population=customer_cases,
        value=lambda policy: pl.col("first_response_at").is_null(),
        columns=("first_response_at", "agent_created", "merged"),
    )
)
