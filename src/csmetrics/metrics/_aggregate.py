"""How metrics aggregate into the tidy table (DESIGN §4.1), shared by every front door.

One place for: periods, quantile column names, ``by`` checks, and per metric kind the exact
aggregation into one tidy row per group × period × metric. :func:`csmetrics.compute`,
:mod:`csmetrics.journeys`, :mod:`csmetrics.state` and :mod:`csmetrics.sla` build on it;
nothing here imports them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import polars as pl

from csmetrics._periods import Period as PeriodSpec
from csmetrics._periods import check_period as parse_period
from csmetrics._periods import period_start_expr
from csmetrics.exceptions import PluginError, PolicyError
from csmetrics.metrics.registry import ExprBuilder, Metric, builtins, get
from csmetrics.policy import Policy

__all__ = [
    "PERIODS",
    "Period",
    "aggregate",
    "as_metric",
    "by_columns",
    "case_columns_needed",
    "check_period",
    "check_quantiles",
    "exact_aggregations",
    "grouped",
    "open_rows",
    "period_key",
    "period_start",
    "quantile_name",
    "resolve_metrics",
    "seconds",
    "tidy",
    "tidy_columns",
]

Period = str | PeriodSpec
"""A period: ``"hour"``, ``"day"``, ``"week"`` (from Monday), ``"month"``, ``"quarter"``,
``"year"``, a Polars duration (``"15m"``, ``"2w"``), or a profile (``"weekday"``,
``"hour_of_day"``) — see :mod:`csmetrics._periods`."""
PERIODS: Final[dict[str, str]] = {"day": "1d", "week": "1w", "month": "1mo", "quarter": "1q"}
"""The calendar periods mergeable state keeps (:mod:`csmetrics.state`)."""


def check_period(period: object) -> PeriodSpec | None:
    """The validated period (``None`` for none); a :class:`PolicyError` with "did you mean"
    for anything else."""
    return None if period is None else parse_period(period)


def period_key(period: object) -> list[str]:
    """The key column(s) a period adds to the tidy table: ``period_start`` (or the profile's
    ``weekday`` / ``hour_of_day``), none without a period."""
    spec = check_period(period)
    return [] if spec is None else [spec.column]


def period_start(column: str, period: Period, timezone: str) -> pl.Expr:
    """The period key of ``column`` (cut in ``timezone``), named as :func:`period_key`."""
    return period_start_expr(column, period, timezone)


def quantile_name(q: float) -> str:
    """The column name of quantile ``q``: ``p50``, ``p90``, ``p99_9`` …"""
    text = f"{q * 100:g}".replace(".", "_")
    return f"p{text}"


def case_columns_needed(
    chosen: Sequence[Metric], by: Sequence[str], known: set[str], always: Sequence[str]
) -> list[str] | None:
    """The case-table columns ``chosen`` metrics read, with ``always`` and the ``by``
    columns; ``None`` (every column) when a metric does not say what it reads."""
    if any(not m.columns for m in chosen):
        return None
    needed = [*always, *(c for c in by if c in known)]
    for metric in chosen:
        needed += [c for c in metric.columns if c in known]
        if metric.business is not None and metric.business in known:
            needed.append(metric.business)
    return list(dict.fromkeys(needed))


def check_quantiles(quantiles: Sequence[float]) -> tuple[float, ...]:
    """The quantiles, each in [0, 1], without repeats."""
    bad = [q for q in quantiles if not 0 <= q <= 1]
    if bad:
        raise PolicyError(f"'quantiles' must lie in [0, 1] (got {bad})")
    return tuple(dict.fromkeys(quantiles))


def by_columns(by: str | Sequence[str]) -> list[str]:
    """``by`` as a list of column names."""
    return [by] if isinstance(by, str) else list(by)


def grouped(frame: pl.LazyFrame, keys: list[str], aggs: list[pl.Expr]) -> pl.LazyFrame:
    """``group_by(keys).agg(aggs)``, or one row over the whole frame without keys."""
    if keys:
        return frame.group_by(keys).agg(aggs)
    return frame.select(aggs)


def seconds(expr: pl.Expr) -> pl.Expr:
    """A duration in seconds (Float64)."""
    return expr.dt.total_microseconds().cast(pl.Float64) / 1e6


def tidy_columns(quantiles: tuple[float, ...]) -> list[str]:
    """The tidy columns after the keys, in order."""
    return [
        "metric",
        "unit",
        "n",
        "n_open",
        "value",
        "mean",
        *(quantile_name(q) for q in quantiles),
        "numerator",
        "denominator",
    ]


def open_rows(metric: Metric, policy: Policy) -> pl.Expr:
    """The rows counted in ``n_open`` (DESIGN §3, one rule): rows of the population still
    open at ``as_of`` — for values (durations, amounts, scores) only those without one yet —
    unless the metric says otherwise (``open_when``)."""
    if metric.open_when is not None:
        return metric.open_when(policy).fill_null(value=False)
    every_row = pl.first().is_null() | pl.first().is_not_null()
    pop = (every_row & metric.population(policy)).fill_null(value=False)
    still_open = pl.col("is_open").fill_null(value=False)
    if metric.kind in ("duration", "amount", "score"):
        value = metric.value(policy)
        return pop & value.is_null() & still_open
    return pop & still_open


def exact_aggregations(
    metric: Metric, policy: Policy, prefix: str, quantiles: tuple[float, ...]
) -> list[pl.Expr]:
    """The aggregations of one metric, as columns named ``{prefix}{stat}``.

    ``n_open`` is one rule for every kind (DESIGN §3): rows of the population still open at
    ``as_of`` — for durations, only those without a value yet — unless the metric says
    otherwise (``open_when``).
    """
    # a row-wise True makes a literal population (pl.lit(True)) count every row, not one
    every_row = pl.first().is_null() | pl.first().is_not_null()
    pop = (every_row & metric.population(policy)).fill_null(value=False)
    value = metric.value(policy)
    out: list[pl.Expr] = [pop.sum().alias(prefix + "n")]
    if metric.kind in ("duration", "amount", "score"):
        number = seconds(value) if metric.kind == "duration" else value.cast(pl.Float64)
        kept = pl.when(pop).then(number)
        # sums and means from exact integer micro-units (Int128: no wrap-around): identical
        # on every engine and thread count (a float sum depends on the order it is added in)
        micros = (
            value.dt.total_microseconds().cast(pl.Int128)
            if metric.kind == "duration"
            else (value.cast(pl.Float64) * 1e6).round(0).cast(pl.Int128)
        )
        kept_micros = pl.when(pop).then(micros)
        total = kept_micros.sum().cast(pl.Float64) / 1e6
        count = kept_micros.count()
        out += [
            pl.when(count > 0).then(total / count).alias(prefix + "mean"),
            *(kept.quantile(q, "linear").alias(prefix + quantile_name(q)) for q in quantiles),
        ]
        if metric.kind == "duration":
            if 0.5 not in quantiles:  # else the p50 column is the value
                out.append(kept.quantile(0.5, "linear").alias(prefix + "value"))
        elif metric.kind == "amount":
            out.append(total.alias(prefix + "value"))
        else:  # score: share of scores >= 4
            out += [
                (pop & (number >= 4)).sum().alias(prefix + "numerator"),
                kept.count().alias(prefix + "denominator"),
            ]
    elif metric.kind == "rate":
        out += [
            (pop & value.fill_null(value=False)).sum().alias(prefix + "numerator"),
            pop.sum().alias(prefix + "denominator"),
        ]
    else:  # count
        out.append(pop.sum().cast(pl.Float64).alias(prefix + "value"))
    out.append(open_rows(metric, policy).sum().alias(prefix + "n_open"))
    return out


def tidy(
    wide: pl.LazyFrame,
    keys: list[str],
    metric: Metric,
    prefix: str,
    quantiles: tuple[float, ...],
) -> pl.LazyFrame:
    """One metric's tidy rows from the wide aggregation frame."""
    names = set(wide.collect_schema().names())

    def stat(name: str, dtype: pl.DataType | type[pl.DataType]) -> pl.Expr:
        column = prefix + name
        return (pl.col(column) if column in names else pl.lit(None)).cast(dtype).alias(name)

    value, mean = stat("value", pl.Float64), stat("mean", pl.Float64)
    if metric.kind == "duration" and prefix + "value" not in names:  # the median: p50
        value = stat(quantile_name(0.5), pl.Float64).alias("value")
    if metric.kind in ("rate", "score"):
        share = pl.when(pl.col(prefix + "denominator") > 0).then(
            pl.col(prefix + "numerator") / pl.col(prefix + "denominator")
        )
        value = share.alias("value")
        if metric.kind == "rate":
            mean = share.alias("mean")
    return wide.select(
        *keys,
        pl.lit(metric.name).alias("metric"),
        pl.lit(metric.unit).alias("unit"),
        stat("n", pl.Int64),
        stat("n_open", pl.Int64),
        value,
        mean,
        *(stat(quantile_name(q), pl.Float64) for q in quantiles),
        stat("numerator", pl.Float64),
        stat("denominator", pl.Float64),
    )


