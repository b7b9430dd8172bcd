"""Everything a report shows, computed as lazy plans and collected together once.

:func:`gather` builds the plans of the core sections (headline figures per group, the same
overall, volume and backlog per period, counts for the definitions) and collects them in one
:func:`polars.collect_all`. The cross-channel sections (journeys, trends, SLA) come from
modules that may be absent or may fail on a given log: each is collected on its own and, when
it cannot be had, carries a note saying why instead of breaking the report.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from typing import Any, Final

import attrs
import polars as pl

from csmetrics.calendar import BusinessCalendar
from csmetrics.cases import OnInvalid
from csmetrics.compute import Period, compute, journey_metrics
from csmetrics.exceptions import CsMetricsError
from csmetrics.journeys import channel_switch_matrix
from csmetrics.log import EventLog
from csmetrics.metrics import registry
from csmetrics.metrics.registry import Metric
from csmetrics.policy import Policy
from csmetrics.report._analyses import gather_analyses
from csmetrics.report._section import Section, _first_line, _optional
from csmetrics.sla import SlaPolicy, sla_metrics
from csmetrics.trends import trends

__all__ = [
    "ALL_LABEL",
    "GROUP",
    "HEADLINE_METRICS",
    "JOURNEY_METRICS",
    "OTHER_LABEL",
    "QUANTILES",
    "TIMELINE_METRICS",
    "TOP_GROUPS",
    "TREND_PERIOD",
    "ReportData",
    "Section",
    "gather",
]

GROUP: Final = "_group"
"""Column holding each row's group label (the ``by`` value as text, or :data:`ALL_LABEL`)."""

ALL_LABEL: Final = "(all)"
"""Label of the row over every group."""

OTHER_LABEL: Final = "(other)"
"""Label of the groups beyond the :data:`TOP_GROUPS` largest, taken together, in charts."""

TOP_GROUPS: Final = 9
"""Charts show the groups with the most cases, this many, and the rest as one ``(other)``."""

HEADLINE_METRICS: Final[tuple[str, ...]] = (
    "first_response_time",
    "full_resolution_time",
    "channel_switch_rate",
    "comp_rate",
    "volume",
    "backlog",
    "response_rate",
    "first_resolution_time",
    "reopen_rate",
    "comp_value",
)

"""The metrics of the headline table and the distribution and comp charts."""

TIMELINE_METRICS: Final[tuple[str, ...]] = ("volume", "backlog")
"""The metrics shown per period."""

JOURNEY_METRICS: Final[tuple[str, ...]] = (
    "queue_jump_rate",
    "channel_switch_rate",
    "repeat_contact_rate",
    "cross_channel_fcr",
    "contacts_per_issue",
)
"""The cross-channel figures, from :func:`csmetrics.journey_metrics`."""

TREND_PERIOD: Final = "day"
"""Spikes are looked for day by day (:func:`csmetrics.trends.trends`)."""

QUANTILES: Final[tuple[float, ...]] = (0.1, 0.25, 0.5, 0.75, 0.9)
"""Quantiles computed for the distribution charts (p10 … p90)."""


@attrs.frozen(kw_only=True, eq=False)
class ReportData:
    """The collected contents of a report (see :class:`csmetrics.report.Report`)."""

    title: str
    source: str
    by: str | None
    period: Period | None
    policy: Policy
    calendar: object | None
    sla: object | None
    on_invalid: OnInvalid
    as_of: dt.datetime | None
    first_event_at: dt.datetime | None
    n_events: int
    n_cases: int
    n_rejected: int | None
    headline: pl.DataFrame
    overall: pl.DataFrame
    timeline: pl.DataFrame | None
    journeys: Section
    trends: Section
    sla_section: Section
    metrics: tuple[Metric, ...]
    seconds: float
    order: tuple[str, ...] = ()
    """Every group with at least one case in a metric, most cases first (then by name, in
    any case); empty groups are left out."""
    hidden: tuple[str, ...] = ()
    """The groups left out because no case of theirs is in any metric population."""
    chart_headline: pl.DataFrame | None = None
    """The headline per chart group: the :data:`TOP_GROUPS` largest and ``(other)``."""
    chart_timeline: pl.DataFrame | None = None
    """Volume and backlog per period and chart group."""
    analyses: Any = None  # csmetrics.report._analyses.Analyses (issue 17)

    @property
    def groups(self) -> list[str]:
        """The group labels of the headline table, most cases first, without empty groups."""
        if self.order:
            return list(self.order)
        return [g for g in self.headline[GROUP].unique(maintain_order=True) if g != ALL_LABEL]

    @property
    def chart_groups(self) -> list[str]:
        """The groups the charts show: the largest :data:`TOP_GROUPS`, then ``(other)``."""
        top = self.groups[:TOP_GROUPS]
        return [*top, OTHER_LABEL] if len(self.groups) > TOP_GROUPS else top


