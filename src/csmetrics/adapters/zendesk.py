"""Zendesk Support exports: ticket events and ticket audits onto the canonical event log.

Reads the JSON the Zendesk Support API returns, page files or one record per line (NDJSON):

- the **incremental ticket event export** (``GET /api/v2/incremental/ticket_events``, best
  with ``include=comment_events``): records with ``ticket_id``, ``created_at`` (or epoch
  ``timestamp``), ``updater_id``, ``via`` and ``child_events``; a ``Create``/``Change`` child
  carries the field it sets as a key (``{"status": "open", "previous_value": "new"}``);
- **ticket audits** (``GET /api/v2/tickets/{id}/audits``, ``/api/v2/ticket_audits``): records
  with ``ticket_id``, ``created_at``, ``author_id``, ``via`` and ``events``, whose
  ``Create``/``Change`` events name the field in ``field_name`` and the value in ``value``;
- **tickets** (``GET /api/v2/incremental/tickets``), optional: their ``requester_id`` and
  ``via.channel`` fill in tickets whose creation lies outside the exported window.

Mapping (one source update gives one event per relevant child event):

- the update holding ``Create`` children (the ticket's creation) → ``case_created``, by its
  updater; the ``subject`` set there is the ``topic``;
- ``Comment`` → ``message`` when public, ``note`` when private; without the
  ``comment_events`` sideload, ``comment_present``/``comment_public`` give the same event,
  by the updater;
- ``VoiceComment`` → ``message`` (an answered call) with ``handle_seconds`` = call duration;
- ``status`` → ``status_changed`` (``hold`` → ``on_hold``, ``deleted`` → ``closed``);
- ``assignee_id`` → ``assigned`` with ``agent_id``; ``group_id`` → ``assigned`` with
  ``team`` for a ticket's first group, ``transferred`` for a change of group;
- ``priority`` → ``priority_changed``;
- ``satisfaction_score`` / a ``SatisfactionRating`` event → ``csat``: good → 5, bad → 1.

Other child events (tags, custom fields, notifications, CCs, SLA) are not events of the
case and are not reported. Who acted, in this order: ``updater_id``/``author_id`` -1 or a
``via`` of a rule, trigger or automation → ``system``; a role given in ``users=``; the
user's ``role`` in the side-loaded users of the export (``include=users``: a page's
``"users"`` list; ``end-user`` → ``customer``, ``agent``/``admin`` → ``agent``); the
ticket's requester → ``customer``; a user the export shows as an assignee → ``agent``
(only agents can be assigned). Anyone else -- a CC'd end user, a colleague of the requester
-- has an *unknown role*: ``unknown_authors=`` says how to count them (``"agent"``,
``"customer"`` or ``"reject"``); by default they count as agents and an
:class:`~csmetrics.exceptions.AdapterWarning` gives their number. The channel of a
ticket is the ``via`` of the update that created it (``Web form`` → ``web_form``,
``Mail`` → ``email``, ``Voice`` → ``phone`` …); Twitter direct messages are ``twitter``
with ``is_public = false``. The customer is the requester. The subject is the ``topic``.

Examples
--------
>>> import csmetrics as csm, json, pathlib, tempfile, polars as pl
>>> page = {"ticket_events": [{"id": 1, "ticket_id": 7, "updater_id": 100,
...     "created_at": "2024-03-01T09:00:00Z", "via": "Mail", "event_type": "Audit",
...     "child_events": [
...         {"id": 11, "event_type": "Create", "requester_id": 100},
...         {"id": 12, "event_type": "Create", "status": "new"},
...         {"id": 13, "event_type": "Comment", "public": True, "author_id": 100}]},
...     {"id": 2, "ticket_id": 7, "updater_id": 200, "created_at": "2024-03-01T09:30:00Z",
...      "via": "Web form", "event_type": "Audit", "child_events": [
...         {"id": 21, "event_type": "Comment", "public": True, "author_id": 200},
...         {"id": 22, "event_type": "Change", "status": "solved", "previous_value": "new"}]}],
...     "users": [{"id": 100, "role": "end-user"}, {"id": 200, "role": "agent"}]}
>>> path = pathlib.Path(tempfile.mkdtemp()) / "events.json"
>>> _ = path.write_text(json.dumps(page))
>>> log = csm.scan_events(path, adapter="zendesk")
>>> events = log.frame.sort("ts", "event_type").collect()
>>> for row in events.select(pl.col("ts").dt.strftime("%H:%M"), "event_type", "actor",
...                          "status").rows():
...     print(*row)
09:00 case_created customer None
09:00 message customer None
09:00 status_changed customer new
09:30 message agent None
09:30 status_changed agent solved

Customer 100 created ticket 7 by e-mail; agent 200 replied and solved it half an hour later
(their roles come from the side-loaded ``users``).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Mapping
from typing import Any, Final, Literal

import polars as pl

from csmetrics._capabilities import Capabilities, with_capabilities
from csmetrics.adapters._base import FunctionAdapter, finish, mapping_from, rejects, source_name
from csmetrics.adapters._json import (
    Record,
    as_id,
    get,
    integer_ids,
    read_records,
    timestamp,
    token,
)
from csmetrics.exceptions import AdapterError, AdapterWarning
from csmetrics.log import EventLog
from csmetrics.schema import ACTORS, STATUSES

__all__ = ["CAPABILITIES", "STATUS_MAP", "VIA_CHANNELS", "adapter", "read_zendesk"]

STATUS_MAP: Final[Mapping[str, str]] = {
    "new": "new",
    "open": "open",
    "pending": "pending",
    "hold": "on_hold",
    "on_hold": "on_hold",
    "solved": "solved",
    "closed": "closed",
    "deleted": "closed",
}
"""Zendesk ticket statuses → canonical statuses; extend with ``statuses=``."""

VIA_CHANNELS: Final[Mapping[str, str]] = {
    "web": "web_form",
    "web_form": "web_form",
    "web_widget": "web_form",
    "closed_ticket": "web_form",
    "help_center": "portal",
    "mail": "email",
    "email": "email",
    "chat": "chat",
    "chat_transcript": "chat",
    "native_messaging": "chat",
    "messaging": "chat",
    "voice": "phone",
    "phone": "phone",
    "phone_call_inbound": "phone",
    "phone_call_outbound": "phone",
    "phone_call_incoming": "phone",
    "phone_call_outgoing": "phone",
    "voicemail": "phone",
    "sms": "sms",
    "text": "sms",
    "twitter": "twitter",
    "twitter_dm": "twitter",
    "twitter_direct_message": "twitter",
    "twitter_favorite": "twitter",
    "facebook": "facebook",
    "facebook_post": "facebook",
    "facebook_message": "messenger",
    "facebook_messenger": "messenger",
    "instagram_direct": "instagram",
    "instagram_dm": "instagram",
    "whatsapp": "whatsapp",
    "line": "line",
    "wechat": "wechat",
    "telegram": "telegram",
    "mobile": "in_app",
    "mobile_sdk": "in_app",
    "sdk": "in_app",
    "api": "api",
    "web_service": "api",
}
"""Zendesk ``via`` (channel names and labels, as snake_case tokens) → canonical channel.
Any other via is kept as its token (channel kind ``other``)."""

_PRIVATE_VIAS: Final = frozenset(
    {"twitter_dm", "twitter_direct_message", "facebook_message", "instagram_direct", "instagram_dm"}
)
_SYSTEM_VIAS: Final = frozenset({"rule", "trigger", "automation", "system", "sla"})
_ROLE_ACTORS: Final[Mapping[str, str]] = {
    "end_user": "customer",
    "end-user": "customer",
    "customer": "customer",
    "agent": "agent",
    "admin": "agent",
    "bot": "bot",
    "system": "system",
}
_CSAT: Final[Mapping[str, float | None]] = {
    "good": 5.0,
    "good_with_comment": 5.0,
    "bad": 1.0,
    "bad_with_comment": 1.0,
    "offered": None,
    "unoffered": None,
}
_FIELDS: Final = frozenset(
    {
        "status",
        "assignee_id",
        "group_id",
        "priority",
        "requester_id",
        "subject",
        "satisfaction_score",
    }
)
_CONTAINERS: Final = ("ticket_events", "audits", "tickets", "audit", "ticket")
_USER_CONTAINERS: Final = ("users", "user")
UnknownAuthors = Literal["agent", "customer", "reject"]

CAPABILITIES: Final = Capabilities(
    source="a Zendesk Support export",
    event_types={
        "case_created",
        "message",
        "note",
        "status_changed",
        "assigned",
        "transferred",
        "priority_changed",
        "csat",
    },
    message_actors={"customer", "agent", "bot", "system"},
    fields={"is_public", "status", "agent_id", "team", "priority", "topic", "csat_score"}
    | {"handle_seconds"},
    notes={"*": "its exports record comments, field changes and ratings only"},
)
"""What the ``zendesk`` adapter's source can produce."""

