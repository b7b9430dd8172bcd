"""Report and Summary: results that show themselves in a notebook, a terminal or a file.

:class:`Summary` wraps a tidy :func:`csmetrics.compute` result: a rich HTML table in Jupyter
(``_repr_html_``), an aligned text table in a terminal (``str``), and :meth:`Summary.plot` for
the standard charts. :class:`Report` is the channel-by-channel report of a whole log: computed
once, shown in Jupyter, printed as text, or written as a self-contained HTML file.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import polars as pl

from csmetrics._capabilities import NOT_MEASURABLE
from csmetrics._periods import check_period
from csmetrics._text import WIDTH, wrap
from csmetrics.cases import OnInvalid
from csmetrics.compute import Period
from csmetrics.exceptions import PolicyError
from csmetrics.log import EventLog, as_event_log
from csmetrics.policy import Policy
from csmetrics.report import _data
from csmetrics.report.charts import Box, Chart, bar_chart, box_chart, line_chart, series_colors
from csmetrics.report.html import render_report, summary_table
from csmetrics.report.text import format_value, headline_table, render_table

if TYPE_CHECKING:
    from csmetrics.calendar import BusinessCalendar

__all__ = ["PLOT_KINDS", "PlotKind", "Report", "Summary"]

PlotKind = Literal["first_response", "resolution", "volume", "backlog", "comp"]
PLOT_KINDS: Final[dict[str, str]] = {
    "first_response": "first_response_time",
    "resolution": "first_resolution_time",
    "volume": "volume",
    "backlog": "backlog",
    "comp": "comp_rate",
}
"""The standard charts of :meth:`Summary.plot` and the metric each one draws."""

_STAT_COLUMNS: Final = frozenset(
    {"metric", "unit", "n", "n_open", "value", "mean", "numerator", "denominator", NOT_MEASURABLE}
)
_QUANTILE: Final = re.compile(r"^p\d+(_\d+)?$")
_TITLES: Final[dict[str, str]] = {
    "first_response_time": "First response time",
    "first_resolution_time": "Resolution time (first)",
    "volume": "Cases",
    "backlog": "Open cases (backlog)",
    "comp_rate": "Comp rate",
}


class Summary:
    """A tidy :func:`csmetrics.compute` result that displays itself.

    In Jupyter it is an HTML table (one row per metric, one column per group); ``str()`` is
    the same as aligned text; :meth:`plot` draws the standard charts. The frame is collected
    once, on first use.

    Parameters
    ----------
    result
        The tidy frame :func:`csmetrics.compute` returns (lazy or collected).
    title
        A caption for the table.

    Examples
    --------
    >>> import csmetrics as csm
    >>> from csmetrics.report.summary import Summary
    >>> log = csm.testing.log_from_rows([("09:00", "case_created", "customer"),
    ...     ("09:30", "message", "agent")])
    >>> summary = Summary(csm.compute(log, ["volume", "first_response_time"], by="channel"))
    >>> print(summary)  # doctest: +NORMALIZE_WHITESPACE
    metric               email
    -------------------  -----------
    first_response_time  30.0m (n=1)
    volume               1 (n=1)
    >>> summary.keys
    ['channel']
    >>> "<table>" in summary._repr_html_()
    True
    """

    def __init__(self, result: pl.DataFrame | pl.LazyFrame, *, title: str = "") -> None:
        if not isinstance(result, pl.DataFrame | pl.LazyFrame):
            raise PolicyError(
                f"Summary needs the frame csm.compute() returns (got {type(result).__name__})"
            )
        names = result.collect_schema().names()
        missing = [c for c in ("metric", "unit", "n", "value") if c not in names]
        if missing:
            raise PolicyError(
                f"Summary needs a tidy compute result; columns {missing} are missing "
                f"(got {names}); pass csm.compute(log, …)"
            )
        self._result = result
        self._frame: pl.DataFrame | None = None
        self.title = title

    @property
    def frame(self) -> pl.DataFrame:
        """The tidy result, collected (once)."""
        if self._frame is None:
            result = self._result
            self._frame = result.collect() if isinstance(result, pl.LazyFrame) else result
        return self._frame

    @property
    def keys(self) -> list[str]:
        """The group columns (the ``by`` columns and ``period_start``)."""
        return [
            c
            for c in self.frame.columns
            if c not in _STAT_COLUMNS and not _QUANTILE.match(c) and not c.startswith("_")
        ]

    @property
    def by(self) -> list[str]:
        """The ``by`` columns (the group columns without ``period_start``)."""
        return [c for c in self.keys if c != "period_start"]

    def _labelled(self) -> pl.DataFrame:
        by = self.by
        if by:
            label = pl.concat_str(
                [pl.col(c).cast(pl.String).fill_null("—") for c in by], separator=" / "
            )
        else:
            label = pl.lit(_data.ALL_LABEL)
        return self.frame.with_columns(label.alias(_data.GROUP))

    def to_text(self) -> str:
        """The aligned text table ``str()`` shows."""
        labelled = self._labelled()
        if "period_start" in self.keys:
            labelled = labelled.with_columns(
                pl.concat_str(
                    [pl.col(_data.GROUP), pl.col("period_start").dt.strftime("%Y-%m-%d")],
                    separator=" / ",
                    ignore_nulls=True,
                ).alias(_data.GROUP)
            )
        column = _data.GROUP if self.keys else None
        table = headline_table(labelled, column)
        if column is None:
            table = table.select("metric", pl.col("shown").alias("value"), "n", "n_open")
        return render_table(table, title=self.title or None)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        return summary_table(self.frame, self.keys, title=self.title)

    def _rows(self, metric: str) -> pl.DataFrame:
        rows = self._labelled().filter(pl.col("metric") == metric)
        if rows.is_empty():
            present = sorted(set(self.frame["metric"].to_list()))
            raise PolicyError(
                f"this summary has no {metric!r} rows (it has {present}); compute it, e.g. "
                f"csm.compute(log, [{metric!r}, …], by=…)"
            )
        return rows

    def plot(self, kind: PlotKind | str = "first_response", *, width: int = 640) -> Chart:
        """A standard chart of this summary, as SVG (Jupyter shows it).

        Parameters
        ----------
        kind
            ``"first_response"`` or ``"resolution"``: quantile boxes per group (p10 … p90 when
            computed, with ``quantiles=(0.1, 0.25, 0.5, 0.75, 0.9)``; the median at least);
            ``"volume"``, ``"backlog"``, ``"comp"`` (comp rate): bars per group. With a
            ``period`` every kind is a line per group over time (the median for durations).
            Any other metric name in the summary works too.
        width
            Width in pixels.

        Raises
        ------
        PolicyError
            When the summary lacks the metric the chart needs.

        Examples
        --------
        >>> import csmetrics as csm
        >>> from csmetrics.report.summary import Summary
        >>> summary = Summary(csm.compute(csm.datasets.sample_log(), ["volume"], by="channel"))
        >>> chart = summary.plot("volume")
        >>> chart.startswith("<svg"), "email" in chart
        (True, True)
        """
        metric = PLOT_KINDS.get(kind, kind)
        rows = self._rows(metric)
        unit = str(rows["unit"][0])
        title = _TITLES.get(metric, metric)
        if "period_start" in rows.columns:
            return self._plot_over_time(rows, title, unit, width)
        labels = [str(v) for v in rows[_data.GROUP].to_list()]
        colors = series_colors(labels)
        if unit == "seconds":
            boxes = [
                Box(
                    str(r[_data.GROUP]),
                    p10=r.get("p10"),
                    p25=r.get("p25"),
                    p50=r.get("p50", r.get("value")),
                    p75=r.get("p75"),
                    p90=r.get("p90"),
                    note=f"n={r['n']}" + (f", {r['n_open']} open" if r.get("n_open") else ""),
                )
                for r in rows.iter_rows(named=True)
            ]
            return box_chart(
                boxes, title=title, colors=[colors[b.label] for b in boxes], width=width
            )
        return bar_chart(
            labels,
            rows["value"].to_list(),
            title=title,
            unit=unit,
            notes=[f"n={n}" for n in rows["n"].to_list()],
            colors=[colors[label] for label in labels],
            width=width,
        )

    def _plot_over_time(self, rows: pl.DataFrame, title: str, unit: str, width: int) -> Chart:
        starts = sorted(rows["period_start"].drop_nulls().unique().to_list())
        names = [str(n) for n in rows[_data.GROUP].unique(maintain_order=True).to_list()]
        colors = series_colors(names)
        series: dict[str, list[float | None]] = {}
        line_colors: dict[str, str] = {}
        dashed: list[str] = []
        p90 = unit == "seconds" and "p90" in rows.columns
        for name in names:
            part = rows.filter(pl.col(_data.GROUP) == name)
            values = dict(part.select("period_start", "value").iter_rows())
            series[name] = [values.get(s) for s in starts]
            line_colors[name] = colors[name]
            if p90:  # the p90 beside the median, dashed, in the group's colour
                upper = dict(part.select("period_start", "p90").iter_rows())
                key = f"{name} p90"
                series[key] = [upper.get(s) for s in starts]
                line_colors[key] = colors[name]
                dashed.append(key)
        if unit == "seconds":
            title = f"{title}, median" + (" (solid) and p90 (dashed)" if p90 else "")
        return line_chart(
            starts,
            series,
            title=f"{title} per period",
            unit=unit,
            colors=line_colors,
            dashed=dashed,
            width=width,
        )

    def to_altair(self, kind: PlotKind | str = "first_response") -> Any:
        """The chart of :meth:`plot` as an Altair chart (``pip install 'csmetrics[altair]'``).

        Durations are drawn in minutes: per group, a bar to the median and a tick at the p90
        when computed; with a period, a line per group (the median, and the p90 dashed).
        Rates and counts are bars (lines with a period). The tooltip gives each figure's
        population ``n``.

        Raises
        ------
        ImportError
            When altair is not installed, saying how to install it.
        PolicyError
            When the summary lacks the metric.

        Examples
        --------
        >>> import csmetrics as csm
        >>> from csmetrics.report.summary import Summary
        >>> summary = Summary(csm.compute(csm.datasets.sample_log(), ["volume"], by="channel"))
        >>> chart = summary.to_altair("volume")  # doctest: +SKIP
        >>> chart.to_dict()["mark"]["type"]  # doctest: +SKIP
        'bar'
        """
        try:
            alt = importlib.import_module("altair")
        except ImportError as exc:
            raise ImportError(
                "Summary.to_altair() needs altair: pip install 'csmetrics[altair]'"
            ) from exc
        metric = PLOT_KINDS.get(kind, kind)
        rows = self._rows(metric)
        unit = str(rows["unit"][0])
        title = _TITLES.get(metric, metric)
        scale, axis = (60.0, "minutes") if unit == "seconds" else (1.0, unit)
        keep = ["value", *(["p90"] if unit == "seconds" and "p90" in rows.columns else [])]
        over_time = "period_start" in rows.columns
        data = rows.select(
            pl.col(_data.GROUP).alias("group"),
            "n",
            *((pl.col(c) / scale).alias(c) for c in keep),
            *(["period_start"] if over_time else []),
        )
        value_title = f"{title} ({'median, ' if unit == 'seconds' else ''}{axis})"
        tooltip = ["group", "n", alt.Tooltip("value", title=value_title, format=".3~f")]
        if over_time:
            base = alt.Chart(data).encode(
                x=alt.X("period_start:T", title="period"),
                color=alt.Color("group:N", title=self.by[0] if self.by else "group"),
            )
            chart = base.mark_line(point=True).encode(
                y=alt.Y("value:Q", title=value_title), tooltip=["period_start:T", *tooltip]
            )
            if "p90" in data.columns:
                chart = chart + base.mark_line(strokeDash=[5, 3]).encode(y="p90:Q")
            return chart.properties(title=f"{title} per period")
        base = alt.Chart(data).encode(y=alt.Y("group:N", title=None, sort="-x"))
        chart = base.mark_bar(color="#4e79a7").encode(
            x=alt.X("value:Q", title=value_title), tooltip=tooltip
        )
        if "p90" in data.columns:
            chart = chart + base.mark_tick(color="#1f2933", thickness=2).encode(
                x="p90:Q", tooltip=["group", alt.Tooltip("p90", title="p90", format=".3~f")]
            )
        return chart.properties(title=title)


def _check_by(by: object) -> str | None:
    if by is None or isinstance(by, str):
        return by
    raise PolicyError(f"'by' must be one column name or None (got {by!r})")


class Report:
    """The channel-by-channel report of an event log: HTML file, notebook display, text.

    Nothing is computed until the report is shown: :meth:`to_html`, ``str()``, Jupyter's
    display or :attr:`headline` compute every section together, once, and keep the result.

    Parameters
    ----------
    log
        An :class:`~csmetrics.EventLog`, a path, or anything :meth:`EventLog.from_frame`
        reads.
    policy
        The definitions; default ``Policy()`` (the ``csmetrics`` preset).
    by
        The case-table column to compare (default ``"channel"``); ``None`` for one group.
    period
        ``"day"``, ``"week"`` (default), ``"month"``, ``"quarter"``, or another period of
        the conventions page (``"1d"``, ``"hour"`` …), for the charts over time and the
        period-over-period changes of the headline; or ``None``.
    calendar
        The business calendar in force, shown with the definitions.
    sla
        An SLA policy; without one the SLA section says none is configured.
    on_invalid
        ``"raise"`` on an invalid event (default) or ``"quarantine"`` (bad rows are left out
        and counted in the definitions).
    title
        The page title.

    Examples
    --------
    >>> import csmetrics as csm
    >>> from csmetrics.report.summary import Report
    >>> report = Report(csm.datasets.sample_log(), period=None)
    >>> page = report.to_html()
    >>> page.startswith("<!DOCTYPE html>"), "<script" in page
    (True, False)
    >>> report.collect().n_cases, report.headline.frame.filter(metric="volume")["value"].sum()
    (2000, 1972.0)

    The sample's 2,000 cases include 28 merged into another case: outside every metric
    population, ``volume`` included, unless ``Policy(include_merged=True)``.
    """

    def __init__(
        self,
        log: EventLog | object,
        *,
        policy: Policy | None = None,
        by: str | None = "channel",
        period: Period | None = "week",
        calendar: BusinessCalendar | None = None,
        sla: object | None = None,
        on_invalid: OnInvalid = "raise",
        title: str = "Customer-service report",
    ) -> None:
        if period is not None:
            period = check_period(period).name
        if on_invalid not in ("raise", "quarantine"):
            raise PolicyError(
                f"'on_invalid' must be in ('raise', 'quarantine') (got {on_invalid!r})"
            )
        self.log = as_event_log(log)
        self.policy = policy or Policy()
        self.by = _check_by(by)
        self.period: Period | None = period
        self.calendar = calendar
        self.sla = sla
        self.on_invalid: OnInvalid = on_invalid
        self.title = title
        self._data: _data.ReportData | None = None

    def collect(self) -> _data.ReportData:
        """Compute every section (once; later calls return the same result)."""
        if self._data is None:
            self._data = _data.gather(
                self.log,
                policy=self.policy,
                by=self.by,
                period=self.period,
                calendar=self.calendar,
                sla=self.sla,
                on_invalid=self.on_invalid,
                title=self.title,
            )
        return self._data

    @property
    def headline(self) -> Summary:
        """The headline figures per group (tidy, with p10 … p90 for durations)."""
        data = self.collect()
        return Summary(data.headline.drop(_data.GROUP), title="Headline figures")

    @property
    def over_time(self) -> Summary | None:
        """Volume and backlog per group and period (``None`` without a period)."""
        data = self.collect()
        if data.timeline is None:
            return None
        return Summary(data.timeline.drop(_data.GROUP), title=f"Per {self.period}")

    def to_html(self, path: str | os.PathLike[str] | None = None) -> str:
        """The report as one self-contained HTML page; also written to ``path`` if given.

        The page opens offline: inline CSS and SVG, no script, no font or image to fetch.
        """
        page = render_report(self.collect())
        if path is not None:
            Path(path).write_text(page, encoding="utf-8")
        return page

    def to_text(self) -> str:
        """The report as plain text: headline table, cross-channel figures, definitions."""
        data = self.collect()
        combined = pl.concat([data.headline, data.overall], how="diagonal_relaxed")
        shown = combined.filter(pl.col("metric") != "comp_value")
        column = _data.GROUP if data.by else None
        table = headline_table(shown, column)
        if column is None:
            table = table.select("metric", pl.col("shown").alias("value"), "n", "n_open")
        as_of = f"{data.as_of:%Y-%m-%d %H:%M:%S} UTC" if data.as_of else "—"
        lines = [
            data.title,
            wrap(
                f"{data.source}: {data.n_events:,} events, {data.n_cases:,} cases, as_of "
                f"{as_of}, preset {data.policy.name}",
                WIDTH,
            ),
            "",
            render_table(
                table,
                title="headline value (n = cases) by "
                + (data.by or "group")
                + "; durations are medians",
            ),
            "",
        ]
        lines += _text_section("across channels", _journey_lines(data))
        lines += _text_section("spikes (trends)", _spike_lines(data))
        lines += _text_section(
            "SLA",
            [data.sla_section.note]
            if data.sla_section.note
            else [render_table(data.sla_section.frames["attainment"])],
        )
        rejected = "trusted log" if data.n_rejected is None else f"{data.n_rejected:,}"
        lines += _text_section(
            "definitions",
            [
                f"rejected rows: {rejected}; business calendar: "
                + ("none (calendar time)" if data.calendar is None else repr(data.calendar)),
                "policy: " + ", ".join(f"{k}={v}" for k, v in data.policy.describe().items()),
                "metric definitions: `csmetrics metrics`; the HTML report lists them.",
            ],
        )
        return "\n".join(lines).rstrip() + "\n"

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        return render_report(self.collect(), fragment=True)


def _text_section(title: str, body: Sequence[str]) -> list[str]:
    lines = [wrap(f"  {line}", WIDTH, indent="  ") for text in body for line in text.splitlines()]
    return [f"{title}:", *lines, ""]


def _spike_lines(data: _data.ReportData) -> list[str]:
    section = data.trends
    if not section.available:
        return [section.note]
    spikes = section.frames["spikes"]
    if spikes.is_empty():
        return [f"no spike (per {_data.TREND_PERIOD}, against each group's own baseline)"]
    shown = spikes.drop("baseline_std", "z_score", "is_spike", "top_customer_volume", strict=False)
    return [render_table(shown.head(20), width=WIDTH - 2)]


def _journey_lines(data: _data.ReportData) -> list[str]:
    section = data.journeys
    if not section.available:
        return [section.note]
    lines = []
    for row in section.frames["metrics"].sort("metric").iter_rows(named=True):
        if row["metric"] == "contacts_per_issue":
            shown = "—" if row["mean"] is None else f"{row['mean']:.2f} per issue"
        else:
            shown = format_value(row["value"], row["unit"])
        lines.append(f"{row['metric']}: {shown} (n={row['n']})")
    return lines
