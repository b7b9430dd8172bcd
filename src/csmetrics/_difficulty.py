"""The difficulty rule: easy, medium or hard from case-table columns (priority, escalations,
transfers, a pass-through column). Shared by :class:`csmetrics.Policy` (the case table's
``difficulty`` column) and :mod:`csmetrics.difficulty` (the analyses)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

import attrs
import polars as pl

from csmetrics._toml import read_toml
from csmetrics.exceptions import PolicyError

__all__ = [
    "DIFFICULTY_DTYPE",
    "DIFFICULTY_LEVELS",
    "DifficultyRule",
    "as_rule",
    "difficulty_columns",
    "difficulty_expr",
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


def as_rule(rule: DifficultyRule | Mapping[str, Any] | None) -> DifficultyRule:
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
    rule = as_rule(rule)
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
    rule = as_rule(rule)
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
