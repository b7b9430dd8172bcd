"""The seeded omnichannel simulator behind :func:`csmetrics.datasets.simulate`.

The log is built in four vectorised steps, each a handful of Polars expressions over whole
tables (the only Python loops run over issue positions and event kinds, never over rows):

1. **Structure**: cases are grouped into customer issues (1-4 cases each) and issues into
   customers (1-4 issues each).
2. **Channels**: the first case of an issue draws its channel from the mix; a follow-up case
   stays on the channel or switches, mostly to a public social channel.
3. **Timelines**: each case draws its events as times relative to its own creation: bot,
   auto-reply, queue, first reply, exchanges, holds, transfers, escalations, solve, reopen,
   close, survey, comps, merges, abandoned calls.
4. **Placement**: follow-up cases start while the previous case of the issue is unresolved or
   within :data:`JOURNEY_WINDOW` of its last resolution; a customer's next issue starts more
   than :data:`JOURNEY_WINDOW` after the previous issue's last resolution. Whatever would start
   after the window becomes its own customer's issue. Events after the window are cut off, so
   the cases created near its end are still open.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Final

import polars as pl

from csmetrics.datasets._effects import (
    COMP_REQUEST,
    PHRASES,
    Effects,
    label_redirects,
    mark_redirects,
    plant_contagion,
    plant_delays,
    plant_pull,
    plant_spike,
)
from csmetrics.datasets._random import Random, stream_seed
from csmetrics.exceptions import PolicyError
from csmetrics.schema import (
    ACTOR_DTYPE,
    CANONICAL_COLUMNS,
    CHANNEL_KINDS,
    DEFAULT_CHANNELS,
    EVENT_TYPE_DTYPE,
    STATUS_DTYPE,
    TS_DTYPE,
)

__all__ = [
    "DEFAULT_CHANNEL_MIX",
    "EVENTS_PER_CASE",
    "JOURNEY_WINDOW",
    "TRUTH_COLUMNS",
    "simulate_frame",
]

DEFAULT_CHANNEL_MIX: Final[Mapping[str, float]] = {
    "email": 0.30,
    "phone": 0.22,
    "chat": 0.20,
    "web_form": 0.10,
    "whatsapp": 0.08,
    "twitter": 0.06,
    "facebook": 0.04,
}
"""Share of new issues per channel when ``channels`` is not given."""

JOURNEY_WINDOW: Final = dt.timedelta(days=7)
"""Cases of one issue start within this long after an earlier case's last resolution."""

EVENTS_PER_CASE: Final = 10.5
"""About how many events a case has with the default mix (for sizing benchmarks)."""

TRUTH_COLUMNS: Final[tuple[str, ...]] = (
    "sim_issue_id",
    "sim_switched",
    "sim_is_public",
    "sim_moved_to_private",
    "sim_queue_jump",
    "sim_planted",
)
"""Ground-truth columns added by ``truth=True`` (constant within a case)."""

SOCIAL_COMP_RATE: Final[Mapping[str, float]] = {"public": 0.14, "private": 0.06}
"""Planted chance of a comp on a social case an agent answers, by case visibility.

A *public* case starts with a public post (and may move to a DM later); a *private* one is a
DM conversation from its first message (DESIGN §2.4)."""

SOCIAL_FIRST_RESPONSE_MEDIAN: Final[Mapping[str, float]] = {"public": 900.0, "private": 2_880.0}
"""Planted median first response (seconds) on social cases, by case visibility.

The median of the log-logistic body; an occasional backlog factor (4 % of cases) lifts the
observed median by about 3 % on both sides, so the DM/public ratio (3.2) is recovered exactly
in expectation."""

HANDLE_MEDIAN: Final[Mapping[str, float]] = {
    "voice": 300.0,
    "email": 240.0,
    "chat": 90.0,
    "messaging": 120.0,
    "social": 150.0,
    "web": 240.0,
    "other": 240.0,
}
"""Median ``handle_seconds`` of an agent reply, by channel kind (talk time on calls)."""

_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_DAY: Final = 86_400.0
_HOUR: Final = 3_600.0
_WINDOW_S: Final = JOURNEY_WINDOW.total_seconds()
_MAX_ISSUE_CASES: Final = 4

# Channel kinds, as codes into CHANNEL_KINDS.
_VOICE, _EMAIL, _CHAT, _MESSAGING, _SOCIAL, _WEB, _OTHER = (
    CHANNEL_KINDS.index(k)
    for k in ("voice", "email", "chat", "messaging", "social", "web", "other")
)
_ASYNC: Final = (_EMAIL, _MESSAGING, _SOCIAL, _WEB, _OTHER)
_TICKET: Final = (_EMAIL, _WEB, _OTHER)

# Per-kind parameters, indexed by kind code (voice, email, chat, messaging, social, web, other).
# Times in seconds. Voice "first reply" is the queue wait, drawn separately.
_FRT_MEDIAN: Final = (45.0, 4 * _HOUR, 60.0, 600.0, 1_800.0, 5 * _HOUR, 3 * _HOUR)
_FRT_SIGMA: Final = (1.1, 1.2, 0.9, 1.1, 1.2, 1.2, 1.2)
_NEXT_MEDIAN: Final = (45.0, 3 * _HOUR, 40.0, 420.0, 1_500.0, 4 * _HOUR, 3 * _HOUR)
_CUSTOMER_MEDIAN: Final = (0.8 * _DAY, 5 * _HOUR, 30.0, 300.0, 1_200.0, 6 * _HOUR, 5 * _HOUR)
_P_MORE: Final = (0.12, 0.45, 0.6, 0.55, 0.5, 0.4, 0.4)
_P_BOT: Final = (0.0, 0.0, 0.55, 0.45, 0.0, 0.0, 0.0)
_P_AUTO_REPLY: Final = (0.0, 0.9, 0.0, 0.0, 0.0, 0.95, 0.5)
_P_OUTBOUND: Final = (0.05, 0.03, 0.0, 0.03, 0.0, 0.0, 0.0)
_P_HOLD: Final = (0.0, 0.07, 0.02, 0.05, 0.04, 0.07, 0.07)
_P_REOPEN: Final = (0.0, 0.07, 0.0, 0.05, 0.05, 0.07, 0.07)
_HANDLE_SIGMA: Final = (0.7, 0.8, 0.6, 0.7, 0.7, 0.8, 0.8)
_P_CSAT: Final = (0.15, 0.2, 0.3, 0.25, 0.12, 0.2, 0.2)
_CSAT_DELAY: Final = (60.0, 3 * _HOUR, 30.0, 600.0, _HOUR, 3 * _HOUR, 3 * _HOUR)

_ISSUE_CASES_WEIGHTS: Final = (0.86, 0.10, 0.03, 0.01)  # 1, 2, 3, 4 cases per issue
_CUSTOMER_ISSUES_WEIGHTS: Final = (0.70, 0.18, 0.08, 0.04)  # 1, 2, 3, 4 issues per customer

