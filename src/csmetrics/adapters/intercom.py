"""Intercom conversations with their conversation parts onto the canonical event log.

Reads the JSON of the Intercom REST API: conversation objects as ``GET /conversations/{id}``
returns them (with ``conversation_parts``), as a list, a page (``{"type":
"conversation.list", "conversations": [...]}``) or one conversation per line (NDJSON).
Time stamps are epoch seconds (ISO 8601 strings are accepted too).

Mapping:

- the conversation (``created_at``, ``source``) → ``case_created`` and the first ``message``;
- part ``comment`` or ``quick_reply`` → ``message``; ``note`` → ``note``;
- part ``assignment``, ``default_assignment`` or ``away_mode_assignment`` → ``assigned``
  (``assigned_to`` an admin → ``agent_id``, a team → ``team``); ``assign_and_reopen`` and
  ``assign_and_unsnooze`` → ``assigned`` and ``status_changed`` to open;
- part ``close`` / ``open`` → ``status_changed`` to closed / open; ``snoozed`` → on_hold;
  ``unsnoozed`` and ``timer_unsnooze`` → open;
- ``conversation_rating`` (1–5) → ``csat`` with ``csat_score`` = the rating.

A teammate's reply or note carries its author's admin id as ``agent_id`` (who took part in
the conversation); an assignment carries the assignee.

Other part types (participants, attribute updates, SLA, titles) are not events of the case
and are not reported. Who acted, from ``author.type``: ``user``/``lead``/``contact`` →
``customer``; ``admin`` → ``agent``, unless the part says ``from_ai_agent`` or
``is_ai_answer`` → ``bot``; ``bot`` → ``bot``; ``team`` (messages sent by workflows on a
team's behalf) → ``system``. The customer is the first contact of ``contacts`` (else the
source's author). The channel comes from ``source.type`` (``conversation`` → ``chat``,
``email``, ``phone_call`` → ``phone``, ``facebook`` → ``messenger``, ``twitter`` and
``instagram`` with ``is_public = false``: those are direct messages). The ``title`` is the
``topic``; ``priority`` is kept when it is ``priority`` (``not_priority`` is null).
``state`` (open, closed, snoozed) must be known.

Examples
--------
>>> import csmetrics as csm, json, pathlib, tempfile, polars as pl
>>> conversation = {"type": "conversation", "id": "42", "created_at": 1709283600,
...     "state": "closed", "source": {"type": "conversation", "id": "1",
...         "author": {"type": "user", "id": "c1"}},
...     "contacts": {"type": "contact.list", "contacts": [{"type": "contact", "id": "c1"}]},
...     "conversation_parts": {"type": "conversation_part.list", "conversation_parts": [
...         {"type": "conversation_part", "id": "2", "part_type": "comment",
...          "created_at": 1709285400, "author": {"type": "admin", "id": "a7"}},
...         {"type": "conversation_part", "id": "3", "part_type": "close",
...          "created_at": 1709285460, "author": {"type": "admin", "id": "a7"}}]}}
>>> path = pathlib.Path(tempfile.mkdtemp()) / "conversations.json"
>>> _ = path.write_text(json.dumps([conversation]))
>>> log = csm.scan_events(path, adapter="intercom")
>>> events = log.frame.sort("ts", "event_type").collect()
>>> for row in events.select(pl.col("ts").dt.strftime("%H:%M"), "event_type", "actor",
...                          "status").rows():
...     print(*row)
09:00 case_created customer None
09:00 message customer None
09:30 message agent None
09:31 status_changed agent closed

1709283600 is 2024-03-01 09:00 UTC; the admin answered 1800 s (30 min) later.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
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
from csmetrics.exceptions import AdapterError
from csmetrics.log import EventLog

__all__ = [
    "AUTHOR_ACTORS",
    "CAPABILITIES",
    "PART_EVENTS",
    "SOURCE_CHANNELS",
    "adapter",
    "read_intercom",
]

AUTHOR_ACTORS: Final[Mapping[str, str]] = {
    "user": "customer",
    "lead": "customer",
    "contact": "customer",
    "admin": "agent",
    "bot": "bot",
    "team": "system",
}
"""Intercom ``author.type`` → canonical actor."""

PART_EVENTS: Final[Mapping[str, tuple[str, str | None]]] = {
    "comment": ("message", None),
    "quick_reply": ("message", None),
    "note": ("note", None),
    "assignment": ("assigned", None),
    "default_assignment": ("assigned", None),
    "away_mode_assignment": ("assigned", None),
    "assign_and_reopen": ("assigned", "open"),
    "assign_and_unsnooze": ("assigned", "open"),
    "close": ("status_changed", "closed"),
    "open": ("status_changed", "open"),
    "snoozed": ("status_changed", "on_hold"),
    "unsnoozed": ("status_changed", "open"),
    "timer_unsnooze": ("status_changed", "open"),
}
"""Conversation ``part_type`` → (event type, new status). Other part types give no event."""

SOURCE_CHANNELS: Final[Mapping[str, str]] = {
    "conversation": "chat",
    "chat": "chat",
    "email": "email",
    "phone_call": "phone",
    "phone_switch": "phone",
    "call": "phone",
    "sms": "sms",
    "whatsapp": "whatsapp",
    "facebook": "messenger",
    "instagram": "instagram",
    "twitter": "twitter",
    "push": "in_app",
    "in_app": "in_app",
}
"""Intercom ``source.type`` → canonical channel; any other type is kept as is (kind other)."""

CAPABILITIES: Final = Capabilities(
    source="an Intercom conversation export",
    event_types={"case_created", "message", "note", "assigned", "status_changed", "csat"},
    message_actors={"customer", "agent", "bot", "system"},
    fields={"is_public", "status", "agent_id", "team", "priority", "topic", "csat_score"},
    notes={"*": "conversations record messages, assignments, states and ratings only"},
)
"""What the ``intercom`` adapter's source can produce."""

