"""Plain-text rendering of tidy metric tables for terminals and logs.

Every table fits a 100-column terminal (:data:`csmetrics._text.WIDTH`): long cells wrap,
wide tables are cut into blocks of columns; durations have one format everywhere
(``45s``, ``13.1m``, ``2.9h``, ``3.2d``); period starts are short labels (``2024-W01``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Final

import polars as pl

from csmetrics._capabilities import NOT_MEASURABLE, display_value
from csmetrics._periods import Period, period_label_expr
from csmetrics._text import WIDTH, duration, fit_table

__all__ = [
    "HEADLINE",
    "explain_table",
    "format_cell",
    "format_value",
    "headline_table",
    "headline_text",
    "period_tables",
    "render_table",
    "visibility_groups",
]

_RATE_WORDS = ("rate", "share")


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
        return duration(value)
    if unit in ("ratio", "score"):
        return f"{value * 100:.1f}%"
    if unit == "currency":
        return f"{value:,.2f}"
    if unit == "contacts":
        return f"{value:,.2f}"
    return f"{value:,.0f}"


def _shown(row: dict[str, object]) -> str:
    unit = str(row["unit"])
    value = row["value"]
    if row.get("metric") == "contacts_per_issue":  # a mean per issue, not a total
        value, unit = row.get("mean"), "contacts"
    number = value if isinstance(value, int | float) else None
    return display_value(row, f"{format_value(number, unit)} (n={row['n']})")


def headline_table(tidy: pl.DataFrame, column: str | None = None) -> pl.DataFrame:
    """Metrics as rows, one column per value of ``column`` (e.g. channel), formatted.

    ``n`` is shown beside each value when a column is given, so every figure carries the
    number of cases behind it.
    """
    why = [NOT_MEASURABLE] if NOT_MEASURABLE in tidy.columns else []
    fields = ["metric", "value", "unit", "n", *(["mean"] if "mean" in tidy.columns else []), *why]
    formatted = tidy.with_columns(
        pl.Series("shown", [_shown(r) for r in tidy.select(fields).iter_rows(named=True)])
    )
    if column is None:
        return formatted.select("metric", "shown", "n", "n_open")
    return formatted.pivot(
        on=column, index="metric", values="shown", aggregate_function="first"
    ).sort("metric")


def format_cell(value: object, column: str = "") -> str:
    """One value of any column for a text table.

    Durations (``timedelta``) in the one duration format, instants to the second (the zone
    is said once, in the table's title), floats with four significant digits, and shares
    (a column named ``*rate*`` or ``*share*``) as percentages.

    Examples
    --------
    >>> import datetime as dt
    >>> format_cell(dt.timedelta(hours=2, minutes=52, seconds=22)), format_cell(None)
    ('2.9h', '—')
    >>> format_cell(0.15873015873015872, "rate"), format_cell(2.718281828, "mean")
    ('15.9%', '2.718')
    >>> format_cell(dt.datetime(2024, 1, 14, 15, 51, 32, 864394, tzinfo=dt.UTC))
    '2024-01-14 15:51:32'
    """
    if value is None:
        return "—"
    if isinstance(value, dt.timedelta):
        return duration(value.total_seconds())
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        if any(word in column for word in _RATE_WORDS) and 0 <= value <= 1:
            return f"{value * 100:.1f}%"
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    return str(value)


def render_table(frame: pl.DataFrame, *, title: str | None = None, width: int = WIDTH) -> str:
    """A frame as an aligned plain-text table that fits ``width`` columns.

    No truncation, unlike Polars' repr: long cells wrap, wide tables are cut into blocks of
    columns (each repeating the first column). Values are formatted by :func:`format_cell`.

    Examples
    --------
    >>> import polars as pl
    >>> print(render_table(pl.DataFrame({"metric": ["volume"], "rate": [0.25]})))
    metric  rate
    ------  -----
    volume  25.0%
    """
    columns = frame.columns
    dates = [c for c, dtype in frame.schema.items() if _midnights(frame, c, dtype)]
    shown = frame.with_columns(pl.col(dates).dt.date()) if dates else frame
    rows = [
        [format_cell(v, c) for v, c in zip(row, columns, strict=True)] for row in shown.iter_rows()
    ]
    return fit_table(columns, rows, width=width, title=title)


def _midnights(frame: pl.DataFrame, column: str, dtype: pl.DataType) -> bool:
    """A datetime column whose every value is a midnight (period starts): shown as dates."""
    if not isinstance(dtype, pl.Datetime) or frame.height == 0:
        return False
    values = frame[column].drop_nulls()
    return values.len() > 0 and bool((values.dt.truncate("1d") == values).all())


def period_tables(
    tidy: pl.DataFrame, by: Sequence[str], period: Period | str, *, width: int = WIDTH
) -> str:
    """A tidy result with a period as one small table per metric: periods × groups.

    Each table has a row per period (short labels: ``2024-W01``, ``2024-01-01``) and a
    column per group (the ``by`` values joined by `` / ``); cells are ``value (n=N)``.
    """
    key = next((c for c in ("period_start", "weekday", "hour_of_day") if c in tidy.columns), None)
    if key is None:
        return render_table(headline_table(tidy), width=width)
    if by:
        group = pl.concat_str(
            [pl.col(c).cast(pl.String).fill_null("—") for c in by], separator=" / "
        )
    else:
        group = pl.lit("all")
    labelled = tidy.sort(key, *by).with_columns(
        group.alias("_group"),
        period_label_expr(key, period).fill_null("—").alias("_period"),
    )
    labelled = labelled.with_columns(
        pl.Series(
            "_shown",
            [
                _shown(r)
                for r in labelled.select(
                    "metric",
                    "value",
                    "unit",
                    "n",
                    *(["mean"] if "mean" in labelled.columns else []),
                ).iter_rows(named=True)
            ],
        )
    )
    groups = sorted({str(g) for g in labelled["_group"].to_list()}, key=lambda g: (g.lower(), g))
    blocks = []
    name = "period" if key == "period_start" else key
    for metric in sorted(set(labelled["metric"].to_list())):
        part = labelled.filter(pl.col("metric") == metric)
        unit = str(part["unit"][0])
        cells: dict[tuple[str, str], str] = {
            (p, g): s for p, g, s in part.select("_period", "_group", "_shown").iter_rows()
        }
        periods = list(dict.fromkeys(part["_period"].to_list()))
        rows = [[p, *(cells.get((p, g), "—") for g in groups)] for p in periods]
        blocks.append(fit_table([name, *groups], rows, width=width, title=f"{metric} ({unit})"))
    return "\n\n".join(blocks)


def explain_table(frame: pl.DataFrame, *, title: str, width: int = WIDTH) -> str:
    """:func:`csmetrics.explain`'s frame for a terminal: one line per event (more when wrapped).

    The status change is one column (``open → pending``), the wait a pair closed (the next
    reply time) is in the one duration format, and the role and its note share a column.
    """
    rows = []
    for row in frame.iter_rows(named=True):
        before, after = row.get("status_before"), row.get("status")
        status = (
            f"{before} → {after}"
            if after is not None and before is not None and after != before
            else str(after or before or "—")
        )
        wait = row.get("next_reply_time")
        role = row.get("role") or ""
        note = row.get("note") or ""
        rows.append(
            [
                format_cell(row["ts"]),
                str(row["event_type"]),
                str(row["actor"]),
                status,
                format_cell(wait) if wait is not None else "",
                "; ".join(t for t in (role, note) if t),
            ]
        )
    headers = ["time", "event", "actor", "status", "wait", "role (why)"]
    return fit_table(headers, rows, width=width, title=title)


HEADLINE: Final[tuple[str, ...]] = (
    "first_response_time",
    "full_resolution_time",
    "channel_switch_rate",
    "comp_rate",
)
"""The four headline metrics every report leads with."""


def visibility_groups(tidy: pl.DataFrame) -> pl.DataFrame:
    """``tidy`` (by ``channel`` and ``is_public``) with a ``group`` label: the channel, split
    into ``(public)`` and ``(private)`` only where the channel has both kinds of case.

    Examples
    --------
    >>> import polars as pl
    >>> tidy = pl.DataFrame({"channel": ["email", "twitter", "twitter"],
    ...     "is_public": [False, False, True]})
    >>> visibility_groups(tidy)["group"].to_list()
    ['email', 'twitter (private)', 'twitter (public)']
    """
    both = tidy.group_by("channel").agg((pl.col("is_public").n_unique() > 1).alias("_both"))
    split = pl.when(pl.col("is_public")).then(pl.lit(" (public)")).otherwise(pl.lit(" (private)"))
    label = pl.when(pl.col("_both")).then(pl.concat_str("channel", split)).otherwise("channel")
    return (
        tidy.join(both, on="channel", how="left")
        .with_columns(label.fill_null(pl.col("channel")).alias("group"))
        .drop("_both")
    )


def headline_text(tidy: pl.DataFrame) -> str:
    """The four headline metrics by channel (public/private split where both), as a table.

    ``tidy`` is :func:`csmetrics.compute` of :data:`HEADLINE` by ``channel`` and
    ``is_public``.
    """
    grouped = visibility_groups(tidy.filter(pl.col("metric").is_in(list(HEADLINE))))
    shown = headline_table(grouped, "group")
    order = {name: i for i, name in enumerate(HEADLINE)}
    shown = shown.sort(pl.col("metric").replace_strict(order, default=len(order)))
    return render_table(
        shown,
        title="the headline: first response and full resolution (medians), channel-switch and "
        "comp rates, by channel (a channel with both public posts and direct messages is split)",
    )