_TOPICS: Final = (
    "billing",
    "delivery",
    "account",
    "login",
    "product",
    "returns",
    "technical",
    "outage",
)
_TOPIC_WEIGHTS: Final = (0.24, 0.22, 0.10, 0.12, 0.14, 0.10, 0.08)  # outage: the spike only
_OUTAGE: Final = _TOPICS.index("outage")
_P_SPIKE: Final = 0.05  # share of customers' first issues caused by the outage

_PRIORITIES: Final = ("low", "normal", "high", "urgent")
_PRIORITY_WEIGHTS: Final = (0.10, 0.70, 0.16, 0.04)
_PRIORITY_UP: Final = (1, 2, 3, 2)  # the new priority after a priority change

_TEAMS: Final = (
    "phone",
    "email",
    "chat",
    "messaging",
    "social_care",
    "billing",
    "tech_support",
    "logistics",
    "tier2",
)
_BASE_TEAM: Final = (0, 1, 2, 3, 4, 1, 1)  # by kind
_TRANSFER_TEAM: Final = (5, 7, 6, 6, 6, 7, 6, 6)  # by topic
_TIER2: Final = _TEAMS.index("tier2")


def _table(values: Sequence[float] | Sequence[int], index: str, dtype: pl.DataType) -> pl.Expr:
    """``values[index]`` per row, as a Polars gather."""
    return pl.lit(pl.Series(values, dtype=dtype)).gather(pl.col(index))


def _by_kind(values: Sequence[float]) -> pl.Expr:
    return _table(values, "kind", pl.Float64())


def _kind_in(kinds: Sequence[int]) -> pl.Expr:
    return pl.col("kind").is_in(list(kinds))


# --------------------------------------------------------------------------------------------
# Arguments


def _check_arguments(
    n_cases: object, seed: object, start: object, days: object, truth: object
) -> None:
    if isinstance(n_cases, bool) or not isinstance(n_cases, int) or n_cases < 0:
        raise PolicyError(f"'n_cases' must be an integer >= 0 (got {n_cases!r})")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise PolicyError(f"'seed' must be an integer (got {seed!r})")
    if not isinstance(start, dt.datetime) or start.tzinfo is None:
        raise PolicyError(
            f"'start' must be a time-zone aware datetime, e.g. "
            f"datetime(2024, 1, 1, tzinfo=UTC) (got {start!r})"
        )
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise PolicyError(f"'days' must be an integer >= 1 (got {days!r})")
    if not isinstance(truth, bool):
        raise PolicyError(f"'truth' must be True or False (got {truth!r})")


def _channel_mix(channels: Mapping[str, float] | None) -> tuple[list[str], list[float], list[int]]:
    """Channel names (normalised), shares and kind codes."""
    mix = DEFAULT_CHANNEL_MIX if channels is None else channels
    if not isinstance(mix, Mapping) or not mix:
        raise PolicyError(
            "'channels' must be a non-empty mapping of channel name -> share of new issues, "
            f"e.g. {{'email': 0.6, 'chat': 0.4}} (got {channels!r})"
        )
    names: list[str] = []
    shares: list[float] = []
    for name, share in mix.items():
        if not isinstance(name, str) or not name.strip():
            raise PolicyError(f"'channels' keys must be non-empty channel names (got {name!r})")
        key = name.strip().lower()
        if key in names:
            raise PolicyError(f"'channels' names {key!r} twice (names are lower-cased)")
        if isinstance(share, bool) or not isinstance(share, int | float):
            raise PolicyError(f"'channels' share of {name!r} must be a number (got {share!r})")
        value = float(share)
        if not math.isfinite(value) or value < 0:
            raise PolicyError(f"'channels' share of {name!r} must be >= 0 (got {share!r})")
        names.append(key)
        shares.append(value)
    if sum(shares) <= 0:
        raise PolicyError(f"'channels' shares must not all be 0 (got {dict(mix)!r})")
    kinds = [CHANNEL_KINDS.index(DEFAULT_CHANNELS.get(name, "other")) for name in names]
    return names, shares, kinds


# --------------------------------------------------------------------------------------------
# 1. Structure


def _nested(n_parents: int, n_children: int, sizes: pl.Expr, parent: str, pos: str) -> pl.DataFrame:
    """``n_children`` rows: each parent repeated ``size`` times with its 1-based position."""
    parents = pl.DataFrame({parent: pl.int_range(n_parents, eager=True, dtype=pl.Int64)})
    return (
        parents.lazy()
        .with_columns(sizes.alias("__size"))
        .select(
            pl.col(parent).repeat_by("__size"),
            pl.int_ranges(1, pl.col("__size") + 1, dtype=pl.Int64).alias(pos),
        )
        .explode([parent, pos])
        .head(n_children)
        .collect()
    )


