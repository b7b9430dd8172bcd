"""Trend spotting: volume spikes per topic and channel, systemic or one loud customer (DESIGN §1).

:func:`trends` counts cases per group (``topic``, ``channel`` …) and period, sets each count
against the group's own rolling baseline (the mean of the previous periods), flags spikes,
and says for each period how many distinct customers the volume came from and how much of it
the busiest customer made: a spike from 300 customers is a systemic problem, a spike that is
mostly one customer is one loud customer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Literal

import polars as pl

from csmetrics.cases import OnInvalid, case_table
from csmetrics.exceptions import PolicyError
from csmetrics.journeys import IdentityMap
from csmetrics.log import EventLog
from csmetrics.metrics._common import counted
from csmetrics.policy import Policy

__all__ = [
    "REACH_COLUMNS",
    "TREND_COLUMNS",
    "TREND_PERIODS",
    "TrendPeriod",
    "trends",
    "trends_from_cases",
]

TrendPeriod = Literal["hour", "day", "week", "month"]
TREND_PERIODS: Final[dict[str, str]] = {"hour": "1h", "day": "1d", "week": "1w", "month": "1mo"}

TREND_COLUMNS: Final[tuple[str, ...]] = (
    "period_start",
    "volume",
    "baseline",
    "baseline_std",
    "ratio",
    "z_score",
    "is_spike",
    "n_customers",
    "top_customer_volume",
    "top_customer_share",
    "cause",
)
"""Columns of :func:`trends` after the ``by`` columns."""

REACH_COLUMNS: Final[tuple[str, ...]] = ("reach", "top_customer_reach_share", "reach_cause")
"""Columns :func:`trends` adds with ``reach``."""


def trends_from_cases(
    cases: pl.LazyFrame,
    by: str | Sequence[str] = ("topic", "channel"),
    period: TrendPeriod = "day",
    *,
    baseline: int = 7,
    min_history: int = 3,
    factor: float = 2.0,
    min_volume: int = 10,
    loud_share: float = 0.5,
    reach: str | None = None,
    policy: Policy | None = None,
) -> pl.LazyFrame:
    """:func:`trends` from a case table already built."""
    policy = policy or Policy()
    keys = [by] if isinstance(by, str) else list(by)
    if period not in TREND_PERIODS:
        raise PolicyError(f"'period' must be in {tuple(TREND_PERIODS)} (got {period!r})")
    if baseline < 1 or not 1 <= min_history <= baseline:
        raise PolicyError(
            f"'baseline' must be ≥ 1 and 1 ≤ 'min_history' ≤ 'baseline' (got {baseline!r}, "
            f"{min_history!r})"
        )
    if factor <= 0 or min_volume < 0 or not 0 < loud_share <= 1:
        raise PolicyError(
            "'factor' must be > 0, 'min_volume' ≥ 0 and 0 < 'loud_share' ≤ 1 "
            f"(got {factor!r}, {min_volume!r}, {loud_share!r})"
        )
    available = cases.collect_schema().names()
    unknown = [c for c in [*keys, *([reach] if reach else [])] if c not in available]
    if unknown:
        raise PolicyError(
            f"'by' column(s) {unknown} are not in the case table; available: {available}"
        )
    every = TREND_PERIODS[period]
    col = pl.col

    def start(column: str) -> pl.Expr:
        return col(column).dt.convert_time_zone(policy.timezone).dt.truncate(every)

    population = cases.filter(counted(policy).fill_null(value=False))
    group = [*keys, "period_start"]
    counts = population.group_by(*keys, start("created_at").alias("period_start")).agg(
        pl.len().cast(pl.Int64).alias("volume"),
        col("customer_id").n_unique().cast(pl.Int64).alias("n_customers"),
        col("customer_id").unique_counts().max().cast(pl.Int64).alias("top_customer_volume"),
    )
    if reach is not None:
        # each case weighs its reach (followers …): a null reach counts as 0
        per_customer = population.group_by(
            *keys, start("created_at").alias("period_start"), "customer_id"
        ).agg(col(reach).cast(pl.Float64).fill_null(0.0).clip(lower_bound=0.0).sum().alias("_r"))
        reached = per_customer.group_by(group).agg(
            col("_r").sum().alias("reach"), col("_r").max().alias("_top_reach")
        )
        counts = counts.join(reached, on=group, how="left", nulls_equal=True)
    # every group from the log's first period (a new group's first cases can be a spike)
    span = pl.datetime_range(col("_first").first(), start("as_of").max(), every)
    first = population.with_columns(start("created_at").min().alias("_first"))
    # without keys: group by as_of (one value), so an empty log gives no rows, not a null range
    grid = first.group_by(keys or ["as_of"]).agg(span.alias("period_start"))
    grid = grid.explode("period_start") if keys else grid.drop("as_of").explode("period_start")
    joined = (
        grid.join(counts, on=group, how="left", nulls_equal=True)
        .with_columns(col("volume", "n_customers", "top_customer_volume").fill_null(0))
        .with_columns(*([col("reach", "_top_reach").fill_null(0.0)] if reach is not None else []))
        .sort(group, nulls_last=True)
    )
    history = col("volume").cast(pl.Float64).shift(1)
    mean = history.rolling_mean(window_size=baseline, min_samples=min_history)
    std = history.rolling_std(window_size=baseline, min_samples=min_history)
    if keys:
        mean, std = mean.over(keys), std.over(keys)
    spike = (
        col("baseline").is_not_null()
        & (col("volume") >= min_volume)
        & (col("volume") > col("baseline") * factor)
    )
    share = pl.when(col("volume") > 0).then(col("top_customer_volume") / col("volume"))
    return (
        joined.with_columns(mean.alias("baseline"), std.alias("baseline_std"))
        .with_columns(
            pl.when(col("baseline") > 0).then(col("volume") / col("baseline")).alias("ratio"),
            pl.when(col("baseline_std") > 0)
            .then((col("volume") - col("baseline")) / col("baseline_std"))
            .alias("z_score"),
            spike.alias("is_spike"),
            share.alias("top_customer_share"),
        )
        .with_columns(
            pl.when(col("is_spike"))
            .then(
                pl.when(col("top_customer_share") >= loud_share)
                .then(pl.lit("one_customer"))
                .otherwise(pl.lit("systemic"))
            )
            .alias("cause")
        )
        .with_columns(*_reach_columns(reach, loud_share))
        .select(*keys, *TREND_COLUMNS, *(REACH_COLUMNS if reach is not None else ()))
    )


def _reach_columns(reach: str | None, loud_share: float) -> list[pl.Expr]:
    """``top_customer_reach_share`` and ``reach_cause`` (spikes by reach, not by count)."""
    if reach is None:
        return []
    col = pl.col
    share = pl.when(col("reach") > 0).then(col("_top_reach") / col("reach"))
    return [
        share.alias("top_customer_reach_share"),
        pl.when(col("is_spike"))
        .then(
            pl.when(share >= loud_share).then(pl.lit("one_customer")).otherwise(pl.lit("systemic"))
        )
        .alias("reach_cause"),
    ]


def trends(
    log: EventLog | object,
    by: str | Sequence[str] = ("topic", "channel"),
    period: TrendPeriod = "day",
    *,
    baseline: int = 7,
    min_history: int = 3,
    factor: float = 2.0,
    min_volume: int = 10,
    loud_share: float = 0.5,
    reach: str | None = None,
    policy: Policy | None = None,
    identity: IdentityMap | None = None,
    on_invalid: OnInvalid = "raise",
) -> pl.LazyFrame:
    """Volume per group and period against its own baseline, with spikes and who made them.

    Parameters
    ----------
    log
        An :class:`~csmetrics.EventLog` or anything :meth:`EventLog.from_frame` reads.
    by
        Case-table columns to split by (default ``topic`` and ``channel``); ``()`` for all.
    period
        ``"hour"``, ``"day"`` (default), ``"week"`` (from Monday) or ``"month"``, cut in
        ``policy.timezone``; cases count in the period they were created in.
    baseline
        How many previous periods the baseline averages (7).
    min_history
        Periods needed before there is a baseline (3); earlier periods are never spikes.
    factor, min_volume
        A period spikes when its volume is at least ``min_volume`` and more than ``factor``
        times the baseline.
    loud_share
        A spike is put down to ``"one_customer"`` when the busiest customer made at least
        this share of its volume (0.5), else it is ``"systemic"``.
    reach
        A case column (a pass-through such as ``followers``) giving how many people each
        case reached: adds :data:`REACH_COLUMNS`, ``reach`` (summed), the busiest
        customer's share of it and ``reach_cause`` (``one_customer`` when one account
        holds at least ``loud_share`` of the spike's reach): one account with a huge
        following is one case by count but most of the reach.
    policy
        The case-table definitions, ``as_of`` and time zone; default ``Policy()``.
    identity
        An :class:`~csmetrics.journeys.IdentityMap`, so one person on several channels
        counts once among the distinct customers.
    on_invalid
        ``"raise"`` or ``"quarantine"`` invalid events.

    Returns
    -------
    pl.LazyFrame
        The ``by`` columns, then :data:`TREND_COLUMNS`: ``period_start``, ``volume``
        (cases created; merged cases only with ``include_merged``), ``baseline`` (mean of
        the previous ``baseline`` periods, zeros included), ``baseline_std``, ``ratio``
        (volume / baseline), ``z_score``, ``is_spike``, ``n_customers`` (distinct),
        ``top_customer_volume`` and ``top_customer_share`` (the busiest customer's cases
        and share), ``cause`` (``"systemic"`` or ``"one_customer"`` for spikes, else null).
        Every period from the log's first case to ``as_of`` is there for every group (zero
        when nothing came: a group whose first cases come in a burst is a spike), sorted by
        group and period.

    Raises
    ------
    PolicyError
        For a ``by`` column the case table lacks or an argument out of range.

    Examples
    --------
    >>> import csmetrics as csm
    >>> rows = [(f"2024-03-0{d}T10:00:00Z", "case_created", "customer",
    ...          {"case_id": d, "customer_id": d, "topic": "login"}) for d in range(1, 5)]
    >>> rows += [("2024-03-05T10:00:00Z", "case_created", "customer",
    ...           {"case_id": 10 + k, "customer_id": 10 + k, "topic": "login"}) for k in range(6)]
    >>> out = trends(csm.testing.log_from_rows(rows), by="topic", min_volume=5).collect()
    >>> out.select("volume", "baseline", "is_spike", "n_customers", "cause").rows()[-1]
    (6, 1.0, True, 6, 'systemic')

    Six login cases on 5 March against one a day before (baseline 1.0): a spike, from six
    different customers, so systemic.
    """
    policy = policy or Policy()
    keys = [by] if isinstance(by, str) else list(by)
    cases = case_table(
        log,
        policy=policy,
        columns=[
            "customer_id",
            "created_at",
            "merged",
            "as_of",
            *keys,
            *([reach] if reach else []),
        ],
        on_invalid=on_invalid,
    )
    if identity is not None:
        cases = identity.apply_to(cases)
    return trends_from_cases(
        cases,
        by,
        period,
        baseline=baseline,
        min_history=min_history,
        factor=factor,
        min_volume=min_volume,
        loud_share=loud_share,
        reach=reach,
        policy=policy,
    )
