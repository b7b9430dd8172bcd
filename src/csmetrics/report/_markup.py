"""HTML building blocks shared by the report's sections: escaping, plain cells, tables."""

from __future__ import annotations

import datetime as dt
import html
import math
import re
from collections.abc import Iterable, Sequence
from typing import Final

import polars as pl

__all__ = ["_cell", "_e", "_missing", "_table", "frame_table"]


# bidi embeddings, overrides and isolates (a label could reverse the text around it) and C0/C1
# control characters (besides tab and newline) never reach the page
_UNSAFE: Final = re.compile(
    "[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff]"
)


def _e(text: object) -> str:
    """``text`` escaped for HTML, without bidi controls and control characters."""
    return html.escape(_UNSAFE.sub("", str(text)), quote=True)


def _cell(value: object) -> str:
    """A plain value for a generic table."""
    if value is None:
        return "—"
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M %Z").strip()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    text_columns: int = 1,
    caption: str = "",
    row_classes: Sequence[str] | None = None,
    raw: bool = False,
) -> str:
    """An HTML table; cells are escaped unless ``raw`` (then they are markup already)."""
    head = "".join(
        f'<th scope="col"{" class=" + chr(34) + "csm-text" + chr(34) if i < text_columns else ""}>'
        f"{_e(h)}</th>"
        for i, h in enumerate(headers)
    )
    body = []
    for r, row in enumerate(rows):
        cls = f' class="{row_classes[r]}"' if row_classes and row_classes[r] else ""
        cells = "".join(
            f"<td{' class=' + chr(34) + 'csm-text' + chr(34) if i < text_columns else ''}>"
            f"{v if raw else _e(v)}</td>"
            for i, v in enumerate(row)
        )
        body.append(f"<tr{cls}>{cells}</tr>")
    cap = f"<caption>{_e(caption)}</caption>" if caption else ""
    return (
        f'<div class="csm-scroll"><table>{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def frame_table(frame: pl.DataFrame, *, caption: str = "", limit: int = 200) -> str:
    """Any frame as an HTML table, values written plainly; at most ``limit`` rows."""
    shown = frame.head(limit)
    text_columns = 0
    for dtype in shown.dtypes:
        if dtype in (pl.String, pl.Categorical, pl.Boolean) or isinstance(dtype, pl.Enum):
            text_columns += 1
        else:
            break
    rows = [[_cell(v) for v in row] for row in shown.iter_rows()]
    more = f" (first {limit} of {frame.height} rows)" if frame.height > limit else ""
    return _table(shown.columns, rows, text_columns=text_columns, caption=caption + more)


def _missing(note: str) -> str:
    return f'<p class="csm-missing">{_e(note)}</p>'
