"""Lookup tables of business time over a span, and the Polars expressions that read them.

Private to :mod:`csmetrics.calendar`. Everything per calendar is computed once in Python
(a few thousand days at most), never per row; rows are then answered by gathers into the
tables, so a business duration costs a handful of integer gathers per time stamp.

Units: integer microseconds since the Unix epoch in UTC ("µs") for instants and lengths;
integer seconds for wall-clock arithmetic while building.

Tables
------
*Open pieces*: the disjoint UTC intervals ``[open, close)`` during which the calendar is open,
merged when they touch. ``C(t)`` is the open time between the table origin and ``t``.

*Buckets* (durations): the span is cut into buckets of ``width`` µs (an hour unless the
calendar is too fine for it). Per bucket: ``C`` at its start and up to ``J`` open pieces
clipped to it, as (offset from bucket start, length). Then
``C(t) = CQ[q] + Σ_j clip(r - O_j[q], 0, L_j[q])`` with ``q`` the bucket and ``r`` the offset
in it: ``1 + 2J`` gathers by an index computed by arithmetic alone.

*Closes* (deadlines in business time): per piece ``C`` at its close and ``close - C(close)``;
the first piece whose ``C(close) ≥ X`` holds the instant where ``C`` reaches ``X``.

*Days* (deadlines in business days): the instants where the wall-clock date changes, and per
change the index of the first business day after that date; per business day the close of
its last interval.

Several calendars (per-row calendars through a key) share one set of tables: block ``k`` is
shifted by ``k`` times a stride larger than anything in a block, so one search or gather
answers every row.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import itertools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Final

import attrs
import polars as pl

from csmetrics.exceptions import PolicyError

if TYPE_CHECKING:
    from csmetrics.calendar import BusinessCalendar

US: Final = 1_000_000
DAY_S: Final = 86_400
EPOCH_ORDINAL: Final = dt.date(1970, 1, 1).toordinal()
_PROBE_S: Final = 6 * 3600
"""Offsets are probed every 6 hours, then each change is bisected to the second (time zone
transitions are months apart in every zone of the tz database since 1970)."""
_WIDTHS_S: Final = (3600, 900, 300, 60)
_MAX_PIECES_PER_BUCKET: Final = 2
_MAX_SPAN_DAYS: Final = 200 * 366
_DATE_MIN: Final = dt.date(1, 1, 3).toordinal()
_DATE_MAX: Final = dt.date(9999, 12, 29).toordinal()


# --------------------------------------------------------------------------- time zones


def _offset_s(tz: dt.tzinfo, utc_s: int) -> int:
    offset = dt.datetime.fromtimestamp(utc_s, tz).utcoffset()
    return 0 if offset is None else int(offset.total_seconds())


@functools.lru_cache(maxsize=256)
def offset_segments(tz_key: str, lo_s: int, hi_s: int) -> tuple[tuple[int, int], ...]:
    """``((start_s, offset_s), …)``: the zone's UTC offset, constant from each start on.

    The first segment stands for everything before ``lo_s`` too, the last for everything
    after ``hi_s``.
    """
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(tz_key)
    current = _offset_s(tz, lo_s)
    segments = [(lo_s, current)]
    s = lo_s
    while s < hi_s:
        nxt = min(s + _PROBE_S, hi_s)
        offset = _offset_s(tz, nxt)
        if offset != current:
            lo, hi = s, nxt  # offset(lo) == current != offset(hi)
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _offset_s(tz, mid) == current:
                    lo = mid
                else:
                    hi = mid
            current = _offset_s(tz, hi)
            segments.append((hi, current))
            if current != offset:  # a second change inside the probe step: catch it next
                nxt = hi
        s = nxt
    return tuple(segments)


def wall_date(tz_key: str, utc_us: int) -> dt.date:
    """The local date the office clock shows at ``utc_us``."""
    from zoneinfo import ZoneInfo

    return dt.datetime.fromtimestamp(utc_us // US, ZoneInfo(tz_key)).date()


# --------------------------------------------------------------------------- open pieces


@attrs.frozen
class DayPieces:
    """The open UTC pieces of one calendar over a range of local dates."""

    pieces: tuple[tuple[int, int], ...]
    """Merged, sorted, disjoint ``(open_us, close_us)``."""
    day_close: tuple[tuple[int, int], ...]
    """``(date_ordinal, last_close_us)`` for each business day, sorted."""
    segments: tuple[tuple[int, int], ...]
    """The zone's offset segments over the range (see :func:`offset_segments`)."""


