"""Agent occupancy: where each agent's messages and handle time went, by channel and hour.

"Who was pulled onto social during the surge?" is one call: :func:`pulled_onto` compares,
for every agent, the share of a channel's cases the agent answered during a time window
with the same hours on comparable days (by default a week before and after).
:func:`agent_occupancy` is the table behind it: per agent, time bucket and channel, the
agent's messages and handle time, and their share of the agent's own total in that bucket.

An agent's *message* is a ``message`` event with ``actor = agent`` and an ``agent_id``;
handle time is the ``handle_seconds`` of the agent's events (DESIGN §2.1).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Final

import polars as pl

from csmetrics._analysis import OnInvalid, analysis_events
from csmetrics.exceptions import PolicyError
from csmetrics.journeys import Window, parse_window
from csmetrics.log import EventLog
from csmetrics.policy import Policy

__all__ = ["OCCUPANCY_COLUMNS", "PULLED_COLUMNS", "agent_occupancy", "pulled_onto"]

OCCUPANCY_COLUMNS: Final[tuple[str, ...]] = (
    "agent_id",
    "bucket_start",
    "channel",
    "n_messages",
    "handle_seconds",
    "message_share",
    "handle_share",
)
"""Columns of :func:`agent_occupancy`."""

PULLED_COLUMNS: Final[tuple[str, ...]] = (
    "agent_id",
    "n_cases",
    "case_share",
    "ci_low",
    "ci_high",
    "baseline_n_cases",
    "baseline_case_share",
    "change",
    "own_share",
    "baseline_own_share",
    "n_channel_cases",
    "n_baseline_channel_cases",
)
"""Columns of :func:`pulled_onto`."""

_UTC: Final = pl.Datetime("us", "UTC")


def _agent_rows(log: EventLog | object, policy: Policy, on_invalid: OnInvalid) -> pl.LazyFrame:
    col = pl.col
    return (
        analysis_events(log, policy, on_invalid)
        .filter(col("agent_id").is_not_null() & (col("actor") == "agent"))
        .select(
            "agent_id",
            "case_id",
            "channel",
            "ts",
            (col("event_type") == "message").alias("_is_message"),
            col("handle_seconds").fill_null(0.0),
        )
    )


def agent_occupancy(
    log: EventLog | object,
    *,
    freq: Window = "1h",
    policy: Policy | None = None,
    on_invalid: OnInvalid = "raise",
) -> pl.LazyFrame:
    """Each agent's messages and handle time per time bucket and channel, with shares.

    Parameters
    ----------
    log
        An :class:`~csmetrics.EventLog` or anything :meth:`EventLog.from_frame` reads.
    freq
        Bucket length (``"1h"``, ``"30m"``, ``"1d"``), aligned in ``policy.timezone``.
    policy, on_invalid
        ``as_of``, the time zone; invalid events raise or are quarantined.

    Returns
    -------
    pl.LazyFrame
        :data:`OCCUPANCY_COLUMNS`, sorted by agent, bucket and channel: ``n_messages`` (the
        agent's messages on the channel in the bucket), ``handle_seconds`` (on its agent
        events), ``message_share`` and ``handle_share`` (of the agent's total in the bucket;
        null when the total is 0).

    Examples
    --------
    >>> import csmetrics as csm
    >>> log = csm.testing.log_from_rows([
    ...     ("09:05", "message", "agent", {"agent_id": "ann", "handle_seconds": 300.0}),
    ...     ("09:20", "message", "agent", {"agent_id": "ann", "channel": "twitter",
    ...                                    "case_id": 2, "handle_seconds": 150.0}),
    ...     ("09:40", "message", "agent", {"agent_id": "ann", "handle_seconds": 150.0})])
    >>> out = agent_occupancy(log).collect()
    >>> out.select("channel", "n_messages", "message_share", "handle_share").rows()
    [('email', 2, 0.6666666666666666, 0.75), ('twitter', 1, 0.3333333333333333, 0.25)]

    Two of Ann's three messages in the 09:00 hour were emails (450 of her 600 s).
    """
    policy = policy or Policy()
    every = _every(freq)
    col = pl.col
    bucket = col("ts").dt.convert_time_zone(policy.timezone).dt.truncate(every)
    per = (
        _agent_rows(log, policy, on_invalid)
        .group_by("agent_id", bucket.alias("bucket_start"), "channel")
        .agg(
            col("_is_message").sum().cast(pl.UInt32).alias("n_messages"),
            col("handle_seconds").sum(),
        )
    )
    total_messages = col("n_messages").sum().over("agent_id", "bucket_start")
    total_handle = col("handle_seconds").sum().over("agent_id", "bucket_start")
    return (
        per.with_columns(
            pl.when(total_messages > 0)
            .then(col("n_messages") / total_messages)
            .alias("message_share"),
            pl.when(total_handle > 0)
            .then(col("handle_seconds") / total_handle)
            .alias("handle_share"),
        )
        .sort("agent_id", "bucket_start", "channel")
        .select(OCCUPANCY_COLUMNS)
    )


def _every(freq: Window) -> str:
    span = parse_window(freq, name="freq")
    if span < dt.timedelta(minutes=1) or span.total_seconds() % 60:
        raise PolicyError(f"'freq' must be whole minutes, at least one (got {freq!r})")
    return f"{int(span.total_seconds())}s"


def _wilson(k: pl.Expr, n: pl.Expr, z: float) -> tuple[pl.Expr, pl.Expr]:
    n_f = n.cast(pl.Float64)
    p = k.cast(pl.Float64) / n_f
    centre = (p + z * z / (2 * n_f)) / (1 + z * z / n_f)
    half = z * ((p * (1 - p) / n_f + z * z / (4 * n_f * n_f)).sqrt()) / (1 + z * z / n_f)
    # exact at the ends: no case at all gives a lower bound of 0, every case an upper of 1
    low = pl.when(k == 0).then(0.0).otherwise((centre - half).clip(0.0, 1.0))
    high = pl.when(k == n).then(1.0).otherwise((centre + half).clip(0.0, 1.0))
    return low, high


def pulled_onto(
    log: EventLog | object,
    channels: str | Sequence[str],
    start: dt.datetime,
    end: dt.datetime,
    *,
    baseline_days: Sequence[int] = (-7, 7),
    level: float = 0.95,
    policy: Policy | None = None,
    on_invalid: OnInvalid = "raise",
) -> pl.LazyFrame:
    """Which agents answered the ``channels`` during ``[start, end)``, against comparable hours.

    Parameters
    ----------
    log
        An :class:`~csmetrics.EventLog` or anything :meth:`EventLog.from_frame` reads.
    channels
        The surging channel(s), e.g. ``["twitter", "facebook"]``.
    start, end
        The window (time-zone aware), e.g. a surge from :func:`csmetrics.spillover`.
    baseline_days
        Day offsets of the comparable windows (the same hours): default a week before and
        after; windows that miss the log's span are skipped.
    level
        Coverage of the (Wilson) interval of ``case_share``.
    policy, on_invalid
        As for :func:`agent_occupancy`.

    Returns
    -------
    pl.LazyFrame
        :data:`PULLED_COLUMNS`, one row per agent who wrote on the channels in the window or
        the baseline, most cases first: ``n_cases`` (cases on the channels the agent wrote
        on in the window), ``case_share`` (of ``n_channel_cases``: the cases on the channels
        with an agent message in the window) with ``ci_low``/``ci_high``, the same over the
        baseline windows, ``change`` (case share − baseline case share), ``own_share`` (the
        share of the agent's own messages in the window that went to the channels) and its
        baseline.

    Examples
    --------
    >>> import datetime as dt, csmetrics as csm
    >>> log = csm.testing.log_from_rows([
    ...     ("2024-03-01T10:00Z", "message", "agent", {"agent_id": "sam", "channel": "twitter"}),
    ...     ("2024-03-08T10:00Z", "message", "agent", {"agent_id": "sam", "channel": "twitter",
    ...                                                "case_id": 2}),
    ...     ("2024-03-08T10:30Z", "message", "agent", {"agent_id": "eve", "channel": "twitter",
    ...                                                "case_id": 3}),
    ...     ("2024-03-08T10:40Z", "message", "agent", {"agent_id": "eve", "case_id": 4}),
    ...     ("2024-03-15T10:00Z", "message", "agent", {"agent_id": "sam", "channel": "twitter",
    ...                                                "case_id": 5})])
    >>> utc = dt.timezone.utc
    >>> out = pulled_onto(log, "twitter", dt.datetime(2024, 3, 8, 9, tzinfo=utc),
    ...                   dt.datetime(2024, 3, 8, 12, tzinfo=utc)).collect()
    >>> out.select("agent_id", "n_cases", "case_share", "baseline_case_share", "own_share").rows()
    [('eve', 1, 0.5, 0.0, 0.5), ('sam', 1, 0.5, 1.0, 1.0)]

    Eve (who answers email) took one of the two twitter cases of 09:00-12:00 on 8 March;
    at the same hours on 1 and 15 March Sam took them all.
    """
    names = [channels] if isinstance(channels, str) else list(channels)
    if not names or not all(isinstance(c, str) for c in names):
        raise PolicyError(f"'channels' must be channel names (got {channels!r})")
    names = [c.strip().lower() for c in names]
    for name, value in (("start", start), ("end", end)):
        if not isinstance(value, dt.datetime) or value.tzinfo is None:
            raise PolicyError(f"'{name}' must be a time-zone aware datetime (got {value!r})")
    if end <= start:
        raise PolicyError(f"'end' must be after 'start' (got {start} .. {end})")
    if any(isinstance(d, bool) or not isinstance(d, int) or d == 0 for d in baseline_days):
        raise PolicyError(f"'baseline_days' must be non-zero whole days (got {baseline_days!r})")
    if not 0 < level < 1:
        raise PolicyError(f"'level' must be between 0 and 1, e.g. 0.95 (got {level!r})")
    policy = policy or Policy()
    col = pl.col
    rows = _agent_rows(log, policy, on_invalid).filter(col("_is_message"))
    bounds = rows.select(col("ts").min().alias("lo"), col("ts").max().alias("hi")).collect()
    lo, hi = bounds.row(0)
    windows = [(start, end, "window")]
    for days in sorted(set(baseline_days)):
        shift = dt.timedelta(days=days)
        if lo is not None and start + shift <= hi and end + shift > lo:
            windows.append((start + shift, end + shift, "baseline"))
    in_window = pl.lit(None, pl.String)
    for begin, finish, label in windows:
        inside = (col("ts") >= pl.lit(begin).cast(_UTC)) & (col("ts") < pl.lit(finish).cast(_UTC))
        in_window = pl.when(inside).then(pl.lit(label)).otherwise(in_window)
    tagged = rows.with_columns(in_window.alias("_part")).filter(col("_part").is_not_null())
    on_channel = col("channel").is_in(names)
    channel_cases = (
        tagged.filter(on_channel)
        .group_by("_part")
        .agg(col("case_id").n_unique().alias("_n_channel_cases"))
    )
    per_agent = tagged.group_by("agent_id", "_part").agg(
        col("case_id").filter(on_channel).n_unique().alias("_n_cases"),
        on_channel.sum().alias("_on"),
        pl.len().alias("_all"),
    )
    joined = per_agent.join(channel_cases, on="_part", how="left").collect()
    total = {
        part: int(n) for part, n in joined.select("_part", "_n_channel_cases").unique().iter_rows()
    }

    def part(name: str, prefix: str) -> pl.DataFrame:
        n_total = total.get(name, 0)
        return joined.filter(col("_part") == name).select(
            "agent_id",
            col("_n_cases").cast(pl.UInt32).alias(f"{prefix}n_cases"),
            (col("_n_cases") / n_total if n_total else pl.lit(None, pl.Float64)).alias(
                f"{prefix}case_share"
            ),
            (col("_on") / col("_all")).alias(f"{prefix}own_share"),
        )

    z = _z(level)
    window_part = part("window", "")
    baseline_part = part("baseline", "baseline_")
    n_window = total.get("window", 0)
    n_baseline = total.get("baseline", 0)
    low, high = _wilson(col("n_cases"), pl.lit(n_window), z)
    return (
        window_part.join(baseline_part, on="agent_id", how="full", coalesce=True)
        .lazy()
        .with_columns(
            col("n_cases").fill_null(0),
            col("baseline_n_cases").fill_null(0),
            pl.lit(n_window, pl.UInt32).alias("n_channel_cases"),
            pl.lit(n_baseline, pl.UInt32).alias("n_baseline_channel_cases"),
        )
        .with_columns(
            pl.when(n_window > 0).then(col("n_cases") / n_window).alias("case_share"),
            pl.when(n_baseline > 0)
            .then(col("baseline_n_cases") / n_baseline)
            .alias("baseline_case_share"),
            pl.when(n_window > 0).then(low).alias("ci_low"),
            pl.when(n_window > 0).then(high).alias("ci_high"),
            col("own_share").fill_null(0.0),
            col("baseline_own_share").fill_null(0.0),
        )
        .with_columns((col("case_share") - col("baseline_case_share")).alias("change"))
        .filter((col("n_cases") > 0) | (col("baseline_n_cases") > 0))
        .sort(["n_cases", "agent_id"], descending=[True, False])
        .select(PULLED_COLUMNS)
    )


def _z(level: float) -> float:
    """The standard normal quantile for a two-sided ``level`` interval."""
    from statistics import NormalDist

    value = NormalDist().inv_cdf(0.5 + level / 2.0)
    assert math.isfinite(value)
    return value
