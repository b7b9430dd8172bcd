"""Hypothesis strategies for the whole pipeline: dirty logs, partitions, fuzz inputs.

Builds on :mod:`tests.strategies` (canonical event logs), adding:

- :func:`dirty_logs`: a canonical log plus injected bad rows, one per rule of DESIGN §2.3,
  as a raw frame (text time stamps and vocabularies) with the reason each bad row must get;
- :func:`partitions`: a split of row numbers into several parts (files);
- :func:`mixed_frames`: frames with the required column names and random dtypes and values;
- :func:`json_values`, :func:`csv_texts`, :func:`mutated_json`, :func:`mutated_csv`: fuzz input.

Examples
--------
>>> ts = dt.datetime(2024, 3, 1, 9, 0, tzinfo=dt.UTC)
>>> raw = to_raw(to_frame([{"event_id": 1, "case_id": 1, "customer_id": 1, "channel": "email",
...     "ts": ts, "event_type": "message", "actor": "customer"}]))
>>> raw["ts"].to_list(), raw.schema["event_type"]
(['2024-03-01T09:00:00.000000Z'], String)
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
from collections.abc import Callable
from typing import Any

import polars as pl
from hypothesis import strategies as st
from tests.strategies import event_logs, to_frame

__all__ = [
    "CORRUPTIONS",
    "FUZZ_TEXT",
    "REQUIRED",
    "csv_texts",
    "dirty_logs",
    "json_values",
    "mixed_frames",
    "mutated_csv",
    "mutated_json",
    "ndjson_text",
    "partitions",
    "to_raw",
]

REQUIRED = ("case_id", "customer_id", "channel", "ts", "event_type", "actor")

Row = dict[str, Any]


def _set(**values: Any) -> Callable[[Row], Row]:
    def apply(row: Row) -> Row:
        return {**row, **values}

    return apply


# name -> (how a copy of a good row is broken, the reason it must get). Each broken copy gets
# a fresh event_id, except "repeat" (an exact copy: the second copy is the duplicate).
CORRUPTIONS: dict[str, tuple[Callable[[Row], Row], str]] = {
    "bad_ts": (_set(ts="soon"), "bad_type"),
    "negative_handle_seconds": (_set(handle_seconds=-5.0), "bad_type"),
    "null_case": (_set(case_id=None), "null_key"),
    "blank_channel": (_set(channel="   "), "null_key"),
    "null_actor": (_set(actor=None), "null_key"),
    "teleport": (_set(event_type="teleport"), "unknown_event_type"),
    "robot": (_set(actor="robot"), "unknown_actor"),
    "no_status": (_set(event_type="status_changed", status=None), "missing_status"),
    "odd_status": (_set(status="meh"), "unknown_status"),
    "minus_comp": (_set(event_type="comp_granted", comp_amount=-1.0), "bad_comp_amount"),
    "nan_comp": (_set(event_type="comp_granted", comp_amount=float("nan")), "bad_comp_amount"),
    "csat_9": (_set(event_type="csat", csat_score=9.0), "bad_csat_score"),
    "huge_comp": (_set(event_type="comp_granted", comp_amount=9.3e12), "value_out_of_range"),
    "merge_nowhere": (_set(event_type="merged", merged_into=None), "missing_merge_target"),
    "in_1970": (_set(ts="1970-01-01T00:00:00Z"), "ts_out_of_range"),
    "in_2999": (_set(ts="2999-01-01T00:00:00Z"), "ts_out_of_range"),
    "repeat": (lambda row: dict(row), "duplicate_event"),
}


def to_raw(frame: pl.DataFrame) -> pl.DataFrame:
    """A canonical frame as a source would deliver it: ISO text time stamps, text vocabularies."""
    return frame.with_columns(
        pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"),
        pl.col("event_type", "actor", "status").cast(pl.String),
    )


@st.composite
def dirty_logs(
    draw: st.DrawFn, max_cases: int = 5, max_bad: int = 8
) -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
    """``(clean, raw, reasons)``: a canonical log, the same rows plus broken copies as a raw
    frame in shuffled row order, and the reasons of the broken rows (any order).

    Validating ``raw`` must give exactly ``clean`` as the good rows.
    """
    events = draw(event_logs(max_cases=max_cases), label="events")
    clean = to_frame(events)
    raw = to_raw(clean)
    rows = raw.to_dicts()
    kinds = draw(st.lists(st.sampled_from(sorted(CORRUPTIONS)), max_size=max_bad), label="bad")
    string_ids = raw.schema["event_id"] == pl.String
    bad: list[Row] = []
    reasons: list[str] = []
    for i, kind in enumerate(kinds):
        source = rows[draw(st.integers(0, len(rows) - 1))]
        corrupt, reason = CORRUPTIONS[kind]
        row = corrupt(source)
        if kind != "repeat":
            row["event_id"] = f"x{i:03d}" if string_ids else 10_000 + i
        bad.append(row)
        reasons.append(reason)
    dirty = pl.concat([raw, pl.DataFrame(bad, schema=raw.schema)]) if bad else raw
    order = draw(st.permutations(range(dirty.height)), label="row order")
    return clean, dirty[order], reasons


def partitions(n_rows: int, max_parts: int = 4) -> st.SearchStrategy[list[list[int]]]:
    """Row numbers ``0..n_rows-1`` split into 1 to ``max_parts`` non-empty parts, any order."""

    @st.composite
    def split(draw: st.DrawFn) -> list[list[int]]:
        order = draw(st.permutations(range(n_rows)))
        k = draw(st.integers(1, max(1, min(max_parts, n_rows))))
        cuts: list[int] = []
        if k > 1:
            cuts = sorted(draw(st.sets(st.integers(1, n_rows - 1), min_size=k - 1, max_size=k - 1)))
        bounds = [0, *cuts, n_rows]
        return [list(order[a:b]) for a, b in itertools.pairwise(bounds)]

    return split()


# -- fuzz input ---------------------------------------------------------------------------------

_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
_WORDS = st.sampled_from(
    (
        "",
        " ",
        "?",
        "null",
        "NaN",
        "inf",
        "-1",
        "0",
        "1.5",
        "9" * 25,
        "true",
        "2024-03-01T09:00:00Z",
        "2024-03-01 09:00",
        "2024-02-30T25:61:00+14:00",
        "29/2/2016 01:16",
        "Tue Oct 31 22:10:00 +0000 2017",
        "1709283600",
        "message",
        "status_changed",
        "customer",
        "agent",
        "solved",
        "comp_granted",
        "csat",
        "merged",
        "email",
        "\x00",
        "é",
        '"',
        ",",
        ";",
        "\n",
    )
)
FUZZ_TEXT = st.one_of(_WORDS, _TEXT)
"""Short strings: plausible tokens of event logs and arbitrary text."""

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    FUZZ_TEXT,
)


def json_values(max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Any JSON value (finite floats), small."""
    return st.recursive(
        _SCALARS,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(FUZZ_TEXT, inner, max_size=4)
        ),
        max_leaves=max_leaves,
    )


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a JSON value (dict keys and list indices)."""
    out = [prefix]
    if isinstance(value, dict):
        for key, inner in value.items():
            out += _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            out += _paths(inner, (*prefix, i))
    return out


def _replace(value: Any, path: tuple[Any, ...], new: Any, delete: bool) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        copy = dict(value)
        if delete and not rest:
            copy.pop(head, None)
        else:
            copy[head] = _replace(value[head], rest, new, delete)
        return copy
    copy_list = list(value)
    if delete and not rest:
        del copy_list[head]
    else:
        copy_list[head] = _replace(value[head], rest, new, delete)
    return copy_list


@st.composite
def mutated_json(draw: st.DrawFn, seed: Any, max_mutations: int = 4) -> Any:
    """``seed`` (a parsed JSON document) with a few values replaced by random JSON or deleted."""
    doc = seed
    for _ in range(draw(st.integers(1, max_mutations))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths[1:] if len(paths) > 1 else paths))
        delete = bool(path) and draw(st.integers(0, 3)) == 0
        doc = _replace(doc, path, draw(json_values(6)), delete)
    return doc


def _csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


@st.composite
def mutated_csv(draw: st.DrawFn, seed: str, max_mutations: int = 6) -> str:
    """The CSV text ``seed`` with cells replaced, rows duplicated or dropped, a column dropped."""
    rows = [list(r) for r in csv.reader(io.StringIO(seed))]
    for _ in range(draw(st.integers(1, max_mutations))):
        action = draw(st.sampled_from(("cell", "cell", "cell", "dup", "drop", "column")))
        r = draw(st.integers(0, len(rows) - 1)) if rows else 0
        if action == "cell" and rows and rows[r]:
            c = draw(st.integers(0, len(rows[r]) - 1))
            rows[r][c] = draw(FUZZ_TEXT)
        elif action == "dup" and rows:
            rows.insert(r, list(rows[r]))
        elif action == "drop" and len(rows) > 1:
            del rows[max(r, 1)]
        elif action == "column" and rows and len(rows[0]) > 1:
            c = draw(st.integers(0, len(rows[0]) - 1))
            rows = [row[:c] + row[c + 1 :] for row in rows]
    return _csv(rows)


@st.composite
def csv_texts(draw: st.DrawFn, header: tuple[str, ...] = REQUIRED) -> str:
    """CSV text whose header holds (most of) ``header`` and whose cells are fuzz text."""
    names = list(header)
    if draw(st.booleans()):
        names = draw(st.permutations(names))
    if draw(st.integers(0, 4)) == 0 and names:
        names.pop(draw(st.integers(0, len(names) - 1)))
    extra = draw(st.lists(FUZZ_TEXT.filter(lambda s: s not in names), max_size=2, unique=True))
    names += extra
    width = len(names)
    rows = draw(st.lists(st.lists(FUZZ_TEXT, min_size=width, max_size=width), max_size=6))
    return _csv([names, *rows])


def ndjson_text(records: list[Any]) -> str:
    """One JSON value per line."""
    return "".join(json.dumps(r) + "\n" for r in records)


# -- frames of mixed dtypes ---------------------------------------------------------------------

_AWARE = st.datetimes(
    min_value=dt.datetime(1900, 1, 1),
    max_value=dt.datetime(2100, 1, 1),
    timezones=st.sampled_from((dt.UTC, dt.timezone(dt.timedelta(hours=5, minutes=30)))),
)
_NAIVE = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2100, 1, 1))


def _column(n: int) -> st.SearchStrategy[pl.Series]:
    """A column of ``n`` values of one randomly chosen dtype (nulls allowed)."""

    def of(values: st.SearchStrategy[Any], dtype: Any) -> st.SearchStrategy[pl.Series]:
        items = st.lists(st.one_of(st.none(), values), min_size=n, max_size=n)
        return items.map(lambda xs: pl.Series("x", xs, dtype=dtype, strict=False))

    return st.one_of(
        of(st.integers(-(2**63), 2**63 - 1), pl.Int64),
        of(st.integers(0, 255), pl.UInt8),
        of(st.floats(), pl.Float64),
        of(st.floats(width=32), pl.Float32),
        of(FUZZ_TEXT, pl.String),
        of(FUZZ_TEXT, pl.Categorical),
        of(st.booleans(), pl.Boolean),
        of(_AWARE, pl.Datetime("us", "UTC")),
        of(_NAIVE, pl.Datetime("ms")),
        of(_NAIVE.map(lambda d: d.date()), pl.Date),
        of(st.timedeltas(dt.timedelta(days=-999), dt.timedelta(days=999)), pl.Duration("us")),
        of(st.lists(st.integers(-5, 5), max_size=3), pl.List(pl.Int64)),
        of(st.binary(max_size=6), pl.Binary),
        st.just(pl.Series("x", [None] * n, dtype=pl.Null)),
    )


@st.composite
def mixed_frames(draw: st.DrawFn, max_rows: int = 6) -> pl.DataFrame:
    """A frame with the required columns (sometimes one missing) and canonical and other
    optional columns, each of a random dtype with random values."""
    n = draw(st.integers(0, max_rows))
    optional = ("event_id", "status", "is_public", "comp_amount", "csat_score", "merged_into",
                "handle_seconds", "topic", "extra")  # fmt: skip
    names = list(REQUIRED)
    if draw(st.integers(0, 5)) == 0:
        names.pop(draw(st.integers(0, len(names) - 1)))
    names += draw(st.lists(st.sampled_from(optional), max_size=4, unique=True))
    columns = [draw(_column(n)).alias(name) for name in names]
    return pl.DataFrame(columns)