def _wall_midnight_s(ordinal: int) -> int:
    return (ordinal - EPOCH_ORDINAL) * DAY_S


@functools.lru_cache(maxsize=64)
def day_pieces(calendar: BusinessCalendar, first: int, last: int) -> DayPieces:
    """Open pieces of the intervals belonging to local dates ``first``…``last`` (ordinals).

    An interval ``[W0, W1)`` of wall-clock time is the set of instants whose wall clock
    reads inside it: on each offset segment ``[S, S')`` with offset ``o`` that is
    ``[W0 - o, W1 - o) ∩ [S, S')``. Wall times skipped by a spring-forward transition give
    nothing; wall times repeated by a fall-back transition give two pieces.
    """
    segments = offset_segments(
        calendar.timezone,
        _wall_midnight_s(first) - 2 * DAY_S,
        _wall_midnight_s(last + 3) + 2 * DAY_S,
    )
    starts = [s for s, _ in segments]
    raw: list[tuple[int, int]] = []
    day_close: list[tuple[int, int]] = []
    for ordinal in range(first, last + 1):
        midnight = _wall_midnight_s(ordinal)
        latest = None
        for start_min, end_min in calendar.intervals_on(dt.date.fromordinal(ordinal)):
            w0 = midnight + start_min * 60
            w1 = midnight + end_min * 60
            k = max(bisect.bisect_right(starts, w0 - 2 * DAY_S) - 1, 0)
            while k < len(segments) and segments[k][0] < w1 + 2 * DAY_S:
                seg_start, offset = segments[k]
                seg_end = segments[k + 1][0] if k + 1 < len(segments) else None
                lo = w0 - offset if k == 0 else max(w0 - offset, seg_start)
                hi = w1 - offset if seg_end is None else min(w1 - offset, seg_end)
                if lo < hi:
                    raw.append((lo * US, hi * US))
                    latest = hi * US if latest is None else max(latest, hi * US)
                k += 1
        if latest is not None:
            day_close.append((ordinal, latest))
    raw.sort()
    merged: list[tuple[int, int]] = []
    for lo, hi in raw:
        if merged and lo <= merged[-1][1]:
            if hi > merged[-1][1]:
                merged[-1] = (merged[-1][0], hi)
        else:
            merged.append((lo, hi))
    return DayPieces(tuple(merged), tuple(day_close), segments)


def date_range_for(tz_key: str, lo_us: int, hi_us: int, *, after_days: int = 2) -> tuple[int, int]:
    """Local date ordinals whose intervals can touch instants in ``[lo_us, hi_us]``."""

    try:
        first = wall_date(tz_key, lo_us).toordinal() - 2
        last = wall_date(tz_key, hi_us).toordinal() + after_days
    except (OverflowError, ValueError, OSError):
        raise PolicyError(
            f"time stamps from {lo_us} to {hi_us} µs since 1970 are outside the years 1–9999 "
            "that business time can be computed for; filter them out first"
        ) from None
    if last - first > _MAX_SPAN_DAYS:
        raise PolicyError(
            f"the time stamps span {last - first} days (from "
            f"{dt.date.fromordinal(first)} to {dt.date.fromordinal(last)}); business time is "
            f"tabulated over at most {_MAX_SPAN_DAYS} days. Filter out time stamps far in the "
            "past or future (often placeholders such as 1900-01-01) or pass span=."
        )
    return max(first, _DATE_MIN), min(last, _DATE_MAX)


# --------------------------------------------------------------------------- tables


@attrs.frozen(eq=False)
class Tables:
    """Lookup tables of one or several calendars over one span (see the module docstring)."""

    origin: int
    """µs; bucket 0 starts here and ``C(origin) = 0`` in every block."""
    hi: int
    """µs; the last instant the tables answer for (inclusive): the span's end rounded up to
    a whole bucket."""
    width: int
    """Bucket width in µs."""
    n_buckets: int
    cq: pl.Series
    offsets: tuple[pl.Series, ...]
    lengths: tuple[pl.Series, ...]
    close_cum: pl.Series
    """Per piece, ``C(close) + k·stride``, with a sentinel closing each block."""
    close_shift: pl.Series
    """Per piece, ``close - C(close)``; null for the sentinels."""
    cum_stride: int
    day_change: pl.Series
    """Instants (µs, ``- origin + k·stride``) where the wall date changes; a sentinel first."""
    day_next: pl.Series
    """Per change, the global index (in ``day_last_close``) of the first business day after it."""
    day_last_close: pl.Series
    """Per business day, the close of its last interval (µs); null for the block sentinels."""
    day_block_end: pl.Series
    """Per block, the index of its sentinel in ``day_last_close``."""
    time_stride: int


