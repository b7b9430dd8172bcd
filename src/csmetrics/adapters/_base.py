"""Shared helpers of the built-in adapters: the adapter object, reading, rejecting, finishing.

An adapter turns one source format into an :class:`~csmetrics.EventLog`. The contract every
adapter (built-in or plugin) follows:

- it is an object with ``name`` and ``description`` that is called as
  ``adapter(source, *, tz=None, **options) -> EventLog``;
- every source record ends up as one or more canonical events (``log.frame``) or in
  ``log.rejected`` with a ``reason`` and a ``reason_column`` -- never dropped;
- unreadable input (a truncated file, a missing column or field, a value of the wrong type)
  raises :class:`~csmetrics.AdapterError` naming the file, the record and the field.

:class:`FunctionAdapter` wraps a plain function into such an object; :func:`finish` validates
the mapped events and joins the adapter's own rejects to the validation rejects.
"""

from __future__ import annotations

import difflib
import glob
import io
import json
import os
import sys
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, Literal, cast

import attrs
import polars as pl

from csmetrics._capabilities import Capabilities
from csmetrics._limits import MAX_JSON_DEPTH, json_depth
from csmetrics.exceptions import AdapterError, CsMetricsError, PolicyError
from csmetrics.log import EventLog, IdDtype

__all__ = [
    "ROW_COLUMN",
    "FunctionAdapter",
    "TableFormat",
    "adapter_error",
    "as_lazy_table",
    "finish",
    "has_offsets",
    "mapping_from",
    "parse_options",
    "read_json_file",
    "rejects",
    "require_columns",
    "require_tz",
    "source_name",
    "text_column",
    "ts_text",
]

TableFormat = Literal["csv", "parquet", "ndjson", "json", "ipc"]
"""Formats :func:`as_lazy_table` reads."""

ROW_COLUMN: Final = "source_row"
"""Column holding the 1-based record number in the source (header not counted) in rejects."""

_SUFFIXES: Final[dict[str, TableFormat]] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".json": "json",
    ".arrow": "ipc",
    ".ipc": "ipc",
    ".feather": "ipc",
}
_EAGER_BYTES: Final = 64 * 2**20
"""Text files (CSV, NDJSON) up to this size are parsed when the adapter is called, so a
malformed file fails there, naming the file; larger ones are scanned lazily."""

_READ_ERRORS: Final = (pl.exceptions.PolarsError, OSError, UnicodeDecodeError, ValueError)


@attrs.frozen
class FunctionAdapter:
    """An adapter made of a function: ``adapter(source, *, tz=None, **options) -> EventLog``.

    Errors the function did not anticipate (a Polars, OS or decoding error) are re-raised as
    :class:`~csmetrics.AdapterError` naming the adapter and the source, so no library
    exception escapes for bad input.

    Attributes
    ----------
    name
        The registry name (``"twitter"``).
    description
        One line saying which sources the adapter reads.
    func
        ``func(source, *, tz, **options) -> EventLog``.
    capabilities
        What the source can produce with the default options (see
        :class:`~csmetrics._capabilities.Capabilities`); ``None``: anything.

    Examples
    --------
    >>> import polars as pl
    >>> from csmetrics.log import EventLog, IdDtype
    >>> def read(source, *, tz=None):
    ...     return EventLog.from_frame(source, tz=tz)
    >>> echo = FunctionAdapter("echo", "Frames already in the canonical schema.", read)
    >>> echo.name
    'echo'
    """

    name: str = attrs.field(validator=attrs.validators.instance_of(str))
    description: str = attrs.field(validator=attrs.validators.instance_of(str))
    func: Callable[..., EventLog] = attrs.field(validator=attrs.validators.is_callable())
    capabilities: Capabilities | None = attrs.field(default=None, repr=False)

    def __call__(self, source: object, *, tz: str | None = None, **options: Any) -> EventLog:
        """Read ``source`` into an :class:`~csmetrics.EventLog`."""
        try:
            return self.func(source, tz=tz, **options)
        except CsMetricsError:
            raise
        except TypeError as exc:
            if "unexpected keyword argument" in str(exc):
                raise AdapterError(
                    f"adapter {self.name!r}: {exc}; see the adapter's docstring for its options"
                ) from exc
            raise AdapterError(
                f"adapter {self.name!r} cannot read {source_name(source)}: {exc}"
            ) from exc
        except _READ_ERRORS as exc:
            raise AdapterError(
                f"adapter {self.name!r} cannot read {source_name(source)}: {exc}. Check that the "
                "file is complete and in the layout the adapter expects."
            ) from exc

    def __repr__(self) -> str:
        return f"<adapter {self.name!r}: {self.description}>"


