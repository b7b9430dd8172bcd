"""Hypothesis strategies for canonical event logs and policies.

:func:`event_logs` draws small multi-customer, multi-channel logs covering every event type and
the awkward edges of the case table: ties in ``ts``, cases without ``case_created``, agent- and
system-created cases, bot and system messages, notes, status sequences with reopens, merges,
comps, csat answers, abandoned calls, bot hand-offs, pass-through columns and string ids.
Every event has a unique ``event_id`` (drawn independently of ``ts``), so the event order of
DESIGN §2.2 is total and no result may depend on row order.

Examples
--------
>>> frame = to_frame([{"event_id": 1, "case_id": 1, "customer_id": 1, "channel": "email",
...                    "ts": BASE_TS, "event_type": "message", "actor": "customer"}])
>>> frame.schema["ts"], frame.schema["event_type"].categories.to_list()[:2]
(Datetime(time_unit='us', time_zone='UTC'), ['case_created', 'message'])
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
from hypothesis import strategies as st

from csmetrics.policy import PRESETS, Policy
from csmetrics.schema import (
    ACTOR_DTYPE,
    CANONICAL_COLUMNS,
    EVENT_TYPE_DTYPE,
    STATUS_DTYPE,
    STATUSES,
    TS_DTYPE,
)

__all__ = [
    "BASE_TS",
    "CHANNELS",
    "PASSTHROUGH_COLUMN",
    "as_of_choices",
    "event_logs",
    "policies",
    "to_frame",
]

BASE_TS = dt.datetime(2024, 3, 1, 9, 0, tzinfo=dt.UTC)
CHANNELS = ("email", "chat", "twitter", "voice", "web_form", "whatsapp", "carrier_pigeon")
PASSTHROUGH_COLUMN = "region"

# (event_type, actor) with repetitions as weights.
_KINDS: tuple[tuple[str, str], ...] = (
    *[("message", "customer")] * 5,
    *[("message", "agent")] * 5,
    *[("message", "bot")] * 2,
    ("message", "system"),
    ("note", "agent"),
    ("note", "bot"),
    *[("status_changed", "agent")] * 4,
    ("status_changed", "system"),
    ("status_changed", "customer"),
    ("assigned", "system"),
    ("assigned", "agent"),
    ("transferred", "agent"),
    ("escalated", "agent"),
    ("priority_changed", "agent"),
    ("comp_granted", "agent"),
    ("csat", "customer"),
    ("call_abandoned", "customer"),
    ("bot_handoff", "bot"),
    ("merged", "agent"),
    ("case_created", "system"),  # a stray second creation event
)
_STATUS_WEIGHTED = (*STATUSES, "solved", "solved", "open", "pending")
_CREATORS = ("customer", "customer", "customer", "agent", "agent", "system", "bot")


_EXTRAS = st.fixed_dictionaries(
    {},
    optional={
        "seconds": st.just(30),
        "topic": st.sampled_from(("refund", "login", "delivery")),
        # Multiples of 0.5 s are exact in floats and in microseconds.
        "handle_seconds": st.integers(0, 1200).map(lambda n: n / 2),
        "is_public": st.booleans(),
        PASSTHROUGH_COLUMN: st.sampled_from(("emea", "apac")),
        "channel": st.sampled_from(CHANNELS),  # a case that changes channel
    },
)


@st.composite
def _event(draw: st.DrawFn, base: dt.datetime, channel: str) -> dict[str, Any]:
    event_type, actor = draw(st.sampled_from(_KINDS))
    # Minutes from a small range make ties in ts frequent.
    event: dict[str, Any] = {
        "ts": base + dt.timedelta(minutes=draw(st.integers(0, 40))),
        "event_type": event_type,
        "actor": actor,
        "channel": channel,
    }
    if event_type == "status_changed":
        event["status"] = draw(st.sampled_from(_STATUS_WEIGHTED))
    elif event_type == "assigned":
        event["agent_id"], event["team"] = draw(
            st.tuples(
                st.sampled_from(("a1", "a2", "a3", None)),
                st.sampled_from(("billing", "tech", None)),
            )
        )
    elif event_type == "transferred":
        event["team"] = draw(st.sampled_from(("billing", "tech", "social")))
    elif event_type == "priority_changed":
        event["priority"] = draw(st.sampled_from(("low", "normal", "high", "urgent")))
    elif event_type == "comp_granted":
        event["comp_amount"] = draw(st.sampled_from((0.0, 5.0, 12.5, 25.25)))
    elif event_type == "csat":
        event["csat_score"] = float(draw(st.integers(1, 5)))
    elif event_type == "merged":
        event["merged_into"] = 999
    if draw(st.integers(0, 3)) == 3:  # one event in four carries optional columns
        event.update(draw(_EXTRAS))
        event["ts"] += dt.timedelta(seconds=event.pop("seconds", 0))
    return event


@st.composite
def _case(draw: st.DrawFn, case_no: int, n_customers: int) -> list[dict[str, Any]]:
    base = BASE_TS + dt.timedelta(minutes=draw(st.integers(0, 90)))
    channel = draw(st.sampled_from(CHANNELS))
    customer = draw(st.integers(1, n_customers))
    events = draw(st.lists(_event(base, channel), min_size=0, max_size=14))
    if draw(st.integers(0, 4)) > 0:  # most cases have a case_created event
        creator = draw(st.sampled_from(_CREATORS))
        # usually at the earliest time stamp, sometimes anywhere (even after other events)
        minute = draw(st.sampled_from((0, 0, 0, 0, 5, 20)))
        events.append(
            {
                "ts": base + dt.timedelta(minutes=minute),
                "event_type": "case_created",
                "actor": creator,
                "channel": channel,
            }
        )
    if not events:
        events.append(
            {"ts": base, "event_type": "message", "actor": "customer", "channel": channel}
        )
    for event in events:
        event["case_id"] = case_no
        event["customer_id"] = customer
    return events


@st.composite
def event_logs(draw: st.DrawFn, max_cases: int = 6) -> list[dict[str, Any]]:
    """A canonical event log as a list of event dicts, in shuffled row order.

    Ids are all integers or all strings (``"c1"``, ``"u2"``, ``"e003"``); ``ts`` are aware UTC
    datetimes; every event has a unique ``event_id``. A customer's cases never share events
    with another customer, so a log split by customer splits cleanly into whole cases.
    """
    n_customers = draw(st.integers(1, 3))
    n_cases = draw(st.integers(1, max_cases))
    events = [e for no in range(1, n_cases + 1) for e in draw(_case(no, n_customers))]
    rnd = draw(st.randoms(use_true_random=False))
    rnd.shuffle(events)
    ids = list(range(len(events)))
    rnd.shuffle(ids)  # event_id order independent of ts
    string_ids = draw(st.booleans())
    out = []
    for event, event_id in zip(events, ids, strict=True):
        event = dict(event)
        event["event_id"] = event_id
        if string_ids:
            event["event_id"] = f"e{event_id:03d}"
            event["case_id"] = f"c{event['case_id']}"
            event["customer_id"] = f"u{event['customer_id']}"
            if "merged_into" in event:
                event["merged_into"] = f"c{event['merged_into']}"
        out.append(event)
    return out


def as_of_choices(events: list[dict[str, Any]]) -> st.SearchStrategy[dt.datetime | None]:
    """``None`` (the latest event) or an as_of inside or after the log's time span."""
    stamps = sorted({e["ts"] for e in events})
    return st.one_of(
        st.none(),
        st.sampled_from(stamps),
        st.sampled_from(stamps).map(lambda t: t + dt.timedelta(minutes=7, seconds=30)),
    )


