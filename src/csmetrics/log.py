"""The event log: :class:`EventLog` and :func:`scan_events`.

An :class:`EventLog` wraps a lazy frame in the canonical schema (DESIGN §2). Reading never
collects: casting and rule checks are part of the lazy plan, and the rows that break a rule
are kept aside (:attr:`EventLog.rejected`) rather than dropped.
"""

from __future__ import annotations

import datetime as dt
import glob as _glob
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, overload

import attrs
import polars as pl

from csmetrics.exceptions import PolicyError, SchemaError
from csmetrics.schema import ID_COLUMNS
from csmetrics.validate import DEFAULT_TS_MIN, Annotated, annotate, raise_first

__all__ = ["EventLog", "scan_events"]

Format = Literal["parquet", "csv", "ipc", "ndjson", "json"]
_SUFFIXES: dict[str, Format] = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".arrow": "ipc",
    ".ipc": "ipc",
    ".feather": "ipc",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".json": "json",
}
_SAMPLE_ROWS = 10_000


def _is_pandas_frame(obj: object) -> bool:
    pd = sys.modules.get("pandas")  # whoever passed one has imported it
    return pd is not None and isinstance(obj, pd.DataFrame)


def _to_lazy(obj: object) -> pl.LazyFrame:
    """Any supported in-memory table as a Polars LazyFrame (pandas is never imported here)."""
    if isinstance(obj, pl.LazyFrame):
        return obj
    if isinstance(obj, pl.DataFrame):
        return obj.lazy()
    try:
        if _is_pandas_frame(obj):
            return pl.from_pandas(obj).lazy()  # type: ignore[arg-type]
        if hasattr(obj, "__arrow_c_stream__") or hasattr(obj, "__arrow_c_array__"):
            return pl.DataFrame(obj).lazy()
        if type(obj).__module__.startswith("pyarrow"):
            table = pl.from_arrow(obj)  # type: ignore[arg-type]
            if isinstance(table, pl.DataFrame):
                return table.lazy()
    except (pl.exceptions.PolarsError, TypeError, ValueError) as exc:
        raise SchemaError(
            f"bad_type: cannot read {type(obj).__name__} as a table: {exc}", reason="bad_type"
        ) from exc
    raise SchemaError(
        f"bad_type: cannot read an event log from {type(obj).__name__}; pass a path, a Polars "
        "DataFrame/LazyFrame, a pandas DataFrame or an Arrow table.",
        reason="bad_type",
    )