STATES: Final = frozenset({"open", "closed", "snoozed"})
_PRIVATE_SOCIAL: Final = frozenset({"twitter", "instagram"})
_CONTAINERS: Final = ("conversations", "conversation")
_ROW_SCHEMA: Final[dict[str, pl.DataType]] = {
    "case_id": pl.String(),
    "event_id": pl.String(),
    "ts": pl.Datetime("us", "UTC"),
    "event_type": pl.String(),
    "author_type": pl.String(),
    "ai": pl.Boolean(),
    "status": pl.String(),
    "agent_id": pl.String(),
    "team": pl.String(),
    "priority": pl.String(),
    "topic": pl.String(),
    "csat_score": pl.Float64(),
    "customer_id": pl.String(),
    "source_type": pl.String(),
    "source_file": pl.String(),
    "source_record": pl.String(),
    "source_row": pl.Int64(),
    "source_field": pl.String(),
}


def _author(record: Record, part: dict[str, Any], field: str) -> tuple[str | None, bool]:
    """The author's type (lower case) and whether an AI agent wrote the part."""
    author = get(record, part, "author", dict, field=field)
    if author is None:
        return None, False
    kind = get(record, author, "type", str, field=f"{field}.type")
    ai = bool(get(record, author, "from_ai_agent", bool, field=f"{field}.from_ai_agent")) or bool(
        get(record, author, "is_ai_answer", bool, field=f"{field}.is_ai_answer")
    )
    return (kind.strip().lower() if kind else None), ai


def _author_id(record: Record, part: dict[str, Any], field: str) -> str | None:
    """The id of the part's author (a teammate's admin id when an admin wrote it)."""
    author = part.get("author")
    return as_id(record, author.get("id"), f"{field}.id") if isinstance(author, dict) else None


def _list(record: Record, value: object, inner: str, field: str) -> list[Any]:
    """A list given bare or wrapped in a list object (``{"type": ..., inner: [...]}``)."""
    if value is None:
        return []
    if isinstance(value, dict):
        value = value.get(inner, [])
        field = f"{field}.{inner}"
    if not isinstance(value, list):
        raise record.error(f"must be a list (got {type(value).__name__})", field=field)
    return value


def _customer(
    record: Record, data: dict[str, Any], source_author: dict[str, Any] | None
) -> str | None:
    for index, contact in enumerate(_list(record, data.get("contacts"), "contacts", "contacts")):
        field = f"contacts[{index}]"
        if not isinstance(contact, dict):
            raise record.error(f"must be an object (got {type(contact).__name__})", field=field)
        contact_id = as_id(record, contact.get("id"), f"{field}.id")
        if contact_id is not None:
            return contact_id
    user = get(record, data, "user", dict)  # API 1.x
    if user is not None:
        return as_id(record, user.get("id"), "user.id")
    if source_author is not None:
        kind = source_author.get("type")
        if isinstance(kind, str) and AUTHOR_ACTORS.get(kind.strip().lower()) == "customer":
            return as_id(record, source_author.get("id"), "source.author.id")
    return None


