"""The event log: :class:`EventLog` and :func:`scan_events`.

An :class:`EventLog` wraps a lazy frame in the canonical schema (DESIGN §2). Reading never
collects: casting and rule checks are part of the lazy plan, and the rows that break a rule
are kept aside (:attr:`EventLog.rejected`) rather than dropped.
"""

from __future__ import annotations

import codecs
import datetime as dt
import glob as _glob
import importlib
import io
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, Literal, overload

import attrs
import polars as pl

from csmetrics._capabilities import Capabilities
from csmetrics._limits import check_json_depth
from csmetrics.exceptions import AdapterError, CsMetricsError, PolicyError, SchemaError
from csmetrics.schema import ID_COLUMNS
from csmetrics.validate import (
    DEFAULT_TS_MIN,
    RAGGED,
    Annotated,
    annotate,
    raise_first,
    unreadable,
    warn_integrity,
)

__all__ = ["EventLog", "IdDtype", "scan_events"]

Format = Literal["parquet", "csv", "ipc", "ndjson", "json"]
IdDtype = Literal["auto", "infer", "int", "string"]
"""How id columns are typed: ``auto`` keeps typed columns as they are and infers integers in
text read from CSV/NDJSON; ``infer`` infers integers in any text id column (from a sample);
``int`` and ``string`` force the type."""

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
_ID_DTYPES = ("auto", "infer", "int", "string")
_SAMPLE_ROWS = 10_000
_UTF8_CHECK_BYTES = 1 << 20  # of the first text file; 64 KiB of the next ones
_TEXT_FILES_CHECKED = 100
_SEPARATORS = (";", "\t", "|", ",")
_INTEGER_ID = r"^(0|-?[1-9]\d{0,17})(\.\d*)?$"  # numbers; "007" and "+7" stay text
_DUPLICATED = re.compile(r"^(.*)_duplicated_\d+$")  # how Polars renames a repeated CSV name
_COMPRESSED: Final = {
    b"\x1f\x8b": "gzip",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"PK\x03\x04": "zip",
}


def _is_pandas_frame(obj: object) -> bool:
    pd = sys.modules.get("pandas")  # whoever passed one has imported it
    return pd is not None and isinstance(obj, pd.DataFrame)


_STREAMS: dict[int, tuple[object, pl.DataFrame]] = {}
"""One-shot Arrow streams already read: id -> (the stream, kept alive so the id stays its
own, and its rows). A stream can be read once; reading it again (a second public call, or a
function that reads its input twice) must not see it empty."""
_STREAMS_KEPT = 4


def _is_one_shot(obj: object) -> bool:
    """An Arrow stream that can be consumed only once (a ``RecordBatchReader`` and the like)."""
    if not hasattr(obj, "__arrow_c_stream__"):
        return False
    name = type(obj).__name__  # RecordBatchReader, RecordBatchStreamReader, ArrayStream …
    return ("Reader" in name or "Stream" in name) and not _is_pandas_frame(obj)


def _to_lazy(obj: object) -> pl.LazyFrame:
    """Any supported in-memory table as a Polars LazyFrame (pandas is never imported here)."""
    if isinstance(obj, pl.LazyFrame):
        return obj
    if isinstance(obj, pl.DataFrame):
        return obj.lazy()
    if _is_one_shot(obj):
        kept = _STREAMS.get(id(obj))
        if kept is not None and kept[0] is obj:
            return kept[1].lazy()
        table = _read_table(obj, pl.DataFrame)
        while len(_STREAMS) >= _STREAMS_KEPT:
            del _STREAMS[next(iter(_STREAMS))]
        _STREAMS[id(obj)] = (obj, table)
        return table.lazy()
    read: Callable[[Any], pl.DataFrame | pl.Series] | None = None
    if _is_pandas_frame(obj):
        read = pl.from_pandas
    elif hasattr(obj, "__arrow_c_stream__") or hasattr(obj, "__arrow_c_array__"):
        read = pl.DataFrame
    elif type(obj).__module__.startswith("pyarrow"):
        read = pl.from_arrow
    if read is None:
        raise SchemaError(
            f"bad_type: cannot read an event log from {type(obj).__name__}; pass a path, a "
            "Polars DataFrame/LazyFrame, a pandas DataFrame or an Arrow table.",
            reason="bad_type",
        )
    return _read_table(obj, read).lazy()


