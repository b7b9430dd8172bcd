"""Public-comp contagion: do comps granted in public teach other customers to complain there?

An event study (DESIGN §1, issue 17). Each *public comp* is an event: a ``comp_granted`` on a
public case (its own ``is_public``, else the case's visibility: DESIGN §2.4) of a social or
other public channel. The outcome is the number of **new public cases from other customers
on the same channel** in the ``window`` after the comp. It is compared with *matched baseline
windows*: the same hours on comparable days (by default 7 and 14 days before and after, so
the same weekday and time of day) in which no public comp could have had an effect (no public
comp on the channel within ``window`` either side). A *control* corrects the baseline for
what hits every channel at once (an outage): it is scaled by the ratio of new cases on the
*other* channels in the event windows to those in the baseline windows.

Only *isolated* comps count as events (no other public comp on the channel within
``window`` before or after, and the whole window inside the log), so that one window holds
the effect of one comp; the others are counted in ``n_excluded``. The effect is

    effect = mean(after) - mean(baseline) x control_ratio

per channel and over all channels, with a percentile bootstrap interval that resamples the
events.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from typing import Any, Final

import polars as pl

from csmetrics._analysis import (
    OnInvalid,
    analysis_events,
    bootstrap,
    case_starts,
    count_between,
)
from csmetrics.exceptions import PolicyError
from csmetrics.journeys import Window, parse_window
from csmetrics.log import EventLog
from csmetrics.policy import Policy
from csmetrics.schema import is_public_expr
from csmetrics.topics import TopicRules, topic_expr

__all__ = ["CONTAGION_COLUMNS", "comp_contagion", "contagion_events"]

CONTAGION_COLUMNS: Final[tuple[str, ...]] = (
    "channel",
    "outcome",
    "n_comps",
    "n_events",
    "n_excluded",
    "after",
    "baseline",
    "control_ratio",
    "effect",
    "ci_low",
    "ci_high",
    "relative_effect",
    "window_seconds",
)
"""Columns of :func:`comp_contagion` (``channel`` null: all channels together).

