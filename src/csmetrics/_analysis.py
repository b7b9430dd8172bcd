"""Shared pieces of the cross-channel analyses (contagion, cost, occupancy …).

* :func:`analysis_events`: the log's valid events up to ``as_of``, with every optional
  column present;
* :func:`case_starts`: one row per case with its creation and its visibility (DESIGN §2.4);
* :func:`count_between`: how many times of a sorted series fall in ``(a, b]``, by a key,
  with as-of joins instead of cross joins;
* :func:`bootstrap`: percentile bootstrap intervals of a statistic of sums, drawn with
  seeded hashes (no numpy, no Python loop per row or per replicate).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final, Literal

import polars as pl

from csmetrics.exceptions import PolicyError
from csmetrics.log import EventLog, as_event_log
from csmetrics.policy import Policy
from csmetrics.schema import is_public_expr, with_optional_columns

__all__ = ["analysis_events", "bootstrap", "case_starts", "count_between", "seconds"]

OnInvalid = Literal["raise", "quarantine"]
_TWO_53: Final = 2.0**53
_US: Final = pl.Datetime("us", "UTC")


def seconds(expr: pl.Expr) -> pl.Expr:
    """A duration in (fractional) seconds."""
    return expr.dt.total_microseconds().cast(pl.Float64) / 1e6


def analysis_events(
    log: EventLog | object, policy: Policy, on_invalid: OnInvalid = "raise"
) -> pl.LazyFrame:
    """The valid events (rules checked or quarantined), up to ``policy.as_of`` when set."""
    if on_invalid not in ("raise", "quarantine"):
        raise PolicyError(f"'on_invalid' must be in ('raise', 'quarantine') (got {on_invalid!r})")
    events = with_optional_columns(as_event_log(log).checked(on_invalid).frame)
    if policy.as_of is not None:
        events = events.filter(pl.col("ts") <= pl.lit(policy.as_of).cast(_US))
    return events


def case_starts(events: pl.LazyFrame, policy: Policy) -> pl.LazyFrame:
    """Per case: ``customer_id``, ``channel``, ``created_at`` and ``is_public``.

    ``created_at`` is the first ``case_created`` event, else the first event (DESIGN §2.2);
    ``is_public`` is the visibility of the first customer message, else of the first event
    (an event's own ``is_public``, or its channel's default: DESIGN §2.4). Events at the same
    instant are taken in ``event_id`` order when there is one.
    """
    col = pl.col
    names = events.collect_schema().names()
    order = [col("ts"), col("event_id")] if "event_id" in names else [col("ts")]
    customer_message = (col("event_type") == "message") & (col("actor") == "customer")
    public = is_public_expr(policy.channels)
    return events.group_by("case_id").agg(
        col("customer_id").sort_by(order).first(),
        col("channel").sort_by(order).first(),
        pl.coalesce(
            col("ts").filter(col("event_type") == "case_created").min(), col("ts").min()
        ).alias("created_at"),
        pl.coalesce(
            public.filter(customer_message)
            .sort_by([o.filter(customer_message) for o in order])
            .first(),
            public.sort_by(order).first(),
        ).alias("is_public"),
    )


def count_between(
    points: pl.LazyFrame,
    queries: pl.LazyFrame,
    *,
    at: str,
    start: str,
    end: str,
    by: Sequence[str] = (),
    name: str,
) -> pl.LazyFrame:
    """``queries`` with ``name``: how many ``points[at]`` lie in ``(start, end]`` per ``by``.

    Two backward as-of joins on the running count of the sorted points; ``queries`` must
    have ``start`` and ``end`` (datetimes) and the ``by`` columns. Order is kept.
    """
    keys = list(by)
    running = (
        points.select(*keys, pl.col(at).alias("_at"))
        .sort([*keys, "_at"])
        .with_columns(
            (pl.int_range(pl.len(), dtype=pl.Int64) + 1).over(keys).alias("_n")
            if keys
            else (pl.int_range(pl.len(), dtype=pl.Int64) + 1).alias("_n")
        )
        # the last row of a run of equal times holds the count up to that time
        .unique([*keys, "_at"], keep="last")
        .sort("_at")
    )
    indexed = queries.with_row_index("_q")

    def upto(column: str, alias: str) -> pl.LazyFrame:
        return (
            indexed.select("_q", *keys, pl.col(column).alias("_at"))
            .sort("_at")
            .join_asof(
                running, on="_at", by=keys or None, strategy="backward", check_sortedness=False
            )
            .select("_q", pl.col("_n").fill_null(0).alias(alias))
        )

    return (
        indexed.join(upto(end, "_hi"), on="_q", how="left")
        .join(upto(start, "_lo"), on="_q", how="left")
        .sort("_q")
        .with_columns((pl.col("_hi") - pl.col("_lo")).alias(name))
        .drop("_q", "_hi", "_lo")
    )


def bootstrap(
    units: pl.LazyFrame,
    *,
    group: str,
    sums: Sequence[str],
    statistic: Callable[[dict[str, pl.Expr]], pl.Expr],
    n_boot: int,
    level: float,
    seed: int,
) -> pl.LazyFrame:
    """Percentile bootstrap interval of ``statistic`` per ``group``, resampling the units.

    ``units`` has one row per unit (an event, an issue) with ``group`` and the ``sums``
    columns. Each replicate draws as many units as the group has, with replacement, from
    seeded hashes; ``statistic`` maps the replicate's sums (and ``"n"``, the unit count) to
    the statistic. Returns ``group``, ``ci_low``, ``ci_high``.
    """
    if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 1:
        raise PolicyError(f"'n_boot' must be an integer >= 1 (got {n_boot!r})")
    if not 0 < level < 1:
        raise PolicyError(f"'level' must be between 0 and 1, e.g. 0.95 (got {level!r})")
    col = pl.col
    indexed = units.with_columns(
        pl.int_range(pl.len(), dtype=pl.Int64).over(group).alias("_j"),
    )
    sizes = indexed.group_by(group).agg(pl.len().cast(pl.Int64).alias("_n"))
    hashed = pl.struct(col(group), col("_draw")).hash(seed & 0xFFFFFFFFFFFFFFFF)
    u = ((hashed // 2048).cast(pl.Float64) + 0.5) / _TWO_53
    draws = (
        sizes.with_columns(pl.int_ranges(0, col("_n") * n_boot, dtype=pl.Int64).alias("_draw"))
        .explode("_draw")
        .with_columns(
            (col("_draw") // col("_n")).alias("_rep"),
            (u * col("_n").cast(pl.Float64)).floor().cast(pl.Int64).alias("_j"),
        )
        .join(indexed, on=[group, "_j"], how="left")
    )
    replicate = draws.group_by(group, "_rep").agg(
        *(col(name).sum() for name in sums), pl.len().alias("n")
    )
    values = {name: col(name) for name in [*sums, "n"]}
    tail = (1.0 - level) / 2.0
    return (
        replicate.with_columns(statistic(values).alias("_stat"))
        .group_by(group)
        .agg(
            col("_stat").quantile(tail, interpolation="linear").alias("ci_low"),
            col("_stat").quantile(1.0 - tail, interpolation="linear").alias("ci_high"),
        )
    )


def median_difference(
    units: pl.LazyFrame, *, group: str, arm: str, value: str, level: float
) -> pl.LazyFrame:
    """median(value | arm) − median(value | not arm) per ``group``, with a normal interval.

    The standard error of each median is distribution-free (McKean and Schrader, 1984): the
    spread of the order statistics at ranks n/2 ∓ z·√n/2, divided by 2z. The interval of the
    difference is ± z·√(se₁² + se₂²). One sort per group: no resampling, so it scales like a
    group-by. Returns ``group``, ``median_yes``, ``median_no``, ``difference``,
    ``diff_ci_low``, ``diff_ci_high`` (null where an arm has fewer than 2 values).
    """
    from statistics import NormalDist

    if not 0 < level < 1:
        raise PolicyError(f"'level' must be between 0 and 1, e.g. 0.95 (got {level!r})")
    z = NormalDist().inv_cdf(0.5 + level / 2.0)
    col = pl.col
    n = pl.len().cast(pl.Float64)
    half = z * n.sqrt() / 2.0
    lo = (n / 2.0 - half).floor().clip(0.0, n - 1.0).cast(pl.UInt32)
    hi = (n / 2.0 + half).ceil().clip(0.0, n - 1.0).cast(pl.UInt32)
    ordered = col(value).sort()
    per_arm = (
        units.filter(col(value).is_not_null())
        .group_by(group, arm)
        .agg(
            col(value).median().alias("_median"),
            ((ordered.gather(hi).first() - ordered.gather(lo).first()) / (2.0 * z)).alias("_se"),
            pl.len().alias("_n"),
        )
        .with_columns(pl.when(col("_n") >= 2).then(col("_se")).alias("_se"))
    )
    yes = per_arm.filter(col(arm)).select(
        group, col("_median").alias("median_yes"), col("_se").alias("_se_yes")
    )
    no = per_arm.filter(~col(arm)).select(
        group, col("_median").alias("median_no"), col("_se").alias("_se_no")
    )
    spread = z * (col("_se_yes") ** 2 + col("_se_no") ** 2).sqrt()
    return (
        yes.join(no, on=group, how="full", coalesce=True, nulls_equal=True)
        .with_columns((col("median_yes") - col("median_no")).alias("difference"))
        .with_columns(
            (col("difference") - spread).alias("diff_ci_low"),
            (col("difference") + spread).alias("diff_ci_high"),
        )
        .select(group, "median_yes", "median_no", "difference", "diff_ci_low", "diff_ci_high")
    )


def wilson(k: pl.Expr, n: pl.Expr, level: float) -> tuple[pl.Expr, pl.Expr]:
    """The Wilson score interval of the proportion ``k / n`` (exact 0 / 1 at the ends)."""
    from statistics import NormalDist

    z = NormalDist().inv_cdf(0.5 + level / 2.0)
    n_f = n.cast(pl.Float64)
    p = k.cast(pl.Float64) / n_f
    centre = (p + z * z / (2 * n_f)) / (1 + z * z / n_f)
    half = z * ((p * (1 - p) / n_f + z * z / (4 * n_f * n_f)).sqrt()) / (1 + z * z / n_f)
    low = pl.when(k == 0).then(0.0).otherwise((centre - half).clip(0.0, 1.0))
    high = pl.when(k == n).then(1.0).otherwise((centre + half).clip(0.0, 1.0))
    return low, high