def _buckets(
    pieces: Sequence[tuple[int, int]], origin: int, width: int, n_buckets: int
) -> tuple[list[int], dict[int, list[tuple[int, int]]]]:
    """``C`` at each bucket's start, and the clipped pieces ``(offset, length)`` per bucket."""
    inside: dict[int, list[tuple[int, int]]] = {}
    totals = [0] * n_buckets
    for lo, hi in pieces:
        q0 = (lo - origin) // width
        q1 = (hi - 1 - origin) // width
        for q in range(q0, q1 + 1):
            start = origin + q * width
            a = lo if lo > start else start
            b = hi if hi < start + width else start + width
            inside.setdefault(q, []).append((a - start, b - a))
            totals[q] += b - a
    cq = [0, *itertools.accumulate(totals)][:n_buckets]
    return cq, inside


def _clip(pieces: Sequence[tuple[int, int]], lo: int, hi: int) -> list[tuple[int, int]]:
    return [(max(a, lo), min(b, hi)) for a, b in pieces if b > lo and a < hi]


@functools.lru_cache(maxsize=64)
def build_tables(
    calendars: tuple[BusinessCalendar, ...], lo_us: int, hi_us: int, after_days: int = 2
) -> Tables:
    """Tables answering instants in ``[lo_us, hi_us]`` for each calendar (block ``k``)."""
    hi_us = max(hi_us, lo_us)
    per_calendar = []
    for calendar in calendars:
        first, last = date_range_for(calendar.timezone, lo_us, hi_us, after_days=after_days)
        per_calendar.append(day_pieces(calendar, first, last))

    # Bucket width: the widest with at most two pieces in any bucket (an hour for most).
    origin = lo_us - lo_us % (_WIDTHS_S[0] * US)
    best: tuple[int, int, int, list[tuple[list[int], dict[int, list[tuple[int, int]]]]]] | None
    best = None
    for width_s in _WIDTHS_S:
        width = width_s * US
        n_buckets = (hi_us - origin) // width + 1
        end = origin + n_buckets * width  # answers [origin, end): whole buckets
        clipped = [_clip(p.pieces, origin, end) for p in per_calendar]
        built = [_buckets(pieces, origin, width, n_buckets) for pieces in clipped]
        n_max = max((len(v) for _, inside in built for v in inside.values()), default=0)
        if best is None or n_max < best[2]:
            best = (width, n_buckets, n_max, built)
        if n_max <= _MAX_PIECES_PER_BUCKET:
            break
    assert best is not None
    width, n_buckets, n_pieces, built = best
    hi_us = origin + n_buckets * width - 1
    clipped = [_clip(p.pieces, origin, hi_us + 1) for p in per_calendar]
    n_pieces = max(n_pieces, 1)
    stride = n_buckets + 1  # a pad bucket with a null C closes each block
    cq: list[int | None] = []
    offsets = [[0] * (stride * len(built)) for _ in range(n_pieces)]
    lengths = [[0] * (stride * len(built)) for _ in range(n_pieces)]
    for k, (block_cq, inside) in enumerate(built):
        cq.extend(block_cq)
        cq.append(None)
        for q, bucket in inside.items():
            for j, (o, length) in enumerate(bucket):
                offsets[j][k * stride + q] = o
                lengths[j][k * stride + q] = length

    # Closes: C at each piece's close; stride larger than any C of a block.
    cum_stride = hi_us - origin + 2
    close_cum: list[int] = []
    close_shift: list[int | None] = []
    for k, pieces in enumerate(clipped):
        acc = 0
        for lo, hi in pieces:
            acc += hi - lo
            close_cum.append(acc + k * cum_stride)
            close_shift.append(hi - acc)
        close_cum.append(k * cum_stride + cum_stride - 1)
        close_shift.append(None)

    # Days: wall-date changes and business days.
    time_stride = hi_us - origin + 4 * DAY_S * US + 2
    day_change: list[int] = []
    day_next: list[int] = []
    day_last_close: list[int | None] = []
    day_block_end: list[int] = []
    for k, (calendar, day) in enumerate(zip(calendars, per_calendar, strict=True)):
        base = len(day_last_close)
        business = list(itertools.takewhile(lambda dc: dc[1] <= hi_us, day.day_close))
        business_days = [d for d, _ in business]
        day_last_close.extend(c for _, c in business)
        day_last_close.append(None)
        day_block_end.append(len(day_last_close) - 1)
        changes = _date_changes(calendar.timezone, day.segments, lo_us, hi_us)
        # A sentinel change before everything keeps search results inside the block.
        day_change.append(k * time_stride - 1)
        day_next.append(len(day_last_close) - 1)
        for at, ordinal in changes:
            day_change.append(max(at - origin, 0) + k * time_stride)
            day_next.append(base + bisect.bisect_right(business_days, ordinal))

    return Tables(
        origin=origin,
        hi=hi_us,
        width=width,
        n_buckets=n_buckets,
        cq=pl.Series("cq", cq, dtype=pl.Int64),
        offsets=tuple(pl.Series(f"o{j}", v, dtype=pl.Int64) for j, v in enumerate(offsets)),
        lengths=tuple(pl.Series(f"l{j}", v, dtype=pl.Int64) for j, v in enumerate(lengths)),
        close_cum=pl.Series("close_cum", close_cum, dtype=pl.Int64),
        close_shift=pl.Series("close_shift", close_shift, dtype=pl.Int64),
        cum_stride=cum_stride,
        day_change=pl.Series("day_change", day_change, dtype=pl.Int64),
        day_next=pl.Series("day_next", day_next, dtype=pl.Int64),
        day_last_close=pl.Series("day_last_close", day_last_close, dtype=pl.Int64),
        day_block_end=pl.Series("day_block_end", day_block_end, dtype=pl.Int64),
        time_stride=time_stride,
    )


