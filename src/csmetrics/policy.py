"""The policy: every knob a metric definition depends on, and the vendor presets.

A :class:`Policy` is an attrs frozen class; change one knob with :func:`attrs.evolve` or
:meth:`Policy.replace`. :meth:`Policy.preset` reproduces the published definitions of
Zendesk, Intercom, Chatwoot and Plain (their sources in :data:`PRESET_RULES`); the differences are
tabulated in the docs (``docs/presets.md``) and in :data:`PRESET_DIFFERENCES`.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, Final, Literal, get_args

import attrs

from csmetrics._difficulty import DifficultyRule, as_rule
from csmetrics._frozen import FrozenMapping
from csmetrics._text import did_you_mean
from csmetrics.exceptions import PolicyError
from csmetrics.schema import CHANNEL_KINDS, DEFAULT_CHANNELS, STATUSES
from csmetrics.validate import check_time_zone

__all__ = [
    "PRESETS",
    "PRESET_DIFFERENCES",
    "PRESET_RULES",
    "AgentCreated",
    "ClockStart",
    "OneTouch",
    "PeriodBy",
    "Policy",
    "PresetName",
]

ClockStart = Literal["created", "first_customer_message", "last_handoff"]
AgentCreated = Literal["skip", "second_public_reply", "include"]
OneTouch = Literal["exactly_one", "at_most_one", "one_teammate"]
PeriodBy = Literal["created", "resolved"]
ResolutionStart = Literal["created", "first_customer_message"]
PresetName = Literal["csmetrics", "zendesk", "intercom", "chatwoot", "plain"]
PRESETS: Final[tuple[str, ...]] = get_args(PresetName)


def _in(choices: tuple[str, ...]) -> Any:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value not in choices:
            raise PolicyError(f"{attribute.name!r} must be in {choices} (got {value!r})")

    return check


def _statuses(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    bad = [s for s in value if s not in STATUSES]  # type: ignore[attr-defined]
    if bad:
        raise PolicyError(f"{attribute.name!r} must hold statuses from {STATUSES} (got {bad})")


def _aware(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise PolicyError(
            f"{attribute.name!r} must be a time-zone aware datetime (got {value!r}); "
            "e.g. datetime(2024, 3, 1, tzinfo=timezone.utc)"
        )


def _zone(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    try:
        zoneinfo.ZoneInfo(str(value))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise PolicyError(
            f"{attribute.name!r} must be an IANA time zone such as 'Europe/Paris' (got {value!r})"
        ) from exc
    check_time_zone(str(value), name=attribute.name)  # one Polars knows ('localtime' is not)


def _channels(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    bad = {k: v for k, v in dict(value).items() if v not in CHANNEL_KINDS}  # type: ignore[call-overload]
    if bad:
        raise PolicyError(f"'channels' kinds must be in {CHANNEL_KINDS} (got {bad})")


def _frozen_mapping(value: Mapping[str, str]) -> Mapping[str, str]:
    return FrozenMapping({str(k).strip().lower(): str(v) for k, v in dict(value).items()})


def _frozenset(value: Iterable[str]) -> frozenset[str]:
    return frozenset(value)


def _as_utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(dt.UTC)


@attrs.frozen(kw_only=True)
class Policy:
    """Every knob the metric definitions depend on (DESIGN §4.3).

    Parameters
    ----------
    name
        The preset this policy started from (``"custom"`` once a knob is changed by hand).
    first_response_start
        What starts the first-response clock: ``"created"`` (case creation),
        ``"first_customer_message"`` (falls back to creation when the customer never wrote)
        or ``"last_handoff"`` (the latest bot hand-off or reopen before the first reply,
        else creation).
    bots_count_as_responders
        Whether a bot message stops the first-response and next-reply clocks.
    agent_created
        Agent-created (outbound) cases: ``"skip"`` (outside the first-response population),
        ``"second_public_reply"`` (Zendesk: from creation to the second public agent
        comment when the agent's public comment opened it, else to the first) or
        ``"include"`` (Chatwoot: from creation to the first human agent message, the
        agent's own opener included).
    resolution_start
        What starts the resolution clocks: ``"created"`` or ``"first_customer_message"``.
    one_touch
        ``"exactly_one"``: solved with exactly one agent reply and never reopened (csmetrics);
        ``"at_most_one"``: fewer than two agent replies and solved or closed at ``as_of``,
        reopens or not (Zendesk Explore's formula); ``"one_teammate"``: closed once, with
        one participating teammate whatever the number of their replies (Intercom's closed
        on first contact).
    requester_wait_statuses, agent_wait_statuses, on_hold_statuses
        Which statuses feed which status clock.
    as_of
        The observation end; default the latest event in the log.
    period_by
        Attribute a case to the period it was ``"created"`` or ``"resolved"`` in.
    timezone
        The IANA zone periods (days, weeks …) are cut in.
    channels
        Channel → kind table (DESIGN §2.4).
    include_merged
        Whether merged cases stay in the metric populations.
    difficulty
        The rule giving each case its ``difficulty`` (easy, medium, hard) from its priority,
        escalations, transfers or a pass-through column (a
        :class:`~csmetrics.difficulty.DifficultyRule`, or its dict/TOML form); so every
        metric can be grouped ``by="difficulty"``.

    Examples
    --------
    >>> import csmetrics as csm
    >>> csm.Policy.preset("zendesk").agent_created
    'second_public_reply'
    >>> csm.Policy().replace(as_of=None).name
    'custom'
    """

    name: str = "csmetrics"
    first_response_start: ClockStart = attrs.field(
        default="created", validator=_in(get_args(ClockStart))
    )
    bots_count_as_responders: bool = False
    agent_created: AgentCreated = attrs.field(default="skip", validator=_in(get_args(AgentCreated)))
    resolution_start: ResolutionStart = attrs.field(
        default="created", validator=_in(get_args(ResolutionStart))
    )
    one_touch: OneTouch = attrs.field(default="exactly_one", validator=_in(get_args(OneTouch)))
    requester_wait_statuses: frozenset[str] = attrs.field(
        default=frozenset({"new", "open", "on_hold"}), converter=_frozenset, validator=_statuses
    )
    agent_wait_statuses: frozenset[str] = attrs.field(
        default=frozenset({"pending"}), converter=_frozenset, validator=_statuses
    )
    on_hold_statuses: frozenset[str] = attrs.field(
        default=frozenset({"on_hold"}), converter=_frozenset, validator=_statuses
    )
    as_of: dt.datetime | None = attrs.field(default=None, validator=_aware, converter=_as_utc)
    period_by: PeriodBy = attrs.field(default="created", validator=_in(get_args(PeriodBy)))
    timezone: str = attrs.field(default="UTC", validator=_zone)
    channels: Mapping[str, str] = attrs.field(
        default=DEFAULT_CHANNELS, converter=_frozen_mapping, validator=_channels
    )
    include_merged: bool = False
    difficulty: DifficultyRule = attrs.field(factory=DifficultyRule, converter=as_rule)

    @classmethod
    def preset(cls, name: PresetName | str, **overrides: Any) -> Policy:
        """The policy reproducing ``name``'s published definitions, with optional overrides.

        Raises
        ------
        PolicyError
            For an unknown preset name.
        """
        if name not in _PRESET_KNOBS:
            hint = did_you_mean(name, PRESETS)
            raise PolicyError(f"'preset' must be in {PRESETS} (got {name!r}){hint}")
        return cls(name=name, **{**_PRESET_KNOBS[name], **overrides})

    def replace(self, **changes: Any) -> Policy:
        """A copy with some knobs changed; its ``name`` becomes ``"custom"``."""
        changes.setdefault("name", "custom")
        return attrs.evolve(self, **changes)

    def describe(self) -> dict[str, object]:
        """Every knob as plain values, for reports and logs."""
        out: dict[str, object] = {}
        for field in attrs.fields(Policy):
            value = getattr(self, field.name)
            if isinstance(value, frozenset):
                value = sorted(value)
            elif field.name == "channels":
                value = "default" if dict(value) == dict(DEFAULT_CHANNELS) else dict(value)
            elif isinstance(value, dt.datetime):
                value = value.isoformat()
            elif isinstance(value, DifficultyRule):
                value = "default" if value == DifficultyRule() else attrs.asdict(value)
            out[field.name] = value
        return out


_PRESET_KNOBS: Final[dict[str, dict[str, Any]]] = {
    "csmetrics": {},
    # Z1/Z2: clock from creation on every channel; agent-created tickets end at the second
    # public agent comment; Z5 Explore formula: agent replies < 2 and solved/closed.
    "zendesk": {"agent_created": "second_public_reply", "one_touch": "at_most_one"},
    # I4/I5: clocks measured after first_contact_reply_at (the contact's first message);
    # time to close likewise; closed on first contact = closed once, with one participating
    # teammate, whatever the number of that teammate's replies.
    "intercom": {
        "first_response_start": "first_customer_message",
        "resolution_start": "first_customer_message",
        "one_touch": "one_teammate",
    },
    # reporting_event_helper.rb: first response from the latest bot hand-off or reopen,
    # else creation, to the first human outgoing message — an agent's own opener included
    # (agent-started conversations measure about 0 s); conversation_resolved from creation.
    "chatwoot": {"first_response_start": "last_handoff", "agent_created": "include"},
    # Plain: first inbound customer message → first human reply; threads created by a
    # Plain user are excluded; resolution from the first inbound message.
    "plain": {
        "first_response_start": "first_customer_message",
        "resolution_start": "first_customer_message",
    },
}

PRESET_RULES: Final[Mapping[str, tuple[tuple[str, str, str], ...]]] = MappingProxyType(
    {
        "csmetrics": (
            ("first_response_start", "creation → first human agent message", "DESIGN §4.2"),
            (
                "agent_created",
                "agent-created cases are outside the first-response population",
                "DESIGN §4.2",
            ),
            ("one_touch", "solved with exactly one agent reply and never reopened", "DESIGN §4.2"),
        ),
        "zendesk": (
            (
                "first_response_start",
                "ticket creation on every channel → first public agent comment",
                "Zendesk Z1/Z2: 'About native Support time duration metrics'",
            ),
            (
                "agent_created",
                "agent-created ticket whose first comment is public → the second "
                "public agent comment; first comment private → the first public agent comment",
                "Zendesk Z1",
            ),
            (
                "one_touch",
                "agent replies < 2 and status Solved or Closed (zero replies count; a "
                "reopen without a new reply keeps it)",
                "Zendesk Z5: Explore formula",
            ),
        ),
        "intercom": (
            (
                "first_response_start",
                "first_contact_reply_at (the contact's first message) → first human admin reply",
                "Intercom I4/I5: conversation_statistics",
            ),
            (
                "resolution_start",
                "time to close measured after first_contact_reply_at",
                "Intercom I4/I5",
            ),
            (
                "one_touch",
                "closed on first contact: closed once, with one participating teammate, "
                "whatever the number of their replies",
                "Intercom I1: reporting metrics",
            ),
        ),
        "chatwoot": (
            (
                "first_response_start",
                "latest bot hand-off or reopen (conversation_opened) before "
                "the first human reply, else creation",
                "chatwoot/chatwoot app/helpers/reporting_event_helper.rb",
            ),
            (
                "agent_created",
                "not special-cased: an agent's own opener is the first human "
                "outgoing message (about 0 s)",
                "chatwoot/chatwoot app/models/message.rb valid_first_reply?",
            ),
        ),
        "plain": (
            (
                "first_response_start",
                "first inbound customer message → first human reply",
                "Plain: docs/product/platform/first-response-time",
            ),
            (
                "agent_created",
                "threads created by a Plain user are excluded",
                "Plain: docs/product/platform/first-response-time",
            ),
            (
                "resolution_start",
                "resolution time from the first inbound message",
                "Plain: docs/reporting/metrics",
            ),
        ),
    }
)
"""For each preset, its published rules where vendors differ: (knob, rule, source)."""

PRESET_DIFFERENCES: Final[Mapping[str, Mapping[str, Any]]] = MappingProxyType(
    {name: MappingProxyType(knobs) for name, knobs in _PRESET_KNOBS.items()}
)
"""For each preset, the knobs where it differs from the ``csmetrics`` defaults."""
