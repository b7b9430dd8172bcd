"""Reference implementations of csmetrics' core metrics, for the benchmark against alternatives.

Each function reads the same simulated Parquet log and returns the same *answer*: a Polars
DataFrame with one row per channel × metric (:data:`ANSWER_SCHEMA`), so that the answers can
be compared exactly (:func:`differences`) before anything is timed.

The metric subset (the ``csmetrics`` preset; see DESIGN §3 and §4.2), per case:

* event order within a case: ``ts``, then the event-type order of DESIGN §2.2, then the actor
  order (customer, agent, bot, system), then ``event_id``;
* ``channel`` and ``customer_id``: those of the first event; ``created``: its ``ts``;
* creator: the actor of the first ``case_created`` event, else of the first event; the case is
  agent-created when that actor is ``agent``; merged: it has a ``merged`` event;
* first reply: the earliest ``message`` by a (human) ``agent``;
* status: ``new`` from the first event; every ``status_changed`` sets its ``status``, a
  ``merged`` event sets ``closed``; a *reopen* is a ``status_changed`` to new/open/pending/
  on_hold while the status before it is solved/closed; a *resolution* is an event setting
  solved/closed; the final status is the status after the last status-setting event.

Metrics by channel:

``first_response_time``
    population: cases neither agent-created nor merged; value: first reply − created (null,
    i.e. still open, without a reply); ``n`` the population, ``n_value`` the cases with a
    value, ``mean``/``p50``/``p90`` of the values in seconds (quantiles: linear
    interpolation).
``full_resolution_time``
    population: cases not merged; value: last resolution − created, only when the final
    status is solved or closed.
``reopen_rate``
    population: cases not merged and resolved at least once; ``n_value`` those reopened at
    least once; ``mean`` the share.
``comp_rate``
    population: cases not merged; ``n_value`` those with a ``comp_granted`` event.
``channel_switch_rate``
    population: every case; a case is a *channel switch* when its customer has an earlier
    case (cases ordered by ``created``, then ``case_id``) and the latest such case is on
    another channel. In csmetrics this is ``is_channel_switch`` of
    :func:`csmetrics.journeys.journey_cases` with a window longer than the log, so that all
    cases of a customer form one issue.

The same answer comes from csmetrics (:func:`csmetrics_answer`), a hand-written Polars query
(:func:`polars_answer`, the best one could write by hand, run on the streaming engine),
DuckDB SQL (:func:`duckdb_answer`) and idiomatic pandas (:func:`pandas_answer`). pm4py
computes case durations only (first event → last event of every case, over all cases):
:func:`pm4py_case_durations`, checked against :func:`csmetrics_case_durations` and
:func:`polars_case_durations`. :func:`scan_floor` only reads the columns the subset needs.

DuckDB, pandas and pm4py are optional (the ``bench`` extra); they are imported inside the
functions that use them.
"""

from __future__ import annotations

import datetime as dt
import importlib
import math
from collections.abc import Sequence
from typing import Any, Final

import polars as pl

import csmetrics as csm
from csmetrics.schema import ACTORS, EVENT_TYPES, STATUSES

__all__ = [
    "ANSWER_SCHEMA",
    "COLUMNS",
    "CORE",
    "SUBSET",
    "csmetrics_answer",
    "csmetrics_case_durations",
    "differences",
    "duckdb_answer",
    "pandas_answer",
    "pm4py_case_durations",
    "polars_answer",
    "polars_case_durations",
    "scan_floor",
]

Source = str | Sequence[str]
"""A Parquet file, a glob, or a list of files."""

CORE: Final[tuple[str, ...]] = (
    "first_response_time",
    "full_resolution_time",
    "reopen_rate",
    "comp_rate",
)
"""The subset ``csmetrics.compute`` computes (case-level metrics)."""

SUBSET: Final[tuple[str, ...]] = (*CORE, "channel_switch_rate")
"""The whole subset every reference computes."""

DURATIONS: Final[frozenset[str]] = frozenset({"first_response_time", "full_resolution_time"})

COLUMNS: Final[tuple[str, ...]] = (
    "event_id",
    "case_id",
    "customer_id",
    "channel",
    "ts",
    "event_type",
    "actor",
    "status",
)
"""The columns the subset reads."""