def _date_changes(
    tz_key: str, segments: Sequence[tuple[int, int]], lo_us: int, hi_us: int
) -> list[tuple[int, int]]:
    """``(utc_us, date_ordinal)``: from each instant on, the wall clock shows that date.

    The first entry is at or before ``lo_us``; the dates are not monotonic where a zone falls
    back across midnight.
    """
    lo_s = lo_us // US - DAY_S
    hi_s = hi_us // US + DAY_S
    out: list[tuple[int, int]] = []
    for k, (seg_start, offset) in enumerate(segments):
        seg_end = segments[k + 1][0] if k + 1 < len(segments) else None
        a = lo_s if k == 0 else max(seg_start, lo_s)
        b = hi_s if seg_end is None else min(seg_end, hi_s)
        if a >= b:
            continue
        ordinal = (a + offset) // DAY_S + EPOCH_ORDINAL
        out.append((a * US, ordinal))
        next_midnight = _wall_midnight_s(ordinal + 1) - offset
        while next_midnight < b:
            ordinal += 1
            out.append((next_midnight * US, ordinal))
            next_midnight += DAY_S
    out.sort()
    return out


# --------------------------------------------------------------------------- expressions


def epoch_us(expr: pl.Expr) -> pl.Expr:
    """Microseconds since the epoch (UTC) of a Datetime expression of any unit."""
    return expr.dt.epoch("us")


