"""Charts as inline SVG: bars, quantile boxes, lines over time and heat maps.

Written by hand, with no plotting library: the markup is plain SVG 1.1 that every browser,
Jupyter and printer renders, with no script, no font to fetch and nothing to download.
Each function takes plain Python values (the report and :class:`~csmetrics.report.Summary`
collect the Polars results first) and returns a :class:`Chart`, a ``str`` of SVG markup that
Jupyter displays as an image.

Every text is escaped; labels that are too long are shortened, with the full text in a
tooltip (``<title>``).
"""

from __future__ import annotations

import colorsys
import datetime as dt
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

import attrs

from csmetrics.report._markup import _e
from csmetrics.report.text import format_value

__all__ = [
    "ALL_COLOR",
    "OTHER_COLOR",
    "PALETTE",
    "Box",
    "Chart",
    "bar_chart",
    "box_chart",
    "heat_map",
    "line_chart",
    "series_colors",
]

PALETTE: Final[tuple[str, ...]] = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#b07aa1",
    "#76b7b2",
    "#edc948",
    "#9c755f",
    "#ff9da7",
    "#bab0ac",
)
"""Tableau 10: distinct hues that stay apart for the common colour-vision deficiencies."""

ALL_COLOR: Final = "#616e7c"
"""The colour of ``(all)``, the row over every group."""

OTHER_COLOR: Final = "#a3acb9"
"""The colour of ``(other)``, the groups beyond the largest ones taken together."""

RESERVED: Final = frozenset({ALL_COLOR, OTHER_COLOR})

FONT: Final = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
_SVG_NS: Final = "http://www.w3.org/2000/svg"
_INK: Final = "#1f2933"
_MUTED: Final = "#616e7c"
_GRID: Final = "#e4e7eb"
_ALERT: Final = "#c81e1e"
_CHAR: Final = 6.6  # average width of a 12 px character, to size label margins
_LABEL_CHARS: Final = 22

# Log-scale ticks for durations: seconds and their labels.
_TIME_TICKS: Final[tuple[tuple[float, str], ...]] = (
    (1, "1s"),
    (10, "10s"),
    (60, "1m"),
    (600, "10m"),
    (3600, "1h"),
    (6 * 3600, "6h"),
    (86400, "1d"),
    (7 * 86400, "1w"),
    (30 * 86400, "30d"),
    (365 * 86400, "1y"),
)


class Chart(str):
    """SVG markup of one chart; Jupyter shows it as an image (``_repr_svg_``).

    It is a ``str``: write it to a ``.svg`` file (or :meth:`save` it) or put it in HTML.

    Examples
    --------
    >>> chart = bar_chart(["email", "chat"], [3.0, 1.0], title="Cases", unit="count")
    >>> chart.startswith("<svg") and chart.endswith("</svg>")
    True
    >>> chart._repr_svg_() == str(chart)
    True
    """

    __slots__ = ()

    def _repr_svg_(self) -> str:
        return str(self)

    def inline(self) -> str:
        """The markup for embedding in HTML: the same SVG without the ``xmlns`` attribute.

        HTML parsers put ``<svg>`` in the SVG namespace by themselves, so a page of inline
        charts carries no URL at all.
        """
        return str(self).replace(f' xmlns="{_SVG_NS}"', "", 1)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the chart to an SVG file; returns its path."""
        target = Path(path)
        target.write_text(str(self), encoding="utf-8")
        return target


@attrs.frozen
class Box:
    """One row of a :func:`box_chart`: a label and the quantiles of its values.

    ``p10``/``p90`` are the whiskers, ``p25``/``p75`` the box, ``p50`` the median line; any
    of them may be ``None`` (not drawn). ``note`` is shown after the label (e.g. ``n=120``).
    """

    label: str
    p50: float | None
    p10: float | None = None
    p25: float | None = None
    p75: float | None = None
    p90: float | None = None
    note: str = ""


def _extra_color(i: int) -> str:
    """The ``i``-th colour after :data:`PALETTE`: hues a golden angle apart, two lightnesses."""
    hue = (i * 137.508 + 15.0) % 360.0
    light = 0.42 if i % 2 else 0.58
    r, g, b = colorsys.hls_to_rgb(hue / 360.0, light, 0.55)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


def series_colors(names: Sequence[str]) -> dict[str, str]:
    """A distinct colour per name, in order: :data:`PALETTE` first, then generated hues.

    No two names get the same colour, however many there are (a chart of 80 groups has 80
    colours), and none is the grey of ``(all)`` or ``(other)``.

    Examples
    --------
    >>> series_colors(["email", "chat"])
    {'email': '#4e79a7', 'chat': '#f28e2b'}
    >>> len(set(series_colors([str(i) for i in range(80)]).values()))
    80
    """
    colors: dict[str, str] = {}
    used = set(RESERVED)
    extra = 0
    for i, name in enumerate(dict.fromkeys(names)):
        if i < len(PALETTE):
            color = PALETTE[i]
        else:
            color = _extra_color(extra)
            while color in used:
                extra += 1
                color = _extra_color(extra)
            extra += 1
        used.add(color)
        colors[name] = color
    return colors


def _n(value: float) -> str:
    """A coordinate, short: ``12.5``, ``40``."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _short(label: str, limit: int = _LABEL_CHARS) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _text(
    x: float,
    y: float,
    text: str,
    *,
    anchor: str = "start",
    size: int = 12,
    fill: str = _INK,
    weight: str | None = None,
    full: str | None = None,
) -> str:
    bold = f' font-weight="{weight}"' if weight else ""
    tip = f"<title>{_e(full)}</title>" if full and full != text else ""
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" font-size="{size}" '
        f'fill="{fill}"{bold}>{tip}{_e(text)}</text>'
    )


