"""The metric contract and the registry of metrics (DESIGN §4.1).

A metric is a small frozen :class:`Metric`: a stable snake_case ``name``, a ``unit``, the
``level`` it is measured at, a one-paragraph ``definition``, a ``docs`` anchor, and two
expression builders over the case table: ``population(policy)`` (which cases count) and
``value(policy)`` (the per-case value). ``kind`` says how :func:`csmetrics.compute`
aggregates it. Built-ins and plugins share one registry.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Final, Literal, get_args

import attrs
import polars as pl

from csmetrics import plugins
from csmetrics.exceptions import PluginError, PolicyError, UnknownMetricError
from csmetrics.policy import Policy

__all__ = [
    "KINDS",
    "UNITS",
    "Frame",
    "Kind",
    "Level",
    "Metric",
    "Unit",
    "get",
    "names",
    "register",
]

Unit = Literal["seconds", "ratio", "count", "currency", "score"]
Level = Literal["case", "pair", "issue", "period"]
Frame = Literal["cases", "pairs", "issues", "journey_cases", "transitions"]
_LEVEL_FRAME: Final[dict[str, str]] = {
    "case": "cases",
    "pair": "pairs",
    "issue": "issues",
    "period": "cases",
}
Kind = Literal["duration", "rate", "amount", "count", "score", "backlog"]
UNITS: Final[tuple[str, ...]] = get_args(Unit)
KINDS: Final[tuple[str, ...]] = get_args(Kind)
_SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
ExprBuilder = Callable[[Policy], pl.Expr]


def _snake(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not _SNAKE.match(value):
        raise PolicyError(f"metric {attribute.name!r} must be snake_case (got {value!r})")


def _choice(choices: tuple[str, ...]) -> Callable[[object, attrs.Attribute[str], str], None]:
    def check(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
        if value not in choices:
            raise PolicyError(f"metric {attribute.name!r} must be in {choices} (got {value!r})")

    return check


def _everyone(policy: Policy) -> pl.Expr:
    """Every case: a column expression, so that it sums to the number of cases per group."""
    return pl.col("case_id").is_not_null()


@attrs.frozen(kw_only=True)
class Metric:
    """A metric: what it measures, over which cases, and how it is aggregated.

    Parameters
    ----------
    name
        Stable snake_case name, used by :func:`csmetrics.compute` and the CLI.
    unit
        ``seconds``, ``ratio``, ``count``, ``currency`` or ``score``.
    kind
        How it aggregates: ``duration`` (median headline, mean and quantiles in seconds,
        cases without a value counted as ``n_open``), ``rate`` (share of the population,
        with numerator and denominator), ``amount`` (total headline, mean and quantiles),
        ``count`` (number of cases), ``score`` (share of scores ≥ 4, mean score) or
        ``backlog`` (open cases at each period end).
    level
        ``case``, ``pair`` (next-reply pairs), ``issue`` (journeys) or ``period``.
    definition
        One paragraph, shown in reports and docs.
    docs
        The docs anchor, e.g. ``"metrics/first_response_time"``.
    population
        ``policy -> pl.Expr``: Boolean over case-table columns, the cases that count.
    value
        ``policy -> pl.Expr``: the per-case value (Duration, number or Boolean).
    columns
        Case-table columns the expressions read.
    censor_start
        For durations: ``policy -> pl.Expr`` giving when the clock started, so cases
        still running at ``as_of`` can be censored by :func:`csmetrics.survival`.
    frame
        The frame the expressions read: ``cases`` (the case table), ``pairs`` (next-reply
        pairs), ``issues`` (one row per customer issue), ``journey_cases`` (cases with their
        issue and cross-channel flags) or ``transitions`` (follow-up cases of an issue, from
        → to). Default: by ``level`` (issue-level metrics read ``issues``).
    keys
        Extra columns the metric is always split by (the switch matrix by ``from_channel``
        and ``to_channel``).
    open_when
        ``policy -> pl.Expr``: the rows counted in ``n_open``, when that is not "no value
        yet" (durations) or "still open" (other kinds) — e.g. cross-channel FCR counts
        the resolved cases whose window has not closed.
    business
        The case-table column holding the business-time twin of the value, if any.
    requires
        What the source must be able to produce for the metric to be measurable (tokens
        of :mod:`csmetrics._capabilities`, e.g. ``"comp_granted"``).

    Examples
    --------
    >>> import polars as pl, csmetrics as csm
    >>> big_comp = csm.metrics.Metric(name="big_comp_rate", unit="ratio", kind="rate",
    ...     definition="Share of cases comped more than 50.", docs="metrics/comp_rate",
    ...     value=lambda policy: pl.col("comp_total") > 50, columns=("comp_total",))
    >>> big_comp.kind
    'rate'
    """

    name: str = attrs.field(validator=_snake)
    unit: Unit = attrs.field(validator=_choice(UNITS))
    kind: Kind = attrs.field(validator=_choice(KINDS))
    definition: str
    docs: str
    value: ExprBuilder
    population: ExprBuilder = _everyone
    level: Level = attrs.field(default="case", validator=_choice(get_args(Level)))
    columns: tuple[str, ...] = ()
    censor_start: ExprBuilder | None = None
    frame: Frame | None = None
    keys: tuple[str, ...] = ()
    open_when: ExprBuilder | None = None
    business: str | None = None
    requires: frozenset[str] = frozenset()
    plugin_api: int = 1

    @property
    def reads(self) -> str:
        """The frame the metric reads (``frame``, else the one of its ``level``)."""
        return self.frame or _LEVEL_FRAME[self.level]


_BUILTINS: dict[str, Metric] = {}
_RUNTIME: dict[str, Metric] = {}


def _plugins() -> object | None:
    """The entry-point registry of metric plugins."""
    return getattr(plugins, "metric_plugins", None)


def builtin(metric: Metric) -> Metric:
    _BUILTINS[metric.name] = metric
    return metric


def register(metric: Metric, *, replace: bool = False) -> Metric:
    """Register a metric at run time (e.g. in a notebook); returns it.

    Raises
    ------
    PluginError
        When the name is taken and ``replace`` is false.
    """
    if not isinstance(metric, Metric) and not all(
        hasattr(metric, a) for a in ("name", "unit", "kind", "population", "value")
    ):
        raise PluginError(f"{metric!r} is not a metric: it lacks name/unit/kind/population/value")
    taken = metric.name in _BUILTINS or metric.name in _RUNTIME
    if taken and not replace:
        raise PluginError(
            f"a metric named {metric.name!r} is already registered; pass replace=True to "
            "override it"
        )
    _RUNTIME[metric.name] = metric
    return metric


def names() -> list[str]:
    """Every registered metric name (built-ins, runtime registrations and plugins), sorted."""
    found = set(_BUILTINS) | set(_RUNTIME)
    registry = _plugins()
    if registry is not None:
        found |= set(registry.names())  # type: ignore[attr-defined]
    return sorted(found)


def get(name: str) -> Metric:
    """The metric called ``name``.

    Raises
    ------
    UnknownMetricError
        For an unknown name; the message suggests close names.

    Examples
    --------
    >>> import csmetrics as csm
    >>> csm.metrics.get("first_response_time").unit
    'seconds'
    """
    if name in _RUNTIME:
        return _RUNTIME[name]
    if name in _BUILTINS:
        return _BUILTINS[name]
    registry = _plugins()
    if registry is not None and name in registry.names():  # type: ignore[attr-defined]
        return registry.get(name)  # type: ignore[attr-defined,no-any-return]
    raise UnknownMetricError(name, names())


def builtins() -> Iterator[Metric]:
    """The built-in metrics, in registration order."""
    return iter(_BUILTINS.values())


plugins.list_builtins("metric", "csmetrics.metrics", lambda: list(_BUILTINS))
