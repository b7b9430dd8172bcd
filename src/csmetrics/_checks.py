"""Conformance checks for adapters and metrics: what csmetrics runs on its own built-ins.

A vendor calls :func:`check_adapter` and :func:`check_metric` in its own CI (they are
re-exported from :mod:`csmetrics.testing`). A failure raises :class:`ConformanceError`, which
is both an :class:`AssertionError` (pytest shows it as a failed assertion, with the message)
and a :class:`~csmetrics.exceptions.CsMetricsError`.
"""

from __future__ import annotations

import functools
import json
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import polars as pl

from csmetrics import metrics
from csmetrics._hand_logs import log_from_rows
from csmetrics.adapters import get_adapter
from csmetrics.cases import case_table
from csmetrics.exceptions import CsMetricsError, PluginError
from csmetrics.log import EventLog, validate
from csmetrics.plugins import Adapter, Metric, verify_adapter, verify_metric
from csmetrics.policy import PRESETS, Policy
from csmetrics.schema import (
    ACTOR_DTYPE,
    EVENT_TYPE_DTYPE,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    TS_DTYPE,
)

__all__ = ["ConformanceError", "check_adapter", "check_metric", "sample_case_table"]

_SNAKE: Final = re.compile(r"^[a-z][a-z0-9_]*$")
_ID_DTYPES: Final = (pl.Int64(), pl.String())


class ConformanceError(CsMetricsError, AssertionError):
    """An adapter or metric breaks the plugin contract; the message says what and how to fix."""


def _fail(subject: str, problem: str, fix: str | None = None) -> ConformanceError:
    return ConformanceError(f"{subject}: {problem}" + (f". Fix: {fix}" if fix else ""))


# -- adapters -------------------------------------------------------------------------------


def _resolve_adapter(adapter: Adapter | str) -> tuple[Adapter, str]:
    if isinstance(adapter, str):
        try:
            return get_adapter(adapter), f"adapter {adapter!r}"
        except CsMetricsError as exc:
            raise _fail(f"adapter {adapter!r}", str(exc)) from exc
    name = getattr(adapter, "name", None) or getattr(adapter, "__name__", repr(adapter))
    subject = f"adapter {name!r}"
    try:
        verify_adapter(adapter, str(name))
    except PluginError as exc:
        raise _fail(subject, str(exc)) from exc
    return adapter, subject


def _run(adapter: Adapter, sample: object, subject: str, options: Mapping[str, Any]) -> EventLog:
    try:
        result = adapter(sample, **dict(options))
    except CsMetricsError as exc:
        raise _fail(
            subject,
            f"raised {type(exc).__name__} on the sample {sample!r}: {exc}",
            "the sample should be valid input; check it, or the options passed",
        ) from exc
    except Exception as exc:
        raise _fail(
            subject,
            f"raised {type(exc).__name__} (not a CsMetricsError) on the sample: {exc}",
            "catch library errors and raise csmetrics.AdapterError naming file, record, field",
        ) from exc
    if not isinstance(result, EventLog):
        raise _fail(
            subject,
            f"returned a {type(result).__name__}, not a csmetrics.EventLog",
            "return csmetrics.EventLog.from_frame(frame, source=...) (it validates the rows)",
        )
    return result


def _check_schema(frame: pl.LazyFrame, subject: str) -> pl.Schema:
    try:
        schema = frame.collect_schema()
    except pl.exceptions.PolarsError as exc:
        raise _fail(subject, f"its frame's schema cannot be resolved: {exc}") from exc
    missing = [c for c in REQUIRED_COLUMNS if c not in schema]
    if missing:
        raise _fail(subject, f"the frame lacks required column(s) {missing}")
    expected: dict[str, tuple[pl.DataType, ...]] = {
        "case_id": _ID_DTYPES,
        "customer_id": _ID_DTYPES,
        "event_id": _ID_DTYPES,
        "channel": (pl.String(),),
        "ts": (TS_DTYPE,),
        "event_type": (EVENT_TYPE_DTYPE,),
        "actor": (ACTOR_DTYPE,),
        **{name: (dtype,) for name, dtype in OPTIONAL_COLUMNS.items()},
    }
    wrong = [
        f"{name} is {schema[name]} (expected {' or '.join(map(str, dtypes))})"
        for name, dtypes in expected.items()
        if name in schema and schema[name] not in dtypes
    ]
    if "merged_into" in schema and schema["merged_into"] != schema["case_id"]:
        wrong.append(f"merged_into is {schema['merged_into']} but case_id is {schema['case_id']}")
    if wrong:
        raise _fail(
            subject,
            "canonical columns have the wrong dtype: " + "; ".join(wrong),
            "build the log with csmetrics.EventLog.from_frame, which casts to the canonical schema",
        )
    return schema


