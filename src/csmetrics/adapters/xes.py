"""The ``xes`` adapter: process-mining event logs, as XES files or as CSV with case columns.

A process log records what happened to each case (``Insert ticket``, ``Resolve ticket`` …)
but no conversation: there are no customer messages. Each activity is mapped onto a
canonical event with an activity table (``activities=``; by default
:data:`HELPDESK_ACTIVITIES`, the help-desk log of the process-mining literature); an activity
missing from the table is rejected as ``unmapped_activity`` (never dropped).

Sources:

- XES (``.xes``, ``.xes.gz``): read with :func:`xml.etree.ElementTree.iterparse` (one pass,
  elements freed as they are read). Trace attributes become columns prefixed ``case:``
  (``case:concept:name`` is the case id), event attributes keep their keys
  (``concept:name``, ``time:timestamp``, ``org:resource``).
- CSV, Parquet or a frame with one row per event: ``Case ID``, ``Activity``,
  ``Complete Timestamp`` and ``Resource`` by default (the columns are options). CSV clock
  times without an offset (``2012/10/09 14:50:17.000``) need ``tz=``.

Every event gets ``channel`` = the ``channel=`` option (a process log does not say; the
default ``"other"`` claims nothing), ``customer_id`` from the customer column when present
(else the case id: each case its own customer), ``agent_id`` from the resource, and the
source activity as the pass-through column ``activity``. Exact repeats of a row are kept
(``duplicates="keep"``): process logs count every recorded activity.

A process log has no customer opener: in the help-desk log 4,462 of 4,580 cases start with
an agent's activity (``Assign seriousness``, ``Take in charge ticket``), the ticket having
been opened before the log's first record. By default (``case_opening="first_event"``) a
case with no activity mapped to ``case_created`` is taken as opened by its customer at its
first recorded event: a customer ``case_created`` (``activity`` null) is added there, so
such cases stay in the first-response population. ``case_opening="activity"`` adds nothing:
those cases are then agent-created (outside first response under the default policy), and
an :class:`~csmetrics.exceptions.AdapterWarning` gives their number when they are more than
5 % of the cases.

A process log has no messages either: first-response metrics are not measurable
(``log.capabilities``) unless ``response_activities=`` names the activities that count as
an agent's reply.
"""

from __future__ import annotations

import gzip
import os
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Final, Literal, cast

import attrs
import polars as pl

from csmetrics._capabilities import Capabilities, with_capabilities
from csmetrics._limits import MAX_TOKEN_BYTES, LimitedReader
from csmetrics.adapters._base import (
    ROW_COLUMN,
    FunctionAdapter,
    TableFormat,
    adapter_error,
    as_lazy_table,
    finish,
    has_offsets,
    rejects,
    require_columns,
    require_tz,
    source_name,
    text_column,
    ts_text,
)
from csmetrics.exceptions import AdapterWarning, CsMetricsWarning
from csmetrics.log import EventLog
from csmetrics.schema import ACTORS, EVENT_TYPES, STATUSES

__all__ = [
    "CAPABILITIES",
    "CSV_COLUMNS",
    "HELPDESK_ACTIVITIES",
    "TS_FORMATS",
    "XES_COLUMNS",
    "ActivityMapping",
    "adapter",
    "read_process_log",
    "read_xes_table",
]

ActivitySpec = str | Mapping[str, str]
"""``"assigned"``, ``"status_changed:solved"`` or ``{"event_type": …, "actor": …, "status": …}``."""

HELPDESK_ACTIVITIES: Final[Mapping[str, ActivitySpec]] = {
    "Insert ticket": "case_created",
    "Assign seriousness": "priority_changed",
    "Take in charge ticket": "assigned",
    "Resolve ticket": "status_changed:solved",
    "Closed": "status_changed:closed",
    "Wait": "status_changed:pending",
    "Require upgrade": "escalated",
    "Create SW anomaly": "escalated",
    "Resolve SW anomaly": "note",
    "Schedule intervention": "note",
    "VERIFIED": "note",
    "RESOLVED": "note",
    "INVALID": "note",
    "DUPLICATE": "note",
}
"""Activity → event of the help-desk log. ``Insert ticket`` is a customer ``case_created``;
the others are agent events. ``Create SW anomaly`` raises the ticket to development
(``escalated``); the anomaly's own life (``Resolve SW anomaly``, ``VERIFIED``, ``RESOLVED``,
``INVALID``, ``DUPLICATE``) and ``Schedule intervention`` are internal ``note`` events."""

