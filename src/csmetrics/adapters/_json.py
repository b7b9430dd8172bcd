"""Reading API exports (JSON and NDJSON) record by record, with checked field access.

The helpdesk APIs (Zendesk, Intercom) export nested JSON: pages holding a list of records, or
one record per line. :func:`read_records` turns files, globs and folders into
:class:`Record` objects that know their file and position; :func:`get` reads one field with a
type check, so a wrong type raises :class:`~csmetrics.AdapterError` naming the file, the
record and the field.
"""

from __future__ import annotations

import datetime as dt
import functools
import glob
import json
import math
import os
import zoneinfo
from collections.abc import Iterator, Sequence
from typing import Any, Final, TypeVar, overload

import attrs
import polars as pl

from csmetrics.adapters._base import adapter_error, read_json_file
from csmetrics.exceptions import AdapterError

__all__ = ["Record", "as_id", "get", "integer_ids", "read_records", "timestamp", "token"]

_SUFFIXES: Final = (".json", ".ndjson", ".jsonl")
_EPOCH_MAX: Final = 253_402_300_799  # 9999-12-31T23:59:59Z in seconds
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
T = TypeVar("T")


@attrs.frozen
class Record:
    """One JSON object from a source, and where it was found.

    Attributes
    ----------
    data
        The object.
    file
        The file it came from.
    where
        Its position: ``"line 3"``, ``"ticket_events[2]"``, ``"line 3, audits[0]"``.
    ordinal
        1-based position of the record in its file (in file order).
    """

    data: dict[str, Any]
    file: str
    where: str
    ordinal: int

    def error(
        self, problem: str, *, field: str | None = None, fix: str | None = None
    ) -> AdapterError:
        """An :class:`AdapterError` naming this record's file and position."""
        return adapter_error(self.file, problem, record=self.where, field=field, fix=fix)


def _expand(source: object, *, adapter: str) -> list[str]:
    if isinstance(source, list | tuple):
        return [path for item in source for path in _expand(item, adapter=adapter)]
    if not isinstance(source, str | os.PathLike):
        raise adapter_error(
            source,
            f"the {adapter!r} adapter reads files, not a {type(source).__name__}",
            fix="pass a path, a glob, a folder or a list of paths of .json / .ndjson files",
        )
    path = os.fspath(source)
    if os.path.isdir(path):
        found = sorted(
            os.path.join(path, name)
            for name in os.listdir(path)
            if name.lower().endswith(_SUFFIXES)
        )
        if not found:
            raise adapter_error(path, "the folder holds no .json, .ndjson or .jsonl file")
        return found
    if any(c in path for c in "*?[") and not os.path.exists(path):
        found = sorted(glob.glob(path))
        if not found:
            raise adapter_error(path, "no file matches the pattern", fix="check the glob")
        return found
    if not os.path.isfile(path):
        raise adapter_error(path, "no such file", fix="check the path")
    return [path]


def _ndjson(path: str) -> Iterator[tuple[int, object]]:
    try:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    yield number, json.loads(line)
                except json.JSONDecodeError as exc:
                    raise adapter_error(
                        path,
                        f"not valid JSON ({exc.msg} at column {exc.colno})",
                        record=f"line {number}",
                        fix="check that the file is complete (not truncated), one JSON "
                        "object per line",
                    ) from exc
                except RecursionError as exc:
                    raise adapter_error(
                        path, "JSON nested too deeply", record=f"line {number}"
                    ) from exc
    except UnicodeDecodeError as exc:
        raise adapter_error(
            path, f"not UTF-8 text (byte {exc.start})", fix="save the file as UTF-8"
        ) from exc
    except OSError as exc:
        raise adapter_error(path, f"cannot open it: {exc.strerror}", fix="check the path") from exc


