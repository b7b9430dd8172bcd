"""Service-level agreements: targets per case, whether each was met, and attainment.

An :class:`SlaPolicy` is an ordered list of :class:`SlaRule`; each rule has conditions on
case attributes (priority, channel, team …) and targets (``first_reply``, ``next_reply``,
``periodic_update``, ``resolution``), each an :class:`SlaTarget` in calendar or business
time with optional pausing statuses (DESIGN §5.3). The first matching rule wins.
:func:`sla_table` says, per case and target, whether the target was achieved, breached or is
still open at ``as_of``, with the breach time stamp and the time left; :func:`sla_metrics`
aggregates it into ``sla_attainment`` and ``sla_breaches`` in the tidy schema of
:func:`csmetrics.compute`. Everything is a Polars plan over the sorted events: no Python
runs per case. The exact semantics are in ``docs/sla.md``.

Examples
--------
>>> import csmetrics as csm
>>> from csmetrics.sla import SlaPolicy, sla_table
>>> sla = SlaPolicy.from_dict({"rule": [{"name": "all", "first_reply": "1h"}]})
>>> log = csm.testing.log_from_rows([("09:00", "case_created", "customer"),
...     ("09:40", "message", "agent")])
>>> sla_table(log, sla).collect().select("target", "status", "elapsed_seconds").row(0)
('first_reply', 'achieved', 2400.0)

A reply 40 minutes (2,400 s) after creation meets a one-hour target.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from os import PathLike
from typing import Any, Final, Literal, TypeAlias, get_args

import attrs
import polars as pl

from csmetrics._events import SENTINEL, seg_count
from csmetrics._frozen import FrozenMapping
from csmetrics._toml import read_toml
from csmetrics.calendar import BusinessCalendar, business_deadline, business_duration
from csmetrics.cases import CASE_COLUMNS, OnInvalid, annotated_events, case_table
from csmetrics.exceptions import PolicyError
from csmetrics.log import EventLog
from csmetrics.metrics._aggregate import Period, check_period, period_key, period_start
from csmetrics.metrics._common import counted, customer_cases, resolution_start
from csmetrics.policy import Policy
from csmetrics.schema import RESOLVED_STATUSES, STATUSES, TS_DTYPE

__all__ = [
    "MOMENT_COLUMNS",
    "SLA_COLUMNS",
    "SLA_STATUSES",
    "TARGETS",
    "SlaPolicy",
    "SlaRule",
    "SlaTarget",
    "Target",
    "parse_duration",
    "sla_metrics",
    "sla_table",
]

Target = Literal["first_reply", "next_reply", "periodic_update", "resolution"]
TARGETS: Final[tuple[str, ...]] = get_args(Target)
"""The targets a rule may set, in report order."""
SlaStatus = Literal["achieved", "breached", "open"]
SLA_STATUSES: Final[tuple[str, ...]] = get_args(SlaStatus)
MOMENT_COLUMNS: Final[tuple[str, ...]] = ("priority", "team", "agent_id")
"""Attributes a rule reads as they stood when the target was settled (they change during a
case); every other attribute is the case table's value."""
SLA_COLUMNS: Final[tuple[str, ...]] = (
    "case_id",
    "target",
    "rule",
    "status",
    "business",
    "target_seconds",
    "elapsed_seconds",
    "time_to_breach_seconds",
    "started_at",
    "ended_at",
    "breached_at",
    "due_at",
    "priority_at_end",
    "n_clocks",
    "n_breached",
)
"""The columns :func:`sla_table` starts with; case attributes follow them."""
_ATTRIBUTES: Final[tuple[str, ...]] = (
    "customer_id",
    "channel",
    "channel_kind",
    "is_public_channel",
    "is_public",
    "team",
    "agent_id",
    "priority",
    "difficulty",
    "topic",
    "created_at",
    "last_resolved_at",
    "as_of",
    "is_open",
)
_TARGET_DTYPE: Final = pl.Enum(TARGETS)
_STATUS_DTYPE: Final = pl.Enum(SLA_STATUSES)
_UNITS: Final[dict[str, int]] = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
_DURATION: Final = re.compile(r"\s*(?:\d+(?:\.\d+)?\s*[dhms]\s*)+")
_TOKEN: Final = re.compile(r"(\d+(?:\.\d+)?)\s*([dhms])")
_BLOCK: Final = 2**56  # half the key space of a clock spec in as-of joins (see _keyed)
_US: Final = 1_000_000
_MAX_TARGET_S: Final = 100 * 366 * 86_400
_FILE_KEYS: Final = ("name", "rule", "rules")
_RULE_KEYS: Final = ("name", "when", *TARGETS)
_TARGET_KEYS: Final = ("within", "business", "pause_statuses")

DurationLike: TypeAlias = str | float | int | dt.timedelta
TargetLike: TypeAlias = "SlaTarget | DurationLike | Mapping[str, Any]"


# --------------------------------------------------------------------------- durations


def parse_duration(value: DurationLike) -> float:
    """Seconds in ``value``: a number of seconds, a timedelta, or text such as ``"1h30m"``.

    Units: ``d`` (24 hours), ``h``, ``m`` (minutes), ``s``; decimals are allowed
    (``"1.5h"``).

    Raises
    ------
    PolicyError
        Text that is not a duration, or a value that is not positive.

    Examples
    --------
    >>> parse_duration("1h30m"), parse_duration("2d"), parse_duration(90)
    (5400.0, 172800.0, 90.0)
    """
    if isinstance(value, dt.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and _DURATION.fullmatch(value.lower()):
        seconds = float(sum(float(n) * _UNITS[unit] for n, unit in _TOKEN.findall(value.lower())))
    else:
        raise PolicyError(
            f"a target must be a duration such as '4h', '30m', '1h30m', '2d' or a number of "
            f"seconds (got {value!r})"
        )
    if not seconds > 0 or seconds != seconds or seconds == float("inf"):
        raise PolicyError(f"a target must be a positive, finite duration (got {value!r})")
    return seconds


# --------------------------------------------------------------------------- configuration


def _within(value: object) -> str | float:
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, str):
        return value.strip().lower()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise PolicyError(
        f"'within' must be a duration such as '4h' or a number of seconds (got {value!r})"
    )


