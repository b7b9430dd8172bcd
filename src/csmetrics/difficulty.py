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

import os
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

import attrs
import polars as pl

from csmetrics._analysis import median_difference
from csmetrics._toml import read_toml
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

Level = Literal["easy", "medium", "hard"]
DIFFICULTY_LEVELS: Final[tuple[str, ...]] = ("easy", "medium", "hard")
"""The levels, easiest first."""
DIFFICULTY_DTYPE: Final = pl.Enum(DIFFICULTY_LEVELS)
"""Dtype of the ``difficulty`` column (ordered: easy < medium < hard)."""

_FIELDS: Final = (
    "hard_priorities",
    "medium_priorities",
    "escalated",
    "transfers_medium",
    "transfers_hard",
    "column",
    "values",
)


def _names(value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise PolicyError(f"difficulty rule: priorities must be a list of names (got {value!r})")
    return tuple(str(v).strip().lower() for v in value)


def _level(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value not in DIFFICULTY_LEVELS:
        raise PolicyError(
            f"difficulty rule: {attribute.name!r} must be one of {DIFFICULTY_LEVELS} "
            f"(got {value!r})"
        )


def _threshold(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise PolicyError(
            f"difficulty rule: {attribute.name!r} must be an integer >= 1 or None (got {value!r})"
        )


def _values(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise PolicyError(f"difficulty rule: 'values' must map column values to levels ({value!r})")
    out = {str(k).strip().lower(): v for k, v in value.items()}
    bad = {k: v for k, v in out.items() if v not in DIFFICULTY_LEVELS}
    if bad:
        raise PolicyError(
            f"difficulty rule: 'values' levels must be in {DIFFICULTY_LEVELS} ({bad})"
        )
    return out


@attrs.frozen
class DifficultyRule:
    """What makes a case medium or hard (the defaults are the module's table).

    Parameters
    ----------
    hard_priorities, medium_priorities
        Last priorities that make a case hard / medium.
    escalated
        The level of a case escalated at least once (``"easy"``: escalation does not count).
    transfers_medium, transfers_hard
        Transfers that make a case medium / hard (None: transfers do not count).
    column, values
        A pass-through case column and the level of each of its values (compared as
        lower-case text); other values count as easy.

    Examples
    --------
    >>> DifficultyRule().hard_priorities
    ('urgent',)
    >>> DifficultyRule(escalated="medium", transfers_hard=None).transfers_hard is None
    True
    """

    hard_priorities: tuple[str, ...] = attrs.field(default=("urgent",), converter=_names)
    medium_priorities: tuple[str, ...] = attrs.field(default=("high",), converter=_names)
    escalated: str = attrs.field(default="hard", validator=_level)
    transfers_medium: int | None = attrs.field(default=1, validator=_threshold)
    transfers_hard: int | None = attrs.field(default=2, validator=_threshold)
    column: str | None = None
    values: Mapping[str, str] = attrs.field(factory=dict, converter=_values)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DifficultyRule:
        """A rule from a dict with the TOML keys (see the module docs)."""
        if not isinstance(data, Mapping):
            raise PolicyError(f"a difficulty rule must be a mapping (got {type(data).__name__})")
        unknown = sorted(set(data) - set(_FIELDS))
        if unknown:
            raise PolicyError(f"difficulty rule: unknown key(s) {unknown}; known: {list(_FIELDS)}")
        return cls(**dict(data))

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> DifficultyRule:
        """Read a rule file; errors name the file."""
        try:
            return cls.from_dict(read_toml(path, PolicyError, "difficulty rule"))
        except PolicyError as exc:
            if str(exc).startswith(str(path)):
                raise
            raise PolicyError(f"{path}: {exc}") from None


def _as_rule(rule: DifficultyRule | Mapping[str, Any] | None) -> DifficultyRule:
    if rule is None:
        return DifficultyRule()
    if isinstance(rule, DifficultyRule):
        return rule
    return DifficultyRule.from_dict(rule)


def difficulty_columns(rule: DifficultyRule | Mapping[str, Any] | None = None) -> list[str]:
    """The case-table columns the rule reads.

    >>> difficulty_columns()
    ['priority', 'n_escalations', 'n_transfers']
    """
    rule = _as_rule(rule)
    columns = []
    if rule.hard_priorities or rule.medium_priorities:
        columns.append("priority")
    if rule.escalated != "easy":
        columns.append("n_escalations")
    if rule.transfers_medium is not None or rule.transfers_hard is not None:
        columns.append("n_transfers")
    if rule.column is not None:
        columns.append(rule.column)
    return columns


def difficulty_expr(rule: DifficultyRule | Mapping[str, Any] | None = None) -> pl.Expr:
    """The ``difficulty`` of each case-table row under ``rule`` (default: the module's table).

    Each criterion gives a level (0 easy, 1 medium, 2 hard); the case takes the highest.
    Null inputs (no priority, a null pass-through value) count as easy.

    Examples
    --------
    >>> import polars as pl
    >>> cases = pl.DataFrame({"priority": ["urgent", "high", None, "low"],
    ...     "n_escalations": [0, 0, 1, 0], "n_transfers": [0, 2, 0, 1]})
    >>> cases.select(difficulty_expr())["difficulty"].to_list()
    ['hard', 'hard', 'hard', 'medium']

    Urgent → hard; high (medium) but transferred twice → hard; escalated → hard; one
    transfer → medium.
    """
    rule = _as_rule(rule)
    col = pl.col
    zero = pl.lit(0, pl.UInt8)
    parts: list[pl.Expr] = [zero]
    code = {level: i for i, level in enumerate(DIFFICULTY_LEVELS)}
    if rule.hard_priorities or rule.medium_priorities:
        priority = col("priority").cast(pl.String).str.strip_chars().str.to_lowercase()
        parts.append(
            pl.when(priority.is_in(list(rule.hard_priorities)))
            .then(pl.lit(2, pl.UInt8))
            .when(priority.is_in(list(rule.medium_priorities)))
            .then(pl.lit(1, pl.UInt8))
            .otherwise(zero)
        )
    if rule.escalated != "easy":
        parts.append(
            pl.when(col("n_escalations").fill_null(0) > 0)
            .then(pl.lit(code[rule.escalated], pl.UInt8))
            .otherwise(zero)
        )
    transfers = col("n_transfers").fill_null(0)
    if rule.transfers_hard is not None:
        parts.append(pl.when(transfers >= rule.transfers_hard).then(pl.lit(2, pl.UInt8)))
    if rule.transfers_medium is not None:
        parts.append(pl.when(transfers >= rule.transfers_medium).then(pl.lit(1, pl.UInt8)))
    if rule.column is not None:
        mapping = {k: code[v] for k, v in rule.values.items()}
        parts.append(
            col(rule.column)
            .cast(pl.String)
            .str.strip_chars()
            .str.to_lowercase()
            .replace_strict(mapping, default=0, return_dtype=pl.UInt8)
        )
    levels = pl.Series(DIFFICULTY_LEVELS, dtype=DIFFICULTY_DTYPE)
    highest = pl.max_horizontal(*(p.fill_null(0) for p in parts))
    return pl.lit(levels).gather(highest).alias("difficulty")


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

    rule = _as_rule(rule)
    needed = [
        *difficulty_columns(rule),
        "first_response_time",
        "full_resolution_time",
        "is_open",
    ]
    cases = with_difficulty(case_table(log, policy, columns=needed, on_invalid=on_invalid), rule)
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

    rule = _as_rule(rule)
    keys = [] if by is None else [by]
    needed = [*difficulty_columns(rule), *_DURATIONS, "is_open", *keys]
    cases = with_difficulty(case_table(log, policy, columns=needed, on_invalid=on_invalid), rule)
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