def _documents(path: str) -> Iterator[tuple[str | None, object]]:
    """The JSON documents of a file: one for JSON, one per line for NDJSON."""
    if path.lower().endswith((".ndjson", ".jsonl")):
        for number, value in _ndjson(path):
            yield f"line {number}", value
        return
    try:
        yield None, read_json_file(path)
    except AdapterError as exc:
        # API dumps are often pages written one per line into a .json file: read them so
        if "Extra data" not in str(exc):
            raise
        for number, value in _ndjson(path):
            yield f"line {number}", value


def read_records(
    source: object,
    *,
    containers: Sequence[str],
    adapter: str,
    sideloads: dict[str, list[Record]] | None = None,
) -> Iterator[Record]:
    """Every record of ``source`` (files, a glob, a folder, or a list of them), in file order.

    A document that is an object holding one of the ``containers`` keys (an API page such as
    ``{"ticket_events": [...], "next_page": ...}``) yields the objects of that list; a list
    yields its items; any other object is a record itself. The objects of a page's
    side-loaded lists (``{"audits": [...], "users": [...]}``) whose keys are in
    ``sideloads`` are appended to ``sideloads[key]`` instead of being yielded.

    Raises
    ------
    AdapterError
        A file is missing or not JSON (naming the line), or a record is not an object.
    """
    for path in _expand(source, adapter=adapter):
        ordinal = 0
        for line, document in _documents(path):
            items: list[tuple[str, object]]
            if isinstance(document, dict):
                key = next((k for k in containers if k in document), None)
                if key is None:
                    items = [(line or "record 1", document)]
                else:
                    values = document[key]
                    if isinstance(values, dict):  # a single-object response: {"audit": {...}}
                        values = [values]
                    if not isinstance(values, list):
                        raise adapter_error(
                            path,
                            f"must be a list of records (got {type(values).__name__})",
                            record=line,
                            field=key,
                        )
                    prefix = f"{line}, " if line else ""
                    items = [(f"{prefix}{key}[{i}]", v) for i, v in enumerate(values)]
                    for extra, found in (sideloads or {}).items():
                        if extra != key and isinstance(document.get(extra), list):
                            for i, v in enumerate(document[extra]):
                                if not isinstance(v, dict):
                                    raise adapter_error(
                                        path,
                                        f"a side-loaded record must be a JSON object, got "
                                        f"{type(v).__name__} {_short(v)}",
                                        record=f"{prefix}{extra}[{i}]",
                                    )
                                found.append(Record(v, path, f"{prefix}{extra}[{i}]", 0))
            elif isinstance(document, list):
                prefix = f"{line}, " if line else ""
                items = [(f"{prefix}[{i}]", v) for i, v in enumerate(document)]
            else:
                raise adapter_error(
                    path,
                    f"expected a JSON object or list, got {type(document).__name__}",
                    record=line,
                    fix="pass the API's JSON export",
                )
            for where, value in items:
                ordinal += 1
                if not isinstance(value, dict):
                    raise adapter_error(
                        path,
                        f"a record must be a JSON object, got {type(value).__name__} "
                        f"{_short(value)}",
                        record=where,
                    )
                yield Record(value, path, where, ordinal)


def _short(value: object, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


_TYPE_NAMES: Final = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    dict: "an object",
    list: "a list",
}


