"""The ``servicenow`` adapter: the ServiceNow incident event log (one row per audit update).

The layout of the UCI "Incident management process enriched event log": 36 columns, one row
per update of an incident (``number``), ``?`` for a missing value, clock times without a
zone (``29/2/2016 01:16`` in the UCI file, ``29-02-2016 01:16`` in spreadsheet re-saves;
both are read). The time zone is not stated in the file, so ``tz=`` is required.

Mapping, per incident (rows ordered by ``sys_mod_count``, then ``sys_updated_at``):

- ``case_created`` at ``opened_at``, actor ``customer``; ``customer_id`` = the incident's
  first ``caller_id``; ``channel`` from the first ``contact_type`` (see
  :data:`CONTACT_TYPES`).
- each row is a ``status_changed`` at ``sys_updated_at`` (actor ``agent``) with ``status``
  from :data:`INCIDENT_STATES`: a row states the incident's state as of the update, and
  a row that repeats the state changes nothing but keeps its time (ServiceNow's own
  ``resolved_at`` is the time of the last ``Resolved`` row). Beside it, at the same time:
  ``transferred`` when ``reassignment_count`` grew; else ``assigned`` when ``assigned_to``
  or ``assignment_group`` changed to a value (or is set on the first row);
  ``priority_changed`` when ``priority`` changed.
- every event carries, as of its row: ``agent_id`` = ``assigned_to``, ``team`` =
  ``assignment_group``, ``priority``, ``topic`` = ``category``; pass-through columns
  ``reassignment_count``, ``reopen_count``, ``sys_mod_count``, ``updated_by`` and
  ``reopened`` (the row's ``reopen_count`` grew: set on the status change that reopens).

The source's own ``resolved_at`` and ``closed_at`` (as each row states them) are kept as
pass-through columns, in UTC, so figures can be compared with the source's definition.

Clock times are local times in ``tz``. At a daylight-saving change some local times do not
exist (the clocks jump from 02:00 to 03:00: the real log has ``closed_at`` =
``27/3/2016 02:59`` in Europe/Rome) and others happen twice. ``nonexistent=`` and
``ambiguous=`` say how to read them, like the usual time-zone localisation knobs:
``nonexistent="raise"`` (default) names the first such time and the choices;
``"shift_forward"`` reads it as the first instant after the gap (03:00 local),
``"shift_backward"`` as the last instant before it, ``"null"`` as no time (a pass-through
column is null, an event row is rejected as ``nonexistent_local_time``).
``ambiguous="earliest"`` (default) takes the first of the two instants, ``"latest"`` the
second, ``"raise"`` stops, ``"null"`` rejects as ``ambiguous_local_time``.

Rows whose state is not in the status table (``-100`` in the UCI file, ``?``) are rejected
as ``unknown_status``; rows without a ``number`` as ``null_key``; rows whose counters or
``resolved_at``/``closed_at`` cannot be read as ``bad_type``.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping
from typing import Final, Literal

import polars as pl

from csmetrics._capabilities import Capabilities, with_capabilities
from csmetrics.adapters._base import (
    ROW_COLUMN,
    FunctionAdapter,
    TableFormat,
    adapter_error,
    as_lazy_table,
    finish,
    mapping_from,
    rejects,
    require_columns,
    require_tz,
    source_name,
    text_column,
    ts_text,
)
from csmetrics.exceptions import AdapterError
from csmetrics.log import EventLog
from csmetrics.schema import STATUSES

__all__ = [
    "CAPABILITIES",
    "CONTACT_TYPES",
    "INCIDENT_STATES",
    "REQUIRED_COLUMNS",
    "TS_FORMATS",
    "adapter",
    "read_servicenow",
]

INCIDENT_STATES: Final[Mapping[str, str]] = {
    "New": "new",
    "Active": "open",
    "Awaiting User Info": "pending",
    "Awaiting Problem": "on_hold",
    "Awaiting Vendor": "on_hold",
    "Awaiting Evidence": "on_hold",
    "Resolved": "solved",
    "Closed": "closed",
}
"""``incident_state`` → canonical status. Any other state (``-100``) is ``unknown_status``."""

CONTACT_TYPES: Final[Mapping[str, str]] = {
    "Phone": "phone",
    "Email": "email",
    "Self service": "portal",
    "IVR": "voice",
    "Direct opening": "direct",
}
"""``contact_type`` → channel. ``Direct opening`` (opened by the service desk in the tool)
has no channel kind of its own: ``direct`` is of kind ``other``. Any other value is
lower-cased with ``_`` for blanks."""

REQUIRED_COLUMNS: Final[tuple[str, ...]] = (
    "number",
    "incident_state",
    "caller_id",
    "opened_at",
    "sys_updated_at",
    "contact_type",
)
"""Columns the adapter needs; the other columns of the layout are used when present."""

TS_FORMATS: Final[tuple[str, ...]] = (
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d-%m-%Y %H:%M",
    "%d-%m-%Y %H:%M:%S",
)
"""Clock-time formats read by default (UCI layout and spreadsheet re-saves)."""

_MISSING: Final = ("", "?")
_EVENT_TIMES: Final = ("opened_at", "sys_updated_at")
_SOURCE_TIMES: Final = ("resolved_at", "closed_at")
Nonexistent = Literal["raise", "null", "shift_forward", "shift_backward"]
Ambiguous = Literal["raise", "earliest", "latest", "null"]
_FIXED_ZONES: Final = frozenset({"UTC", "Etc/UTC", "GMT", "Etc/GMT", "Zulu"})
_NONEXISTENT: Final = ("raise", "null", "shift_forward", "shift_backward")
_AMBIGUOUS: Final = ("raise", "earliest", "latest", "null")

CAPABILITIES: Final = Capabilities(
    source="a ServiceNow incident event log",
    event_types={"case_created", "status_changed", "assigned", "transferred", "priority_changed"},
    fields={"status", "agent_id", "team", "priority", "topic"},
    notes={
        "*": "it records updates of incidents (state, assignment, priority), not a conversation"
    },
)
"""What the ``servicenow`` adapter's source can produce."""
_COUNTERS: Final = ("reassignment_count", "reopen_count", "sys_mod_count")
_AS_OF: Final = {
    "assigned_to": "agent_id",
    "assignment_group": "team",
    "priority": "priority",
    "category": "topic",
    "sys_updated_by": "updated_by",
}