def _collect(frame: pl.LazyFrame, subject: str, what: str) -> pl.DataFrame:
    try:
        return frame.collect()
    except CsMetricsError as exc:
        raise _fail(subject, f"collecting {what} raised {type(exc).__name__}: {exc}") from exc
    except Exception as exc:
        raise _fail(
            subject,
            f"collecting {what} raised {type(exc).__name__}: {exc}",
            "no library error may escape once the log is built",
        ) from exc


def _sortable(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame's columns that can be sorted and compared, in a canonical row order."""
    keep = [
        name
        for name, dtype in frame.schema.items()
        if not isinstance(dtype, pl.List | pl.Array | pl.Struct | pl.Object)
    ]
    return frame.select(keep).sort(keep, nulls_last=True)


def _reversed_copy(sample: object, directory: str) -> str | None:
    """``sample`` with its records in reverse order, written beside it; ``None`` if unsure."""
    if not isinstance(sample, str | os.PathLike) or not os.path.isfile(sample):
        return None
    path = Path(sample)
    target = Path(directory) / path.name
    suffix = path.suffix.lower()
    try:
        if suffix in (".ndjson", ".jsonl"):
            lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line]
            target.write_text("\n".join(reversed(lines)) + "\n", encoding="utf-8")
        elif suffix == ".json":
            document = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(document, list):
                document = document[::-1]
            elif isinstance(document, dict):
                lists = [k for k, v in document.items() if isinstance(v, list)]
                if len(lists) != 1:
                    return None
                document = {**document, lists[0]: document[lists[0]][::-1]}
            else:
                return None
            target.write_text(json.dumps(document), encoding="utf-8")
        elif suffix in (".csv", ".tsv"):
            separator = "\t" if suffix == ".tsv" else ","
            table = pl.read_csv(path, infer_schema=False, separator=separator)
            table.reverse().write_csv(target, separator=separator)
        elif suffix in (".parquet", ".pq"):
            pl.read_parquet(path).reverse().write_parquet(target)
        else:
            return None
    except (OSError, ValueError, pl.exceptions.PolarsError):
        return None
    return str(target)


