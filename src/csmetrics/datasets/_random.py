"""Seeded random draws as Polars expressions, for the simulator.

There is no numpy at run time: every draw is a hash of an integer key column (one row, one
key) with a seed derived from the user's seed and the name of the draw, so that

* the same seed gives the same values, whatever the thread count or row order of the work;
* two draws with different names are independent;
* nothing loops in Python per row.

Polars documents that hash values may change between Polars versions: a seed reproduces a
log within one Polars version.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence

import polars as pl

__all__ = ["Random"]

_M64 = (1 << 64) - 1
_TWO_53 = 2.0**53
_LOGISTIC_SCALE = math.sqrt(3.0) / math.pi  # a standard logistic has variance pi^2 / 3
_LOGISTIC_CUT = 4.0  # standard deviations: about 1 draw in 700 is cut


def _splitmix64(x: int) -> int:
    """One step of SplitMix64: a good 64-bit mix of ``x`` (pure Python, called per stream)."""
    x = (x + 0x9E3779B97F4A7C15) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def stream_seed(seed: int, name: str) -> int:
    """A 63-bit seed for the draw ``name`` under the user's ``seed``."""
    mixed = _splitmix64((seed & _M64) ^ _splitmix64(zlib.crc32(name.encode())))
    return mixed >> 1


class Random:
    """Named random draws (uniform, normal, logistic, exponential, …) keyed on a column.

    Parameters
    ----------
    seed
        The user's seed.
    key
        Name of an Int64 column holding a distinct integer per row (the row's identity).
    prefix
        Namespace of the draws, so that two tables keyed ``0..n`` draw independently.

    Examples
    --------
    >>> import polars as pl
    >>> rng = Random(1, "i")
    >>> df = pl.DataFrame({"i": [0, 1, 2]}).with_columns(u=rng.uniform("x"))
    >>> df["u"].is_between(0, 1, closed="none").all()
    True
    >>> df.equals(pl.DataFrame({"i": [0, 1, 2]}).with_columns(u=Random(1, "i").uniform("x")))
    True
    """

    def __init__(self, seed: int, key: str, prefix: str = "") -> None:
        self.seed = seed
        self.key = key
        self.prefix = prefix

    def uniform(self, name: str) -> pl.Expr:
        """Uniform on the open interval (0, 1), 53 bits."""
        hashed = pl.col(self.key).hash(stream_seed(self.seed, f"{self.prefix}:{name}"))
        return ((hashed // 2048).cast(pl.Float64) + 0.5) / _TWO_53

    def bernoulli(self, name: str, p: pl.Expr | float) -> pl.Expr:
        """True with probability ``p``."""
        return self.uniform(name) < p

    def normal(self, name: str) -> pl.Expr:
        """Standard normal (Box-Muller on two uniforms)."""
        radius = (self.uniform(f"{name}/r").log() * -2.0).sqrt()
        return radius * (self.uniform(f"{name}/a") * (2.0 * math.pi)).cos()

    def logistic(self, name: str) -> pl.Expr:
        """Logistic with unit variance, cut at ±4 (one uniform: cheaper than a normal)."""
        u = self.uniform(name)
        return ((u / (1.0 - u)).log() * _LOGISTIC_SCALE).clip(-_LOGISTIC_CUT, _LOGISTIC_CUT)

    def log_logistic(self, name: str, median: pl.Expr | float, sigma: pl.Expr | float) -> pl.Expr:
        """Log-logistic delay with the given median; ``sigma`` is the spread of its log.

        Like a log-normal with the same median and log-scale spread, with a heavier tail.
        """
        return (self.logistic(name) * sigma).exp() * median

    def exponential(self, name: str, mean: pl.Expr | float) -> pl.Expr:
        """Exponential with the given mean."""
        return self.uniform(name).log() * -1.0 * mean

    def pareto_factor(self, name: str, p: float, alpha: float, cap: float) -> pl.Expr:
        """1 with probability ``1 - p``, else a Pareto(``alpha``) factor ≥ 1 capped at ``cap``.

        Multiplying a delay by it gives the occasional backlog: a heavier tail.
        """
        pareto = (self.uniform(f"{name}/x").log() * (-1.0 / alpha)).exp().clip(1.0, cap)
        return pl.when(self.uniform(f"{name}/p") < p).then(pareto).otherwise(1.0)

    def choice(self, name: str, weights: Sequence[float]) -> pl.Expr:
        """Index (UInt32) drawn with probabilities proportional to ``weights``."""
        total = float(sum(weights))
        cumulative: list[float] = []
        running = 0.0
        for weight in weights:
            running += weight / total
            cumulative.append(running)
        edges = pl.Series(cumulative, dtype=pl.Float64)
        index = pl.lit(edges).search_sorted(self.uniform(name), side="left")
        return index.clip(0, len(weights) - 1).cast(pl.UInt32)
