"""Mergeable metric state: partitions, incremental daily jobs and Spark (DESIGN §8).

:func:`compute_state` computes, per group × period and metric, the parts of a result that
*add up*: counts, sums, minimum and maximum, numerators and denominators, the bucket counts
of a relative-error quantile sketch, and HyperLogLog registers of the customers. Two states
of disjoint sets of cases merge into the state of their union
(:meth:`MetricState.merge`), and :meth:`MetricState.finalize` turns a state into the tidy
table :func:`csmetrics.compute` returns. So:

* :func:`compute_partitioned` processes a log too large for memory in case-hash (or
  customer-hash) partitions, one after another: peak memory is set by the partition;
* a daily BI job stores its state (:meth:`MetricState.to_parquet`) and merges new periods
  into it, recomputing the periods that late events changed
  (:meth:`MetricState.replace_periods`);
* :mod:`csmetrics.engines.spark` runs :func:`compute_state` on each Spark partition and
  merges the states — the same Polars plan, no second implementation of any metric.

What is exact and what is not: ``n``, ``n_open``, ``numerator``, ``denominator``, rates,
counts and the backlog equal :func:`csmetrics.compute` exactly; sums and means equal it up
to floating-point rounding (the order of additions differs); quantiles (and the median that
is the ``value`` of a duration) come from the sketch and are within relative error
``alpha`` of compute's exact linear-interpolation quantiles (``|est - exact| <= alpha *
|exact|`` when the two order statistics around the quantile have the same sign). Merging
itself is exact: the merged sketch is identical to the sketch of the whole.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Final, Literal, cast

import attrs
import polars as pl

from csmetrics._capabilities import mark_unmeasurable
from csmetrics._sketch import (
    DEFAULT_ALPHA,
    DEFAULT_PRECISION,
    bucket_of,
    check_alpha,
    check_precision,
    hll_estimate,
    hll_registers,
    sketch_quantiles,
)
from csmetrics.cases import (
    CASE_COLUMNS,
    OnInvalid,
    case_table,
    next_reply_pairs,
    open_changes,
    passthrough_columns,
)
from csmetrics.engines import Engine, collect
from csmetrics.exceptions import PolicyError, SchemaError
from csmetrics.log import EventLog, as_event_log
from csmetrics.metrics._aggregate import (
    PERIODS,
    Period,
    case_columns_needed,
    check_quantiles,
    open_rows,
    quantile_name,
    resolve_metrics,
)
from csmetrics.metrics.registry import Metric
from csmetrics.policy import Policy

__all__ = [
    "BYTES_PER_EVENT",
    "STATE_COLUMNS",
    "MetricSpec",
    "MetricState",
    "compute_partitioned",
    "compute_state",
    "suggest_partitions",
]

FORMAT_VERSION: Final = 1
_META_KEY: Final = "csmetrics.state"

STATE_COLUMNS: Final[dict[str, pl.DataType]] = {
    "part": pl.String(),
    "metric": pl.String(),
    "slot": pl.Int64(),
    "n": pl.Int64(),
    "n_open": pl.Int64(),
    "n_values": pl.Int64(),
    "sum": pl.Float64(),
    "min": pl.Float64(),
    "max": pl.Float64(),
    "numerator": pl.Int64(),
    "denominator": pl.Int64(),
    "rank": pl.Int64(),
}
"""The state's columns after the group keys, ``closed`` and ``as_of`` (see the docs page)."""

MERGE: Final[dict[str, Literal["sum", "min", "max"]]] = {
    "n": "sum",
    "n_open": "sum",
    "n_values": "sum",
    "sum": "sum",
    "min": "min",
    "max": "max",
    "numerator": "sum",
    "denominator": "sum",
    "rank": "max",
    "as_of": "max",
}
"""How each value column merges (null stays null: a sum over nulls only is null)."""

_ID_COLUMNS: Final = ("part", "metric", "slot", "closed")
_VALUED: Final = ("duration", "amount", "score")

BYTES_PER_EVENT: Final = 400
"""Peak memory per event of one partition, measured (see ``docs/scaling-state.md``)."""


@attrs.frozen
class MetricSpec:
    """What :meth:`MetricState.finalize` needs to know of a metric: name, unit, kind, level."""

    name: str
    unit: str
    kind: str
    level: str

    @classmethod
    def of(cls, metric: Metric) -> MetricSpec:
        """The spec of a registered metric."""
        return cls(metric.name, metric.unit, metric.kind, metric.level)


def _fingerprint(policy: Policy) -> str:
    """The policy's knobs as JSON, less its name and ``as_of`` (states of days differ there)."""
    knobs = {k: v for k, v in policy.describe().items() if k not in ("name", "as_of")}
    return json.dumps(knobs, sort_keys=True, default=str)


def _state_dtypes(tz: str) -> dict[str, pl.DataType]:
    return {
        "part": pl.String(),
        "metric": pl.String(),
        "slot": pl.Int64(),
        "closed": pl.Datetime("us", tz),
        **{k: v for k, v in STATE_COLUMNS.items() if k not in ("part", "metric", "slot")},
        "as_of": pl.Datetime("us", "UTC"),
    }