def policies(as_of: dt.datetime | None = None) -> st.SearchStrategy[Policy]:
    """A preset, or any combination of the knobs CASE_SEMANTICS.md reads."""
    statuses = st.frozensets(st.sampled_from(STATUSES))
    presets = st.sampled_from(PRESETS).map(lambda name: Policy.preset(name, as_of=as_of))
    custom = st.builds(
        Policy,
        first_response_start=st.sampled_from(("created", "first_customer_message", "last_handoff")),
        bots_count_as_responders=st.booleans(),
        agent_created=st.sampled_from(("skip", "second_public_reply", "include")),
        resolution_start=st.sampled_from(("created", "first_customer_message")),
        one_touch=st.sampled_from(("exactly_one", "at_most_one", "one_teammate")),
        requester_wait_statuses=statuses,
        agent_wait_statuses=statuses,
        on_hold_statuses=statuses,
        as_of=st.just(as_of),
        include_merged=st.booleans(),
        channels=st.sampled_from(({}, {"carrier_pigeon": "social", "email": "email"})).map(
            lambda extra: {**dict(Policy().channels), **extra}
        ),
    )
    return st.one_of(presets, custom)


_SCHEMA: dict[str, pl.DataType] = {
    "channel": pl.String(),
    "ts": TS_DTYPE,
    "event_type": EVENT_TYPE_DTYPE,
    "actor": ACTOR_DTYPE,
    "is_public": pl.Boolean(),
    "status": STATUS_DTYPE,
    "agent_id": pl.String(),
    "team": pl.String(),
    "priority": pl.String(),
    "topic": pl.String(),
    "comp_amount": pl.Float64(),
    "csat_score": pl.Float64(),
    "handle_seconds": pl.Float64(),
}


def to_frame(events: list[dict[str, Any]]) -> pl.DataFrame:
    """The events as a DataFrame in the canonical schema (all canonical columns, then extras).

    Id columns are Int64 or String depending on the values; absent values are null.
    """
    extras = sorted({k for e in events for k in e} - set(CANONICAL_COLUMNS))
    columns: dict[str, pl.Series] = {}
    for name in (*CANONICAL_COLUMNS, *extras):
        values = [e.get(name) for e in events]
        if name in _SCHEMA:
            dtype = _SCHEMA[name]
        elif name in ("event_id", "case_id", "customer_id", "merged_into"):
            ids = [v for e in events for k in ("case_id",) if (v := e.get(k)) is not None]
            string_ids = any(isinstance(v, str) for v in (*ids, *values))
            dtype = pl.String() if string_ids else pl.Int64()
        else:
            dtype = pl.String()
        if isinstance(dtype, pl.Enum):
            columns[name] = pl.Series(name, values, dtype=pl.String()).cast(dtype)
        else:
            columns[name] = pl.Series(name, values, dtype=dtype)
    return pl.DataFrame(columns)
