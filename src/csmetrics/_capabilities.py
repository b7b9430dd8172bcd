"""What a source can produce, and which metrics it therefore cannot measure.

A source format records some kinds of events and not others: a ServiceNow incident log has
no messages, a Twitter thread no status changes and no compensation. A metric computed from
events a source never records is not 0 % -- it is *not measurable*. Each adapter declares
its source's :class:`Capabilities`; :func:`csmetrics.scan_events` puts them on the
:class:`~csmetrics.EventLog` (``log.capabilities``; ``None`` means "can produce
everything", e.g. a canonical file). A metric declares the events and fields it needs as
*requirement tokens* (the vocabulary below); :func:`unmeasurable` compares both and gives
the reason, and :func:`mark_unmeasurable` blanks those metrics in a tidy result and says why
in a ``not_measurable`` column.

Requirement tokens
------------------
``"<event_type>"``
    The source records events of that type: ``"status_changed"``, ``"comp_granted"``,
    ``"csat"``, ``"escalated"``, ``"transferred"``, ``"call_abandoned"`` … (every event
    type of :data:`csmetrics.schema.EVENT_TYPES` except ``message``).
``"message:<actor>"``
    The source records messages written by that actor: ``"message:customer"``,
    ``"message:agent"`` (a human agent's reply), ``"message:bot"``, ``"message:system"``.
``"field:<column>"``
    The source fills that optional canonical column: ``"field:is_public"`` (visibility),
    ``"field:agent_id"``, ``"field:team"``, ``"field:priority"``, ``"field:topic"``,
    ``"field:comp_amount"``, ``"field:csat_score"``, ``"field:handle_seconds"``.

Examples
--------
>>> caps = Capabilities(
...     source="ServiceNow incident event log",
...     event_types={"case_created", "status_changed", "assigned"},
...     notes={"message": "an incident log records updates of the incident, not messages"})
>>> caps.can("status_changed"), caps.can("message:agent")
(True, False)
>>> print(unmeasurable(frozenset({"message:agent"}), caps))
not measurable: ServiceNow incident event log records no agent messages (message:agent); an \
incident log records updates of the incident, not messages
>>> unmeasurable(frozenset({"status_changed"}), caps) is None
True
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

import attrs
import polars as pl

from csmetrics.exceptions import PolicyError
from csmetrics.schema import ACTORS, EVENT_TYPES, OPTIONAL_COLUMNS

if TYPE_CHECKING:
    from csmetrics.log import EventLog

__all__ = [
    "EVENT_TOKENS",
    "FIELD_TOKENS",
    "MESSAGE_TOKENS",
    "NOT_MEASURABLE",
    "TOKENS",
    "Capabilities",
    "describe",
    "display_value",
    "mark_unmeasurable",
    "not_measurable_reasons",
    "requires_of",
    "unmeasurable",
    "with_capabilities",
]

EVENT_TOKENS: Final[frozenset[str]] = frozenset(t for t in EVENT_TYPES if t != "message")
"""Tokens for event types other than ``message`` (``"comp_granted"``, ``"csat"`` …)."""

MESSAGE_TOKENS: Final[frozenset[str]] = frozenset(f"message:{actor}" for actor in ACTORS)
"""Tokens for messages by each actor: ``"message:customer"``, ``"message:agent"`` …"""

FIELD_TOKENS: Final[frozenset[str]] = frozenset(f"field:{name}" for name in OPTIONAL_COLUMNS)
"""Tokens for the optional canonical columns a source fills: ``"field:handle_seconds"`` …"""

TOKENS: Final[frozenset[str]] = EVENT_TOKENS | MESSAGE_TOKENS | FIELD_TOKENS
"""Every requirement token."""

NOT_MEASURABLE: Final = "not_measurable"
"""Name of the tidy-result column holding the reason a metric is not measurable."""


_STAT_COLUMNS: Final = frozenset({"value", "mean", "numerator", "denominator"})
_QUANTILE: Final = re.compile(r"^p\d+(_\d+)?$")
_WORDS: Final[Mapping[str, str]] = {
    "message:customer": "customer messages",
    "message:agent": "agent messages",
    "message:bot": "bot messages",
    "message:system": "system messages",
    "case_created": "case creations",
    "note": "internal notes",
    "status_changed": "status changes",
    "assigned": "assignments",
    "transferred": "transfers",
    "escalated": "escalations",
    "priority_changed": "priority changes",
    "comp_granted": "compensation events",
    "csat": "satisfaction ratings",
    "call_abandoned": "abandoned calls",
    "bot_handoff": "bot hand-offs",
    "merged": "merges",
    "field:is_public": "message visibility",
    "field:agent_id": "agent ids",
    "field:team": "teams",
    "field:priority": "priorities",
    "field:topic": "topics",
    "field:comp_amount": "compensation amounts",
    "field:csat_score": "satisfaction scores",
    "field:handle_seconds": "handle times",
    "field:status": "statuses",
}


def _tokens(value: Iterable[str], allowed: Iterable[str], what: str) -> frozenset[str]:
    if isinstance(value, str):
        raise PolicyError(f"{what} must be a collection of names, not the string {value!r}")
    chosen = frozenset(value)
    allowed = frozenset(allowed)
    unknown = sorted(chosen - allowed)
    if unknown:
        raise PolicyError(f"{what}: unknown {unknown}; known: {sorted(allowed)}")
    return chosen


def _event_types(value: Iterable[str]) -> frozenset[str]:
    return _tokens(value, EVENT_TYPES, "Capabilities.event_types")


def _actors(value: Iterable[str]) -> frozenset[str]:
    return _tokens(value, ACTORS, "Capabilities.message_actors")


def _fields(value: Iterable[str]) -> frozenset[str]:
    return _tokens(value, OPTIONAL_COLUMNS, "Capabilities.fields")


def _notes(value: Mapping[str, str] | None) -> dict[str, str]:
    return {str(k): str(v) for k, v in (value or {}).items()}


@attrs.frozen
class Capabilities:
    """What a source can produce: event types, who writes messages, optional columns.

    Attributes
    ----------
    source
        The source in words, for messages (``"ServiceNow incident event log"``).
    event_types
        Event types the source can record (``message`` included when it has messages).
    message_actors
        Who writes the messages it records (``customer``, ``agent``, ``bot``, ``system``);
        ``message`` in ``event_types`` with no actor here means messages by anyone.
    fields
        Optional canonical columns it fills (``is_public``, ``agent_id``,
        ``comp_amount`` …).
    notes
        Why the source lacks something, keyed by token or by event type (``"message"``
        covers every ``message:*`` token, ``"field"`` every ``field:*``, ``"*"`` anything);
        appended to the reason.

    Examples
    --------
    >>> caps = Capabilities(source="Twitter threads", event_types={"case_created", "message"},
    ...                     message_actors={"customer", "agent"}, fields={"agent_id"})
    >>> sorted(caps.tokens)
    ['case_created', 'field:agent_id', 'message:agent', 'message:customer']
    >>> caps.extended("comp_granted").can("comp_granted")
    True
    """

    source: str = attrs.field(validator=attrs.validators.instance_of(str))
    event_types: frozenset[str] = attrs.field(converter=_event_types)
    message_actors: frozenset[str] = attrs.field(default=frozenset(), converter=_actors)
    fields: frozenset[str] = attrs.field(default=frozenset(), converter=_fields)
    notes: dict[str, str] = attrs.field(
        factory=dict, converter=_notes, eq=False, hash=False, repr=False
    )

    @property
    def tokens(self) -> frozenset[str]:
        """Every requirement token this source satisfies."""
        out = {t for t in self.event_types if t != "message"}
        if "message" in self.event_types:
            actors = self.message_actors or frozenset(ACTORS)
            out |= {f"message:{a}" for a in actors}
        out |= {f"field:{f}" for f in self.fields}
        return frozenset(out)

    def can(self, token: str) -> bool:
        """Whether the source satisfies one requirement token."""
        return token in self.tokens

    def extended(self, *tokens: str) -> Capabilities:
        """These capabilities plus ``tokens`` (an option made the source record more).

        Raises
        ------
        PolicyError
            A token is not in :data:`TOKENS`.
        """
        _tokens(tokens, TOKENS, "Capabilities.extended")
        events, actors, fields = set(self.event_types), set(self.message_actors), set(self.fields)
        for token in tokens:
            kind, _, rest = token.partition(":")
            if kind == "message":
                events.add("message")
                actors.add(rest)
            elif kind == "field":
                fields.add(rest)
            else:
                events.add(token)
        return attrs.evolve(self, event_types=events, message_actors=actors, fields=fields)

    def note(self, token: str) -> str | None:
        """The source's note on a missing token, if it gave one."""
        kind = token.partition(":")[0]
        for key in (token, kind, "*"):
            if key in self.notes:
                return self.notes[key]
        return None


