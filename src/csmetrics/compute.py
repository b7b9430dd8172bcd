"""The front door: :func:`compute`, :func:`journey_metrics` and :func:`survival`.

:func:`compute` returns one tidy row per group × period × metric (DESIGN §4.1) for any mix of
case, pair, issue and period metrics, over one case table built with exactly the columns the
metrics read (:func:`csmetrics.case_table`). How each kind of metric aggregates lives in
:mod:`csmetrics.metrics._aggregate`; the journey frames in :mod:`csmetrics.journeys`.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Sequence
from typing import Final, Literal, overload

import polars as pl

from csmetrics._capabilities import mark_unmeasurable, not_measurable_reasons
from csmetrics.calendar import BusinessCalendar
from csmetrics.cases import (
    BUSINESS_COLUMNS,
    CASE_COLUMNS,
    OnInvalid,
    case_table,
    next_reply_pairs,
    open_changes,
    passthrough_columns,
)
from csmetrics.exceptions import PolicyError
from csmetrics.journeys import (
    DEFAULT_WINDOW,
    ISSUE_COLUMNS,
    JOURNEY_CASE_COLUMNS,
    IdentityMap,
    Window,
    case_columns_for,
    issues_from_cases,
    link_cases,
    transitions,
)
from csmetrics.log import EventLog, as_event_log
from csmetrics.metrics._aggregate import (
    PERIODS,
    Period,
    aggregate,
    by_columns,
    case_columns_needed,
    check_period,
    check_quantiles,
    grouped,
    period_key,
    period_start,
    quantile_name,
    resolve_metrics,
    seconds,
)
from csmetrics.metrics.registry import Metric, builtins
from csmetrics.policy import Policy
from csmetrics.sla import SlaPolicy, sla_metrics
from csmetrics.state import MetricState, compute_state

__all__ = ["PERIODS", "Period", "compute", "journey_metrics", "resolve_metrics", "survival"]

_ALWAYS: Final[tuple[str, ...]] = ("is_open", "merged", "agent_created", "as_of")
_ANCHORS: Final[dict[str, tuple[str, str]]] = {
    "cases": ("created_at", "last_resolved_at"),
    "pairs": ("created_at", "last_resolved_at"),
    "journey_cases": ("created_at", "last_resolved_at"),
    "transitions": ("created_at", "last_resolved_at"),
    "issues": ("first_contact_at", "resolved_at"),
}


def business_twin(metric: Metric) -> Metric:
    """The business-time twin of a duration metric: same population and clock, the value
    read from the case-table column ``metric.business``."""
    column = metric.business
    if column is None:
        raise PolicyError(f"metric {metric.name!r} has no business-time twin")
    return Metric(
        name=column,
        unit=metric.unit,
        kind=metric.kind,
        level=metric.level,
        definition=metric.definition + " Measured in business time (the calendar's open hours).",
        docs=metric.docs,
        value=lambda policy: pl.col(column),
        population=metric.population,
        columns=(*metric.columns, column),
        frame=metric.frame,
        keys=metric.keys,
        open_when=metric.open_when,
        requires=metric.requires,
    )


def _case_columns_needed(
    chosen: list[Metric],
    by: list[str],
    period: Period | None,
    known: set[str],
) -> list[str] | None:
    """The case-table columns a computation reads, or ``None`` when a metric does not say."""
    needed = case_columns_needed(chosen, by, known, _ALWAYS)
    if needed is None:
        return None
    issue_level = [m for m in chosen if m.level == "issue"]
    if issue_level:
        needed += case_columns_for(c for m in issue_level for c in m.columns)
    if period is not None:
        needed += ["created_at", "last_resolved_at"]
    return list(dict.fromkeys(needed))


def _check_by(by: list[str], chosen: list[Metric], known: set[str]) -> None:
    """Every ``by`` column must be one every requested metric can be grouped by."""
    journey_only = set(ISSUE_COLUMNS) | set(JOURNEY_CASE_COLUMNS)
    for metric in chosen:
        issue_level = metric.level == "issue"
        usable = known | (journey_only if issue_level else set())
        unknown = [c for c in by if c not in usable]
        if not unknown:
            continue
        close = sorted({m for c in unknown for m in difflib.get_close_matches(c, usable, n=3)})
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        if not issue_level and any(c in journey_only for c in unknown):
            raise PolicyError(
                f"'by' column(s) {unknown} are issue columns: they group issue-level metrics "
                f"only, and {metric.name!r} is {metric.level}-level; group it by case-table "
                "columns (channel, channel_kind, is_public, team, priority, topic, …)"
            )
        where = "in the case table or the journey frames" if issue_level else "in the case table"
        raise PolicyError(
            f"'by' column(s) {unknown} are not {where}{hint}, so metric {metric.name!r} "
            f"({metric.level}-level) cannot be grouped by them; it can use case-table "
            "columns (channel, channel_kind, is_public, team, priority, topic, …, see "
            "csmetrics.cases.CASE_COLUMNS) and pass-through columns"
            + (", or issue columns (first_channel, n_contacts, …)" if issue_level else "")
        )


def _with_period(
    frame: pl.LazyFrame, name: str, period: Period | None, policy: Policy
) -> pl.LazyFrame:
    if period is None:
        return frame
    anchor = _ANCHORS[name][0 if policy.period_by == "created" else 1]
    return frame.with_columns(period_start(anchor, period, policy.timezone))


def _backlog(
    log: EventLog | object,
    cases: pl.LazyFrame,
    by: list[str],
    period: Period | None,
    policy: Policy,
    metric: Metric,
    quantiles: tuple[float, ...],
    on_invalid: OnInvalid,
) -> pl.LazyFrame:
    """Cases open (DESIGN §3) at each period end, or at ``as_of`` without a period.

    Every case adds one at creation (unless resolved then), one at each reopen and takes one
    away at each resolution; the backlog at a period's end is the running sum of those
    changes up to it — the count of cases open at that instant, the last one at ``as_of``.
    """
    population = cases.filter(metric.population(policy).fill_null(value=False))
    if period is None:
        open_now = pl.col("is_open").fill_null(value=False).sum()
        wide = grouped(population, by, [open_now.alias("_open")])
        keys = by
    else:
        spec = check_period(period)
        assert spec is not None
        if spec.every is None:
            raise PolicyError(
                f"backlog counts the cases open at each period's end: period {spec.name!r} is "
                "a profile with no end; use a calendar period ('day', 'week' …) or a duration"
            )
        tz = policy.timezone
        changes = open_changes(log, policy, on_invalid=on_invalid).join(
            population.select("case_id", *by), on="case_id", how="inner"
        )
        start = period_start("ts", period, tz)
        per_period = changes.group_by(*by, start).agg(pl.col("change").sum().alias("_change"))
        placeholder = pl.lit(dt.datetime(2000, 1, 1, tzinfo=dt.UTC)).dt.convert_time_zone(tz)
        first = period_start("created_at", period, tz).min().fill_null(placeholder)
        last = period_start("as_of", period, tz).max().fill_null(first)
        span = pl.datetime_range(first, last, spec.every).alias("period_start")
        grid = (
            grouped(population, by, [span.implode(), pl.len().alias("_cases")])
            .filter(pl.col("_cases") > 0)
            .drop("_cases")
            .explode("period_start")
        )
        keys = [*by, "period_start"]
        running = pl.col("_change").cum_sum()
        if by:
            running = running.over(by)
        wide = (
            grid.join(per_period, on=keys, how="left", nulls_equal=True)
            .with_columns(pl.col("_change").fill_null(0))
            .sort(keys)
            .select(*keys, running.alias("_open"))
        )
    return wide.select(
        *keys,
        pl.lit(metric.name).alias("metric"),
        pl.lit(metric.unit).alias("unit"),
        pl.col("_open").cast(pl.Int64).alias("n"),
        pl.col("_open").cast(pl.Int64).alias("n_open"),
        pl.col("_open").cast(pl.Float64).alias("value"),
        pl.lit(None, pl.Float64).alias("mean"),
        *(pl.lit(None, pl.Float64).alias(quantile_name(q)) for q in quantiles),
        pl.lit(None, pl.Float64).alias("numerator"),
        pl.lit(None, pl.Float64).alias("denominator"),
    )


def _journey_frames(
    cases: pl.LazyFrame,
    by: list[str],
    wanted: set[str],
    *,
    window: Window,
    fcr_window: Window,
    same_topic: bool,
    identity: IdentityMap | None,
) -> dict[str, pl.LazyFrame]:
    """The journey frames the metrics read, from the one case table.

    A ``by`` column that is a case attribute groups issues and transitions by its value on
    the issue's first case (``by="channel"``: the channel the issue started on); journey
    cases keep their own value.
    """
    linked = link_cases(
        cases, window=window, fcr_window=fcr_window, same_topic=same_topic, identity=identity
    )
    if len(wanted & {"issues", "journey_cases", "transitions"}) > 1:
        linked = linked.cache()  # several frames read the linked cases: link them once
    carry = [c for c in by if c not in ISSUE_COLUMNS and c in linked.collect_schema()]
    frames: dict[str, pl.LazyFrame] = {}
    if "issues" in wanted:
        frames["issues"] = issues_from_cases(linked, carry=carry, ordered=False)
    if "journey_cases" in wanted:
        frames["journey_cases"] = linked
    if "transitions" in wanted:
        first_case = [pl.col(c).first().over("issue_id").alias(c) for c in carry]
        frames["transitions"] = transitions(linked.with_columns(first_case))
    return frames


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
    window: Window = DEFAULT_WINDOW,
    fcr_window: Window = DEFAULT_WINDOW,
    same_topic: bool = False,
    identity: IdentityMap | None = None,
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
    window: Window = DEFAULT_WINDOW,
    fcr_window: Window = DEFAULT_WINDOW,
    same_topic: bool = False,
    identity: IdentityMap | None = None,
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
    window: Window = DEFAULT_WINDOW,
    fcr_window: Window = DEFAULT_WINDOW,
    same_topic: bool = False,
    identity: IdentityMap | None = None,
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
        chosen += [business_twin(m) for m in chosen if m.business is not None]
    qs = check_quantiles(quantiles)
    by_cols = by_columns(by)
    check_period(period)
    log = as_event_log(log)  # once: a one-shot source is read once
    passthrough = passthrough_columns(log)
    known = {*CASE_COLUMNS, *passthrough, *(BUSINESS_COLUMNS if calendar is not None else ())}
    _check_by(by_cols, chosen, known)
    columns = _case_columns_needed(chosen, by_cols, period, known)
    if columns is not None and same_topic:
        columns.append("topic")
    cases = case_table(
        log, policy=policy, columns=columns, calendar=calendar, on_invalid=on_invalid
    )
    keys = [*by_cols, *period_key(period)]
    reads = {m.reads for m in chosen if m.kind != "backlog"}
    if len(reads) > 1 or any(m.kind == "backlog" for m in chosen):
        cases = cases.cache()  # several frames read the one case table: build it once
    frames: dict[str, pl.LazyFrame] = {}
    if "cases" in reads:
        frames["cases"] = cases
    if "pairs" in reads:
        frames["pairs"] = next_reply_pairs(
            log, policy=policy, calendar=calendar, on_invalid=on_invalid
        ).join(
            cases.select(
                "case_id",
                *dict.fromkeys(
                    [*by_cols, *_ALWAYS, *(_ANCHORS["pairs"] if period is not None else ())]
                ),
            ),
            on="case_id",
            how="inner",
        )
    if reads & {"issues", "journey_cases", "transitions"}:
        frames.update(
            _journey_frames(
                cases,
                by_cols,
                reads,
                window=window,
                fcr_window=fcr_window,
                same_topic=same_topic,
                identity=identity,
            )
        )
    parts: list[pl.LazyFrame] = []
    for name, frame in frames.items():
        mine = [m for m in chosen if m.reads == name and m.kind != "backlog"]
        parts += aggregate(_with_period(frame, name, period, policy), keys, mine, policy, qs)
    for metric in (m for m in chosen if m.kind == "backlog"):
        parts.append(_backlog(log, cases, by_cols, period, policy, metric, qs, on_invalid))
    metric_keys = list(dict.fromkeys(k for m in chosen for k in m.keys if k not in keys))
    order = [*keys, "metric", *metric_keys]
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
            )
        )
        order.append("target")
    out = pl.concat(parts, how="diagonal_relaxed")
    names = out.collect_schema().names()
    leading = [*keys, *metric_keys]
    out = out.select(*leading, *(c for c in names if c not in leading))
    # a metric whose events the source cannot produce is not measurable: no figure, a reason
    reasons = not_measurable_reasons(chosen, getattr(log, "capabilities", None))
    return mark_unmeasurable(out.sort(order, nulls_last=True), reasons)


def journey_metrics(
    log: EventLog | object,
    metrics: str | Metric | Sequence[str | Metric] | None = None,
    *,
    by: str | Sequence[str] = (),
    period: Period | None = None,
    window: Window = DEFAULT_WINDOW,
    fcr_window: Window = DEFAULT_WINDOW,
    same_topic: bool = False,
    policy: Policy | None = None,
    identity: IdentityMap | None = None,
    quantiles: Sequence[float] = (0.5, 0.9),
    on_invalid: OnInvalid = "raise",
) -> pl.LazyFrame:
    """Journey metrics per group and period: :func:`compute` of issue-level metrics only.

    Parameters
    ----------
    log
        An :class:`~csmetrics.EventLog` or anything :meth:`EventLog.from_frame` reads.
    metrics
        Journey metric names or objects (``level="issue"``); default every built-in one
        without keys of its own (``channel_switch_matrix`` and ``comp_rate_by_channel``
        add their key columns when asked for).
    by
        Case attributes (``channel``, ``channel_kind``, ``is_public``, ``team``, ``topic``
        …: an issue is grouped by the value on its first case, e.g. the channel it started
        on) or issue columns (``first_channel``, ``last_channel``, ``n_contacts``,
        ``switched_to_public`` …).
    period
        Issues by their first contact (or resolution, per ``policy.period_by``).
    window, fcr_window, same_topic, identity
        As for :func:`csmetrics.journey_cases`.
    policy, quantiles, on_invalid
        As for :func:`compute`.

    Returns
    -------
    pl.LazyFrame
        The tidy frame of :func:`compute`.

    Raises
    ------
    PolicyError
        A case-level metric, a ``by`` column no metric can use, a bad period or window.

    Examples
    --------
    >>> import csmetrics as csm
    >>> log = csm.testing.log_from_rows([
    ...     ("09:00", "case_created", "customer", {"case_id": 1, "channel": "email"}),
    ...     ("11:00", "case_created", "customer", {"case_id": 2, "channel": "twitter"}),
    ...     ("11:30", "status_changed", "agent", {"case_id": 2, "status": "solved"}),
    ...     ("12:00", "status_changed", "agent", {"case_id": 1, "status": "solved"}),
    ...     ("09:00", "case_created", "customer", {"case_id": 3, "customer_id": 2})])
    >>> out = csm.journey_metrics(log, ["queue_jump_rate", "contacts_per_issue"]).collect()
    >>> out.select("metric", "n", "value", "mean").rows()
    [('contacts_per_issue', 2, 3.0, 1.5), ('queue_jump_rate', 2, 0.5, 0.5)]

    Two issues: customer 1 emailed, then tweeted in public while the email was open (a
    queue jump); customer 2 wrote once. 1 of 2 issues jumped; 3 contacts over 2 issues.
    """
    if metrics is None:
        chosen = [m for m in builtins() if m.level == "issue" and not m.keys]
    else:
        chosen = resolve_metrics(metrics)
    wrong = [m.name for m in chosen if m.level != "issue"]
    if wrong:
        raise PolicyError(
            f"metrics {wrong} are measured on cases, not customer issues: use csm.compute"
        )
    if not chosen:
        raise PolicyError("'metrics' must name at least one journey metric")
    result = compute(
        log,
        chosen,
        by=by,
        period=period,
        policy=policy,
        quantiles=quantiles,
        window=window,
        fcr_window=fcr_window,
        same_topic=same_topic,
        identity=identity,
        on_invalid=on_invalid,
    )
    assert isinstance(result, pl.LazyFrame)
    return result


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
    qs = check_quantiles(quantiles)
    by_cols = by_columns(by)
    columns = [*_ALWAYS, *by_cols, *chosen.columns, "last_resolved_at", "first_resolved_at"]
    cases = case_table(
        log, policy=policy, columns=list(dict.fromkeys(columns)), on_invalid=on_invalid
    )
    value = chosen.value(policy)
    done = value.is_not_null()
    # still waiting: censored at as_of; resolved without a value (a bot solved it, nobody
    # waits any more): censored at its resolution
    censor_at = (
        pl.when(pl.col("is_open"))
        .then(pl.col("as_of"))
        .otherwise(pl.coalesce("last_resolved_at", "first_resolved_at", "as_of"))
    )
    waited = pl.when(done).then(value).otherwise(censor_at - chosen.censor_start(policy))
    times = cases.filter(chosen.population(policy).fill_null(value=False)).select(
        *by_cols, seconds(waited).alias("t"), done.alias("done")
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
        *(
            pl.col("t").filter(pl.col("s") <= 1 - q + 1e-12).min().alias(quantile_name(q))
            for q in qs
        ),
    ]
    result = grouped(curve, by_cols, aggs)
    return result.sort(by_cols) if by_cols else result