def _read_table(obj: object, read: Callable[[Any], pl.DataFrame | pl.Series]) -> pl.DataFrame:
    try:
        table = read(obj)
    except Exception as exc:  # pyarrow/pandas/Polars conversion errors of many kinds
        raise SchemaError(
            f"bad_type: cannot read {type(obj).__name__} as a table: {exc}. Columns need "
            "one type each (no mixed Python objects).",
            reason="bad_type",
        ) from exc
    if isinstance(table, pl.Series):
        table = table.to_frame()
    return table


def _id_kinds(id_dtype: IdDtype | Mapping[str, IdDtype], schema: pl.Schema) -> dict[str, IdDtype]:
    """The requested kind of each id column present."""
    if isinstance(id_dtype, str):
        requested: Mapping[str, str] = dict.fromkeys(ID_COLUMNS, id_dtype)
    elif isinstance(id_dtype, Mapping):
        unknown = [k for k in id_dtype if k not in ID_COLUMNS]
        if unknown:
            raise PolicyError(f"'id_dtype' keys must be in {ID_COLUMNS} (got {unknown[0]!r})")
        requested = id_dtype
    else:
        raise PolicyError(f"'id_dtype' must be in {_ID_DTYPES} or a mapping (got {id_dtype!r})")
    kinds: dict[str, IdDtype] = {}
    for name in ID_COLUMNS:
        kind = requested.get(name, "auto")
        if kind not in _ID_DTYPES:
            raise PolicyError(f"'id_dtype' must be in {_ID_DTYPES} (got {kind!r} for {name!r})")
        if name in schema:
            kinds[name] = kind  # type: ignore[assignment]  # checked just above
    return kinds


