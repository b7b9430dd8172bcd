"""Plain-text rendering of tidy metric tables for terminals and logs."""

from __future__ import annotations

import math
from collections.abc import Sequence

import polars as pl

from csmetrics._capabilities import NOT_MEASURABLE, display_value

__all__ = ["format_value", "headline_table", "render_table"]


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes = seconds / 60
    if minutes < 60:
        return f"{minutes:.1f}m"
    hours = minutes / 60
    if hours < 48:
        return f"{hours:.1f}h"
    return f"{hours / 24:.1f}d"


def format_value(value: float | None, unit: str) -> str:
    """A headline value for people: ``1.5h``, ``12.5%``, ``35.00``, ``1,204``.

    Examples
    --------
    >>> format_value(5400.0, "seconds"), format_value(0.125, "ratio"), format_value(None, "count")
    ('1.5h', '12.5%', '—')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if unit == "seconds":
        return _duration(value)
    if unit in ("ratio", "score"):
        return f"{value * 100:.1f}%"
    if unit == "currency":
        return f"{value:,.2f}"
    return f"{value:,.0f}"


def headline_table(tidy: pl.DataFrame, column: str | None = None) -> pl.DataFrame:
    """Metrics as rows, one column per value of ``column`` (e.g. channel), formatted.

    ``n`` is shown beside each value when a column is given, so every figure carries the
    number of cases behind it.
    """
    why = [NOT_MEASURABLE] if NOT_MEASURABLE in tidy.columns else []
    formatted = tidy.with_columns(
        pl.struct("value", "unit", "n", *why)
        .map_batches(
            lambda s: pl.Series(
                [
                    f"{display_value(r, format_value(r['value'], r['unit']))} (n={r['n']})"
                    for r in s.to_list()
                ],
                dtype=pl.String,
            ),
            return_dtype=pl.String,
        )
        .alias("shown")
    )
    if column is None:
        return formatted.select("metric", "shown", "n", "n_open")
    return formatted.pivot(
        on=column, index="metric", values="shown", aggregate_function="first"
    ).sort("metric")


def render_table(frame: pl.DataFrame, *, title: str | None = None) -> str:
    """A frame as an aligned plain-text table (no truncation, unlike Polars' repr)."""
    headers = [str(c) for c in frame.columns]
    rows: list[Sequence[str]] = [
        ["—" if v is None else str(v) for v in row] for row in frame.iter_rows()
    ]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    lines = []
    if title:
        lines.append(title)
    lines.append("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
    return "\n".join(lines)