def _svg(width: float, height: float, title: str, body: Sequence[str], desc: str = "") -> Chart:
    head = (
        f'<svg xmlns="{_SVG_NS}" width="{_n(width)}" height="{_n(height)}" '
        f'viewBox="0 0 {_n(width)} {_n(height)}" role="img" font-family="{_e(FONT)}" '
        f'class="csm-chart">'
        f"<title>{_e(title)}</title>"
        + (f"<desc>{_e(desc)}</desc>" if desc else "")
        + f'<rect width="{_n(width)}" height="{_n(height)}" fill="#ffffff"/>'
        + _text(12, 20, title, size=14, weight="600")
    )
    return Chart(head + "".join(body) + "</svg>")


def _empty(title: str, width: float, message: str = "no data") -> Chart:
    return _svg(width, 70, title, [_text(12, 50, message, fill=_MUTED)])


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _nice_step(span: float, ticks: int = 5) -> float:
    raw = span / max(ticks, 1)
    if not raw > 1e-300:  # a span of (sub)normal dust: one step covers it
        return 1.0
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 2.5, 5.0):
        if raw <= factor * power:
            return factor * power
    return 10.0 * power


def _linear_ticks(top: float, unit: str) -> list[tuple[float, str]]:
    """Ticks from 0 to at least ``top`` at a 1-2-2.5-5 step, labelled in ``unit``."""
    if top <= 0:
        top = 1.0
    if unit == "ratio":
        step = _nice_step(top)
        return [(i * step, f"{i * step * 100:g}%") for i in range(math.ceil(top / step) + 1)]
    step = _nice_step(top)
    if unit == "count":
        step = max(1.0, round(step))
    n = math.ceil(top / step)
    return [(i * step, format_value(i * step, unit)) for i in range(n + 1)]