CSV_COLUMNS: Final[Mapping[str, str]] = {
    "case": "Case ID",
    "activity": "Activity",
    "timestamp": "Complete Timestamp",
    "resource": "Resource",
    "customer": "customer",
}
"""Default column names of a process-mining CSV (``customer`` is used when present)."""

XES_COLUMNS: Final[Mapping[str, str]] = {
    "case": "case:concept:name",
    "activity": "concept:name",
    "timestamp": "time:timestamp",
    "resource": "org:resource",
    "customer": "case:customer",
}
"""Column names of an XES file read by :func:`read_xes_table`."""

TS_FORMATS: Final[tuple[str, ...]] = (
    "%Y/%m/%d %H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%d %H:%M",
    "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y %H:%M",
)
"""Clock-time formats tried, in order, when ``ts_format`` is not given."""

_XES_VALUE_TAGS: Final = frozenset({"string", "date", "int", "float", "boolean", "id"})
_WARN_SHARE: Final = 0.05
CaseOpening = Literal["first_event", "activity"]
_NOTES: Final = {
    "message": "pass response_activities= to count an activity as the agent's reply",
    "*": "only the activities its activity table maps",
}


def _capabilities(
    table: pl.DataFrame, *, response: bool, opening: CaseOpening, fields: set[str]
) -> Capabilities:
    """What a process log read with this activity table can produce."""
    event_types = set(table["__event_type"].to_list())
    actors = set(table.filter(pl.col("__event_type") == "message")["__actor"].to_list())
    if response:
        event_types.add("message")
        actors.add("agent")
    if opening == "first_event":
        event_types.add("case_created")
    if table["__status"].drop_nulls().len():
        fields.add("status")
    return Capabilities(
        source="a process log",
        event_types=event_types,
        message_actors=actors,
        fields=fields,
        notes=_NOTES,
    )


@attrs.frozen
class ActivityMapping:
    """One activity's canonical event: ``event_type``, ``actor`` and, for a status change,
    ``status``.

    Examples
    --------
    >>> ActivityMapping.parse("status_changed:solved")
    ActivityMapping(event_type='status_changed', actor='agent', status='solved')
    >>> ActivityMapping.parse("case_created").actor
    'customer'
    """

    event_type: str = attrs.field(validator=attrs.validators.in_(EVENT_TYPES))
    actor: str = attrs.field(validator=attrs.validators.in_(ACTORS))
    status: str | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.in_(STATUSES))
    )

    @classmethod
    def parse(cls, spec: ActivitySpec) -> ActivityMapping:
        """Read ``"event_type"``, ``"status_changed:<status>"`` or a mapping."""
        if isinstance(spec, str):
            event_type, _, status = spec.partition(":")
            fields: dict[str, Any] = {"event_type": event_type.strip()}
            if status:
                fields["status"] = status.strip()
        elif isinstance(spec, Mapping):
            fields = dict(spec)
        else:
            raise TypeError(f"an activity maps to a string or a mapping (got {spec!r})")
        fields.setdefault(
            "actor", "customer" if fields.get("event_type") == "case_created" else "agent"
        )
        return cls(**fields)


def _activity_table(activities: Mapping[str, ActivitySpec], source: object) -> pl.DataFrame:
    names, event_types, actors, statuses = [], [], [], []
    for activity, spec in activities.items():
        try:
            parsed = ActivityMapping.parse(spec)
        except (TypeError, ValueError) as exc:
            raise adapter_error(
                source,
                f"activity {activity!r} maps to {spec!r}, which is not an event: {exc}",
                fix=f"use an event type of {list(EVENT_TYPES)}, 'status_changed:<status>' with "
                f"a status of {list(STATUSES)}, or a mapping with event_type/actor/status",
            ) from exc
        names.append(str(activity))
        event_types.append(parsed.event_type)
        actors.append(parsed.actor)
        statuses.append(parsed.status)
    return pl.DataFrame(
        {"__activity": names, "__event_type": event_types, "__actor": actors, "__status": statuses},
        schema={
            "__activity": pl.String,
            "__event_type": pl.String,
            "__actor": pl.String,
            "__status": pl.String,
        },
    )