``outcome`` is ``new_public_cases``, and ``comp_requests`` when request rules are given."""

_EVENT_COLUMNS: Final[tuple[str, ...]] = (
    "case_id",
    "customer_id",
    "channel",
    "ts",
    "is_event",
    "excluded_reason",
    "after",
    "baseline",
    "n_baseline_windows",
    "control_after",
    "control_baseline",
    "requests_after",
    "requests_baseline",
)
_ALL: Final = "\x00all"  # the group key of "all channels" inside the computation
_ONE_US: Final = dt.timedelta(microseconds=1)


def _offsets(baseline_days: Sequence[int]) -> list[int]:
    days = list(baseline_days)
    if not days or any(isinstance(d, bool) or not isinstance(d, int) or d == 0 for d in days):
        raise PolicyError(
            "'baseline_days' must be non-zero whole days, e.g. (-14, -7, 7, 14) "
            f"(got {baseline_days!r})"
        )
    return sorted(set(days))


def contagion_events(
    log: EventLog | object,
    *,
    window: Window = "2h",
    baseline_days: Sequence[int] = (-14, -7, 7, 14),
    requests: TopicRules | Mapping[str, Any] | str | os.PathLike[str] | None = None,
    text: str = "text",
    policy: Policy | None = None,
    on_invalid: OnInvalid = "raise",
) -> pl.LazyFrame:
    """One row per public comp, with its outcome and baseline counts (see the module).

    Columns: ``case_id``, ``customer_id``, ``channel``, ``ts`` (of the comp), ``is_event``
    (an isolated comp with a whole window and at least one matched baseline window),
    ``excluded_reason`` (``overlap``, ``edge`` or ``no_baseline`` when not an event),
    ``after`` (new public cases of other customers on the channel in ``(ts, ts + window]``),
    ``baseline`` (their mean count over the matched windows), ``n_baseline_windows``,
    ``control_after`` and ``control_baseline`` (new cases on the other channels, in the
    window and on average over the same matched windows); with ``requests``,
    ``requests_after`` and ``requests_baseline``: public customer messages of other customers
    on the channel whose ``text`` matches the request rules (null without rules).

    Examples
    --------
    >>> import csmetrics as csm
    >>> from csmetrics.contagion import contagion_events
    >>> log = csm.datasets.simulate(3_000, seed=1)
    >>> out = contagion_events(log).collect()
    >>> out.columns[:5]
    ['case_id', 'customer_id', 'channel', 'ts', 'is_event']
    """
    policy = policy or Policy()
    span = parse_window(window)
    if span <= dt.timedelta(0):
        raise PolicyError(f"'window' must be positive (got {window!r})")
    offsets = _offsets(baseline_days)
    col = pl.col
    events = analysis_events(log, policy, on_invalid)
    bounds = events.select(col("ts").min().alias("_first"), col("ts").max().alias("_last"))
    if policy.as_of is not None:
        bounds = bounds.with_columns(
            pl.lit(policy.as_of).cast(pl.Datetime("us", "UTC")).alias("_last")
        )
    comp_rows = events.filter(col("event_type") == "comp_granted").select(
        "case_id", "ts", col("is_public").alias("_event_public")
    )
    plans = [case_starts(events, policy), comp_rows, bounds]
    if requests is not None:
        names = events.collect_schema().names()
        if text not in names:
            raise PolicyError(
                f"comp requests are read from the message text, column {text!r}, which the log "
                f"does not have (columns: {names}); pass text='<column>' or no request rules"
            )
        asks = (
            (col("event_type") == "message")
            & (col("actor") == "customer")
            & is_public_expr(policy.channels)
            & topic_expr(requests, text).is_not_null()
        )
        plans.append(events.filter(asks).select("channel", "customer_id", "ts"))
    # One pass over the events; what follows works on cases and comps only.
    case_frame, comp_frame, bound_frame, *request_frame = pl.collect_all(plans)
    request_points = request_frame[0].lazy() if request_frame else None
    cases = case_frame.lazy()
    bounds = bound_frame.lazy()
    comps = (
        comp_frame.lazy()
        .join(cases, on="case_id", how="inner")
        .filter(pl.coalesce("_event_public", "is_public"))
        .select("case_id", "customer_id", "channel", "ts")
    )
    public_new = cases.filter(col("is_public")).select("channel", "customer_id", "created_at")
    all_new = cases.select("channel", "created_at")

    # Isolation: no other public comp on the channel within the window on either side.
    isolated = (
        comps.sort("channel", "ts")
        .with_columns(
            (col("ts") - col("ts").shift(1).over("channel")).alias("_gap_before"),
            (col("ts").shift(-1).over("channel") - col("ts")).alias("_gap_after"),
        )
        .with_columns(
            (
                (col("_gap_before").is_null() | (col("_gap_before") >= span))
                & (col("_gap_after").is_null() | (col("_gap_after") >= span))
            ).alias("_isolated")
        )
        .join(bounds, how="cross")
        .with_columns(
            (col("ts") + span).alias("_end"),
            ((col("ts") + span) <= col("_last")).alias("_inside"),
        )
        .with_row_index("_w")
        .collect()  # small: one row per public comp; indexed once for the joins below
        .lazy()
    )

    def windows(frame: pl.LazyFrame) -> pl.LazyFrame:
        """Counts for windows ``(_start, _end]`` on ``channel``, of ``customer_id``."""
        counted = count_between(
            public_new,
            frame,
            at="created_at",
            start="_start",
            end="_end",
            by=["channel"],
            name="_public",
        )
        counted = count_between(
            all_new, counted, at="created_at", start="_start", end="_end", name="_all"
        )
        counted = count_between(
            all_new,
            counted,
            at="created_at",
            start="_start",
            end="_end",
            by=["channel"],
            name="_all_channel",
        )

        def own(points: pl.LazyFrame, at: str, name: str) -> pl.LazyFrame:
            """The comped customer's own points in each window: not contagion."""
            return (
                frame.select("_w", "channel", "customer_id", "_start", "_end")
                .join(points, on=["channel", "customer_id"], how="inner")
                .filter((col(at) > col("_start")) & (col(at) <= col("_end")))
                .group_by("_w")
                .agg(pl.len().cast(pl.Int64).alias(name))
            )

        counted = counted.join(own(public_new, "created_at", "_own"), on="_w", how="left")
        counted = counted.with_columns(
            (col("_public") - col("_own").fill_null(0)).alias("outcome"),
            (col("_all") - col("_all_channel")).alias("control"),
        )
        if request_points is None:
            counted = counted.with_columns(pl.lit(None, pl.Int64).alias("requests"))
        else:
            counted = count_between(
                request_points,
                counted,
                at="ts",
                start="_start",
                end="_end",
                by=["channel"],
                name="_asks",
            )
            own_asks = own(request_points, "ts", "_own_asks")
            counted = counted.join(own_asks, on="_w", how="left").with_columns(
                (col("_asks") - col("_own_asks").fill_null(0)).alias("requests")
            )
        return counted.select(*frame.collect_schema().names(), "outcome", "control", "requests")

    after = windows(isolated.with_columns(col("ts").alias("_start"))).select(
        "_w", "outcome", "control", "requests"
    )

    # Matched baseline windows: the same hours on comparable days, with no public comp on
    # the channel within the window either side, and inside the log.
    base = (
        isolated.select("_w", "channel", "customer_id", "ts", "_first", "_last")
        .with_columns(pl.lit(offsets, pl.List(pl.Int64)).alias("_day"))
        .explode("_day")
        .with_columns((col("ts") + pl.duration(days=col("_day"))).alias("_start"))
        .with_columns((col("_start") + span).alias("_end"))
        .filter((col("_start") >= col("_first")) & (col("_end") <= col("_last")))
        .with_columns(
            (col("_start") - span).alias("_clear_from"),
            (col("_start") + span - _ONE_US).alias("_clear_to"),
        )
    )
    base = count_between(
        comps,
        base,
        at="ts",
        start="_clear_from",
        end="_clear_to",
        by=["channel"],
        name="_n_comps",
    ).filter(col("_n_comps") == 0)
    baseline = (
        windows(base.with_row_index("_b").rename({"_w": "_event", "_b": "_w"}))
        .group_by("_event")
        .agg(
            col("outcome").mean().alias("baseline"),
            col("control").mean().alias("control_baseline"),
            col("requests").cast(pl.Float64).mean().alias("requests_baseline"),
            pl.len().cast(pl.UInt32).alias("n_baseline_windows"),
        )
        .rename({"_event": "_w"})
    )
    return (
        isolated.join(after, on="_w", how="left")
        .join(baseline, on="_w", how="left")
        .with_columns(pl.col("n_baseline_windows").fill_null(0))
        .with_columns(
            pl.when(~col("_isolated"))
            .then(pl.lit("overlap"))
            .when(~col("_inside"))
            .then(pl.lit("edge"))
            .when(col("n_baseline_windows") == 0)
            .then(pl.lit("no_baseline"))
            .alias("excluded_reason")
        )
        .with_columns(col("excluded_reason").is_null().alias("is_event"))
        .select(
            "case_id",
            "customer_id",
            "channel",
            "ts",
            "is_event",
            "excluded_reason",
            col("outcome").cast(pl.Int64).alias("after"),
            "baseline",
            "n_baseline_windows",
            col("control").cast(pl.Int64).alias("control_after"),
            "control_baseline",
            col("requests").cast(pl.Int64).alias("requests_after"),
            "requests_baseline",
        )
        .sort("ts", "channel", "case_id")
    )