def _log_ticks(low: float, high: float) -> list[tuple[float, str]]:
    """Duration ticks covering ``[low, high]`` (seconds, both > 0)."""
    below = [t for t in _TIME_TICKS if t[0] <= low]
    above = [t for t in _TIME_TICKS if t[0] >= high]
    first = below[-1] if below else _TIME_TICKS[0]
    last = above[0] if above else _TIME_TICKS[-1]
    return [t for t in _TIME_TICKS if first[0] <= t[0] <= last[0]]


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    title: str,
    unit: str,
    notes: Sequence[str] | None = None,
    colors: Sequence[str] | None = None,
    legend: Mapping[str, str] | None = None,
    width: int = 640,
) -> Chart:
    """Horizontal bars, one per label, with the value written at the end of each bar.

    Parameters
    ----------
    labels, values
        One bar per label; a ``None`` value draws no bar and shows ``—``.
    title
        Shown on top, and the chart's accessible name.
    unit
        ``seconds``, ``ratio``, ``count``, ``currency`` or ``score``: how values are written.
    notes
        Text after each value (e.g. ``n=120``).
    colors
        A colour per bar (default the first colour of :data:`PALETTE`).
    legend
        Text → colour, drawn under the title (e.g. which colour means a public channel).
    width
        Width in pixels.

    Examples
    --------
    >>> svg = bar_chart(["email", "twitter"], [0.02, 0.15], title="Comp rate", unit="ratio")
    >>> "15.0%" in svg, svg.count("<rect") - 1
    (True, 2)
    """
    if not labels:
        return _empty(title, width)
    top_pad = 34 + (20 if legend else 0)
    row, bar = 24, 16
    left = 16 + _CHAR * min(_LABEL_CHARS, max(len(label) for label in labels))
    right = 16 + _CHAR * (12 + max((len(n) for n in notes or ()), default=0))
    plot_w = max(width - left - right, 80)
    finite = [v for v in values if v is not None and math.isfinite(v)]
    ticks = _linear_ticks(max(finite, default=0.0), unit)
    top = ticks[-1][0] or 1.0
    height = top_pad + row * len(labels) + 28
    body: list[str] = []
    if legend:
        x = 12.0
        for text, color in legend.items():
            body.append(
                f'<rect x="{_n(x)}" y="{top_pad - 30}" width="10" height="10" fill="{color}"/>'
            )
            body.append(_text(x + 14, top_pad - 21, text, size=11, fill=_MUTED))
            x += 30 + _CHAR * len(text)
    axis_y = top_pad + row * len(labels)
    for tick, text in ticks:
        x = left + plot_w * tick / top
        body.append(
            f'<line x1="{_n(x)}" y1="{top_pad - 4}" x2="{_n(x)}" y2="{axis_y}" stroke="{_GRID}"/>'
        )
        body.append(_text(x, axis_y + 16, text, anchor="middle", size=10, fill=_MUTED))
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top_pad + row * i
        body.append(_text(left - 8, y + bar - 3, _short(label), anchor="end", full=label))
        shown = format_value(value, unit)
        note = f" ({notes[i]})" if notes and notes[i] else ""
        bar_w = plot_w * (value / top) if _finite(value) and value is not None else 0.0
        if bar_w > 0:
            color = colors[i] if colors else PALETTE[0]
            body.append(
                f'<rect x="{_n(left)}" y="{y}" width="{_n(max(bar_w, 1.0))}" height="{bar}" '
                f'fill="{color}"><title>{_e(f"{label}: {shown}{note}")}</title></rect>'
            )
        body.append(_text(left + bar_w + 6, y + bar - 3, shown + note, size=11))
    desc = "; ".join(
        f"{label}: {format_value(v, unit)}" for label, v in zip(labels, values, strict=True)
    )
    return _svg(width, height, title, body, desc)