@attrs.frozen
class EventLog:
    """A canonical, lazily validated event log.

    Build one with :func:`scan_events` (files) or :meth:`EventLog.from_frame` (frames).

    Attributes
    ----------
    frame
        The plan of the events that break no rule, in the canonical schema. Collecting it
        yourself does not check anything: rows that break a rule are simply absent (they are
        in ``rejected``). :meth:`collect` checks and raises.
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
    source_rejects: pl.LazyFrame | None = attrs.field(default=None, repr=False)
    """Source records an adapter could not map (also in ``rejected``); ``None`` if none."""
    capabilities: Capabilities | None = attrs.field(default=None, repr=False)
    """What the source can produce (set by its adapter); ``None``: anything."""

    @classmethod
    def from_frame(
        cls,
        frame: object,
        *,
        tz: str | None = None,
        ts_format: str | None = None,
        ts_bounds: tuple[dt.datetime | None, dt.datetime | None] = (DEFAULT_TS_MIN, None),
        id_dtype: IdDtype | Mapping[str, IdDtype] = "auto",
        check_duplicates: bool = True,
        source: str | None = None,
    ) -> EventLog:
        """An event log from a Polars, pandas or Arrow table with canonical column names.

        Nothing is collected: the casts and rule checks are part of the lazy plan.

        Parameters
        ----------
        frame
            A Polars DataFrame/LazyFrame, a pandas DataFrame, a ``pyarrow.Table`` or any
            object exporting the Arrow PyCapsule stream interface.
        tz
            IANA zone of naive time stamps. Without it, naive time stamps are an error.
        ts_format
            strftime format of string time stamps (default ISO 8601 or RFC 2822).
        ts_bounds
            Earliest and latest plausible time stamps, aware (rule R10); ``None`` for no
            lower bound / one day after now.
        id_dtype
            ``"auto"`` (default) keeps integer ids integers and text ids text; ``"infer"``
            turns text ids that are all integers in the first 10,000 rows into Int64 (a
            later value that would not read back as the same text, such as ``007`` or
            ``+7``, is then ``bad_type``, never another id);
            ``"int"`` / ``"string"`` force the type. A mapping sets it per id column.
            ``merged_into`` always follows ``case_id``.
        check_duplicates
            Check duplicate events (rule R11).
        source
            A name for messages.

        Raises
        ------
        SchemaError
            A required column is missing, ``ts`` is a naive Datetime column and ``tz`` is not
            given, or the object is not a table.
        PolicyError
            An argument out of range (an unknown ``tz``, naive ``ts_bounds`` …).

        Examples
        --------
        >>> import polars as pl, csmetrics as csm
        >>> raw = pl.DataFrame({"case_id": ["7"], "customer_id": [1], "channel": [" EMAIL "],
        ...     "ts": ["2024-03-01 10:00:00+01:00"], "event_type": ["message"],
        ...     "actor": ["customer"]})
        >>> row = csm.EventLog.from_frame(raw).collect().row(0, named=True)
        >>> row["case_id"], row["channel"], row["ts"].isoformat()
        ('7', 'email', '2024-03-01T09:00:00+00:00')
        """
        if isinstance(frame, EventLog):
            return frame
        name = source or f"<{type(frame).__module__.split('.')[0]}.{type(frame).__name__}>"
        return _from_raw(
            _to_lazy(frame),
            text_source=False,
            tz=tz,
            ts_format=ts_format,
            ts_bounds=ts_bounds,
            id_dtype=id_dtype,
            check_duplicates=check_duplicates,
            source=name,
        )

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

    @overload
    def validate(self, mode: Literal["raise"] = ...) -> pl.LazyFrame: ...
    @overload
    def validate(self, mode: Literal["split"]) -> tuple[pl.LazyFrame, pl.LazyFrame]: ...
    def validate(
        self, mode: Literal["raise", "split"] = "raise"
    ) -> pl.LazyFrame | tuple[pl.LazyFrame, pl.LazyFrame]:
        """Check every rule now (see :func:`csmetrics.validate`).

        ``"raise"`` collects once to count broken rules; ``"split"`` collects nothing except
        where string time stamps were read without ``tz`` (rule R3 is checked first).
        """
        if mode not in ("raise", "split"):
            raise PolicyError(f"'mode' must be in ('raise', 'split') (got {mode!r})")
        if self._annotated is None:
            return self.frame if mode == "raise" else (self.frame, _empty_rejects(self.frame))
        if mode == "raise":
            raise_first(self._annotated)
            self._raise_source_rejects()
            return self.frame
        self._annotated.raise_naive()
        assert self.rejected is not None
        return self.frame, self.rejected

    def _raise_source_rejects(self) -> None:
        """Raise when an adapter could not map some source records (raise mode)."""
        if self.source_rejects is None:
            return
        try:
            counts = (
                self.source_rejects.group_by("reason", "reason_column")
                .agg(pl.len().alias("n"))
                .sort("n", descending=True)
                .collect()
            )
        except (pl.exceptions.PolarsError, pl.exceptions.PanicException, OSError) as exc:
            raise unreadable(self.source, exc) from exc
        if counts.height == 0:
            return
        total = int(counts["n"].sum())
        parts = ", ".join(
            f"{row['reason']} on {row['reason_column']!r} ({row['n']} records)"
            for row in counts.iter_rows(named=True)
        )
        raise AdapterError(
            f"{self.source}: {total} source record(s) could not be mapped: {parts}. Fix the "
            "source or the adapter's mapping options, or pass on_invalid='quarantine' to set "
            "them aside (they stay in log.rejected)."
        )

    def checked(self, on_invalid: Literal["raise", "quarantine"] = "raise") -> EventLog:
        """This log after its rules were checked: raises, or sets bad rows aside."""
        if on_invalid not in ("raise", "quarantine"):
            raise PolicyError(
                f"'on_invalid' must be in ('raise', 'quarantine') (got {on_invalid!r})"
            )
        if self._annotated is None and self.source_rejects is None:
            return self
        if self._annotated is None:
            if on_invalid == "raise":
                self._raise_source_rejects()
            return EventLog(
                self.frame, self.rejected, self.source, None, capabilities=self.capabilities
            )
        if on_invalid == "raise":
            self.validate("raise")
        else:
            self.validate("split")
        return EventLog(
            self.frame, self.rejected, self.source, None, capabilities=self.capabilities
        )

    def collect(self, *, on_invalid: Literal["raise", "quarantine"] = "raise") -> pl.DataFrame:
        """The events as a DataFrame, after checking every rule.

        Parameters
        ----------
        on_invalid
            ``"raise"`` (default): raise a :class:`~csmetrics.SchemaError` naming the first
            broken rule, how many rows break it and the fix, as every metric function does;
            the rules are checked in the same pass that reads the rows. ``"quarantine"``:
            return the valid rows only; the others stay in :attr:`rejected`.

        Raises
        ------
        SchemaError
            In ``"raise"`` mode when any row breaks a rule; in both modes for naive time
            stamps without ``tz`` (a whole-frame error).
        AdapterError
            In ``"raise"`` mode when an adapter could not map some source records.

        Examples
        --------
        >>> import polars as pl, csmetrics as csm
        >>> raw = pl.DataFrame({"case_id": [1, 1], "customer_id": [7, 7],
        ...     "channel": ["email", "email"], "ts": ["2024-03-01T09:00:00Z", "soon"],
        ...     "event_type": ["case_created", "message"], "actor": ["customer", "agent"]})
        >>> csm.EventLog.from_frame(raw).collect()
        Traceback (most recent call last):
        ...
        csmetrics.exceptions.SchemaError: bad_type: column 'ts' in <polars.DataFrame>: 1 row(s) ...
        >>> csm.EventLog.from_frame(raw).collect(on_invalid="quarantine").height
        1
        """
        if on_invalid not in ("raise", "quarantine"):
            raise PolicyError(
                f"'on_invalid' must be in ('raise', 'quarantine') (got {on_invalid!r})"
            )
        try:
            if on_invalid == "quarantine" or self._annotated is None:
                if self._annotated is not None:
                    self._annotated.raise_naive()
                elif on_invalid == "raise":
                    self._raise_source_rejects()
                good = self.frame.collect()
                if self.rejected is not None:  # not for data csmetrics made itself
                    warn_integrity(good, self.source, stacklevel=2)
                return good
            rows = self._annotated.canonical_with_reason().collect()
        except (pl.exceptions.PolarsError, pl.exceptions.PanicException, OSError) as exc:
            raise unreadable(self.source, exc) from exc
        if rows["reason"].null_count() != rows.height:
            raise_first(self._annotated)  # names the rule, the count and the fix
            rows = rows.filter(pl.col("reason").is_null())  # unreachable unless data changed
        self._raise_source_rejects()
        rows = rows.drop("reason")
        warn_integrity(rows, self.source, stacklevel=2)  # two customers, merge loops
        return rows


def _empty_rejects(frame: pl.LazyFrame) -> pl.LazyFrame:
    return frame.clear().with_columns(
        pl.lit(None, pl.String).alias("reason"), pl.lit(None, pl.String).alias("reason_column")
    )


def _from_raw(
    raw: pl.LazyFrame,
    *,
    text_source: bool,
    tz: str | None,
    ts_format: str | None,
    ts_bounds: tuple[dt.datetime | None, dt.datetime | None],
    id_dtype: IdDtype | Mapping[str, IdDtype],
    check_duplicates: bool,
    source: str,
    skip_blank_rows: bool = False,
) -> EventLog:
    try:
        schema = raw.collect_schema()
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException, OSError) as exc:
        raise unreadable(source, exc) from exc
    kinds = _id_kinds(id_dtype, schema)
    text_ids = [
        c
        for c, dtype in schema.items()
        if c in kinds and (dtype == pl.String or isinstance(dtype, pl.Categorical))
    ]
    to_infer = [c for c in text_ids if kinds[c] == "infer" or (kinds[c] == "auto" and text_source)]
    integer_strings = [c for c in text_ids if kinds[c] == "int"]
    inferred = _integer_string_ids(raw, to_infer, source)
    integer_strings += inferred
    if skip_blank_rows:  # a blank CSV line is not a row (as in pandas and spreadsheets)
        raw = raw.filter(~pl.all_horizontal(pl.all().is_null()))
    annotated = annotate(
        raw,
        tz=tz,
        ts_format=ts_format,
        ts_bounds=ts_bounds,
        integer_id_strings=integer_strings,
        string_ids=[c for c, kind in kinds.items() if kind == "string"],
        check_duplicates=check_duplicates,
        source=source,
        exact_integer_ids=inferred,
    )
    return EventLog(annotated.good(), annotated.rejected(), source, annotated)


def _integer_string_ids(raw: pl.LazyFrame, names: Sequence[str], source: str) -> list[str]:
    """The text id columns whose values in a sample are all integers (no leading zeros)."""
    if not names:
        return []
    try:
        sample = raw.select(names).head(_SAMPLE_ROWS).collect()
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException, OSError) as exc:
        raise unreadable(source, exc) from exc
    result = []
    for name in names:
        values = sample[name].cast(pl.String).drop_nulls().str.strip_chars()
        values = values.filter(values != "")
        if values.len() and values.str.contains(_INTEGER_ID).all():
            result.append(name)
    return result


def _format_of(path: str, fmt: Format | None) -> Format:
    if fmt is not None:
        if fmt not in ("parquet", "csv", "ipc", "ndjson", "json"):
            raise PolicyError(
                f"'format' must be in ('parquet', 'csv', 'ipc', 'ndjson', 'json') (got {fmt!r})"
            )
        return fmt
    suffix = Path(path.rstrip("*/")).suffix.lower()
    if suffix in _SUFFIXES:
        return _SUFFIXES[suffix]
    if suffix in (".gz", ".zst", ".bz2", ".xz", ".zip"):
        raise PolicyError(
            f"{path!r} is compressed ({suffix}); decompress it first and read the plain file "
            "(CSV and JSON are read lazily only uncompressed), or convert it to Parquet"
        )
    raise PolicyError(
        f"cannot tell the format of {path!r} from its suffix; pass format= one of "
        "'parquet', 'csv', 'ipc', 'ndjson', 'json'"
    )


def _file_error(path: str, fmt: str, problem: str, fix: str) -> SchemaError:
    return SchemaError(
        f"bad_type: cannot read {path!r} as {fmt}: {problem}; fix: {fix}.", reason="bad_type"
    )


def _check_binary(path: str, fmt: Format) -> None:
    """Catch a truncated or foreign Parquet / Arrow file now, from its first and last bytes."""
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        head = fh.read(8)
        fh.seek(max(size - 8, 0))
        tail = fh.read(8)
    fix = "write the file again (it is truncated or not in this format), or pass format="
    if fmt == "parquet":
        footer = int.from_bytes(tail[:4], "little") if len(tail) == 8 else -1
        if (
            size < 12
            or head[:4] != b"PAR1"
            or tail[4:] not in (b"PAR1", b"PARE")
            or footer + 12 > size
        ):
            raise _file_error(path, fmt, f"no valid Parquet header and footer ({size} bytes)", fix)
    elif fmt == "ipc" and head[:6] == b"ARROW1" and tail[-6:] != b"ARROW1":
        raise _file_error(path, fmt, f"the Arrow file footer is missing ({size} bytes)", fix)


def _check_text(path: str, fmt: Format, encoding: str, n_bytes: int) -> None:
    """Catch an empty file, or invalid UTF-8 in its first bytes, before Polars trips on it."""
    if os.path.getsize(path) == 0:
        raise _file_error(path, fmt, "the file is empty (0 bytes)", "write at least the header row")
    with open(path, "rb") as fh:
        data = fh.read(n_bytes)
    for magic, kind in _COMPRESSED.items():
        if data.startswith(magic):
            raise _file_error(
                path,
                fmt,
                f"the file is {kind}-compressed",
                f"decompress it first (e.g. `gunzip -k` for gzip) and read the plain {fmt} "
                "file, or convert it to Parquet, which is compressed and read lazily",
            )
    if encoding != "utf8":
        return
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _file_error(
            path,
            fmt,
            f"invalid UTF-8 byte {data[exc.start : exc.start + 1]!r} on line {line}",
            "re-encode the file to UTF-8 (e.g. iconv -f latin1 -t utf-8) or pass "
            "encoding='utf8-lossy' to replace the invalid bytes",
        ) from exc


def _check_separator(path: str, names: Sequence[str], separator: str) -> None:
    """A CSV read with the wrong separator has one column whose name holds the real one."""
    if len(names) != 1:
        return
    for other in _SEPARATORS:
        if other != separator and other in names[0]:
            raise _file_error(
                path,
                "csv",
                f"the header has one column {names[0][:80]!r} with {other!r} inside",
                f"pass separator={other!r}",
            )


def _matches(path: str, fmt: Format) -> list[str]:
    """The files ``path`` names: itself when it exists (``[`` is then a character, not a
    pattern), the Parquet files of a folder, or the files a glob matches."""
    if os.path.isdir(path):
        if fmt != "parquet":
            raise PolicyError(
                f"a folder ({path!r}) is read as hive-partitioned Parquet; for {fmt} files "
                f"pass a glob such as {os.path.join(path, '*.' + fmt)!r}"
            )
        pattern = os.path.join(_glob.escape(path), "**", "*.parquet")
        matches = sorted(_glob.glob(pattern, recursive=True))
        if not matches:
            raise _file_error(path, fmt, "no .parquet file in the folder", "check the path")
        return matches
    if os.path.exists(path):
        return [path]
    matches = sorted(_glob.glob(path, recursive=True))
    if not matches:
        raise _file_error(path, fmt, "no file matches", "check the path")
    return matches


def _csv_names(path: str, separator: str, encoding: str) -> list[str]:
    """The column names of one CSV file's header; a repeated name is an error."""
    try:
        names = pl.scan_csv(
            path, infer_schema=False, separator=separator, glob=False,
            encoding="utf8-lossy" if encoding == "utf8-lossy" else "utf8",
        ).collect_schema().names()  # fmt: skip
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException, OSError) as exc:
        raise unreadable(repr(path), exc) from exc
    renamed = [_DUPLICATED.match(n) for n in names]
    repeated = sorted({m.group(1) for m in renamed if m is not None and m.group(1) in names})
    if repeated:
        raise SchemaError(
            f"bad_type: the header of {path!r} names the column(s) {repeated} more than once; "
            "fix: rename or drop the repeated column(s) (which one holds the data cannot be "
            "guessed).",
            reason="bad_type",
            column=repeated[0],
        )
    return names