def comp_contagion(
    log: EventLog | object,
    *,
    window: Window = "2h",
    baseline_days: Sequence[int] = (-14, -7, 7, 14),
    requests: TopicRules | Mapping[str, Any] | str | os.PathLike[str] | None = None,
    text: str = "text",
    control: bool = True,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    policy: Policy | None = None,
    on_invalid: OnInvalid = "raise",
) -> pl.LazyFrame:
    """Extra new public cases from other customers after a public comp, per channel.

    An event study with matched baseline windows, a control for what hits every channel,
    and a bootstrap interval (the module docstring has the definition; the events behind it
    come from :func:`contagion_events`).

    Parameters
    ----------
    log
        An :class:`~csmetrics.EventLog` or anything :meth:`EventLog.from_frame` reads.
    window
        How long after a comp new public cases count: ``"2h"``, ``"1d"`` or a timedelta.
    baseline_days
        Day offsets of the matched baseline windows (same time of day): default 7 and 14
        days before and after (the same weekday).
    requests, text
        Topic rules (:class:`~csmetrics.topics.TopicRules`, their dict or TOML file) that
        recognise a comp request in a customer message's ``text``: adds the outcome
        ``comp_requests`` (public requests from other customers on the channel).
    control
        Scale the baseline by the change of new cases on the other channels (the sum over
        the event windows / the sum over their baselines); ``False``: no control.
    n_boot, level, seed
        Bootstrap replicates, the interval's coverage, and the seed of the draws.
    policy
        ``as_of`` and the channel taxonomy (which channels are public by default).
    on_invalid
        ``"raise"`` or ``"quarantine"`` invalid events.

    Returns
    -------
    pl.LazyFrame
        :data:`CONTAGION_COLUMNS`, one row per outcome and channel with a public comp, and
        for all channels (``channel`` null, last): ``outcome``, ``n_comps`` (public comps),
        ``n_events`` (isolated comps with a matched baseline), ``n_excluded``, ``after``
        (the mean count of new public cases, or requests, of other customers in the window
        after an event), ``baseline`` (mean over matched windows), ``control_ratio``,
        ``effect`` (after − baseline × control_ratio: extra cases per public comp),
        ``ci_low``/``ci_high`` (bootstrap percentile interval),
        ``relative_effect`` (effect / expected), ``window_seconds``.

    Raises
    ------
    PolicyError
        For a malformed window, offsets or bootstrap settings.

    Examples
    --------
    A public comp at 10:00 on twitter; two other customers tweet within 2 hours; a week
    later at the same hours, one does:

    >>> import csmetrics as csm
    >>> def new_case(ts, case_id, customer, channel="twitter"):
    ...     return (ts, "case_created", "customer",
    ...             {"case_id": case_id, "customer_id": customer, "channel": channel})
    >>> log = csm.testing.log_from_rows([
    ...     new_case("2024-03-01T09:00Z", 1, "a"),
    ...     ("2024-03-01T10:00Z", "comp_granted", "agent",
    ...      {"case_id": 1, "customer_id": "a", "channel": "twitter", "comp_amount": 5.0}),
    ...     new_case("2024-03-01T10:30Z", 2, "b"),
    ...     new_case("2024-03-01T11:00Z", 3, "c"),
    ...     new_case("2024-03-08T11:00Z", 4, "d"),
    ...     new_case("2024-03-15T09:00Z", 5, "e", "email")])
    >>> out = comp_contagion(log, baseline_days=[7], control=False).collect()
    >>> out.select("channel", "n_events", "after", "baseline", "effect").rows()[0]
    ('twitter', 1, 2.0, 1.0, 1.0)

    (10:00, 12:00] holds the 10:30 and 11:00 tweets of other customers (2); the same hours a
    week later hold one (11:00): one extra public case per public comp.
    """
    span = parse_window(window)
    frame = (
        contagion_events(
            log,
            window=window,
            baseline_days=baseline_days,
            requests=requests,
            text=text,
            policy=policy,
            on_invalid=on_invalid,
        )
        .collect()
        .lazy()
    )
    col = pl.col
    outcomes = [("new_public_cases", "after", "baseline")]
    if requests is not None:
        outcomes.append(("comp_requests", "requests_after", "requests_baseline"))
    events = frame.filter(col("is_event"))
    per_event = pl.concat(
        [
            events.select(
                "channel",
                pl.lit(name).alias("outcome"),
                col(after).cast(pl.Float64).alias("after"),
                col(baseline).alias("baseline"),
                col("control_after").cast(pl.Float64),
                col("control_baseline"),
            )
            for name, after, baseline in outcomes
        ]
    )
    grouped = pl.concat(
        [
            per_event.with_columns(col("channel").alias("_channel")),
            per_event.with_columns(pl.lit(_ALL).alias("_channel")),
        ]
    ).with_columns(pl.concat_str(["outcome", "_channel"], separator="\x01").alias("_group"))
    sums = ["after", "baseline", "control_after", "control_baseline"]

    def statistic(v: dict[str, pl.Expr]) -> pl.Expr:
        ratio = _ratio(v["control_after"], v["control_baseline"]) if control else pl.lit(1.0)
        return (v["after"] - v["baseline"] * ratio) / v["n"].cast(pl.Float64)

    interval = bootstrap(
        grouped.select("_group", *sums),
        group="_group",
        sums=sums,
        statistic=statistic,
        n_boot=n_boot,
        level=level,
        seed=seed,
    )
    per_channel = pl.concat(
        [
            frame.with_columns(col("channel").alias("_channel")),
            frame.with_columns(pl.lit(_ALL).alias("_channel")),
        ]
    )
    counts = (
        per_channel.group_by("_channel")
        .agg(
            pl.len().cast(pl.UInt32).alias("n_comps"),
            col("is_event").sum().cast(pl.UInt32).alias("n_events"),
            (~col("is_event")).sum().cast(pl.UInt32).alias("n_excluded"),
        )
        .join(pl.LazyFrame({"outcome": [name for name, _, _ in outcomes]}), how="cross")
        .with_columns(pl.concat_str(["outcome", "_channel"], separator="\x01").alias("_group"))
    )
    means = grouped.group_by("_group").agg(
        *(col(name).sum() for name in sums), pl.len().alias("_n")
    )
    ratio = _ratio(col("control_after"), col("control_baseline")) if control else pl.lit(1.0)
    order = {name: i for i, (name, _, _) in enumerate(outcomes)}
    return (
        counts.join(means, on="_group", how="left")
        .join(interval, on="_group", how="left")
        .with_columns(
            (col("after") / col("_n")).alias("after"),
            (col("baseline") / col("_n")).alias("baseline"),
            ratio.alias("control_ratio"),
        )
        .with_columns(
            (col("after") - col("baseline") * col("control_ratio")).alias("effect"),
        )
        .with_columns(
            (col("effect") / (col("baseline") * col("control_ratio"))).alias("relative_effect"),
            pl.lit(span.total_seconds()).alias("window_seconds"),
            pl.when(col("_channel") != _ALL).then(col("_channel")).alias("channel"),
        )
        .with_columns(pl.when(col("relative_effect").is_finite()).then(col("relative_effect")))
        .sort(
            col("outcome").replace_strict(order, return_dtype=pl.Int64),
            col("_channel") == _ALL,
            "_channel",
        )
        .select(CONTAGION_COLUMNS)
    )


def _ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """numerator / denominator, 1 when the denominator is 0 (no control signal)."""
    return pl.when(denominator > 0).then(numerator / denominator).otherwise(1.0)