def _check_within(instance: SlaTarget, attribute: attrs.Attribute[Any], value: object) -> None:
    if parse_duration(value) > _MAX_TARGET_S:  # type: ignore[arg-type]
        raise PolicyError(f"'within' must be at most 100 years (got {value!r})")
    if instance.business and isinstance(value, str) and "d" in value:
        raise PolicyError(
            f"'within' = {value!r} in business time is ambiguous: a business day is not 24 "
            "business hours. Give business hours instead (e.g. '16h' for two 8-hour days)"
        )


def _status_set(value: object) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset({value})
    if not isinstance(value, Iterable):
        raise PolicyError(f"'pause_statuses' must be a list of statuses (got {value!r})")
    return frozenset(str(v) for v in value)


def _check_statuses(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    bad = sorted(s for s in value if s not in STATUSES)  # type: ignore[attr-defined]
    if bad:
        raise PolicyError(f"'pause_statuses' must hold statuses from {STATUSES} (got {bad})")


def _is_bool(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, bool):
        raise PolicyError(f"{attribute.name!r} must be true or false (got {value!r})")


@attrs.frozen
class SlaTarget:
    """One target: how long a clock may run, in calendar or business time, and what pauses it.

    Parameters
    ----------
    within
        The target: a duration text (``"4h"``, ``"30m"``, ``"1h30m"``, ``"2d"`` = 48 hours),
        a number of seconds or a :class:`~datetime.timedelta`.
    business
        Count business time (needs a :class:`~csmetrics.calendar.BusinessCalendar` when the
        table is computed). A day unit is refused in business time: give business hours.
    pause_statuses
        Statuses in which the clock stops (e.g. ``{"pending"}``). The clock never runs while
        the case is solved or closed, whatever this says.

    Raises
    ------
    PolicyError
        A duration that does not parse or is not positive, an unknown status.

    Examples
    --------
    >>> SlaTarget("1h30m").seconds
    5400.0
    >>> SlaTarget("8h", business=True, pause_statuses=["pending"]).pause_statuses
    frozenset({'pending'})
    """

    within: str | float = attrs.field(converter=_within, validator=_check_within)
    business: bool = attrs.field(default=False, kw_only=True, validator=_is_bool)
    pause_statuses: frozenset[str] = attrs.field(
        default=frozenset(), kw_only=True, converter=_status_set, validator=_check_statuses
    )

    @property
    def seconds(self) -> float:
        """The target in seconds (of business time when ``business``)."""
        return parse_duration(self.within)

    @classmethod
    def from_value(cls, value: TargetLike, *, where: str = "target") -> SlaTarget:
        """A target from a duration or a table ``{within, business, pause_statuses}``."""
        if isinstance(value, SlaTarget):
            return value
        try:
            if isinstance(value, Mapping):
                unknown = [k for k in value if k not in _TARGET_KEYS]
                if unknown:
                    raise PolicyError(
                        f"unknown key(s) {unknown}; a target table takes {list(_TARGET_KEYS)}"
                    )
                if "within" not in value:
                    raise PolicyError("'within' is required, e.g. { within = '4h' }")
                return cls(
                    value["within"],
                    business=value.get("business", False),
                    pause_statuses=value.get("pause_statuses", ()),
                )
            return cls(value)
        except PolicyError as exc:
            raise PolicyError(f"{where}: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        """The file form ``{"within": "4h", "business": true, …}``."""
        out: dict[str, Any] = {"within": self.within}
        if self.business:
            out["business"] = True
        if self.pause_statuses:
            out["pause_statuses"] = sorted(self.pause_statuses)
        return out


def _targets(value: object) -> Mapping[str, SlaTarget]:
    if not isinstance(value, Mapping):
        raise PolicyError(f"'targets' must map target names to targets (got {value!r})")
    unknown = [k for k in value if k not in TARGETS]
    if unknown:
        raise PolicyError(f"unknown target(s) {unknown}; targets are {list(TARGETS)}")
    ordered = {k: SlaTarget.from_value(value[k], where=k) for k in TARGETS if k in value}
    return FrozenMapping(ordered)


def _non_empty_targets(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not value:
        raise PolicyError(
            f"a rule needs at least one target from {list(TARGETS)}, e.g. first_reply = '4h'"
        )


def _conditions(value: object) -> Mapping[str, tuple[str, ...]]:
    if value is None:
        return FrozenMapping({})
    if not isinstance(value, Mapping):
        raise PolicyError(
            f"'when' must map case attributes to values, e.g. {{'priority': ['urgent']}} "
            f"(got {value!r})"
        )
    out: dict[str, tuple[str, ...]] = {}
    for key, wanted in value.items():
        if isinstance(wanted, str | int | bool):
            items: tuple[str, ...] = (_text(wanted),)
        elif isinstance(wanted, Iterable):
            items = tuple(_text(v) for v in wanted)
        else:
            raise PolicyError(f"'when.{key}' must be a value or a list of values (got {wanted!r})")
        if not items:
            raise PolicyError(f"'when.{key}' lists no value; remove it to match every case")
        out[str(key)] = items
    return FrozenMapping(out)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _non_empty_name(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise PolicyError(f"a rule needs a non-empty 'name' (got {value!r})")


@attrs.frozen
class SlaRule:
    """Targets for the cases that match some conditions.

    Parameters
    ----------
    name
        Shown in the ``rule`` column of :func:`sla_table`.
    targets
        ``{target: SlaTarget or duration}`` for some of :data:`TARGETS`.
    when
        ``{case attribute: value or values}``; a case matches when every attribute holds
        one of its values (compared as text; a null never matches). Empty: every case.

    Examples
    --------
    >>> rule = SlaRule("urgent", when={"priority": ["urgent", "high"]},
    ...     targets={"first_reply": "1h"})
    >>> rule.when["priority"], rule.targets["first_reply"].seconds
    (('urgent', 'high'), 3600.0)
    """

    name: str = attrs.field(validator=_non_empty_name)
    targets: Mapping[str, SlaTarget] = attrs.field(
        kw_only=True, converter=_targets, validator=_non_empty_targets
    )
    when: Mapping[str, tuple[str, ...]] = attrs.field(
        factory=dict, kw_only=True, converter=_conditions
    )

    def matches(self, attributes: Mapping[str, object]) -> bool:
        """Whether a case with these attributes matches (a missing attribute never does)."""
        return all(
            attributes.get(key) is not None and _text(attributes[key]) in wanted
            for key, wanted in self.when.items()
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.when:
            out["when"] = {k: list(v) for k, v in self.when.items()}
        for key, target in self.targets.items():
            out[key] = target.to_dict()
        return out


def _rules(value: object) -> tuple[SlaRule, ...]:
    if isinstance(value, SlaRule):
        return (value,)
    if not isinstance(value, Iterable) or isinstance(value, str | Mapping):
        raise PolicyError(f"'rules' must be a list of SlaRule (got {value!r})")
    items = tuple(value)
    bad = [r for r in items if not isinstance(r, SlaRule)]
    if bad:
        raise PolicyError(f"'rules' must hold SlaRule objects (got {bad[0]!r})")
    return items


def _check_rules(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not value:
        raise PolicyError("an SLA policy needs at least one rule")
    names = [r.name for r in value]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise PolicyError(f"rule names must be distinct (got {dupes} more than once)")


@attrs.frozen
class SlaPolicy:
    """Ordered SLA rules: the first rule whose conditions a case matches gives its targets.

    A target the winning rule does not set is not measured for that case (later rules are
    not consulted, as in Zendesk). A case no rule matches has no SLA.

    Parameters
    ----------
    rules
        :class:`SlaRule` objects, most specific first.
    name
        A label for reports.

    See Also
    --------
    SlaPolicy.from_dict, SlaPolicy.from_toml, sla_table, sla_metrics

    Examples
    --------
    >>> sla = SlaPolicy.from_dict({"rule": [
    ...     {"name": "urgent", "when": {"priority": "urgent"}, "first_reply": "1h"},
    ...     {"name": "email", "when": {"channel": "email"}, "first_reply": "1d"},
    ...     {"name": "default", "first_reply": "2d"},
    ... ]})
    >>> sla.match({"priority": "urgent", "channel": "email"}).name
    'urgent'
    >>> sla.match({"priority": "low", "channel": "chat"}).name
    'default'
    """

    rules: tuple[SlaRule, ...] = attrs.field(converter=_rules, validator=_check_rules)
    name: str = attrs.field(default="", kw_only=True, converter=str)

    @property
    def needs_calendar(self) -> bool:
        """Whether some target counts business time."""
        return any(t.business for r in self.rules for t in r.targets.values())

    @property
    def targets(self) -> tuple[str, ...]:
        """The targets some rule sets, in :data:`TARGETS` order."""
        used = {k for r in self.rules for k in r.targets}
        return tuple(t for t in TARGETS if t in used)

    @property
    def condition_columns(self) -> tuple[str, ...]:
        """The case attributes the rules read."""
        return tuple(dict.fromkeys(k for r in self.rules for k in r.when))

    def match(self, attributes: Mapping[str, object]) -> SlaRule | None:
        """The first rule a case with these attributes matches, or ``None``."""
        return next((r for r in self.rules if r.matches(attributes)), None)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str | None = None) -> SlaPolicy:
        """Build a policy from the file structure as a dict (see ``docs/sla.md``).

        Keys: ``name`` and ``rule`` (or ``rules``), a list of tables with ``name``, ``when``
        and target keys (``first_reply`` …) whose values are durations or tables
        ``{within, business, pause_statuses}``.

        Raises
        ------
        PolicyError
            Any malformed entry; the message names it (``rule[1].resolution``).
        """
        where = source or "sla"
        if not isinstance(data, Mapping):
            raise PolicyError(f"{where}: expected a table with keys {list(_FILE_KEYS)}")
        unknown = [k for k in data if k not in _FILE_KEYS]
        if unknown:
            raise PolicyError(
                f"{where}: unknown key(s) {unknown}; allowed keys are {list(_FILE_KEYS)}"
            )
        raw_rules = data.get("rule", data.get("rules"))
        if not raw_rules or not isinstance(raw_rules, list | tuple):
            raise PolicyError(
                f"{where}: at least one [[rule]] is required, e.g. "
                "[[rule]] name = 'default'  first_reply = '4h'"
            )
        rules = []
        for i, raw in enumerate(raw_rules):
            label = f"{where}: rule[{i}]"
            if isinstance(raw, SlaRule):
                rules.append(raw)
                continue
            if not isinstance(raw, Mapping):
                raise PolicyError(f"{label}: expected a table (got {raw!r})")
            bad = [k for k in raw if k not in _RULE_KEYS]
            if bad:
                raise PolicyError(f"{label}: unknown key(s) {bad}; a rule takes {list(_RULE_KEYS)}")
            try:
                rules.append(
                    SlaRule(
                        raw.get("name", f"rule{i}"),
                        when=raw.get("when"),
                        targets={k: raw[k] for k in TARGETS if k in raw},
                    )
                )
            except PolicyError as exc:
                raise PolicyError(f"{label}: {exc}") from None
        try:
            return cls(tuple(rules), name=data.get("name", ""))
        except PolicyError as exc:
            raise PolicyError(f"{where}: {exc}") from None

    @classmethod
    def from_toml(cls, path: str | PathLike[str]) -> SlaPolicy:
        """Read an SLA file (TOML); errors name the file.

        Raises
        ------
        PolicyError
            The file is missing, is not TOML, or holds a malformed policy.
        """
        data = read_toml(path, PolicyError, "SLA")
        return cls.from_dict(data, source=str(path))

    def to_dict(self) -> dict[str, Any]:
        """The file structure (``from_dict(sla.to_dict()) == sla``)."""
        out: dict[str, Any] = {"name": self.name} if self.name else {}
        out["rule"] = [r.to_dict() for r in self.rules]
        return out


SlaLike: TypeAlias = SlaPolicy | Mapping[str, Any] | str | PathLike[str]


def _as_sla(sla: SlaLike) -> SlaPolicy:
    if isinstance(sla, SlaPolicy):
        return sla
    if isinstance(sla, Mapping):
        return SlaPolicy.from_dict(sla)
    if isinstance(sla, str | PathLike):
        return SlaPolicy.from_toml(sla)
    raise PolicyError(
        f"'sla' must be an SlaPolicy, a dict or the path of an SLA file (got {sla!r})"
    )


# --------------------------------------------------------------------------- plan pieces


def _first_row() -> pl.Expr:
    return (pl.col("case_id").shift(1) != pl.col("case_id")).fill_null(value=True)


def _last_row() -> pl.Expr:
    return (pl.col("case_id").shift(-1) != pl.col("case_id")).fill_null(value=True)


def _status_intervals(events: pl.LazyFrame) -> pl.LazyFrame:
    """One row per status interval ``[_a, _b)`` with its status ``_s``; the last ends at
    ``as_of`` (``_last``). Zero-length intervals are dropped (they hold no time), except a
    case's last, so ``_a`` rises strictly within a case."""
    rows = events.filter(pl.col("_sets").is_not_null() | pl.col("_start")).select(
        "case_id",
        pl.col("ts").alias("_a"),
        pl.col("_status_after").alias("_s"),
        "_as_of",
    )
    last = _last_row()
    rows = rows.with_columns(
        pl.when(last).then(pl.col("_as_of")).otherwise(pl.col("_a").shift(-1)).alias("_b"),
        last.alias("_last"),
    )
    rows = rows.filter((pl.col("_b") > pl.col("_a")) | pl.col("_last"))
    return rows.with_columns(_first_row().alias("_first"))


def _measure(start: str, end: str, business: bool, calendar: BusinessCalendar | None) -> pl.Expr:
    """Clock time from ``start`` to ``end`` in µs (business time with ``business``)."""
    if business:
        assert calendar is not None
        return business_duration(start, end, calendar).dt.total_microseconds()
    return (pl.col(end) - pl.col(start)).dt.total_microseconds()


def _clocks(
    intervals: pl.LazyFrame,
    specs: Sequence[tuple[bool, frozenset[str]]],
    calendar: BusinessCalendar | None,
) -> pl.LazyFrame:
    """Per clock spec and interval: ``_spec``, ``_r`` (the clock runs), ``_m`` (the
    interval's length in clock time, µs), ``_k0`` and ``_k1`` (clock time since the case
    began, at the interval's start and end). Rows stay contiguous per spec and case."""
    parts = []
    for i, (business, pause) in enumerate(specs):
        stopped = sorted(pause | set(RESOLVED_STATUSES))
        parts.append(
            intervals.with_columns(
                pl.lit(i, pl.Int64).alias("_spec"),
                (~pl.col("_s").is_in(stopped)).alias("_r"),
                _measure("_a", "_b", business, calendar).alias("_m"),
            )
        )
    frame = pl.concat(parts, how="vertical")
    first = _first_row() | (pl.col("_spec") != pl.col("_spec").shift(1)).fill_null(value=True)
    contrib = pl.when(pl.col("_r")).then(pl.col("_m")).otherwise(0)
    # A global running sum reset at each block's first row; in Int128, as the sum over
    # every case can pass the Int64 range (a million cases open for months).
    total = contrib.cast(pl.Int128).cum_sum()
    base = pl.when(first).then(total - contrib).forward_fill()
    frame = frame.with_columns((total - base).cast(pl.Int64).alias("_k1"))
    return frame.with_columns((pl.col("_k1") - contrib).alias("_k0"))


def _instances(
    events: pl.LazyFrame, cases: pl.LazyFrame, targets: Sequence[str], policy: Policy
) -> pl.LazyFrame:
    """Every clock of every target: ``case_id``, ``target``, ``_S`` (start), ``_F`` (the
    event that fulfilled it, null if none yet)."""
    none = pl.lit(None, TS_DTYPE)
    parts: list[pl.LazyFrame] = []
    if "first_reply" in targets:
        parts.append(
            cases.filter(customer_cases(policy).fill_null(value=False)).select(
                "case_id",
                pl.lit("first_reply").alias("target"),
                pl.col("first_response_start_at").alias("_S"),
                pl.col("first_response_at").alias("_F"),
            )
        )
    if "resolution" in targets:
        parts.append(
            cases.filter(counted(policy)).select(
                "case_id",
                pl.lit("resolution").alias("target"),
                resolution_start(policy).alias("_S"),
                pl.col("last_resolved_at").alias("_F"),
            )
        )
    marked = events.with_columns(_last_row().alias("_end_row"))
    if "next_reply" in targets:
        pairs = marked.filter(pl.col("_pair").is_not_null()).select(
            "case_id",
            pl.lit("next_reply").alias("target"),
            (pl.col("ts") - pl.col("_pair")).alias("_S"),
            pl.col("ts").alias("_F"),
        )
        waiting = marked.filter(
            pl.col("_end_row")
            & (pl.col("_waiting_since") != SENTINEL)
            & (pl.col("_reply_rank") >= 1)
        ).select(
            "case_id",
            pl.lit("next_reply").alias("target"),
            pl.col("_waiting_since").cast(TS_DTYPE).alias("_S"),
            none.alias("_F"),
        )
        parts += [pairs, waiting]
    if "periodic_update" in targets:
        last_reply = pl.when(pl.col("_reply")).then(pl.col("ts")).forward_fill()
        with_last = marked.with_columns(
            pl.when(pl.col("_reply_rank") >= 1).then(last_reply).alias("_last_reply_at")
        ).with_columns(pl.col("_last_reply_at").shift(1).alias("_prev_reply_at"))
        gaps = with_last.filter(pl.col("_reply") & (pl.col("_n_reply_before") >= 1)).select(
            "case_id",
            pl.lit("periodic_update").alias("target"),
            pl.col("_prev_reply_at").alias("_S"),
            pl.col("ts").alias("_F"),
        )
        tail = with_last.filter(pl.col("_end_row") & (pl.col("_reply_rank") >= 1)).select(
            "case_id",
            pl.lit("periodic_update").alias("target"),
            pl.col("_last_reply_at").alias("_S"),
            none.alias("_F"),
        )
        parts += [gaps, tail]
    frame = pl.concat(parts, how="vertical")
    if "next_reply" in targets or "periodic_update" in targets:
        kept = cases.filter(counted(policy)).select("case_id")
        per_case = pl.col("target").is_in(["next_reply", "periodic_update"])
        frame = pl.concat(
            [
                frame.filter(~per_case),
                frame.filter(per_case).join(kept, on="case_id", how="semi"),
            ],
            how="vertical",
        )
    return frame


def _condition(column: str, wanted: tuple[str, ...]) -> pl.Expr:
    source = f"_at_{column}" if column in MOMENT_COLUMNS else column
    return pl.col(source).cast(pl.String).is_in(list(wanted)).fill_null(value=False)


def _rule_index(sla: SlaPolicy) -> pl.Expr:
    """The index of the first rule the row matches (null: none)."""
    index: pl.Expr = pl.lit(None, pl.Int32)
    for i in reversed(range(len(sla.rules))):
        rule = sla.rules[i]
        conditions = [_condition(c, v) for c, v in rule.when.items()]
        matched = pl.all_horizontal(conditions) if conditions else pl.lit(value=True)
        index = pl.when(matched).then(pl.lit(i, pl.Int32)).otherwise(index)
    return index


def _moment_state(events: pl.LazyFrame, columns: Sequence[str]) -> pl.LazyFrame:
    """Per case and time stamp: ``columns`` as they stood after the last event at it."""
    values = [
        pl.when(seg_count(pl.col(c).is_not_null()) > 0)
        .then(pl.col(c).forward_fill())
        .alias(f"_at_{c}")
        for c in columns
    ]
    last_at_ts = _last_row() | (pl.col("ts").shift(-1) != pl.col("ts")).fill_null(value=True)
    return (
        events.with_columns(values)
        .filter(last_at_ts)
        .select("case_id", pl.col("ts").alias("_settle"), *(f"_at_{c}" for c in columns))
    )


def _specs(sla: SlaPolicy) -> tuple[pl.DataFrame, list[tuple[bool, frozenset[str]]]]:
    """A row per (target, rule index) with the target's µs and clock spec; the specs."""
    specs: list[tuple[bool, frozenset[str]]] = []
    rows: list[tuple[str, int, str, int, int, bool]] = []
    for i, rule in enumerate(sla.rules):
        for target, spec in rule.targets.items():
            key = (spec.business, spec.pause_statuses - set(RESOLVED_STATUSES))
            if key not in specs:
                specs.append(key)
            micros = round(spec.seconds * _US)
            rows.append((target, i, rule.name, micros, specs.index(key), spec.business))
    frame = pl.DataFrame(
        rows,
        schema={
            "target": pl.String,
            "_rule_idx": pl.Int32,
            "rule": pl.String,
            "_T": pl.Int64,
            "_spec": pl.Int64,
            "business": pl.Boolean,
        },
        orient="row",
    )
    return frame, specs


def _keyed(spec: pl.Expr, value: pl.Expr) -> pl.Expr:
    """One Int64 key, in a block per spec: ``spec · 2^57 + 2^56 + value``, for ``value`` in
    [-2^56, 2^56) (µs since 1970: about ±2,280 years; at most 32 specs)."""
    return spec.cast(pl.Int64) * (2 * _BLOCK) + _BLOCK + value


def _asof(
    left: pl.LazyFrame, right: pl.LazyFrame, on: tuple[str, str], strategy: str
) -> pl.LazyFrame:
    """An as-of join by case on keys made with :func:`_keyed` (faster than joining by case
    and spec: Polars is much slower with two ``by`` columns)."""
    return left.sort(on[0]).join_asof(
        right.sort(on[1]),
        left_on=on[0],
        right_on=on[1],
        by="case_id",
        strategy=strategy,  # type: ignore[arg-type]
        check_sortedness=False,
    )


def _row_measure(start: str, end: str, calendar: BusinessCalendar | None) -> pl.Expr:
    """Clock time from ``start`` to ``end`` in µs, business time where ``business``."""
    plain = _measure(start, end, business=False, calendar=None)
    if calendar is None:
        return plain
    return pl.when(pl.col("business")).then(_measure(start, end, True, calendar)).otherwise(plain)


def _measured(
    instances: pl.LazyFrame, clocks: pl.LazyFrame, calendar: BusinessCalendar | None
) -> pl.LazyFrame:
    """Elapsed clock time (``_KE - _KS``) and the deadline ``_D`` of every clock instance.

    The clock at an instant is the clock at the start of the status interval holding it
    plus the running time since; the deadline lies in the first running interval whose
    clock at its end reaches ``_X`` (the last interval runs on after ``as_of``).
    """
    spec = pl.col("_spec")
    at = clocks.select(
        "case_id", "_a", "_r", "_k0", _keyed(spec, pl.col("_a").dt.epoch("us")).alias("_key")
    )
    for end, tag in (("_S", "S"), ("_Eobs", "E")):
        names = {"_a": f"_a{tag}", "_r": f"_r{tag}", "_k0": f"_k0{tag}", "_key": f"_key{tag}"}
        keyed = instances.with_columns(_keyed(spec, pl.col(end).dt.epoch("us")).alias("_at"))
        instances = _asof(keyed, at.rename(names), ("_at", f"_key{tag}"), "backward")
        running = _row_measure(f"_a{tag}", end, calendar)
        instances = instances.with_columns(
            (pl.col(f"_k0{tag}") + pl.when(pl.col(f"_r{tag}")).then(running).otherwise(0)).alias(
                f"_K{tag}"
            )
        )
    instances = instances.with_columns((pl.col("_KS") + pl.col("_T")).alias("_X"))
    search = clocks.filter(pl.col("_r") & ((pl.col("_m") > 0) | pl.col("_last"))).select(
        "case_id",
        pl.col("_spec").alias("_specD"),
        pl.col("_a").alias("_aD"),
        pl.col("_k0").alias("_k0D"),
        _keyed(
            spec,
            pl.when(pl.col("_last")).then(pl.lit(_BLOCK - 1, pl.Int64)).otherwise(pl.col("_k1")),
        ).alias("_keyD"),
    )
    keyed = instances.with_columns(_keyed(spec, pl.col("_X")).alias("_at"))
    instances = _asof(keyed, search, ("_at", "_keyD"), "forward")
    found = pl.col("_specD") == spec  # else the search ran into the next spec's block
    start = pl.when(found).then(pl.col("_aD"))
    rest = pl.duration(microseconds=pl.col("_X") - pl.col("_k0D"))
    deadline = start + rest
    if calendar is not None:
        in_business = business_deadline(start, rest, calendar)
        deadline = pl.when(pl.col("business")).then(in_business).otherwise(deadline)
    return instances.with_columns(deadline.cast(TS_DTYPE).alias("_D"))


def _check_calendar(sla: SlaPolicy, calendar: object) -> BusinessCalendar | None:
    if calendar is not None and not isinstance(calendar, BusinessCalendar):
        raise PolicyError(f"'calendar' must be a BusinessCalendar (got {calendar!r})")
    if sla.needs_calendar and calendar is None:
        business = sorted(
            f"{r.name}.{k}" for r in sla.rules for k, t in r.targets.items() if t.business
        )
        raise PolicyError(
            f"targets {business} count business time: pass calendar=BusinessCalendar(...) "
            "(e.g. BusinessCalendar.from_toml('hours.toml'))"
        )
    return calendar


def sla_table(
    log: EventLog | object,
    sla: SlaLike,
    *,
    policy: Policy | None = None,
    calendar: BusinessCalendar | None = None,
    on_invalid: OnInvalid = "raise",
    events: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """Per case and target: achieved, breached or open at ``as_of``, and when.

    Each target runs one clock per case (``first_reply``, ``resolution``) or several
    (``next_reply``: one per customer message waiting for a reply; ``periodic_update``: one
    per gap between replies). A clock runs only while the case is in a status that neither
    ``pause_statuses`` nor solved/closed stops, and ends at the event that fulfils it — or at
    the case's last solve when the case is solved or closed at ``as_of`` without one. The
    rule comes from the case attributes when the clock ended (at ``as_of`` while it runs):
    ``priority``, ``team`` and ``agent_id`` as they stood then, the others as in the case
    table. ``docs/sla.md`` has the details.

    Parameters
    ----------
    log
        An :class:`~csmetrics.EventLog` or anything :meth:`EventLog.from_frame` reads.
    sla
        An :class:`SlaPolicy`, its dict form, or the path of an SLA TOML file.
    policy
        The case definitions (first-response clock start, ``as_of`` …); default ``Policy()``.
    calendar
        The business calendar; required when a target counts business time.
    on_invalid
        ``"raise"`` or ``"quarantine"``, as in :func:`csmetrics.case_table`.
    events
        :func:`csmetrics.cases.annotated_events` of ``log`` under ``policy``, when the
        caller has them already (so that one plan sorts the events once); ``log`` is then
        not read.

    Returns
    -------
    pl.LazyFrame
        One row per case and target the case's rule sets (a target with no clock, e.g. a
        ``next_reply`` on a case where the customer never wrote again, has no row).
        Columns :data:`SLA_COLUMNS`: ``target`` (Enum), ``rule``, ``status`` (Enum
        ``achieved`` / ``breached`` / ``open``), ``business``, ``target_seconds``,
        ``elapsed_seconds`` (clock time, business seconds for business targets, up to the
        end or ``as_of``), ``time_to_breach_seconds`` (target − elapsed: the time left for
        open targets, the margin for achieved ones, ≤ 0 for breached ones), ``started_at``,
        ``ended_at`` (null while open), ``breached_at`` (when the clock passed the target;
        breached only), ``due_at`` (open only: when it breaches if the clock keeps running;
        null while it is paused), ``priority_at_end`` (the priority when the clock ended, or
        at ``as_of``: the one the rule was matched on), ``n_clocks``, ``n_breached``; then
        the case attributes (``channel``, ``channel_kind``, ``team``, ``priority`` (the
        last), ``topic``, ``created_at`` …) and pass-through columns. For targets with
        several clocks, the row describes the first breached clock, else the open one, else
        the one that came closest to its target.

    Raises
    ------
    PolicyError
        A business target without a calendar, or a condition on a column the case table
        does not have.

    Examples
    --------
    >>> import csmetrics as csm
    >>> from csmetrics.sla import SlaPolicy, SlaRule, sla_table
    >>> sla = SlaPolicy([SlaRule("all", targets={"resolution": "2h"})])
    >>> log = csm.testing.log_from_rows([("09:00", "case_created", "customer"),
    ...     ("09:30", "message", "agent"), ("12:00", "note", "agent")])
    >>> row = sla_table(log, sla).collect().row(0, named=True)
    >>> row["status"], row["breached_at"].time(), row["time_to_breach_seconds"]
    ('breached', datetime.time(11, 0), -3600.0)

    Still unsolved at ``as_of`` (12:00, the last event): the two-hour target ran out at
    11:00, one hour (3,600 s) ago.
    """
    policy = policy or Policy()
    sla = _as_sla(sla)
    calendar = _check_calendar(sla, calendar)
    # Several branches read the sorted events and the case table: without the caches the
    # events would be sorted once per branch.
    if events is None:
        events = annotated_events(log, policy, on_invalid=on_invalid)
    events = events.cache()
    cases = case_table(log, policy=policy, on_invalid=on_invalid).cache()
    names = cases.collect_schema().names()
    unknown = [c for c in sla.condition_columns if c not in names]
    if unknown:
        raise PolicyError(
            f"SLA conditions on column(s) {unknown} that the case table does not have; "
            f"available: {names}"
        )
    # the priority is always looked up: the output reports the one the rule saw
    moment = list(
        dict.fromkeys(["priority", *(c for c in sla.condition_columns if c in MOMENT_COLUMNS)])
    )
    fixed = [c for c in sla.condition_columns if c not in MOMENT_COLUMNS]
    base = ["is_open", "last_resolved_at", "last_event_at", "as_of"]
    info = cases.select("case_id", *dict.fromkeys([*base, *fixed]))

    instances = _instances(events, cases, sla.targets, policy).join(info, on="case_id", how="inner")
    # A clock ends at the event fulfilling it, else at the last resolve of a case resolved
    # at as_of; never before its start (a resolution clock started by a customer message
    # after the last solve ends where it starts).
    ended = pl.coalesce("_F", pl.when(~pl.col("is_open")).then(pl.col("last_resolved_at")))
    end = pl.when(ended.is_not_null()).then(pl.max_horizontal("_S", ended))
    instances = instances.with_columns(end.alias("_E")).with_columns(
        pl.coalesce("_E", "last_event_at").alias("_settle"),
        pl.coalesce("_E", "as_of").alias("_Eobs"),
    )
    state = _moment_state(events, moment)
    instances = instances.join(state, on=["case_id", "_settle"], how="left")
    params, specs = _specs(sla)
    instances = instances.with_columns(_rule_index(sla).alias("_rule_idx")).join(
        params.lazy(), on=["target", "_rule_idx"], how="inner"
    )
    clocks = _clocks(_status_intervals(events), specs, calendar)
    measured = _measured(instances, clocks, calendar).with_columns(
        (pl.col("_KE") - pl.col("_KS")).alias("_elapsed")
    )
    over = pl.col("_elapsed") > pl.col("_T")
    reached = pl.col("_elapsed") >= pl.col("_T")
    status = (
        pl.when(pl.col("_E").is_not_null())
        .then(pl.when(over).then(pl.lit("breached")).otherwise(pl.lit("achieved")))
        .otherwise(pl.when(reached).then(pl.lit("breached")).otherwise(pl.lit("open")))
    )
    measured = measured.with_columns(status.cast(_STATUS_DTYPE).alias("status"))
    breached = pl.col("status") == "breached"
    is_open = pl.col("status") == "open"
    measured = measured.with_columns(
        pl.when(breached).then(pl.col("_D")).alias("breached_at"),
        pl.when(is_open).then(pl.col("_D")).alias("due_at"),
        pl.when(breached).then(0).when(is_open).then(1).otherwise(2).alias("_rank"),
        pl.when(breached)
        .then(pl.col("_D").dt.epoch("us"))
        .when(is_open)
        .then(0)
        .otherwise(-pl.col("_elapsed"))
        .alias("_rank2"),
    )
    seconds = 1 / _US
    per_target = (
        measured.sort(["case_id", "target", "_rank", "_rank2", "_S"])
        .group_by(["case_id", "target"])
        .agg(
            pl.col("rule").first(),
            pl.col("status").first(),
            pl.col("business").first(),
            (pl.col("_T").first() * seconds).alias("target_seconds"),
            (pl.col("_elapsed").first() * seconds).alias("elapsed_seconds"),
            ((pl.col("_T") - pl.col("_elapsed")).first() * seconds).alias("time_to_breach_seconds"),
            pl.col("_S").first().alias("started_at"),
            pl.col("_E").first().alias("ended_at"),
            pl.col("breached_at").first(),
            pl.col("due_at").first(),
            pl.col("_at_priority").first().alias("priority_at_end"),
            pl.len().cast(pl.UInt32).alias("n_clocks"),
            breached.sum().cast(pl.UInt32).alias("n_breached"),
        )
    )
    passthrough = [c for c in names if c not in CASE_COLUMNS]
    attributes = cases.select("case_id", *_ATTRIBUTES, *passthrough)
    return (
        per_target.with_columns(pl.col("target").cast(_TARGET_DTYPE))
        .join(attributes, on="case_id", how="left")
        .select(*SLA_COLUMNS, *_ATTRIBUTES, *passthrough)
        .sort(["case_id", "target"])
    )


def sla_metrics(
    log: EventLog | object,
    sla: SlaLike,
    *,
    by: str | Sequence[str] = (),
    period: Period | None = None,
    policy: Policy | None = None,
    calendar: BusinessCalendar | None = None,
    quantiles: Sequence[float] = (0.5, 0.9),
    on_invalid: OnInvalid = "raise",
    events: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """``sla_attainment`` and ``sla_breaches`` per group, period and target, tidy.

    ``sla_attainment`` (unit ``ratio``): ``value`` = achieved / (achieved + breached);
    ``n`` = achieved + breached, ``n_open`` = targets still open at ``as_of`` (left out of
    the ratio, reported beside it); ``numerator``, ``denominator``. ``sla_breaches`` (unit
    ``count``): ``value`` = breached targets; ``n`` = every case with the target, ``n_open``
    as above. One row per case and target is counted (:func:`sla_table`), so a case whose
    next replies breached twice counts once.

    Parameters
    ----------
    log, sla, policy, calendar, on_invalid, events
        As in :func:`sla_table`.
    by
        Columns of :func:`sla_table` to group by (``channel``, ``team``, ``priority``,
        ``rule`` …).
    period
        ``"day"``, ``"week"``, ``"month"`` or ``"quarter"`` in ``policy.timezone``; cases
        are attributed as in :func:`csmetrics.compute` (``policy.period_by``).
    quantiles
        Only shapes the output: null ``p50``, ``p90`` … columns, so the frame stacks onto
        :func:`csmetrics.compute`'s.

    Returns
    -------
    pl.LazyFrame
        The ``by`` columns, ``period_start`` (with a period), ``target``, then the columns
        of :func:`csmetrics.compute`: ``metric``, ``unit``, ``n``, ``n_open``, ``value``,
        ``mean``, the quantile columns, ``numerator``, ``denominator``.

    Examples
    --------
    >>> import csmetrics as csm
    >>> from csmetrics.sla import sla_metrics
    >>> sla = {"rule": [{"name": "all", "first_reply": "1h"}]}
    >>> log = csm.testing.log_from_rows([
    ...     ("09:00", "case_created", "customer", {"case_id": 1}),
    ...     ("09:30", "message", "agent", {"case_id": 1}),
    ...     ("09:00", "case_created", "customer", {"case_id": 2}),
    ...     ("11:00", "message", "agent", {"case_id": 2}),
    ...     ("11:00", "case_created", "customer", {"case_id": 3})])
    >>> out = sla_metrics(log, sla).collect()
    >>> out.select("metric", "n", "n_open", "value").rows()
    [('sla_attainment', 2, 1, 0.5), ('sla_breaches', 3, 1, 1.0)]

    Case 1 answered in 30 minutes (achieved), case 2 in two hours (breached), case 3 was
    created at ``as_of`` (open): attainment 1 / (1 + 1).
    """

    policy = policy or Policy()
    by_cols = [by] if isinstance(by, str) else list(by)
    bad = [q for q in quantiles if not 0 <= q <= 1]
    if bad:
        raise PolicyError(f"'quantiles' must lie in [0, 1] (got {bad})")
    check_period(period)
    table = sla_table(
        log, sla, policy=policy, calendar=calendar, on_invalid=on_invalid, events=events
    )
    available = table.collect_schema().names()
    unknown = [c for c in by_cols if c not in available]
    if unknown:
        raise PolicyError(
            f"'by' column(s) {unknown} are not in the SLA table; available: {available}"
        )
    keys = list(by_cols)
    if period is not None:
        anchor = "created_at" if policy.period_by == "created" else "last_resolved_at"
        table = table.with_columns(period_start(anchor, period, policy.timezone))
        keys += period_key(period)
    keys.append("target")
    achieved = (pl.col("status") == "achieved").sum().alias("_a")
    breached = (pl.col("status") == "breached").sum().alias("_b")
    still_open = (pl.col("status") == "open").sum().alias("_o")
    counts = table.group_by(keys).agg(achieved, breached, still_open).cache()
    settled = pl.col("_a") + pl.col("_b")
    nothing = pl.lit(None, pl.Float64)
    q_columns = [
        nothing.alias("p" + f"{q * 100:g}".replace(".", "_")) for q in dict.fromkeys(quantiles)
    ]
    share = pl.when(settled > 0).then(pl.col("_a") / settled)
    attainment = counts.select(
        *keys,
        pl.lit("sla_attainment").alias("metric"),
        pl.lit("ratio").alias("unit"),
        settled.cast(pl.Int64).alias("n"),
        pl.col("_o").cast(pl.Int64).alias("n_open"),
        share.alias("value"),
        share.alias("mean"),
        *q_columns,
        pl.col("_a").cast(pl.Float64).alias("numerator"),
        settled.cast(pl.Float64).alias("denominator"),
    )
    breaches = counts.select(
        *keys,
        pl.lit("sla_breaches").alias("metric"),
        pl.lit("count").alias("unit"),
        (settled + pl.col("_o")).cast(pl.Int64).alias("n"),
        pl.col("_o").cast(pl.Int64).alias("n_open"),
        pl.col("_b").cast(pl.Float64).alias("value"),
        nothing.alias("mean"),
        *q_columns,
        nothing.alias("numerator"),
        nothing.alias("denominator"),
    )
    return pl.concat([attainment, breaches], how="vertical").sort(
        [*keys, "metric"], nulls_last=True
    )