def _scan_csv(matches: Sequence[str], path: str, separator: str, encoding: str) -> pl.LazyFrame:
    """Scan CSV files as text: each header decides its file's columns (a glob of files with
    different headers is their union), lines with more fields than the header keep the first
    extra field in :data:`~csmetrics.validate.RAGGED` (rule ``ragged_row``), and blank lines
    are skipped."""
    sep = "\t" if separator == "," and path.endswith(".tsv") else separator
    groups: dict[tuple[str, ...], list[str]] = {}
    first_bytes: dict[bytes, tuple[str, ...]] = {}
    for match in matches:
        with open(match, "rb") as fh:
            head = fh.readline(1 << 20)
        if head not in first_bytes:
            first_bytes[head] = tuple(_csv_names(match, sep, encoding))
        groups.setdefault(first_bytes[head], []).append(match)
    names = next(iter(groups))
    _check_separator(matches[0], names, sep)
    frames = [
        pl.scan_csv(
            files,
            schema={**dict.fromkeys(header, pl.String), RAGGED: pl.String},
            missing_columns="insert",
            truncate_ragged_lines=True,
            separator=sep,
            glob=False,
            encoding="utf8-lossy" if encoding == "utf8-lossy" else "utf8",
        )
        for header, files in groups.items()
    ]
    return frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal")