def _structure(n_cases: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Cases (``idx``, ``issue_idx``, ``pos``) and issues (``issue_idx``, ``customer_idx``)."""
    issue_rng = Random(seed, "issue_idx", "structure/issue")
    cases = _nested(
        n_cases,
        n_cases,
        issue_rng.choice("cases", _ISSUE_CASES_WEIGHTS) + 1,
        "issue_idx",
        "pos",
    ).with_columns(pl.int_range(n_cases, dtype=pl.Int64).alias("idx"))
    n_issues = int(cases["issue_idx"][-1]) + 1
    customer_rng = Random(seed, "customer_idx", "structure/customer")
    issue_customers = _nested(
        n_issues,
        n_issues,
        customer_rng.choice("issues", _CUSTOMER_ISSUES_WEIGHTS) + 1,
        "customer_idx",
        "customer_pos",
    )
    issues = issue_customers.with_columns(pl.int_range(n_issues, dtype=pl.Int64).alias("issue_idx"))
    return cases, issues


# --------------------------------------------------------------------------------------------
# 2. Channels


def _channels(
    cases: pl.DataFrame, rng: Random, shares: list[float], kinds: list[int]
) -> pl.DataFrame:
    """``channel`` (code), ``kind``, ``outbound``, ``abandoned`` per case."""
    switch_weights = [
        s * (4.0 if k == _SOCIAL else 1.0) for s, k in zip(shares, kinds, strict=True)
    ]
    pos = pl.col("pos")
    kind = _table(kinds, "channel", pl.UInt32())
    cases = cases.with_columns(
        (pl.col("issue_idx").shift(-1) == pl.col("issue_idx")).fill_null(False).alias("has_next"),
        rng.choice("channel", shares).alias("channel"),
        rng.choice("switch", switch_weights).alias("switch_1"),
        rng.choice("switch/2", switch_weights).alias("switch_2"),
        rng.uniform("outbound").alias("u_outbound"),
        (
            rng.log_logistic("wait", _FRT_MEDIAN[_VOICE], _FRT_SIGMA[_VOICE])
            * rng.pareto_factor("wait/tail", 0.03, 1.5, 30.0)
        ).alias("wait"),
    ).with_columns(
        rng.exponential(
            "patience", pl.when(pl.col("has_next")).then(120.0).otherwise(1_800.0)
        ).alias("patience")
    )

    def flags(frame: pl.DataFrame) -> pl.DataFrame:
        frame = frame.with_columns(kind.alias("kind"))
        outbound = (pos == 1) & (pl.col("u_outbound") < _by_kind(_P_OUTBOUND))
        return frame.with_columns(outbound.alias("outbound")).with_columns(
            (
                (pl.col("kind") == _VOICE)
                & ~pl.col("outbound")
                & (pl.col("patience") < pl.col("wait"))
            ).alias("abandoned")
        )

    cases = flags(cases)
    previous = pl.col("channel").shift(1)
    stay = rng.uniform("stay") < pl.when(pl.col("abandoned").shift(1)).then(0.8).otherwise(0.45)
    follow_up_channel = (
        pl.when(stay)
        .then(previous)
        .when(pl.col("switch_1") != previous)
        .then(pl.col("switch_1"))
        .otherwise(pl.col("switch_2"))
    )
    for k in range(2, _MAX_ISSUE_CASES + 1):
        cases = flags(
            cases.with_columns(
                pl.when(pos == k)
                .then(follow_up_channel)
                .otherwise(pl.col("channel"))
                .alias("channel")
            )
        )
    return cases.drop("switch_1", "switch_2", "u_outbound")


# --------------------------------------------------------------------------------------------
# 3. Timelines (seconds after the case's creation; null = the event does not happen)


def _timeline(
    cases: pl.DataFrame,
    rng: Random,
    n_agents: int,
    topic: pl.Expr,
    hard_factor: float = 1.0,
) -> pl.DataFrame:
    """Every case's events as columns of times (``t_*``, ``a_k``, ``c_k``) and payloads.

    ``hard_factor`` multiplies the first response of the cases that will be *hard* under
    the default difficulty rule (urgent at the end, or escalated), except on the phone.
    """
    kind = pl.col("kind")
    is_voice = kind == _VOICE
    is_social = kind == _SOCIAL
    is_async = _kind_in(_ASYNC)
    is_ticket = _kind_in(_TICKET)
    col = pl.col

    # Flags and the opening: bot, auto-reply, queue.
    cases = (
        cases.with_columns(
            topic.alias("topic"),
            (
                (col("pos") > 1)
                & (col("channel") == col("channel").shift(1))
                & is_ticket
                & rng.bernoulli("merged", 0.45)
            ).alias("merged"),
            (
                is_social
                & rng.bernoulli("public", pl.when(col("pos") > 1).then(0.85).otherwise(0.65))
            ).alias("public"),
            (is_social & rng.bernoulli("dm", 0.6)).alias("to_dm"),
            rng.choice("priority", _PRIORITY_WEIGHTS).alias("priority_0"),
        )
        .with_columns(
            (~col("outbound") & ~col("merged") & rng.bernoulli("bot", _by_kind(_P_BOT))).alias(
                "bot"
            ),
            pl.when(~col("outbound") & rng.bernoulli("auto", _by_kind(_P_AUTO_REPLY)))
            .then(2.0 + 58.0 * rng.uniform("auto/t"))
            .alias("t_auto"),
        )
        .with_columns(
            (col("bot") & rng.bernoulli("contained", 0.3)).alias("contained"),
            pl.when(col("bot")).then(1.0 + 5.0 * rng.uniform("bot/t")).alias("t_bot"),
        )
        .with_columns(
            pl.when(col("bot") & rng.bernoulli("bot/customer", 0.65))
            .then(col("t_bot") + rng.log_logistic("bot/customer/t", 25.0, 0.6))
            .alias("t_bot_customer"),
        )
        .with_columns(
            pl.coalesce("t_bot_customer", "t_bot").alias("bot_last"),
            (
                ~col("outbound")
                & ~col("merged")
                & ~col("abandoned")
                & ~col("bot")
                & ~is_voice
                & rng.bernoulli("unanswered", 0.004)
            ).alias("unanswered"),
        )
        .with_columns(
            pl.when(col("bot") & ~col("contained"))
            .then(col("bot_last") + rng.log_logistic("handoff", 45.0, 0.8))
            .alias("t_handoff"),
            pl.when(col("contained"))
            .then(col("bot_last") + rng.log_logistic("bot/solve", 60.0, 0.7))
            .alias("t_bot_solve"),
            (~col("merged") & ~col("abandoned") & ~col("unanswered") & ~col("contained")).alias(
                "agent"
            ),
            pl.when(col("abandoned")).then(col("patience")).alias("t_abandon"),
        )
        .with_columns(
            (col("agent") & is_async & ~col("outbound") & rng.bernoulli("stuck", 0.012)).alias(
                "stuck"
            ),
        )
    )

    # First reply, assignment, transfer, hold.
    frt_median = (
        pl.when(is_social & col("public"))
        .then(SOCIAL_FIRST_RESPONSE_MEDIAN["public"])
        .when(is_social)
        .then(SOCIAL_FIRST_RESPONSE_MEDIAN["private"])
        .otherwise(_by_kind(_FRT_MEDIAN))
    )
    frt = (
        pl.when(col("outbound"))
        .then(5.0 + 25.0 * rng.uniform("frt/outbound"))
        .when(is_voice)
        .then(col("wait"))
        .otherwise(
            rng.log_logistic("frt", frt_median, _by_kind(_FRT_SIGMA))
            * rng.pareto_factor("frt/tail", 0.04, 1.3, 40.0)
        )
    )
    if hard_factor != 1.0:
        # The same draws that decide escalation and the priority change below (a draw is a
        # hash of the case and its name): the case's final difficulty, known in advance.
        escalated = col("agent") & rng.bernoulli("escalate", 0.05)
        changed = col("agent") & rng.bernoulli("priority", 0.08)
        final_priority = (
            pl.when(changed)
            .then(_table(_PRIORITY_UP, "priority_0", pl.UInt32()))
            .otherwise(col("priority_0"))
        )
        hard = escalated | (final_priority == _PRIORITIES.index("urgent"))
        frt = pl.when(hard & ~is_voice & ~col("outbound")).then(frt * hard_factor).otherwise(frt)

    handle_median = _by_kind([HANDLE_MEDIAN[k] for k in CHANNEL_KINDS])

    def handle(name: str) -> pl.Expr:
        # Voice keeps its own draw name (talk time); every other kind draws work time.
        return (
            pl.when(is_voice)
            .then(rng.log_logistic(f"{name}/talk", handle_median, _by_kind(_HANDLE_SIGMA)))
            .otherwise(rng.log_logistic(f"{name}/work", handle_median, _by_kind(_HANDLE_SIGMA)))
            .round(0)
        )

    cases = (
        cases.with_columns(
            frt_median.alias("frt_median"),
            pl.when(col("agent")).then(frt).alias("frt"),
            pl.coalesce("t_handoff", pl.lit(0.0)).alias("queued_at"),
        )
        .with_columns(
            pl.when(col("agent")).then(col("queued_at") + col("frt")).alias("a_0"),
            handle("handle/0").alias("h_0"),
        )
        .with_columns(
            pl.when(col("outbound"))
            .then(0.0)
            .when(is_voice)
            .then(col("a_0"))
            .otherwise(col("queued_at") + col("frt") * (0.05 + 0.45 * rng.uniform("assign/t")))
            .alias("t_assign"),
            (
                col("agent")
                & ~col("stuck")
                & ~col("outbound")
                & rng.bernoulli("hold", _by_kind(_P_HOLD))
            ).alias("hold"),
        )
        .with_columns(
            pl.when(col("agent") & rng.bernoulli("transfer", 0.07))
            .then(
                pl.when(is_voice)  # during the call
                .then(col("a_0") + col("h_0") * rng.uniform("transfer/t"))
                .otherwise(
                    col("t_assign") + (col("a_0") - col("t_assign")) * rng.uniform("transfer/t")
                )
            )
            .alias("t_transfer"),
            pl.when(col("hold"))
            .then(col("a_0") + 10.0 + 50.0 * rng.uniform("hold/t"))
            .alias("t_hold"),
        )
        .with_columns(
            (col("t_hold") + rng.log_logistic("hold/length", 0.8 * _DAY, 0.8)).alias("t_unhold"),
        )
        .with_columns(
            (col("t_unhold") + 60.0 + 900.0 * rng.uniform("update/t")).alias("t_update"),
            handle("handle/update").alias("h_update"),
        )
        .with_columns(
            pl.coalesce("t_update", "a_0").alias("r_0"),
            (
                pl.coalesce("t_update", "a_0") + pl.when(is_voice).then(col("h_0")).otherwise(0.0)
            ).alias("e_0"),
            (col("agent") & ~col("stuck")).alias("x_0"),
        )
    )

    # Exchanges: the customer writes again, the agent answers (up to four times).
    next_median = _by_kind(_NEXT_MEDIAN) * (
        pl.when(is_social).then(pl.when(col("public")).then(0.6).otherwise(1.4)).otherwise(1.0)
    )
    for k in range(1, 5):
        cases = (
            cases.with_columns(
                (col(f"x_{k - 1}") & rng.bernoulli(f"more/{k}", _by_kind(_P_MORE))).alias(f"x_{k}"),
            )
            .with_columns(
                pl.when(col(f"x_{k}"))
                .then(
                    col(f"e_{k - 1}")
                    + rng.log_logistic(f"customer/{k}", _by_kind(_CUSTOMER_MEDIAN), 1.1)
                )
                .alias(f"c_{k}"),
                handle(f"handle/{k}").alias(f"h_{k}"),
            )
            .with_columns(
                (
                    col(f"c_{k}")
                    + pl.when(is_voice)
                    .then(rng.log_logistic(f"next/{k}", _FRT_MEDIAN[_VOICE], 1.1))
                    .otherwise(
                        rng.log_logistic(f"next/{k}", next_median, 1.1)
                        * rng.pareto_factor(f"next/{k}/tail", 0.03, 1.3, 30.0)
                    )
                ).alias(f"a_{k}"),
            )
            .with_columns(
                (col(f"a_{k}") + pl.when(is_voice).then(col(f"h_{k}")).otherwise(0.0)).alias(
                    f"e_{k}"
                ),
            )
        )

    # Resolution, reopen, close, survey; escalation, notes, priority, comp; merges.
    lag = (
        pl.when(is_voice)
        .then(rng.log_logistic("wrap", 40.0, 0.5))
        .when(kind == _CHAT)
        .then(5.0 + 60.0 * rng.uniform("lag/chat"))
        .otherwise(30.0 * rng.uniform("lag"))
    )
    cases = (
        cases.with_columns(
            pl.coalesce("a_4", "a_3", "a_2", "a_1", "r_0").alias("a_final"),
            pl.coalesce("e_4", "e_3", "e_2", "e_1", "e_0").alias("e_final"),
        )
        .with_columns(
            pl.when(col("x_0")).then(col("e_final") + lag).alias("t_solve_1"),
            pl.when(col("agent") & rng.bernoulli("escalate", 0.05))
            .then(col("a_0") + (col("e_final") - col("a_0")) * rng.uniform("escalate/t"))
            .alias("t_escalate"),
            pl.when(col("agent") & rng.bernoulli("note", 0.2))
            .then(col("t_assign") + (col("e_final") - col("t_assign")) * rng.uniform("note/t"))
            .alias("t_note"),
            pl.when(col("agent") & rng.bernoulli("priority", 0.08))
            .then(col("t_assign") + (col("e_final") - col("t_assign")) * rng.uniform("priority/t"))
            .alias("t_priority"),
            pl.when(col("merged"))
            .then(60.0 + rng.log_logistic("merge/t", 1_800.0, 1.2))
            .alias("t_merge"),
        )
        .with_columns(
            (col("x_0") & rng.bernoulli("reopen", _by_kind(_P_REOPEN))).alias("reopened"),
            pl.when(col("t_escalate").is_not_null())
            .then(col("t_escalate") + (col("e_final") - col("t_escalate")) * rng.uniform("note2/t"))
            .alias("t_note_2"),
        )
        .with_columns(
            pl.when(col("reopened"))
            .then(
                col("t_solve_1")
                + pl.min_horizontal(
                    rng.log_logistic("reopen/t", 0.7 * _DAY, 1.0), pl.lit(3.5 * _DAY)
                )
            )
            .alias("t_reopen"),
        )
        .with_columns(
            (col("t_reopen") + rng.log_logistic("reopen/reply", next_median, 1.0)).alias(
                "t_reopen_reply"
            ),
            handle("handle/reopen").alias("h_reopen"),
        )
        .with_columns(
            (col("t_reopen_reply") + 30.0 * rng.uniform("solve/2")).alias("t_solve_2"),
        )
        .with_columns(
            pl.coalesce("t_solve_2", "t_solve_1", "t_bot_solve").alias("t_solved"),
        )
        .with_columns(
            (
                col("t_solved")
                + pl.when(is_async).then(4.0 * _DAY).otherwise(10.0 + 110.0 * rng.uniform("close"))
            ).alias("t_close"),
            pl.when(col("t_solved").is_not_null() & rng.bernoulli("csat", _by_kind(_P_CSAT)))
            .then(col("t_solved") + rng.log_logistic("csat/t", _by_kind(_CSAT_DELAY), 1.2))
            .alias("t_csat"),
        )
    )
    comp_p = (
        pl.when(is_social & col("public"))
        .then(SOCIAL_COMP_RATE["public"])
        .when(is_social)
        .then(SOCIAL_COMP_RATE["private"])
        .when(col("topic").is_in([_TOPICS.index("delivery"), _OUTAGE]))
        .then(0.05)
        .otherwise(0.02)
    )
    slow = col("frt") > 3.0 * col("frt_median")
    mood = (
        4.1
        - 0.9 * col("reopened").cast(pl.Float64)
        - 0.5 * col("t_escalate").is_not_null().cast(pl.Float64)
        - 0.3 * col("t_transfer").is_not_null().cast(pl.Float64)
        - 0.7 * slow.fill_null(False).cast(pl.Float64)
        - 0.4 * col("contained").cast(pl.Float64)
    )
    resolutions = ("t_abandon", "t_merge", "t_solve_1", "t_solve_2", "t_bot_solve", "t_close")
    team_draw = rng.uniform("agent/1"), rng.uniform("agent/2"), rng.uniform("agent/3")
    base_team = _table(_BASE_TEAM, "kind", pl.UInt32())
    transfer_team = _table(_TRANSFER_TEAM, "topic", pl.UInt32())
    return cases.with_columns(
        pl.when(col("x_0") & rng.bernoulli("comp", comp_p)).then(col("a_final")).alias("t_comp"),
        pl.max_horizontal(pl.lit(1.0), rng.log_logistic("comp/amount", 15.0, 0.8))
        .round(2)
        .alias("comp_amount"),
        (mood + 1.1 * rng.logistic("csat/score")).round(0).clip(1.0, 5.0).alias("csat_score"),
        pl.min_horizontal(*resolutions).alias("first_resolved"),
        # the last resolution (DESIGN §3): closing a solved case is no new resolution, so the
        # auto-close counts only for a case closed without a solve
        pl.coalesce(pl.max_horizontal(*resolutions[:-1]), col("t_close")).alias("last_resolved"),
        _table(_PRIORITY_UP, "priority_0", pl.UInt32()).alias("priority_1"),
        (base_team * n_agents + (team_draw[0] * n_agents).floor().cast(pl.UInt32)).alias("agent_1"),
        (transfer_team * n_agents + (team_draw[1] * n_agents).floor().cast(pl.UInt32)).alias(
            "agent_2"
        ),
        (
            pl.lit(_TIER2, pl.UInt32) * n_agents + (team_draw[2] * n_agents).floor().cast(pl.UInt32)
        ).alias("agent_3"),
    )


# --------------------------------------------------------------------------------------------
# 4. Placement in time


class _Calendar:
    """Arrival times of new issues: a weekly and daily cycle, and one outage spike."""

    def __init__(self, seed: int, start: dt.datetime, days: int) -> None:
        self.days = days
        self.end_s = days * _DAY
        midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
        self.day_offset = (start - midnight).total_seconds()
        weekday = start.weekday()
        self.day_weights = [
            (0.55 if (weekday + d) % 7 == 5 else 0.45 if (weekday + d) % 7 == 6 else 1.0)
            for d in range(days)
        ]
        # Customers' later issues land later in the window: tilt their first issues earlier
        # so that the daily volume stays level.
        self.first_day_weights = [
            w * (1.2 - 0.4 * d / max(days - 1, 1)) for d, w in enumerate(self.day_weights)
        ]
        spike = stream_seed(seed, "outage")
        spike_day = spike % days
        spike_hour = 9.5 + 5.0 * ((spike >> 20) % 1000) / 1000.0
        self.spike_at = self._wrap_number(spike_day * _DAY + spike_hour * _HOUR)

    def _wrap_number(self, seconds: float) -> float:
        shifted = seconds - self.day_offset
        return shifted + self.end_s if shifted < 0 else shifted

    def regular(self, rng: Random, name: str, *, first: bool = False) -> pl.Expr:
        """Seconds after ``start``: busy weekdays, a daytime peak around 13:30 local time."""
        weights = self.first_day_weights if first else self.day_weights
        day = rng.choice(f"{name}/day", weights).cast(pl.Float64)
        peak = (13.5 * _HOUR + 3.2 * _HOUR * rng.normal(f"{name}/peak")).clip(0.0, _DAY - 1.0)
        time_of_day = (
            pl.when(rng.bernoulli(f"{name}/flat", 0.15))
            .then(rng.uniform(f"{name}/flat/t") * _DAY)
            .otherwise(peak)
        )
        shifted = day * _DAY + time_of_day - self.day_offset
        return pl.when(shifted < 0.0).then(shifted + self.end_s).otherwise(shifted)

    def outage(self, rng: Random, name: str) -> pl.Expr:
        """Seconds after ``start``: within hours after the outage began."""
        return pl.min_horizontal(
            pl.lit(self.spike_at) + rng.exponential(f"{name}/outage", 2.5 * _HOUR),
            pl.lit(self.end_s - 1.0),
        )


def _sum_of_earlier(value: str, pos: str, *, include_self: bool) -> pl.Expr:
    """Sum of ``value`` over the earlier rows of the group (``pos`` = 1-based position ≤ 4)."""
    col = pl.col
    total = col(value) if include_self else pl.lit(0.0)
    for k in range(1, _MAX_ISSUE_CASES):
        total = total + pl.when(col(pos) > k).then(col(value).shift(k)).otherwise(0.0)
    return total


def _first_of(value: str, pos: str) -> pl.Expr:
    """``value`` on the first row of the group (``pos`` = 1-based position ≤ 4)."""
    col = pl.col
    first = col(value)
    for k in range(1, _MAX_ISSUE_CASES):
        first = pl.when(col(pos) == k + 1).then(col(value).shift(k)).otherwise(first)
    return first


def _issue_topics(issues: pl.DataFrame, rng: Random) -> pl.DataFrame:
    """``outage`` (a customer's first issue caused by the spike) and ``topic`` per issue."""
    return issues.with_columns(
        ((pl.col("customer_pos") == 1) & rng.bernoulli("outage", _P_SPIKE)).alias("outage"),
    ).with_columns(
        pl.when(pl.col("outage"))
        .then(pl.lit(_OUTAGE, pl.UInt32))
        .otherwise(rng.choice("topic", _TOPIC_WEIGHTS))
        .alias("topic"),
    )


def _place(
    cases: pl.DataFrame, issues: pl.DataFrame, case_rng: Random, issue_rng: Random, cal: _Calendar
) -> pl.DataFrame:
    """Start every case: ``start`` (seconds after the window start), final ids, truth."""
    col = pl.col
    inf = float("inf")
    prev_first = col("first_resolved").shift(1)
    prev_last = col("last_resolved").shift(1)
    after_mean = pl.when(col("abandoned").shift(1)).then(1_200.0).otherwise(1.5 * _DAY)
    # Margins (minutes to hours) keep every start clear of the rule's boundaries.
    after = (
        prev_first
        + 600.0
        + pl.min_horizontal(
            case_rng.exponential("after", after_mean),
            prev_last + _WINDOW_S - 7_200.0 - prev_first - 600.0,
        )
    )
    delta = (
        pl.when(col("pos") == 1)
        .then(0.0)
        .when(col("redirect"))  # planted: sent here by the previous case's first reply
        .then(col("a_0").shift(1) + col("redirect_delay"))
        .when(prev_last.is_null())  # the previous case is never resolved
        .then(60.0 + case_rng.exponential("unresolved", _DAY))
        .when(case_rng.bernoulli("during", 0.55) & (prev_first > 300.0))
        .then(60.0 + (prev_first - 120.0) * case_rng.uniform("during/t"))
        .otherwise(after)
    )
    cases = (
        cases.with_columns(delta.alias("delta"))
        .with_columns(_sum_of_earlier("delta", "pos", include_self=True).alias("offset"))
        .with_columns(
            (col("offset") + col("last_resolved")).fill_null(inf).alias("resolved_in_issue")
        )
    )
    # The issue's last resolution, on its first case (an issue has at most four cases).
    same_issue = [
        col("issue_idx").shift(-k) == col("issue_idx") for k in range(1, _MAX_ISSUE_CASES)
    ]
    span = pl.max_horizontal(
        col("resolved_in_issue"),
        *(
            pl.when(same).then(col("resolved_in_issue").shift(-k))
            for k, same in enumerate(same_issue, start=1)
        ),
    )
    spans = cases.select(span.alias("span"), "pos").filter(col("pos") == 1)["span"]
    n_customers = int(issues["customer_idx"][-1]) + 1
    gap = issue_rng.exponential("gap", 5.0 * _DAY) + _HOUR
    first_arrival = (
        pl.when(col("outage"))
        .then(cal.outage(issue_rng, "arrival"))
        .otherwise(cal.regular(issue_rng, "arrival", first=True))
    )
    issues = (
        issues.with_columns(
            spans.alias("issue_span"),
            first_arrival.alias("first_arrival"),
            (spans + _WINDOW_S + gap).alias("step"),
        )
        .with_columns(
            (
                _first_of("first_arrival", "customer_pos")
                + _sum_of_earlier("step", "customer_pos", include_self=False)
            ).alias("sequenced")
        )
        .with_columns((col("sequenced") < cal.end_s).alias("fits"))
        .with_columns(
            pl.when(col("fits"))
            .then(col("sequenced"))
            .otherwise(cal.regular(issue_rng, "rehomed"))
            .alias("issue_start"),
            pl.when(col("fits"))
            .then(col("customer_idx"))
            .otherwise(n_customers + (~col("fits")).cast(pl.Int64).cum_sum() - 1)
            .alias("issue_customer"),
        )
    )
    n_customers_after = n_customers + int((~issues["fits"]).sum())
    n_issues = issues.height
    starts = issues["issue_start"]
    customers = issues["issue_customer"]
    planned = pl.lit(starts).gather(col("issue_idx")) + col("offset")
    rehomed = col("rehomed")
    return (
        cases.with_columns((planned >= cal.end_s).alias("rehomed"))
        .with_columns(
            pl.when(rehomed)
            .then(cal.regular(case_rng, "rehomed"))
            .otherwise(planned)
            .alias("start"),
            pl.when(rehomed)
            .then(n_issues + rehomed.cast(pl.Int64).cum_sum() - 1)
            .otherwise(col("issue_idx"))
            .alias("sim_issue_idx"),
            pl.when(rehomed)
            .then(n_customers_after + rehomed.cast(pl.Int64).cum_sum() - 1)
            .otherwise(pl.lit(customers).gather(col("issue_idx")))
            .alias("customer_idx"),
            pl.when(rehomed).then(1).otherwise(col("pos")).alias("pos"),
            (col("merged") & ~rehomed).alias("merged"),
        )
        .with_columns((col("start").rank("ordinal").cast(pl.Int64)).alias("case_id"))
        .with_columns(
            ((col("pos") > 1) & (col("channel") != col("channel").shift(1))).alias("switched"),
            pl.when(col("merged")).then(col("case_id").shift(1)).alias("merged_into"),
            _previous_unresolved().alias("previous_unresolved"),
        )
        .with_columns(
            # A queue jump reads case visibility (DESIGN §2.4, §7): a DM is private.
            (
                col("switched")
                & col("public")
                & ~col("public").shift(1).fill_null(value=False)
                & col("previous_unresolved")
            ).alias("queue_jump"),
        )
    )


def _previous_unresolved() -> pl.Expr:
    """The previous case of the issue is in an unresolved status when this case starts.

    Unresolved from creation to its first resolution, and again from a reopen to the second
    solve; a case never resolved (or resolved after the window) stays unresolved.
    """
    col = pl.col
    since = col("start") - col("start").shift(1)  # seconds after the previous case started
    first = col("first_resolved").shift(1)
    reopen, solve_2 = col("t_reopen").shift(1), col("t_solve_2").shift(1)
    return (col("pos") > 1) & (
        first.is_null()
        | (since < first)
        | ((since >= reopen) & (since < solve_2)).fill_null(value=False)
    )


# --------------------------------------------------------------------------------------------
# 5. Events


_SLOT_SCHEMA: Final = {
    "idx": pl.Int64(),
    "s": pl.Float64(),
    "event_type": EVENT_TYPE_DTYPE,
    "actor": ACTOR_DTYPE,
    "status": STATUS_DTYPE,
    "is_public": pl.Boolean(),
    "agent": pl.UInt32(),
    "priority": pl.UInt32(),
    "comp_amount": pl.Float64(),
    "csat_score": pl.Float64(),
    "handle_seconds": pl.Float64(),
    "merged_into": pl.Int64(),
    "redirect_to": pl.UInt32(),
    "text": pl.UInt32(),
}


def _agent_at(t: pl.Expr) -> pl.Expr:
    """The case's agent at relative time ``t``: after escalation, after transfer, or first."""
    col = pl.col
    return (
        pl.when(t >= col("t_escalate"))
        .then(col("agent_3"))
        .when(t >= col("t_transfer"))
        .then(col("agent_2"))
        .otherwise(col("agent_1"))
    )


def _slot(
    cases: pl.LazyFrame,
    time: str | pl.Expr,
    event_type: str,
    actor: str | pl.Expr,
    *,
    where: pl.Expr | None = None,
    status: str | None = None,
    agent: pl.Expr | bool = False,
    **extra: pl.Expr,
) -> pl.LazyFrame:
    """One kind of event: a row per case whose ``time`` is not null (and ``where`` holds)."""
    t = pl.col(time) if isinstance(time, str) else time
    keep = t.is_not_null() if where is None else t.is_not_null() & where
    if isinstance(actor, str):
        actor = pl.lit(actor)
    if agent is True:
        agent = _agent_at(t)
    columns: dict[str, pl.Expr] = {
        "idx": pl.col("idx"),
        "s": pl.col("start") + t,
        "event_type": pl.lit(event_type),
        "actor": actor,
        "status": pl.lit(status),
        "is_public": extra.pop("is_public", pl.lit(None)),
        "agent": pl.lit(None) if agent is False else agent,
        "priority": pl.when(t >= pl.col("t_priority"))
        .then(pl.col("priority_1"))
        .otherwise(pl.col("priority_0")),
    }
    columns.update(extra)
    return cases.filter(keep).select(
        (columns[name] if name in columns else pl.lit(None)).cast(dtype).alias(name)
        for name, dtype in _SLOT_SCHEMA.items()
    )


def _slots(cases: pl.LazyFrame) -> list[pl.LazyFrame]:
    """One frame per kind of event, all with the columns of ``_SLOT_SCHEMA``."""
    col = pl.col
    is_social = col("kind") == _SOCIAL
    is_async = _kind_in(_ASYNC)
    public_first = pl.when(is_social).then(col("public"))
    public_later = pl.when(is_social).then(col("public") & ~col("to_dm"))
    private = pl.when(is_social).then(pl.lit(False))
    agent = col("agent")
    frames = [
        _slot(
            cases,
            pl.lit(0.0),
            "case_created",
            pl.when(col("outbound")).then(pl.lit("agent")).otherwise(pl.lit("customer")),
            agent=pl.when(col("outbound")).then(col("agent_1")),
        ),
        _slot(
            cases,
            pl.lit(0.0),
            "message",
            "customer",
            where=~col("outbound"),
            is_public=public_first,
            text=pl.when(col("planted").str.contains("contagion"))
            .then(pl.lit(2 * len(_TOPICS)))
            .otherwise(col("topic") * 2 + (col("idx") % 2)),
        ),
        _slot(cases, "t_auto", "message", "system"),
        _slot(cases, "t_bot", "message", "bot"),
        _slot(cases, "t_bot_customer", "message", "customer"),
        _slot(cases, "t_handoff", "bot_handoff", "bot"),
        _slot(cases, "t_bot_solve", "message", "bot"),
        _slot(cases, "t_bot_solve", "status_changed", "bot", status="solved"),
        _slot(cases, "t_abandon", "call_abandoned", "customer"),
        _slot(cases, "t_abandon", "status_changed", "system", status="closed"),
        _slot(cases, "t_assign", "assigned", "system", where=agent, agent=True),
        _slot(cases, "t_assign", "status_changed", "system", where=agent, status="open"),
        _slot(cases, "t_transfer", "transferred", "agent", agent=True),
        _slot(
            cases,
            "a_0",
            "message",
            "agent",
            agent=True,
            is_public=public_first,
            handle_seconds=col("h_0"),
            redirect_to=col("redirect_to"),
        ),
        _slot(cases, "t_hold", "status_changed", "agent", status="on_hold", agent=True),
        _slot(cases, "t_unhold", "status_changed", "agent", status="open", agent=True),
        _slot(
            cases,
            "t_update",
            "message",
            "agent",
            agent=True,
            is_public=public_later,
            handle_seconds=col("h_update"),
        ),
        _slot(
            cases,
            "r_0",
            "status_changed",
            "agent",
            status="pending",
            agent=True,
            where=(col("x_1") | col("stuck")) & is_async,
        ),
    ]
    for k in range(1, 5):
        frames += [
            _slot(cases, f"c_{k}", "message", "customer", is_public=public_later),
            _slot(cases, f"c_{k}", "status_changed", "system", status="open", where=is_async),
            _slot(
                cases,
                f"a_{k}",
                "message",
                "agent",
                agent=True,
                is_public=public_later,
                handle_seconds=col(f"h_{k}"),
            ),
        ]
        if k < 4:
            frames.append(
                _slot(
                    cases,
                    f"a_{k}",
                    "status_changed",
                    "agent",
                    status="pending",
                    agent=True,
                    where=col(f"x_{k + 1}") & is_async,
                )
            )
    frames += [
        _slot(cases, "t_escalate", "escalated", "agent", agent=True),
        _slot(cases, "t_note", "note", "agent", agent=True),
        _slot(cases, "t_note_2", "note", "agent", agent=True),
        _slot(cases, "t_priority", "priority_changed", "agent", agent=True),
        _slot(cases, "t_comp", "comp_granted", "agent", agent=True, comp_amount=col("comp_amount")),
        _slot(cases, "t_solve_1", "status_changed", "agent", status="solved", agent=True),
        _slot(cases, "t_reopen", "message", "customer", is_public=private),
        _slot(cases, "t_reopen", "status_changed", "system", status="open"),
        _slot(
            cases,
            "t_reopen_reply",
            "message",
            "agent",
            agent=True,
            is_public=private,
            handle_seconds=col("h_reopen"),
        ),
        _slot(cases, "t_solve_2", "status_changed", "agent", status="solved", agent=True),
        _slot(cases, "t_close", "status_changed", "system", status="closed"),
        _slot(cases, "t_csat", "csat", "customer", csat_score=col("csat_score")),
        _slot(
            cases,
            "t_merge",
            "merged",
            "agent",
            agent=True,
            where=col("merged"),
            merged_into=col("merged_into"),
        ),
        _slot(cases, "t_merge", "status_changed", "agent", status="closed", agent=True),
    ]
    return frames


def _empty(truth: bool) -> pl.DataFrame:
    schema: dict[str, pl.DataType] = {
        "event_id": pl.Int64(),
        "case_id": pl.Int64(),
        "customer_id": pl.Int64(),
        "channel": pl.String(),
        "ts": TS_DTYPE,
        "event_type": EVENT_TYPE_DTYPE,
        "actor": ACTOR_DTYPE,
        "is_public": pl.Boolean(),
        "status": STATUS_DTYPE,
        "agent_id": pl.String(),
        "team": pl.String(),
        "priority": pl.String(),
        "topic": pl.String(),
        "comp_amount": pl.Float64(),
        "csat_score": pl.Float64(),
        "handle_seconds": pl.Float64(),
        "merged_into": pl.Int64(),
    }
    if truth:
        schema |= {
            "sim_issue_id": pl.Int64(),
            "sim_switched": pl.Boolean(),
            "sim_is_public": pl.Boolean(),
            "sim_moved_to_private": pl.Boolean(),
            "sim_queue_jump": pl.Boolean(),
            "sim_planted": pl.String(),
        }
    return pl.DataFrame(schema=schema)


# --------------------------------------------------------------------------------------------
# The public function


def simulate_frame(
    n_cases: int = 10_000,
    *,
    seed: int = 0,
    start: dt.datetime = dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    days: int = 28,
    channels: Mapping[str, float] | None = None,
    truth: bool = False,
    effects: Effects | None = None,
) -> pl.DataFrame:
    """A realistic omnichannel event log in the canonical schema, as a DataFrame.

    :func:`csmetrics.datasets.simulate` returns the same rows as an
    :class:`~csmetrics.EventLog` and says what they hold.

    Parameters
    ----------
    n_cases
        Number of cases (about :data:`EVENTS_PER_CASE` events each with the default mix).
    seed
        Seed of every random draw: the same arguments give the same frame (within one
        Polars version), whatever the thread count.
    start
        First instant of the window (time-zone aware).
    days
        Length of the window: cases start in ``[start, start + days)``; later events are cut.
    channels
        Channel name -> share of new issues (default :data:`DEFAULT_CHANNEL_MIX`).
    truth
        Add the ground truth :data:`TRUTH_COLUMNS` (see :func:`csmetrics.datasets.simulate`).
    effects
        Effects to plant with a known size (:class:`~csmetrics.datasets.Effects`); none by
        default.

    Returns
    -------
    polars.DataFrame
        The canonical columns in canonical order and dtypes (``event_id`` unique, in time
        order), then the truth columns when asked for.

    Raises
    ------
    PolicyError
        An argument is out of range.

    Examples
    --------
    >>> frame = simulate_frame(200, seed=7, truth=True)
    >>> frame.columns[:6]
    ['event_id', 'case_id', 'customer_id', 'channel', 'ts', 'event_type']
    >>> frame["case_id"].n_unique(), frame["event_id"].is_unique().all()
    (200, True)
    >>> frame.select("case_id", "sim_issue_id").unique().group_by("case_id").len()["len"].max()
    1
    """
    _check_arguments(n_cases, seed, start, days, truth)
    if effects is not None and not isinstance(effects, Effects):
        raise PolicyError(f"'effects' must be a csmetrics.datasets.Effects (got {effects!r})")
    effects = effects or Effects()
    names, shares, kinds = _channel_mix(channels)
    if n_cases == 0:
        return _empty(truth)
    n_agents = max(3, math.ceil(n_cases / 4_000))
    cal = _Calendar(seed, start, days)
    case_rng = Random(seed, "idx", "case")
    issue_rng = Random(seed, "issue_idx", "issue")

    cases, issues = _structure(n_cases, seed)
    issues = _issue_topics(issues, issue_rng)
    cases = _channels(cases, case_rng, shares, kinds)
    topic = pl.lit(issues["topic"]).gather(pl.col("issue_idx"))
    cases = _timeline(cases, case_rng, n_agents, topic, effects.hard_factor)
    cases = mark_redirects(cases, effects, seed)
    cases = _place(cases, issues, case_rng, issue_rng, cal)
    cases = plant_contagion(cases, effects, seed, cal.end_s)
    cases = plant_pull(
        cases,
        effects,
        seed,
        surge_at=cal.spike_at,
        social_kind=_SOCIAL,
        email_team=_TEAMS.index("email"),
        n_agents=n_agents,
    )
    social = [code for code, kind in enumerate(kinds) if kind == _SOCIAL]
    cases = plant_spike(
        cases,
        effects,
        seed,
        channel=social[0] if social else None,
        topic=_TOPICS.index(effects.spike_topic),
        end_s=cal.end_s,
    )
    cases = label_redirects(cases)
    cases = plant_delays(
        cases, effects, spike_channel=social[0] if social else None, end_s=cal.end_s
    )

    start_us = (start - _EPOCH) // dt.timedelta(microseconds=1)
    events = (
        pl.concat(_slots(cases.lazy()), how="vertical")
        .filter(pl.col("s") < cal.end_s)
        .with_columns(((pl.col("s") * 1e6).round(0).cast(pl.Int64) + start_us).alias("ts"))
        .drop("s")
        # Time order, then the canonical tie order (event type, actor), as one Int64 key;
        # the sort is stable, so equal keys keep the (deterministic) order of the slots.
        .sort(
            pl.col("ts") * 64
            + pl.col("event_type").to_physical().cast(pl.Int64) * 4
            + pl.col("actor").to_physical().cast(pl.Int64),
            maintain_order=True,
        )
        .collect()
    )

    per_case = cases.select(
        pl.col("case_id"),
        (pl.col("customer_idx") + 1).alias("customer_id"),
        pl.lit(pl.Series(names, dtype=pl.String)).gather(pl.col("channel")).alias("channel"),
        pl.lit(pl.Series(_TOPICS, dtype=pl.String)).gather(pl.col("topic")).alias("topic"),
        (pl.col("sim_issue_idx") + 1).alias("sim_issue_id"),
        pl.col("switched").alias("sim_switched"),
        pl.col("public").alias("sim_is_public"),
        pl.col("queue_jump").alias("sim_queue_jump"),
        pl.col("planted").alias("sim_planted"),
    )
    agent_names = pl.Series(
        [f"A{i + 1:05d}" for i in range(len(_TEAMS) * n_agents)], dtype=pl.String
    )
    idx = pl.col("idx")
    columns: list[pl.Expr] = [
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("event_id"),
        pl.lit(per_case["case_id"]).gather(idx).alias("case_id"),
        pl.lit(per_case["customer_id"]).gather(idx).alias("customer_id"),
        pl.lit(per_case["channel"]).gather(idx).alias("channel"),
        pl.col("ts").cast(TS_DTYPE),
        pl.col("event_type"),
        pl.col("actor"),
        pl.col("is_public"),
        pl.col("status"),
        pl.lit(agent_names).gather(pl.col("agent")).alias("agent_id"),
        pl.lit(pl.Series(_TEAMS, dtype=pl.String))
        .gather(pl.col("agent") // n_agents)
        .alias("team"),
        pl.lit(pl.Series(_PRIORITIES, dtype=pl.String))
        .gather(pl.col("priority"))
        .alias("priority"),
        pl.lit(per_case["topic"]).gather(idx).alias("topic"),
        pl.col("comp_amount"),
        pl.col("csat_score"),
        pl.col("handle_seconds"),
        pl.col("merged_into"),
    ]
    if effects.text:  # what the customer wrote first, as an adapter would keep it
        phrases = [*(PHRASES[t][v] for t in _TOPICS for v in (0, 1)), COMP_REQUEST]
        columns.append(
            pl.lit(pl.Series(phrases, dtype=pl.String)).gather(pl.col("text")).alias("text")
        )
    if effects.redirect_share > 0:  # the macro or tag an adapter would map (a pass-through)
        columns.append(
            pl.lit(pl.Series(names, dtype=pl.String))
            .gather(pl.col("redirect_to"))
            .alias("redirected_to")
        )
    if truth:
        # A public case moved to private when any of its (emitted) messages is private.
        private_message = (pl.col("event_type") == "message") & ~pl.col("is_public")
        moved = pl.lit(per_case["sim_is_public"]).gather(idx) & private_message.fill_null(
            value=False
        ).any().over("idx")
        columns += [
            pl.lit(per_case["sim_issue_id"]).gather(idx).alias("sim_issue_id"),
            pl.lit(per_case["sim_switched"]).gather(idx).alias("sim_switched"),
            pl.lit(per_case["sim_is_public"]).gather(idx).alias("sim_is_public"),
            moved.alias("sim_moved_to_private"),
            pl.lit(per_case["sim_queue_jump"]).gather(idx).alias("sim_queue_jump"),
            pl.lit(per_case["sim_planted"]).gather(idx).alias("sim_planted"),
        ]
    frame = events.lazy().select(columns).collect()
    assert tuple(frame.columns[: len(CANONICAL_COLUMNS)]) == CANONICAL_COLUMNS
    return frame
