"""Bounds on hostile input, checked on the raw bytes before a parser builds anything from them.

A JSON document nested hundreds of levels deep costs gigabytes in schema inference, and one
XML attribute of many megabytes costs minutes in the XES reader. Both are refused here, with
the file named, before the parser sees the bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import accumulate
from typing import Final

from csmetrics.exceptions import SchemaError

__all__ = ["MAX_JSON_DEPTH", "MAX_TOKEN_BYTES", "LimitedReader", "check_json_depth", "json_depth"]

MAX_JSON_DEPTH: Final = 64
"""Deepest nesting of JSON arrays and objects read (an event record needs 3 or 4 levels)."""
MAX_TOKEN_BYTES: Final = 1 << 20
"""Longest XML attribute value or text run read (1 MiB)."""

_STRING: Final = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS: Final = bytes(b for b in range(256) if b not in b"[]{}")
_STEP: Final = [1 if b in b"[{" else -1 for b in range(256)]


def json_depth(data: bytes) -> int:
    """The deepest nesting of arrays and objects in JSON text (brackets in strings ignored).

    Examples
    --------
    >>> json_depth(b'{"a": [1, {"b": "[[["}]}')
    3
    """
    brackets = _STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def check_json_depth(data: bytes, source: str, *, limit: int = MAX_JSON_DEPTH) -> None:
    """Raise a :class:`~csmetrics.SchemaError` if ``data`` nests deeper than ``limit``."""
    depth = json_depth(data)
    if depth > limit:
        raise SchemaError(
            f"bad_type: cannot read {source}: JSON nested {depth} levels deep, more than the "
            f"{limit} csmetrics reads (an event record needs 3 or 4); fix: flatten the "
            "records, or check the file is the export you meant (deep nesting is a common "
            "denial-of-service input).",
            reason="bad_type",
        )


class LimitedReader:
    """A binary reader that refuses any run of more than ``limit`` bytes without a ``<``.

    In XML an attribute value cannot hold a raw ``<``, so such a run is one attribute value or
    one text node longer than ``limit``; it is refused before the parser buffers it.
    """

    def __init__(self, raw: object, limit: int, on_too_long: Callable[[int], Exception]) -> None:
        self._raw = raw
        self._limit = limit
        self._on_too_long = on_too_long
        self._run = 0  # bytes since the last "<"
        self._offset = 0
        self._long = re.compile(rb"[^<]{%d}" % (limit + 1))

    def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes, checking the run length."""
        data: bytes = self._raw.read(size)  # type: ignore[attr-defined]  # any binary reader
        first = data.find(b"<")
        if first < 0:
            self._run += len(data)
        else:
            if self._run + first > self._limit or self._long.search(data, first):
                raise self._on_too_long(self._offset)
            self._run = len(data) - data.rfind(b"<") - 1
        if self._run > self._limit:
            raise self._on_too_long(self._offset)
        self._offset += len(data)
        return data