# the columns of the intermediate rows, one per candidate event
_ROW_SCHEMA: Final[dict[str, pl.DataType]] = {
    "case_id": pl.String(),
    "event_id": pl.String(),
    "ts": pl.Datetime("us", "UTC"),
    "event_type": pl.String(),
    "author": pl.String(),
    "via": pl.String(),
    "status_raw": pl.String(),
    "source_field": pl.String(),
    "agent_id": pl.String(),
    "team": pl.String(),
    "priority": pl.String(),
    "topic": pl.String(),
    "csat_score": pl.Float64(),
    "handle_seconds": pl.Float64(),
    "source_file": pl.String(),
    "source_record": pl.String(),
    "source_row": pl.Int64(),
}
_FACT_SCHEMA: Final[dict[str, pl.DataType]] = {
    "case_id": pl.String(),
    "ts": pl.Datetime("us", "UTC"),
    "rank": pl.Int8(),
    "requester": pl.String(),
    "via": pl.String(),
}


class _Rows:
    """Rows built record by record (the records are nested JSON), framed at the end."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.facts: list[dict[str, Any]] = []

    def event(self, record: Record, base: dict[str, Any], **values: Any) -> None:
        row = base.copy()
        row.update(values)
        row["source_file"] = record.file
        row["source_record"] = record.where
        row["source_row"] = record.ordinal
        self.rows.append(row)

    def fact(self, **values: Any) -> None:
        self.facts.append(values)


def _via(record: Record, value: object, field: str) -> str | None:
    """A ``via`` (a label such as ``"Web form"`` or an object with ``channel``) as a token."""
    if value is None:
        return None
    if type(value) is str:
        return token(value) or None
    if isinstance(value, dict):
        value = get(record, value, "channel", (str, int), field=f"{field}.channel")
        if value is None:
            return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise record.error(
            f"must be a via label or object (got {type(value).__name__})", field=field
        )
    return token(str(value)) or None


def _scalar_text(record: Record, value: object, field: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise record.error(f"must be a string or number (got {type(value).__name__})", field=field)
    text = str(value).strip()
    return text or None


def _csat(record: Record, value: object, field: str) -> float | None:
    text = _scalar_text(record, value, field)
    if text is None:
        return None
    key = token(text)
    if key not in _CSAT:
        raise record.error(
            f"unknown satisfaction score {text!r}; known: {sorted(_CSAT)}", field=field
        )
    return _CSAT[key]


def _field_events(
    out: _Rows,
    record: Record,
    base: dict[str, Any],
    *,
    name: str,
    value: object,
    child_id: str,
    field: str,
    first_group: bool = True,
) -> str | None:
    """The event (or fact) a ``Create``/``Change`` of ticket field ``name`` gives.

    Returns the subject when ``name`` is ``subject`` (the case's topic), else ``None``.
    """
    event_id = f"{base['event_id']}/{child_id}"
    if name == "status":
        status = _scalar_text(record, value, field)
        out.event(
            record,
            base,
            event_id=event_id,
            event_type="status_changed",
            status_raw=status if status is not None else "",
            source_field=field,
        )
    elif name == "assignee_id":
        agent = as_id(record, value, field)
        if agent is not None:
            out.event(record, base, event_id=event_id, event_type="assigned", agent_id=agent)
    elif name == "group_id":
        team = as_id(record, value, field)
        if team is not None:
            out.event(
                record,
                base,
                event_id=event_id,
                # the first group a ticket gets is routing; a change of group is a transfer
                event_type="transferred" if first_group is False else "assigned",
                team=team,
            )
    elif name == "priority":
        priority = _scalar_text(record, value, field)
        if priority is not None:
            out.event(
                record, base, event_id=event_id, event_type="priority_changed", priority=priority
            )
    elif name == "requester_id":
        requester = as_id(record, value, field)
        if requester is not None:
            out.fact(case_id=base["case_id"], ts=base["ts"], rank=0, requester=requester)
    elif name == "subject":
        return _scalar_text(record, value, field)
    elif name == "satisfaction_score":
        score = _csat(record, value, field)
        if score is not None:
            out.event(
                record,
                base,
                event_id=event_id,
                event_type="csat",
                csat_score=score,
                author=None,
                via="csat",
            )
    return None


def _comment(
    out: _Rows,
    record: Record,
    base: dict[str, Any],
    child: dict[str, Any],
    field: str,
    child_id: str,
    *,
    voice: bool = False,
) -> None:
    public = get(record, child, "public", bool, field=f"{field}.public")
    author = as_id(record, child.get("author_id"), f"{field}.author_id")
    handle = None
    if voice:
        data = get(record, child, "data", dict, field=f"{field}.data") or {}
        duration = get(
            record, data, "call_duration", (int, float, str), field=f"{field}.data.call_duration"
        )
        if duration is not None:
            try:
                handle = float(duration)
            except ValueError:
                raise record.error(
                    f"{duration!r} is not a number of seconds", field=f"{field}.data.call_duration"
                ) from None
            if not (handle >= 0 and handle != float("inf")):
                raise record.error(
                    f"{duration!r} is not a duration >= 0", field=f"{field}.data.call_duration"
                )
    values: dict[str, Any] = {
        "event_id": f"{base['event_id']}/{child_id}",
        # an answered call is a message whatever its visibility (DESIGN §2.2)
        "event_type": "note" if public is False and not voice else "message",
        "handle_seconds": handle,
    }
    if author is not None:
        values["author"] = author
    child_via = _via(record, child.get("via"), f"{field}.via")
    if child_via is not None:
        values["via"] = child_via
    out.event(record, base, **values)


def _update(out: _Rows, record: Record, *, tz: str | None) -> None:
    """The events of one audit or incremental ticket event."""
    data = record.data
    audit = "events" in data and "child_events" not in data
    children_key = "events" if audit else "child_events"
    case_id = as_id(record, data.get("ticket_id"), "ticket_id")
    if case_id is None:
        raise record.error("is missing", field="ticket_id", fix="export the ticket_id")
    update_id = as_id(record, data.get("id"), "id")
    if update_id is None:
        raise record.error("is missing", field="id", fix="export each record's id")
    if data.get("created_at") is not None:
        ts = timestamp(record, data["created_at"], "created_at", tz=tz)
    elif data.get("timestamp") is not None:
        ts = timestamp(record, data["timestamp"], "timestamp", tz=tz)
    else:
        raise record.error("is missing (and so is 'timestamp')", field="created_at")
    author_field = "author_id" if audit else "updater_id"
    author = as_id(record, data.get(author_field), author_field)
    via = _via(record, data.get("via"), "via")
    children = get(record, data, children_key, list, required=True)
    assert children is not None
    base: dict[str, Any] = {
        "case_id": case_id,
        "event_id": update_id,
        "ts": ts,
        "author": author,
        "via": via,
    }
    kind_key = "type" if audit else "event_type"
    kinds = []
    for index, child in enumerate(children):
        if type(child) is not dict:
            raise record.error(
                f"must be an object (got {type(child).__name__})",
                field=f"{children_key}[{index}]",
            )
        kinds.append(get(record, child, kind_key, str, prefix=f"{children_key}[{index}]"))
    created = "Create" in kinds
    if created:
        out.fact(case_id=case_id, ts=ts, rank=0, via=via)
    has_comment = "Comment" in kinds or "VoiceComment" in kinds
    comment_flag: dict[str, Any] | None = None
    field_rows: list[tuple[str, object, str, str, bool]] = []
    for index, (child, kind) in enumerate(zip(children, kinds, strict=True)):
        field = f"{children_key}[{index}]"
        child_id = as_id(record, child.get("id"), f"{field}.id") or str(index)
        if kind == "Comment" or kind == "VoiceComment":
            _comment(out, record, base, child, field, child_id, voice=kind == "VoiceComment")
        elif kind == "Create" or kind == "Change":
            first = kind == "Create" or child.get("previous_value") is None
            if audit:
                name = get(record, child, "field_name", str, prefix=field)
                if name in _FIELDS:
                    field_rows.append((name, child.get("value"), child_id, f"{field}.value", first))
            else:
                for name in child:  # in the record's order
                    if name in _FIELDS:
                        field_rows.append((name, child[name], child_id, f"{field}.{name}", first))
        elif kind == "SatisfactionRating":
            field_rows.append(
                ("satisfaction_score", child.get("score"), child_id, f"{field}.score", True)
            )
        if not has_comment and comment_flag is None and "comment_present" in child:
            present = get(record, child, "comment_present", bool, prefix=field)
            if present:
                comment_flag = {"public": get(record, child, "comment_public", bool, prefix=field)}
    topic = None
    for name, value, child_id, field, first in field_rows:
        subject = _field_events(
            out,
            record,
            base,
            name=name,
            value=value,
            child_id=child_id,
            field=field,
            first_group=first,
        )
        topic = subject if subject is not None else topic
    if created:
        out.event(
            record, base, event_id=f"{update_id}/created", event_type="case_created", topic=topic
        )
    if comment_flag is not None:
        out.event(
            record,
            base,
            event_id=f"{update_id}/comment",
            event_type="note" if comment_flag["public"] is False else "message",
        )


def _ticket(out: _Rows, record: Record, *, tz: str | None) -> None:
    """A ticket record: the requester and channel of tickets created before the export."""
    data = record.data
    case_id = as_id(record, data.get("id"), "id")
    if case_id is None:
        raise record.error("is missing", field="id", fix="export the ticket id")
    created_at = data.get("created_at")
    ts = timestamp(record, created_at, "created_at", tz=tz) if created_at is not None else None
    out.fact(
        case_id=case_id,
        ts=ts,
        rank=1,
        requester=as_id(record, data.get("requester_id"), "requester_id"),
        via=_via(record, data.get("via"), "via"),
    )


def _read(source: object, *, tickets: object, tz: str | None) -> tuple[_Rows, list[Record]]:
    """The candidate events and facts, and the side-loaded user records."""
    out = _Rows()
    users: dict[str, list[Record]] = {"users": []}
    sources: list[tuple[object, bool]] = [(source, False)]
    if tickets is not None:
        sources.append((tickets, True))
    for src, only_tickets in sources:
        for record in read_records(src, containers=_CONTAINERS, adapter="zendesk", sideloads=users):
            data = record.data
            if not only_tickets and ("child_events" in data or "events" in data):
                _update(out, record, tz=tz)
            elif "requester_id" in data or only_tickets:
                _ticket(out, record, tz=tz)
            else:
                raise record.error(
                    "is neither a ticket event (child_events), an audit (events) nor a "
                    f"ticket (requester_id); its keys are {sorted(data)[:12]}",
                    fix="pass the JSON of the incremental ticket event export or of ticket audits",
                )
    return out, users["users"]


def _role_actor(record: Record, data: dict[str, Any]) -> tuple[str, str] | None:
    """A side-loaded user's id and actor, from its ``role`` (``None`` without one)."""
    user = as_id(record, data.get("id"), "id")
    role = get(record, data, "role", str)
    if user is None or role is None:
        return None
    actor = _ROLE_ACTORS.get(role.strip().lower())
    if actor is None:
        raise record.error(
            f"unknown user role {role!r} (known: {sorted(_ROLE_ACTORS)})",
            field="role",
            fix="pass users={id: 'end-user' | 'agent' | 'bot'} for such users",
        )
    return user, actor


def _user_roles(records: list[Record], users: object, source: object) -> dict[str, str]:
    """User id → actor: the side-loaded users, then a users export passed as ``users=``."""
    roles: dict[str, str] = {}
    if users is not None and not isinstance(users, Mapping):
        records = [
            *records,
            *read_records(users, containers=_USER_CONTAINERS, adapter="zendesk"),
        ]
    for record in records:
        found = _role_actor(record, record.data)
        if found is not None:
            roles[found[0]] = found[1]
    return roles


def _actor_map(users: object, source: object) -> dict[str, str]:
    if users is not None and not isinstance(users, Mapping):
        return {}  # a users export: read with the side-loaded users
    mapping = mapping_from(users, what="users", source=source)
    result = {}
    for user, role in mapping.items():
        actor = _ROLE_ACTORS.get(str(role).strip().lower())
        if actor is None:
            raise AdapterError(
                f"{source_name(source)}: option 'users': role {role!r} of user {user!r} is not "
                f"one of {sorted(_ROLE_ACTORS)}"
            )
        result[str(user).strip()] = actor
    return result


def _unknown(frame: pl.DataFrame, mask: pl.Expr, known: Iterable[str]) -> str:
    first = frame.filter(mask).row(0, named=True)
    return (
        f"{first['source_file']}: {first['source_record']}, field {first['source_field']!r}: "
        "unknown value "
        f"{first['status_raw']!r} (known: {sorted(known)}); "
        f"{frame.filter(mask).height} event(s) in all. Fix: map it with "
        "statuses={'value': 'open'}, or pass on_invalid='quarantine' to set them aside"
    )


def read_zendesk(
    source: object,
    *,
    tz: str | None = None,
    tickets: object = None,
    users: Mapping[str, str] | object = None,
    unknown_authors: UnknownAuthors | None = None,
    statuses: Mapping[str, str] | None = None,
    channels: Mapping[str, str] | None = None,
    on_invalid: Literal["raise", "quarantine"] = "raise",
) -> EventLog:
    """Read a Zendesk Support export (ticket events, audits) into an event log.

    Parameters
    ----------
    source
        A ``.json``/``.ndjson`` file, a glob, a folder or a list of them: API pages
        (``{"ticket_events": [...]}``, ``{"audits": [...]}``), lists of records, or one record
        per line.
    tz
        Zone of time stamps written without an offset (Zendesk writes UTC with ``Z``).
    tickets
        Files of the ticket export, for the requester and channel of tickets created before
        the exported window (ticket records inside ``source`` are used too).
    users
        User id → role (``end-user``, ``agent``, ``admin``, ``bot``, ``system``), or the
        file(s) of a users export (``GET /api/v2/users``: ``{"users": [{"id": …, "role":
        …}]}``). Roles given here win over the side-loaded users of the export
        (``include=users``), which are always read.
    unknown_authors
        How to count the events of a user whose role the export does not tell (neither
        side-loaded, given in ``users=``, the requester nor an assignee): ``"agent"``,
        ``"customer"`` or ``"reject"`` (to ``rejected`` as ``unknown_actor``). By default
        they count as agents and an :class:`~csmetrics.exceptions.AdapterWarning` says how
        many there are: a CC'd end user counted as an agent would answer the ticket.
    statuses
        Extra status values → canonical statuses (custom statuses, other languages).
    channels
        Extra ``via`` tokens → channels, e.g. ``{"any_channel": "whatsapp"}``.
    on_invalid
        ``"raise"`` (default): an unknown status raises, naming the file, record and field.
        ``"quarantine"``: such events go to ``log.rejected`` with a reason.

    Returns
    -------
    EventLog
        Validated events; ``rejected`` holds the events set aside, with ``source_file``,
        ``source_record``, ``source_row``, ``reason`` and ``reason_column``.

    Raises
    ------
    AdapterError
        A file is missing or not JSON, a record lacks ``ticket_id``/``created_at`` or has a
        field of the wrong type, or holds an unknown value (with ``on_invalid="raise"``).

    Warns
    -----
    AdapterWarning
        Some authors have an unknown role and ``unknown_authors`` was not given: they are
        counted as agents; the message gives their number and the options.
    """
    if unknown_authors not in (None, "agent", "customer", "reject"):
        raise AdapterError(
            f"{source_name(source)}: 'unknown_authors' must be 'agent', 'customer' or "
            f"'reject' (got {unknown_authors!r})"
        )
    if on_invalid not in ("raise", "quarantine"):
        raise AdapterError(
            f"{source_name(source)}: 'on_invalid' must be 'raise' or 'quarantine' "
            f"(got {on_invalid!r})"
        )
    status_map = {**STATUS_MAP, **mapping_from(statuses, what="statuses", source=source)}
    bad = {k: v for k, v in status_map.items() if v not in STATUSES}
    if bad:
        raise AdapterError(
            f"{source_name(source)}: option 'statuses' maps to unknown statuses {bad}; "
            f"the canonical statuses are {STATUSES}"
        )
    via_map = {**VIA_CHANNELS, **mapping_from(channels, what="channels", source=source)}
    actor_map = _actor_map(users, source)
    out, side_loaded = _read(source, tickets=tickets, tz=tz)
    actor_map = {**_user_roles(side_loaded, users, source), **actor_map}
    rows = pl.from_dicts(out.rows, schema=_ROW_SCHEMA)
    # only agents can be assignees: a user the export shows assigned is an agent
    assignees = rows.filter(pl.col("event_type") == "assigned")["agent_id"].drop_nulls()
    actor_map = {**dict.fromkeys(assignees.unique().to_list(), "agent"), **actor_map}
    facts = pl.from_dicts(out.facts, schema=_FACT_SCHEMA)

    # per ticket: the requester and the creating via (creation first, then ticket records)
    per_case = (
        facts.sort("rank", "ts", nulls_last=True)
        .group_by("case_id")
        .agg(
            pl.col("requester").drop_nulls().first().alias("requester"),
            pl.col("via").drop_nulls().first().alias("case_via"),
        )
    )
    first_via = (
        rows.sort("ts")
        .group_by("case_id")
        .agg(pl.col("via").drop_nulls().first().alias("first_via"))
    )
    rows = rows.join(per_case, on="case_id", how="left").join(first_via, on="case_id", how="left")
    case_via = pl.coalesce("case_via", "first_via")
    status = (
        pl.col("status_raw")
        .str.strip_chars()
        .str.to_lowercase()
        .replace_strict(status_map, default=None, return_dtype=pl.String)
    )
    author_role = pl.col("author").replace_strict(actor_map, default=None, return_dtype=pl.String)
    actor = (
        pl.when(pl.col("event_type") == "csat")
        .then(pl.lit("customer"))
        .when((pl.col("author") == "-1") | pl.col("via").is_in(list(_SYSTEM_VIAS)))
        .then(pl.lit("system"))
        .when(author_role.is_not_null())
        .then(author_role)
        .when(pl.col("author").is_null())
        .then(pl.lit("system"))
        .when(pl.col("author") == pl.col("requester"))
        .then(pl.lit("customer"))
        .otherwise(pl.lit(None, pl.String))
    )
    rows = rows.with_columns(
        status.alias("status"),
        actor.alias("actor"),
        case_via.replace_strict(via_map, default=case_via, return_dtype=pl.String)
        .fill_null("other")
        .alias("channel"),
        pl.when(case_via.is_in(list(_PRIVATE_VIAS))).then(pl.lit(value=False)).alias("is_public"),
    )
    unmapped: list[pl.LazyFrame] = []
    unknown = (pl.col("event_type") == "status_changed") & pl.col("status").is_null()
    n_unknown = rows.select(unknown.sum()).item()
    if n_unknown:
        if on_invalid == "raise":
            raise AdapterError(_unknown(rows, unknown, status_map))
        unmapped.append(
            rejects(
                rows.filter(unknown)
                .select(
                    "source_file",
                    "source_record",
                    "source_row",
                    "case_id",
                    "event_id",
                    pl.col("status_raw").alias("status"),
                )
                .lazy(),
                "unknown_status",
                "status",
            )
        )
        rows = rows.filter(~unknown)
    rows = _unknown_authors(rows, unknown_authors, unmapped, source)
    canonical = rows.select(
        "event_id",
        "case_id",
        pl.col("requester").alias("customer_id"),
        "channel",
        "ts",
        "event_type",
        "actor",
        "is_public",
        "status",
        "agent_id",
        "team",
        "priority",
        "topic",
        "csat_score",
        "handle_seconds",
    )
    assert set(canonical["actor"].drop_nulls().unique()) <= set(ACTORS)
    canonical = integer_ids(canonical, ["case_id", "customer_id"])
    name = source_name(source) if not isinstance(source, str | os.PathLike) else os.fspath(source)
    log = finish(canonical.lazy(), unmapped or None, source=name, tz=None)
    return with_capabilities(log, CAPABILITIES)


def _unknown_authors(
    rows: pl.DataFrame,
    how: UnknownAuthors | None,
    unmapped: list[pl.LazyFrame],
    source: object,
) -> pl.DataFrame:
    """Count the events of authors with an unknown role; treat them as ``how`` says."""
    unknown = pl.col("actor").is_null()
    found = rows.filter(unknown)
    if found.height == 0:
        return rows
    if how == "reject":
        unmapped.append(
            rejects(
                found.select(
                    "source_file",
                    "source_record",
                    "source_row",
                    "case_id",
                    "event_id",
                    "author",
                ).lazy(),
                "unknown_actor",
                "actor",
            )
        )
        return rows.filter(~unknown)
    if how is None:
        authors = found["author"].unique().sort()
        shown = ", ".join(authors.head(5).to_list()) + (" …" if authors.len() > 5 else "")
        tickets = found["case_id"].n_unique()
        warnings.warn(
            f"{source_name(source)}: {authors.len()} user(s) ({shown}) wrote "
            f"{found.height} of {rows.height} events on {tickets} ticket(s) and have no known "
            "role (not side-loaded, not the requester, never an assignee); they are counted "
            "as agents, so a CC'd end user's comment would answer a ticket. Export with "
            "include=users, or pass users={id: 'end-user' | 'agent'} or a users export, or "
            "unknown_authors='customer' | 'agent' | 'reject' to choose (and silence this)",
            AdapterWarning,
            stacklevel=4,
        )
        how = "agent"
    return rows.with_columns(pl.col("actor").fill_null(pl.lit(how)))


adapter: Final = FunctionAdapter(
    "zendesk",
    "Zendesk Support incremental ticket events and ticket audits (JSON / NDJSON).",
    read_zendesk,
    CAPABILITIES,
)
"""The ``zendesk`` adapter (see :func:`read_zendesk` for its options)."""