def describe(token: str) -> str:
    """A requirement token in words.

    Examples
    --------
    >>> describe("comp_granted")
    'compensation events (comp_granted)'
    """
    return f"{_WORDS.get(token, token)} ({token})"


def unmeasurable(metric_requires: frozenset[str], caps: Capabilities | None) -> str | None:
    """Why a metric needing ``metric_requires`` cannot be measured from a source, or ``None``.

    ``caps`` ``None`` (a canonical log, a frame) can produce everything.

    Raises
    ------
    PolicyError
        A requirement is not a token of :data:`TOKENS` (a typo in a metric's ``requires``).

    Examples
    --------
    >>> caps = Capabilities(source="twcs", event_types={"case_created", "message"})
    >>> print(unmeasurable(frozenset({"comp_granted"}), caps))
    not measurable: twcs records no compensation events (comp_granted)
    >>> unmeasurable(frozenset({"comp_granted"}), None) is None
    True
    """
    _tokens(metric_requires, TOKENS, "metric requirement tokens")
    if caps is None:
        return None
    missing = sorted(metric_requires - caps.tokens)
    if not missing:
        return None
    words = ", ".join(describe(t) for t in missing)
    notes = list(dict.fromkeys(n for n in (caps.note(t) for t in missing) if n))
    tail = "".join(f"; {n}" for n in notes)
    return f"not measurable: {caps.source} records no {words}{tail}"