ANSWER_SCHEMA: Final = pl.Schema(
    {
        "channel": pl.String(),
        "metric": pl.String(),
        "n": pl.Int64(),
        "n_value": pl.Int64(),
        "mean": pl.Float64(),
        "p50": pl.Float64(),
        "p90": pl.Float64(),
    }
)
"""One row per channel × metric. Durations: ``n`` population, ``n_value`` with a value,
``mean``/``p50``/``p90`` in seconds. Rates: ``n`` population, ``n_value`` hits, ``mean`` the
share, no quantiles. Case durations (pm4py's task): channel ``"(all)"``."""

RESOLVED: Final[tuple[str, ...]] = ("solved", "closed")
UNRESOLVED: Final[tuple[str, ...]] = ("new", "open", "pending", "on_hold")
LONG_AGO: Final = dt.timedelta(days=36_500)
"""A journey window longer than any log: every case of a customer is one issue."""


def _files(source: Source) -> str | list[str]:
    return source if isinstance(source, str) else list(source)


def _long(wide: pl.DataFrame, metrics: Sequence[str]) -> pl.DataFrame:
    """Wide columns ``{metric}__{stat}`` → the long answer, sorted by channel and metric."""
    parts = []
    for metric in metrics:
        stats = ("n", "n_value", "mean", "p50", "p90")
        parts.append(
            wide.select(
                pl.col("channel").cast(pl.String),
                pl.lit(metric).alias("metric"),
                *(
                    (
                        pl.col(f"{metric}__{s}")
                        if f"{metric}__{s}" in wide.columns
                        else pl.lit(None, ANSWER_SCHEMA[s])
                    )
                    .cast(ANSWER_SCHEMA[s])
                    .alias(s)
                    for s in stats
                ),
            )
        )
    return pl.concat(parts).sort("channel", "metric")


# -- csmetrics ------------------------------------------------------------------------------


def _switch_by_channel(log: csm.EventLog) -> pl.LazyFrame:
    """Channel switches per channel from :func:`csmetrics.journeys.journey_cases`.

    Only the columns journeys need are asked for (``columns=()``), so the case table behind
    the journeys is the order-free one (no sort of the events).
    """
    journeys = importlib.import_module("csmetrics.journeys")  # csm.journeys is a function
    try:
        linked = journeys.journey_cases(log, window=LONG_AGO, columns=())
    except TypeError:  # a csmetrics without journey_cases(columns=)
        linked = journeys.journey_cases(log, window=LONG_AGO)
    frame: pl.LazyFrame = linked.group_by("channel").agg(
        pl.len().alias("channel_switch_rate__n"),
        pl.col("is_channel_switch").sum().alias("channel_switch_rate__n_value"),
    )
    return frame


def csmetrics_plan(source: Source, metrics: Sequence[str] | None = SUBSET) -> pl.LazyFrame:
    """csmetrics' plan for ``metrics`` by channel, as one lazy frame (tidy rows).

    ``channel_switch_rate`` comes from the journeys module (a ``channel_switch_rate__*`` wide
    frame concatenated diagonally); the others from :func:`csmetrics.compute`. ``None``
    means every case-level built-in metric (what ``compute(log)`` computes by default).
    """
    log = csm.EventLog.trusted(pl.scan_parquet(_files(source)))
    wanted = None if metrics is None else [m for m in metrics if m != "channel_switch_rate"]
    parts: list[pl.LazyFrame] = []
    if wanted is None or wanted:
        parts.append(csm.compute(log, wanted, by="channel"))
        durations = [m for m in (wanted or []) if m in DURATIONS]
        if durations:  # cases with a value (n - n_open also leaves out cases resolved
            # without one, e.g. solved by a bot: nobody waits for a first response)
            cases = csm.case_table(log, columns=["channel", "merged", *durations])
            parts.append(
                cases.filter(~pl.col("merged"))
                .group_by("channel")
                .agg(pl.col(m).count().alias(f"{m}__values") for m in durations)
            )
    if metrics is not None and "channel_switch_rate" in metrics:
        parts.append(_switch_by_channel(log))
    return pl.concat(parts, how="diagonal_relaxed")