def _labelled(frame: pl.LazyFrame, by: str | None) -> pl.LazyFrame:
    label = pl.col(by).cast(pl.String).fill_null("—") if by else pl.lit(ALL_LABEL)
    return frame.with_columns(label.alias(GROUP))


def group_order(headline: pl.DataFrame) -> tuple[list[str], list[str]]:
    """The groups by volume (most cases first, ties by name in any case) and the empty ones.

    A group is empty when no case of it is in any metric's population (``n`` is 0
    everywhere: every case merged, say).

    Examples
    --------
    >>> import polars as pl
    >>> tidy = pl.DataFrame({"_group": ["b", "B", "a", "z", "z"],
    ...     "metric": ["volume", "volume", "volume", "volume", "backlog"],
    ...     "value": [5.0, 7.0, 5.0, 0.0, 0.0], "n": [5, 7, 5, 0, 0]})
    >>> group_order(tidy)
    (['B', 'a', 'b'], ['z'])
    """
    rows = headline.filter(pl.col(GROUP) != ALL_LABEL)
    sizes = rows.group_by(GROUP).agg(
        pl.col("value").filter(pl.col("metric") == "volume").sum().fill_null(0).alias("volume"),
        pl.col("n").fill_null(0).max().alias("n"),
    )
    empty = sorted(sizes.filter(pl.col("n") == 0)[GROUP].to_list(), key=lambda g: (g.lower(), g))
    kept = sizes.filter(pl.col("n") > 0).with_columns(pl.col(GROUP).str.to_lowercase().alias("_k"))
    ordered = kept.sort(["volume", "_k", GROUP], descending=[True, False, False])
    return ordered[GROUP].to_list(), empty


def _relabelled(log: EventLog, by: str, top: Sequence[str]) -> EventLog | None:
    """The log with every ``by`` value outside ``top`` written as ``(other)``; ``None`` when
    ``by`` is not an event column (a column the case table derives)."""
    if by not in log.frame.collect_schema().names():
        return None
    value = pl.col(by).cast(pl.String)
    frame = log.frame.with_columns(
        pl.when(value.is_in(list(top))).then(value).otherwise(pl.lit(OTHER_LABEL)).alias(by)
    )
    return EventLog(frame, log.rejected, log.source)


def _observed(events: pl.LazyFrame, policy: Policy) -> pl.LazyFrame:
    """The events up to ``policy.as_of`` (all of them without one)."""
    if policy.as_of is None:
        return events
    return events.filter(pl.col("ts") <= pl.lit(policy.as_of).cast(pl.Datetime("us", "UTC")))


def _journeys(log: EventLog, policy: Policy) -> dict[str, pl.LazyFrame | pl.DataFrame]:
    return {
        "metrics": journey_metrics(log, list(JOURNEY_METRICS), policy=policy),
        "queue_jumps": journey_metrics(log, "queue_jump_rate", by="first_channel", policy=policy),
        "matrix": channel_switch_matrix(log, policy=policy),
        "comp_public": journey_metrics(log, "comp_rate_by_channel", policy=policy),
    }


def _trends(log: EventLog, policy: Policy, by: str | None) -> dict[str, pl.LazyFrame]:
    keys = ["topic", *([by] if by and by != "topic" else [])]
    return {
        "spikes": trends(log, by=keys, period=TREND_PERIOD, policy=policy)
        .filter(pl.col("is_spike"))
        .sort("period_start", *keys),
        "by_topic": trends(log, by="topic", period=TREND_PERIOD, policy=policy),
    }


def _sla(
    log: EventLog, policy: Policy, sla: object, calendar: object | None, by: str | None
) -> dict[str, pl.LazyFrame | pl.DataFrame]:

    if not isinstance(sla, SlaPolicy):
        sla = SlaPolicy.from_dict(sla) if isinstance(sla, dict) else SlaPolicy.from_toml(str(sla))
    cal = calendar if isinstance(calendar, BusinessCalendar) else None
    result = sla_metrics(log, sla, by=(by,) if by else (), policy=policy, calendar=cal)
    return {"attainment": result.filter(pl.col("metric") == "sla_attainment")}