def _conform(frame: pl.LazyFrame, keys: Sequence[str], tz: str) -> pl.LazyFrame:
    """``frame`` with every state column in order and type (missing ones null)."""
    names = set(frame.collect_schema().names())
    out = [pl.col(k) for k in keys]
    for name, dtype in _state_dtypes(tz).items():
        column = pl.col(name) if name in names else pl.lit(None)
        out.append(column.cast(dtype).alias(name))
    return frame.select(out)


def _merge_expr(name: str, how: str) -> pl.Expr:
    column = pl.col(name)
    total = column.sum() if how == "sum" else column.min() if how == "min" else column.max()
    return pl.when(column.is_not_null().any()).then(total)


def _merged(table: pl.LazyFrame, keys: Sequence[str]) -> pl.LazyFrame:
    """Rows with equal keys and ids merged (the group-by that *is* the merge)."""
    group = [*keys, *_ID_COLUMNS]
    columns = table.collect_schema().names()
    aggs = [_merge_expr(name, how) for name, how in MERGE.items()]
    return table.group_by(group).agg(aggs).select(columns)


@attrs.frozen(kw_only=True, eq=False)
class MetricState:
    """The mergeable state of some metrics per group and period.

    Build one with :func:`compute_state`, :func:`compute_partitioned`,
    :func:`csmetrics.engines.spark.compute_state` or :meth:`from_parquet`.

    Attributes
    ----------
    table
        The state as one long table (``by`` columns, ``period_start``, then
        ``part``, ``metric``, ``slot``, ``closed``, counts and sums, ``as_of``): rows
        merge by a group-by on every column up to ``closed``, summing counts and sums and
        taking the minimum/maximum of ``min``, ``max``, ``rank`` and ``as_of``.
    by, period, metrics, quantiles, alpha, precision, policy, timezone
        The arguments it was computed with (``policy`` as JSON, without ``as_of``);
        ``quantiles`` are the default of :meth:`finalize`.

    Examples
    --------
    >>> import polars as pl, csmetrics as csm
    >>> from csmetrics.state import compute_state
    >>> log = csm.datasets.simulate(200, seed=1)
    >>> first = log.frame.filter(pl.col("case_id") <= 100)
    >>> rest = log.frame.filter(pl.col("case_id") > 100)
    >>> as_of = log.frame.select(pl.col("ts").max()).collect().item()
    >>> policy = csm.Policy(as_of=as_of)
    >>> parts = [compute_state(csm.EventLog.trusted(f), "reopen_rate", policy=policy)
    ...     for f in (first, rest)]
    >>> merged = parts[0].merge(parts[1]).finalize().collect()
    >>> whole = csm.compute(log, "reopen_rate", policy=policy).collect()
    >>> merged.select("n", "numerator").equals(whole.select("n", "numerator"))
    True
    """

    table: pl.DataFrame
    by: tuple[str, ...]
    period: Period | None
    metrics: tuple[MetricSpec, ...]
    quantiles: tuple[float, ...]
    alpha: float
    precision: int
    policy: str
    timezone: str

    @property
    def keys(self) -> list[str]:
        """The group columns: ``by``, then ``period_start`` when there is a period."""
        return [*self.by, *(["period_start"] if self.period is not None else [])]

    @property
    def as_of(self) -> dt.datetime | None:
        """The latest observation end of the merged states (``None`` when empty)."""
        value = self.table.get_column("as_of").max()
        return cast("dt.datetime | None", value)

    # -- merging ---------------------------------------------------------------------------

    def _identity(self) -> dict[str, object]:
        """What two states must share to be merged."""
        return {
            "by": self.by,
            "period": self.period,
            "alpha": self.alpha,
            "precision": self.precision,
            "timezone": self.timezone,
            "metrics": sorted(attrs.astuple(m) for m in self.metrics),
            "policy": self.policy,
        }

    def _check_compatible(self, other: MetricState) -> None:
        if not isinstance(other, MetricState):
            raise PolicyError(f"can only merge a MetricState with another (got {other!r})")
        mine, theirs = self._identity(), other._identity()
        differ = [k for k in mine if mine[k] != theirs[k]]
        if differ:
            details = "; ".join(f"{k}: {mine[k]!r} vs {theirs[k]!r}" for k in differ)
            raise PolicyError(
                f"cannot merge metric states computed with different {differ} ({details}); "
                "compute both with the same metrics, by, period, policy, alpha and precision"
            )

    def merge(self, *others: MetricState) -> MetricState:
        """The state of the union of disjoint sets of cases.

        Cases must not be split between the states (a case's events all in one of them):
        partition by case (or customer), by period of creation, or by day of a daily job
        whose late events are handled with :meth:`replace_periods`.

        Raises
        ------
        PolicyError
            When a state was computed with other metrics, ``by``, ``period``, policy knobs,
            ``alpha`` or ``precision``.
        """
        for other in others:
            self._check_compatible(other)
        if not others:
            return self
        frames = [self.table, *(o.table for o in others)]
        try:
            stacked = pl.concat(frames, how="vertical_relaxed")
            table = _merged(stacked.lazy(), self.keys).collect()
        except pl.exceptions.PolarsError as exc:
            schemas = [dict(f.schema) for f in frames]
            raise PolicyError(
                f"cannot merge metric states whose group columns differ in type: {schemas}"
            ) from exc
        return attrs.evolve(self, table=table)

    def replace_periods(
        self, other: MetricState, periods: Iterable[dt.datetime | None] | None = None
    ) -> MetricState:
        """This state with some periods replaced by ``other`` (recomputed periods).

        Every row of this state whose ``period_start`` is in ``periods`` (default: the
        periods ``other`` has; ``None`` stands for the rows without a period) is dropped,
        then ``other`` is merged in. This is how a daily job takes late events into
        account: recompute every period whose cases changed (and those with cases still
        open, whose clocks run to ``as_of``) from all events of their cases, then replace.

        Raises
        ------
        PolicyError
            Without a period; when ``other`` has rows outside ``periods`` (they would be
            counted twice) or a naive period; or when ``other`` is not compatible (see
            :meth:`merge`).
        """
        if self.period is None:
            raise PolicyError("replace_periods needs states computed with a period")
        self._check_compatible(other)
        theirs = set(other.table.get_column("period_start").unique().to_list())
        chosen = theirs if periods is None else set(periods)
        naive = [p for p in chosen if p is not None and p.tzinfo is None]
        if naive:
            raise PolicyError(f"replace_periods needs time-zone aware periods (got {naive[:3]})")
        extra = theirs - chosen
        if extra:
            shown = sorted(str(p) for p in extra)[:5]
            raise PolicyError(
                f"the recomputed state has periods that are not being replaced ({shown}): "
                "their rows would be counted twice; recompute whole periods and list them all"
            )
        instants = pl.Series([p for p in chosen if p is not None], dtype=pl.Datetime("us", "UTC"))
        start = pl.col("period_start")
        dropped = start.is_in(instants.dt.convert_time_zone(self.timezone).implode())
        if None in chosen:
            dropped = dropped | start.is_null()
        kept = self.table.filter(~dropped.fill_null(value=False))
        return attrs.evolve(self, table=kept).merge(other)

    def open_periods(self) -> list[dt.datetime]:
        """Periods with cases still open at ``as_of``: their values change as time passes.

        A daily job recomputes these together with the periods of cases that had new
        events (see the docs page), so that the merged state equals a full recompute.
        """
        if self.period is None:
            raise PolicyError("open_periods needs a state computed with a period")
        rows = self.table.filter((pl.col("part") == "cases") & (pl.col("n_open") > 0))
        return cast("list[dt.datetime]", rows.get_column("period_start").unique().sort().to_list())

    # -- reading results -------------------------------------------------------------------

    def finalize(self, quantiles: Sequence[float] | None = None) -> pl.LazyFrame:
        """The tidy table of :func:`csmetrics.compute` (same columns, types and order).

        Counts, numerators, denominators, rates, volumes and the backlog are exact; sums
        and means exact up to floating-point rounding; quantiles, and the median ``value``
        of durations, come from the sketch: within relative error ``alpha`` of the exact
        linear-interpolation quantiles, and never outside the exact minimum and maximum.

        Parameters
        ----------
        quantiles
            Quantile columns to report (default: those the state was computed with); any
            quantile can be read from the sketch.
        """
        qs = check_quantiles(self.quantiles if quantiles is None else quantiles)
        keys = self.keys
        table = self.table.lazy()
        parts: list[pl.LazyFrame] = []
        valued = [m for m in self.metrics if m.kind != "backlog"]
        if valued:
            parts.append(self._tidy(table, keys, valued, qs))
        if any(m.kind == "backlog" for m in self.metrics):
            backlog = next(m for m in self.metrics if m.kind == "backlog")
            parts.append(self._backlog(table, backlog, qs))
        if not parts:
            return pl.LazyFrame()
        out = pl.concat(parts, how="vertical_relaxed").sort([*keys, "metric"], nulls_last=True)
        # the tidy table of compute; a state keeps no source capabilities (all measurable)
        return mark_unmeasurable(out, {})

    def _tidy(
        self,
        table: pl.LazyFrame,
        keys: list[str],
        metrics: list[MetricSpec],
        qs: tuple[float, ...],
    ) -> pl.LazyFrame:
        info = pl.LazyFrame(
            {
                "metric": [m.name for m in metrics],
                "unit": [m.unit for m in metrics],
                "_kind": [m.kind for m in metrics],
            }
        )
        stats = table.filter(pl.col("part") == "stats").join(info, on="metric", how="inner")
        ends = stats.select(
            *keys, "metric", pl.col("min").alias("_min"), pl.col("max").alias("_max")
        )
        buckets = (
            table.filter(pl.col("part") == "sketch")
            .select(*keys, "metric", pl.col("slot").alias("bucket"), pl.col("n").alias("count"))
            .join(ends, on=[*keys, "metric"], how="left", nulls_equal=True)
        )
        wanted = [(quantile_name(q), q) for q in qs]
        read = [*wanted, ("_median", 0.5)]
        from_sketch = sketch_quantiles(
            buckets, [*keys, "metric"], read, self.alpha, ends=("_min", "_max")
        )
        stats = stats.join(from_sketch, on=[*keys, "metric"], how="left", nulls_equal=True)

        kind = pl.col("_kind")
        has_values = kind.is_in(list(_VALUED))
        share = pl.when(pl.col("denominator") > 0).then(
            pl.col("numerator").cast(pl.Float64) / pl.col("denominator").cast(pl.Float64)
        )
        mean = pl.when(pl.col("n_values") > 0).then(pl.col("sum") / pl.col("n_values"))

        def clamped(name: str) -> pl.Expr:
            return pl.when(has_values).then(pl.col(name).clip(pl.col("min"), pl.col("max")))

        value = (
            pl.when(kind == "duration")
            .then(clamped("_median"))
            .when(kind == "amount")
            .then(pl.col("sum"))
            .when(kind.is_in(["rate", "score"]))
            .then(share)
            .when(kind == "count")
            .then(pl.col("n").cast(pl.Float64))
        )
        tidy_mean = pl.when(has_values).then(mean).when(kind == "rate").then(share)
        ratio = kind.is_in(["rate", "score"])
        return stats.select(
            *keys,
            "metric",
            "unit",
            pl.col("n").cast(pl.Int64),
            pl.col("n_open").cast(pl.Int64),
            value.cast(pl.Float64).alias("value"),
            tidy_mean.cast(pl.Float64).alias("mean"),
            *(clamped(name).cast(pl.Float64).alias(name) for name, _ in wanted),
            pl.when(ratio).then(pl.col("numerator")).cast(pl.Float64).alias("numerator"),
            pl.when(ratio).then(pl.col("denominator")).cast(pl.Float64).alias("denominator"),
        )

    def _backlog(
        self, table: pl.LazyFrame, metric: MetricSpec, qs: tuple[float, ...]
    ) -> pl.LazyFrame:
        rows = table.filter(pl.col("part") == "backlog")
        by = list(self.by)
        if self.period is None:
            keys = by
            counts = rows.select(*by, pl.col("n_open").alias("_open"))
        else:
            every = PERIODS[str(self.period)]
            keys = [*by, "period_start"]
            changes = rows.group_by(*by, pl.col("closed").alias("period_start")).agg(
                pl.col("n").sum().alias("_change")
            )
            as_of = self.as_of
            end = pl.lit(as_of, pl.Datetime("us", "UTC")).dt.convert_time_zone(self.timezone)
            last = end.dt.truncate(every)
            # an empty population has no span: a placeholder start keeps datetime_range
            # valid, and the rows of empty groups are dropped (as compute does)
            span = pl.datetime_range(
                pl.col("period_start").min().fill_null(last), last, every
            ).alias("period_start")
            aggs = [span.implode(), pl.len().alias("_cases")]
            grid = (
                (changes.group_by(by).agg(aggs) if by else changes.select(aggs))
                .filter(pl.col("_cases") > 0)
                .drop("_cases")
                .explode("period_start")
            )
            if as_of is None:
                grid = grid.clear()
            joined = (
                grid.join(changes, on=keys, how="left", nulls_equal=True)
                .with_columns(pl.col("_change").fill_null(0))
                .sort(keys)
            )
            running = pl.col("_change").cum_sum()
            if by:
                running = running.over(by)
            counts = joined.select(*keys, running.alias("_open"))
        return counts.select(
            *keys,
            pl.lit(metric.name).alias("metric"),
            pl.lit(metric.unit).alias("unit"),
            pl.col("_open").cast(pl.Int64).alias("n"),
            pl.col("_open").cast(pl.Int64).alias("n_open"),
            pl.col("_open").cast(pl.Float64).alias("value"),
            pl.lit(None, pl.Float64).alias("mean"),
            *(pl.lit(None, pl.Float64).alias(quantile_name(q)) for q in qs),
            pl.lit(None, pl.Float64).alias("numerator"),
            pl.lit(None, pl.Float64).alias("denominator"),
        )

    def customers(self) -> pl.LazyFrame:
        """Cases and distinct customers per group and period.

        Columns: the group keys, ``n_cases``, ``n_open`` (cases open at ``as_of``) and
        ``n_customers``: a HyperLogLog estimate (relative standard error about
        ``1.04 / sqrt(2**precision)``, 0.81 % at the default 14), of the distinct
        ``customer_id`` values of all cases in the group, merged cases included.
        """
        keys = self.keys
        table = self.table.lazy()
        cases = table.filter(pl.col("part") == "cases").select(
            *keys, pl.col("n").alias("n_cases"), "n_open"
        )
        registers = table.filter(pl.col("part") == "customers").select(*keys, "slot", "rank")
        registers = registers.rename({"slot": "register"})
        estimate = hll_estimate(registers, keys, self.precision)
        joined = (
            cases.join(estimate, on=keys, how="left", nulls_equal=True)
            if keys
            else pl.concat([cases, estimate], how="horizontal")
        )
        out = joined.with_columns(pl.col("estimate").fill_null(0.0).alias("n_customers"))
        out = out.select(*keys, "n_cases", "n_open", "n_customers")
        return out.sort(keys, nulls_last=True) if keys else out

    # -- storing ---------------------------------------------------------------------------

    def meta(self) -> dict[str, Any]:
        """Everything but the table, as plain JSON-able values."""
        return {
            "format": FORMAT_VERSION,
            "by": list(self.by),
            "period": self.period,
            "metrics": [attrs.asdict(m) for m in self.metrics],
            "quantiles": list(self.quantiles),
            "alpha": self.alpha,
            "precision": self.precision,
            "policy": self.policy,
            "timezone": self.timezone,
        }

    @classmethod
    def from_table(cls, table: pl.DataFrame, meta: dict[str, Any]) -> MetricState:
        """A state from its long table and :meth:`meta` (e.g. collected from Spark).

        The table is merged first, so it may hold several rows per key (states stacked).
        """
        try:
            if meta.get("format") != FORMAT_VERSION:
                raise KeyError("format")
            state = cls(
                table=table,
                by=tuple(meta["by"]),
                period=meta["period"],
                metrics=tuple(MetricSpec(**m) for m in meta["metrics"]),
                quantiles=tuple(float(q) for q in meta["quantiles"]),
                alpha=float(meta["alpha"]),
                precision=int(meta["precision"]),
                policy=str(meta["policy"]),
                timezone=str(meta["timezone"]),
            )
        except (KeyError, TypeError) as exc:
            raise SchemaError(
                f"not a csmetrics metric state (format {FORMAT_VERSION}): missing or bad "
                f"{exc}; write states with MetricState.to_parquet",
                reason="state_format",
            ) from exc
        expected = [*state.keys, *_state_dtypes(state.timezone)]
        if table.columns != expected:
            raise SchemaError(
                f"metric state table has columns {table.columns}, expected {expected}",
                reason="state_format",
            )
        merged = _merged(table.lazy(), state.keys).collect()
        return attrs.evolve(state, table=merged)

    def to_parquet(self, path: str | os.PathLike[str]) -> Path:
        """Write the state to one Parquet file (the metadata goes in its key-value metadata)."""
        target = Path(path)
        self.table.write_parquet(target, metadata={_META_KEY: json.dumps(self.meta())})
        return target

    @classmethod
    def from_parquet(cls, path: str | os.PathLike[str]) -> MetricState:
        """Read a state written by :meth:`to_parquet`.

        Raises
        ------
        SchemaError
            When the file cannot be read or is not a csmetrics metric state.
        """
        try:
            meta = pl.read_parquet_metadata(Path(path))
            table = pl.read_parquet(Path(path))
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise SchemaError(
                f"cannot read metric state {os.fspath(path)!r}: {exc}", reason="state_format"
            ) from exc
        if _META_KEY not in meta:
            raise SchemaError(
                f"{os.fspath(path)!r} is a Parquet file but not a csmetrics metric state "
                f"(no {_META_KEY!r} metadata); write states with MetricState.to_parquet",
                reason="state_format",
            )
        try:
            parsed = json.loads(meta[_META_KEY])
        except json.JSONDecodeError as exc:
            raise SchemaError(
                f"{os.fspath(path)!r}: unreadable {_META_KEY!r} metadata ({exc})",
                reason="state_format",
            ) from exc
        return cls.from_table(table, parsed)