def _from_tidy(tidy: pl.DataFrame) -> pl.DataFrame:
    """csmetrics' tidy frame (and the switch wide rows) → the answer."""
    rows = []
    if "metric" in tidy.columns:
        computed = tidy.filter(pl.col("metric").is_not_null())
        counts = [c for c in tidy.columns if c.endswith("__values")]
        if counts:
            values = tidy.filter(pl.col(counts[0]).is_not_null()).select("channel", *counts)
            long = values.unpivot(index="channel", variable_name="metric", value_name="_values")
            long = long.with_columns(pl.col("metric").str.strip_suffix("__values"))
            computed = computed.join(long, on=["channel", "metric"], how="left")
        else:
            computed = computed.with_columns(pl.lit(None, pl.Int64).alias("_values"))
        is_rate = pl.col("numerator").is_not_null() | pl.col("denominator").is_not_null()
        rows.append(
            computed.select(
                pl.col("channel"),
                pl.col("metric"),
                pl.col("n").cast(pl.Int64),
                pl.when(is_rate)
                .then(pl.col("numerator"))
                .otherwise(pl.coalesce("_values", pl.col("n") - pl.col("n_open")))
                .cast(pl.Int64)
                .alias("n_value"),
                pl.col("mean"),
                pl.when(~is_rate).then(pl.col("p50")).alias("p50"),
                pl.when(~is_rate).then(pl.col("p90")).alias("p90"),
            )
        )
    if "channel_switch_rate__n" in tidy.columns:
        switch = tidy.filter(pl.col("channel_switch_rate__n").is_not_null())
        rows.append(
            switch.select(
                "channel",
                pl.lit("channel_switch_rate").alias("metric"),
                pl.col("channel_switch_rate__n").cast(pl.Int64).alias("n"),
                pl.col("channel_switch_rate__n_value").cast(pl.Int64).alias("n_value"),
                (pl.col("channel_switch_rate__n_value") / pl.col("channel_switch_rate__n")).alias(
                    "mean"
                ),
                pl.lit(None, pl.Float64).alias("p50"),
                pl.lit(None, pl.Float64).alias("p90"),
            )
        )
    return pl.concat(rows).cast(ANSWER_SCHEMA).sort("channel", "metric")


def csmetrics_answer(
    source: Source, metrics: Sequence[str] | None = SUBSET, engine: str = "streaming"
) -> pl.DataFrame:
    """csmetrics: ``compute(log, metrics, by="channel")`` (+ journeys for the switch rate)."""
    tidy = csmetrics_plan(source, metrics).collect(engine=engine)  # type: ignore[call-overload]
    return _from_tidy(tidy)


def csmetrics_case_durations(source: Source) -> pl.DataFrame:
    """Case durations (last event − first event) from csmetrics' case table, over all cases.

    Asks the case table for the two columns it needs (``columns=``), as a user would.
    """
    log = csm.EventLog.trusted(pl.scan_parquet(_files(source)))
    seconds = (pl.col("last_event_at") - pl.col("created_at")).dt.total_microseconds() / 1e6
    try:  # only the two columns needed: the order-free plan, no sort of the events
        cases = csm.case_table(log, columns=["created_at", "last_event_at"])
    except TypeError:  # a csmetrics without case_table(columns=)
        cases = csm.case_table(log)
    wide = cases.select(
        pl.lit("(all)").alias("channel"),
        pl.len().alias("case_duration__n"),
        seconds.count().alias("case_duration__n_value"),
        seconds.mean().alias("case_duration__mean"),
        seconds.quantile(0.5, "linear").alias("case_duration__p50"),
        seconds.quantile(0.9, "linear").alias("case_duration__p90"),
    ).collect(engine="streaming")
    return _long(wide, ["case_duration"])


# -- hand-written Polars --------------------------------------------------------------------


def _seconds(expr: pl.Expr) -> pl.Expr:
    return expr.dt.total_microseconds() / 1e6


def _duration_stats(name: str, population: pl.Expr, value: pl.Expr) -> list[pl.Expr]:
    kept = pl.when(population).then(value)
    return [
        population.sum().alias(f"{name}__n"),
        kept.count().alias(f"{name}__n_value"),
        kept.mean().alias(f"{name}__mean"),
        kept.quantile(0.5, "linear").alias(f"{name}__p50"),
        kept.quantile(0.9, "linear").alias(f"{name}__p90"),
    ]