def aggregate(
    frame: pl.LazyFrame,
    keys: list[str],
    metrics: Sequence[Metric],
    policy: Policy,
    quantiles: tuple[float, ...],
) -> list[pl.LazyFrame]:
    """Tidy rows of ``metrics`` over ``frame``: one ``group_by`` for the metrics without keys
    of their own, one per keyed metric (split by its ``keys`` too)."""
    parts: list[pl.LazyFrame] = []
    plain = [m for m in metrics if not m.keys]
    if plain:
        aggs = [
            a
            for i, m in enumerate(plain)
            for a in exact_aggregations(m, policy, f"_{i}_", quantiles)
        ]
        wide = grouped(frame, keys, aggs)
        parts += [tidy(wide, keys, m, f"_{i}_", quantiles) for i, m in enumerate(plain)]
    for metric in (m for m in metrics if m.keys):
        split = [*keys, *(k for k in metric.keys if k not in keys)]
        if metric.name == "channel_switch_matrix":
            parts.append(_matrix(frame, keys, metric, policy, quantiles))
            continue
        wide = grouped(frame, split, exact_aggregations(metric, policy, "_k_", quantiles))
        parts.append(tidy(wide, split, metric, "_k_", quantiles))
    return parts


def _matrix(
    frame: pl.LazyFrame,
    keys: list[str],
    metric: Metric,
    policy: Policy,
    quantiles: tuple[float, ...],
) -> pl.LazyFrame:
    """From → to moves over every follow-up after a case on ``from_channel``."""
    pop = metric.population(policy).fill_null(value=False)
    cells = (
        frame.filter(pop)
        .group_by(*keys, "from_channel", "to_channel")
        .agg(pl.len().alias("_count"), pl.col("is_open").sum().alias("_open"))
    )
    totals = cells.group_by(*keys, "from_channel").agg(
        pl.col("_count").sum().alias("_from"), pl.col("_open").sum().alias("_from_open")
    )
    rate = pl.col("_count") / pl.col("_from")
    return cells.join(totals, on=[*keys, "from_channel"], how="inner", nulls_equal=True).select(
        *keys,
        "from_channel",
        "to_channel",
        pl.lit(metric.name).alias("metric"),
        pl.lit(metric.unit).alias("unit"),
        pl.col("_from").cast(pl.Int64).alias("n"),
        pl.col("_from_open").cast(pl.Int64).alias("n_open"),
        rate.alias("value"),
        rate.alias("mean"),
        *(pl.lit(None, pl.Float64).alias(quantile_name(q)) for q in quantiles),
        pl.col("_count").cast(pl.Float64).alias("numerator"),
        pl.col("_from").cast(pl.Float64).alias("denominator"),
    )