def bucket(t_us: pl.Expr, block: pl.Expr | None, tables: Tables) -> pl.Expr:
    """The bucket of ``t`` in block ``block``: the pad bucket (null ``C``) past ``hi``, null
    before ``origin``."""
    q = ((t_us - tables.origin) // tables.width).clip(upper_bound=tables.n_buckets)
    q = q.cast(pl.UInt32, strict=False)  # negative (before the span): null
    if block is not None:
        q = q + block * (tables.n_buckets + 1)
    return q


def cumulative_from(
    rel_us: pl.Expr, q: pl.Expr | str, tables: Tables, *, gathered: bool = False
) -> pl.Expr:
    """``C(t)`` from ``rel = t - origin`` and the bucket ``q`` (null outside the tables)."""
    index = pl.col(q) if isinstance(q, str) else q
    r = rel_us % tables.width
    total = pl.lit(tables.cq).gather(index)
    for o, length in zip(tables.offsets, tables.lengths, strict=True):
        inside_piece = (r - pl.lit(o).gather(index)).clip(lower_bound=0)
        total = total + pl.min_horizontal(inside_piece, pl.lit(length).gather(index))
    return total


def cumulative(t_us: pl.Expr, block: pl.Expr | None, tables: Tables) -> pl.Expr:
    """``C(t)`` in block ``block``: null outside ``[origin, hi]`` or where ``block`` is null."""
    return cumulative_from(t_us - tables.origin, bucket(t_us, block, tables), tables)


def inside(t_us: pl.Expr, tables: Tables) -> pl.Expr:
    return t_us.is_between(tables.origin, tables.hi)


def duration_us(
    start_us: pl.Expr, end_us: pl.Expr, block: pl.Expr | None, tables: Tables
) -> pl.Expr:
    return cumulative(end_us, block, tables) - cumulative(start_us, block, tables)


def deadline_time_us(
    start_us: pl.Expr, amount_us: pl.Expr, block: pl.Expr | None, tables: Tables
) -> pl.Expr:
    """The earliest instant at which ``amount_us`` of business time has elapsed."""
    target = cumulative(start_us, block, tables) + amount_us
    clamped = target.clip(upper_bound=tables.cum_stride - 1)
    if block is not None:
        clamped = clamped + block * tables.cum_stride
    j = pl.lit(tables.close_cum).search_sorted(clamped, side="left")
    end = target + pl.lit(tables.close_shift).gather(j, null_on_oob=True)
    ok = inside(start_us, tables) & (amount_us >= 0)
    if block is not None:
        ok = ok & block.is_not_null()
    return (
        pl.when(ok & (amount_us == 0))
        .then(start_us)
        .when(ok)
        .then(pl.when(end <= tables.hi).then(end))
    )


def deadline_days_us(
    start_us: pl.Expr, n_days: pl.Expr, block: pl.Expr | None, tables: Tables
) -> pl.Expr:
    """The close of the last interval of the ``n_days``-th business day after the start's date."""
    rel = start_us - tables.origin
    if block is not None:
        rel = rel + block * tables.time_stride
    change = pl.lit(tables.day_change).search_sorted(rel, side="right") - 1
    first = pl.lit(tables.day_next).gather(change)
    index = first + n_days.cast(pl.Int64) - 1
    block_end = (
        pl.lit(tables.day_block_end).gather(block)
        if block is not None
        else pl.lit(tables.day_block_end.item(0))
    )
    end = pl.lit(tables.day_last_close).gather(pl.min_horizontal(index, block_end))
    ok = inside(start_us, tables) & (n_days >= 0)
    if block is not None:
        ok = ok & block.is_not_null()
    return pl.when(ok & (n_days == 0)).then(start_us).when(ok).then(end)


def with_durations(
    frame: pl.LazyFrame,
    pairs: Mapping[str, tuple[str, str]],
    block: pl.Expr | None,
    tables: Tables,
) -> pl.LazyFrame:
    """Add ``Duration("us")`` columns ``{out: (start, end)}``, staged.

    ``C(t)`` is computed once per distinct time stamp column, in steps of ``with_columns``:
    Polars does not share sub-expressions that hold literal tables, so a single expression
    per pair would repeat the gathers.
    """
    columns = sorted({c for pair in pairs.values() for c in pair})
    temp = {name: f"__csmetrics_business_{i}" for i, name in enumerate(columns)}
    staged = frame.with_columns(
        pl.col(name).dt.epoch("us").alias(f"{t}_us") for name, t in temp.items()
    ).with_columns(bucket(pl.col(f"{t}_us"), block, tables).alias(f"{t}_q") for t in temp.values())
    staged = staged.with_columns(
        cumulative_from(pl.col(f"{t}_us") - tables.origin, f"{t}_q", tables).alias(t)
        for t in temp.values()
    )
    staged = staged.with_columns(
        (pl.col(temp[end]) - pl.col(temp[start])).cast(pl.Duration("us")).alias(out)
        for out, (start, end) in pairs.items()
    )
    return staged.drop([*temp.values(), *(f"{t}_{x}" for t in temp.values() for x in ("us", "q"))])