def _conversation(rows: dict[str, list[Any]], record: Record, *, tz: str | None) -> None:
    data = record.data
    case_id = as_id(record, data.get("id"), "id")
    if case_id is None:
        raise record.error("is missing", field="id", fix="export the conversation id")
    if data.get("created_at") is None:
        raise record.error("is missing", field="created_at")
    created_at = timestamp(record, data["created_at"], "created_at", tz=tz)
    state = get(record, data, "state", str)
    if state is not None and state.strip().lower() not in STATES:
        raise record.error(
            f"unknown conversation state {state!r} (known: {sorted(STATES)})", field="state"
        )
    source_key = "source" if "source" in data else "conversation_message"  # API 1.x name
    source = get(record, data, source_key, dict)
    source_author = None
    source_type = None
    if source is not None:
        source_author = get(record, source, "author", dict, field=f"{source_key}.author")
        source_type = get(record, source, "type", str, field=f"{source_key}.type")
        delivered = get(record, source, "delivered_as", str, field=f"{source_key}.delivered_as")
        del delivered  # read for its type check only
    author_type, ai = _author(record, source or {}, f"{source_key}.author")
    priority = get(record, data, "priority", str)
    if priority is not None and token(priority) == "not_priority":
        priority = None
    base = {
        "case_id": case_id,
        "customer_id": _customer(record, data, source_author),
        "source_type": token(source_type) if source_type else None,
        "source_file": record.file,
        "source_record": record.where,
        "source_row": record.ordinal,
    }

    def add(**values: Any) -> None:
        row = {**base, **values}
        for name, column in rows.items():
            column.append(row.get(name))

    add(
        event_id=f"{case_id}/created",
        ts=created_at,
        event_type="case_created",
        author_type=author_type,
        ai=ai,
        priority=priority,
        topic=get(record, data, "title", str),
        source_field="created_at",
    )
    if source is not None and source_author is not None:
        add(
            event_id=f"{case_id}/source",
            ts=created_at,
            event_type="message",
            author_type=author_type,
            ai=ai,
            agent_id=_author_id(record, source, f"{source_key}.author"),
            source_field=source_key,
        )
    parts = _list(
        record, data.get("conversation_parts"), "conversation_parts", "conversation_parts"
    )
    for index, part in enumerate(parts):
        field = f"conversation_parts[{index}]"
        if not isinstance(part, dict):
            raise record.error(f"must be an object (got {type(part).__name__})", field=field)
        part_type = get(record, part, "part_type", str, required=True, field=f"{field}.part_type")
        assert part_type is not None
        part_state = get(record, part, "state", str, field=f"{field}.state")
        if part_state is not None and part_state.strip().lower() not in STATES:
            raise record.error(
                f"unknown conversation state {part_state!r} (known: {sorted(STATES)})",
                field=f"{field}.state",
            )
        mapped = PART_EVENTS.get(token(part_type))
        if mapped is None:
            continue
        event_type, status = mapped
        part_id = as_id(record, part.get("id"), f"{field}.id") or str(index)
        if part.get("created_at") is None:
            raise record.error("is missing", field=f"{field}.created_at")
        ts = timestamp(record, part["created_at"], f"{field}.created_at", tz=tz)
        author_type, ai = _author(record, part, f"{field}.author")
        common = {"ts": ts, "author_type": author_type, "ai": ai, "source_field": field}
        author_id = _author_id(record, part, f"{field}.author")
        if event_type == "assigned":
            target = get(record, part, "assigned_to", dict, field=f"{field}.assigned_to")
            target_type = None
            target_id = None
            if target is not None:
                target_type = get(record, target, "type", str, field=f"{field}.assigned_to.type")
                target_id = as_id(record, target.get("id"), f"{field}.assigned_to.id")
            if target_id is not None and target_type in ("admin", "team"):
                add(
                    event_id=f"{case_id}/{part_id}",
                    event_type="assigned",
                    agent_id=target_id if target_type == "admin" else None,
                    team=target_id if target_type == "team" else None,
                    **common,
                )
            if status is not None:
                add(
                    event_id=f"{case_id}/{part_id}/status",
                    event_type="status_changed",
                    status=status,
                    **common,
                )
        else:
            add(
                event_id=f"{case_id}/{part_id}",
                event_type=event_type,
                status=status,
                # the teammate who wrote a reply or a note (who took part, for Intercom's
                # closed-on-first-contact); kept for human admins only, below
                agent_id=author_id if event_type in ("message", "note") else None,
                **common,
            )
    rating = get(record, data, "conversation_rating", dict)
    if rating is not None and rating.get("rating") is not None:
        score = get(record, rating, "rating", (int, float), field="conversation_rating.rating")
        rated_at = rating.get("created_at")
        add(
            event_id=f"{case_id}/rating",
            ts=(
                timestamp(record, rated_at, "conversation_rating.created_at", tz=tz)
                if rated_at is not None
                else created_at
            ),
            event_type="csat",
            author_type="user",
            ai=False,
            csat_score=float(score),
            source_field="conversation_rating.rating",
        )