# -- computing a state ---------------------------------------------------------------------


def _seconds(expr: pl.Expr) -> pl.Expr:
    return expr.dt.total_microseconds().cast(pl.Float64) / 1e6


def _number(metric: Metric, policy: Policy) -> pl.Expr:
    value = metric.value(policy)
    return _seconds(value) if metric.kind == "duration" else value.cast(pl.Float64)


def _population(metric: Metric, policy: Policy) -> pl.Expr:
    """The population as a column: a literal (``include_merged``) must not sum to 1."""
    return metric.population(policy).fill_null(value=False) & pl.col("case_id").is_not_null()


def _stats_aggs(metric: Metric, policy: Policy, prefix: str) -> list[pl.Expr]:
    """The additive statistics of one metric (mirrors :func:`csmetrics.compute`)."""
    pop = _population(metric, policy)
    out = [pop.sum().cast(pl.Int64).alias(prefix + "n")]
    if metric.kind in _VALUED:
        number = _number(metric, policy)
        kept = pl.when(pop).then(number)
        out += [
            open_rows(metric, policy).sum().cast(pl.Int64).alias(prefix + "n_open"),
            kept.count().cast(pl.Int64).alias(prefix + "n_values"),
            kept.sum().alias(prefix + "sum"),
            kept.min().alias(prefix + "min"),
            kept.max().alias(prefix + "max"),
        ]
        if metric.kind == "score":
            out += [
                (pop & (number >= 4)).sum().cast(pl.Int64).alias(prefix + "numerator"),
                kept.count().cast(pl.Int64).alias(prefix + "denominator"),
            ]
    elif metric.kind == "rate":
        hits = (pop & metric.value(policy).fill_null(value=False)).sum()
        out += [
            open_rows(metric, policy).sum().cast(pl.Int64).alias(prefix + "n_open"),
            hits.cast(pl.Int64).alias(prefix + "numerator"),
            pop.sum().cast(pl.Int64).alias(prefix + "denominator"),
        ]
    else:  # count
        out.append(open_rows(metric, policy).sum().cast(pl.Int64).alias(prefix + "n_open"))
    return out