def box_chart(
    boxes: Sequence[Box],
    *,
    title: str,
    unit: str = "seconds",
    colors: Sequence[str] | None = None,
    width: int = 640,
) -> Chart:
    """Quantile boxes, one row per label, on a log scale for durations.

    Whiskers from p10 to p90, the box from p25 to p75, a dark line at the median. Durations
    (``unit="seconds"``) use a logarithmic axis with ticks at 1s, 10s, 1m, 10m, 1h, 6h, 1d,
    1w …, so channels answering in seconds and in days fit one chart.

    Examples
    --------
    >>> svg = box_chart([Box("phone", p10=20, p25=30, p50=45, p75=90, p90=150),
    ...                  Box("email", p10=900, p25=4000, p50=16000, p75=40000, p90=70000)],
    ...                 title="First response time")
    >>> [tick in svg for tick in (">10s<", ">1m<", ">1h<", ">1d<")]
    [True, True, True, True]
    """
    values = [
        v
        for b in boxes
        for v in (b.p10, b.p25, b.p50, b.p75, b.p90)
        if v is not None and math.isfinite(v)
    ]
    if not boxes or not values:
        return _empty(title, width)
    log_scale = unit == "seconds"
    if log_scale:
        positive = [v for v in values if v > 0] or [1.0]
        ticks = _log_ticks(min(positive), max(positive))
        lo, hi = math.log10(ticks[0][0]), math.log10(ticks[-1][0])
        if hi <= lo:
            hi = lo + 1

        def scale(v: float) -> float:
            return (math.log10(max(v, ticks[0][0])) - lo) / (hi - lo)
    else:
        ticks = _linear_ticks(max(values), unit)
        top = ticks[-1][0] or 1.0

        def scale(v: float) -> float:
            return v / top

    top_pad, row, box_h = 40, 30, 14
    left = 16 + _CHAR * min(_LABEL_CHARS, max(len(b.label) for b in boxes))
    right = 16 + _CHAR * (16 + max(len(b.note) for b in boxes))
    plot_w = max(width - left - right, 80)
    axis_y = top_pad + row * len(boxes)
    height = axis_y + 30
    body: list[str] = []
    for tick, text in ticks:
        x = left + plot_w * scale(tick)
        body.append(
            f'<line x1="{_n(x)}" y1="{top_pad - 6}" x2="{_n(x)}" y2="{axis_y}" stroke="{_GRID}"/>'
        )
        body.append(_text(x, axis_y + 16, text, anchor="middle", size=10, fill=_MUTED))
    for i, b in enumerate(boxes):
        y = top_pad + row * i
        mid = y + box_h / 2
        color = colors[i] if colors else PALETTE[i % len(PALETTE)]
        body.append(_text(left - 8, mid + 4, _short(b.label), anchor="end", full=b.label))
        tip = (
            f"{b.label}: p10 {format_value(b.p10, unit)}, p25 {format_value(b.p25, unit)}, "
            f"median {format_value(b.p50, unit)}, p75 {format_value(b.p75, unit)}, "
            f"p90 {format_value(b.p90, unit)}" + (f" ({b.note})" if b.note else "")
        )
        body.append(f"<g><title>{_e(tip)}</title>")
        inner = [v for v in (b.p25, b.p50, b.p75) if v is not None and _finite(v)]
        for end, near in ((b.p10, min(inner, default=None)), (b.p90, max(inner, default=None))):
            if end is None or not _finite(end):
                continue  # a whisker to p10 or p90 whenever that quantile was computed
            x_end = left + plot_w * scale(end)
            x_near = left + plot_w * scale(near) if near is not None else x_end
            body.append(
                f'<line class="whisker" x1="{_n(x_near)}" y1="{_n(mid)}" x2="{_n(x_end)}" '
                f'y2="{_n(mid)}" stroke="{color}" stroke-width="2"/>'
            )
            body.append(
                f'<line x1="{_n(x_end)}" y1="{y + 3}" x2="{_n(x_end)}" y2="{y + box_h - 3}" '
                f'stroke="{color}" stroke-width="2"/>'
            )
        if _finite(b.p25) and _finite(b.p75):
            x1, x2 = (left + plot_w * scale(v) for v in (b.p25, b.p75) if v is not None)
            body.append(
                f'<rect x="{_n(x1)}" y="{y}" width="{_n(max(x2 - x1, 1.5))}" '
                f'height="{box_h}" fill="{color}" fill-opacity="0.55" stroke="{color}"/>'
            )
        if _finite(b.p50) and b.p50 is not None:
            x = left + plot_w * scale(b.p50)
            body.append(
                f'<line x1="{_n(x)}" y1="{y - 2}" x2="{_n(x)}" y2="{y + box_h + 2}" '
                f'stroke="{_INK}" stroke-width="2.5"/>'
            )
        body.append("</g>")
        note = f"median {format_value(b.p50, unit)}" + (f" ({b.note})" if b.note else "")
        body.append(_text(left + plot_w + 10, mid + 4, note, size=11, fill=_MUTED))
    desc = "; ".join(f"{b.label}: median {format_value(b.p50, unit)}" for b in boxes)
    return _svg(width, height, title, body, desc)