@attrs.frozen
class EventLog:
    """A canonical, lazily validated event log.

    Build one with :func:`scan_events` (files) or :meth:`EventLog.from_frame` (frames).

    Attributes
    ----------
    frame
        The events that break no rule, in the canonical schema, as a lazy frame.
    rejected
        The rows that break a rule, unchanged, with ``reason`` and ``reason_column``;
        ``None`` for a log built from data csmetrics produced itself (trusted).
    source
        Where the events came from.

    Examples
    --------
    >>> import csmetrics as csm
    >>> log = csm.testing.log_from_rows([("09:00", "case_created", "customer"),
    ...     ("09:30", "message", "agent")])
    >>> log.frame.collect().height
    2
    """

    frame: pl.LazyFrame
    rejected: pl.LazyFrame | None = None
    source: str = "<frame>"
    _annotated: Annotated | None = attrs.field(default=None, repr=False, alias="annotated")

    @classmethod
    def from_frame(
        cls,
        frame: object,
        *,
        tz: str | None = None,
        ts_format: str | None = None,
        ts_bounds: tuple[dt.datetime | None, dt.datetime | None] = (DEFAULT_TS_MIN, None),
        check_duplicates: bool = True,
        source: str | None = None,
    ) -> EventLog:
        """An event log from a Polars, pandas or Arrow table with canonical column names.

        Parameters
        ----------
        frame
            A Polars DataFrame/LazyFrame, a pandas DataFrame, a ``pyarrow.Table`` or any
            object exporting the Arrow PyCapsule stream interface.
        tz
            IANA zone of naive time stamps. Without it, naive time stamps are an error.
        ts_format
            strftime format of string time stamps (default ISO 8601).
        ts_bounds
            Earliest and latest plausible time stamps (rule R10).
        check_duplicates
            Check duplicate events (rule R11).
        source
            A name for messages.

        Raises
        ------
        SchemaError
            A required column is missing, or ``ts`` is naive and ``tz`` is not given.
        """
        name = source or f"<{type(frame).__module__.split('.')[0]}.{type(frame).__name__}>"
        if isinstance(frame, EventLog):
            return frame
        raw = _to_lazy(frame)
        integer_strings = _integer_string_ids(raw)
        annotated = annotate(
            raw,
            tz=tz,
            ts_format=ts_format,
            ts_bounds=ts_bounds,
            integer_id_strings=integer_strings,
            check_duplicates=check_duplicates,
            source=name,
        )
        return cls(annotated.good(), annotated.rejected(), name, annotated)

    @classmethod
    def trusted(cls, frame: pl.LazyFrame | pl.DataFrame, *, source: str = "<trusted>") -> EventLog:
        """Wrap a frame already in the canonical schema without checking it.

        For frames csmetrics produced itself (the simulator, adapters after validation).
        """
        return cls(frame.lazy(), None, source)

    @property
    def columns(self) -> list[str]:
        """The column names of the canonical frame."""
        return list(self.frame.collect_schema().names())

    def validate(
        self, mode: Literal["raise", "split"] = "raise"
    ) -> pl.LazyFrame | tuple[pl.LazyFrame, pl.LazyFrame]:
        """Check every rule now (see :func:`csmetrics.validate`)."""
        if self._annotated is None:
            return self.frame if mode == "raise" else (self.frame, _empty_rejects(self.frame))
        if mode == "raise":
            raise_first(self._annotated)
            return self.frame
        counts = self._annotated.reason_counts()
        naive = counts.filter(pl.col("reason") == "naive_timestamp")
        if naive.height:
            raise_first(Annotated(
                self._annotated.frame.filter(pl.col("reason") == "naive_timestamp"),
                self._annotated.raw_columns, self._annotated.canonical, self.source,
            ))
        assert self.rejected is not None
        return self.frame, self.rejected

    def checked(self, on_invalid: Literal["raise", "quarantine"] = "raise") -> EventLog:
        """This log after its rules were checked: raises, or sets bad rows aside."""
        if self._annotated is None:
            return self
        self.validate("raise" if on_invalid == "raise" else "split")
        return EventLog(self.frame, self.rejected, self.source, None)

    def collect(self) -> pl.DataFrame:
        """The valid events as a DataFrame."""
        return self.frame.collect()


def _empty_rejects(frame: pl.LazyFrame) -> pl.LazyFrame:
    return frame.clear().with_columns(
        pl.lit(None, pl.String).alias("reason"), pl.lit(None, pl.String).alias("reason_column")
    )


def _integer_string_ids(raw: pl.LazyFrame) -> list[str]:
    """Id columns read as text whose values in a sample are all integers."""
    schema = raw.collect_schema()
    text_ids = [c for c in ID_COLUMNS if c in schema and schema[c] == pl.String]
    if not text_ids:
        return []
    try:
        sample = raw.select(text_ids).head(_SAMPLE_ROWS).collect()
    except pl.exceptions.PolarsError:
        return []
    result = []
    for name in text_ids:
        values = sample[name].drop_nulls().str.strip_chars()
        if values.len() and values.str.contains(r"^[+-]?\d{1,18}$").all():
            result.append(name)
    return result


def _format_of(path: str, fmt: Format | None) -> Format:
    if fmt is not None:
        return fmt
    suffix = Path(path.rstrip("*/")).suffix.lower()
    if suffix in _SUFFIXES:
        return _SUFFIXES[suffix]
    raise PolicyError(
        f"cannot tell the format of {path!r} from its suffix; pass format= one of "
        "'parquet', 'csv', 'ipc', 'ndjson', 'json'"
    )