def check_adapter(
    adapter: Adapter | str,
    sample: object,
    *,
    options: Mapping[str, Any] | None = None,
    n_source_rows: int | None = None,
    row_order: bool = True,
) -> EventLog:
    """Check an adapter on a valid sample the way csmetrics checks its built-ins.

    1. It conforms to :class:`csmetrics.plugins.Adapter` and returns an
       :class:`~csmetrics.EventLog` without raising on the sample.
    2. The frame has every required column, with the canonical dtypes (DESIGN §2.1).
    3. The frame breaks no rule of DESIGN §2.3: bad rows belong in ``log.rejected``.
    4. Every rejected row has a ``reason`` (and the column ``reason_column`` exists).
    5. Conservation, when ``n_source_rows`` is given (formats with one record per event):
       events + rejected rows = source rows.
    6. Determinism: a second run gives the same events and rejects.
    7. Row-order independence (``row_order=True``, for a single CSV, TSV, Parquet, NDJSON or
       JSON file): the same sample with its records reversed gives the same events
       (compared without ``event_id``, which an adapter may number by position).

    Parameters
    ----------
    adapter
        An adapter object or the name of a registered one.
    sample
        A small valid input the adapter reads (a path, usually).
    options
        Keyword arguments for the adapter (``tz=``, its own options).
    n_source_rows
        How many source records the sample holds, for the conservation check.
    row_order
        Run the row-order check.

    Returns
    -------
    EventLog
        The adapter's log, for further assertions.

    Raises
    ------
    ConformanceError
        The first check that fails, with what was expected and how to fix it.

    Examples
    --------
    >>> import csmetrics as csm, polars as pl
    >>> def pigeon_post(source, *, tz=None):
    ...     return csm.EventLog.from_frame(pl.DataFrame({"case_id": [1], "customer_id": [7],
    ...         "channel": ["pigeon"], "ts": ["2024-03-01T09:00:00Z"],
    ...         "event_type": ["case_created"], "actor": ["customer"]}), source=source)
    >>> check_adapter(pigeon_post, "loft.txt").frame.collect().height
    1
    """
    chosen, subject = _resolve_adapter(adapter)
    options = dict(options or {})
    log = _run(chosen, sample, subject, options)
    _check_schema(log.frame, subject)
    events = _collect(log.frame, subject, "the events")

    try:
        _, broken = validate(events, mode="split")
        broken_rows = broken.collect()
    except CsMetricsError as exc:
        raise _fail(subject, f"its events fail validation: {exc}") from exc
    if broken_rows.height:
        reasons = broken_rows["reason"].value_counts(sort=True).rows()
        raise _fail(
            subject,
            f"{broken_rows.height} event(s) in log.frame break a rule: {reasons}",
            "let EventLog.from_frame split the rows; bad rows belong in log.rejected",
        )
    rejected = (
        pl.DataFrame()
        if log.rejected is None
        else _collect(log.rejected, subject, "the rejected rows")
    )
    if rejected.height:
        if "reason" not in rejected.columns or "reason_column" not in rejected.columns:
            raise _fail(
                subject,
                "log.rejected lacks the 'reason' and 'reason_column' columns",
                "build rejects with csmetrics.adapters._base.rejects(frame, reason, column)",
            )
        if rejected["reason"].null_count():
            raise _fail(
                subject,
                f"{rejected['reason'].null_count()} rejected row(s) have no reason",
                "every rejected row needs a reason code",
            )
    if n_source_rows is not None and events.height + rejected.height != n_source_rows:
        raise _fail(
            subject,
            f"{n_source_rows} source rows but {events.height} events + {rejected.height} "
            f"rejected = {events.height + rejected.height}: rows were dropped or duplicated",
            "every source row must end up as an event or in log.rejected",
        )
    again = _run(chosen, sample, subject, options)
    if not _sortable(_collect(again.frame, subject, "the events")).equals(_sortable(events)):
        raise _fail(
            subject,
            "two runs on the same sample gave different events",
            "remove any dependence on time, randomness or hash order",
        )
    again_rejected = (
        pl.DataFrame()
        if again.rejected is None
        else _collect(again.rejected, subject, "the rejected rows")
    )
    if again_rejected.height != rejected.height:
        raise _fail(subject, "two runs on the same sample gave different rejected rows")
    if row_order:
        with tempfile.TemporaryDirectory() as directory:
            reversed_sample = _reversed_copy(sample, directory)
            if reversed_sample is not None:
                flipped = _run(chosen, reversed_sample, subject, options)
                flipped_events = _collect(flipped.frame, subject, "the events")
                drop = [c for c in ("event_id",) if c in events.columns]
                if not _sortable(flipped_events.drop(drop)).equals(_sortable(events.drop(drop))):
                    raise _fail(
                        subject,
                        "reversing the order of the sample's records changed the events",
                        "results must not depend on row order: sort, or key on ids",
                    )
    return log


# -- metrics --------------------------------------------------------------------------------

_SAMPLE_DAY: Final = "2024-03-01"