def requires_of(metric: object) -> frozenset[str]:
    """The requirement tokens of a metric: its ``requires`` (none for a plugin that does not
    say).

    Examples
    --------
    >>> import csmetrics as csm
    >>> sorted(requires_of(csm.metrics.get("comp_value")))
    ['comp_granted', 'field:comp_amount']
    """
    return frozenset(getattr(metric, "requires", None) or ())


def not_measurable_reasons(metrics: Iterable[object], caps: Capabilities | None) -> dict[str, str]:
    """Metric name → why it is not measurable from a source with ``caps`` (only those).

    Examples
    --------
    >>> import csmetrics as csm
    >>> caps = Capabilities(source="Twitter threads", event_types={"case_created", "message"})
    >>> chosen = [csm.metrics.get(n) for n in ("comp_rate", "first_response_time")]
    >>> not_measurable_reasons(chosen, caps)
    {'comp_rate': 'not measurable: Twitter threads records no compensation events (comp_granted)'}
    """
    reasons = {}
    for metric in metrics:
        reason = unmeasurable(requires_of(metric), caps)
        if reason is not None:
            reasons[str(getattr(metric, "name", metric))] = reason
    return reasons


def mark_unmeasurable(table: pl.LazyFrame, reasons: Mapping[str, str]) -> pl.LazyFrame:
    """Blank the figures of the metrics in ``reasons`` and say why in ``not_measurable``.

    ``value``, ``mean``, the quantile columns (``p50``, ``p90`` …), ``numerator`` and
    ``denominator`` become null on those metrics' rows; the new String column
    ``not_measurable`` holds the reason there and is null elsewhere. ``n`` and ``n_open``
    (the population) are kept.

    Examples
    --------
    >>> import polars as pl
    >>> tidy = pl.LazyFrame({"metric": ["comp_rate", "volume"], "n": [3, 3],
    ...     "value": [0.0, 3.0], "p50": [None, None], "numerator": [0.0, None]})
    >>> out = mark_unmeasurable(tidy, {"comp_rate": "not measurable: no comps"}).collect()
    >>> out.select("metric", "value", "not_measurable").rows()
    [('comp_rate', None, 'not measurable: no comps'), ('volume', 3.0, None)]
    """
    names = table.collect_schema().names()
    reason = (
        pl.col("metric")
        .cast(pl.String)
        .replace_strict(dict(reasons), default=None, return_dtype=pl.String)
    )
    if NOT_MEASURABLE in names:
        reason = pl.coalesce(pl.col(NOT_MEASURABLE), reason)
    hit = reason.is_not_null()
    blanks = [
        pl.when(hit).then(None).otherwise(pl.col(c)).alias(c)
        for c in names
        if c in _STAT_COLUMNS or _QUANTILE.match(c)
    ]
    return table.with_columns(*blanks, reason.alias(NOT_MEASURABLE))


def display_value(row: Mapping[str, Any], shown: str) -> str:
    """What a report shows for a tidy row's figure: ``shown``, or "—" and why.

    Examples
    --------
    >>> display_value({"value": 0.5}, "50.0 %")
    '50.0 %'
    >>> display_value({"value": None, "not_measurable": "not measurable: no comps"}, "—")
    '— (not measurable: no comps)'
    """
    reason = row.get(NOT_MEASURABLE)
    return shown if reason is None else f"— ({reason})"


def with_capabilities(log: EventLog, caps: Capabilities | None) -> EventLog:
    """``log`` carrying ``caps`` (what an adapter returns).

    Examples
    --------
    >>> import csmetrics as csm
    >>> log = csm.testing.log_from_rows([("09:00", "case_created", "customer")])
    >>> caps = Capabilities(source="demo", event_types={"case_created"})
    >>> with_capabilities(log, caps).capabilities.source
    'demo'
    """
    return attrs.evolve(log, capabilities=caps)