def _scan_raw(path: str, fmt: Format, *, separator: str, encoding: str) -> pl.LazyFrame:
    """Scan one path (a file, a glob or a hive-partitioned folder) without reading it."""
    try:
        if os.path.isdir(path):
            return pl.scan_parquet(
                os.path.join(path, "**", "*.parquet"), hive_partitioning=True
            )
        matches = _glob.glob(path)
        if not matches:
            raise SchemaError(f"bad_type: no file matches {path!r}", reason="bad_type")
        if fmt == "parquet":
            return pl.scan_parquet(path)
        if fmt == "ipc":
            return pl.scan_ipc(path)
        if fmt == "csv":
            sep = "\t" if separator == "," and path.endswith(".tsv") else separator
            return pl.scan_csv(
                path, infer_schema=False, separator=sep, encoding=encoding  # type: ignore[arg-type]
            )
        first = matches[0]
        if fmt == "json":
            frame = pl.read_json(first, infer_schema_length=None)
            return pl.concat([frame.lazy()] + [pl.read_json(m).lazy() for m in matches[1:]],
                             how="diagonal_relaxed")
        names = pl.read_ndjson(first, n_rows=_SAMPLE_ROWS, infer_schema_length=None).columns
        return pl.scan_ndjson(path, schema=dict.fromkeys(names, pl.String))
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        if isinstance(exc, SchemaError):
            raise
        raise SchemaError(
            f"bad_type: cannot read {path!r} as {fmt}: {exc}. Check the file is complete and "
            "in that format (pass format= to override the suffix).",
            reason="bad_type",
        ) from exc


def scan_events(
    source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | object,
    *,
    adapter: str | Callable[..., Any] = "canonical",
    tz: str | None = None,
    format: Format | None = None,  # noqa: A002 - the natural name
    ts_format: str | None = None,
    separator: str = ",",
    encoding: Literal["utf8", "utf8-lossy"] = "utf8",
    ts_bounds: tuple[dt.datetime | None, dt.datetime | None] = (DEFAULT_TS_MIN, None),
    check_duplicates: bool = True,
    options: Mapping[str, Any] | None = None,
) -> EventLog:
    """Read an event log lazily from files, or from a frame, into the canonical form.

    Parameters
    ----------
    source
        A path, a glob (``"events/*.parquet"``), a hive-partitioned folder of Parquet files,
        a list of paths, or an in-memory table (see :meth:`EventLog.from_frame`).
    adapter
        ``"canonical"`` for files already in the canonical schema, the name of a registered
        adapter, or an adapter object.
    tz
        IANA zone of naive time stamps; naive time stamps without it are an error.
    format
        ``parquet``, ``csv``, ``ipc`` (Arrow/Feather), ``ndjson`` or ``json``; by default
        taken from the suffix.
    ts_format
        strftime format of string time stamps (default ISO 8601 with an offset, or naive
        ISO 8601 together with ``tz``).
    separator, encoding
        CSV options (``encoding="utf8-lossy"`` replaces invalid bytes).
    ts_bounds, check_duplicates
        See :meth:`EventLog.from_frame`.
    options
        Extra keyword arguments for the adapter.

    Returns
    -------
    EventLog
        Nothing has been read yet beyond the schema (and a sample to tell integer ids).

    Examples
    --------
    >>> import csmetrics as csm, tempfile, os
    >>> sample = csm.datasets.sample_log().collect()
    >>> path = os.path.join(tempfile.mkdtemp(), "events.parquet")
    >>> sample.write_parquet(path)
    >>> csm.scan_events(path).frame.collect().height == sample.height
    True
    """
    if adapter != "canonical":
        from csmetrics.adapters import get_adapter

        chosen = get_adapter(adapter) if isinstance(adapter, str) else adapter
        result = chosen(source, tz=tz, **dict(options or {}))
        if isinstance(result, EventLog):
            return result
        return EventLog.from_frame(result, tz=tz, ts_bounds=ts_bounds, source=str(source))
    if not isinstance(source, str | os.PathLike | list | tuple):
        return EventLog.from_frame(
            source, tz=tz, ts_format=ts_format, ts_bounds=ts_bounds,
            check_duplicates=check_duplicates,
        )
    paths = [os.fspath(p) for p in source] if isinstance(source, list | tuple) else [
        os.fspath(source)
    ]
    frames = []
    for path in paths:
        fmt = "parquet" if os.path.isdir(path) else _format_of(path, format)
        frames.append(_scan_raw(path, fmt, separator=separator, encoding=encoding))
    raw = frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed")
    return EventLog.from_frame(
        raw,
        tz=tz,
        ts_format=ts_format,
        ts_bounds=ts_bounds,
        check_duplicates=check_duplicates,
        source=", ".join(paths),
    )


@overload
def as_event_log(log: EventLog) -> EventLog: ...
@overload
def as_event_log(log: object) -> EventLog: ...
def as_event_log(log: object) -> EventLog:
    """``log`` itself when it is an :class:`EventLog`, else :meth:`EventLog.from_frame`."""
    if isinstance(log, EventLog):
        return log
    if isinstance(log, str | os.PathLike):
        return scan_events(log)
    return EventLog.from_frame(log)
