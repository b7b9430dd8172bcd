"""The exceptions csmetrics raises.

Every error is a :class:`CsMetricsError`; each subclass also inherits the builtin a caller
would naturally catch, so ``except ValueError`` keeps working::

    CsMetricsError
    ├── SchemaError(ValueError)       breaks a rule of the canonical event log (DESIGN §2.3)
    ├── PolicyError(ValueError)       a policy knob out of range
    ├── CalendarError(ValueError)     a malformed business calendar
    ├── AdapterError(ValueError)      a source record that cannot be mapped
    ├── UnknownMetricError(KeyError)  an unknown metric name (suggests close names)
    └── PluginError(ImportError)      a plugin that fails to load or to conform

    CsMetricsWarning(UserWarning)     legal but suspicious data (counts and the fix)
    └── AdapterWarning                an adapter default that guessed or left records out

Messages name the file or column, the rule, how many rows break it, the first offending
values and how to fix it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

__all__ = [
    "AdapterError",
    "AdapterWarning",
    "CalendarError",
    "CsMetricsError",
    "CsMetricsWarning",
    "PluginError",
    "PolicyError",
    "SchemaError",
    "UnknownMetricError",
]


class CsMetricsError(Exception):
    """Base class of every error csmetrics raises on purpose."""


class SchemaError(CsMetricsError, ValueError):
    """An event log breaks a rule of the canonical schema.

    Attributes
    ----------
    reason
        The stable reason code of the rule (``missing_column``, ``bad_type`` …).
    column
        The column the rule is about, when there is one.
    n_rows
        How many rows break the rule (0 for whole-frame rules).
    """

    def __init__(
        self,
        message: str,
        *,
        reason: str = "",
        column: str | None = None,
        n_rows: int = 0,
        examples: Sequence[object] = (),
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.column = column
        self.n_rows = n_rows
        self.examples = tuple(examples)

    @classmethod
    def from_missing_columns(
        cls, missing: Iterable[str], available: Iterable[str], *, source: str | None = None
    ) -> SchemaError:
        """Build the R1 ``missing_column`` error, naming close matches of each missing column."""
        available = list(available)
        missing = list(missing)
        parts = []
        for name in missing:
            close = difflib.get_close_matches(name, available, n=3, cutoff=0.6)
            hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
            parts.append(f"{name!r}{hint}")
        where = f" in {source}" if source else ""
        return cls(
            f"missing_column: required column(s) {', '.join(parts)} not found{where}; "
            f"available columns: {available}. Rename the source columns "
            "(e.g. `frame.rename({...})`) or use an adapter that maps them.",
            reason="missing_column",
            column=missing[0] if missing else None,
        )


class PolicyError(CsMetricsError, ValueError):
    """A policy or argument value is outside what is allowed."""


class CalendarError(CsMetricsError, ValueError):
    """A business calendar is malformed (overlaps, unknown time zone, empty week …)."""


class AdapterError(CsMetricsError, ValueError):
    """A source record cannot be read or mapped onto the canonical event log."""


class UnknownMetricError(CsMetricsError, KeyError):
    """A metric (or adapter) name is not registered; the message lists close names."""

    def __init__(self, name: str, known: Iterable[str], *, kind: str = "metric") -> None:
        known = sorted(known)
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        self.name = name
        self.message = f"unknown {kind} {name!r}{hint} Known {kind}s: {', '.join(known)}"
        super().__init__(self.message)

    def __str__(self) -> str:  # KeyError would quote the whole message
        return self.message


class PluginError(CsMetricsError, ImportError):
    """A plugin fails to load or does not conform to the plugin contract."""


class CsMetricsWarning(UserWarning):
    """Data that breaks no rule but is probably wrong (a case with two customers, a merge
    cycle …); the message gives the counts and the fix. Turn it into an error with
    ``warnings.simplefilter("error", csmetrics.CsMetricsWarning)``."""


class AdapterWarning(CsMetricsWarning):
    """An adapter's default guessed something or left a notable share of records or cases
    out of a population; the message gives the count and the option that changes it."""
