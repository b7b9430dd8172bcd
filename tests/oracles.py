"""An independent plain-Python oracle of the case table.

Written from ``CASE_SEMANTICS.md`` (the lead's rules 1-15) without looking at the Polars
implementation in ``csmetrics.cases``: each case's events are sorted by the event order of
rule 2 and walked in plain Python. Slow but obvious; the tests compare ``case_table`` with it.

Values: durations are :class:`datetime.timedelta` (or ``None``), time stamps aware
:class:`datetime.datetime` in UTC, counts ``int``, flags ``bool``, enum values ``str``.

Examples
--------
>>> import datetime as dt
>>> from csmetrics.policy import Policy
>>> t = lambda hm: f"2024-03-01T{hm}:00Z"
>>> events = [
...     {"case_id": 1, "customer_id": 7, "channel": "email", "ts": t("09:00"),
...      "event_type": "case_created", "actor": "customer"},
...     {"case_id": 1, "customer_id": 7, "channel": "email", "ts": t("09:30"),
...      "event_type": "message", "actor": "agent"},
... ]
>>> row = oracle_case_table(events, Policy())[1]
>>> row["first_response_time"]
datetime.timedelta(seconds=1800)
>>> row["is_open"], row["requester_wait_time"]
(True, datetime.timedelta(seconds=1800))
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from csmetrics.policy import Policy
from csmetrics.schema import ACTORS, CANONICAL_COLUMNS, EVENT_TYPES

__all__ = [
    "CASE_COLUMNS",
    "DURATION_COLUMNS",
    "TIMESTAMP_COLUMNS",
    "effective_as_of",
    "oracle_case_table",
    "order_key",
    "parse_ts",
]

_TYPE_RANK = {name: i for i, name in enumerate(EVENT_TYPES)}
_ACTOR_RANK = {name: i for i, name in enumerate(ACTORS)}
_RESOLVED = frozenset({"solved", "closed"})
_UNRESOLVED = frozenset({"new", "open", "pending", "on_hold"})
_ZERO = dt.timedelta(0)

TIMESTAMP_COLUMNS: tuple[str, ...] = (
    "created_at",
    "first_customer_message_at",
    "first_response_start_at",
    "first_response_at",
    "first_resolved_at",
    "last_resolved_at",
    "last_event_at",
)
DURATION_COLUMNS: tuple[str, ...] = (
    "first_response_time",
    "first_resolution_time",
    "full_resolution_time",
    "requester_wait_time",
    "agent_wait_time",
    "on_hold_time",
    "next_reply_time_sum",
    "next_reply_time_max",
    "handle_time",
)
CASE_COLUMNS: tuple[str, ...] = (
    "case_id",
    "customer_id",
    "channel",
    "channel_kind",
    "is_public_channel",
    "is_public",
    "moved_to_private",
    "team",
    "agent_id",
    "priority",
    "topic",
    *TIMESTAMP_COLUMNS,
    *DURATION_COLUMNS,
    "next_reply_count",
    "n_events",
    "n_customer_messages",
    "n_agent_replies",
    "n_bot_messages",
    "n_notes",
    "n_reopens",
    "reopened",
    "n_resolutions",
    "n_assignments",
    "n_transfers",
    "n_escalations",
    "comp_count",
    "comp_total",
    "csat_score",
    "agent_created",
    "abandoned",
    "merged",
    "one_touch",
    "status_at_as_of",
    "is_open",
)
"""Every case-table column of CASE_SEMANTICS.md (pass-through columns come after these)."""


def parse_ts(value: Any) -> dt.datetime:
    """An aware UTC datetime from a datetime or an ISO 8601 string (``Z`` allowed).

    >>> parse_ts("2024-03-01T09:00:00Z").isoformat()
    '2024-03-01T09:00:00+00:00'
    """
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise ValueError(f"ts must be an aware datetime or ISO string with a zone, got {value!r}")
    return value.astimezone(dt.UTC)


def order_key(event: Mapping[str, Any]) -> tuple[Any, ...]:
    """Rule 2: ts, event-type order, actor order, then event_id (a missing id sorts last)."""
    event_id = event.get("event_id")
    return (
        event["ts"],
        _TYPE_RANK[event["event_type"]],
        _ACTOR_RANK[event["actor"]],
        event_id is None,
        0 if event_id is None else event_id,
    )


def effective_as_of(events: Iterable[Mapping[str, Any]], policy: Policy) -> dt.datetime | None:
    """``policy.as_of``, else the latest ``ts`` of the whole log (``None`` for no events)."""
    if policy.as_of is not None:
        return parse_ts(policy.as_of)
    stamps = [parse_ts(e["ts"]) for e in events]
    return max(stamps) if stamps else None


def oracle_case_table(
    events: Iterable[Mapping[str, Any]], policy: Policy
) -> dict[Any, dict[str, Any]]:
    """The case table as ``{case_id: {column: value}}``, computed event by event.

    Parameters
    ----------
    events
        Canonical events (mappings with at least the required columns; ``ts`` an aware
        datetime or an ISO 8601 string with a zone).
    policy
        The knobs (rules follow CASE_SEMANTICS.md).
    """
    rows = [dict(e) for e in events]
    for row in rows:
        row["ts"] = parse_ts(row["ts"])
    if not rows:
        return {}
    as_of = effective_as_of(rows, policy)
    assert as_of is not None
    passthrough = sorted({k for row in rows for k in row} - set(CANONICAL_COLUMNS))
    by_case: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["ts"] <= as_of:  # rule 1
            by_case[row["case_id"]].append(row)
    return {
        case_id: _one_case(sorted(case_events, key=order_key), policy, as_of, passthrough)
        for case_id, case_events in by_case.items()
    }


def _is_message(e: Mapping[str, Any], actor: str) -> bool:
    return bool(e["event_type"] == "message" and e["actor"] == actor)


def _first_non_null(evs: list[dict[str, Any]], column: str) -> Any:
    return next((e[column] for e in evs if e.get(column) is not None), None)


def _last_non_null(evs: list[dict[str, Any]], column: str) -> Any:
    return _first_non_null(evs[::-1], column)


def _one_case(
    evs: list[dict[str, Any]], policy: Policy, as_of: dt.datetime, passthrough: list[str]
) -> dict[str, Any]:
    def is_reply(e: Mapping[str, Any]) -> bool:  # rule 4
        return _is_message(e, "agent") or (
            policy.bots_count_as_responders and _is_message(e, "bot")
        )

    creations = [i for i, e in enumerate(evs) if e["event_type"] == "case_created"]
    creation_idx = creations[0] if creations else 0
    creation = evs[creation_idx]
    created_at: dt.datetime = creation["ts"]
    out: dict[str, Any] = {"case_id": creation["case_id"]}

    # attributes: key columns from the creation event (DESIGN §2.2)
    out["customer_id"] = creation["customer_id"]
    out["channel"] = creation["channel"]
    kind = dict(policy.channels).get(creation["channel"], "other")
    out["channel_kind"] = kind
    out["is_public_channel"] = kind == "social"
    out["team"] = _last_non_null(evs, "team")
    out["agent_id"] = _last_non_null(evs, "agent_id")
    out["priority"] = _last_non_null(evs, "priority")
    out["topic"] = _first_non_null(evs, "topic")

    # visibility (DESIGN §2.4): the first customer message's, else the first event's (the
    # creation event); a null is_public takes the channel's default
    def visible(e: Mapping[str, Any]) -> bool:
        flag = e.get("is_public")
        return bool(kind == "social") if flag is None else bool(flag)

    customer_messages = [e for e in evs if _is_message(e, "customer")]
    is_public = visible(customer_messages[0] if customer_messages else creation)
    out["is_public"] = is_public
    out["moved_to_private"] = is_public and any(
        e["event_type"] == "message" and e.get("is_public") is False for e in evs
    )

    # creation: the first case_created event, else the first event
    out["created_at"] = created_at
    out["last_event_at"] = evs[-1]["ts"]
    agent_created = creation["actor"] == "agent"
    out["agent_created"] = agent_created

    # the status walk: events before creation only set the status at creation; no clock
    # runs before creation; a resolution is a move from unresolved into solved/closed
    status, since = "new", created_at
    clocks = {"requester": _ZERO, "agent": _ZERO, "hold": _ZERO}

    def run_clocks(status: str, length: dt.timedelta) -> None:
        if status in policy.requester_wait_statuses:
            clocks["requester"] += length
        if status in policy.agent_wait_statuses:
            clocks["agent"] += length
        if status in policy.on_hold_statuses:
            clocks["hold"] += length

    reopen_at: list[int] = []  # indexes of reopening events
    resolutions: list[dt.datetime] = []
    for i, e in enumerate(evs):
        if e["event_type"] == "status_changed":
            new_status = e["status"]
        elif e["event_type"] == "merged":
            new_status = "closed"
        else:
            continue
        post = i > creation_idx or not creations
        if post:
            run_clocks(status, e["ts"] - since)
            if status in _RESOLVED and new_status in _UNRESOLVED:
                reopen_at.append(i)
            if status in _UNRESOLVED and new_status in _RESOLVED:
                resolutions.append(e["ts"])
            since = e["ts"]
        status = new_status
    run_clocks(status, as_of - since)
    is_open = status not in _RESOLVED
    out["requester_wait_time"] = clocks["requester"]
    out["agent_wait_time"] = clocks["agent"]
    out["on_hold_time"] = clocks["hold"]
    out["status_at_as_of"] = status
    out["is_open"] = is_open
    out["n_reopens"] = len(reopen_at)
    out["reopened"] = bool(reopen_at)
    out["n_resolutions"] = len(resolutions)

    # the first customer message
    customer_idx = [i for i, e in enumerate(evs) if _is_message(e, "customer")]
    fcm_at = evs[customer_idx[0]]["ts"] if customer_idx else None
    out["first_customer_message_at"] = fcm_at

    # first response: the first reply at or after the clock start
    replies = [i for i, e in enumerate(evs) if is_reply(e)]
    mode = policy.first_response_start
    if mode == "created":
        start_at = created_at
    elif mode == "first_customer_message":
        start_at = fcm_at if fcm_at is not None else created_at
    elif mode == "last_handoff":
        limit = replies[0] if replies else len(evs)
        handoffs = [
            i
            for i, e in enumerate(evs)
            if creation_idx < i < limit and (e["event_type"] == "bot_handoff" or i in reopen_at)
        ]
        start_at = evs[handoffs[-1]]["ts"] if handoffs else created_at
    else:  # pragma: no cover - Policy validates the knob
        raise AssertionError(mode)
    if agent_created and policy.agent_created in ("second_public_reply", "include"):
        start_at = created_at
    after_start = [i for i in replies if evs[i]["ts"] >= start_at]
    fr_idx: int | None = after_start[0] if after_start else None
    if agent_created:
        if policy.agent_created == "skip":
            fr_idx = None
        elif policy.agent_created == "second_public_reply":
            post_replies = [i for i in replies if evs[i]["ts"] >= created_at]
            comments = [
                e for e in evs if e["event_type"] in ("message", "note") and e["ts"] >= created_at
            ]
            if comments and _is_message(comments[0], "agent"):
                fr_idx = post_replies[1] if len(post_replies) > 1 else None
    fr_at = evs[fr_idx]["ts"] if fr_idx is not None else None
    merged = any(e["event_type"] == "merged" for e in evs)
    out["first_response_start_at"] = start_at
    out["first_response_at"] = fr_at
    out["first_response_time"] = (
        None if fr_at is None or (merged and not policy.include_merged) else fr_at - start_at
    )

    # resolution: first and last resolution (the last kept when resolved at as_of)
    out["first_resolved_at"] = resolutions[0] if resolutions else None
    out["last_resolved_at"] = resolutions[-1] if resolutions and not is_open else None
    res_start = created_at
    if policy.resolution_start == "first_customer_message" and fcm_at is not None:
        res_start = fcm_at
    for column, end in (
        ("first_resolution_time", out["first_resolved_at"]),
        ("full_resolution_time", out["last_resolved_at"]),
    ):
        out[column] = None if end is None else max(end - res_start, _ZERO)

    # rule 10: next-reply pairs after the first reply (rule-4 reply, "created" semantics)
    pairs: list[dt.timedelta] = []
    if replies:
        waiting_since: dt.datetime | None = None
        for e in evs[replies[0] + 1 :]:
            if _is_message(e, "customer"):
                if waiting_since is None:
                    waiting_since = e["ts"]
            elif is_reply(e) and waiting_since is not None:
                pairs.append(e["ts"] - waiting_since)
                waiting_since = None
    out["next_reply_count"] = len(pairs)
    out["next_reply_time_sum"] = sum(pairs, _ZERO)
    out["next_reply_time_max"] = max(pairs) if pairs else None

    # rules 11, 12: counts and values
    def count(event_type: str, actor: str | None = None) -> int:
        return sum(1 for e in evs if e["event_type"] == event_type and actor in (None, e["actor"]))

    out["n_events"] = len(evs)
    out["n_customer_messages"] = count("message", "customer")
    out["n_agent_replies"] = count("message", "agent")
    out["n_bot_messages"] = count("message", "bot")
    out["n_notes"] = count("note")
    out["n_assignments"] = count("assigned")
    out["n_transfers"] = count("transferred")
    out["n_escalations"] = count("escalated")
    out["comp_count"] = count("comp_granted")
    out["comp_total"] = float(
        sum(e.get("comp_amount") or 0.0 for e in evs if e["event_type"] == "comp_granted")
    )
    csats = [e for e in evs if e["event_type"] == "csat"]
    out["csat_score"] = csats[-1].get("csat_score") if csats else None
    handle = [e["handle_seconds"] for e in evs if e.get("handle_seconds") is not None]
    out["handle_time"] = dt.timedelta(seconds=sum(handle)) if handle else None

    # rules 13, 14: flags. Abandoned: the caller hung up before any *human* agent answered
    # (a bot or IVR message never answers a call, whatever bots_count_as_responders says)
    human = [i for i, e in enumerate(evs) if e["event_type"] == "message" and e["actor"] == "agent"]
    first_answer = human[0] if human else len(evs)
    out["abandoned"] = any(e["event_type"] == "call_abandoned" for e in evs[:first_answer])
    out["merged"] = merged
    n_replies = out["n_agent_replies"]
    if policy.one_touch == "exactly_one":
        out["one_touch"] = (not is_open) and not reopen_at and n_replies == 1
    elif policy.one_touch == "at_most_one":
        out["one_touch"] = (not is_open) and n_replies <= 1
    else:  # one participating teammate, closed once
        teammates = {e.get("agent_id") for i, e in enumerate(evs) if i in human}
        out["one_touch"] = (
            (not is_open)
            and len(resolutions) == 1
            and len(teammates) == 1
            and None not in teammates
        )

    for column in passthrough:
        out[column] = _first_non_null(evs, column)
    return out