def _grouped(frame: pl.LazyFrame, keys: list[str], aggs: list[pl.Expr]) -> pl.LazyFrame:
    return frame.group_by(keys).agg(aggs) if keys else frame.select(aggs)


def _stats(
    frame: pl.LazyFrame, keys: list[str], metrics: list[Metric], policy: Policy, tz: str
) -> list[pl.LazyFrame]:
    aggs = [a for i, m in enumerate(metrics) for a in _stats_aggs(m, policy, f"_{i}_")]
    wide = _grouped(frame, keys, aggs)
    names = set(wide.collect_schema().names())
    parts = []
    for i, metric in enumerate(metrics):
        prefix = f"_{i}_"
        columns = [pl.col(prefix + c).alias(c) for c in STATE_COLUMNS if prefix + c in names]
        long = wide.select(*keys, *columns).with_columns(
            pl.lit("stats").alias("part"), pl.lit(metric.name).alias("metric")
        )
        parts.append(_conform(long, keys, tz))
    return parts


def _sketch(
    frame: pl.LazyFrame,
    keys: list[str],
    metrics: list[Metric],
    policy: Policy,
    alpha: float,
    tz: str,
) -> list[pl.LazyFrame]:
    """Bucket counts per group and metric: one small group-by per metric with values."""
    parts = []
    for metric in (m for m in metrics if m.kind in _VALUED):
        value = pl.when(_population(metric, policy)).then(_number(metric, policy))
        counts = (
            frame.select(*keys, bucket_of(value, alpha).alias("slot"))
            .filter(pl.col("slot").is_not_null())
            .group_by(*keys, "slot")
            .agg(pl.len().cast(pl.Int64).alias("n"))
            .with_columns(pl.lit("sketch").alias("part"), pl.lit(metric.name).alias("metric"))
        )
        parts.append(_conform(counts, keys, tz))
    return parts


