"""The ``mapping`` adapter: any flat table, mapped onto the canonical log by a declaration.

One source row is one event. A declaration (a dict, or a TOML file with the same keys) says
which source column feeds each canonical column, how source values translate, and which
columns are constant::

    [columns]            # canonical column = source column
    case_id = "ticket"
    customer_id = "requester"
    ts = "created"
    event_type = "action"
    actor = "action"     # one source column may feed several canonical columns

    [values.event_type]  # source value = canonical value
    Opened = "case_created"
    Replied = "message"
    Solved = "status_changed"

    [values.actor]
    Opened = "customer"
    "*" = "agent"        # every other value

    [values.status]
    Solved = "solved"
    "*" = ""             # "" is null: no status on the other rows

    [constants]
    channel = "email"

    tz = "Europe/Rome"   # top-level options (must come before the tables in TOML)
    ts_format = "%Y/%m/%d %H:%M:%S%.f"
    null_values = ["", "?"]

A value missing from its table (and no ``"*"``) is reported, never guessed: the row goes to
``rejected`` with ``reason = "unmapped_value"`` and ``reason_column`` = the source column.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

import attrs
import polars as pl

from csmetrics._capabilities import Capabilities, with_capabilities
from csmetrics.adapters._base import (
    ROW_COLUMN,
    FunctionAdapter,
    TableFormat,
    as_lazy_table,
    finish,
    has_offsets,
    rejects,
    require_columns,
    require_tz,
    source_name,
)
from csmetrics.exceptions import AdapterError
from csmetrics.log import EventLog
from csmetrics.schema import ACTORS, EVENT_TYPES, OPTIONAL_COLUMNS, REQUIRED_COLUMNS, STATUSES

__all__ = ["MappingConfig", "adapter", "mapping_capabilities", "read_mapped"]

_KEYS: Final = frozenset(
    {
        "columns",
        "values",
        "constants",
        "tz",
        "ts_format",
        "null_values",
        "keep",
        "format",
        "separator",
        "duplicates",
    }
)
_VOCABULARIES: Final[Mapping[str, tuple[str, ...]]] = {
    "event_type": EVENT_TYPES,
    "actor": ACTORS,
    "status": STATUSES,
}
_RESERVED: Final = frozenset({"reason", "reason_column", "__value", ROW_COLUMN})
_DEFAULT = "*"


def _str_map(value: object, what: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise TypeError(f"{what} must be a table of names (got {type(value).__name__})")
    out = {}
    for key, item in value.items():
        if not isinstance(item, str):
            raise TypeError(f"{what}.{key} must be a string (got {item!r})")
        out[str(key)] = item
    return out


def _value_maps(value: object) -> dict[str, dict[str, str | None]]:
    if not isinstance(value, Mapping):
        raise TypeError(f"values must be a table of tables (got {type(value).__name__})")
    out: dict[str, dict[str, str | None]] = {}
    for column, table in value.items():
        if not isinstance(table, Mapping):
            raise TypeError(f"values.{column} must be a table (got {type(table).__name__})")
        inner: dict[str, str | None] = {}
        for key, item in table.items():
            if item is not None and not isinstance(item, str | int | float | bool):
                raise TypeError(f"values.{column}.{key} must be a scalar (got {item!r})")
            inner[str(key)] = None if item is None or item == "" else str(item)
        out[str(column)] = inner
    return out


@attrs.frozen
class MappingConfig:
    """A declarative mapping of a flat source table onto the canonical event log.

    Attributes
    ----------
    columns
        Canonical (or pass-through) column → source column.
    values
        Canonical column → {source value → canonical value}; ``"*"`` is the value for every
        other source value, ``""`` (or ``None``) is null.
    constants
        Canonical column → the same value on every event (e.g. ``channel = "email"``).
    tz
        IANA zone of clock times without an offset.
    ts_format
        strftime format of ``ts`` (default ISO 8601).
    null_values
        Source texts read as missing (e.g. ``"?"``).
    keep
        Source columns carried as pass-through columns: ``"all"`` (every column not used by
        the mapping and not named like a mapped column) or a list.
    format, separator
        How to read the file when its suffix does not say; the CSV separator.
    duplicates
        ``"reject"`` (default) sets aside the second and later of identical events (rule
        R11, ``duplicate_event``); ``"keep"`` keeps every row, as process logs and audit
        trails count each recorded row.

    Examples
    --------
    >>> config = MappingConfig.from_dict({"columns": {"case_id": "ticket",
    ...     "customer_id": "requester", "ts": "created", "event_type": "action"},
    ...     "constants": {"channel": "email", "actor": "agent"}})
    >>> config.constants
    {'channel': 'email', 'actor': 'agent'}
    """

    columns: Mapping[str, str] = attrs.field(factory=dict)
    values: Mapping[str, Mapping[str, str | None]] = attrs.field(factory=dict)
    constants: Mapping[str, Any] = attrs.field(factory=dict)
    tz: str | None = None
    ts_format: str | None = None
    null_values: tuple[str, ...] = ("",)
    keep: tuple[str, ...] | Literal["all"] = "all"
    format: TableFormat | None = None
    separator: str = ","
    duplicates: Literal["reject", "keep"] = "reject"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, origin: str = "mapping") -> MappingConfig:
        """Check and read a mapping given as a dict (the TOML structure).

        Raises
        ------
        AdapterError
            An unknown key, a table of the wrong shape, or a value of ``event_type``,
            ``actor`` or ``status`` outside the vocabulary.
        """
        unknown = sorted(set(data) - _KEYS)
        if unknown:
            raise AdapterError(f"{origin}: unknown key(s) {unknown}; the keys are {sorted(_KEYS)}")
        try:
            columns = _str_map(data.get("columns", {}), "columns")
            values = _value_maps(data.get("values", {}))
            constants = data.get("constants", {})
            if not isinstance(constants, Mapping):
                raise TypeError(f"constants must be a table (got {type(constants).__name__})")
            keep_value = data.get("keep", "all")
            keep: tuple[str, ...] | Literal["all"]
            if keep_value == "all":
                keep = "all"
            elif isinstance(keep_value, Sequence) and not isinstance(keep_value, str):
                keep = tuple(str(k) for k in keep_value)
            else:
                raise TypeError(f"keep must be 'all' or a list of columns (got {keep_value!r})")
            nulls = data.get("null_values", ("",))
            if isinstance(nulls, str) or not isinstance(nulls, Sequence):
                raise TypeError(f"null_values must be a list of texts (got {nulls!r})")
            if data.get("duplicates", "reject") not in ("reject", "keep"):
                raise TypeError(
                    f"duplicates must be 'reject' or 'keep' (got {data['duplicates']!r})"
                )
            for key in ("tz", "ts_format", "format", "separator"):
                if data.get(key) is not None and not isinstance(data[key], str):
                    raise TypeError(f"{key} must be a string (got {data[key]!r})")
        except TypeError as exc:
            raise AdapterError(f"{origin}: {exc}") from exc
        for column, table in values.items():
            vocabulary = _VOCABULARIES.get(column)
            if vocabulary is None:
                continue
            bad = {k: v for k, v in table.items() if v is not None and v not in vocabulary}
            if bad:
                raise AdapterError(
                    f"{origin}: values.{column} maps onto {sorted(set(bad.values()))}, not in "
                    f"{list(vocabulary)} (from source values {sorted(bad)})"
                )
        for column in values:
            if column not in columns:
                raise AdapterError(
                    f"{origin}: values.{column} has no source column; add "
                    f"columns.{column} = '<source column>'"
                )
        both = sorted(set(columns) & set(constants))
        if both:
            raise AdapterError(f"{origin}: {both} are given both as columns and as constants")
        missing = [c for c in REQUIRED_COLUMNS if c not in columns and c not in constants]
        if missing:
            raise AdapterError(
                f"{origin}: no source for the required column(s) {missing}; map each in "
                "[columns] or set it in [constants]"
            )
        return cls(
            columns=columns,
            values=values,
            constants=dict(constants),
            tz=data.get("tz"),
            ts_format=data.get("ts_format"),
            null_values=tuple(str(v) for v in nulls),
            keep=keep,
            format=data.get("format"),
            separator=data.get("separator", ","),
            duplicates=data.get("duplicates", "reject"),
        )

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> MappingConfig:
        """Read a mapping from a TOML file (same keys as :meth:`from_dict`).

        Raises
        ------
        AdapterError
            The file cannot be read or is not valid TOML (the message gives the line).
        """
        name = os.fspath(path)
        try:
            with open(name, "rb") as handle:
                data = tomllib.load(handle)
        except tomllib.TOMLDecodeError as exc:
            raise AdapterError(f"{name}: not valid TOML: {exc}") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise AdapterError(f"{name}: cannot read the mapping: {exc}") from exc
        return cls.from_dict(data, origin=name)


def _config(config: object, overrides: Mapping[str, Any]) -> MappingConfig:
    if isinstance(config, MappingConfig):
        base: dict[str, Any] = attrs.asdict(config, recurse=False)
    elif isinstance(config, str | os.PathLike):
        base = attrs.asdict(MappingConfig.from_toml(config), recurse=False)
    elif isinstance(config, Mapping):
        base = dict(config)
    elif config is None:
        base = {}
    else:
        raise AdapterError(
            f"mapping: config must be a dict, a MappingConfig or a TOML path (got "
            f"{type(config).__name__})"
        )
    base.update({k: v for k, v in overrides.items() if v is not None})
    origin = f"mapping {os.fspath(config)}" if isinstance(config, str | os.PathLike) else "mapping"
    return MappingConfig.from_dict(base, origin=origin)


def _text(column: str, nulls: Sequence[str]) -> pl.Expr:
    text = pl.col(column).cast(pl.String, strict=False).str.strip_chars()
    return pl.when(text.is_in(list(nulls))).then(None).otherwise(text)


def read_mapped(
    source: object,
    *,
    tz: str | None = None,
    config: MappingConfig | Mapping[str, Any] | str | os.PathLike[str] | None = None,
    columns: Mapping[str, str] | None = None,
    values: Mapping[str, Mapping[str, str | None]] | None = None,
    constants: Mapping[str, Any] | None = None,
    ts_format: str | None = None,
    null_values: Sequence[str] | None = None,
    keep: Sequence[str] | Literal["all"] | None = None,
    format: TableFormat | None = None,
    separator: str | None = None,
    duplicates: Literal["reject", "keep"] | None = None,
) -> EventLog:
    """Read a flat table (CSV, Parquet, NDJSON, JSON or a frame) through a declared mapping.

    Parameters
    ----------
    source
        The file or frame; one row per event.
    tz
        IANA zone of clock times without an offset (overrides the mapping's ``tz``).
    config
        A :class:`MappingConfig`, a dict with its keys, or the path of a TOML file.
    columns, values, constants, ts_format, null_values, keep, format, separator, duplicates
        Override the entries of ``config`` (see :class:`MappingConfig`).

    Returns
    -------
    EventLog
        One event per mapped row; rows with a value missing from its table are in
        ``rejected`` (``unmapped_value``, ``reason_column`` = the source column, and
        ``source_row`` = the 1-based row number), beside the mapped rows that break a rule.

    Raises
    ------
    AdapterError
        The mapping is malformed, a mapped source column is missing, the file cannot be
        read, or clock times carry no offset and no ``tz`` is given.

    Examples
    --------
    >>> import polars as pl
    >>> tickets = pl.DataFrame({"ticket": [1, 1, 1], "who": ["c9", "c9", "c9"],
    ...     "at": ["2024-03-01 09:00", "2024-03-01 09:45", "2024-03-01 10:00"],
    ...     "what": ["Opened", "Replied", "Teleported"]})
    >>> log = read_mapped(tickets, tz="Europe/Rome", config={
    ...     "columns": {"case_id": "ticket", "customer_id": "who", "ts": "at",
    ...                 "event_type": "what", "actor": "what"},
    ...     "values": {"event_type": {"Opened": "case_created", "Replied": "message"},
    ...                "actor": {"Opened": "customer", "*": "agent"}},
    ...     "constants": {"channel": "email"}})
    >>> log.frame.collect().select("event_type", "actor").rows()
    [('case_created', 'customer'), ('message', 'agent')]
    >>> log.rejected.collect().select("what", "reason", "reason_column").row(0)
    ('Teleported', 'unmapped_value', 'what')

    The agent replied 45 minutes after the case was opened; ``Teleported`` is reported.
    """
    name = source_name(source)
    overrides = {
        "columns": columns,
        "values": values,
        "constants": constants,
        "tz": tz,
        "ts_format": ts_format,
        "null_values": null_values,
        "format": format,
        "separator": separator,
        "duplicates": duplicates,
        "keep": keep if keep is None or keep == "all" else list(keep),
    }
    cfg = _config(config, overrides)
    raw = as_lazy_table(source, format=cfg.format, separator=cfg.separator)
    schema = raw.collect_schema()
    names = schema.names()
    require_columns(names, list(dict.fromkeys(cfg.columns.values())), source=source)
    if cfg.keep != "all":
        require_columns(names, cfg.keep, source=source, what="kept column")

    zone = cfg.tz
    if "ts" in cfg.columns:
        ts_source = cfg.columns["ts"]
        dtype = schema[ts_source]
        if isinstance(dtype, pl.Datetime):
            aware = dtype.time_zone is not None
        elif cfg.ts_format is not None:
            aware = any(d in cfg.ts_format for d in ("%z", "%Z", "%+"))
        else:
            aware = dtype == pl.String and has_offsets(raw, ts_source, source=source)
        if not aware and (dtype == pl.String or isinstance(dtype, pl.Datetime)):
            zone = require_tz(zone, adapter="mapping", source=source, example=ts_source)

    nulls = cfg.null_values
    mapped_columns: dict[str, pl.Expr] = {}
    checks: list[tuple[pl.Expr, str]] = []
    for target, column in cfg.columns.items():
        table = cfg.values.get(target)
        if table is None:
            if schema[column] == pl.String:
                mapped_columns[target] = _text(column, nulls)
            else:
                mapped_columns[target] = pl.col(column)
            continue
        text = _text(column, nulls)
        explicit = {k: v for k, v in table.items() if k != _DEFAULT}
        default = table.get(_DEFAULT)
        mapped_columns[target] = text.replace_strict(
            explicit, default=default, return_dtype=pl.String
        )
        if _DEFAULT not in table:
            checks.append((text.is_not_null() & ~text.is_in(list(explicit)), column))
    for target, value in cfg.constants.items():
        mapped_columns[target] = pl.lit(value)

    reason: pl.Expr = pl.lit(None, pl.String)
    reason_column: pl.Expr = pl.lit(None, pl.String)
    for broken, column in reversed(checks):
        reason = pl.when(broken).then(pl.lit("unmapped_value")).otherwise(reason)
        reason_column = pl.when(broken).then(pl.lit(column)).otherwise(reason_column)
    rows = raw.with_row_index(ROW_COLUMN, offset=1).with_columns(
        reason.alias("__reason"), reason_column.alias("__reason_column")
    )
    unmapped = rejects(
        rows.filter(pl.col("__reason").is_not_null()),
        pl.col("__reason"),
        pl.col("__reason_column"),
    ).select(*names, ROW_COLUMN, "reason", "reason_column")

    used = set(cfg.columns.values())
    if cfg.keep == "all":
        kept = [
            c
            for c in names
            if c not in used
            and c not in mapped_columns
            and c not in _RESERVED
            and not c.startswith("__")
        ]
    else:
        kept = [c for c in cfg.keep if c not in mapped_columns]
    mapped = rows.filter(pl.col("__reason").is_null()).select(
        *(expr.alias(target) for target, expr in mapped_columns.items()),
        *(pl.col(c) for c in kept),
    )
    text_file = isinstance(source, str | os.PathLike) and (
        cfg.format in ("csv", "ndjson", "json")
        or os.fspath(source)
        .lower()
        .endswith((".csv", ".tsv", ".txt", ".ndjson", ".jsonl", ".json"))
    )
    log = finish(
        mapped,
        unmapped,
        source=name,
        tz=zone,
        ts_format=cfg.ts_format,
        check_duplicates=cfg.duplicates == "reject",
        id_dtype="infer" if text_file else "auto",
    )
    return with_capabilities(log, mapping_capabilities(cfg))


def mapping_capabilities(cfg: MappingConfig) -> Capabilities | None:
    """What a mapping can produce: the event types its ``event_type`` table or constant
    names, the actors of its messages, the optional columns it fills; ``None`` when
    ``event_type`` is read as is (anything).

    Examples
    --------
    >>> cfg = MappingConfig.from_dict({"columns": {"case_id": "c", "customer_id": "u",
    ...     "ts": "t", "event_type": "a", "actor": "a", "channel": "ch", "agent_id": "who"},
    ...     "values": {"event_type": {"Open": "case_created", "Solve": "status_changed"},
    ...                "actor": {"Open": "customer", "*": "agent"}}})
    >>> caps = mapping_capabilities(cfg)
    >>> sorted(caps.tokens)
    ['case_created', 'field:agent_id', 'status_changed']
    """

    def table(target: str) -> dict[str, Any] | None:
        if target in cfg.constants:
            return {_DEFAULT: cfg.constants[target]}
        if target in cfg.columns and target in cfg.values:
            return dict(cfg.values[target])
        return None

    events = table("event_type")
    if events is None:
        return None
    actors = table("actor")
    same_source = cfg.columns.get("event_type") == cfg.columns.get("actor") is not None
    message_actors: set[str] = set()
    if actors is not None:
        if same_source and "event_type" not in cfg.constants:
            for value, event in events.items():  # the actor of each message value
                actor = actors.get(value, actors.get(_DEFAULT))
                if event == "message" and actor:
                    message_actors.add(str(actor))
        else:
            message_actors = {str(a) for a in actors.values() if a}
    present = set(cfg.columns) | set(cfg.constants)
    return Capabilities(
        source="the mapped source",
        event_types={str(e) for e in events.values() if e},
        message_actors=message_actors & set(ACTORS),
        fields={c for c in OPTIONAL_COLUMNS if c in present},
        notes={"*": "its mapping (values.event_type) maps no such event"},
    )


adapter: Final = FunctionAdapter(
    "mapping",
    "Any flat table (CSV, Parquet, NDJSON, JSON) through a declared column and value mapping.",
    read_mapped,
    None,  # a mapping can produce whatever its configuration maps: see mapping_capabilities
)
"""The ``mapping`` adapter object (see :func:`read_mapped`)."""