def _ndjson_names(path: str) -> list[str]:
    """The keys of one NDJSON file's first 10,000 records (nesting checked first)."""
    lines = []
    with open(path, "rb") as fh:
        for _ in range(_SAMPLE_ROWS):
            line = fh.readline()
            if not line:
                break
            lines.append(line)
    sample = b"".join(lines)
    check_json_depth(sample, repr(path))
    return pl.read_ndjson(io.BytesIO(sample), infer_schema_length=None).columns


def _read_json(path: str) -> pl.LazyFrame:
    with open(path, "rb") as fh:
        data = fh.read()
    check_json_depth(data, repr(path))
    return pl.read_json(io.BytesIO(data), infer_schema_length=None).lazy()


def _scan_binary(matches: Sequence[str], fmt: Format, hive: str | None) -> pl.LazyFrame:
    """Scan Parquet or Arrow files; files whose schemas differ are read as their union."""
    if hive is not None:
        return pl.scan_parquet(_glob.escape(hive) + "/**/*.parquet", hive_partitioning=True)
    scan = pl.scan_parquet if fmt == "parquet" else pl.scan_ipc
    if len(matches) == 1:
        return scan(matches[0], glob=False)
    frames = [scan(m, glob=False) for m in matches]
    schemas = [f.collect_schema() for f in frames]
    if all(s == schemas[0] for s in schemas):
        return scan(list(matches), glob=False)
    mismatch = _schema_mismatch(matches, schemas, fmt)
    if mismatch is not None:
        raise mismatch
    try:  # missing columns are null, numbers widen, other types read as text
        return pl.concat(frames, how="diagonal_relaxed")
    except pl.exceptions.PolarsError as exc:
        raise unreadable(repr(list(matches)[:5]), exc) from exc


