"""Quarantine mode end to end: metrics from the valid events, and the rejected rows beside them.

:func:`compute_quarantined` runs :func:`csmetrics.compute` with ``on_invalid="quarantine"``
and returns a :class:`Quarantined`: the tidy result, the rows that were set aside (unchanged,
with ``reason`` and ``reason_column``), and their counts. No row is dropped silently: every
input row is counted either in :attr:`Quarantined.n_good` or in :attr:`Quarantined.n_rejected`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import polars as pl

from csmetrics.compute import compute
from csmetrics.exceptions import PolicyError
from csmetrics.log import EventLog, as_event_log
from csmetrics.metrics.registry import Metric
from csmetrics.validate import unreadable

__all__ = ["Quarantined", "compute_quarantined", "quarantine"]

_COUNT_SCHEMA: dict[str, pl.DataType] = {
    "reason": pl.String(),
    "reason_column": pl.String(),
    "n": pl.UInt32(),
}


def _height(frame: pl.LazyFrame, source: str) -> int:
    try:
        return int(frame.select(pl.len()).collect().item())
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise unreadable(source, exc) from exc


@attrs.frozen
class Quarantined:
    """A result computed from the valid events, with the rows set aside beside it.

    Attributes
    ----------
    result
        What was computed from the valid events (for :func:`compute_quarantined`, the tidy
        frame of :func:`csmetrics.compute`).
    rejected
        Every row set aside: the input row unchanged plus ``reason`` (the first rule it
        breaks, DESIGN §2.3, or an adapter's reason such as ``unmapped_value``) and
        ``reason_column``.
    log
        The checked log the result was computed from (its ``frame`` holds the valid events).
    n_input
        The rows that came in: rows of the frame or files read, plus the source records an
        adapter could not map. ``n_good + n_rejected == n_input``, always.

    Examples
    --------
    >>> import polars as pl, csmetrics as csm
    >>> from csmetrics.quarantine import compute_quarantined
    >>> raw = pl.DataFrame({"case_id": [1, 1, 1], "customer_id": [7, 7, 7],
    ...     "channel": ["email"] * 3,
    ...     "ts": ["2024-03-01T09:00:00Z", "2024-03-01T09:30:00Z", "2024-03-01T09:40:00Z"],
    ...     "event_type": ["case_created", "message", "teleport"],
    ...     "actor": ["customer", "agent", "agent"]})
    >>> q = compute_quarantined(raw, "first_response_time")
    >>> q.n_input, q.n_good, q.n_rejected
    (3, 2, 1)
    >>> q.counts().rows()
    [('unknown_event_type', 'event_type', 1)]
    >>> q.result.collect().select("metric", "n", "value").rows()
    [('first_response_time', 1, 1800.0)]

    The teleport row is set aside; the case is answered 30 minutes (1800 s) after creation.
    """

    result: pl.LazyFrame
    rejected: pl.LazyFrame
    log: EventLog
    n_input: int

    @property
    def n_rejected(self) -> int:
        """How many rows were set aside (collects ``rejected``'s length)."""
        return _height(self.rejected, self.log.source)

    @property
    def n_good(self) -> int:
        """How many valid events the result was computed from (collects their count)."""
        return _height(self.log.frame, self.log.source)

    def counts(self) -> pl.DataFrame:
        """The rejected rows per ``reason`` and ``reason_column``: columns ``reason``,
        ``reason_column``, ``n``; most frequent first (ties by reason, then column)."""
        try:
            counts = (
                self.rejected.group_by("reason", "reason_column")
                .agg(pl.len().cast(pl.UInt32).alias("n"))
                .collect()
            )
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise unreadable(self.log.source, exc) from exc
        counts = counts.select(pl.col(name).cast(dtype) for name, dtype in _COUNT_SCHEMA.items())
        return counts.sort(
            ["n", "reason", "reason_column"], descending=[True, False, False], nulls_last=True
        )


def _empty_rejects(log: EventLog) -> pl.LazyFrame:
    return (
        log.frame.clear()
        .with_columns(
            pl.lit(None, pl.String).alias("reason"), pl.lit(None, pl.String).alias("reason_column")
        )
        .lazy()
    )


def quarantine(log: EventLog | object) -> tuple[EventLog, pl.LazyFrame, int]:
    """Check ``log``'s rules and set its bad rows aside.

    Returns
    -------
    tuple
        ``(checked, rejected, n_input)``: the log of valid events, every rejected row with
        its ``reason`` and ``reason_column``, and the number of rows that came in.

    Raises
    ------
    SchemaError
        For whole-frame errors (a missing column, naive time stamps without ``tz``), which
        no row can be set aside for.

    Examples
    --------
    >>> import csmetrics as csm
    >>> log = csm.testing.log_from_rows([("09:00", "case_created", "customer")])
    >>> checked, rejected, n_input = quarantine(log)
    >>> n_input, rejected.collect().height
    (1, 0)
    """
    event_log = as_event_log(log)
    annotated = event_log._annotated  # the rows before any rule was applied
    rows_in = annotated.frame if annotated is not None else event_log.frame
    n_input = _height(rows_in, event_log.source)
    if event_log.source_rejects is not None:  # records an adapter could not map
        n_input += _height(event_log.source_rejects, event_log.source)
    checked = event_log.checked("quarantine")
    rejected = checked.rejected if checked.rejected is not None else _empty_rejects(checked)
    return checked, rejected, n_input


def compute_quarantined(
    log: EventLog | object,
    metrics: str | Metric | Sequence[str | Metric] | None = None,
    **compute_kwargs: Any,
) -> Quarantined:
    """:func:`csmetrics.compute` on the valid events, with the rejected rows beside the result.

    Parameters
    ----------
    log
        An :class:`~csmetrics.EventLog` or anything :meth:`EventLog.from_frame` reads.
    metrics
        As for :func:`csmetrics.compute`.
    **compute_kwargs
        ``by``, ``period``, ``policy``, ``quantiles`` of :func:`csmetrics.compute`
        (``on_invalid`` is ``"quarantine"`` here).

    Returns
    -------
    Quarantined
        ``result`` (lazy), ``rejected`` (lazy), ``counts()``, ``n_input``, ``n_good`` and
        ``n_rejected``.

    Raises
    ------
    SchemaError
        For whole-frame errors (a missing column, naive time stamps without ``tz``).
    PolicyError
        For ``on_invalid`` other than ``"quarantine"``, or any bad argument of
        :func:`csmetrics.compute`.

    Examples
    --------
    >>> import csmetrics as csm
    >>> log = csm.testing.log_from_rows([("09:00", "case_created", "customer"),
    ...     ("09:30", "message", "agent")])
    >>> q = compute_quarantined(log, "volume")
    >>> q.n_rejected, q.counts().height, q.result.collect()["value"].item()
    (0, 0, 1.0)
    """
    on_invalid = compute_kwargs.pop("on_invalid", "quarantine")
    if on_invalid != "quarantine":
        raise PolicyError(
            f"compute_quarantined sets bad rows aside: 'on_invalid' must be 'quarantine' "
            f"(got {on_invalid!r}); call csmetrics.compute to raise instead"
        )
    checked, rejected, n_input = quarantine(log)
    result = compute(checked, metrics, on_invalid="quarantine", **compute_kwargs)
    return Quarantined(result=result, rejected=rejected, log=checked, n_input=n_input)
