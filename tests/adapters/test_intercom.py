"""The intercom adapter on hand-made conversations in the documented API layout."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import csmetrics as csm
from csmetrics.adapters.intercom import read_intercom
from csmetrics.exceptions import AdapterError, CsMetricsError

DATA = Path(__file__).parents[1] / "data" / "intercom"
CONVERSATIONS = DATA / "conversations.json"


def events(log: csm.EventLog) -> pl.DataFrame:
    return log.frame.sort("case_id", "ts", "event_type", "event_id").collect()


def kinds(frame: pl.DataFrame, case_id: int) -> list[tuple[str, str, str | None]]:
    rows = frame.filter(pl.col("case_id") == case_id).select("event_type", "actor", "status")
    return [(str(e), str(a), s) for e, a, s in rows.rows()]


def test_conversations() -> None:
    log = csm.scan_events(CONVERSATIONS, adapter="intercom")
    frame = events(log)
    assert log.rejected is not None
    assert log.rejected.collect().height == 0
    # 1001: created + source + 7 mapped parts (one attribute update is no event) + rating = 10
    # 1002: created + source + 8 events from 7 parts (assign_and_reopen gives two) = 10
    # 1003: created + source = 2
    assert frame.group_by("case_id").len().sort("case_id").rows() == [
        (1001, 10),
        (1002, 10),
        (1003, 2),
    ]
    assert frame.schema["case_id"] == pl.Int64  # "1001" … are integer ids
    assert frame.schema["customer_id"] == pl.String  # contact ids are hex


def test_conversation_1001_bot_then_human() -> None:
    frame = events(csm.scan_events(CONVERSATIONS, adapter="intercom"))
    assert kinds(frame, 1001) == [
        ("case_created", "customer", None),  # 08:00 Ada writes in Messenger
        ("message", "customer", None),
        ("message", "bot", None),  # 08:00:30 Fin answers
        ("assigned", "bot", None),  # 08:01 default assignment to team 5
        ("assigned", "agent", None),  # 08:15 admin 7001 takes it
        ("message", "agent", None),  # 08:20
        ("note", "agent", None),  # 08:21
        ("message", "customer", None),  # 08:30
        ("status_changed", "agent", "closed"),  # 08:35
        ("csat", "customer", None),  # 10:00 rating 4
    ]
    conversation = frame.filter(pl.col("case_id") == 1001)
    assert set(conversation["channel"]) == {"chat"}
    assert set(conversation["customer_id"]) == {"65f0c1"}
    assert conversation["team"].drop_nulls().to_list() == ["5"]
    # admin 7001 is the assignee (08:15) and the author of the reply (08:20) and note
    # (08:21); Fin's message (a bot) carries no teammate
    assert conversation.select("event_type", "actor", "agent_id").drop_nulls().rows() == [
        ("assigned", "agent", "7001"),
        ("message", "agent", "7001"),
        ("note", "agent", "7001"),
    ]
    assert conversation["topic"].drop_nulls().to_list() == ["Where is my parcel?"]
    assert conversation["csat_score"].drop_nulls().to_list() == [4.0]
    assert conversation["priority"].drop_nulls().to_list() == []  # not_priority


def test_conversation_1002_snooze_close_reopen() -> None:
    frame = events(csm.scan_events(CONVERSATIONS, adapter="intercom"))
    assert kinds(frame, 1002) == [
        ("case_created", "customer", None),
        ("message", "customer", None),
        ("assigned", "agent", None),
        ("message", "agent", None),
        ("status_changed", "agent", "on_hold"),  # snoozed
        ("status_changed", "system", "open"),  # timer_unsnooze, no author
        ("message", "customer", None),
        ("status_changed", "agent", "closed"),
        ("status_changed", "agent", "open"),  # assign_and_reopen
        ("assigned", "agent", None),
    ]
    conversation = frame.filter(pl.col("case_id") == 1002)
    assert set(conversation["channel"]) == {"email"}
    assert conversation["priority"].drop_nulls().to_list() == ["priority"]


def test_conversation_1003_twitter_dm() -> None:
    frame = events(csm.scan_events(CONVERSATIONS, adapter="intercom"))
    conversation = frame.filter(pl.col("case_id") == 1003)
    assert set(conversation["channel"]) == {"twitter"}
    assert set(conversation["is_public"]) == {False}


def test_case_table_intercom_preset() -> None:
    log = csm.scan_events(CONVERSATIONS, adapter="intercom")
    table = csm.case_table(log, policy=csm.Policy.preset("intercom")).collect().sort("case_id")
    first = table.row(0, named=True)
    # clock from Ada's first message 08:00 to admin 7001's 08:20 reply: Fin's 08:00:30 does
    # not count → 20 minutes
    assert first["first_response_time"] == dt.timedelta(minutes=20)
    assert table.filter(pl.col("case_id") == 1002)["n_reopens"].item() == 1


def test_ndjson_pages_equal_the_json_list() -> None:
    by_pages = events(csm.scan_events(DATA / "conversations.ndjson", adapter="intercom"))
    assert by_pages.equals(events(csm.scan_events(CONVERSATIONS, adapter="intercom")))


def test_api_1_names(tmp_path: Path) -> None:
    conversation = json.loads(CONVERSATIONS.read_text())[2]
    conversation["conversation_message"] = conversation.pop("source")
    conversation.pop("contacts")
    conversation["user"] = {"type": "user", "id": "u-9"}
    path = tmp_path / "old.json"
    path.write_text(json.dumps(conversation))
    frame = events(read_intercom(path))
    assert frame["customer_id"].unique().to_list() == ["u-9"]
    assert frame["event_type"].to_list() == ["case_created", "message"]


def test_ai_agent_parts_are_bot_messages(tmp_path: Path) -> None:
    conversations = json.loads(CONVERSATIONS.read_text())
    part = conversations[0]["conversation_parts"]["conversation_parts"][3]
    part["author"]["is_ai_answer"] = True
    path = tmp_path / "fin.json"
    path.write_text(json.dumps(conversations))
    frame = events(read_intercom(path))
    assert kinds(frame, 1001)[5] == ("message", "bot", None)


def test_unknown_author_type(tmp_path: Path) -> None:
    conversations = json.loads(CONVERSATIONS.read_text())
    conversations[1]["conversation_parts"]["conversation_parts"][1]["author"]["type"] = "ghost"
    path = tmp_path / "ghost.json"
    path.write_text(json.dumps(conversations))
    with pytest.raises(AdapterError) as info:
        read_intercom(path)
    message = str(info.value)
    assert message.startswith(f"{path}: [1], field 'conversation_parts[1].author.type'")
    assert "'ghost'" in message
    log = read_intercom(path, on_invalid="quarantine")
    assert log.rejected is not None
    assert log.rejected.collect().select("reason", "author_type").rows() == [
        ("unknown_actor", "ghost")
    ]
    assert log.frame.collect().height == 21


# -- malformed input ------------------------------------------------------------------------


def mutate(tmp_path: Path, change: Any) -> Path:
    conversations = json.loads(CONVERSATIONS.read_text())
    change(conversations)
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps(conversations))
    return path


def parts(c: list[Any], i: int) -> list[Any]:
    result: list[Any] = c[i]["conversation_parts"]["conversation_parts"]
    return result


@pytest.mark.parametrize(
    ("change", "record", "field", "problem"),
    [
        (lambda c: c[0].pop("id"), "[0]", "id", "is missing"),
        (lambda c: c[1].pop("created_at"), "[1]", "created_at", "is missing"),
        (lambda c: c[1].update(created_at=[1]), "[1]", "created_at", "must be epoch seconds"),
        (lambda c: c[1].update(created_at=-5), "[1]", "created_at", "not a plausible epoch"),
        (lambda c: c[2].update(state="sleeping"), "[2]", "state", "unknown conversation state"),
        (lambda c: c[0].update(source="chat"), "[0]", "source", "must be an object"),
        (
            lambda c: parts(c, 0)[2].update(part_type=None),
            "[0]",
            "conversation_parts[2].part_type",
            "is missing",
        ),
        (
            lambda c: parts(c, 0)[2].update(created_at="soon"),
            "[0]",
            "conversation_parts[2].created_at",
            "not an ISO 8601",
        ),
        (
            lambda c: parts(c, 0)[2].update(state="asleep"),
            "[0]",
            "conversation_parts[2].state",
            "unknown conversation state",
        ),
        (
            lambda c: parts(c, 0)[2].update(assigned_to="7001"),
            "[0]",
            "conversation_parts[2].assigned_to",
            "must be an object",
        ),
        (
            lambda c: parts(c, 0)[3]["author"].update(is_ai_answer="no"),
            "[0]",
            "conversation_parts[3].author.is_ai_answer",
            "must be true or false",
        ),
        (
            lambda c: c[0]["conversation_rating"].update(rating="4"),
            "[0]",
            "conversation_rating.rating",
            "must be an integer or a number",
        ),
        (
            lambda c: c[0]["conversation_parts"].update(conversation_parts={}),
            "[0]",
            "conversation_parts.conversation_parts",
            "must be a list",
        ),
        (
            lambda c: c[0]["contacts"]["contacts"].insert(0, "65f0c1"),
            "[0]",
            "contacts[0]",
            "must be an object",
        ),
    ],
)
def test_bad_records_name_file_record_and_field(
    tmp_path: Path, change: Any, record: str, field: str, problem: str
) -> None:
    path = mutate(tmp_path, change)
    with pytest.raises(AdapterError) as info:
        csm.scan_events(path, adapter="intercom")
    message = str(info.value)
    assert message.startswith(f"{path}: {record}, field {field!r}: "), message
    assert problem in message


def test_truncated_json(tmp_path: Path) -> None:
    text = CONVERSATIONS.read_text()
    path = tmp_path / "cut.json"
    path.write_text(text[: len(text) // 3])
    with pytest.raises(AdapterError, match=r"cut\.json: line \d+, column \d+: not valid JSON"):
        read_intercom(path)
    lines = (DATA / "conversations.ndjson").read_text().splitlines()
    path = tmp_path / "cut.ndjson"
    path.write_text(lines[0] + "\n" + lines[1][:-10])
    with pytest.raises(AdapterError, match=r"cut\.ndjson: line 2: not valid JSON"):
        read_intercom(path)


def test_options_are_checked() -> None:
    with pytest.raises(AdapterError, match="on_invalid"):
        read_intercom(CONVERSATIONS, on_invalid="drop")  # type: ignore[arg-type]
    with pytest.raises(AdapterError, match="must be a mapping"):
        read_intercom(CONVERSATIONS, channels=["email"])  # type: ignore[arg-type]
    with pytest.raises(AdapterError, match="unexpected keyword"):
        csm.scan_events(CONVERSATIONS, adapter="intercom", options={"colour": "blue"})


def test_row_order_does_not_matter(tmp_path: Path) -> None:
    conversations = json.loads(CONVERSATIONS.read_text())
    for conversation in conversations:
        conversation["conversation_parts"]["conversation_parts"].reverse()
    path = tmp_path / "reversed.json"
    path.write_text(json.dumps(conversations[::-1]))
    assert events(read_intercom(path)).equals(events(read_intercom(CONVERSATIONS)))


# -- garbage never escapes as a library error -------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.sampled_from(["comment", "close", "admin", "user", "open", "conversation", "1709539200"]),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
KEYS = [
    "id",
    "created_at",
    "state",
    "source",
    "author",
    "type",
    "contacts",
    "conversation_parts",
    "part_type",
    "assigned_to",
    "conversation_rating",
    "rating",
    "title",
    "priority",
    "user",
]
CONVERSATION_LIST = json.loads(CONVERSATIONS.read_text())


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*prefix, index))
    return found


def read_or_fail_cleanly(path: Path) -> None:
    try:
        log = read_intercom(path)
        log.frame.collect()
        if log.rejected is not None:
            log.rejected.collect()
    except CsMetricsError:
        pass


@settings(
    deadline=None, max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(document=json_values | st.dictionaries(st.sampled_from(KEYS), json_values, max_size=6))
def test_garbage_documents(tmp_path: Path, document: Any) -> None:
    path = tmp_path / "garbage.json"
    path.write_text(json.dumps({"conversations": [document]}))
    read_or_fail_cleanly(path)
    path.write_text(json.dumps(document))
    read_or_fail_cleanly(path)


@settings(
    deadline=None, max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), replacement=json_values)
def test_garbage_in_real_records(tmp_path: Path, data: st.DataObject, replacement: Any) -> None:
    conversations = copy.deepcopy(CONVERSATION_LIST)
    where = data.draw(st.sampled_from(paths(conversations)))
    target = conversations
    for step in where[:-1]:
        target = target[step]
    target[where[-1]] = replacement
    path = tmp_path / "mutated.json"
    path.write_text(json.dumps(conversations))
    read_or_fail_cleanly(path)


def test_teammates_who_replied_are_agent_ids(tmp_path: Path) -> None:
    # two teammates answer one conversation: 7001 twice, 7002 once; both are kept as the
    # authors of their replies, so "one participating teammate" can be told
    conversation = json.loads(CONVERSATIONS.read_text())[0]
    parts = conversation["conversation_parts"]["conversation_parts"]
    reply = next(p for p in parts if p["part_type"] == "comment" and p["author"]["type"] == "admin")
    second = {**reply, "id": "99", "created_at": reply["created_at"] + 60}
    second["author"] = {**reply["author"], "id": "7002"}
    third = {**reply, "id": "98", "created_at": reply["created_at"] + 120}
    parts.extend([second, third])
    path = tmp_path / "two.json"
    path.write_text(json.dumps([conversation]))
    frame = events(csm.scan_events(path, adapter="intercom"))
    replies = frame.filter((pl.col("event_type") == "message") & (pl.col("actor") == "agent"))
    assert sorted(replies["agent_id"].to_list()) == ["7001", "7001", "7002"]
    assert replies["agent_id"].n_unique() == 2


def test_intercom_capabilities() -> None:
    log = csm.scan_events(CONVERSATIONS, adapter="intercom")
    assert log.capabilities is not None
    assert log.capabilities.can("message:agent")
    assert log.capabilities.can("field:agent_id")
    assert not log.capabilities.can("comp_granted")