def source_name(source: object) -> str:
    """A short name of a source for messages: the path, or the type of an in-memory table.

    Examples
    --------
    >>> source_name("data/tickets.csv")
    'data/tickets.csv'
    >>> import polars as pl
    >>> source_name(pl.DataFrame())
    '<polars.DataFrame>'
    """
    if isinstance(source, str | os.PathLike):
        return os.fspath(source)
    if isinstance(source, list | tuple):
        return ", ".join(source_name(s) for s in source)
    return f"<{type(source).__module__.split('.')[0]}.{type(source).__name__}>"


def adapter_error(
    source: object,
    problem: str,
    *,
    record: object = None,
    field: str | None = None,
    fix: str | None = None,
) -> AdapterError:
    """An :class:`~csmetrics.AdapterError` naming the source, the record and the field.

    Examples
    --------
    >>> str(adapter_error("t.json", "is not a string", record="conversation 3",
    ...                   field="tweet_ID", fix="quote the id"))
    "t.json: conversation 3, field 'tweet_ID': is not a string; fix: quote the id"
    """
    where = [source_name(source)]
    if record is not None:
        where.append(str(record))
    message = ": ".join(where)
    if field is not None:
        message += f", field {field!r}"
    message += f": {problem}"
    if fix:
        message += f"; fix: {fix}"
    return AdapterError(message)


def require_tz(tz: str | None, *, adapter: str, source: object, example: str) -> str:
    """Return ``tz``, or raise naming the ``tz=`` option when the source's zone is unknown.

    A time zone assumed is a defect: sources whose clock times carry no zone need one.

    Examples
    --------
    >>> require_tz("Europe/Rome", adapter="xes", source="h.csv", example="2012/10/09 14:50")
    'Europe/Rome'
    """
    if tz is None:
        raise adapter_error(
            source,
            f"time stamps such as {example!r} carry no time zone and the {adapter!r} adapter "
            "assumes none",
            fix="pass tz= with the IANA zone of the clock times, e.g. "
            f"scan_events(path, adapter={adapter!r}, tz='Europe/Rome')",
        )
    try:
        pl.select(pl.lit(0).cast(pl.Datetime("us")).dt.replace_time_zone(tz))
    except (pl.exceptions.PolarsError, ValueError) as exc:
        raise adapter_error(
            source, f"tz={tz!r} is not a known IANA time zone", fix="pass e.g. tz='Europe/Rome'"
        ) from exc
    return tz


def require_columns(
    available: Iterable[str],
    required: Iterable[str],
    *,
    source: object,
    what: str = "column",
) -> None:
    """Raise when a required source column is missing, naming close matches.

    Examples
    --------
    >>> require_columns(["Case ID", "Activity"], ["Case ID", "Actvity"], source="log.csv")
    Traceback (most recent call last):
    ...
    csmetrics.exceptions.AdapterError: log.csv: missing column(s) 'Actvity' (did you mean \
'Activity'?); available: ['Case ID', 'Activity']; fix: rename the columns or pass the \
adapter's column options
    """
    names = list(available)
    missing = [c for c in required if c not in names]
    if not missing:
        return
    parts = []
    for name in missing:
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
        hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
        parts.append(f"{name!r}{hint}")
    raise adapter_error(
        source,
        f"missing {what}(s) {', '.join(parts)}; available: {names}",
        fix="rename the columns or pass the adapter's column options",
    )


def _format_of(path: str, fmt: TableFormat | None) -> TableFormat:
    if fmt is not None:
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix in _SUFFIXES:
        return _SUFFIXES[suffix]
    raise adapter_error(
        path,
        f"cannot tell the format from the suffix {suffix!r}",
        fix="pass format= one of 'csv', 'parquet', 'ndjson', 'json', 'ipc'",
    )


def _is_pandas_frame(obj: object) -> bool:
    pd = sys.modules.get("pandas")  # whoever passed one has imported it
    return pd is not None and isinstance(obj, pd.DataFrame)