# --------------------------------------------------------------------------- XES


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _open(path: str) -> BinaryIO:
    if path.lower().endswith(".gz"):
        return cast(BinaryIO, gzip.open(path, "rb"))
    return open(path, "rb")


def read_xes_table(source: str | os.PathLike[str]) -> pl.DataFrame:
    """An XES file as a table: one row per event, trace attributes prefixed ``case:``.

    Every value is kept as text. Nested attributes (lists, containers) are skipped.

    Raises
    ------
    AdapterError
        The file is not well-formed XML (the message gives the line and column) or is not
        XES (no ``trace`` elements with events).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "log.xes"
    >>> _ = path.write_text('<log><trace><string key="concept:name" value="Case 1"/>'
    ...     '<event><string key="concept:name" value="Closed"/>'
    ...     '<date key="time:timestamp" value="2012-10-09T14:50:17.000+02:00"/></event>'
    ...     '</trace></log>')
    >>> read_xes_table(path).rows()
    [('Case 1', 'Closed', '2012-10-09T14:50:17.000+02:00')]
    """
    path = os.fspath(source)
    rows: list[dict[str, str]] = []
    trace_rows: list[dict[str, str]] = []
    trace_attrs: dict[str, str] = {}
    event_attrs: dict[str, str] | None = None
    depth_in_value = 0  # > 0 inside a nested attribute (list/container children)
    outside = 0  # events outside any trace: no case to put them in
    in_trace = False
    try:
        with _open(path) as handle:
            limited = LimitedReader(handle, MAX_TOKEN_BYTES, lambda at: _too_long(path, at))
            for action, element in ET.iterparse(limited, events=("start", "end")):
                tag = _local(element.tag)
                if action == "start":
                    if tag == "trace":
                        in_trace, trace_attrs, trace_rows = True, {}, []
                    elif tag == "event" and in_trace:
                        event_attrs = {}
                    elif tag == "event":
                        outside += 1
                    elif tag in _XES_VALUE_TAGS or tag in ("list", "container", "values"):
                        depth_in_value += 1
                        if depth_in_value == 1 and tag in _XES_VALUE_TAGS and in_trace:
                            key, value = element.get("key"), element.get("value")
                            if key is not None and value is not None:
                                if event_attrs is not None:
                                    event_attrs[key] = value
                                else:
                                    trace_attrs[f"case:{key}"] = value
                    continue
                if tag in _XES_VALUE_TAGS or tag in ("list", "container", "values"):
                    depth_in_value -= 1
                elif tag == "event" and event_attrs is not None:
                    trace_rows.append(event_attrs)
                    event_attrs = None
                    element.clear()
                elif tag == "trace":
                    for row in trace_rows:  # trace attributes may follow the events
                        row.update(trace_attrs)
                    rows.extend(trace_rows)
                    in_trace = False
                    element.clear()
    except ET.ParseError as exc:
        line, column = exc.position
        raise adapter_error(
            path,
            f"not well-formed XML ({str(exc).split(':')[0]})",
            record=f"line {line}, column {column}",
            fix="check the file is complete (not truncated) and is XES",
        ) from exc
    except (OSError, EOFError) as exc:
        raise adapter_error(path, f"cannot read it: {exc}", fix="check the path") from exc
    if not rows:
        raise adapter_error(
            path,
            "holds no <trace> with <event> elements",
            fix="check the file is an XES event log",
        )
    if outside:
        warnings.warn(
            f"{path}: {outside} <event> element(s) outside any <trace> were skipped (an event "
            "needs the case its trace names); move them into their traces",
            CsMetricsWarning,
            stacklevel=2,
        )
    return _rows_to_frame(rows)


def _too_long(path: str, offset: int) -> Exception:
    return adapter_error(
        path,
        f"an attribute value or text longer than {MAX_TOKEN_BYTES:,} bytes (near byte "
        f"{offset:,}), more than an event log needs",
        fix="check the file is the XES export you meant; long free text belongs in a separate file",
    )


