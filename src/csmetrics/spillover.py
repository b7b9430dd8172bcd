"""Spill-over: does a surge on one channel slow the other queues? (DESIGN §1)

When a public channel surges, agents are pulled onto it and first response on email and the
phone gets worse. :func:`spillover` cuts time into buckets (hours by default), finds the
buckets where the surge channel's inbound volume is far above its own baseline, and compares
every channel's first response time and backlog in those buckets with comparable buckets
without a surge: the same time of day, so a surge at 20:00 is compared with other evenings,
not with nights. Each figure comes with the number of buckets behind it.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import attrs
import polars as pl

from csmetrics._analysis import bootstrap
from csmetrics.cases import OnInvalid, case_table
from csmetrics.exceptions import PolicyError
from csmetrics.journeys import ALL_ISSUE_SOURCES, Window, link_cases, parse_window
from csmetrics.journeys import CASE_NEEDS as LINK_NEEDS
from csmetrics.log import EventLog
from csmetrics.metrics._common import counted, customer_cases
from csmetrics.policy import Policy

__all__ = [
    "BUCKET_COLUMNS",
    "CASCADE_COLUMNS",
    "EFFECT_COLUMNS",
    "SURGE_COLUMNS",
    "Spillover",
    "spillover",
]

BUCKET_COLUMNS: Final[tuple[str, ...]] = (
    "bucket_start",
    "channel",
    "volume",
    "baseline",
    "volume_ratio",
    "is_channel_surge",
    "is_surge",
    "n_answered",
    "first_response_time",
    "first_response_time_mean",
    "backlog",
    "unanswered",
    "others_ratio",
    "is_shared_surge",
)
"""Columns of :attr:`Spillover.buckets`."""

SURGE_COLUMNS: Final[tuple[str, ...]] = (
    "surge_start",
    "surge_end",
    "n_buckets",
    "volume",
    "baseline",
    "peak_volume",
    "others_ratio",
    "is_shared",
)

"""Columns of :attr:`Spillover.surges`."""

EFFECT_COLUMNS: Final[tuple[str, ...]] = (
    "channel",
    "is_surge_channel",
    "figure",
    "unit",
    "surge_value",
    "comparable_value",
    "change",
    "relative_change",
    "n_surge_buckets",
    "n_comparable_buckets",
    "ci_low",
    "ci_high",
)
"""Columns of :attr:`Spillover.effects`."""

CASCADE_COLUMNS: Final[tuple[str, ...]] = (
    "channel",
    "n_hit",
    "n_hit_to_public",
    "hit_share",
    "n_comparable",
    "n_comparable_to_public",
    "comparable_share",
    "change",
    "ci_low",
    "ci_high",
)
"""Columns of :attr:`Spillover.cascade`."""

_FIGURES: Final[dict[str, str]] = {
    "volume": "count",
    "first_response_time": "seconds",
    "backlog": "count",
    "unanswered": "count",
}
_DAY: Final = dt.timedelta(days=1)
_CASE_NEEDS: Final[tuple[str, ...]] = (
    "channel",
    "created_at",
    "first_response_at",
    "first_response_time",
    "last_resolved_at",
    "agent_created",
    "merged",
    "as_of",
)


@attrs.frozen
class Spillover:
    """What :func:`spillover` found, as three lazy frames.

    Attributes
    ----------
    buckets
        One row per bucket × channel (:data:`BUCKET_COLUMNS`): ``volume`` (inbound cases
        created: customer-created, not merged), ``baseline`` (the median volume of the same
        bucket of the day over the previous ``baseline`` days, or of the previous buckets
        when not ``seasonal``), ``volume_ratio``, ``is_channel_surge`` (this channel above
        its baseline), ``is_surge`` (the surge channel is surging in this bucket),
        ``n_answered``, ``first_response_time`` (median, seconds, of the cases created in
        the bucket that have a response; ``first_response_time_mean`` their mean),
        ``backlog`` (cases open at the bucket's end) and ``unanswered`` (cases waiting for
        a first response at the bucket's end), ``others_ratio`` (the other channels'
        volume over their baseline, together) and ``is_shared_surge`` (a surge bucket in
        which the other channels surge too: an event that hits every channel, such as an
        outage, not a surge of this channel).
    surges
        One row per surge window of the surge channel (consecutive surge buckets)
        (:data:`SURGE_COLUMNS`), with the other channels' mean ``others_ratio`` and
        ``is_shared`` (one of its buckets is a shared surge).
    effects
        One row per channel × figure (:data:`EFFECT_COLUMNS`): the mean of the figure over
        surge buckets (``surge_value``), the mean over the comparable non-surge buckets
        matched to each surge bucket (``comparable_value``), ``change`` (surge −
        comparable), ``relative_change`` (change / comparable) and how many buckets are
        behind each (``n_surge_buckets``, ``n_comparable_buckets``; hours when
        ``freq="1h"``), and ``ci_low``/``ci_high``: a percentile bootstrap interval of the
        change that resamples the surge buckets (the comparable means, over many more
        buckets, are taken as known). Shared surges and the buckets in which the other
        channels ran above ``shared_factor`` times their baseline are left out (the control).
    cascade
        One row per other channel (:data:`CASCADE_COLUMNS`): of the cases created on it in
        the surge buckets (``n_hit``), how many were followed, in the same issue, by a case
        moving to a public one (``n_hit_to_public``), against the cases created in the
        comparable buckets; ``change`` in share with a normal interval.
    freq
        The bucket length.
    """

    buckets: pl.LazyFrame
    surges: pl.LazyFrame
    effects: pl.LazyFrame
    freq: str
    cascade: pl.LazyFrame | None = None


def _every(freq: Window) -> tuple[str, dt.timedelta]:
    span = parse_window(freq, name="freq")
    if span < dt.timedelta(minutes=1) or span.total_seconds() % 60:
        raise PolicyError(f"'freq' must be whole minutes, at least one (got {freq!r})")
    if isinstance(freq, str):
        return freq.replace(" ", ""), span
    return f"{int(span.total_seconds())}s", span


def _bucket(column: str, every: str, policy: Policy) -> pl.Expr:
    return pl.col(column).dt.convert_time_zone(policy.timezone).dt.truncate(every)


def _seconds(expr: pl.Expr) -> pl.Expr:
    return expr.dt.total_microseconds().cast(pl.Float64) / 1e6


def bucket_table(
    cases: pl.LazyFrame,
    *,
    surge_channel: str,
    freq: Window = "1h",
    baseline: Window = "7d",
    factor: float = 2.0,
    min_volume: int = 5,
    min_history: int = 3,
    seasonal: bool = True,
    shared_factor: float | None = 1.5,
    policy: Policy | None = None,
) -> pl.LazyFrame:
    """:attr:`Spillover.buckets` from a case table (see :func:`spillover`)."""
    policy = policy or Policy()
    every, span = _every(freq)
    history = parse_window(baseline, name="baseline")
    seasonal = seasonal and span < _DAY and (_DAY.total_seconds() % span.total_seconds() == 0)
    step = _DAY if seasonal else span
    n_back = max(1, int(history / step))
    if factor <= 0 or min_volume < 0 or min_history < 1:
        raise PolicyError(
            "'factor' must be > 0, 'min_volume' ≥ 0 and 'min_history' ≥ 1 "
            f"(got {factor!r}, {min_volume!r}, {min_history!r})"
        )
    col = pl.col
    counted_case = counted(policy)
    inbound = counted_case & ~col("agent_created")
    waiting = customer_cases(policy)
    frt = _seconds(col("first_response_time"))
    by_created = cases.group_by(
        "channel", _bucket("created_at", every, policy).alias("bucket_start")
    )
    created = by_created.agg(
        inbound.sum().alias("volume"),
        counted_case.sum().alias("_opened"),
        waiting.sum().alias("_waiting"),
        (waiting & frt.is_not_null()).sum().alias("n_answered"),
        pl.when(waiting).then(frt).median().alias("first_response_time"),
        pl.when(waiting).then(frt).mean().alias("first_response_time_mean"),
    )
    resolved = (
        cases.filter(counted_case & col("last_resolved_at").is_not_null())
        .group_by("channel", _bucket("last_resolved_at", every, policy).alias("bucket_start"))
        .agg(pl.len().alias("_resolved"))
    )
    answered = (
        cases.filter(waiting & col("first_response_at").is_not_null())
        .group_by("channel", _bucket("first_response_at", every, policy).alias("bucket_start"))
        .agg(pl.len().alias("_answered"))
    )
    span_expr = pl.datetime_range(
        col("_first").first(), _bucket("as_of", every, policy).max(), every
    ).alias("bucket_start")
    grid = (
        cases.with_columns(_bucket("created_at", every, policy).min().alias("_first"))
        .group_by("channel")
        .agg(span_expr)
        .explode("bucket_start")
    )
    keys = ["channel", "bucket_start"]
    counts = ["volume", "_opened", "_waiting", "n_answered", "_resolved", "_answered"]
    joined = (
        grid.join(created, on=keys, how="left")
        .join(resolved, on=keys, how="left")
        .join(answered, on=keys, how="left")
        .with_columns(pl.col(counts).fill_null(0).cast(pl.Int64))
        .sort(keys)
    )
    base_group = ["channel", col("bucket_start").dt.time()] if seasonal else ["channel"]
    base = (
        col("volume")
        .cast(pl.Float64)
        .shift(1)
        .rolling_median(window_size=n_back, min_samples=min(min_history, n_back))
        .over(base_group, order_by="bucket_start")
    )
    surge_of = (col("volume") >= min_volume) & (col("volume") > col("baseline") * factor)
    table = joined.with_columns(
        base.alias("baseline"),
        (col("_opened").cum_sum() - col("_resolved").cum_sum()).over("channel").alias("backlog"),
        (col("_waiting").cum_sum() - col("_answered").cum_sum())
        .over("channel")
        .alias("unanswered"),
    ).with_columns(
        pl.when(col("baseline") > 0).then(col("volume") / col("baseline")).alias("volume_ratio"),
        surge_of.fill_null(value=False).alias("is_channel_surge"),
    )
    flags = table.filter(col("channel") == surge_channel).select(
        "bucket_start", col("is_channel_surge").alias("is_surge")
    )
    others = (
        table.filter(col("channel") != surge_channel)
        .group_by("bucket_start")
        .agg(
            col("volume").sum().cast(pl.Float64).alias("_others_volume"),
            col("baseline").sum().alias("_others_baseline"),
            col("baseline").is_null().any().alias("_others_unknown"),
        )
        .select(
            "bucket_start",
            pl.when(~col("_others_unknown") & (col("_others_baseline") > 0))
            .then(col("_others_volume") / col("_others_baseline"))
            .alias("others_ratio"),
        )
    )
    shared = (
        pl.lit(value=False)
        if shared_factor is None
        else (col("others_ratio") >= shared_factor).fill_null(value=False)
    )
    return (
        table.join(flags, on="bucket_start", how="left")
        .join(others, on="bucket_start", how="left")
        .with_columns(col("is_surge").fill_null(value=False))
        .with_columns((col("is_surge") & shared).alias("is_shared_surge"))
        .select(BUCKET_COLUMNS)
        .sort("bucket_start", "channel")
    )


def _surges(buckets: pl.LazyFrame, surge_channel: str, span: dt.timedelta) -> pl.LazyFrame:
    col = pl.col
    own = buckets.filter(col("channel") == surge_channel).sort("bucket_start")
    run = (col("is_surge") != col("is_surge").shift(1)).fill_null(value=True).cum_sum()
    return (
        own.with_columns(run.alias("_run"))
        .filter(col("is_surge"))
        .group_by("_run")
        .agg(
            col("bucket_start").min().alias("surge_start"),
            (col("bucket_start").max() + span).alias("surge_end"),
            pl.len().cast(pl.Int64).alias("n_buckets"),
            col("volume").sum(),
            col("baseline").sum(),
            col("volume").max().alias("peak_volume"),
            col("others_ratio").mean(),
            col("is_shared_surge").any().alias("is_shared"),
        )
        .sort("surge_start")
        .select(SURGE_COLUMNS)
    )


def _effects(
    buckets: pl.LazyFrame,
    surge_channel: str,
    seasonal: bool,
    *,
    shared_factor: float | None = 1.5,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> pl.LazyFrame:
    col = pl.col
    stratum = col("bucket_start").dt.time() if seasonal else pl.lit(0)
    disrupted = (
        pl.lit(value=False)
        if shared_factor is None
        else (col("others_ratio") >= shared_factor).fill_null(value=False)
    )
    long = buckets.with_columns(
        col("first_response_time").alias("_frt"),
        stratum.alias("_stratum"),
        disrupted.alias("_disrupted"),
    ).unpivot(
        index=["channel", "bucket_start", "is_surge", "is_shared_surge", "_disrupted", "_stratum"],
        on=list(_FIGURES),
        variable_name="figure",
        value_name="_value",
    )
    long = long.with_columns(col("_value").cast(pl.Float64)).filter(col("_value").is_not_null())
    keys = ["channel", "figure", "_stratum"]
    normal = (
        long.filter(~col("is_surge") & ~col("_disrupted"))
        .group_by(keys)
        .agg(col("_value").mean().alias("_normal"), pl.len().alias("_n_normal"))
    )
    matched = long.filter(col("is_surge") & ~col("is_shared_surge")).join(
        normal, on=keys, how="inner"
    )
    strata = matched.group_by("channel", "figure").agg(
        col("_value").mean().alias("surge_value"),
        col("_normal").mean().alias("comparable_value"),
        pl.len().cast(pl.Int64).alias("n_surge_buckets"),
        # every comparable bucket once, however many surge buckets it was matched to
        col("_n_normal")
        .filter(col("_stratum").is_first_distinct())
        .sum()
        .cast(pl.Int64)
        .alias("n_comparable_buckets"),
    )
    group = pl.concat_str([col("channel"), col("figure")], separator="\x00")
    interval = bootstrap(
        matched.select(group.alias("_group"), (col("_value") - col("_normal")).alias("_diff")),
        group="_group",
        sums=["_diff"],
        statistic=lambda v: v["_diff"] / v["n"].cast(pl.Float64),
        n_boot=n_boot,
        level=level,
        seed=seed,
    )
    strata = strata.with_columns(group.alias("_group")).join(interval, on="_group", how="left")
    units = pl.DataFrame({"figure": list(_FIGURES), "unit": list(_FIGURES.values())}).lazy()
    change = col("surge_value") - col("comparable_value")
    return (
        strata.join(units, on="figure", how="left")
        .select(
            "channel",
            (col("channel") == surge_channel).alias("is_surge_channel"),
            "figure",
            "unit",
            "surge_value",
            "comparable_value",
            change.alias("change"),
            pl.when(col("comparable_value") != 0)
            .then(change / col("comparable_value"))
            .alias("relative_change"),
            "n_surge_buckets",
            "n_comparable_buckets",
            "ci_low",
            "ci_high",
        )
        .sort("is_surge_channel", "channel", "figure")
    )


def spillover(
    log: EventLog | object,
    *,
    surge_channel: str = "twitter",
    freq: Window = "1h",
    baseline: Window = "7d",
    factor: float = 2.0,
    min_volume: int = 5,
    min_history: int = 3,
    seasonal: bool = True,
    shared_factor: float | None = 1.5,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    cascade: bool = True,
    policy: Policy | None = None,
    on_invalid: OnInvalid = "raise",
) -> Spillover:
    """Surges on one channel and what happened meanwhile to the others' response and backlog.

    Parameters
    ----------
    log
        An :class:`~csmetrics.EventLog` or anything :meth:`EventLog.from_frame` reads.
    surge_channel
        The channel whose surges are studied (``"twitter"``).
    freq
        Bucket length: ``"1h"`` (default), ``"30m"``, ``"1d"`` …; cut in ``policy.timezone``.
    baseline
        How far back the baseline looks (``"7d"``).
    factor, min_volume
        A bucket surges when its inbound volume is at least ``min_volume`` and more than
        ``factor`` times its baseline.
    min_history
        Buckets behind a baseline at least; before that there is no baseline and no surge.
    seasonal
        Compare a bucket with the same time of day on earlier days (baseline and comparable
        buckets); off, or when ``freq`` does not divide a day: with the previous buckets.
    shared_factor
        The control for events that hit every channel: a surge bucket in which the other
        channels together run at least this many times their baseline is a *shared* surge
        (an outage), left out of the effects, and so are such buckets among the comparable
        ones; None: no control.
    n_boot, level, seed
        The bootstrap interval of each effect.
    cascade
        Also compute :attr:`Spillover.cascade` (it links cases into journeys: one more pass).
    policy
        The case-table definitions, ``as_of`` and time zone; default ``Policy()``.
    on_invalid
        ``"raise"`` or ``"quarantine"`` invalid events.

    Returns
    -------
    Spillover
        ``buckets``, ``surges``, ``effects`` and ``cascade``, lazy frames (see
        :class:`Spillover`); the buckets are computed when ``spillover`` is called.

    Raises
    ------
    PolicyError
        For a bad ``freq``, ``baseline``, ``factor``, ``min_volume`` or ``min_history``.

    Examples
    --------
    >>> import datetime as dt, csmetrics as csm
    >>> rows = []
    >>> for day in range(1, 6):  # 1-5 March: a tweet and an email at 10:00 every day
    ...     for n, channel in enumerate(["twitter", "email"]):
    ...         wait = 50 if (day, channel) == (5, "email") else 30
    ...         case = {"case_id": 10 * day + n, "channel": channel}
    ...         rows += [(f"2024-03-0{day}T10:00:00Z", "case_created", "customer", case),
    ...                  (f"2024-03-0{day}T10:{wait}:00Z", "message", "agent", case)]
    >>> rows += [("2024-03-05T10:05:00Z", "case_created", "customer",
    ...           {"case_id": 100 + k, "channel": "twitter"}) for k in range(6)]
    >>> result = spillover(csm.testing.log_from_rows(rows), min_volume=5)
    >>> result.surges.collect().select("n_buckets", "volume", "baseline").row(0)
    (1, 7, 1.0)
    >>> email = result.effects.filter(channel="email", figure="first_response_time").collect()
    >>> email.select("surge_value", "comparable_value", "change", "n_comparable_buckets").row(0)
    (3000.0, 1800.0, 1200.0, 4)

    On 5 March at 10:00 seven tweets came instead of one: a surge (baseline: the median of
    the four earlier 10:00 buckets, 1). The email of that hour waited 50 minutes against 30 in
    the four other 10:00 buckets: 20 minutes (1200 s) more.
    """
    policy = policy or Policy()
    _, span = _every(freq)
    seasonal_used = seasonal and span < _DAY and (_DAY.total_seconds() % span.total_seconds() == 0)
    # One case table, collected once (one row per case: small next to the events): the
    # buckets read it four times over and the cascade links it into journeys; as a lazy
    # plan each of those would read and group the whole log again.
    needs = [*_CASE_NEEDS, *((*LINK_NEEDS, *ALL_ISSUE_SOURCES) if cascade else ())]
    cases = (
        case_table(log, policy=policy, columns=list(dict.fromkeys(needs)), on_invalid=on_invalid)
        .collect()
        .lazy()
    )
    buckets = bucket_table(
        cases,
        surge_channel=surge_channel,
        freq=freq,
        baseline=baseline,
        factor=factor,
        min_volume=min_volume,
        min_history=min_history,
        seasonal=seasonal,
        shared_factor=shared_factor,
        policy=policy,
    )
    # Computed once here (one row per channel and bucket: small); surges, effects, their
    # bootstrap and the cascade all read it, and would each rebuild the case table otherwise.
    buckets = buckets.collect().lazy()
    every, _ = _every(freq)
    return Spillover(
        buckets=buckets,
        surges=_surges(buckets, surge_channel, span),
        effects=_effects(
            buckets,
            surge_channel,
            seasonal_used,
            shared_factor=shared_factor,
            n_boot=n_boot,
            level=level,
            seed=seed,
        ),
        freq=every,
        cascade=(
            _cascade(
                cases,
                buckets,
                surge_channel=surge_channel,
                every=every,
                seasonal=seasonal_used,
                shared_factor=shared_factor,
                level=level,
                policy=policy,
            )
            if cascade
            else None
        ),
    )


def _cascade(
    cases: pl.LazyFrame,
    buckets: pl.LazyFrame,
    *,
    surge_channel: str,
    every: str,
    seasonal: bool,
    shared_factor: float | None,
    level: float,
    policy: Policy,
) -> pl.LazyFrame:
    """Cases on the other channels created in surge buckets: how many went public next."""
    from statistics import NormalDist

    col = pl.col
    z = NormalDist().inv_cdf(0.5 + level / 2.0)
    linked = link_cases(cases)
    same_issue = col("issue_id").shift(-1) == col("issue_id")
    hit_cases = (
        linked.with_columns(
            (same_issue & col("is_public_switch").shift(-1)).fill_null(value=False).alias("_pub")
        )
        .filter((col("channel") != surge_channel) & ~col("agent_created").fill_null(value=False))
        .select("channel", "_pub", _bucket("created_at", every, policy).alias("bucket_start"))
    )
    disrupted = (
        pl.lit(value=False)
        if shared_factor is None
        else (col("others_ratio") >= shared_factor).fill_null(value=False)
    )
    flags = buckets.filter(col("channel") == surge_channel).select(
        "bucket_start", "is_surge", "is_shared_surge", disrupted.alias("_disrupted")
    )
    stratum = col("bucket_start").dt.time() if seasonal else pl.lit(0)
    tagged = hit_cases.join(flags, on="bucket_start", how="inner").with_columns(
        stratum.alias("_stratum")
    )
    hit = tagged.filter(col("is_surge") & ~col("is_shared_surge"))
    strata = hit.select("channel", "_stratum").unique()
    comparable = tagged.filter(~col("is_surge") & ~col("_disrupted")).join(
        strata, on=["channel", "_stratum"], how="inner"
    )
    hit_counts = hit.group_by("channel").agg(
        pl.len().cast(pl.Int64).alias("n_hit"),
        col("_pub").sum().cast(pl.Int64).alias("n_hit_to_public"),
    )
    comparable_counts = comparable.group_by("channel").agg(
        pl.len().cast(pl.Int64).alias("n_comparable"),
        col("_pub").sum().cast(pl.Int64).alias("n_comparable_to_public"),
    )
    p1 = col("n_hit_to_public") / col("n_hit")
    p2 = col("n_comparable_to_public") / col("n_comparable")
    se = ((p1 * (1 - p1)) / col("n_hit") + (p2 * (1 - p2)) / col("n_comparable")).sqrt()
    return (
        hit_counts.join(comparable_counts, on="channel", how="left")
        .with_columns(col("n_comparable", "n_comparable_to_public").fill_null(0))
        .with_columns(
            p1.alias("hit_share"),
            pl.when(col("n_comparable") > 0).then(p2).alias("comparable_share"),
        )
        .with_columns((col("hit_share") - col("comparable_share")).alias("change"))
        .with_columns(
            (col("change") - z * se).alias("ci_low"),
            (col("change") + z * se).alias("ci_high"),
        )
        .sort("channel")
        .select(CASCADE_COLUMNS)
    )
