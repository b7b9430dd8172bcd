"""An optional part of the report, and how one is collected without ever breaking the report."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import attrs
import polars as pl

__all__ = ["Section", "_first_line", "_optional"]


@attrs.frozen(eq=False)
class Section:
    """An optional part of the report: its frames, or a note saying why it is not there."""

    frames: dict[str, pl.DataFrame] = attrs.field(factory=dict)
    note: str = ""

    @property
    def available(self) -> bool:
        """Whether the section has data."""
        return bool(self.frames) and not self.note


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _optional(build: Callable[[], Mapping[str, pl.LazyFrame | pl.DataFrame]], what: str) -> Section:
    """Collect an optional section; any failure becomes the section's note."""
    try:
        plans = build()
    except ImportError:
        return Section(note=f"not available: {what} is not part of this csmetrics version")
    except Exception as exc:  # an optional section never breaks the report
        return Section(note=f"not available: {what} failed ({_first_line(exc)})")
    try:
        names = list(plans)
        lazy = [p.lazy() for p in plans.values()]
        frames = pl.collect_all(lazy)
    except Exception as exc:
        return Section(note=f"not available: {what} failed ({_first_line(exc)})")
    return Section(frames=dict(zip(names, frames, strict=True)))
