"""HTML rendering of reports and summaries: one self-contained file that opens offline.

The page is static HTML with inline CSS and inline SVG charts (:mod:`csmetrics.report.charts`):
no script, no web font, no image file, no URL. Its Content-Security-Policy forbids the
browser to fetch anything, so even a value from the data that looked like a link could not
make it reach the network. Every text from the data is escaped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Final

import polars as pl

from csmetrics._capabilities import NOT_MEASURABLE, display_value
from csmetrics._periods import period_label
from csmetrics._version import __version__
from csmetrics.report._analyses import render_analyses
from csmetrics.report._data import (
    ALL_LABEL,
    GROUP,
    OTHER_LABEL,
    TOP_GROUPS,
    TREND_PERIOD,
    ReportData,
    Section,
)
from csmetrics.report._markup import _cell, _e, _missing, _table, frame_table
from csmetrics.report.charts import (
    ALL_COLOR,
    OTHER_COLOR,
    PALETTE,
    Box,
    Chart,
    bar_chart,
    box_chart,
    heat_map,
    line_chart,
    series_colors,
)
from csmetrics.report.text import format_value
from csmetrics.schema import PUBLIC_KINDS

__all__ = ["CSS", "render_report", "summary_table"]

_ALL_COLOR: Final = ALL_COLOR
_PUBLIC_COLOR: Final = "#e15759"
_PRIVATE_COLOR: Final = "#4e79a7"
_MAX_TOPICS: Final = 8
_CSP: Final = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

CSS: Final = """
.csm-report, .csm-summary { font-family: system-ui, -apple-system, 'Segoe UI', Roboto,
  'Helvetica Neue', Arial, sans-serif; color: #1f2933; line-height: 1.45; }
.csm-report { max-width: 1320px; margin: 0 auto; padding: 16px 24px 48px; }
.csm-report h1 { font-size: 1.6rem; margin: 0 0 4px; }
.csm-report h2 { font-size: 1.2rem; margin: 32px 0 8px; padding-bottom: 4px;
  border-bottom: 2px solid #e4e7eb; }
.csm-report h3 { font-size: 1rem; margin: 16px 0 6px; }
.csm-report .csm-meta { color: #52606d; margin: 0 0 8px; }
.csm-report nav { font-size: .9rem; margin: 8px 0 0; }
.csm-report nav a { color: #2f5d8a; margin-right: 14px; text-decoration: none; }
.csm-report .csm-note { color: #52606d; font-size: .88rem; max-width: 70em; }
.csm-report .csm-missing { color: #7b3e00; background: #fff8e6; border-left: 4px solid #f0b429;
  padding: 6px 10px; }
.csm-report .csm-grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr));
  gap: 12px 24px; align-items: start; }
.csm-report figure { margin: 0; }
.csm-report svg, .csm-summary svg { max-width: 100%; height: auto; }
.csm-scroll { overflow-x: auto; }
.csm-report table, .csm-summary table { border-collapse: collapse; font-size: .88rem;
  margin: 4px 0 8px; }
.csm-report th, .csm-report td, .csm-summary th, .csm-summary td { padding: 4px 10px;
  border-bottom: 1px solid #e4e7eb; text-align: right; vertical-align: top; }
.csm-report th, .csm-summary th { background: #f5f7fa; font-weight: 600; }
.csm-report td.csm-text { white-space: nowrap; }
.csm-report details > summary { cursor: pointer; color: #2f5d8a; margin: 4px 0; }
.csm-report td.csm-text, .csm-report th.csm-text, .csm-summary td.csm-text,
.csm-summary th.csm-text { text-align: left; }
.csm-report tr.csm-all td, .csm-summary tr.csm-all td { font-weight: 600;
  border-top: 2px solid #cbd2d9; }
.csm-report caption, .csm-summary caption { caption-side: top; text-align: left;
  color: #52606d; font-size: .85rem; padding: 2px 0; }
.csm-report .csm-n { color: #7b8794; font-size: .8em; }
.csm-report dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px;
  font-size: .9rem; }
.csm-report dt { font-weight: 600; }
.csm-report dd { margin: 0; }
.csm-report code { font-size: .85em; background: #f5f7fa; padding: 0 3px; }
@media print { .csm-report nav { display: none; } .csm-report .csm-grid { display: block; }
  .csm-report h2 { break-after: avoid; } .csm-report figure, .csm-report table {
  break-inside: avoid; } }
"""


def _figure(chart: Chart) -> str:
    return f"<figure>{chart.inline()}</figure>"


def _rows_by_group(frame: pl.DataFrame) -> dict[str, dict[str, dict[str, Any]]]:
    """``{group: {metric: row}}`` of a (small, aggregated) tidy frame."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for row in frame.iter_rows(named=True):
        out.setdefault(row[GROUP], {})[row["metric"]] = row
    return out


def _figure_cell(row: Mapping[str, Any] | None, column: str = "value") -> str:
    """A formatted figure with its population in a tooltip."""
    if row is None:
        return "—"
    if row.get(NOT_MEASURABLE) is not None:  # the source cannot produce its events
        return f'<span class="csm-na">{_e(display_value(row, "—"))}</span>'
    value = row.get(column)
    shown = format_value(value, row["unit"])
    n, n_open = row.get("n"), row.get("n_open")
    tip = f"n={n}" + (f", {n_open} open at as_of" if n_open else "")
    return f'<span title="{_e(tip)}">{_e(shown)}</span>'


def _colors(data: ReportData) -> dict[str, str]:
    """One distinct colour per chart group; grey for ``(all)`` and ``(other)``."""
    colors = series_colors([g for g in data.chart_groups if g != OTHER_LABEL])
    colors[ALL_LABEL] = _ALL_COLOR
    colors[OTHER_LABEL] = OTHER_COLOR
    return colors


def _chart_rows(data: ReportData) -> dict[str, dict[str, dict[str, Any]]]:
    """``{group: {metric: row}}`` of the chart groups (the largest and ``(other)``)."""
    frame = data.chart_headline if data.chart_headline is not None else data.headline
    return _rows_by_group(frame)


def _chart_note(data: ReportData) -> str:
    """Which groups the charts show, when they do not show all."""
    parts = []
    if len(data.groups) > TOP_GROUPS:
        parts.append(
            f"Charts show the {TOP_GROUPS} {_e(data.by or 'group')} values with the most cases "
            f"of {len(data.groups)}; the other {len(data.groups) - TOP_GROUPS} are taken "
            f"together as {OTHER_LABEL} (their cases pooled)."
        )
    if data.hidden:
        shown = ", ".join(data.hidden[:5]) + (" …" if len(data.hidden) > 5 else "")
        parts.append(
            f"{len(data.hidden)} {_e(data.by or 'group')} value(s) with no case in any metric "
            f"are not shown ({_e(shown)})."
        )
    return f'<p class="csm-note">{" ".join(parts)}</p>' if parts else ""


def _deltas(data: ReportData) -> tuple[str, str, dict[str, dict[str, tuple[float, float]]]]:
    """The last two periods and, per group and for ``(all)``, (last, previous) volume and
    backlog; empty when there are fewer than two periods."""
    frame = data.timeline
    if frame is None or data.period is None or frame.is_empty():
        return "", "", {}
    starts = sorted(frame["period_start"].drop_nulls().unique().to_list())
    if len(starts) < 2:
        return "", "", {}
    last, prev = starts[-1], starts[-2]
    recent = frame.filter(pl.col("period_start").is_in([last, prev]))
    totals = recent.group_by("metric", "period_start").agg(pl.col("value").sum())
    top = data.chart_groups[:TOP_GROUPS]
    rest = recent.filter(~pl.col(GROUP).is_in(top)).group_by("metric", "period_start")
    out: dict[str, dict[str, tuple[float, float]]] = {}
    for name, part in (
        *((g, recent.filter(pl.col(GROUP) == g)) for g in data.groups),
        (OTHER_LABEL, rest.agg(pl.col("value").sum())),
        (ALL_LABEL, totals),
    ):
        values = {(m, p): v for m, p, v in part.select("metric", "period_start", "value").rows()}
        out[name] = {
            m: (float(values.get((m, last)) or 0.0), float(values.get((m, prev)) or 0.0))
            for m in ("volume", "backlog")
        }
    return period_label(last, data.period), period_label(prev, data.period), out


def _change(now: float, before: float, *, percent: bool) -> str:
    """``+12%`` / ``-3`` / ``new``: the change of a figure from the previous period."""
    if percent:
        if before == 0:
            return "—" if now == 0 else "new"
        change = (now - before) / before * 100
        return f"{change:+.0f}%"
    return f"{now - before:+,.0f}"


def _headline_table(
    data: ReportData,
    groups: Mapping[str, Mapping[str, Any]],
    names: Sequence[str],
    deltas: Mapping[str, Mapping[str, tuple[float, float]]],
    last: str,
    prev: str,
) -> str:
    """The headline table of the groups ``names`` (and ``(all)``)."""
    overall = _rows_by_group(data.overall).get(ALL_LABEL, {})
    headers = [
        data.by or "group",
        "cases",
        "open at as_of",
        "response rate",
        "first response median",
        "first response p90",
        "resolution median",
        "resolution p90",
        "reopen rate",
        "comp rate",
    ]
    sla_rows = _sla_by_group(data)
    if sla_rows is not None:
        headers.append("SLA attainment")
    if deltas:
        headers += [f"cases {last}", f"vs {prev}", f"open end {last}", f"vs {prev} "]
    rows: list[list[str]] = []
    classes: list[str] = []
    entries = [(g, groups[g]) for g in names if g in groups]
    entries.append((ALL_LABEL, overall))
    for name, metrics in entries:
        frt = metrics.get("first_response_time")
        res = metrics.get("first_resolution_time")
        row = [
            _e(name),
            _figure_cell(metrics.get("volume")),
            _figure_cell(metrics.get("backlog")),
            _figure_cell(metrics.get("response_rate")),
            _figure_cell(frt, "p50"),
            _figure_cell(frt, "p90"),
            _figure_cell(res, "p50"),
            _figure_cell(res, "p90"),
            _figure_cell(metrics.get("reopen_rate")),
            _figure_cell(metrics.get("comp_rate")),
        ]
        if sla_rows is not None:
            row.append(_e(sla_rows.get(name, "—")))
        if deltas:
            volume = deltas.get(name, {}).get("volume", (0.0, 0.0))
            backlog = deltas.get(name, {}).get("backlog", (0.0, 0.0))
            row += [
                _e(f"{volume[0]:,.0f}"),
                _e(_change(*volume, percent=True)),
                _e(f"{backlog[0]:,.0f}"),
                _e(_change(*backlog, percent=False)),
            ]
        rows.append(row)
        classes.append("csm-all" if name == ALL_LABEL else "")
    return _table(headers, rows, row_classes=classes, raw=True)


def _headline(data: ReportData) -> str:
    last, prev, deltas = _deltas(data)
    if len(data.groups) > TOP_GROUPS:
        table = _headline_table(data, _chart_rows(data), data.chart_groups, deltas, last, prev)
        table += (
            f"<details><summary>All {len(data.groups)} {_e(data.by or 'group')} values, most "
            "cases first</summary>"
            + _headline_table(data, _rows_by_group(data.headline), data.groups, deltas, last, prev)
            + "</details>"
        )
    else:
        table = _headline_table(
            data, _rows_by_group(data.headline), data.groups, deltas, last, prev
        )
    delta_note = (
        f" The last columns compare the last {_e(data.period)} ({_e(last)}, which may be "
        f"partial: it ends at as_of) with the one before ({_e(prev)}): cases created, as a "
        "change in percent, and cases open at the end of the period, as a change in cases."
        if deltas
        else ""
    )
    return (
        '<section id="headline"><h2>Headline figures'
        + (f" by {_e(data.by)}" if data.by else "")
        + "</h2>"
        + table
        + _chart_note(data)
        + '<p class="csm-note">Durations are in calendar time: the median and the 90th '
        "percentile (linear interpolation) of the cases that have a value at as_of; cases "
        "still waiting are counted as open (hover a figure for its population <i>n</i> and "
        "open count). Resolution is the first resolution (creation → first solved or closed). "
        "Rates are shares of each metric's population; the definitions are at the "
        '<a href="#definitions">end of the page</a>.' + delta_note + "</p></section>"
    )


def _sla_by_group(data: ReportData) -> dict[str, str] | None:
    """Attainment per group for the headline table, when the SLA section has it."""
    if not data.sla_section.available or not data.by:
        return None
    frame = data.sla_section.frames.get("attainment")
    if frame is None or data.by not in frame.columns:
        return None
    column = next(
        (c for c in ("sla_attainment", "attainment", "value") if c in frame.columns), None
    )
    if column is None:
        return None
    if "metric" in frame.columns:
        frame = frame.filter(pl.col("metric") == "sla_attainment")
    out: dict[str, str] = {}
    for row in frame.iter_rows(named=True):
        value = row[column]
        out[str(row[data.by])] = format_value(value, "ratio")
    return out


def _boxes(data: ReportData, metric: str) -> tuple[list[Box], list[str]]:
    groups = _chart_rows(data)
    overall = _rows_by_group(data.overall).get(ALL_LABEL, {})
    colors = _colors(data)
    entries = [(g, groups.get(g, {})) for g in data.chart_groups]
    if data.by:
        entries.insert(0, (ALL_LABEL, overall))
    else:
        entries = [(ALL_LABEL, overall)]
    boxes, box_colors = [], []
    for name, metrics in entries:
        row = metrics.get(metric)
        if row is None:
            continue
        n, n_open = row.get("n") or 0, row.get("n_open") or 0
        boxes.append(
            Box(
                name,
                p10=row.get("p10"),
                p25=row.get("p25"),
                p50=row.get("p50"),
                p75=row.get("p75"),
                p90=row.get("p90"),
                note=f"n={n}" + (f", {n_open} open" if n_open else ""),
            )
        )
        box_colors.append(colors.get(name, PALETTE[0]))
    return boxes, box_colors


def _distributions(data: ReportData) -> str:
    charts = []
    for metric, title in (
        ("first_response_time", "First response time"),
        ("first_resolution_time", "Resolution time (first)"),
    ):
        boxes, colors = _boxes(data, metric)
        charts.append(_figure(box_chart(boxes, title=title, colors=colors)))
    return (
        '<section id="distributions"><h2>Distributions</h2><div class="csm-grid">'
        + "".join(charts)
        + '</div><p class="csm-note">Boxes span the 25th to 75th percentile, whiskers the 10th '
        "to 90th, the dark line is the median; the axis is logarithmic. Open cases (no reply or "
        "no resolution yet at as_of) are not in the boxes: their number is shown as "
        "<i>open</i>; <code>csm.survival</code> gives estimates that account for them."
        "</p></section>"
    )


def _timeline(data: ReportData) -> str:
    head = '<section id="over-time"><h2>Volume and backlog over time</h2>'
    if data.timeline is None or data.timeline.is_empty():
        return head + _missing("not shown: no period was asked for (period=None)") + "</section>"
    frame = data.chart_timeline if data.chart_timeline is not None else data.timeline
    starts = sorted(frame["period_start"].drop_nulls().unique().to_list())
    labels = [period_label(s, data.period) for s in starts] if data.period else None
    colors = _colors(data)
    charts = []
    for metric, title in (
        ("volume", f"Cases created per {data.period}"),
        ("backlog", f"Open cases at the end of each {data.period}"),
    ):
        part = frame.filter(pl.col("metric") == metric)
        series: dict[str, list[float | None]] = {}
        for name in data.chart_groups or [ALL_LABEL]:
            values = dict(
                part.filter(pl.col(GROUP) == name).select("period_start", "value").iter_rows()
            )
            series[name] = [values.get(s) for s in starts]
        charts.append(
            _figure(
                line_chart(starts, series, title=title, unit="count", colors=colors, labels=labels)
            )
        )
    zone = data.policy.timezone
    return (
        head
        + '<div class="csm-grid">'
        + "".join(charts)
        + f'</div><p class="csm-note">Periods are {_e(data.period)}s'
        + (" starting on Monday" if data.period == "week" else "")
        + f", cut in {_e(zone)}; a case counts in the period it was "
        + ("created" if data.policy.period_by == "created" else "resolved")
        + " in. Backlog: cases created by the end of the period and not (finally) resolved "
        "by then; the last period ends at as_of.</p></section>"
    )


def _journey_figures(section: Section) -> str:
    frame = section.frames["metrics"]
    rows = []
    for row in frame.sort("metric").iter_rows(named=True):
        headline = row["mean"] if row["metric"] == "contacts_per_issue" else row["value"]
        shown = (
            f"{headline:.2f} per issue"
            if row["metric"] == "contacts_per_issue" and headline is not None
            else format_value(headline, row["unit"])
        )
        rows.append([row["metric"], shown, _cell(row["n"]), _cell(row["n_open"])])
    return _table(
        ["metric", "value", "n (issues or cases)", "open"],
        rows,
        caption="Across channels: each customer's cases linked into issues",
    )


def _cross_channel(data: ReportData) -> str:
    head = '<section id="cross-channel"><h2>Across channels: switches and queue jumps</h2>'
    section = data.journeys
    if not section.available:
        return head + _missing(section.note) + "</section>"
    parts = [_journey_figures(section)]
    matrix = section.frames["matrix"]
    charts = []
    if matrix.height:
        names = sorted(set(matrix["from_channel"].to_list()) | set(matrix["to_channel"].to_list()))
        counts = {
            (r[0], r[1]): r[2]
            for r in matrix.select("from_channel", "to_channel", "count").iter_rows()
        }
        values: list[list[float | None]] = [
            [float(counts[(a, b)]) if (a, b) in counts else None for b in names] for a in names
        ]
        charts.append(
            _figure(
                heat_map(
                    names,
                    names,
                    values,
                    title="Channel switches: from one case to the next case of the issue",
                    row_title="from ↓",
                    column_title="to →",
                )
            )
        )
    else:
        charts.append(_missing("no customer issue has more than one case"))
    jumps = section.frames["queue_jumps"].sort("first_channel")
    if jumps.height:
        charts.append(
            _figure(
                bar_chart(
                    [str(v) for v in jumps["first_channel"].to_list()],
                    jumps["value"].to_list(),
                    title="Queue-jump rate by the issue's first channel",
                    unit="ratio",
                    notes=[f"n={n}" for n in jumps["n"].to_list()],
                )
            )
        )
    parts.append('<div class="csm-grid">' + "".join(charts) + "</div>")
    parts.append(
        '<p class="csm-note">An issue is a run of one customer\'s cases in which each case '
        "starts while an earlier one is unresolved or within 7 days of its resolution. The "
        "diagonal of the matrix counts same-channel repeats. A queue jump is a switch from a "
        "private channel to a public social one while the earlier case was unresolved.</p>"
    )
    return head + "".join(parts) + "</section>"


def _is_public(channel: str, data: ReportData) -> bool:
    return data.policy.channels.get(channel, "other") in PUBLIC_KINDS


def _comp(data: ReportData) -> str:
    groups = _rows_by_group(data.headline)
    names = data.groups if data.by else [ALL_LABEL]
    source = groups if data.by else _rows_by_group(data.overall)
    shown = data.chart_groups if data.by else [ALL_LABEL]
    chart_source = _chart_rows(data) if data.by else source
    rates = [chart_source.get(g, {}).get("comp_rate") for g in shown]
    legend = None
    colors = None
    if data.by == "channel":
        colors = [_PUBLIC_COLOR if _is_public(g, data) else _PRIVATE_COLOR for g in shown]
        legend = {"public channel": _PUBLIC_COLOR, "private channel": _PRIVATE_COLOR}
    chart = bar_chart(
        shown,
        [r["value"] if r else None for r in rates],
        title="Comp rate: share of cases granted compensation",
        unit="ratio",
        notes=[f"{int(r['numerator'] or 0)} of {r['n']}" if r else "" for r in rates],
        colors=colors,
        legend=legend,
    )
    rows = []
    for g in names:
        metrics = source.get(g, {})
        rate, value = metrics.get("comp_rate"), metrics.get("comp_value")
        rows.append(
            [
                _e(g),
                _e(_cell(int(rate["numerator"] or 0)) if rate else "—"),
                _figure_cell(rate),
                _figure_cell(value),
                _figure_cell(value, "mean"),
            ]
        )
    table = _table(
        [data.by or "group", "comped cases", "comp rate", "comp total", "mean per comped case"],
        rows,
        raw=True,
        caption="Compensation granted (comp_granted events), in the log's currency",
    )
    parts = ['<div class="csm-grid">', _figure(chart), table, "</div>"]
    if data.journeys.available and "comp_public" in data.journeys.frames:
        split = data.journeys.frames["comp_public"].sort("channel", "switched_to_public")
        rows = [
            [
                str(r["channel"]),
                "yes" if r["switched_to_public"] else "no",
                format_value(r["value"], "ratio"),
                f"{int(r['numerator'] or 0)} of {int(r['denominator'] or 0)}",
            ]
            for r in split.iter_rows(named=True)
        ]
        parts.append(
            _table(
                ["channel", "customer switched to public", "comp rate", "comped / cases"],
                rows,
                text_columns=2,
                caption="Does comping in public reward public complaints? Comp rate by channel "
                "and by whether the customer had moved from a private to a public channel",
            )
        )
    return '<section id="comp"><h2>Compensation by channel</h2>' + "".join(parts) + "</section>"


def _trends(data: ReportData) -> str:
    head = '<section id="trends"><h2>Trends and spikes</h2>'
    section = data.trends
    if not section.available:
        return head + _missing(section.note) + "</section>"
    parts = [
        f"<p>Cases per {TREND_PERIOD} by topic, each against its own baseline: a spike is "
        "systemic when many customers made it, or one loud customer's.</p>"
    ]
    by_topic = section.frames["by_topic"]
    if by_topic.height:
        totals = (
            by_topic.group_by("topic")
            .agg(pl.col("volume").sum())
            .sort("volume", "topic", descending=[True, False], nulls_last=True)
        )
        shown = totals.head(_MAX_TOPICS)["topic"].to_list()
        starts = sorted(by_topic["period_start"].drop_nulls().unique().to_list())
        series: dict[str, list[float | None]] = {}
        spikes: dict[str, list[bool]] = {}
        for topic in shown:
            rows = by_topic.filter(pl.col("topic").eq_missing(topic))
            values = {
                r[0]: (r[1], r[2])
                for r in rows.select("period_start", "volume", "is_spike").iter_rows()
            }
            name = "(no topic)" if topic is None else str(topic)
            series[name] = [float(values[s][0]) if s in values else None for s in starts]
            spikes[name] = [bool(values[s][1]) if s in values else False for s in starts]
        chart = line_chart(
            starts,
            series,
            title=f"Cases per {TREND_PERIOD} by topic (spikes ringed in red)",
            unit="count",
            highlight=spikes,
            width=1200,
            height=300,
        )
        parts.append(_figure(chart))
        if totals.height > _MAX_TOPICS:
            parts.append(
                f'<p class="csm-note">The {_MAX_TOPICS} topics with the most cases of '
                f"{totals.height}.</p>"
            )
    spikes_frame = section.frames["spikes"]
    if spikes_frame.is_empty():
        parts.append("<p>No spike: no topic had a day far above its own baseline.</p>")
    else:
        keep = [
            c
            for c in spikes_frame.columns
            if c not in ("baseline_std", "z_score", "is_spike", "top_customer_volume")
        ]
        parts.append(_spike_reading(spikes_frame))
        parts.append(
            frame_table(
                spikes_frame.select(keep),
                caption="Spikes: a day with at least 10 cases and more than twice its baseline "
                "(the mean of the 7 days before); cause says whether they came from many "
                "customers (systemic) or mostly one (one_customer)",
            )
        )
    return head + "".join(parts) + "</section>"


def _spike_reading(spikes: pl.DataFrame) -> str:
    """How many spikes came from many customers and how many from one, with counts."""
    loud = spikes.filter(pl.col("cause") == "one_customer")
    text = (
        f"<p><strong>{spikes.height} spike(s): {spikes.height - loud.height} systemic</strong> "
        f"(from many customers), <strong>{loud.height} from one loud customer</strong>"
    )
    if loud.height:
        top = loud.sort("top_customer_volume", descending=True).row(0, named=True)
        text += (
            f"; the loudest made {top['top_customer_volume']} of the {top['volume']} cases "
            f"of its spike"
        )
    return text + ".</p>"


def _sla(data: ReportData) -> str:
    head = '<section id="sla"><h2>SLA attainment</h2>'
    section = data.sla_section
    if not section.available:
        return head + _missing(section.note) + "</section>"
    return head + frame_table(section.frames["attainment"]) + "</section>"


def _when(value: dt.datetime | None) -> str:
    return value.isoformat() if isinstance(value, dt.datetime) else "—"


def _short_when(value: dt.datetime | None) -> str:
    """``2024-01-28 23:57 UTC``: an instant for a header (the definitions keep it whole)."""
    if not isinstance(value, dt.datetime):
        return "—"
    return f"{value:%Y-%m-%d %H:%M} {value.tzname() or ''}".strip()


def _describe_value(value: object) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "(none)"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return "—" if value is None else str(value)


def _calendar_text(calendar: object | None) -> str:
    if calendar is None:
        return "none: durations are in calendar time (24×7)"
    name = getattr(calendar, "name", "") or "unnamed"
    zone = getattr(calendar, "timezone", "?")
    parts = [f"{name} ({zone})"]
    schedules = getattr(calendar, "schedules", ())
    if schedules and hasattr(schedules[-1], "to_dict"):
        week = schedules[-1].to_dict()
        hours = "; ".join(
            f"{day} {' '.join(v) if isinstance(v, list | tuple) else v}"
            for day, v in week.items()
            if day != "effective_from" and v
        )
        parts.append(f"hours: {hours}")
    holidays = getattr(calendar, "holidays", ())
    if holidays:
        parts.append(f"{len(holidays)} holidays")
    return "; ".join(parts)


def _cases_text(data: ReportData) -> str:
    volume = _rows_by_group(data.overall).get(ALL_LABEL, {}).get("volume")
    counted = int(volume["value"] or 0) if volume else data.n_cases
    if counted == data.n_cases:
        return f"{data.n_cases:,}"
    return (
        f"{data.n_cases:,}, of which {counted:,} in the metric populations (merged cases "
        "count only with include_merged=True)"
    )


def _definitions(data: ReportData) -> str:
    if data.n_rejected is None:
        rejected = "none: a log produced by csmetrics itself (trusted)"
    else:
        rejected = f"{data.n_rejected:,}" + (
            " (left out: on_invalid='quarantine')" if data.n_rejected else ""
        )
    facts = [
        ("data source", data.source),
        ("events used", f"{data.n_events:,}"),
        ("cases", _cases_text(data)),
        ("rejected rows", rejected),
        ("first event", _when(data.first_event_at)),
        ("as_of (observation end)", _when(data.as_of)),
        ("preset", data.policy.name),
        ("grouped by", data.by or "nothing (one group)"),
        ("period", data.period or "none"),
        ("business calendar", _calendar_text(data.calendar)),
        ("SLA policy", "none configured" if data.sla is None else repr(data.sla)),
        ("csmetrics version", str(__version__)),
    ]
    facts_html = "<dl>" + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts) + "</dl>"
    policy_rows = [[k, _describe_value(v)] for k, v in data.policy.describe().items()]
    policy_html = _table(
        ["policy knob", "value"],
        policy_rows,
        text_columns=2,
        caption="Policy.describe(): every knob the definitions depend on",
    )
    metric_rows = [[m.name, m.unit, m.definition, m.docs] for m in data.metrics]
    metric_html = _table(
        ["metric", "unit", "definition", "docs page"],
        metric_rows,
        text_columns=4,
        caption="Metric definitions (csm.metrics.get(name).definition)",
    )
    return (
        '<section id="definitions"><h2>Definitions used</h2>'
        "<h3>Data</h3>"
        + facts_html
        + "<h3>Policy</h3>"
        + policy_html
        + "<h3>Metrics</h3>"
        + metric_html
        + "</section>"
    )


_NAV: Final = (
    ("headline", "Headline"),
    ("distributions", "Distributions"),
    ("over-time", "Over time"),
    ("cross-channel", "Across channels"),
    ("comp", "Compensation"),
    ("trends", "Trends"),
    ("sla", "SLA"),
    ("analyses", "Analyses"),
    ("definitions", "Definitions"),
)


def render_report(data: ReportData, *, fragment: bool = False) -> str:
    """The report as HTML: a whole document, or a ``<div>`` fragment for notebooks."""
    meta = (
        f"{data.source} · {data.n_events:,} events · {data.n_cases:,} cases · "
        f"as_of {_short_when(data.as_of)} · preset {data.policy.name}"
    )
    nav = "<nav>" + "".join(f'<a href="#{key}">{_e(text)}</a>' for key, text in _NAV) + "</nav>"
    body = "".join(
        [
            f'<header><h1>{_e(data.title)}</h1><p class="csm-meta">{_e(meta)}</p>{nav}</header>',
            _headline(data),
            _distributions(data),
            _timeline(data),
            _cross_channel(data),
            _comp(data),
            _trends(data),
            _sla(data),
            render_analyses(data.analyses),
            _definitions(data),
        ]
    )
    report = f'<div class="csm-report"><style>{CSS}</style>{body}</div>'
    if fragment:
        return report
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="generator" content="csmetrics">'
        f"<title>{_e(data.title)}</title></head>"
        f"<body>{report}</body></html>\n"
    )


def summary_table(frame: pl.DataFrame, keys: Sequence[str], *, title: str = "") -> str:
    """A tidy compute result as an HTML table: one row per metric, one column per group.

    Each cell shows the headline value, formatted by unit, with its population ``n`` in a
    tooltip; with ``keys`` the groups are their values joined by `` / ``.

    Examples
    --------
    >>> import polars as pl
    >>> tidy = pl.DataFrame({"channel": ["chat", "email"], "metric": ["reopen_rate"] * 2,
    ...     "unit": ["ratio"] * 2, "n": [10, 4], "n_open": [0, 1], "value": [0.1, 0.25]})
    >>> html = summary_table(tidy, ["channel"])
    >>> "<th scope=\\"col\\">email</th>" in html, "25.0%" in html
    (True, True)
    """
    if keys:
        label = pl.concat_str(
            [pl.col(k).cast(pl.String).fill_null("—") for k in keys], separator=" / "
        )
    else:
        label = pl.lit("value")
    shaped = frame.with_columns(label.alias(GROUP))
    groups = [str(g) for g in shaped[GROUP].unique(maintain_order=True).to_list()]
    metrics = [str(m) for m in shaped["metric"].unique(maintain_order=True).to_list()]
    cells = _rows_by_group(shaped)
    rows = []
    for metric in metrics:
        unit = next(
            (cells[g][metric]["unit"] for g in groups if metric in cells.get(g, {})), "count"
        )
        rows.append(
            [_e(metric), _e(unit)] + [_figure_cell(cells.get(g, {}).get(metric)) for g in groups]
        )
    table = _table(["metric", "unit", *groups], rows, text_columns=2, caption=title, raw=True)
    return f'<div class="csm-summary"><style>{CSS}</style>{table}</div>'
