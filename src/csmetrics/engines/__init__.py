"""Execution engines: collecting csmetrics' lazy plans in memory, streaming or on a GPU.

The core returns ``pl.LazyFrame`` and never collects; :func:`collect` is what the CLI and
reports use, and what users may call instead of ``LazyFrame.collect``. ``engine="auto"``
streams (Polars' streaming engine keeps memory bounded for sources on disk and is as fast
in memory); ``"gpu"`` passes the plan to the Polars GPU engine (cudf-polars) and falls back
to the CPU, with a warning that says why, when it is not installed or cannot run the plan.
Spark lives in :mod:`csmetrics.engines.spark` (imported on demand).
"""

from __future__ import annotations

import warnings
from typing import Final, Literal

import polars as pl

from csmetrics.exceptions import PolicyError

__all__ = ["ENGINES", "Engine", "GpuFallbackWarning", "collect", "gpu_available"]

Engine = Literal["auto", "in-memory", "streaming", "gpu"]
ENGINES: Final[tuple[str, ...]] = ("auto", "in-memory", "streaming", "gpu")


class GpuFallbackWarning(UserWarning):
    """The GPU engine was asked for but the plan ran on the CPU."""


def gpu_available() -> bool:
    """Whether the Polars GPU engine (``pip install 'csmetrics[gpu]'``) can be imported."""
    try:
        import cudf_polars  # noqa: F401
    except ImportError:
        return False
    return True


def collect(frame: pl.LazyFrame, engine: Engine = "auto") -> pl.DataFrame:
    """Collect a csmetrics plan with the chosen engine.

    Parameters
    ----------
    frame
        A lazy result of :func:`csmetrics.compute`, :func:`csmetrics.case_table` …
    engine
        ``"auto"`` (streaming), ``"in-memory"``, ``"streaming"`` or ``"gpu"``.

    Examples
    --------
    >>> import polars as pl
    >>> collect(pl.LazyFrame({"a": [1, 2]}).select(pl.col("a").sum()), "streaming").item()
    3
    """
    if engine not in ENGINES:
        raise PolicyError(f"'engine' must be in {ENGINES} (got {engine!r})")
    if engine == "gpu":
        if not gpu_available():
            warnings.warn(
                "engine='gpu' needs the Polars GPU engine: pip install 'csmetrics[gpu]' "
                "(cudf-polars, NVIDIA GPU); running on the CPU streaming engine instead",
                GpuFallbackWarning,
                stacklevel=2,
            )
            return frame.collect(engine="streaming")
        gpu = pl.GPUEngine(raise_on_fail=False)  # unsupported plan parts fall back inside
        return frame.collect(engine=gpu)
    return frame.collect(engine="in-memory" if engine == "in-memory" else "streaming")