def as_lazy_table(
    source: object,
    *,
    format: TableFormat | None = None,
    separator: str = ",",
    encoding: Literal["utf8", "utf8-lossy"] = "utf8",
) -> pl.LazyFrame:
    """A source table as a LazyFrame: a path (CSV, Parquet, NDJSON, JSON, IPC) or a frame.

    CSV files are read with every column as text, so no value is lost
    to type inference; the adapter parses what it needs. Text files up to 64 MiB are parsed
    here, so a malformed file (bad encoding, bad quoting) fails with the file named; larger
    ones are scanned lazily and a malformed row shows when the plan is collected. Parquet
    and IPC files are always scanned lazily (their schema is checked here).

    Raises
    ------
    AdapterError
        The file is missing, empty or not in the format.

    Examples
    --------
    >>> import polars as pl
    >>> as_lazy_table(pl.DataFrame({"a": [1]})).collect_schema().names()
    ['a']
    """
    if isinstance(source, pl.LazyFrame):
        return source
    if isinstance(source, pl.DataFrame):
        return source.lazy()
    if not isinstance(source, str | os.PathLike):
        try:
            if _is_pandas_frame(source):
                table: pl.DataFrame = pl.from_pandas(cast(Any, source))
                return table.lazy()
            if hasattr(source, "__arrow_c_stream__") or hasattr(source, "__arrow_c_array__"):
                return pl.DataFrame(cast(Any, source)).lazy()
        except (pl.exceptions.PolarsError, TypeError, ValueError) as exc:
            raise adapter_error(source, f"cannot read it as a table: {exc}") from exc
        raise adapter_error(
            source,
            "is not a path or a table",
            fix="pass a file path, a Polars/pandas DataFrame or an Arrow table",
        )
    path = os.fspath(source)
    if not os.path.isfile(path):
        raise adapter_error(path, "no such file", fix="check the path")
    fmt = _format_of(path, format)
    try:
        if fmt == "csv":
            sep = "\t" if separator == "," and path.endswith(".tsv") else separator
            scan = pl.scan_csv(  # glob=False: an existing path is that file, "[" included
                path, infer_schema=False, separator=sep, encoding=encoding, glob=False
            )
            if os.path.getsize(path) > _EAGER_BYTES:
                return scan
            table = scan.collect()
            if table.width == 0:
                raise adapter_error(path, "the file is empty", fix="check the file")
            return table.lazy()
        if fmt == "parquet":
            frame = pl.scan_parquet(path, glob=False)
            frame.collect_schema()
            return frame
        if fmt == "ipc":
            frame = pl.scan_ipc(path, glob=False)
            frame.collect_schema()
            return frame
        if fmt == "json":
            with open(path, "rb") as handle:
                data = handle.read()
            _check_depth(data, path)
            return pl.read_json(io.BytesIO(data), infer_schema_length=None).lazy()
        _check_ndjson_depth(path)  # before Polars infers a schema from every record
        if os.path.getsize(path) > _EAGER_BYTES:
            return pl.scan_ndjson(glob.escape(path), infer_schema_length=None)
        return pl.read_ndjson(glob.escape(path), infer_schema_length=None).lazy()
    except CsMetricsError:
        raise
    except _READ_ERRORS as exc:
        raise adapter_error(
            path,
            f"cannot read it as {fmt}: {_first_line(exc)}",
            fix="check that the file is complete and in that format (pass format= to override "
            "the suffix)",
        ) from exc


def _check_depth(data: bytes, path: str) -> None:
    if json_depth(data) > MAX_JSON_DEPTH:
        raise adapter_error(
            path,
            f"JSON nested more than {MAX_JSON_DEPTH} levels deep",
            fix="flatten the records (an event record needs 3 or 4 levels), or check the "
            "file is the export you meant",
        )