def _schema_mismatch(
    matches: Sequence[str], schemas: Sequence[pl.Schema], fmt: str
) -> SchemaError | None:
    """The error naming the files whose column types cannot be read as one (nested in one
    file and not in another), or ``None``."""
    for name in dict.fromkeys(n for s in schemas for n in s.names()):
        kinds: dict[str, str] = {}
        nested = set()
        for match, schema in zip(matches, schemas, strict=True):
            if name in schema:
                kinds.setdefault(str(schema[name]), match)
                nested.add(schema[name].is_nested() or schema[name] == pl.Object)
        if len(kinds) > 1 and True in nested:
            shown = "; ".join(f"{kind} in {path!r}" for kind, path in kinds.items())
            return SchemaError(
                f"bad_type: the {fmt} files do not agree on the type of column {name!r}: "
                f"{shown}; fix: write the files with one type per column, or read them "
                "separately.",
                reason="bad_type",
                column=name,
            )
    return None


def _scan_raw(path: str, fmt: Format, *, separator: str, encoding: str) -> pl.LazyFrame:
    """Scan one path (a file, a glob or a hive-partitioned folder) without reading it."""
    matches = _matches(path, fmt)
    for i, match in enumerate(matches):
        if fmt in ("parquet", "ipc"):
            _check_binary(match, fmt)
        elif i < _TEXT_FILES_CHECKED:
            _check_text(match, fmt, encoding, _UTF8_CHECK_BYTES if i == 0 else 1 << 16)
    try:
        if fmt in ("parquet", "ipc"):
            frame = _scan_binary(matches, fmt, path if os.path.isdir(path) else None)
        elif fmt == "csv":
            frame = _scan_csv(matches, path, separator, encoding)
        elif fmt == "json":
            frames = [_read_json(m) for m in matches]
            frame = frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed")
        else:
            names: dict[str, None] = {}
            for match in matches:  # the union of every file's keys, in first-seen order
                names.update(dict.fromkeys(_ndjson_names(match)))
            frame = pl.scan_ndjson(
                [_glob.escape(m) for m in matches], schema=dict.fromkeys(names, pl.String)
            )
        frame.collect_schema()
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException, OSError, ValueError) as exc:
        if isinstance(exc, CsMetricsError):
            raise
        raise unreadable(repr(path), exc) from exc
    return frame