def _rows_to_frame(rows: list[dict[str, str]]) -> pl.DataFrame:
    keys: dict[str, None] = {}
    for key in XES_COLUMNS.values():
        if any(key in row for row in rows):
            keys[key] = None
    for row in rows:
        for key in row:
            keys.setdefault(key, None)
    return pl.DataFrame(
        {key: pl.Series(key, [row.get(key) for row in rows], dtype=pl.String) for key in keys}
    )


# --------------------------------------------------------------------------- mapping


def _is_xes(source: object) -> bool:
    if not isinstance(source, str | os.PathLike):
        return False
    name = Path(source).name.lower()
    return name.endswith((".xes", ".xes.gz"))


def read_process_log(
    source: object,
    *,
    tz: str | None = None,
    activities: Mapping[str, ActivitySpec] | None = None,
    response_activities: Sequence[str] = (),
    channel: str = "other",
    case_column: str | None = None,
    activity_column: str | None = None,
    timestamp_column: str | None = None,
    resource_column: str | None = None,
    customer_column: str | None = None,
    priority_column: str | None = None,
    team_column: str | None = None,
    topic_column: str | None = None,
    keep: Sequence[str] = (),
    ts_format: str | None = None,
    duplicates: Literal["keep", "reject"] = "keep",
    case_opening: CaseOpening = "first_event",
    format: TableFormat | None = None,
) -> EventLog:
    """Read a process-mining event log (XES, or CSV/Parquet with case columns).

    Parameters
    ----------
    source
        An ``.xes``/``.xes.gz`` file, a CSV/Parquet file, or a frame.
    tz
        IANA zone of clock times without an offset (required for them; XES time stamps
        usually carry their offset and need none).
    activities
        Activity → event: ``"assigned"``, ``"status_changed:solved"`` or a mapping with
        ``event_type``, ``actor`` (default ``agent``; ``customer`` for ``case_created``) and
        ``status``. Replaces :data:`HELPDESK_ACTIVITIES`.
    response_activities
        Activities that also count as an agent's public reply: each adds an agent
        ``message`` beside its mapped event, so a first-response figure exists for a log
        that has no messages. None by default: taking a ticket in charge is an assignment,
        not a reply.
    channel
        The channel of every event (a process log does not say which).
    case_column, activity_column, timestamp_column, resource_column, customer_column
        Source columns; defaults :data:`CSV_COLUMNS` (or :data:`XES_COLUMNS` for XES).
        Without a customer column each case is its own customer.
    priority_column, team_column, topic_column
        Optional source columns for ``priority``, ``team`` and ``topic``.
    keep
        Other source columns to carry as pass-through columns.
    ts_format
        strftime format of the time stamps (default: ISO 8601 with an offset, else
        :data:`TS_FORMATS` with ``tz``).
    duplicates
        ``"keep"`` every row as an event (default), or ``"reject"`` exact repeats
        (``duplicate_event``).
    case_opening
        ``"first_event"`` (default): a case with no ``case_created`` activity was opened by
        its customer at its first recorded event (a customer ``case_created`` is added
        there). ``"activity"``: only the activity table opens cases; a case starting with an
        agent's activity is agent-created (warned when more than 5 % of the cases).
    format
        The file format when the suffix does not say.

    Returns
    -------
    EventLog
        One event per mapped row (two for a response activity), plus the added openers;
        rows whose activity is not mapped, or that have no case id, are in ``rejected``.
        ``capabilities`` says which event types the activity table can produce.

    Warns
    -----
    AdapterWarning
        ``case_opening="activity"`` and more than 5 % of the cases start with an agent's
        activity (agent-created: outside the first-response population by default).

    Raises
    ------
    AdapterError
        A column is missing, the XES is malformed, an activity maps onto no event, or clock
        times carry no offset and ``tz`` is not given.

    Examples
    --------
    >>> import polars as pl
    >>> rows = pl.DataFrame({"Case ID": ["Case 1"] * 3,
    ...     "Activity": ["Take in charge ticket", "Resolve ticket", "Closed"],
    ...     "Resource": ["Value 1"] * 3, "Complete Timestamp": [
    ...     "2012/10/09 14:51:01.000", "2012/10/12 15:02:56.000", "2012/10/25 11:54:26.000"]})
    >>> log = read_process_log(rows, tz="Europe/Rome")
    >>> for row in log.frame.collect().select("event_type", "actor", "status").rows():
    ...     print(*row)
    case_created customer None
    assigned agent None
    status_changed agent solved
    status_changed agent closed

    The case has no ``Insert ticket``: it was opened when it was taken in charge.
    """
    name = source_name(source)
    if duplicates not in ("keep", "reject"):
        raise adapter_error(source, f"duplicates must be 'keep' or 'reject' (got {duplicates!r})")
    if case_opening not in ("first_event", "activity"):
        raise adapter_error(
            source, f"case_opening must be 'first_event' or 'activity' (got {case_opening!r})"
        )
    table = _activity_table(HELPDESK_ACTIVITIES if activities is None else activities, source)
    xes = _is_xes(source)
    defaults = XES_COLUMNS if xes else CSV_COLUMNS
    case = case_column or defaults["case"]
    activity = activity_column or defaults["activity"]
    timestamp = timestamp_column or defaults["timestamp"]
    resource = resource_column or defaults["resource"]
    customer = customer_column or defaults["customer"]

    if xes:
        assert isinstance(source, str | os.PathLike)
        raw = read_xes_table(source).lazy()
    else:
        raw = as_lazy_table(source, format=format)
    names = raw.collect_schema().names()
    optional = [c for c in (priority_column, team_column, topic_column) if c is not None]
    require_columns(names, [case, activity, timestamp, *optional, *keep], source=source)
    if customer_column is not None or resource_column is not None:
        require_columns(
            names,
            [c for c in (customer_column, resource_column) if c is not None],
            source=source,
        )

    if ts_format is not None:
        aware = "%z" in ts_format or "%Z" in ts_format or "%+" in ts_format
    else:
        aware = has_offsets(raw, timestamp, source=source)
    if not aware:
        example = ""
        try:
            first = raw.select(text_column(timestamp)).drop_nulls().head(1).collect()
            example = str(first.item()) if first.height else ""
        except (pl.exceptions.PolarsError, ValueError):
            example = ""
        tz = require_tz(tz, adapter="xes", source=source, example=example or "2012/10/09 14:50")

    raw_ts = text_column(timestamp)
    if aware and ts_format is None:
        ts = raw_ts
    else:
        formats = (ts_format,) if ts_format is not None else TS_FORMATS
        if aware:
            parsed = pl.coalesce(
                *(
                    raw_ts.str.to_datetime(f, strict=False, time_unit="us", time_zone="UTC")
                    for f in formats
                )
            )
        else:
            parsed = pl.coalesce(
                *(raw_ts.str.to_datetime(f, strict=False, time_unit="us") for f in formats)
            )
        ts = ts_text(parsed, raw_ts, aware=aware)
    order = (
        raw_ts.str.to_datetime(strict=False, time_unit="us", time_zone="UTC")
        if aware and ts_format is None
        else parsed
    )

    rows = (
        raw.with_row_index(ROW_COLUMN, offset=1)
        .with_columns(
            text_column(case).alias("__case"),
            text_column(activity).alias("__activity"),
        )
        .join(table.lazy(), on="__activity", how="left", maintain_order="left")
    )
    unmapped = rejects(
        rows.filter(pl.col("__case").is_null() | pl.col("__event_type").is_null()),
        pl.when(pl.col("__case").is_null())
        .then(pl.lit("null_key"))
        .otherwise(pl.lit("unmapped_activity")),
        pl.when(pl.col("__case").is_null()).then(pl.lit(case)).otherwise(pl.lit(activity)),
    ).select(*names, ROW_COLUMN, "reason", "reason_column")
    good = rows.filter(pl.col("__case").is_not_null() & pl.col("__event_type").is_not_null())

    def optional_text(column: str | None) -> pl.Expr:
        return text_column(column) if column is not None else pl.lit(None, pl.String)

    customer_expr = (
        pl.coalesce(text_column(customer), pl.col("__case"))
        if customer in names
        else pl.col("__case")
    )
    resource_expr = text_column(resource) if resource in names else pl.lit(None, pl.String)
    common = [
        pl.col("__case").alias("case_id"),
        customer_expr.alias("customer_id"),
        pl.lit(channel).alias("channel"),
        ts.alias("ts"),
    ]
    extras = [
        resource_expr.alias("agent_id"),
        optional_text(team_column).alias("team"),
        optional_text(priority_column).alias("priority"),
        optional_text(topic_column).alias("topic"),
        pl.col("__activity").alias("activity"),
        *(pl.col(c) for c in keep if c not in ("activity",)),
    ]
    events = good.select(
        *common,
        pl.col("__event_type").alias("event_type"),
        pl.col("__actor").alias("actor"),
        pl.col("__status").alias("status"),
        *extras,
    )
    parts = [events]
    if response_activities:
        replies = good.filter(pl.col("__activity").is_in([str(a) for a in response_activities]))
        parts.append(
            replies.select(
                *common,
                pl.lit("message").alias("event_type"),
                pl.lit("agent").alias("actor"),
                pl.lit(None, pl.String).alias("status"),
                *extras,
            )
        )
    keyed = good.select("__case", "__actor", "__event_type", order.alias("__order"))
    if case_opening == "first_event":
        parts.insert(0, _openers(good, order, common, extras))
    else:
        _warn_agent_started(keyed, source)
    mapped = pl.concat(parts, how="vertical_relaxed") if len(parts) > 1 else events
    log = finish(
        mapped,
        unmapped,
        source=name,
        tz=tz,
        check_duplicates=duplicates == "reject",
    )
    fields = {"agent_id"} if resource in names else set()
    fields |= {
        f for f, c in (("team", team_column), ("priority", priority_column),
                       ("topic", topic_column)) if c is not None
    }  # fmt: skip
    caps = _capabilities(
        table, response=bool(response_activities), opening=case_opening, fields=fields
    )
    return with_capabilities(log, caps)