def read_intercom(
    source: object,
    *,
    tz: str | None = None,
    channels: Mapping[str, str] | None = None,
    on_invalid: Literal["raise", "quarantine"] = "raise",
) -> EventLog:
    """Read Intercom conversations (with their parts) into an event log.

    Parameters
    ----------
    source
        A ``.json``/``.ndjson`` file, a glob, a folder or a list of them.
    tz
        Zone of ISO time stamps written without an offset (epoch seconds need none).
    channels
        Extra ``source.type`` → channel mappings.
    on_invalid
        ``"raise"`` (default): an unknown author type raises, naming file, record and field;
        ``"quarantine"``: such events go to ``log.rejected`` with the reason
        ``unknown_actor``.

    Returns
    -------
    EventLog
        Validated events; ``rejected`` holds events set aside, with ``source_file``,
        ``source_record``, ``source_row``, ``source_field``, ``reason`` and
        ``reason_column``.

    Raises
    ------
    AdapterError
        A file is missing or not JSON, a conversation lacks ``id``/``created_at``, a field has
        the wrong type, a ``state`` is unknown, or (``on_invalid="raise"``) an author type is.
    """
    if on_invalid not in ("raise", "quarantine"):
        raise AdapterError(
            f"{source_name(source)}: 'on_invalid' must be 'raise' or 'quarantine' "
            f"(got {on_invalid!r})"
        )
    channel_map = {**SOURCE_CHANNELS, **mapping_from(channels, what="channels", source=source)}
    rows: dict[str, list[Any]] = {name: [] for name in _ROW_SCHEMA}
    for record in read_records(source, containers=_CONTAINERS, adapter="intercom"):
        _conversation(rows, record, tz=tz)
    frame = pl.DataFrame(rows, schema=_ROW_SCHEMA)
    actor = (
        pl.when(pl.col("ai") & (pl.col("author_type") == "admin"))
        .then(pl.lit("bot"))
        .when(pl.col("author_type").is_null())
        .then(pl.lit("system"))
        .otherwise(
            pl.col("author_type").replace_strict(
                dict(AUTHOR_ACTORS), default=None, return_dtype=pl.String
            )
        )
    )
    source_type = pl.col("source_type")
    frame = frame.with_columns(
        actor.alias("actor"),
        # an author's id is an agent_id only on a human teammate's reply or note (an
        # assignment keeps its assignee)
        pl.when(
            (pl.col("event_type") == "assigned")
            | (actor == "agent") & pl.col("event_type").is_in(["message", "note"])
        )
        .then(pl.col("agent_id"))
        .alias("agent_id"),
        source_type.replace_strict(channel_map, default=source_type, return_dtype=pl.String)
        .fill_null("chat")
        .alias("channel"),
        pl.when(source_type.is_in(list(_PRIVATE_SOCIAL)))
        .then(pl.lit(value=False))
        .alias("is_public"),
    )
    unknown = pl.col("actor").is_null()
    unmapped: list[pl.LazyFrame] = []
    n_unknown = frame.select(unknown.sum()).item()
    if n_unknown:
        if on_invalid == "raise":
            first = frame.filter(unknown).row(0, named=True)
            raise AdapterError(
                f"{first['source_file']}: {first['source_record']}, field "
                f"'{first['source_field']}.author.type': unknown author type "
                f"{first['author_type']!r} (known: {sorted(AUTHOR_ACTORS)}); {n_unknown} "
                "event(s) in all. Fix: pass on_invalid='quarantine' to set them aside"
            )
        unmapped.append(
            rejects(
                frame.filter(unknown)
                .select(
                    "source_file",
                    "source_record",
                    "source_row",
                    "source_field",
                    "case_id",
                    "event_id",
                    "author_type",
                )
                .lazy(),
                "unknown_actor",
                "actor",
            )
        )
        frame = frame.filter(~unknown)
    canonical = integer_ids(
        frame.select(
            "event_id",
            "case_id",
            "customer_id",
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
        ),
        ["case_id", "customer_id"],
    )
    name = source_name(source) if not isinstance(source, str | os.PathLike) else os.fspath(source)
    log = finish(canonical.lazy(), unmapped or None, source=name, tz=None)
    return with_capabilities(log, CAPABILITIES)


adapter: Final = FunctionAdapter(
    "intercom",
    "Intercom conversations with their conversation parts (JSON / NDJSON).",
    read_intercom,
    CAPABILITIES,
)
"""The ``intercom`` adapter (see :func:`read_intercom` for its options)."""