def scan_events(
    source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | object,
    *,
    adapter: str | Callable[..., Any] = "canonical",
    tz: str | None = None,
    format: Format | None = None,
    ts_format: str | None = None,
    separator: str = ",",
    encoding: Literal["utf8", "utf8-lossy"] = "utf8",
    ts_bounds: tuple[dt.datetime | None, dt.datetime | None] = (DEFAULT_TS_MIN, None),
    id_dtype: IdDtype | Mapping[str, IdDtype] = "auto",
    check_duplicates: bool = True,
    options: Mapping[str, Any] | None = None,
    identity: Any = None,
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
        strftime format of string time stamps (default ISO 8601 with an offset or RFC 2822,
        or naive ISO 8601 together with ``tz``).
    separator, encoding
        CSV options (``encoding="utf8-lossy"`` replaces invalid bytes).
    ts_bounds, check_duplicates
        See :meth:`EventLog.from_frame`.
    id_dtype
        See :meth:`EventLog.from_frame`. CSV and NDJSON are read as text; with ``"auto"`` an
        id column whose first 10,000 values are all integers becomes Int64, and a later
        non-integer id is rejected (``bad_type``): pass ``id_dtype="string"`` to keep text.
    options
        Extra keyword arguments for the adapter.
    identity
        A :class:`~csmetrics.IdentityMap` joining (channel, handle) pairs to one customer,
        applied lazily to ``customer_id`` (DESIGN §7).

    Returns
    -------
    EventLog
        Nothing has been read yet beyond the schema, the first and last bytes of each
        Parquet/Arrow file (to catch truncated files), and for CSV/NDJSON the first 10,000
        rows' ids (to tell integer ids) and the first MiB of the first file (64 KiB of the
        next 99) to check the encoding; the header line of every CSV file. NDJSON keys are
        the union of the keys of the first 10,000 records of every file. A path that exists
        is read as that file (``[`` in its name is no glob).

    Raises
    ------
    SchemaError
        An unreadable file (truncated, not UTF-8, wrong separator, empty), a missing column
        or naive time stamps without ``tz``; the message names the file and the fix.
    PolicyError
        An argument out of range (unknown suffix or format, an unknown ``tz`` …).

    Examples
    --------
    >>> import csmetrics as csm, tempfile, os
    >>> log = csm.testing.log_from_rows([("09:00", "case_created", "customer"),
    ...     ("09:30", "message", "agent")])
    >>> path = os.path.join(tempfile.mkdtemp(), "events.csv")
    >>> log.collect().write_csv(path)
    >>> csm.scan_events(path).collect().equals(log.collect())
    True
    """
    if identity is not None:
        log = scan_events(
            source,
            adapter=adapter,
            tz=tz,
            format=format,
            ts_format=ts_format,
            separator=separator,
            encoding=encoding,
            ts_bounds=ts_bounds,
            id_dtype=id_dtype,
            check_duplicates=check_duplicates,
            options=options,
        )
        applied: EventLog = identity.apply(log)
        return applied
    if adapter != "canonical":
        adapters = importlib.import_module("csmetrics.adapters")
        chosen = adapters.get_adapter(adapter) if isinstance(adapter, str) else adapter
        result = chosen(source, tz=tz, **dict(options or {}))
        caps = getattr(chosen, "capabilities", None)
        if not isinstance(result, EventLog):
            result = EventLog.from_frame(result, tz=tz, ts_bounds=ts_bounds, source=str(source))
        if result.capabilities is None and caps is not None:
            result = attrs.evolve(result, capabilities=caps)
        return result
    if not isinstance(source, str | os.PathLike | list | tuple):
        return EventLog.from_frame(
            source,
            tz=tz,
            ts_format=ts_format,
            ts_bounds=ts_bounds,
            id_dtype=id_dtype,
            check_duplicates=check_duplicates,
        )
    paths = (
        [os.fspath(p) for p in source] if isinstance(source, list | tuple) else [os.fspath(source)]
    )
    if not paths:
        raise PolicyError("'source' is an empty list; pass at least one path")
    if encoding not in ("utf8", "utf8-lossy"):
        raise PolicyError(f"'encoding' must be in ('utf8', 'utf8-lossy') (got {encoding!r})")
    frames = []
    formats = []
    for path in paths:
        fmt = (format or "parquet") if os.path.isdir(path) else _format_of(path, format)
        formats.append(fmt)
        frames.append(_scan_raw(path, fmt, separator=separator, encoding=encoding))
    name = ", ".join(repr(p) for p in paths)
    try:
        raw = frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed")
    except pl.exceptions.PolarsError as exc:
        raise unreadable(name, exc) from exc
    return _from_raw(
        raw,
        text_source=any(f in ("csv", "ndjson") for f in formats),
        tz=tz,
        ts_format=ts_format,
        ts_bounds=ts_bounds,
        id_dtype=id_dtype,
        check_duplicates=check_duplicates,
        source=name,
        skip_blank_rows=all(f == "csv" for f in formats),
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


@overload
def validate(
    frame: object, mode: Literal["raise"] = ..., *, tz: str | None = ...
) -> pl.LazyFrame: ...
@overload
def validate(
    frame: object, mode: Literal["split"], *, tz: str | None = ...
) -> tuple[pl.LazyFrame, pl.LazyFrame]: ...
def validate(
    frame: object, mode: Literal["raise", "split"] = "raise", *, tz: str | None = None
) -> pl.LazyFrame | tuple[pl.LazyFrame, pl.LazyFrame]:
    """Check an event log against every rule of DESIGN §2.3.

    Parameters
    ----------
    frame
        An :class:`~csmetrics.EventLog`, a Polars DataFrame/LazyFrame, a pandas DataFrame or
        any Arrow object with the canonical column names.
    mode
        ``"raise"``: raise a :class:`SchemaError` on the first broken rule and return the
        canonical frame. ``"split"``: return ``(good, rejected)``; ``rejected`` holds every
        bad row unchanged plus ``reason`` and ``reason_column``.
    tz
        Zone of naive time stamps (see :func:`csmetrics.scan_events`).

    Returns
    -------
    pl.LazyFrame or tuple of two pl.LazyFrame
        The canonical frame, or ``(good, rejected)``; ``len(good) + len(rejected)`` is the
        number of input rows.

    Raises
    ------
    SchemaError
        In ``"raise"`` mode for any broken rule; in both modes for a missing column (R1) or
        naive time stamps without ``tz`` (R3).

    Examples
    --------
    >>> import polars as pl, csmetrics as csm
    >>> raw = pl.DataFrame({"case_id": [1, 1], "customer_id": [7, 7],
    ...     "channel": [" Email", "email"], "ts": ["2024-03-01T09:00:00Z", "2024-03-01T09:30:00Z"],
    ...     "event_type": ["case_created", "teleport"], "actor": ["customer", "agent"]})
    >>> good, rejected = csm.validate(raw, mode="split")
    >>> good.collect().height, rejected.collect()["reason"].to_list()
    (1, ['unknown_event_type'])
    """

    if mode not in ("raise", "split"):
        raise PolicyError(f"'mode' must be in ('raise', 'split') (got {mode!r})")
    log = frame if isinstance(frame, EventLog) else EventLog.from_frame(frame, tz=tz)
    return log.validate(mode)