def _cases_part(cases: pl.LazyFrame, keys: list[str], tz: str) -> pl.LazyFrame:
    aggs = [
        pl.len().cast(pl.Int64).alias("n"),
        pl.col("is_open").sum().cast(pl.Int64).alias("n_open"),
        pl.col("as_of").max().alias("as_of"),
    ]
    return _conform(_grouped(cases, keys, aggs).with_columns(part=pl.lit("cases")), keys, tz)


def _customers_part(cases: pl.LazyFrame, keys: list[str], precision: int, tz: str) -> pl.LazyFrame:
    registers = hll_registers(cases, keys, "customer_id", precision)
    long = registers.select(*keys, pl.col("register").alias("slot"), "rank")
    return _conform(long.with_columns(part=pl.lit("customers")), keys, tz)


def _period_of(column: str, period: Period, tz: str) -> pl.Expr:
    return pl.col(column).dt.convert_time_zone(tz).dt.truncate(PERIODS[str(period)])


def _backlog_part(
    log: EventLog | object,
    cases: pl.LazyFrame,
    by: list[str],
    period: Period | None,
    metric: Metric,
    policy: Policy,
    on_invalid: OnInvalid,
) -> pl.LazyFrame:
    """Additive backlog rows: without a period, the cases open at ``as_of``; with one, the
    sum per period of the moments cases became open (+1) or stopped being open (−1)
    (:func:`csmetrics.cases.open_changes`), whose running sum is the backlog."""
    tz = policy.timezone
    population = cases.filter(_population(metric, policy))
    if period is None:
        aggs = [
            pl.len().cast(pl.Int64).alias("n"),
            pl.col("is_open").sum().cast(pl.Int64).alias("n_open"),
        ]
        grouped = _grouped(population, by, aggs)
        keys = by
    else:
        keys = [*by, "period_start"]
        changes = open_changes(log, policy, on_invalid=on_invalid).join(
            population.select("case_id", "created_at", *by), on="case_id", how="inner"
        )
        # keyed by the period a case was created in (what replace_periods replaces) and the
        # period of the change (``closed``), summed up to each period end by finalize
        grouped = changes.group_by(
            *by,
            _period_of("created_at", period, tz).alias("period_start"),
            _period_of("ts", period, tz).alias("closed"),
        ).agg(pl.col("change").sum().cast(pl.Int64).alias("n"))
    long = grouped.with_columns(
        pl.lit("backlog").alias("part"), pl.lit(metric.name).alias("metric")
    )
    return _conform(long, keys, tz)