@overload
def get(
    record: Record,
    data: dict[str, Any],
    name: str,
    kind: type[T],
    *,
    required: bool = ...,
    field: str | None = ...,
    prefix: str | None = ...,
) -> T | None: ...
@overload
def get(
    record: Record,
    data: dict[str, Any],
    name: str,
    kind: tuple[type[Any], ...],
    *,
    required: bool = ...,
    field: str | None = ...,
    prefix: str | None = ...,
) -> Any: ...
def get(
    record: Record,
    data: dict[str, Any],
    name: str,
    kind: type[Any] | tuple[type[Any], ...],
    *,
    required: bool = False,
    field: str | None = None,
    prefix: str | None = None,
) -> Any:
    """``data[name]`` checked against ``kind``; ``None`` when absent or null and not required.

    ``data`` is the record or an object nested in it; ``field`` is the dotted path used in
    messages (default ``name``, or ``prefix.name``). Booleans are never accepted as numbers.

    Raises
    ------
    AdapterError
        The field is missing (``required``) or of another type, naming file, record and field.
    """
    value = data.get(name)
    if value is None:
        if required:
            raise record.error(
                "is missing", field=_label(name, field, prefix), fix="export the records with it"
            )
        return None
    if type(value) is kind:  # the common case, fast
        return value
    label = _label(name, field, prefix)
    kinds = kind if isinstance(kind, tuple) else (kind,)
    ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
    if isinstance(value, float) and float in kinds and not math.isfinite(value):
        ok = False
    if not ok:
        expected = " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
        raise record.error(
            f"must be {expected} (got {type(value).__name__} {_short(value)})", field=label
        )
    return value


def _label(name: str, field: str | None, prefix: str | None) -> str:
    if field is not None:
        return field
    return f"{prefix}.{name}" if prefix else name


def as_id(record: Record, value: object, field: str) -> str | None:
    """An id (integer or string) as text; ``None`` for null. Other types raise."""
    if value is None:
        return None
    if type(value) is int:
        return str(value)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise record.error(
            f"must be an integer or string id (got {type(value).__name__} {_short(value)})",
            field=field,
        )
    text = str(value).strip()
    return text or None


def timestamp(record: Record, value: object, field: str, *, tz: str | None) -> dt.datetime:
    """An instant from epoch seconds or an ISO 8601 string (naive strings need ``tz``)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise record.error(
            "must be epoch seconds or an ISO 8601 time stamp "
            f"(got {type(value).__name__} {_short(value)})",
            field=field,
        )
    if isinstance(value, int | float):
        if not (math.isfinite(value) and 0 <= value <= _EPOCH_MAX):
            raise record.error(f"{value!r} is not a plausible epoch time in seconds", field=field)
        return _EPOCH + dt.timedelta(microseconds=round(value * 1_000_000))
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise record.error(
            f"{_short(value)} is not an ISO 8601 time stamp",
            field=field,
            fix="export time stamps such as '2024-03-01T09:00:00Z'",
        ) from None
    if parsed.tzinfo is None:
        if tz is None:
            raise record.error(
                f"{_short(value)} has no time zone",
                field=field,
                fix="pass tz= with the IANA zone of the clock times",
            )
        try:
            parsed = parsed.replace(tzinfo=zoneinfo.ZoneInfo(tz))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise adapter_error(record.file, f"tz={tz!r} is not a known IANA time zone") from None
    try:
        return parsed.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        raise record.error(f"{_short(value)} is out of range", field=field) from None


@functools.lru_cache(maxsize=4096)
def token(value: str) -> str:
    """A source label as a snake_case token: ``"Phone call (incoming)"`` → ``phone_call_incoming``.

    Examples
    --------
    >>> token("Phone call (incoming)")
    'phone_call_incoming'
    """
    out = []
    for char in value.strip().lower():
        out.append(char if char.isalnum() else "_")
    return "_".join(filter(None, "".join(out).split("_")))


_INTEGER: Final = r"^(0|-?[1-9]\d{0,17})$"


def integer_ids(frame: pl.DataFrame, names: Sequence[str]) -> pl.DataFrame:
    """Cast the text id columns whose values are all integers to Int64 (ids stay ids).

    Examples
    --------
    >>> import polars as pl
    >>> integer_ids(pl.DataFrame({"a": ["7", None], "b": ["7", "x"]}), ["a", "b"]).dtypes
    [Int64, String]
    """
    casts = []
    for name in names:
        values = frame.get_column(name).drop_nulls()
        if values.len() and values.str.contains(_INTEGER).all():
            casts.append(pl.col(name).cast(pl.Int64))
    return frame.with_columns(casts) if casts else frame