def _date_label(value: dt.datetime | dt.date) -> str:
    return value.strftime("%Y-%m-%d")


def line_chart(
    x: Sequence[dt.datetime | dt.date],
    series: Mapping[str, Sequence[float | None]],
    *,
    title: str,
    unit: str,
    colors: Mapping[str, str] | None = None,
    highlight: Mapping[str, Sequence[bool]] | None = None,
    dashed: Sequence[str] = (),
    labels: Sequence[str] | None = None,
    width: int = 640,
    height: int = 260,
) -> Chart:
    """Lines over time, one per series, with a legend on the right.

    ``x`` holds the period starts (shared by every series, sorted); a ``None`` value breaks
    the line. ``highlight`` marks points (e.g. spikes) of a series with a red ring; the
    series named in ``dashed`` are drawn dashed (a p90 beside its median). ``labels`` are
    the texts under the axis (default the dates). The chart grows to fit its legend, so
    every series is named.

    Examples
    --------
    >>> import datetime as dt
    >>> weeks = [dt.date(2024, 1, 1), dt.date(2024, 1, 8), dt.date(2024, 1, 15)]
    >>> svg = line_chart(weeks, {"email": [10, 12, 9], "chat": [5, None, 7]},
    ...                  title="Cases per week", unit="count")
    >>> svg.count("<polyline"), "2024-01-08" in svg
    (3, True)

    Three lines: email's, and chat's two pieces either side of its missing week.
    """
    if not x or not series:
        return _empty(title, width)
    colors = dict(colors) if colors else series_colors(list(series))
    height = max(height, 36 + 18 * len(series) + 16)
    legend_w = 24 + _CHAR * min(_LABEL_CHARS, max(len(s) for s in series))
    top_pad, bottom = 36, 40
    left = 16 + _CHAR * 8
    plot_w = max(width - left - legend_w - 16, 80)
    plot_h = max(height - top_pad - bottom, 60)
    finite = [v for values in series.values() for v in values if _finite(v) and v is not None]
    ticks = _linear_ticks(max(finite, default=0.0), unit)
    top = ticks[-1][0] or 1.0
    body: list[str] = []
    for tick, text in ticks:
        y = top_pad + plot_h * (1 - tick / top)
        body.append(
            f'<line x1="{_n(left)}" y1="{_n(y)}" x2="{_n(left + plot_w)}" y2="{_n(y)}" '
            f'stroke="{_GRID}"/>'
        )
        body.append(_text(left - 6, y + 4, text, anchor="end", size=10, fill=_MUTED))

    def x_at(i: int) -> float:
        return left + (plot_w * i / (len(x) - 1) if len(x) > 1 else plot_w / 2)

    every = max(1, math.ceil(len(x) / max(1, plot_w // 80)))
    for i, when in enumerate(x):
        if i % every == 0:
            body.append(
                _text(
                    x_at(i),
                    top_pad + plot_h + 16,
                    labels[i] if labels is not None else _date_label(when),
                    anchor="middle",
                    size=10,
                    fill=_MUTED,
                )
            )
    for k, (name, values) in enumerate(series.items()):
        color = colors.get(name, PALETTE[k % len(PALETTE)])
        runs: list[list[tuple[float, float, float, int]]] = [[]]
        for i, value in enumerate(values):
            if _finite(value) and value is not None:
                runs[-1].append((x_at(i), top_pad + plot_h * (1 - value / top), value, i))
            elif runs[-1]:
                runs.append([])
        for run in runs:
            if not run:
                continue
            points = " ".join(f"{_n(px)},{_n(py)}" for px, py, _, _ in run)
            dash = ' stroke-dasharray="5 3"' if name in dashed else ""
            body.append(
                f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2"'
                f"{dash}><title>{_e(name)}</title></polyline>"
            )
            for px, py, value, i in run:
                marked = bool(highlight and i < len(highlight.get(name, ())) and highlight[name][i])
                ring = f' r="5" stroke="{_ALERT}" stroke-width="2"' if marked else ' r="2.5"'
                stamp = labels[i] if labels is not None else _date_label(x[i])
                body.append(
                    f'<circle cx="{_n(px)}" cy="{_n(py)}"{ring} fill="{color}">'
                    f"<title>{_e(f'{name}, {stamp}: {format_value(value, unit)}')}</title></circle>"
                )
        ly = top_pad + 4 + 18 * k
        lx = left + plot_w + 16
        if name in dashed:
            body.append(
                f'<line x1="{_n(lx)}" y1="{_n(ly + 1.5)}" x2="{_n(lx + 12)}" y2="{_n(ly + 1.5)}" '
                f'stroke="{color}" stroke-width="3" stroke-dasharray="4 2"/>'
            )
        else:
            body.append(
                f'<rect class="legend" x="{_n(lx)}" y="{_n(ly)}" width="12" height="3" '
                f'fill="{color}"/>'
            )
        body.append(_text(lx + 16, ly + 5, _short(name), size=11, full=name))
    return _svg(width, height, title, body, f"{len(series)} series over {len(x)} periods")


def _blend(share: float) -> str:
    """White → dark blue by ``share`` in [0, 1]."""
    low, high = (255, 255, 255), (8, 69, 148)
    r, g, b = (round(lo + (hi - lo) * share) for lo, hi in zip(low, high, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def heat_map(
    rows: Sequence[str],
    columns: Sequence[str],
    values: Sequence[Sequence[float | None]],
    *,
    title: str,
    unit: str = "count",
    row_title: str = "",
    column_title: str = "",
    width: int = 640,
) -> Chart:
    """A matrix of coloured cells, darker for larger values, each value written in its cell.

    Examples
    --------
    >>> svg = heat_map(["email", "phone"], ["email", "twitter"], [[0, 12], [3, None]],
    ...                title="Channel switches", row_title="from", column_title="to")
    >>> ">12<" in svg, svg.count('class="cell"')
    (True, 4)
    """
    if not rows or not columns:
        return _empty(title, width)
    finite = [v for line in values for v in line if _finite(v) and v is not None]
    top = max(finite, default=0.0) or 1.0
    left = 24 + _CHAR * min(_LABEL_CHARS, max(len(r) for r in rows))
    top_pad = 56 + (16 if column_title else 0)
    cell_w = min(72.0, max(36.0, (width - left - 16) / len(columns)))
    cell_h = 26.0
    height = top_pad + cell_h * len(rows) + 24
    body: list[str] = []
    if column_title:
        body.append(
            _text(
                left + cell_w * len(columns) / 2,
                40,
                column_title,
                anchor="middle",
                size=11,
                fill=_MUTED,
            )
        )
    if row_title:
        body.append(_text(12, top_pad - 8, row_title, size=11, fill=_MUTED))
    for j, column in enumerate(columns):
        limit = max(3, int(cell_w / _CHAR))
        body.append(
            _text(
                left + cell_w * (j + 0.5),
                top_pad - 8,
                _short(column, limit),
                anchor="middle",
                size=11,
                full=column,
            )
        )
    for i, row in enumerate(rows):
        y = top_pad + cell_h * i
        body.append(_text(left - 8, y + cell_h / 2 + 4, _short(row), anchor="end", full=row))
        for j, column in enumerate(columns):
            value = values[i][j]
            x = left + cell_w * j
            shown = format_value(value, unit) if _finite(value) else "—"
            share = (value / top) if _finite(value) and value is not None else 0.0
            fill = _blend(share) if _finite(value) else "#f5f7fa"
            ink = "#ffffff" if share > 0.55 else _INK
            body.append(
                f'<rect class="cell" x="{_n(x)}" y="{_n(y)}" width="{_n(cell_w - 2)}" '
                f'height="{_n(cell_h - 2)}" fill="{fill}">'
                f"<title>{_e(f'{row} → {column}: {shown}')}</title></rect>"
            )
            body.append(
                _text(
                    x + (cell_w - 2) / 2,
                    y + cell_h / 2 + 3,
                    shown,
                    anchor="middle",
                    size=11,
                    fill=ink,
                )
            )
    return _svg(left + cell_w * len(columns) + 16, height, title, body)