def _guarded(name: str, what: str, builder: ExprBuilder) -> ExprBuilder:
    """``builder`` of a plugin metric, raising a :class:`PluginError` that names the metric
    when it fails or returns something that is not a Polars expression."""

    def build(policy: Policy) -> pl.Expr:
        try:
            expr = builder(policy)
        except Exception as exc:
            raise PluginError(
                f"metric {name!r}: its {what}(policy) raised {type(exc).__name__}: {exc}; fix "
                "the plugin (or uninstall it)"
            ) from exc
        if not isinstance(expr, pl.Expr):
            raise PluginError(
                f"metric {name!r}: its {what}(policy) returned {type(expr).__name__} "
                f"({expr!r:.60}), not a Polars expression; fix the plugin"
            )
        return expr

    return build


def as_metric(obj: object) -> Metric:
    """A :class:`Metric` for a plugin or runtime metric object of the metric protocol (its
    expressions guarded so a broken plugin names itself); built-ins pass through."""
    if isinstance(obj, Metric) and obj.name in {m.name for m in builtins()}:
        return obj
    try:
        name = str(getattr(obj, "name"))  # noqa: B009 - any object of the protocol
        fields = {f: getattr(obj, f) for f in ("unit", "kind", "population", "value")}
    except AttributeError as exc:
        raise PluginError(
            f"{obj!r} is not a metric: it lacks {exc.name!r} (a metric has name, unit, kind, "
            "population and value)"
        ) from exc
    optional = {
        f: getattr(obj, f)
        for f in (
            "level",
            "definition",
            "docs",
            "columns",
            "censor_start",
            "frame",
            "keys",
            "open_when",
            "business",
            "requires",
        )
        if getattr(obj, f, None) is not None
    }
    optional.setdefault("definition", "")
    optional.setdefault("docs", "")
    if "columns" in optional:
        optional["columns"] = tuple(optional["columns"])
    return Metric(
        name=name,
        unit=fields["unit"],
        kind=fields["kind"],
        population=_guarded(name, "population", fields["population"]),
        value=_guarded(name, "value", fields["value"]),
        **optional,
    )


def resolve_metrics(metrics: str | object | Sequence[str | object] | None) -> list[Metric]:
    """Metric objects for names (or objects), without repeats; ``None`` means every
    case-level built-in (case, pair and period metrics)."""
    if metrics is None:
        return [m for m in builtins() if m.level in ("case", "pair", "period")]
    if isinstance(metrics, str) or not isinstance(metrics, Sequence):
        metrics = [metrics]
    resolved = [as_metric(get(m) if isinstance(m, str) else m) for m in metrics]
    return list({m.name: m for m in resolved}.values())
