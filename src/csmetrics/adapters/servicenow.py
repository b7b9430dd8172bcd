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

Rows whose state is not in the status table (``-100`` in the UCI file, ``?``) are rejected
as ``unknown_status``; rows without a ``number`` as ``null_key``; rows whose counters are
not integers as ``bad_type``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import polars as pl

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
from csmetrics.log import EventLog
from csmetrics.schema import STATUSES

__all__ = [
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
        something that is not a canonical status, or the file cannot be read.

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

    raw = as_lazy_table(source, format=format)
    names = raw.collect_schema().names()
    require_columns(names, REQUIRED_COLUMNS, source=source)
    zone = require_tz(tz, adapter="servicenow", source=source, example="29/2/2016 01:16")

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
        _clock("sys_updated_at", formats).alias("__updated"),
        _clock("opened_at", formats).alias("__opened"),
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

    mapped = _events(rows.filter(pl.col("__reject").is_null()))
    if missing_caller is not None:
        mapped = mapped.with_columns(pl.col("customer_id").fill_null(pl.lit(str(missing_caller))))
    return finish(mapped, unmapped, source=name, tz=zone)


def _events(rows: pl.LazyFrame) -> pl.LazyFrame:
    """One pass: flag what each row changed, list its events, explode them."""
    by = "__number"
    ordered = rows.sort(by, "__sys_mod_count", "__updated", ROW_COLUMN, nulls_last=True)
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
        .then(ts_text(pl.col("__opened"), pl.col("opened_at"), aware=False))
        .otherwise(ts_text(pl.col("__updated"), pl.col("sys_updated_at"), aware=False))
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
    )


adapter: Final = FunctionAdapter(
    "servicenow",
    "ServiceNow incident event log (one row per audit update; UCI layout or re-saves).",
    read_servicenow,
)
"""The ``servicenow`` adapter object (see :func:`read_servicenow`)."""