def _sample_rows() -> list[dict[str, Any]]:
    """Six small cases covering what metrics read: replies, bots, voice, comp, csat, reopen."""
    cases: list[tuple[int, int, str, list[tuple[str, str, str, dict[str, Any]]]]] = [
        (
            1,
            10,
            "email",
            [
                ("09:00", "case_created", "customer", {}),
                ("09:00", "message", "customer", {}),
                ("09:30", "message", "agent", {"agent_id": "a1"}),
                ("09:31", "status_changed", "agent", {"status": "solved"}),
                ("10:00", "csat", "customer", {"csat_score": 5.0}),
            ],
        ),
        (
            2,
            11,
            "phone",
            [
                ("10:00", "case_created", "customer", {}),
                ("10:01", "call_abandoned", "customer", {}),
            ],
        ),
        (
            3,
            12,
            "chat",
            [
                ("11:00", "case_created", "agent", {}),
                ("11:00", "message", "agent", {}),
                ("11:05", "message", "customer", {}),
                ("11:10", "message", "agent", {"handle_seconds": 300.0}),
                ("11:20", "escalated", "agent", {}),
                ("11:30", "transferred", "system", {"team": "billing"}),
            ],
        ),
        (
            4,
            10,
            "email",
            [
                ("12:00", "case_created", "customer", {}),
                ("12:00", "message", "customer", {}),
                ("12:10", "message", "bot", {}),
                ("12:40", "message", "agent", {}),
                ("12:45", "status_changed", "agent", {"status": "solved"}),
                ("13:00", "message", "customer", {}),
                ("13:00", "status_changed", "customer", {"status": "open"}),
                ("13:30", "comp_granted", "agent", {"comp_amount": 20.0}),
                ("13:35", "csat", "customer", {"csat_score": 2.0}),
                ("13:40", "status_changed", "agent", {"status": "closed"}),
            ],
        ),
        (
            5,
            13,
            "twitter",
            [
                ("14:00", "case_created", "customer", {}),
                ("14:00", "message", "customer", {"is_public": True}),
                ("14:20", "status_changed", "agent", {"status": "pending"}),
            ],
        ),
        (
            6,
            14,
            "email",
            [
                ("15:00", "case_created", "customer", {}),
                ("15:05", "merged", "system", {"merged_into": 1}),
            ],
        ),
    ]
    return [
        {
            "case_id": case,
            "customer_id": customer,
            "channel": channel,
            "ts": time,
            "event_type": event_type,
            "actor": actor,
            **extra,
        }
        for case, customer, channel, rows in cases
        for time, event_type, actor, extra in rows
    ]


@functools.cache
def _preset_case_table(preset: str) -> pl.DataFrame:
    return sample_case_table(Policy.preset(preset))


def sample_case_table(policy: Policy | None = None) -> pl.DataFrame:
    """The small case table :func:`check_metric` evaluates metrics on (six varied cases).

    Examples
    --------
    >>> table = sample_case_table()
    >>> table.height, table["is_open"].sum()
    (6, 3)
    """

    log = log_from_rows(_sample_rows(), date=_SAMPLE_DAY)
    return case_table(log, policy=policy or Policy()).collect()


def _resolve_metric(metric: Metric | str) -> tuple[Metric, str]:
    if isinstance(metric, str):
        try:
            return metrics.get(metric), f"metric {metric!r}"
        except CsMetricsError as exc:
            raise _fail(f"metric {metric!r}", str(exc)) from exc
    subject = f"metric {getattr(metric, 'name', metric)!r}"
    name = getattr(metric, "name", None)
    try:
        verify_metric(metric, name if isinstance(name, str) else "<no name>")
    except PluginError as exc:
        raise _fail(subject, str(exc).replace("metric plugin", "metric", 1)) from exc
    return metric, subject


def _expression(metric: Metric, member: str, policy: Policy, subject: str) -> pl.Expr:
    try:
        expr = getattr(metric, member)(policy)
    except Exception as exc:
        raise _fail(subject, f"{member}(policy) raised {type(exc).__name__}: {exc}") from exc
    if not isinstance(expr, pl.Expr):
        raise _fail(subject, f"{member}(policy) returned a {type(expr).__name__}, not a pl.Expr")
    return expr


def _value_ok(kind: str, dtype: pl.DataType) -> bool:
    numeric = dtype.is_numeric()
    if kind == "duration":
        return isinstance(dtype, pl.Duration) or numeric
    if kind == "rate":
        return dtype == pl.Boolean
    if kind == "count":
        return dtype == pl.Boolean or numeric
    if kind in ("amount", "score"):
        return numeric
    return True  # backlog and other period-level kinds are aggregated by compute


_EXPECTED_VALUE: Final = {
    "duration": "a Duration or a number of seconds",
    "rate": "a Boolean (True counts toward the rate)",
    "count": "a Boolean or a number",
    "amount": "a number",
    "score": "a number",
}