def _keys_of(by: str | Sequence[str]) -> list[str]:
    return [by] if isinstance(by, str) else list(by)


def _check_period(period: object) -> None:
    if period is not None and period not in PERIODS:
        raise PolicyError(f"'period' must be in {tuple(PERIODS)} (got {period!r})")


def compute_state(
    log: EventLog | object,
    metrics: str | Metric | Sequence[str | Metric] | None = None,
    *,
    by: str | Sequence[str] = (),
    period: Period | None = None,
    policy: Policy | None = None,
    quantiles: Sequence[float] = (0.5, 0.9),
    on_invalid: OnInvalid = "raise",
    alpha: float = DEFAULT_ALPHA,
    precision: int = DEFAULT_PRECISION,
    engine: Engine = "streaming",
) -> MetricState:
    """The mergeable state of :func:`csmetrics.compute` for the same arguments.

    ``compute_state(log, ...).finalize()`` gives compute's table (see
    :meth:`MetricState.finalize` for what is exact). The plan reads and sorts the events
    once, like :func:`csmetrics.compute`, and is collected with ``engine`` (default
    Polars' streaming engine).

    Parameters
    ----------
    log, metrics, by, period, policy, quantiles, on_invalid
        As for :func:`csmetrics.compute`.
    alpha
        Relative accuracy of the quantile sketch (default 0.01: quantiles within 1 %).
    precision
        HyperLogLog precision of the distinct-customer sketch (default 14).
    engine
        ``"streaming"`` (default), ``"in-memory"``, ``"auto"`` or ``"gpu"``.

    Raises
    ------
    PolicyError
        For a ``by`` column the case table does not have, a bad period, quantile, alpha or
        precision, or a journey (issue-level) metric.
    UnknownMetricError
        For an unknown metric name.

    Examples
    --------
    >>> import csmetrics as csm
    >>> from csmetrics.state import compute_state
    >>> log = csm.testing.log_from_rows([("09:00", "case_created", "customer"),
    ...     ("09:30", "message", "agent"),
    ...     ("10:00", "status_changed", "agent", {"status": "solved"})])
    >>> state = compute_state(log, ["first_response_time", "reopen_rate"])
    >>> state.finalize().collect().select("metric", "n", "value").rows()
    [('first_response_time', 1, 1800.0), ('reopen_rate', 1, 0.0)]

    The median of one value is the value itself: quantiles never leave the exact
    [min, max] range.
    """
    policy = policy or Policy()
    chosen = resolve_metrics(metrics)
    if not chosen:
        raise PolicyError("'metrics' must name at least one metric")
    issue = [m.name for m in chosen if m.level == "issue"]
    if issue:
        raise PolicyError(
            f"metrics {issue} are measured on customer issues: use csm.journeys metrics"
        )
    qs = check_quantiles(quantiles)
    alpha = check_alpha(alpha)
    precision = check_precision(precision)
    by_cols = _keys_of(by)
    _check_period(period)
    tz = policy.timezone
    log = as_event_log(log)  # once: a one-shot source is read once
    available = [*CASE_COLUMNS, *sorted(passthrough_columns(log))]
    unknown = [c for c in by_cols if c not in available]
    if unknown:
        raise PolicyError(
            f"'by' column(s) {unknown} are not in the case table; available: {available}"
        )
    # only the columns the metrics read (a plugin metric that does not say: every column),
    # built once for the several parts below
    columns = case_columns_needed(chosen, by_cols, set(available), _CASE_NEEDS)
    cases = case_table(log, policy=policy, columns=columns, on_invalid=on_invalid).cache()
    keys = list(by_cols)
    keyed = cases
    if period is not None:
        anchor = "created_at" if policy.period_by == "created" else "last_resolved_at"
        keyed = cases.with_columns(_period_of(anchor, period, tz).alias("period_start"))
        keys.append("period_start")

    parts: list[pl.LazyFrame] = [
        _cases_part(keyed, keys, tz),
        _customers_part(keyed, keys, precision, tz),
    ]
    case_level = [m for m in chosen if m.level == "case" and m.kind != "backlog"]
    if case_level:
        parts += _stats(keyed, keys, case_level, policy, tz)
        parts += _sketch(keyed, keys, case_level, policy, alpha, tz)
    pair_level = [m for m in chosen if m.level == "pair"]
    if pair_level:
        pairs = next_reply_pairs(log, policy=policy, on_invalid=on_invalid).join(
            keyed.select("case_id", *keys, "merged", "agent_created", "is_open"),
            on="case_id",
            how="inner",
        )
        parts += _stats(pairs, keys, pair_level, policy, tz)
        parts += _sketch(pairs, keys, pair_level, policy, alpha, tz)
    for metric in (m for m in chosen if m.kind == "backlog"):
        parts.append(_backlog_part(log, cases, by_cols, period, metric, policy, on_invalid))
    table = collect(pl.concat(parts, how="vertical"), engine)
    return MetricState(
        table=table,
        by=tuple(by_cols),
        period=period,
        metrics=tuple(MetricSpec.of(m) for m in chosen),
        quantiles=qs,
        alpha=alpha,
        precision=precision,
        policy=_fingerprint(policy),
        timezone=tz,
    )


