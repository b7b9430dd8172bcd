"""Small text helpers shared by the CLI, the reports and the error messages.

- :func:`did_you_mean`: the ``(did you mean 'channel'?)`` hint for any name a user types;
- :func:`duration`: the one duration format of every text output (``45s``, ``13.1m``,
  ``2.9h``, ``3.2d``);
- :func:`fit_table`: an aligned plain-text table that fits a terminal width, by wrapping
  long cells and splitting wide tables into column blocks that repeat the first column.
"""

from __future__ import annotations

import difflib
import math
import textwrap
from collections.abc import Iterable, Sequence
from typing import Final

__all__ = ["WIDTH", "did_you_mean", "duration", "fit_table", "wrap"]

WIDTH: Final = 100
"""The terminal width every text output fits (columns)."""


def did_you_mean(name: object, choices: Iterable[object], *, n: int = 1) -> str:
    """`` (did you mean 'x'?)`` for the choices close to ``name``, else ``""``.

    Case-insensitive: ``"Chanel"`` finds ``"channel"``.

    Examples
    --------
    >>> did_you_mean("chanel", ["channel", "team", "topic"])
    " (did you mean 'channel'?)"
    >>> did_you_mean("WEEK", ["day", "week"])
    " (did you mean 'week'?)"
    >>> did_you_mean("zzz", ["day", "week"])
    ''
    """
    options = [str(c) for c in choices]
    lowered = {o.lower(): o for o in options}
    close = difflib.get_close_matches(str(name).lower(), list(lowered), n=n, cutoff=0.6)
    if not close:
        return ""
    return f" (did you mean {' or '.join(repr(lowered[c]) for c in close)}?)"


def duration(seconds: float | None) -> str:
    """A duration for people, in one format: ``45s``, ``13.1m``, ``2.9h``, ``3.2d``.

    Seconds under a minute, minutes under an hour, hours under two days, then days; one
    decimal (none for seconds); negative durations keep their sign; ``None`` or NaN is ``—``.

    Examples
    --------
    >>> [duration(s) for s in (45, 786, 10342.3, 276480, None)]
    ['45s', '13.1m', '2.9h', '3.2d', '—']
    >>> duration(-90)
    '-1.5m'
    """
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "—"
    sign = "-" if seconds < 0 else ""
    seconds = abs(float(seconds))
    if seconds < 59.5:
        return f"{sign}{seconds:.0f}s"
    minutes = seconds / 60
    if minutes < 59.95:
        return f"{sign}{minutes:.1f}m"
    hours = minutes / 60
    if hours < 48:
        return f"{sign}{hours:.1f}h"
    return f"{sign}{hours / 24:.1f}d"


def wrap(text: str, width: int = WIDTH, *, indent: str = "") -> str:
    """``text`` wrapped to ``width`` columns, paragraph by paragraph (lines kept).

    Examples
    --------
    >>> print(wrap("one two three four", 9))
    one two
    three
    four
    """
    lines = []
    for line in text.splitlines() or [""]:
        if len(line) <= width:
            lines.append(line)
            continue
        lead = line[: len(line) - len(line.lstrip())] + indent
        lines += textwrap.wrap(
            line, width, subsequent_indent=lead, break_long_words=True, break_on_hyphens=False
        )
    return "\n".join(lines)


def _cell_lines(value: str, width: int) -> list[str]:
    if len(value) <= width:
        return [value]
    return textwrap.wrap(value, width, break_long_words=True, break_on_hyphens=False) or [""]


def fit_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    width: int = WIDTH,
    title: str | None = None,
    max_cell: int = 48,
) -> str:
    """An aligned text table no wider than ``width``.

    Cells longer than ``max_cell`` wrap onto more lines. When the columns still do not fit,
    the table is cut into blocks of columns, each repeating the first column (the row
    label), one under the other; a ``(columns i-j of n)`` line says which.

    Examples
    --------
    >>> print(fit_table(["metric", "a", "b"], [["volume", "1", "2"]], width=20))
    metric  a  b
    ------  -  -
    volume  1  2
    >>> text = fit_table(["m", *"abcdef"], [["x", *["12345"] * 6]], width=20)
    >>> max(len(line) for line in text.splitlines()) <= 20
    True
    """
    headers = [str(h) for h in headers]
    if not headers:
        return title or ""
    first_cap = max(12, min(max_cell, width // 3))
    caps = [first_cap] + [max_cell] * (len(headers) - 1)
    widths = [
        max([min(len(h), caps[i])] + [min(len(str(r[i])), caps[i]) for r in rows])
        for i, h in enumerate(headers)
    ]
    widths = [max(w, 1) for w in widths]
    # first narrow the columns of prose (cells with spaces) that wrap well, widest first
    prose = {i for i in range(1, len(headers)) if any(" " in str(r[i]).strip() for r in rows)}
    if sum(widths) + 2 * (len(widths) - 1) > width:
        floor = 14
        slack = sum(widths) + 2 * (len(widths) - 1) - width
        room = sum(max(0, widths[i] - floor) for i in prose)
        if prose and room >= slack:
            while slack > 0:
                i = max(prose, key=lambda k: widths[k])
                widths[i] -= 1
                slack -= 1
    # columns 1.. grouped into blocks that fit beside the first column
    blocks: list[list[int]] = []
    current: list[int] = []
    used = widths[0]
    for i in range(1, len(headers)):
        need = 2 + widths[i]
        if current and used + need > width:
            blocks.append(current)
            current, used = [], widths[0]
        if used + need > width:  # one column alone too wide: narrow it
            widths[i] = max(4, width - used - 2)
            need = 2 + widths[i]
        current.append(i)
        used += need
    if current or not blocks:
        blocks.append(current)
    out: list[str] = []
    if title:
        out.append(wrap(title, width))
    for b, block in enumerate(blocks):
        columns = [0, *block]
        if len(blocks) > 1:
            if b:
                out.append("")
            out.append(f"(columns {block[0] + 1}-{block[-1] + 1} of {len(headers)})")
        out += _render_block(
            [headers[c] for c in columns],
            [[str(r[c]) for c in columns] for r in rows],
            [widths[c] for c in columns],
        )
    return "\n".join(out)


def _render_block(headers: list[str], rows: list[list[str]], widths: list[int]) -> list[str]:
    out = []
    for row in [headers, None, *rows]:
        if row is None:
            out.append("  ".join("-" * w for w in widths).rstrip())
            continue
        cells = [_cell_lines(v, w) for v, w in zip(row, widths, strict=True)]
        for k in range(max(len(c) for c in cells)):
            parts = [
                (c[k] if k < len(c) else "").ljust(w) for c, w in zip(cells, widths, strict=True)
            ]
            out.append("  ".join(parts).rstrip())
    return out