def _openers(
    good: pl.LazyFrame, order: pl.Expr, common: list[pl.Expr], extras: list[pl.Expr]
) -> pl.LazyFrame:
    """A customer ``case_created`` at the first event of each case that has none."""
    has_opener = (pl.col("__event_type") == "case_created").any().over("__case")
    first = (
        good.with_columns(order.alias("__order"))
        .filter(~has_opener & pl.col("__order").is_not_null())
        .group_by("__case")
        .agg(pl.all().sort_by("__order", ROW_COLUMN).first())
    )
    return first.select(
        *common,
        pl.lit("case_created").alias("event_type"),
        pl.lit("customer").alias("actor"),
        pl.lit(None, pl.String).alias("status"),
        *extras,
    ).with_columns(
        pl.lit(None, pl.String).alias("agent_id"), pl.lit(None, pl.String).alias("activity")
    )


def _warn_agent_started(keyed: pl.LazyFrame, source: object) -> None:
    """Warn when many cases start with an agent's activity (``case_opening="activity"``)."""
    creator = (
        pl.col("__actor")
        .filter(pl.col("__event_type") == "case_created")
        .sort_by(pl.col("__order").filter(pl.col("__event_type") == "case_created"))
        .first()
    )
    counts = (
        keyed.group_by("__case")
        .agg(pl.coalesce(creator, pl.col("__actor").sort_by("__order").first()).alias("creator"))
        .select(pl.len().alias("n"), (pl.col("creator") == "agent").sum().alias("agent"))
        .collect()
    )
    n, agent = int(counts["n"].item()), int(counts["agent"].item() or 0)
    if n and agent / n > _WARN_SHARE:
        warnings.warn(
            f"{source_name(source)}: {agent:,} of {n:,} cases ({agent / n:.1%}) start with an "
            "agent's activity and no case_created activity: they are agent-created, outside "
            "the first-response population under the default policy. Pass "
            "case_opening='first_event' to take each case as opened by its customer at its "
            "first recorded event, or map the opening activity to case_created in activities=",
            AdapterWarning,
            stacklevel=4,
        )


CAPABILITIES: Final = _capabilities(
    _activity_table(HELPDESK_ACTIVITIES, "xes"),
    response=False,
    opening="first_event",
    fields={"agent_id"},
)
"""What the ``xes`` adapter's source can produce with the default options."""

adapter: Final = FunctionAdapter(
    "xes",
    "Process-mining event logs: XES files, or CSV with case, activity and time columns.",
    read_process_log,
    CAPABILITIES,
)
"""The ``xes`` adapter object (see :func:`read_process_log`)."""