def _clock(name: str, formats: tuple[str, ...]) -> pl.Expr:
    text = text_column(name, missing=_MISSING)
    return pl.coalesce(*(text.str.to_datetime(f, strict=False, time_unit="us") for f in formats))


def _gap_edges(naive: dt.datetime, zone: zoneinfo.ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The instants (UTC) just before and at the end of the gap holding a nonexistent time.

    Examples
    --------
    >>> rome = zoneinfo.ZoneInfo("Europe/Rome")
    >>> before, after = _gap_edges(dt.datetime(2016, 3, 27, 2, 59), rome)
    >>> before.isoformat(), after.isoformat()
    ('2016-03-27T00:59:59.999999+00:00', '2016-03-27T01:00:00+00:00')
    """
    offset_before = naive.replace(tzinfo=zone, fold=0).utcoffset()
    offset_after = naive.replace(tzinfo=zone, fold=1).utcoffset()
    assert offset_before is not None
    assert offset_after is not None
    utc = naive.replace(tzinfo=dt.UTC)
    low, high = utc - max(offset_before, offset_after), utc - min(offset_before, offset_after)
    # the change lies in (low, high]: bisect it to the second (zone changes are whole seconds)
    lo, hi = int(low.timestamp()), int(high.timestamp())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if dt.datetime.fromtimestamp(mid, zone).utcoffset() == offset_before:
            lo = mid
        else:
            hi = mid
    after = dt.datetime.fromtimestamp(hi, dt.UTC)
    return after - dt.timedelta(microseconds=1), after


def _local_problems(
    raw: pl.LazyFrame, columns: list[str], formats: tuple[str, ...], zone: str
) -> pl.DataFrame:
    """Local times that do not exist or happen twice in ``zone``: column, row, value, kind."""
    if zone in _FIXED_ZONES or not columns:
        return pl.DataFrame()
    parsed = raw.with_row_index(ROW_COLUMN, offset=1).select(
        ROW_COLUMN,
        *(_clock(name, formats).alias(f"__{name}") for name in columns),
        *(pl.col(name).cast(pl.String) for name in columns),
    )
    parts = []
    for name in columns:
        naive = pl.col(f"__{name}")
        earliest = naive.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
        strict = naive.dt.replace_time_zone(zone, ambiguous="null", non_existent="null")
        parts.append(
            parsed.filter(naive.is_not_null() & strict.is_null()).select(
                pl.lit(name).alias("column"),
                ROW_COLUMN,
                naive.alias("local"),
                pl.col(name).alias("text"),
                pl.when(earliest.is_null())
                .then(pl.lit("nonexistent"))
                .otherwise(pl.lit("ambiguous"))
                .alias("kind"),
            )
        )
    return pl.concat(parts).collect()


def _local_error(
    source: object, problems: pl.DataFrame, kind: str, zone: str, option: str
) -> AdapterError:
    first = (
        problems.filter(pl.col("kind") == kind)
        .sort(ROW_COLUMN, maintain_order=True)  # then the columns' order
        .row(0, named=True)
    )
    count = problems.filter(pl.col("kind") == kind).height
    local = first["local"].strftime("%Y-%m-%d %H:%M")
    if kind == "nonexistent":
        what = (
            f"the local time {local} does not exist in {zone}: the clocks jumped over it at a "
            "daylight-saving change"
        )
        choices = (
            "pass nonexistent='shift_forward' (read it as the first instant after the gap), "
            "'shift_backward' (the last instant before it) or 'null' (no time: a "
            "resolved_at/closed_at is left null, an event row is rejected as "
            "nonexistent_local_time), or the tz= the clock times were really recorded in"
        )
    else:
        what = (
            f"the local time {local} happens twice in {zone} (the clocks went back at a "
            "daylight-saving change), so it names two instants"
        )
        choices = (
            "pass ambiguous='earliest' or 'latest' to pick one, or 'null' (no time: an event "
            "row is rejected as ambiguous_local_time)"
        )
    return adapter_error(
        source,
        f"{what} ({first['text']!r}; {count} value(s) of this kind in the file)",
        record=f"row {first[ROW_COLUMN]}",
        field=first["column"],
        fix=choices,
    )


def _localized(
    name: str,
    formats: tuple[str, ...],
    zone: str,
    *,
    ambiguous: Ambiguous,
    shifted: Mapping[dt.datetime, dt.datetime],
) -> pl.Expr:
    """A clock-time column as UTC instants; nonexistent times shifted as ``shifted`` says."""
    naive = _clock(name, formats)
    local = naive.dt.replace_time_zone(
        zone,
        ambiguous="earliest" if ambiguous == "raise" else ambiguous,
        non_existent="null",
    ).dt.convert_time_zone("UTC")
    if not shifted:
        return local
    moved = naive.replace_strict(
        list(shifted), list(shifted.values()), default=None, return_dtype=pl.Datetime("us", "UTC")
    )
    return pl.coalesce(local, moved)


def _counter(name: str, present: bool) -> pl.Expr:
    if not present:
        return pl.lit(None, pl.Int64)
    return text_column(name, missing=_MISSING).cast(pl.Int64, strict=False)


def read_servicenow(
    source: object,
    *,
    tz: str | None = None,
    statuses: Mapping[str, str] | None = None,
    channels: Mapping[str, str] | None = None,
    ts_format: str | None = None,
    missing_caller: str | None = None,
    nonexistent: Nonexistent = "raise",
    ambiguous: Ambiguous = "earliest",
    format: TableFormat | None = None,
) -> EventLog:
    """Read a ServiceNow incident event log into an event log.

    Parameters
    ----------
    source
        The CSV (or Parquet …) file, or a frame with the layout's columns.
    tz
        IANA zone of the clock times (required: the layout does not state one).
    statuses
        ``incident_state`` → status, replacing :data:`INCIDENT_STATES`.
    channels
        ``contact_type`` → channel, updating :data:`CONTACT_TYPES` (``{"?": "other"}`` gives
        incidents without a contact type a channel instead of rejecting them).
    ts_format
        strftime format of the clock times, replacing :data:`TS_FORMATS`.
    missing_caller
        ``customer_id`` of incidents whose ``caller_id`` is ``?`` on every row. By default
        their events are rejected (``null_key`` on ``customer_id``): a customer is not assumed.
    nonexistent
        How to read a local time that does not exist in ``tz`` (skipped at a DST change):
        ``"raise"`` (default), ``"shift_forward"``, ``"shift_backward"`` or ``"null"``.
    ambiguous
        How to read a local time that happens twice in ``tz``: ``"earliest"`` (default),
        ``"latest"``, ``"raise"`` or ``"null"``.
    format
        The file format when the suffix does not say.

    Returns
    -------
    EventLog
        See the module docstring for the mapping.

    Raises
    ------
    AdapterError
        ``tz`` is missing or unknown, a required column is missing, a status maps onto
        something that is not a canonical status, the file cannot be read, or a local time
        does not exist (``nonexistent="raise"``) or is ambiguous (``ambiguous="raise"``)
        in ``tz``: the message names the row, the column, the time and the choices.

    Examples
    --------
    >>> import polars as pl
    >>> rows = pl.DataFrame({"number": ["INC1", "INC1"], "incident_state": ["New", "Resolved"],
    ...     "caller_id": ["Caller 7", "Caller 7"], "opened_at": ["29/2/2016 01:16"] * 2,
    ...     "sys_updated_at": ["29/2/2016 01:23", "29/2/2016 08:53"],
    ...     "contact_type": ["Phone", "Phone"], "sys_mod_count": ["0", "2"]})
    >>> log = read_servicenow(rows, tz="UTC")
    >>> log.frame.collect().select("event_type", "status").rows()
    [('case_created', None), ('status_changed', 'new'), ('status_changed', 'solved')]

    Resolved 7 h 37 min after it was opened (01:16 → 08:53).
    """
    name = source_name(source)
    status_map = (
        dict(INCIDENT_STATES)
        if statuses is None
        else mapping_from(statuses, what="statuses", source=source)
    )
    bad = {k: v for k, v in status_map.items() if v not in STATUSES}
    if bad:
        raise adapter_error(
            source,
            f"statuses maps onto values that are not statuses: {bad}",
            fix=f"use one of {list(STATUSES)}",
        )
    channel_map = {**CONTACT_TYPES, **mapping_from(channels, what="channels", source=source)}
    formats = TS_FORMATS if ts_format is None else (ts_format,)
    if nonexistent not in _NONEXISTENT:
        raise adapter_error(
            source, f"nonexistent must be one of {_NONEXISTENT} (got {nonexistent!r})"
        )
    if ambiguous not in _AMBIGUOUS:
        raise adapter_error(source, f"ambiguous must be one of {_AMBIGUOUS} (got {ambiguous!r})")

    raw = as_lazy_table(source, format=format)
    names = raw.collect_schema().names()
    require_columns(names, REQUIRED_COLUMNS, source=source)
    zone = require_tz(tz, adapter="servicenow", source=source, example="29/2/2016 01:16")
    times = [*_EVENT_TIMES, *(c for c in _SOURCE_TIMES if c in names)]
    problems = _local_problems(raw, times, formats, zone)
    shifted: dict[str, dict[dt.datetime, dt.datetime]] = {name: {} for name in times}
    if problems.height:
        if nonexistent == "raise" and "nonexistent" in problems["kind"]:
            raise _local_error(source, problems, "nonexistent", zone, "nonexistent")
        if ambiguous == "raise" and "ambiguous" in problems["kind"]:
            raise _local_error(source, problems, "ambiguous", zone, "ambiguous")
        if nonexistent in ("shift_forward", "shift_backward"):
            edge = 1 if nonexistent == "shift_forward" else 0
            gaps = problems.filter(pl.col("kind") == "nonexistent")
            for name, local in gaps.select("column", "local").unique().iter_rows():
                shifted[name][local] = _gap_edges(local, zoneinfo.ZoneInfo(zone))[edge]

    contact = pl.col("contact_type").cast(pl.String, strict=False).str.strip_chars()
    mapped_contact = contact.replace_strict(
        {k: v for k, v in channel_map.items() if v is not None},
        default=None,
        return_dtype=pl.String,
    )
    fallback_contact = (
        pl.when(contact.is_in(list(_MISSING)))
        .then(None)
        .otherwise(contact.str.to_lowercase().str.replace_all(r"\s+", "_"))
    )
    columns = [
        text_column("number", missing=_MISSING).alias("__number"),
        pl.col("incident_state")
        .cast(pl.String, strict=False)
        .str.strip_chars()
        .replace_strict(status_map, default=None, return_dtype=pl.String)
        .alias("__status"),
        *(
            _localized(c, formats, zone, ambiguous=ambiguous, shifted=shifted[c]).alias(f"__{c}")
            for c in times
        ),
        text_column("caller_id", missing=_MISSING).alias("__caller"),
        pl.coalesce(mapped_contact, fallback_contact).alias("__channel"),
        *(_counter(c, c in names).alias(f"__{c}") for c in _COUNTERS),
        *(
            (text_column(c, missing=_MISSING) if c in names else pl.lit(None, pl.String)).alias(
                f"__{c}"
            )
            for c in _AS_OF
        ),
    ]
    rows = raw.with_row_index(ROW_COLUMN, offset=1).with_columns(columns)

    checks: list[tuple[pl.Expr, str, str]] = [(pl.col("__number").is_null(), "null_key", "number")]
    for counter in _COUNTERS:
        if counter in names:
            raw_counter = text_column(counter, missing=_MISSING)
            broken = raw_counter.is_not_null() & pl.col(f"__{counter}").is_null()
            checks.append((broken, "bad_type", counter))
    for name in times:
        naive = _clock(name, formats)
        lost = naive.is_not_null() & pl.col(f"__{name}").is_null()
        if name in _EVENT_TIMES:  # an event without its time cannot be kept
            earliest = naive.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
            gap = lost & earliest.is_null()
            checks.append((gap, "nonexistent_local_time", name))
            checks.append((lost & ~gap, "ambiguous_local_time", name))
        else:  # the source's own time: unreadable text is bad_type, a lost local time null
            unread = text_column(name, missing=_MISSING).is_not_null() & naive.is_null()
            checks.append((unread, "bad_type", name))
    checks.append((pl.col("__status").is_null(), "unknown_status", "incident_state"))
    reject: pl.Expr = pl.lit(None, pl.String)
    column: pl.Expr = pl.lit(None, pl.String)
    for broken, reason, where in reversed(checks):  # the first broken check wins
        reject = pl.when(broken).then(pl.lit(reason)).otherwise(reject)
        column = pl.when(broken).then(pl.lit(where)).otherwise(column)
    rows = rows.with_columns(reject.alias("__reject"), column.alias("__reject_column"))

    unmapped = rejects(
        rows.filter(pl.col("__reject").is_not_null()).select(
            *names, ROW_COLUMN, "__reject", "__reject_column"
        ),
        pl.col("__reject"),
        pl.col("__reject_column"),
    ).drop("__reject", "__reject_column")

    mapped = _events(
        rows.filter(pl.col("__reject").is_null()), [c for c in _SOURCE_TIMES if c in names]
    )
    if missing_caller is not None:
        mapped = mapped.with_columns(pl.col("customer_id").fill_null(pl.lit(str(missing_caller))))
    return with_capabilities(finish(mapped, unmapped, source=name, tz=zone), CAPABILITIES)


def _events(rows: pl.LazyFrame, source_times: list[str]) -> pl.LazyFrame:
    """One pass: flag what each row changed, list its events, explode them."""
    by = "__number"
    ordered = rows.sort(by, "__sys_mod_count", "__sys_updated_at", ROW_COLUMN, nulls_last=True)
    same_case = pl.col(by) == pl.col(by).shift(1)

    def prev(column: str) -> pl.Expr:  # the previous row of the same incident (sorted)
        return pl.when(same_case).then(pl.col(column).shift(1))

    first = ~same_case.fill_null(value=False)
    transfer = (pl.col("__reassignment_count") > prev("__reassignment_count")).fill_null(
        value=False
    )
    reopened = (pl.col("__reopen_count") > prev("__reopen_count")).fill_null(value=False)
    agent, group = pl.col("__assigned_to"), pl.col("__assignment_group")
    assign = (
        ~transfer
        & (agent.is_not_null() | group.is_not_null())
        & (
            first
            | agent.ne_missing(prev("__assigned_to"))
            | group.ne_missing(prev("__assignment_group"))
        )
    )
    priority = (
        ~first
        & pl.col("__priority").is_not_null()
        & pl.col("__priority").ne_missing(prev("__priority"))
    )
    kinds = pl.concat_list(
        pl.when(first).then(pl.lit("case_created")),
        pl.lit("status_changed"),  # every row states the incident's state
        pl.when(transfer).then(pl.lit("transferred")),
        pl.when(assign).then(pl.lit("assigned")),
        pl.when(priority).then(pl.lit("priority_changed")),
    ).list.drop_nulls()
    staged = (
        ordered.with_columns(
            pl.col("__caller").drop_nulls().first().over(by).alias("__customer"),
            pl.col("__channel").drop_nulls().first().over(by).alias("__case_channel"),
            reopened.alias("__reopened"),
            kinds.alias("event_type"),
        )
        .explode("event_type")
        .with_columns(
            (pl.col("event_type") == "case_created").alias("__created"),
            (pl.col("event_type") == "status_changed").alias("__is_status"),
        )
    )
    created = pl.col("__created")
    return staged.select(
        pl.format("{}/{}/{}", pl.col(by), pl.col(ROW_COLUMN), pl.col("event_type")).alias(
            "event_id"
        ),
        pl.col(by).alias("case_id"),
        pl.col("__customer").alias("customer_id"),
        pl.col("__case_channel").alias("channel"),
        pl.when(created)
        .then(ts_text(pl.col("__opened_at"), pl.col("opened_at"), aware=True))
        .otherwise(ts_text(pl.col("__sys_updated_at"), pl.col("sys_updated_at"), aware=True))
        .alias("ts"),
        pl.col("event_type"),
        pl.when(created).then(pl.lit("customer")).otherwise(pl.lit("agent")).alias("actor"),
        pl.when(pl.col("__is_status")).then(pl.col("__status")).alias("status"),
        pl.col("__assigned_to").alias("agent_id"),
        pl.col("__assignment_group").alias("team"),
        pl.col("__priority").alias("priority"),
        pl.col("__category").alias("topic"),
        pl.col("__reassignment_count").alias("reassignment_count"),
        pl.col("__reopen_count").alias("reopen_count"),
        pl.col("__sys_mod_count").alias("sys_mod_count"),
        pl.col("__sys_updated_by").alias("updated_by"),
        (pl.col("__reopened") & ~created).alias("reopened"),
        *(pl.col(f"__{c}").alias(c) for c in source_times),
    )


adapter: Final = FunctionAdapter(
    "servicenow",
    "ServiceNow incident event log (one row per audit update; UCI layout or re-saves).",
    read_servicenow,
    CAPABILITIES,
)
"""The ``servicenow`` adapter object (see :func:`read_servicenow`)."""