def check_metric(metric: Metric | str, *, policy: Policy | None = None) -> None:
    """Check a metric the way csmetrics checks its built-ins.

    1. It conforms to :class:`csmetrics.plugins.Metric`: every member present, ``name``
       snake_case, ``unit``, ``level`` and ``kind`` in their vocabularies, a ``definition``,
       ``columns`` a tuple of names; a duration is in ``seconds``, a rate a ``ratio``.
    2. ``population(policy)`` and ``value(policy)`` return Polars expressions, for every
       preset (or the ``policy`` given).
    3. For case-level metrics, on a small case table (:func:`sample_case_table`): the
       expressions read only the declared ``columns``, which exist; the population is
       Boolean; the value has the dtype its kind needs (a rate is Boolean, so its share is in
       [0, 1]); durations, counts and amounts are never negative.

    Raises
    ------
    ConformanceError
        The first check that fails, with what was expected and how to fix it.

    Examples
    --------
    >>> import csmetrics as csm
    >>> check_metric("first_response_time")
    >>> check_metric(csm.metrics.get("reopen_rate"))
    """
    chosen, subject = _resolve_metric(metric)
    if chosen.kind == "duration" and chosen.unit != "seconds":
        raise _fail(subject, f"a duration metric must have unit 'seconds' (got {chosen.unit!r})")
    if chosen.kind == "rate" and chosen.unit != "ratio":
        raise _fail(subject, f"a rate metric must have unit 'ratio' (got {chosen.unit!r})")
    if not _SNAKE.match(chosen.name):
        raise _fail(subject, f"name {chosen.name!r} is not snake_case")
    policies = [policy] if policy is not None else [Policy.preset(p) for p in PRESETS]
    for current in policies:
        population = _expression(chosen, "population", current, subject)
        value = _expression(chosen, "value", current, subject)
        if chosen.level != "case":
            continue  # pair/issue/period metrics are evaluated by compute on other frames
        table = (
            sample_case_table(current)
            if policy is not None
            else _preset_case_table(_preset_of(current))
        )
        _evaluate(chosen, subject, table, population, value)


def _preset_of(policy: Policy) -> str:
    return next(p for p in PRESETS if Policy.preset(p) == policy)


def _evaluate(
    metric: Metric, subject: str, table: pl.DataFrame, population: pl.Expr, value: pl.Expr
) -> None:
    declared = set(metric.columns)
    read = set(population.meta.root_names()) | set(value.meta.root_names())
    unknown = sorted(c for c in declared | read if c not in table.columns)
    if unknown:
        raise _fail(
            subject,
            f"reads or declares column(s) {unknown} that the case table does not have",
            f"use case-table columns (DESIGN §3): {', '.join(table.columns)}",
        )
    if declared and not read <= declared:
        raise _fail(
            subject,
            f"its expressions read {sorted(read - declared)} but 'columns' declares only "
            f"{sorted(declared)}",
            "list every column the expressions read in 'columns'",
        )
    try:
        result = table.select(
            pl.lit(value=True).alias("_row"),  # broadcast literals to one value per case
            population.alias("population"),
            value.alias("value"),
        ).drop("_row")
    except Exception as exc:
        raise _fail(
            subject, f"evaluating it on a case table raised {type(exc).__name__}: {exc}"
        ) from exc
    if result["population"].dtype != pl.Boolean:
        raise _fail(
            subject,
            f"population(policy) is {result['population'].dtype}, not Boolean",
            "return a Boolean expression saying which cases count",
        )
    dtype = result["value"].dtype
    if not _value_ok(metric.kind, dtype):
        raise _fail(
            subject,
            f"value(policy) is {dtype}; a {metric.kind} metric needs "
            f"{_EXPECTED_VALUE.get(metric.kind, 'a value')}",
        )
    counted = result.filter(pl.col("population").fill_null(value=False))["value"]
    if metric.kind == "rate" and counted.len():
        shares = counted.drop_nulls().cast(pl.Float64)
        share = float(shares.sum()) / shares.len() if shares.len() else 0.0
        if not 0.0 <= share <= 1.0:
            raise _fail(subject, f"the rate on the sample is {share}, outside [0, 1]")
    if metric.kind in ("duration", "count", "amount") and dtype != pl.Boolean:
        numbers = counted.dt.total_microseconds() if isinstance(dtype, pl.Duration) else counted
        negative = numbers.drop_nulls() < 0
        if negative.any():
            raise _fail(
                subject,
                f"value(policy) is negative for {int(negative.sum())} sample case(s)",
                f"a {metric.kind} is never negative",
            )