def _rate_stats(name: str, population: pl.Expr, hit: pl.Expr) -> list[pl.Expr]:
    return [
        population.sum().alias(f"{name}__n"),
        (population & hit).sum().alias(f"{name}__n_value"),
        ((population & hit).sum() / population.sum()).alias(f"{name}__mean"),
    ]


def polars_plan(source: Source) -> pl.LazyFrame:
    """The hand-written Polars query for the subset (wide: one row per channel).

    One sort of the events in event order (the enum columns sort by their category order),
    one ``group_by("case_id")`` whose per-case expressions see the events in that order, one
    sort of the cases by customer for the switch flag, one ``group_by("channel")``.
    """
    event_type, actor, status = pl.col("event_type"), pl.col("actor"), pl.col("status")
    events = pl.scan_parquet(_files(source)).select(COLUMNS)
    ordered = events.sort("case_id", "ts", "event_type", "actor", "event_id")
    sets = (
        pl.when(event_type == "status_changed")
        .then(status.cast(pl.String))
        .when(event_type == "merged")
        .then(pl.lit("closed"))
    )
    statuses = sets.drop_nulls()  # the case's status sequence, in event order
    before = statuses.shift(1)
    reopen = statuses.is_in(UNRESOLVED) & before.is_in(RESOLVED).fill_null(value=False)
    # a resolution: a move from an unresolved status (new at first) into solved/closed
    resolution = statuses.is_in(RESOLVED) & (before.is_null() | before.is_in(UNRESOLVED))
    resolution_ts = pl.col("ts").filter(sets.is_not_null()).filter(resolution)
    cases = ordered.group_by("case_id").agg(
        pl.col("customer_id").first(),
        pl.col("channel").first(),
        pl.col("ts").first().alias("created"),
        actor.filter(event_type == "case_created")
        .first()
        .fill_null(actor.first())
        .eq("agent")
        .alias("agent_created"),
        (event_type == "merged").any().alias("merged"),
        pl.col("ts").filter((event_type == "message") & (actor == "agent")).min().alias("reply"),
        statuses.last().is_in(RESOLVED).fill_null(value=False).alias("is_resolved"),
        resolution_ts.max().alias("last_resolved"),
        reopen.any().alias("reopened"),
        (event_type == "comp_granted").any().alias("comped"),
    )
    customer = pl.col("customer_id")
    switch = (customer == customer.shift(1)) & (pl.col("channel") != pl.col("channel").shift(1))
    cases = cases.sort("customer_id", "created", "case_id").with_columns(
        switch.fill_null(value=False).alias("switch")
    )
    counted = ~pl.col("merged")
    aggs = [
        *_duration_stats(
            "first_response_time",
            counted & ~pl.col("agent_created"),
            _seconds(pl.col("reply") - pl.col("created")),
        ),
        *_duration_stats(
            "full_resolution_time",
            counted,
            _seconds(
                pl.when(pl.col("is_resolved")).then(pl.col("last_resolved") - pl.col("created"))
            ),
        ),
        *_rate_stats(
            "reopen_rate", counted & pl.col("last_resolved").is_not_null(), pl.col("reopened")
        ),
        *_rate_stats("comp_rate", counted, pl.col("comped")),
        *_rate_stats("channel_switch_rate", pl.col("switch").is_not_null(), pl.col("switch")),
    ]
    return cases.group_by("channel").agg(aggs)


def polars_answer(source: Source, engine: str = "streaming") -> pl.DataFrame:
    """The hand-written Polars query, collected on ``engine`` (streaming by default)."""
    return _long(polars_plan(source).collect(engine=engine), SUBSET)  # type: ignore[call-overload]


def polars_case_durations(source: Source) -> pl.DataFrame:
    """Case durations (last − first event) by hand in Polars, over all cases."""
    per_case = (
        pl.scan_parquet(_files(source))
        .group_by("case_id")
        .agg(_seconds(pl.col("ts").max() - pl.col("ts").min()).alias("d"))
    )
    wide = per_case.select(
        pl.lit("(all)").alias("channel"),
        pl.len().alias("case_duration__n"),
        pl.col("d").count().alias("case_duration__n_value"),
        pl.col("d").mean().alias("case_duration__mean"),
        pl.col("d").quantile(0.5, "linear").alias("case_duration__p50"),
        pl.col("d").quantile(0.9, "linear").alias("case_duration__p90"),
    ).collect(engine="streaming")
    return _long(wide, ["case_duration"])


