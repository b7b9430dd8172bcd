"""Aggregating metrics over the case table: :func:`compute` and :func:`survival`.

:func:`compute` returns one tidy row per group × period × metric (DESIGN §4.1). Every
metric asked for is aggregated in one ``group_by`` over the case table, so asking for fewer
metrics costs less, and the events are read and sorted once however many metrics there are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final, Literal, overload

import attrs
import polars as pl

from csmetrics._light import light_columns
from csmetrics.calendar import BusinessCalendar
from csmetrics.cases import (
    OnInvalid,
    aggregate_cases,
    annotated_events,
    case_table,
    next_reply_pairs,
)
from csmetrics.exceptions import PolicyError
from csmetrics.log import EventLog
from csmetrics.metrics import registry
from csmetrics.metrics.registry import Metric
from csmetrics.policy import Policy
from csmetrics.sla import SlaPolicy, sla_metrics

if TYPE_CHECKING:
    from csmetrics.state import MetricState

__all__ = ["PERIODS", "Period", "compute", "resolve_metrics", "survival"]

Period = Literal["day", "week", "month", "quarter"]
PERIODS: Final[dict[str, str]] = {"day": "1d", "week": "1w", "month": "1mo", "quarter": "1q"}
TIDY_COLUMNS: Final[tuple[str, ...]] = (
    "metric",
    "unit",
    "n",
    "n_open",
    "value",
    "mean",
)


def resolve_metrics(metrics: str | Metric | Sequence[str | Metric] | None) -> list[Metric]:
    """Metric objects for names (or objects); ``None`` means every case-level built-in."""
    if metrics is None:
        return [m for m in registry.builtins() if m.level in ("case", "pair", "period")]
    if isinstance(metrics, str | Metric):
        metrics = [metrics]
    resolved = [registry.get(m) if isinstance(m, str) else m for m in metrics]
    seen: set[str] = set()
    unique = []
    for metric in resolved:
        if metric.name not in seen:
            seen.add(metric.name)
            unique.append(metric)
    return unique


def _q_name(q: float) -> str:
    text = f"{q * 100:g}".replace(".", "_")
    return f"p{text}"


def _check_quantiles(quantiles: Sequence[float]) -> tuple[float, ...]:
    bad = [q for q in quantiles if not 0 <= q <= 1]
    if bad:
        raise PolicyError(f"'quantiles' must lie in [0, 1] (got {bad})")
    return tuple(dict.fromkeys(quantiles))


def _period_start(anchor: str, period: Period, policy: Policy) -> pl.Expr:
    return pl.col(anchor).dt.convert_time_zone(policy.timezone).dt.truncate(PERIODS[period])


def check_by_columns(cases: pl.LazyFrame, by: Sequence[str]) -> None:
    """Raise a :class:`PolicyError` naming the ``by`` columns the case table lacks."""
    available = cases.collect_schema().names()
    unknown = [c for c in by if c not in available]
    if unknown:
        raise PolicyError(
            f"'by' column(s) {unknown} are not in the case table; available: {available}"
        )


def _grouped(frame: pl.LazyFrame, keys: list[str], aggs: list[pl.Expr]) -> pl.LazyFrame:
    if keys:
        return frame.group_by(keys).agg(aggs)
    return frame.select(aggs)


def _seconds(expr: pl.Expr) -> pl.Expr:
    return expr.dt.total_microseconds().cast(pl.Float64) / 1e6


def _metric_aggs(
    metric: Metric, policy: Policy, prefix: str, quantiles: tuple[float, ...]
) -> list[pl.Expr]:
    """The aggregations of one metric, as columns named ``{prefix}{stat}``."""
    # a row-wise True makes a literal population (pl.lit(True)) count every row, not one
    every_row = pl.int_range(pl.len()) >= 0
    pop = (every_row & metric.population(policy)).fill_null(value=False)
    value = metric.value(policy)
    out: list[pl.Expr] = [pop.sum().alias(prefix + "n")]
    if metric.kind in ("duration", "amount", "score"):
        number = _seconds(value) if metric.kind == "duration" else value.cast(pl.Float64)
        kept = pl.when(pop).then(number)
        # sums and means from exact integer micro-units: identical on every engine and
        # thread count (a float sum depends on the order it is added in)
        micros = (
            value.dt.total_microseconds()
            if metric.kind == "duration"
            else (value.cast(pl.Float64) * 1e6).round(0).cast(pl.Int64)
        )
        kept_micros = pl.when(pop).then(micros)
        exact_sum = kept_micros.sum().cast(pl.Float64) / 1e6
        count = kept_micros.count()
        out += [
            (pop & number.is_null()).sum().alias(prefix + "n_open"),
            pl.when(count > 0).then(exact_sum / count).alias(prefix + "mean"),
            *(kept.quantile(q, "linear").alias(prefix + _q_name(q)) for q in quantiles),
        ]
        if metric.kind == "duration":
            out.append(kept.quantile(0.5, "linear").alias(prefix + "value"))
        elif metric.kind == "amount":
            out.append(exact_sum.alias(prefix + "value"))
        else:  # score: share of scores >= 4
            satisfied = (pop & (number >= 4)).sum()
            out += [
                satisfied.alias(prefix + "numerator"),
                kept.count().alias(prefix + "denominator"),
            ]
    elif metric.kind == "rate":
        hits = (pop & value.fill_null(value=False)).sum()
        out += [
            (pop & pl.col("is_open")).sum().alias(prefix + "n_open"),
            hits.alias(prefix + "numerator"),
            pop.sum().alias(prefix + "denominator"),
        ]
    elif metric.kind == "count":
        out += [
            (pop & pl.col("is_open")).sum().alias(prefix + "n_open"),
            pop.sum().cast(pl.Float64).alias(prefix + "value"),
        ]
    return out


def _tidy(
    wide: pl.LazyFrame, keys: list[str], metric: Metric, prefix: str, quantiles: tuple[float, ...]
) -> pl.LazyFrame:
    names = set(wide.collect_schema().names())

    def stat(name: str, dtype: pl.DataType | type[pl.DataType]) -> pl.Expr:
        column = prefix + name
        return (pl.col(column) if column in names else pl.lit(None)).cast(dtype).alias(name)

    numerator, denominator = stat("numerator", pl.Float64), stat("denominator", pl.Float64)
    value = stat("value", pl.Float64)
    mean = stat("mean", pl.Float64)
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
        *(stat(_q_name(q), pl.Float64) for q in quantiles),
        numerator,
        denominator,
    )


def _backlog(
    cases: pl.LazyFrame,
    by: list[str],
    period: Period | None,
    policy: Policy,
    metric: Metric,
    quantiles: tuple[float, ...],
) -> pl.LazyFrame:
    """Open cases at the end of each period (or at ``as_of``) per group."""
    population = cases.filter(metric.population(policy).fill_null(value=False))
    if period is None:
        open_now = pl.col("is_open").sum().cast(pl.Float64)
        wide = _grouped(
            population, by, [open_now.alias("value"), pl.col("is_open").sum().alias("n")]
        )
        keys = by
    else:
        every = PERIODS[period]
        start = _period_start("created_at", period, policy).alias("period_start")
        opened = population.group_by(*by, start).agg(pl.len().alias("_opened"))
        closed = (
            population.filter(pl.col("last_resolved_at").is_not_null())
            .group_by(*by, _period_start("last_resolved_at", period, policy).alias("period_start"))
            .agg(pl.len().alias("_closed"))
        )
        # an empty population has no span: a placeholder start keeps datetime_range valid,
        # and the grid rows of empty groups are dropped below
        placeholder = pl.lit(dt.datetime(2000, 1, 1, tzinfo=dt.UTC)).dt.convert_time_zone(
            policy.timezone
        )
        first = _period_start("created_at", period, policy).min().fill_null(placeholder)
        last = _period_start("as_of", period, policy).max().fill_null(first)
        span = pl.datetime_range(first, last, every).alias("period_start")
        grid = (
            _grouped(population, by, [span.implode(), pl.len().alias("_cases")])
            .filter(pl.col("_cases") > 0)
            .drop("_cases")
            .explode("period_start")
        )
        keys = [*by, "period_start"]
        joined = (
            grid.join(opened, on=keys, how="left", nulls_equal=True)
            .join(closed, on=keys, how="left", nulls_equal=True)
            .with_columns(pl.col("_opened", "_closed").fill_null(0))
            .sort(keys)
        )
        running = pl.col("_opened").cum_sum() - pl.col("_closed").cum_sum()
        if by:
            running = running.over(by)
        wide = joined.select(*keys, running.cast(pl.Float64).alias("value"), running.alias("n"))
    return wide.select(
        *keys,
        pl.lit(metric.name).alias("metric"),
        pl.lit(metric.unit).alias("unit"),
        pl.col("n").cast(pl.Int64),
        pl.col("n").cast(pl.Int64).alias("n_open"),
        pl.col("value"),
        pl.lit(None, pl.Float64).alias("mean"),
        *(pl.lit(None, pl.Float64).alias(_q_name(q)) for q in quantiles),
        pl.lit(None, pl.Float64).alias("numerator"),
        pl.lit(None, pl.Float64).alias("denominator"),
    )


_ALWAYS: Final[tuple[str, ...]] = ("is_open", "merged", "agent_created", "as_of")
_BUSINESS_TWINS: Final[dict[str, str]] = {
    "first_response_time": "first_response_time_business",
    "first_resolution_time": "first_resolution_time_business",
    "full_resolution_time": "full_resolution_time_business",
    "requester_wait_time": "requester_wait_time_business",
    "agent_wait_time": "agent_wait_time_business",
    "on_hold_time": "on_hold_time_business",
    "next_reply_time": "next_reply_time_business",
}


def business_twin(metric: Metric) -> Metric:
    """The business-time twin of a built-in duration metric: same population and clock."""
    column = _BUSINESS_TWINS[metric.name]
    return attrs.evolve(
        metric,
        name=column,
        definition=metric.definition + " Measured in business time (the calendar's open hours).",
        value=lambda policy: pl.col(column),
        columns=(*metric.columns, column),
        censor_start=None,
    )


def _needed_columns(
    metrics: list[Metric], by: list[str], period: Period | None, policy: Policy
) -> list[str] | None:
    """The case-table columns a computation needs, or ``None`` when it needs them all.

    ``None`` (the full, sequential plan) when a metric is measured on next-reply pairs,
    declares no columns (a plugin that did not say), or needs a column that only the
    sequential plan gives.
    """
    if any(m.level == "pair" or not m.columns for m in metrics):
        return None
    needed = [*_ALWAYS, *by, *(c for m in metrics if m.level != "issue" for c in m.columns)]
    if any(m.level == "issue" for m in metrics):
        from csmetrics.journeys import CASE_NEEDS  # journeys builds on this module

        needed += CASE_NEEDS
    if period is not None or any(m.kind == "backlog" for m in metrics):
        needed += ["created_at", "last_resolved_at"]
    wanted = list(dict.fromkeys(needed))
    if not set(wanted) <= light_columns(policy) | set(by):
        return None
    return wanted


@overload
def compute(
    log: EventLog | object,
    metrics: str | Metric | Sequence[str | Metric] | None = None,
    *,
    by: str | Sequence[str] = (),
    period: Period | None = None,
    policy: Policy | None = None,
    quantiles: Sequence[float] = (0.5, 0.9),
    calendar: BusinessCalendar | None = None,
    sla: SlaPolicy | None = None,
    on_invalid: OnInvalid = "raise",
    state: Literal[False] = ...,
) -> pl.LazyFrame: ...
@overload
def compute(
    log: EventLog | object,
    metrics: str | Metric | Sequence[str | Metric] | None = None,
    *,
    by: str | Sequence[str] = (),
    period: Period | None = None,
    policy: Policy | None = None,
    quantiles: Sequence[float] = (0.5, 0.9),
    calendar: BusinessCalendar | None = None,
    sla: SlaPolicy | None = None,
    on_invalid: OnInvalid = "raise",
    state: Literal[True],
) -> MetricState: ...
def compute(
    log: EventLog | object,
    metrics: str | Metric | Sequence[str | Metric] | None = None,
    *,
    by: str | Sequence[str] = (),
    period: Period | None = None,
    policy: Policy | None = None,
    quantiles: Sequence[float] = (0.5, 0.9),
    calendar: BusinessCalendar | None = None,
    sla: SlaPolicy | None = None,
    on_invalid: OnInvalid = "raise",
    state: bool = False,
) -> pl.LazyFrame | MetricState:
    """Compute metrics per group and period as one tidy lazy frame.

    Parameters
    ----------
    log
        An :class:`~csmetrics.EventLog` or anything :meth:`EventLog.from_frame` reads.
    metrics
        Metric names or objects; default every built-in case, pair and period metric.
    by
        Case-table columns to group by (``channel``, ``channel_kind``, ``team``,
        ``agent_id``, ``priority``, ``topic``, any pass-through column …).
    period
        ``"day"``, ``"week"`` (starting Monday), ``"month"`` or ``"quarter"``, cut in
        ``policy.timezone``; cases are attributed to the period they were created in (or
        resolved in, per ``policy.period_by``; unresolved cases then have a null period).
    policy
        The definitions; default ``Policy()``.
    quantiles
        Quantiles to report (linear interpolation), as columns ``p50``, ``p90`` ….
    calendar
        A :class:`~csmetrics.BusinessCalendar`: every duration metric asked for is also
        reported in business time, as ``<name>_business``.
    sla
        A :class:`~csmetrics.SlaPolicy`: adds ``sla_attainment`` and ``sla_breaches`` per
        target (a ``target`` column names it; see :func:`csmetrics.sla_metrics`).
    on_invalid
        ``"raise"`` on any invalid event, or ``"quarantine"`` to leave invalid rows out
        (they stay in ``log.rejected``).
    state
        Return the mergeable :class:`~csmetrics.MetricState` instead (counts, sums and
        sketches per group and period; ``.finalize()`` gives this table, quantiles within
        the sketch's relative error). For incremental and partitioned jobs.

    Returns
    -------
    pl.LazyFrame
        Columns: the ``by`` columns, ``period_start`` (with a period), ``metric``, ``unit``,
        ``n`` (cases, or pairs, in the population), ``n_open`` (without a value yet at
        ``as_of`` for durations; still open for rates and counts), ``value`` (the median
        for durations, the share for rates and scores, the total for counts and amounts),
        ``mean``, one column per quantile, ``numerator``, ``denominator``. Durations are in
        seconds.

    Raises
    ------
    PolicyError
        For a ``by`` column the case table does not have, or a bad period or quantile.
    UnknownMetricError
        For an unknown metric name.

    Examples
    --------
    >>> import csmetrics as csm
    >>> log = csm.testing.log_from_rows([("09:00", "case_created", "customer"),
    ...     ("09:30", "message", "agent"),
    ...     ("10:00", "status_changed", "agent", {"status": "solved"})])
    >>> out = csm.compute(log, ["first_response_time", "reopen_rate"]).collect()
    >>> out.select("metric", "n", "value").rows()
    [('first_response_time', 1, 1800.0), ('reopen_rate', 1, 0.0)]

    One case answered after 30 minutes (1800 s), solved once and never reopened.
    """
    if state:
        from csmetrics.state import compute_state  # state builds on this module

        return compute_state(
            log,
            metrics,
            by=by,
            period=period,
            policy=policy,
            quantiles=quantiles,
            on_invalid=on_invalid,
        )
    policy = policy or Policy()
    chosen = resolve_metrics(metrics)
    if not chosen:
        raise PolicyError("'metrics' must name at least one metric")
    if calendar is not None:
        chosen += [business_twin(m) for m in chosen if m.name in _BUSINESS_TWINS]
    qs = _check_quantiles(quantiles)
    by_cols = [by] if isinstance(by, str) else list(by)
    if period is not None and period not in PERIODS:
        raise PolicyError(f"'period' must be in {tuple(PERIODS)} (got {period!r})")
    columns = _needed_columns(chosen, by_cols, period, policy)
    events: pl.LazyFrame | None = None
    if columns is None:
        events = annotated_events(log, policy, on_invalid=on_invalid, calendar=calendar)
        cases = aggregate_cases(events, policy, calendar=calendar)
    else:  # every metric asked for is order-free: one group_by, no sort
        cases = case_table(log, policy, columns=columns, calendar=calendar, on_invalid=on_invalid)
    check_by_columns(cases, by_cols)
    keys = list(by_cols)
    base_cases = cases
    if period is not None:
        anchor = "created_at" if policy.period_by == "created" else "last_resolved_at"
        cases = cases.with_columns(_period_start(anchor, period, policy).alias("period_start"))
        keys.append("period_start")

    parts: list[pl.LazyFrame] = []
    case_level = [m for m in chosen if m.level == "case" and m.kind != "backlog"]
    if case_level:
        aggs = [
            agg
            for i, metric in enumerate(case_level)
            for agg in _metric_aggs(metric, policy, f"_{i}_", qs)
        ]
        wide = _grouped(cases, keys, aggs)
        parts += [_tidy(wide, keys, m, f"_{i}_", qs) for i, m in enumerate(case_level)]
    for metric in (m for m in chosen if m.level == "pair"):
        assert events is not None  # pair metrics always take the sequential plan
        pairs = next_reply_pairs(log, policy, events=events).join(
            cases.select("case_id", *keys, "merged", "agent_created", "is_open"),
            on="case_id",
            how="inner",
        )
        wide = _grouped(pairs, keys, _metric_aggs(metric, policy, "_p_", qs))
        parts.append(_tidy(wide, keys, metric, "_p_", qs))
    for metric in (m for m in chosen if m.kind == "backlog"):
        parts.append(_backlog(cases, by_cols, period, policy, metric, qs))
    issue_level = [m for m in chosen if m.level == "issue"]
    if issue_level:
        from csmetrics.journeys import metrics_from_cases  # journeys builds on this module

        parts.append(
            metrics_from_cases(
                base_cases, issue_level, by=by_cols, period=period, policy=policy, quantiles=qs
            )
        )
    order = [*keys, "metric"]
    if sla is not None:
        parts.append(
            sla_metrics(
                log,
                sla,
                by=by_cols,
                period=period,
                policy=policy,
                calendar=calendar,
                quantiles=qs,
                on_invalid=on_invalid,
                events=events,
            )
        )
        order.append("target")
    return pl.concat(parts, how="diagonal_relaxed").sort(order, nulls_last=True)


def survival(
    log: EventLog | object,
    metric: str | Metric = "first_response_time",
    *,
    by: str | Sequence[str] = (),
    policy: Policy | None = None,
    quantiles: Sequence[float] = (0.5, 0.9),
    on_invalid: OnInvalid = "raise",
) -> pl.LazyFrame:
    """Kaplan–Meier estimates of a duration metric, censoring open cases at ``as_of``.

    A case still waiting at ``as_of`` is not dropped: it is known to have waited at least
    ``as_of - start``, and enters the estimate as censored there. So the median and p90 do
    not silently leave out the slowest cases.

    Returns
    -------
    pl.LazyFrame
        Per group: ``metric``, ``n`` (cases), ``n_events`` (with a value), ``n_censored``,
        and one column per quantile in seconds: the smallest time at which the estimated
        share still waiting falls to ``1 - q`` or below (null when the estimate never gets
        there: not enough cases finished to tell).

    Examples
    --------
    >>> import csmetrics as csm
    >>> log = csm.testing.log_from_rows([("09:00", "case_created", "customer", {"case_id": 1}),
    ...     ("09:10", "message", "agent", {"case_id": 1}),
    ...     ("09:00", "case_created", "customer", {"case_id": 2}),
    ...     ("10:00", "note", "agent", {"case_id": 2})])
    >>> csm.survival(log).collect().select("n", "n_censored", "p50").row(0)
    (2, 1, 600.0)

    Case 2 waited an hour without a reply: it is censored at 3600 s; half of the cases are
    answered by 600 s.
    """
    policy = policy or Policy()
    (chosen,) = resolve_metrics(metric)
    if chosen.kind != "duration" or chosen.censor_start is None or chosen.level != "case":
        raise PolicyError(
            f"survival needs a case-level duration metric with a clock start (got {chosen.name!r})"
        )
    qs = _check_quantiles(quantiles)
    by_cols = [by] if isinstance(by, str) else list(by)
    cases = aggregate_cases(annotated_events(log, policy, on_invalid=on_invalid), policy)
    value = chosen.value(policy)
    done = value.is_not_null()
    waited = pl.when(done).then(value).otherwise(pl.col("as_of") - chosen.censor_start(policy))
    times = cases.filter(chosen.population(policy).fill_null(value=False)).select(
        *by_cols, _seconds(waited).alias("t"), done.alias("done")
    )
    steps = (
        times.group_by(*by_cols, "t")
        .agg(pl.col("done").sum().alias("d"), pl.len().alias("c"))
        .sort([*by_cols, "t"])
    )

    def per_group(expr: pl.Expr) -> pl.Expr:
        return expr.over(by_cols) if by_cols else expr

    at_risk = per_group(pl.col("c").sum()) - per_group(pl.col("c").cum_sum()) + pl.col("c")
    curve = steps.with_columns(per_group((1 - pl.col("d") / at_risk).cum_prod()).alias("s"))
    aggs = [
        pl.lit(chosen.name).alias("metric"),
        pl.col("c").sum().cast(pl.Int64).alias("n"),
        pl.col("d").sum().cast(pl.Int64).alias("n_events"),
        (pl.col("c").sum() - pl.col("d").sum()).cast(pl.Int64).alias("n_censored"),
        *(pl.col("t").filter(pl.col("s") <= 1 - q + 1e-12).min().alias(_q_name(q)) for q in qs),
    ]
    result = _grouped(curve, by_cols, aggs)
    return result.sort(by_cols) if by_cols else result