def _check_ndjson_depth(path: str, chunk: int = 1 << 24) -> None:
    """Check the nesting of every line, reading 16 MiB at a time (cut at line ends)."""
    with open(path, "rb") as handle:
        rest = b""
        while block := handle.read(chunk):
            block = rest + block
            cut = block.rfind(b"\n") + 1
            rest = block[cut:]
            _check_depth(block[:cut], path)
        _check_depth(rest, path)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def read_json_file(source: object) -> Any:
    """Parse a JSON file with the standard library, naming the line and column of an error.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "bad.json"
    >>> _ = path.write_text('[{"a": 1},')
    >>> read_json_file(path)
    Traceback (most recent call last):
    ...
    csmetrics.exceptions.AdapterError: ...bad.json: line 1, column 11: not valid JSON \
(Expecting value); fix: check that the file is complete (not truncated) and is JSON
    """
    if not isinstance(source, str | os.PathLike):
        raise adapter_error(source, "is not a path", fix="pass the path of the JSON file")
    path = os.fspath(source)
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except json.JSONDecodeError as exc:
        raise adapter_error(
            path,
            f"not valid JSON ({exc.msg})",
            record=f"line {exc.lineno}, column {exc.colno}",
            fix="check that the file is complete (not truncated) and is JSON",
        ) from exc
    except UnicodeDecodeError as exc:
        raise adapter_error(
            path, f"not UTF-8 text (byte {exc.start})", fix="save the file as UTF-8"
        ) from exc
    except OSError as exc:
        raise adapter_error(path, f"cannot open it: {exc.strerror}", fix="check the path") from exc
    except RecursionError as exc:
        raise adapter_error(path, "JSON nested too deeply") from exc


def rejects(
    frame: pl.LazyFrame, reason: str | pl.Expr, reason_column: str | pl.Expr
) -> pl.LazyFrame:
    """Source records with the ``reason`` and ``reason_column`` they are rejected for.

    Examples
    --------
    >>> import polars as pl
    >>> rejects(pl.LazyFrame({"state": ["-100"]}), "unknown_status", "state").collect().row(0)
    ('-100', 'unknown_status', 'state')
    """
    reason_expr = pl.lit(reason, pl.String) if isinstance(reason, str) else reason
    column_expr = (
        pl.lit(reason_column, pl.String) if isinstance(reason_column, str) else reason_column
    )
    return frame.with_columns(
        reason_expr.cast(pl.String).alias("reason"),
        column_expr.cast(pl.String).alias("reason_column"),
    )


def finish(
    mapped: pl.LazyFrame,
    unmapped: pl.LazyFrame | Sequence[pl.LazyFrame] | None = None,
    *,
    source: str,
    tz: str | None,
    ts_format: str | None = None,
    check_duplicates: bool = True,
    id_dtype: IdDtype | Mapping[str, IdDtype] = "auto",
) -> EventLog:
    """Validate mapped events and report the adapter's own rejects beside the invalid events.

    Parameters
    ----------
    mapped
        The source records mapped onto canonical column names (one row per event).
    unmapped
        Source records the adapter could not map, each with ``reason`` and
        ``reason_column`` (see :func:`rejects`); a list is concatenated.
    source
        The source's name for messages and :attr:`EventLog.source`.
    tz, ts_format
        How to read ``ts`` (see :meth:`EventLog.from_frame`).
    check_duplicates
        Check rule R11.
    id_dtype
        How id columns are typed (see :meth:`EventLog.from_frame`); adapters of text
        formats pass ``"infer"`` so integer ids read as text become integers, as
        :func:`~csmetrics.scan_events` does for CSV.

    Returns
    -------
    EventLog
        ``frame``: the valid events; ``rejected``: the adapter's rejects and the mapped rows
        that break a rule, concatenated (``how="diagonal_relaxed"``). The validation state is
        kept, so ``log.validate("raise")`` still raises on a broken rule of a mapped row;
        the adapter's own rejects are reported in ``rejected`` (``validate("split")``).

    Examples
    --------
    >>> import polars as pl
    >>> mapped = pl.LazyFrame({"case_id": [1], "customer_id": [7], "channel": ["email"],
    ...     "ts": ["2024-03-01T09:00:00Z"], "event_type": ["case_created"],
    ...     "actor": ["customer"]})
    >>> bad = rejects(pl.LazyFrame({"Activity": ["Dance"]}), "unmapped_value", "Activity")
    >>> log = finish(mapped, bad, source="demo", tz=None)
    >>> log.frame.collect().height, log.rejected.collect()["reason"].to_list()
    (1, ['unmapped_value'])
    """
    log = EventLog.from_frame(
        mapped,
        tz=tz,
        ts_format=ts_format,
        check_duplicates=check_duplicates,
        id_dtype=id_dtype,
        source=source,
    )
    parts: list[pl.LazyFrame] = []
    if isinstance(unmapped, pl.LazyFrame):
        parts.append(unmapped)
    elif unmapped is not None:
        parts.extend(unmapped)
    assert log.rejected is not None  # from_frame always sets rejects
    rejected = log.rejected
    source_rejects = None
    if parts:
        source_rejects = parts[0] if len(parts) == 1 else pl.concat(parts, how="diagonal_relaxed")
        rejected = pl.concat([*parts, log.rejected], how="diagonal_relaxed")
    return EventLog(log.frame, rejected, source, log._annotated, source_rejects=source_rejects)


