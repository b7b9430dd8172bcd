"""Difficulty tiers of cases (easy, medium, hard) from a rule over case-table columns.

How long does the team take for easy, medium and hard issues? A :class:`DifficultyRule`
says what makes a case harder; :func:`difficulty_expr` turns it into one Polars expression
over the case table (DESIGN §3) and :func:`with_difficulty` adds the ``difficulty`` column
(an ``Enum`` easy < medium < hard), so every duration metric can be grouped by it.

The default rule (each criterion raises the level; the case takes the highest):

=========================  ==========================================
criterion                  level
=========================  ==========================================
``priority`` ``urgent``    hard
``priority`` ``high``      medium
escalated at least once    hard (``n_escalations`` ≥ 1)
transferred once           medium (``n_transfers`` ≥ 1)
transferred twice or more  hard (``n_transfers`` ≥ 2)
anything else              easy
=========================  ==========================================

``priority`` is the case's last priority; names are compared lower-case. A pass-through
column (a tier or complexity field from the helpdesk) can be mapped too: ``column="tier"``
with ``values={"2": "medium", "3": "hard"}``. In TOML::

    hard_priorities = ["urgent"]
    medium_priorities = ["high"]
    escalated = "hard"
    transfers_medium = 1
    transfers_hard = 2
    column = "tier"
    [values]
    "2" = "medium"
    "3" = "hard"
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal

import polars as pl

from csmetrics._analysis import median_difference
from csmetrics._difficulty import (
    DIFFICULTY_DTYPE,
    DIFFICULTY_LEVELS,
    DifficultyRule,
    as_rule,
    difficulty_columns,
    difficulty_expr,
)
from csmetrics.cases import case_table
from csmetrics.exceptions import PolicyError

__all__ = [
    "DIFFICULTY_DTYPE",
    "DIFFICULTY_LEVELS",
    "EFFECT_COLUMNS",
    "SUMMARY_COLUMNS",
    "DifficultyRule",
    "difficulty_columns",
    "difficulty_effect",
    "difficulty_expr",
    "difficulty_summary",
    "with_difficulty",
]


def with_difficulty(
    cases: pl.LazyFrame | pl.DataFrame, rule: DifficultyRule | Mapping[str, Any] | None = None
) -> pl.LazyFrame:
    """``cases`` (a case table) with the ``difficulty`` column.

    Raises
    ------
    PolicyError
        A column the rule reads is missing; the message names it.

    Examples
    --------
    >>> import csmetrics as csm
    >>> log = csm.testing.log_from_rows([("09:00", "case_created", "customer"),
    ...     ("09:05", "escalated", "agent"), ("09:30", "message", "agent")])
    >>> with_difficulty(csm.case_table(log)).collect()["difficulty"].to_list()
    ['hard']
    """
    frame = cases.lazy()
    names = frame.collect_schema().names()
    missing = [c for c in difficulty_columns(rule) if c not in names]
    if missing:
        raise PolicyError(
            f"the difficulty rule reads column(s) {missing}, which the case table does not "
            f"have; build it with csmetrics.case_table (a pass-through column must be in the "
            f"log), or change the rule"
        )
    return frame.with_columns(difficulty_expr(rule))


SUMMARY_COLUMNS: Final[tuple[str, ...]] = (
    "difficulty",
    "n_cases",
    "n_resolved",
    "share",
    "first_response_median_s",
    "first_response_p90_s",
    "resolution_median_s",
    "resolution_p90_s",
)
"""Columns of :func:`difficulty_summary`."""


def difficulty_summary(
    log: object,
    rule: DifficultyRule | Mapping[str, Any] | None = None,
    *,
    policy: Any = None,
    on_invalid: Literal["raise", "quarantine"] = "raise",
) -> pl.LazyFrame:
    """Cases, first response and resolution time (median, p90, seconds) per difficulty.

    Every level appears, easy to hard (with zero cases when none has it). Resolution time
    is ``full_resolution_time`` of the cases resolved at ``as_of``; first response is over
    the cases with a response.

    Examples
    --------
    >>> import csmetrics as csm
    >>> log = csm.testing.log_from_rows([
    ...     ("09:00", "case_created", "customer", {"case_id": 1}),
    ...     ("09:10", "message", "agent", {"case_id": 1}),
    ...     ("09:30", "status_changed", "agent", {"case_id": 1, "status": "solved"}),
    ...     ("09:00", "case_created", "customer", {"case_id": 2, "priority": "urgent"}),
    ...     ("10:00", "message", "agent", {"case_id": 2, "priority": "urgent"})])
    >>> difficulty_summary(log).collect().select(
    ...     "difficulty", "n_cases", "first_response_median_s", "resolution_median_s").rows()
    [('easy', 1, 600.0, 1800.0), ('medium', 0, None, None), ('hard', 1, 3600.0, None)]
    """

    rule = as_rule(rule)
    needed = [
        *difficulty_columns(rule),
        "first_response_time",
        "full_resolution_time",
        "is_open",
    ]
    cases = with_difficulty(
        case_table(log, policy=policy, columns=needed, on_invalid=on_invalid), rule
    )
    col = pl.col

    def seconds(name: str) -> pl.Expr:
        return col(name).dt.total_microseconds().cast(pl.Float64) / 1e6

    resolved = ~col("is_open") & col("full_resolution_time").is_not_null()
    per = cases.group_by("difficulty").agg(
        pl.len().cast(pl.UInt32).alias("n_cases"),
        resolved.sum().cast(pl.UInt32).alias("n_resolved"),
        seconds("first_response_time").median().alias("first_response_median_s"),
        seconds("first_response_time").quantile(0.9, "linear").alias("first_response_p90_s"),
        seconds("full_resolution_time").filter(resolved).median().alias("resolution_median_s"),
        seconds("full_resolution_time")
        .filter(resolved)
        .quantile(0.9, "linear")
        .alias("resolution_p90_s"),
    )
    levels = pl.LazyFrame({"difficulty": pl.Series(DIFFICULTY_LEVELS, dtype=DIFFICULTY_DTYPE)})
    return (
        levels.join(per, on="difficulty", how="left")
        .with_columns(col("n_cases").fill_null(0), col("n_resolved").fill_null(0))
        .with_columns((col("n_cases") / col("n_cases").sum()).alias("share"))
        .sort("difficulty")
        .select(SUMMARY_COLUMNS)
    )


EFFECT_COLUMNS: Final[tuple[str, ...]] = (
    "difficulty",
    "metric",
    "n",
    "median_s",
    "easy_n",
    "easy_median_s",
    "ratio",
    "ci_low",
    "ci_high",
)
"""Columns of :func:`difficulty_effect`."""

_DURATIONS: Final = ("first_response_time", "full_resolution_time")


def difficulty_effect(
    log: object,
    rule: DifficultyRule | Mapping[str, Any] | None = None,
    *,
    by: str | None = None,
    level: float = 0.95,
    policy: Any = None,
    on_invalid: Literal["raise", "quarantine"] = "raise",
) -> pl.LazyFrame:
    """How many times longer medium and hard cases take than easy ones, with an interval.

    For ``first_response_time`` and ``full_resolution_time`` (resolved cases), the ratio of
    the median of each level to the median of easy cases. The interval is that of the
    difference of the medians of the log durations (distribution-free standard errors of
    each median), taken back to a ratio: a ratio whose interval holds 1 is no difference.
    With ``by`` (a case-table column such as ``channel``) the comparison is made within each
    of its values (a first column of that name): medians over a mix of channels whose times
    differ a hundredfold say little.

    Examples
    --------
    >>> import csmetrics as csm, polars as pl
    >>> rows = []
    >>> for case, (minutes, priority) in enumerate([(10, "low"), (20, "low"), (40, "urgent"),
    ...                                             (80, "urgent")], start=1):
    ...     rows += [("09:00", "case_created", "customer", {"case_id": case, "priority": priority}),
    ...              (f"{9 + minutes // 60:02d}:{minutes % 60:02d}", "message", "agent",
    ...               {"case_id": case, "priority": priority})]
    >>> out = difficulty_effect(csm.testing.log_from_rows(rows)).collect()
    >>> out.filter(metric="first_response_time").select(
    ...     "difficulty", pl.col("median_s").round(0), pl.col("ratio").round(3)).rows()
    [('medium', None, None), ('hard', 3394.0, 4.0)]

    The median is taken on the log scale: for hard (urgent) cases of 40 and 80 minutes it is
    their geometric mean, 56.6 minutes (3394 s); for easy ones (10 and 20 minutes) 14.1
    minutes: hard cases wait 4 times longer. No case is medium.
    """

    rule = as_rule(rule)
    keys = [] if by is None else [by]
    needed = [*difficulty_columns(rule), *_DURATIONS, "is_open", *keys]
    cases = with_difficulty(
        case_table(log, policy=policy, columns=needed, on_invalid=on_invalid), rule
    )
    col = pl.col
    resolved = ~col("is_open")
    long = pl.concat(
        [
            cases.select(
                "difficulty",
                *keys,
                pl.lit(name).alias("metric"),
                (
                    pl.when(resolved if name == "full_resolution_time" else pl.lit(value=True))
                    .then(col(name).dt.total_microseconds().cast(pl.Float64) / 1e6)
                    .alias("_s")
                ),
            )
            for name in _DURATIONS
        ]
    ).filter(col("_s") > 0)
    group = pl.concat_str(
        [col("metric"), *(col(k).cast(pl.String).fill_null("\x01") for k in keys)],
        separator="\x00",
    )
    logged = long.with_columns(col("_s").log().alias("_log"), group.alias("_g"))
    parts = []
    for other in DIFFICULTY_LEVELS[1:]:
        pair = logged.filter(col("difficulty").is_in(["easy", other])).with_columns(
            (col("difficulty") == other).alias("_other")
        )
        diff = median_difference(pair, group="_g", arm="_other", value="_log", level=level)
        counts = pair.group_by("_g", "metric", *keys).agg(
            col("_other").sum().cast(pl.UInt32).alias("n"),
            (~col("_other")).sum().cast(pl.UInt32).alias("easy_n"),
        )
        parts.append(
            counts.join(diff, on="_g", how="left").with_columns(
                pl.lit(other).cast(DIFFICULTY_DTYPE).alias("difficulty")
            )
        )
    metrics = pl.LazyFrame({"metric": list(_DURATIONS)})
    levels = pl.LazyFrame({"difficulty": pl.Series(DIFFICULTY_LEVELS[1:], dtype=DIFFICULTY_DTYPE)})
    grid = levels.join(metrics, how="cross")
    if keys:
        values = cases.select(keys).unique()
        grid = grid.join(values, how="cross")
    return (
        grid.join(
            pl.concat(parts), on=["difficulty", "metric", *keys], how="left", nulls_equal=True
        )
        .with_columns(
            col("n").fill_null(0),
            col("easy_n").fill_null(0),
            col("median_yes").exp().alias("median_s"),
            col("median_no").exp().alias("easy_median_s"),
            col("difference").exp().alias("ratio"),
            col("diff_ci_low").exp().alias("ci_low"),
            col("diff_ci_high").exp().alias("ci_high"),
        )
        .sort(*keys, "metric", "difficulty", nulls_last=True)
        .select(*keys, *EFFECT_COLUMNS)
    )