def gather(
    log: EventLog,
    *,
    policy: Policy,
    by: str | None,
    period: Period | None,
    calendar: object | None,
    sla: object | None,
    on_invalid: OnInvalid,
    title: str,
) -> ReportData:
    """Compute and collect every section of a report.

    Raises
    ------
    CsMetricsError
        What :func:`csmetrics.compute` raises: an invalid log (with ``on_invalid="raise"``),
        an unknown ``by`` column …
    """
    started = time.perf_counter()
    checked = log.checked(on_invalid)
    by_cols: Sequence[str] = [by] if by else []
    headline = _labelled(
        compute(checked, HEADLINE_METRICS, by=by_cols, policy=policy, quantiles=QUANTILES), by
    )
    overall = _labelled(
        compute(checked, HEADLINE_METRICS, policy=policy, quantiles=QUANTILES), None
    )
    plans: list[pl.LazyFrame] = [
        headline,
        overall,
        _observed(checked.frame, policy).select(
            pl.len().alias("n_events"),
            pl.col("case_id").n_unique().alias("n_cases"),
            pl.col("ts").min().alias("first"),
            pl.col("ts").max().alias("last"),
        ),
    ]
    if period is not None:
        plans.append(
            _labelled(
                compute(checked, TIMELINE_METRICS, by=by_cols, period=period, policy=policy), by
            )
        )
    if checked.rejected is not None:
        plans.append(checked.rejected.select(pl.len().alias("n_rejected")))
    try:
        collected = pl.collect_all(plans)
    except pl.exceptions.PolarsError as exc:
        raise CsMetricsError(
            f"the report on {log.source} could not be computed: {_first_line(exc)}"
        ) from exc
    headline_df, overall_df, counts = collected[:3]
    rest = collected[3:]
    timeline_df = rest.pop(0) if period is not None else None
    n_rejected = int(rest[0]["n_rejected"].item()) if rest else None
    last = counts["last"].item()
    as_of = policy.as_of or last
    order = {name: i for i, name in enumerate(HEADLINE_METRICS)}
    headline_df = headline_df.sort(
        GROUP, pl.col("metric").replace_strict(order, default=len(order))
    )
    journey_section = _optional(lambda: _journeys(checked, policy), "csmetrics.journeys")
    trend_section = _optional(lambda: _trends(checked, policy, by), "csmetrics.trends")
    if sla is None:
        sla_section = Section(note="no SLA policy configured")
    else:
        sla_section = _optional(
            lambda: _sla(checked, policy, sla, calendar, by), "SLA attainment (csmetrics.sla)"
        )
    ranked, hidden = group_order(headline_df) if by else ([], [])
    chart_headline: pl.DataFrame | None = headline_df
    chart_timeline = timeline_df
    if by and len(ranked) > TOP_GROUPS:
        chart_headline, chart_timeline = _top_and_other(
            checked, by, ranked[:TOP_GROUPS], policy, period
        )
    used = [*HEADLINE_METRICS, *(JOURNEY_METRICS if journey_section.available else ())]
    metrics = tuple(_metric(name) for name in used)
    return ReportData(
        title=title,
        source=log.source,
        by=by,
        period=period,
        policy=policy,
        calendar=calendar,
        sla=sla,
        on_invalid=on_invalid,
        as_of=as_of,
        first_event_at=counts["first"].item(),
        n_events=int(counts["n_events"].item()),
        n_cases=int(counts["n_cases"].item()),
        n_rejected=n_rejected,
        headline=headline_df,
        overall=overall_df,
        timeline=timeline_df,
        journeys=journey_section,
        trends=trend_section,
        sla_section=sla_section,
        metrics=tuple(m for m in metrics if m is not None),
        seconds=time.perf_counter() - started,
        order=tuple(ranked),
        hidden=tuple(hidden),
        chart_headline=chart_headline,
        chart_timeline=chart_timeline,
        analyses=_gather_analyses(checked, policy),
    )


def _top_and_other(
    log: EventLog, by: str, top: Sequence[str], policy: Policy, period: Period | None
) -> tuple[pl.DataFrame | None, pl.DataFrame | None]:
    """Headline and timeline of the top groups and ``(other)``, the rest taken together.

    The quantiles of ``(other)`` are those of its cases pooled (computed again on the log with
    the small groups relabelled), not an average of the groups' quantiles.
    """
    relabelled = _relabelled(log, by, top)
    if relabelled is None:
        return None, None
    plans = [
        _labelled(
            compute(relabelled, HEADLINE_METRICS, by=[by], policy=policy, quantiles=QUANTILES), by
        )
    ]
    if period is not None:
        plans.append(
            _labelled(
                compute(relabelled, TIMELINE_METRICS, by=[by], period=period, policy=policy), by
            )
        )
    try:
        frames = pl.collect_all(plans)
    except pl.exceptions.PolarsError as exc:
        raise CsMetricsError(
            f"the report on {log.source} could not be computed: {_first_line(exc)}"
        ) from exc
    return frames[0], (frames[1] if period is not None else None)


def _gather_analyses(log: EventLog, policy: Policy) -> Any:
    return gather_analyses(log, policy)


def _metric(name: str) -> Metric | None:
    try:
        return registry.get(name)
    except CsMetricsError:
        return None