# -- partitions ----------------------------------------------------------------------------

_CASE_NEEDS: Final[tuple[str, ...]] = (
    "is_open",
    "merged",
    "agent_created",
    "as_of",
    "customer_id",
    "created_at",
    "last_resolved_at",
)
"""What the state's own parts read (counts, customers, periods, populations)."""

PartitionKey = Literal["case_id", "customer_id"]
_PARTITION_SEED: Final = 0x0C5


def suggest_partitions(n_events: int, memory_limit: int = 2 * 1024**3) -> int:
    """How many partitions keep one partition's peak memory under ``memory_limit`` bytes.

    ``ceil(n_events * BYTES_PER_EVENT / memory_limit)``, at least 1: the rule of the docs
    page (about 400 bytes per event of a partition).

    Examples
    --------
    >>> suggest_partitions(100_000_000, memory_limit=3 * 1024**3)
    13
    """
    if isinstance(memory_limit, bool) or not isinstance(memory_limit, int) or memory_limit <= 0:
        raise PolicyError(
            f"'memory_limit' must be a positive number of bytes (got {memory_limit!r})"
        )
    return max(1, math.ceil(n_events * BYTES_PER_EVENT / memory_limit))


def compute_partitioned(
    source: EventLog | object,
    metrics: str | Metric | Sequence[str | Metric] | None = None,
    *,
    partitions: int | Literal["auto"] = "auto",
    partition_by: PartitionKey = "case_id",
    memory_limit: int = 2 * 1024**3,
    by: str | Sequence[str] = (),
    period: Period | None = None,
    policy: Policy | None = None,
    quantiles: Sequence[float] = (0.5, 0.9),
    on_invalid: OnInvalid = "raise",
    alpha: float = DEFAULT_ALPHA,
    precision: int = DEFAULT_PRECISION,
    engine: Engine = "streaming",
    progress: Callable[[int, int], None] | None = None,
    spill_dir: str | Path | None = None,
) -> MetricState:
    """The state of a log processed in hash partitions, one after another.

    Partition ``i`` of ``N`` holds the cases whose ``partition_by`` id hashes to ``i``
    modulo ``N``. The log is read (and validated) once, in one streaming pass that writes
    each partition's events to a temporary Parquet folder (under ``spill_dir``; removed at
    the end); each partition is then read back, turned into a state and merged into the
    running state, so only one partition's events and case table are in memory at a time.
    ``as_of`` (when the policy leaves it open) is resolved once for the whole log first, so
    every partition censors open cases at the same instant, and the result equals
    :func:`compute_state` on the whole log.

    Parameters
    ----------
    source
        An :class:`~csmetrics.EventLog`, a path, or anything :meth:`EventLog.from_frame`
        reads. A lazy scan of files is best: it is read once, in one streaming pass.
    partitions
        Number of partitions, or ``"auto"``: :func:`suggest_partitions` for the number of
        events and ``memory_limit``.
    partition_by
        ``"case_id"`` (default) or ``"customer_id"`` (keeps a customer's cases together,
        as journeys need).
    memory_limit
        Peak memory per partition to aim for with ``partitions="auto"``, in bytes.
    by, period, policy, quantiles, on_invalid, alpha, precision, engine
        As for :func:`compute_state`; the log is validated once (``on_invalid``) before
        it is partitioned.
    progress
        Called as ``progress(i, N)`` after partition ``i`` (1-based) is done.
    spill_dir
        Where the temporary partition files go (default: the system's temporary folder);
        it needs room for the log's events as Parquet.

    Examples
    --------
    >>> import csmetrics as csm
    >>> from csmetrics.state import compute_partitioned, compute_state
    >>> log = csm.datasets.simulate(300, seed=2)
    >>> parts = compute_partitioned(log, "volume", partitions=3, period="week")
    >>> whole = compute_state(log, "volume", period="week")
    >>> parts.finalize().collect().equals(whole.finalize().collect())
    True
    """
    policy = policy or Policy()
    if partition_by not in ("case_id", "customer_id"):
        raise PolicyError(
            f"'partition_by' must be 'case_id' or 'customer_id' (got {partition_by!r})"
        )
    checked = as_event_log(source).checked(on_invalid)
    frame = checked.frame
    if partitions == "auto":
        n_events = int(collect(frame.select(pl.len()), "streaming").item())
        count = suggest_partitions(n_events, memory_limit)
    elif isinstance(partitions, bool) or not isinstance(partitions, int) or partitions < 1:
        raise PolicyError(f"'partitions' must be a positive integer or 'auto' (got {partitions!r})")
    else:
        count = partitions
    if policy.as_of is None:
        latest = collect(frame.select(pl.col("ts").max()), "streaming").item()
        if latest is not None:
            policy = policy.replace(as_of=latest, name=policy.name)
    state: MetricState | None = None
    with tempfile.TemporaryDirectory(prefix="csmetrics-partitions-", dir=spill_dir) as folder:
        parts = _spill(frame, partition_by, count, Path(folder)) if count > 1 else [frame]
        for i, part in enumerate(parts):
            log = EventLog.trusted(part, source=f"{checked.source} (partition {i + 1}/{count})")
            piece = compute_state(
                log,
                metrics,
                by=by,
                period=period,
                policy=policy,
                quantiles=quantiles,
                alpha=alpha,
                precision=precision,
                engine=engine,
            )
            state = piece if state is None else state.merge(piece)
            if progress is not None:
                progress(i + 1, count)
    assert state is not None
    return state


def _spill(frame: pl.LazyFrame, partition_by: str, count: int, folder: Path) -> list[pl.LazyFrame]:
    """The events written once, in one streaming pass, into ``count`` hash partitions under
    ``folder``; a scan of each. (Filtering the source once per partition would read it
    ``count`` times, and validate it again each time.)"""
    bucket = (pl.col(partition_by).hash(_PARTITION_SEED) % count).alias("_partition")
    frame.with_columns(bucket).sink_parquet(
        pl.PartitionBy(folder, key="_partition", include_key=False),
        mkdir=True,
        compression="lz4",  # read back once, soon: fast over small
        statistics=False,
    )
    schema = frame.collect_schema()
    scans = []
    for i in range(count):
        files = sorted(folder.glob(f"_partition={i}/*.parquet"))
        scans.append(
            pl.scan_parquet(files, hive_partitioning=False)
            if files
            else pl.LazyFrame(schema=schema)
        )
    return scans