def scan_floor(source: Source) -> pl.DataFrame:
    """The floor: read and decode the columns the subset needs, and nothing else.

    One cheap reduction per column (its maximum) so that every value is decoded but the
    columns need not be held in memory at once.
    """
    return (
        pl.scan_parquet(_files(source))
        .select(pl.col(*COLUMNS).to_physical().max())
        .collect(engine="streaming")
    )


# -- DuckDB ---------------------------------------------------------------------------------


def _sql_list(values: Sequence[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def duckdb_answer(source: Source, threads: int | None = None) -> pl.DataFrame:
    """DuckDB SQL for the subset (window functions for the status sequence)."""
    import duckdb

    con = duckdb.connect()
    if threads is not None:
        con.execute(f"SET threads = {threads}")
    wide = con.sql(_duckdb_query(source)).pl()
    con.close()
    return _long(wide, SUBSET)


def _duckdb_query(source: Source) -> str:
    files = [source] if isinstance(source, str) else list(source)
    scan = f"read_parquet([{_sql_list(files)}])"
    key = "ts, et, ac, event_id"
    key_desc = "ts DESC, et DESC, ac DESC, event_id DESC"

    def duration(name: str, population: str, value: str) -> str:
        kept = f"CASE WHEN {population} THEN {value} END"
        return (
            f"count(*) FILTER (WHERE {population}) AS {name}__n, "
            f"count({kept}) AS {name}__n_value, "
            f"avg({kept}) AS {name}__mean, "
            f"quantile_cont({kept}, 0.5) AS {name}__p50, "
            f"quantile_cont({kept}, 0.9) AS {name}__p90"
        )

    def rate(name: str, population: str, hit: str) -> str:
        hits = f"count(*) FILTER (WHERE ({population}) AND ({hit}))"
        total = f"count(*) FILTER (WHERE {population})"
        return f"{total} AS {name}__n, {hits} AS {name}__n_value, {hits} / {total} AS {name}__mean"

    frt = "(epoch_us(reply) - epoch_us(created)) / 1e6"
    full = "CASE WHEN is_resolved THEN (epoch_us(last_resolved) - epoch_us(created)) / 1e6 END"
    return f"""
WITH events AS (
    SELECT case_id, customer_id, channel, ts, event_type, actor, event_id,
           list_position([{_sql_list(EVENT_TYPES)}], event_type) AS et,
           list_position([{_sql_list(ACTORS)}], actor) AS ac,
           CASE WHEN event_type = 'status_changed' THEN status
                WHEN event_type = 'merged' THEN 'closed' END AS sets
    FROM {scan}
),
status_events AS (
    SELECT case_id, ts, sets,
           lag(sets) OVER (PARTITION BY case_id ORDER BY {key}) AS before,
           row_number() OVER (PARTITION BY case_id ORDER BY {key_desc}) AS from_last
    FROM events WHERE sets IS NOT NULL
),
status_per_case AS (
    SELECT case_id,
           bool_or(from_last = 1 AND sets IN ('solved', 'closed')) AS is_resolved,
           max(ts) FILTER (WHERE sets IN ('solved', 'closed')
                           AND (before IS NULL OR before IN ({_sql_list(UNRESOLVED)})))
               AS last_resolved,
           bool_or(sets IN ({_sql_list(UNRESOLVED)}) AND before IN ('solved', 'closed'))
               AS reopened
    FROM status_events GROUP BY case_id
),
event_per_case AS (
    SELECT case_id,
           arg_min(customer_id, ({key})) AS customer_id,
           arg_min(channel, ({key})) AS channel,
           min(ts) AS created,
           coalesce(arg_min(actor, (ts, ac, event_id)) FILTER (WHERE event_type = 'case_created'),
                    arg_min(actor, ({key}))) = 'agent' AS agent_created,
           bool_or(event_type = 'merged') AS merged,
           min(ts) FILTER (WHERE event_type = 'message' AND actor = 'agent') AS reply,
           bool_or(event_type = 'comp_granted') AS comped
    FROM events GROUP BY case_id
),
cases AS (
    SELECT e.*, coalesce(s.is_resolved, false) AS is_resolved, s.last_resolved,
           coalesce(s.reopened, false) AS reopened,
           coalesce(lag(channel) OVER (PARTITION BY customer_id ORDER BY created, case_id)
                    <> channel, false) AS switch
    FROM event_per_case e LEFT JOIN status_per_case s USING (case_id)
)
SELECT channel,
    {duration("first_response_time", "NOT merged AND NOT agent_created", frt)},
    {duration("full_resolution_time", "NOT merged", full)},
    {rate("reopen_rate", "NOT merged AND last_resolved IS NOT NULL", "reopened")},
    {rate("comp_rate", "NOT merged", "comped")},
    {rate("channel_switch_rate", "true", "switch")}
FROM cases GROUP BY channel
"""


# -- pandas ---------------------------------------------------------------------------------


def pandas_answer(source: Source) -> pl.DataFrame:
    """Idiomatic pandas for the subset: sort, ``groupby().agg``, ``groupby().shift``."""
    import pandas as pd

    files = source if isinstance(source, str) else list(source)
    frames = [pd.read_parquet(f, columns=list(COLUMNS)) for f in _expand(files)]
    df = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    df["event_type"] = pd.Categorical(df["event_type"], categories=EVENT_TYPES, ordered=True)
    df["actor"] = pd.Categorical(df["actor"], categories=ACTORS, ordered=True)
    df["status"] = pd.Categorical(df["status"], categories=STATUSES, ordered=True)
    df = df.sort_values(["case_id", "ts", "event_type", "actor", "event_id"])

    first = df.groupby("case_id", sort=False).first()  # customer, channel, ts of the first event
    created_by = (
        df[df["event_type"] == "case_created"].groupby("case_id", sort=False)["actor"].first()
    )
    creator = created_by.reindex(first.index).astype(object).fillna(first["actor"].astype(object))
    is_merged = df["event_type"] == "merged"
    cases = pd.DataFrame(
        {
            "customer_id": first["customer_id"],
            "channel": first["channel"],
            "created": first["ts"],
            "agent_created": creator == "agent",
            "merged": is_merged.groupby(df["case_id"], sort=False).any(),
            "comped": (df["event_type"] == "comp_granted").groupby(df["case_id"], sort=False).any(),
        }
    )
    replies = df[(df["event_type"] == "message") & (df["actor"] == "agent")]
    cases["reply"] = replies.groupby("case_id", sort=False)["ts"].min()

    status = df[(df["event_type"] == "status_changed") | is_merged]
    sets = status["status"].astype(object).where(status["event_type"] != "merged", "closed")
    status = pd.DataFrame({"case_id": status["case_id"], "ts": status["ts"], "sets": sets})
    status["before"] = status.groupby("case_id", sort=False)["sets"].shift(1)
    status["reopen"] = status["sets"].isin(UNRESOLVED) & status["before"].isin(RESOLVED)
    per_case = status.groupby("case_id", sort=False)
    cases["is_resolved"] = per_case["sets"].last().isin(RESOLVED)
    resolution = status["sets"].isin(RESOLVED) & (
        status["before"].isna() | status["before"].isin(UNRESOLVED)
    )
    cases["last_resolved"] = status[resolution].groupby("case_id")["ts"].max()
    cases["reopened"] = per_case["reopen"].any()
    cases["is_resolved"] = cases["is_resolved"].fillna(value=False).astype(bool)
    cases["reopened"] = cases["reopened"].fillna(value=False).astype(bool)

    cases = cases.reset_index().sort_values(["customer_id", "created", "case_id"])
    previous = cases.groupby("customer_id", sort=False)["channel"].shift(1)
    cases["switch"] = previous.notna() & (previous != cases["channel"])

    cases["counted"] = ~cases["merged"]
    cases["frt_pop"] = cases["counted"] & ~cases["agent_created"]
    cases["frt"] = (cases["reply"] - cases["created"]).dt.total_seconds().where(cases["frt_pop"])
    full = (cases["last_resolved"] - cases["created"]).dt.total_seconds()
    cases["full"] = full.where(cases["counted"] & cases["is_resolved"])
    cases["reopen_pop"] = cases["counted"] & cases["last_resolved"].notna()
    cases["reopen_hit"] = cases["reopen_pop"] & cases["reopened"]
    cases["comp_hit"] = cases["counted"] & cases["comped"]

    by = cases.groupby("channel")
    wide = pd.DataFrame(
        {
            "first_response_time__n": by["frt_pop"].sum(),
            "first_response_time__n_value": by["frt"].count(),
            "first_response_time__mean": by["frt"].mean(),
            "first_response_time__p50": by["frt"].quantile(0.5),
            "first_response_time__p90": by["frt"].quantile(0.9),
            "full_resolution_time__n": by["counted"].sum(),
            "full_resolution_time__n_value": by["full"].count(),
            "full_resolution_time__mean": by["full"].mean(),
            "full_resolution_time__p50": by["full"].quantile(0.5),
            "full_resolution_time__p90": by["full"].quantile(0.9),
            "reopen_rate__n": by["reopen_pop"].sum(),
            "reopen_rate__n_value": by["reopen_hit"].sum(),
            "comp_rate__n": by["counted"].sum(),
            "comp_rate__n_value": by["comp_hit"].sum(),
            "channel_switch_rate__n": by["switch"].size(),
            "channel_switch_rate__n_value": by["switch"].sum(),
        }
    )
    for name in ("reopen_rate", "comp_rate", "channel_switch_rate"):
        wide[f"{name}__mean"] = wide[f"{name}__n_value"] / wide[f"{name}__n"]
    return _long(pl.from_pandas(wide.reset_index()), SUBSET)


def _expand(files: str | list[str]) -> list[str]:
    import glob

    if isinstance(files, list):
        return files
    return sorted(glob.glob(files)) or [files]


# -- pm4py ----------------------------------------------------------------------------------


def pm4py_case_durations(source: Source) -> pl.DataFrame:
    """pm4py: ``get_all_case_durations`` (first → last event of every case), over all cases.

    pm4py needs a pandas frame in its column conventions (``format_dataframe``); its
    durations come back as a sorted list of seconds.
    """
    import pandas as pd
    import pm4py  # type: ignore[import-untyped,import-not-found,unused-ignore]

    files = _expand(source if isinstance(source, str) else list(source))
    frames = [pd.read_parquet(f, columns=["case_id", "event_type", "ts"]) for f in files]
    df = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    df = pm4py.format_dataframe(
        df, case_id="case_id", activity_key="event_type", timestamp_key="ts"
    )
    durations = pm4py.get_all_case_durations(df)
    mean = math.fsum(durations) / len(durations)
    wide = pl.DataFrame(
        {
            "channel": ["(all)"],
            "case_duration__n": [len(durations)],
            "case_duration__n_value": [len(durations)],
            "case_duration__mean": [mean],
            "case_duration__p50": [_linear_quantile(durations, 0.5)],
            "case_duration__p90": [_linear_quantile(durations, 0.9)],
        }
    )
    return _long(wide, ["case_duration"])


def _linear_quantile(ordered: Sequence[float], q: float) -> float:
    """Quantile of a sorted list, linear interpolation (as Polars, DuckDB and pandas)."""
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (position - low))


# -- comparing answers ----------------------------------------------------------------------


def differences(
    expected: pl.DataFrame, actual: pl.DataFrame, *, rel: float = 1e-9, limit: int = 10
) -> list[str]:
    """Where two answers differ (empty when they agree): counts exactly, floats to ``rel``.

    Means and quantiles are sums and interpolations of floats that engines add in different
    orders, so they agree to about 1e-12 relative, not bit for bit.
    """
    keys = ["channel", "metric"]
    left = expected.cast(ANSWER_SCHEMA).sort(keys)
    right = actual.cast(ANSWER_SCHEMA).sort(keys)
    if left.select(keys).rows() != right.select(keys).rows():
        missing = set(left.select(keys).rows()) ^ set(right.select(keys).rows())
        return [f"different rows (channel, metric): {sorted(missing)[:limit]}"]
    problems = []
    for a, b in zip(left.iter_rows(named=True), right.iter_rows(named=True), strict=True):
        for column in ("n", "n_value", "mean", "p50", "p90"):
            x, y = a[column], b[column]
            if _same(x, y, rel):
                continue
            problems.append(f"{a['channel']}/{a['metric']}/{column}: {x!r} != {y!r}")
    return problems[:limit]


def _same(x: Any, y: Any, rel: float) -> bool:
    if x is None or y is None:
        return x is None and y is None
    if isinstance(x, int) and isinstance(y, int):
        return x == y
    return math.isclose(float(x), float(y), rel_tol=rel, abs_tol=1e-9)