def parse_options(items: Sequence[str]) -> dict[str, Any]:
    """Adapter options from ``KEY=VALUE`` strings (the CLI's ``--option``).

    A value is read as a TOML value (``true``, ``3``, ``"text"``, ``{a = "b"}``, ``[1, 2]``);
    anything else is kept as text, so ``missing_caller=unknown`` needs no quotes.

    Raises
    ------
    PolicyError
        An item has no ``=`` or an empty key.

    Examples
    --------
    >>> parse_options(["missing_caller=unknown", "keep_text=true", "n=3",
    ...                'statuses={"en attente" = "pending"}'])
    {'missing_caller': 'unknown', 'keep_text': True, 'n': 3, 'statuses': {'en attente': 'pending'}}
    """
    options: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise PolicyError(
                f"--option {item!r} is not KEY=VALUE; e.g. --option missing_caller=unknown"
            )
        try:
            value: Any = tomllib.loads(f"v = {text.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = text.strip()
        options[key] = value
    return options


def mapping_from(value: object, *, what: str, source: object) -> dict[str, Any]:
    """``value`` as a plain dict of strings, or an :class:`AdapterError` naming ``what``."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise adapter_error(
            source, f"option {what!r} must be a mapping (got {type(value).__name__})"
        )
    return {str(k): v for k, v in value.items()}


def ts_text(parsed: pl.Expr, raw: pl.Expr, *, aware: bool) -> pl.Expr:
    """Time stamps as ISO 8601 text for validation: the parsed value, else the raw text.

    Handing validation the raw text of a value that did not parse keeps it visible in
    ``rejected`` (rule R2 ``bad_type`` on ``ts``) instead of turning it into a null.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"t": ["2012/10/09 14:50:17.000", "soon"]})
    >>> parsed = pl.col("t").str.to_datetime("%Y/%m/%d %H:%M:%S%.f", strict=False)
    >>> df.select(ts_text(parsed, pl.col("t"), aware=False))["t"].to_list()
    ['2012-10-09T14:50:17', 'soon']
    """
    fmt = "%Y-%m-%dT%H:%M:%S%.f%:z" if aware else "%Y-%m-%dT%H:%M:%S%.f"
    return pl.coalesce(parsed.dt.to_string(fmt), raw.cast(pl.String))


def text_column(name: str, *, missing: Sequence[str] = ("",)) -> pl.Expr:
    """A source column as stripped text, with placeholder values (``""``, ``"?"``) as null.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"a": [" x ", "?", ""]})
    >>> df.select(text_column("a", missing=("", "?")))["a"].to_list()
    ['x', None, None]
    """
    text = pl.col(name).cast(pl.String, strict=False).str.strip_chars()
    return pl.when(text.is_in(list(missing))).then(None).otherwise(text).alias(name)


_OFFSET: Final = r"(Z|z|[+-]\d\d(:?\d\d)?)$"


def has_offsets(frame: pl.LazyFrame, column: str, *, source: object, probe: int = 1_000) -> bool:
    """Whether the first ``probe`` time stamps of a text column all carry an offset.

    Used to tell, before reading a file, whether clock times need ``tz=``.

    Examples
    --------
    >>> import polars as pl
    >>> has_offsets(pl.LazyFrame({"t": ["2024-03-01T09:00:00+01:00"]}), "t", source="x")
    True
    >>> has_offsets(pl.LazyFrame({"t": ["2012/10/09 14:50:17.000"]}), "t", source="x")
    False
    """
    try:
        sample = frame.select(text_column(column).alias("t")).head(probe).collect()["t"]
    except pl.exceptions.PolarsError as exc:
        raise adapter_error(source, f"cannot read the time stamps: {exc}", field=column) from exc
    sample = sample.drop_nulls()
    return sample.len() > 0 and bool(sample.str.contains(_OFFSET).all())
