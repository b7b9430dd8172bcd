"""The zendesk adapter on hand-made exports in the documented API layouts (tests/data/zendesk)."""

from __future__ import annotations

import copy
import datetime as dt
import json
import warnings
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import csmetrics as csm
from csmetrics.adapters.zendesk import read_zendesk
from csmetrics.exceptions import AdapterError, AdapterWarning, CsMetricsError

DATA = Path(__file__).parents[1] / "data" / "zendesk"
EVENTS = DATA / "ticket_events.json"
USERS = DATA / "users.json"  # the users export (GET /api/v2/users): the roles of the authors
WITH_USERS = {"users": USERS}
UTC = dt.UTC


def events(log: csm.EventLog) -> pl.DataFrame:
    return log.frame.sort("case_id", "ts", "event_type", "event_id").collect()


def kinds(frame: pl.DataFrame, case_id: int) -> list[tuple[str, str]]:
    rows = frame.filter(pl.col("case_id") == case_id).select("event_type", "actor").rows()
    return [(str(e), str(a)) for e, a in rows]


# -- the incremental ticket event export ------------------------------------------------------


def test_ticket_events_page() -> None:
    log = csm.scan_events(EVENTS, adapter="zendesk", options=WITH_USERS)
    frame = events(log)
    assert log.rejected is not None
    assert log.rejected.collect().height == 0
    # 11 updates → 14 events for ticket 101, 9 for 102, 5 for 103 (tags, notifications and
    # the subject are no events)
    assert frame.group_by("case_id").len().sort("case_id").rows() == [(101, 14), (102, 9), (103, 5)]
    assert frame.schema["case_id"] == pl.Int64
    assert frame.schema["customer_id"] == pl.Int64


def test_ticket_101_by_mail_with_a_trigger_and_csat() -> None:
    frame = events(csm.scan_events(EVENTS, adapter="zendesk", options=WITH_USERS))
    assert kinds(frame, 101) == [
        ("case_created", "customer"),  # 08:00 the requester's mail
        ("message", "customer"),
        ("status_changed", "customer"),  # new
        ("priority_changed", "customer"),  # normal
        ("assigned", "system"),  # 08:00:01 a trigger routes it to group 360001
        ("message", "agent"),  # 09:10 agent 501 answers
        ("status_changed", "agent"),  # pending
        ("assigned", "agent"),  # to 501
        ("message", "customer"),  # 10:00 "Any news?"
        ("status_changed", "customer"),  # open
        ("message", "agent"),  # 10:30 public reply
        ("note", "agent"),  # private comment
        ("status_changed", "agent"),  # solved
        ("csat", "customer"),  # 12:00 good → 5
    ]
    ticket = frame.filter(pl.col("case_id") == 101)
    assert set(ticket["channel"]) == {"email"}
    assert set(ticket["customer_id"]) == {9001}
    assert ticket["status"].drop_nulls().to_list() == ["new", "pending", "open", "solved"]
    assert ticket["topic"].drop_nulls().to_list() == ["Order 5521 missing"]
    assert ticket["team"].drop_nulls().to_list() == ["360001"]
    assert ticket["agent_id"].drop_nulls().to_list() == ["501"]
    assert ticket["csat_score"].drop_nulls().to_list() == [5.0]


def test_ticket_102_agent_created_phone_call() -> None:
    frame = events(csm.scan_events(EVENTS, adapter="zendesk", options=WITH_USERS))
    ticket = frame.filter(pl.col("case_id") == 102)
    assert kinds(frame, 102) == [
        ("case_created", "agent"),  # agent 502 logged the call for requester 9002
        ("message", "agent"),  # the answered call (a VoiceComment) is an agent message
        ("status_changed", "agent"),
        ("assigned", "agent"),
        ("assigned", "agent"),
        ("transferred", "agent"),  # 11:20 group 360002 → 360003
        ("priority_changed", "agent"),
        ("message", "agent"),
        ("status_changed", "agent"),
    ]
    assert set(ticket["channel"]) == {"phone"}  # via "Phone call (incoming)"
    assert ticket["handle_seconds"].drop_nulls().to_list() == [240.0]
    assert ticket["team"].drop_nulls().to_list() == ["360002", "360003"]
    assert ticket["priority"].drop_nulls().to_list() == ["high"]


def test_ticket_103_twitter_dm_is_private_and_on_hold() -> None:
    frame = events(csm.scan_events(EVENTS, adapter="zendesk", options=WITH_USERS))
    ticket = frame.filter(pl.col("case_id") == 103)
    assert set(ticket["channel"]) == {"twitter"}
    assert set(ticket["is_public"]) == {False}
    assert ticket["status"].drop_nulls().to_list() == ["new", "on_hold"]  # Zendesk "hold"


def test_case_table_on_the_export() -> None:
    log = csm.scan_events(EVENTS, adapter="zendesk", options=WITH_USERS)
    table = csm.case_table(log, policy=csm.Policy.preset("zendesk")).collect().sort("case_id")
    ticket = table.filter(pl.col("case_id") == 101).row(0, named=True)
    # created 08:00, first public agent comment 09:10 → 70 minutes
    assert ticket["first_response_time"] == dt.timedelta(minutes=70)
    # pending 09:10-10:00 = 50 min agent wait; new 08:00-09:10 + open 10:00-10:30 = 100 min
    assert ticket["agent_wait_time"] == dt.timedelta(minutes=50)
    assert ticket["requester_wait_time"] == dt.timedelta(minutes=100)
    assert ticket["csat_score"] == 5.0


def test_ndjson_without_comments_and_a_repeated_page() -> None:
    log = csm.scan_events(DATA / "ticket_events.ndjson", adapter="zendesk")
    frame = events(log)
    # comment_present/comment_public stand for the comments the export left out
    assert kinds(frame, 201) == [
        ("case_created", "customer"),
        ("message", "customer"),
        ("status_changed", "customer"),
        ("message", "agent"),
        ("status_changed", "agent"),
        ("assigned", "agent"),
    ]
    assert set(frame["channel"]) == {"chat"}
    # line 3 repeats line 2 (pages of a time-based export overlap): its 3 events are rejected
    assert log.rejected is not None
    assert log.rejected.collect()["reason"].to_list() == ["duplicate_event"] * 3


def test_ticket_audits() -> None:
    frame = events(csm.scan_events(DATA / "audits.json", adapter="zendesk"))
    assert kinds(frame, 301) == [
        ("case_created", "customer"),
        ("message", "customer"),
        ("status_changed", "customer"),
        ("assigned", "system"),  # the routing trigger (author -1)
        ("message", "agent"),
        ("status_changed", "agent"),
        ("assigned", "agent"),
        ("message", "customer"),
        ("status_changed", "customer"),  # reopened: solved → open
        ("message", "agent"),
        ("status_changed", "agent"),
        ("csat", "customer"),  # SatisfactionRating bad → 1
    ]
    assert frame["status"].drop_nulls().to_list() == ["new", "solved", "open", "closed"]
    assert frame["customer_id"].unique().to_list() == [9005]  # audits give "9005" as text
    assert frame["csat_score"].drop_nulls().to_list() == [1.0]
    assert set(frame["channel"]) == {"web_form"}
    table = csm.case_table(csm.scan_events(DATA / "audits.json", adapter="zendesk")).collect()
    assert table["n_reopens"].item() == 1


def test_tickets_fill_in_a_window_without_the_creation() -> None:
    # without the ticket export nobody knows the requester: rejected, not guessed; nor is
    # the role of its author 9006 known (the requester, as the ticket export shows)
    with pytest.warns(AdapterWarning, match=r"1 user\(s\) \(9006\) wrote 2 of 2 events"):
        alone = csm.scan_events(DATA / "window_events.json", adapter="zendesk")
    assert alone.frame.collect().height == 0
    assert alone.rejected is not None
    assert set(alone.rejected.collect()["reason"]) == {"null_key"}
    log = csm.scan_events(
        DATA / "window_events.json", adapter="zendesk", options={"tickets": DATA / "tickets.json"}
    )
    frame = events(log)
    assert frame.select("customer_id", "channel", "actor").unique().rows() == [
        (9006, "email", "customer")
    ]
    both = csm.scan_events([DATA / "window_events.json", DATA / "tickets.json"], adapter="zendesk")
    assert events(both).equals(frame)


def test_options_users_statuses_channels(tmp_path: Path) -> None:
    page = json.loads(EVENTS.read_text())
    page["ticket_events"][2]["child_events"][2]["status"] = "en attente"
    page["ticket_events"][0]["via"] = "Carrier pigeon"
    path = tmp_path / "events.json"
    path.write_text(json.dumps(page))
    log = read_zendesk(
        path,
        users={"501": "bot", "503": "agent"},
        statuses={"en attente": "pending"},
        channels={"carrier_pigeon": "pigeon"},
    )
    ticket = events(log).filter(pl.col("case_id") == 101)
    assert "pending" in ticket["status"].to_list()
    assert set(ticket["channel"]) == {"pigeon"}
    assert ("message", "bot") in kinds(ticket, 101)
    with pytest.raises(AdapterError, match="role 'robot'"):
        read_zendesk(path, users={"501": "robot"})
    with pytest.raises(AdapterError, match="unknown statuses"):
        read_zendesk(path, statuses={"x": "limbo"})


def test_unknown_status_names_file_record_and_field(tmp_path: Path) -> None:
    page = json.loads(EVENTS.read_text())
    page["ticket_events"][2]["child_events"][2]["status"] = "snoozing"
    path = tmp_path / "events.json"
    path.write_text(json.dumps(page))
    with pytest.raises(AdapterError) as info:
        csm.scan_events(path, adapter="zendesk")
    message = str(info.value)
    assert str(path) in message
    assert "ticket_events[2]" in message
    assert "'child_events[2].status'" in message
    assert "'snoozing'" in message
    log = read_zendesk(path, on_invalid="quarantine", users=USERS)
    assert log.rejected is not None
    rejected = log.rejected.collect()
    assert rejected.select("reason", "reason_column", "status", "source_record").rows() == [
        ("unknown_status", "status", "snoozing", "ticket_events[2]")
    ]
    assert log.frame.collect().height == 27  # 28 - 1


# -- malformed input ------------------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def mutate(tmp_path: Path, change: Any) -> Path:
    page = json.loads(EVENTS.read_text())
    change(page["ticket_events"])
    return write(tmp_path, "events.json", json.dumps(page))


def test_truncated_json(tmp_path: Path) -> None:
    text = EVENTS.read_text()
    path = write(tmp_path, "cut.json", text[: len(text) // 2])
    with pytest.raises(AdapterError, match=r"cut\.json: line \d+, column \d+: not valid JSON"):
        csm.scan_events(path, adapter="zendesk")


def test_truncated_ndjson_names_the_line(tmp_path: Path) -> None:
    lines = (DATA / "ticket_events.ndjson").read_text().splitlines()
    path = write(tmp_path, "cut.ndjson", lines[0] + "\n" + lines[1][:40] + "\n")
    with pytest.raises(AdapterError, match=r"cut\.ndjson: line 2: not valid JSON"):
        csm.scan_events(path, adapter="zendesk")


@pytest.mark.parametrize(
    ("change", "record", "field", "problem"),
    [
        (lambda e: e[0].pop("ticket_id"), "ticket_events[0]", "ticket_id", "is missing"),
        (
            lambda e: (e[1].pop("created_at"), e[1].pop("timestamp")),
            "ticket_events[1]",
            "created_at",
            "is missing",
        ),
        (
            lambda e: e[0].update(ticket_id=[101]),
            "ticket_events[0]",
            "ticket_id",
            "must be an integer or string id",
        ),
        (
            lambda e: e[2].update(created_at="yesterday"),
            "ticket_events[2]",
            "created_at",
            "not an ISO 8601",
        ),
        (
            lambda e: e[2].update(created_at="2024-03-04T09:10:00"),
            "ticket_events[2]",
            "created_at",
            "has no time zone",
        ),
        (
            lambda e: e[3].update(child_events={"id": 1}),
            "ticket_events[3]",
            "child_events",
            "must be a list",
        ),
        (
            lambda e: e[3]["child_events"][0].update(public="yes"),
            "ticket_events[3]",
            "child_events[0].public",
            "must be true or false",
        ),
        (
            lambda e: e[3]["child_events"][1].update(event_type=7),
            "ticket_events[3]",
            "child_events[1].event_type",
            "must be a string",
        ),
        (
            lambda e: e[5]["child_events"][0].update(satisfaction_score="meh"),
            "ticket_events[5]",
            "child_events[0].satisfaction_score",
            "unknown satisfaction score",
        ),
        (
            lambda e: e[6]["child_events"][0]["data"].update(call_duration=-5),
            "ticket_events[6]",
            "child_events[0].data.call_duration",
            "not a duration",
        ),
        (
            lambda e: e[0]["child_events"].append("Comment"),
            "ticket_events[0]",
            "child_events[6]",
            "must be an object",
        ),
    ],
)
def test_bad_records_name_file_record_and_field(
    tmp_path: Path, change: Any, record: str, field: str, problem: str
) -> None:
    path = mutate(tmp_path, change)
    with pytest.raises(AdapterError) as info:
        csm.scan_events(path, adapter="zendesk")
    message = str(info.value)
    assert message.startswith(f"{path}: {record}, field {field!r}: "), message
    assert problem in message


def test_records_of_the_wrong_kind(tmp_path: Path) -> None:
    path = write(tmp_path, "list.json", '{"ticket_events": [1, 2]}')
    with pytest.raises(AdapterError, match=r"ticket_events\[0\]: a record must be a JSON object"):
        read_zendesk(path)
    path = write(tmp_path, "users.json", '{"users": [{"id": 1, "role": "agent"}]}')
    with pytest.raises(AdapterError, match="neither a ticket event"):
        read_zendesk(path)
    path = write(tmp_path, "scalar.json", "42")
    with pytest.raises(AdapterError, match="expected a JSON object or list"):
        read_zendesk(path)


def test_sources_files_folders_globs(tmp_path: Path) -> None:
    with pytest.raises(AdapterError, match="no such file"):
        read_zendesk(tmp_path / "missing.json")
    with pytest.raises(AdapterError, match="no file matches"):
        read_zendesk(str(tmp_path / "*.json"))
    with pytest.raises(AdapterError, match=r"holds no \.json"):
        read_zendesk(tmp_path)
    with pytest.raises(AdapterError, match="reads files, not a DataFrame"):
        read_zendesk(pl.DataFrame({"a": [1]}))
    with pytest.raises(AdapterError, match="on_invalid"):
        read_zendesk(EVENTS, on_invalid="ignore")  # type: ignore[arg-type]
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "page1.json").write_text(EVENTS.read_text())
    (folder / "page2.json").write_text((DATA / "audits.json").read_text())
    by_folder = events(read_zendesk(folder, users=USERS))
    by_glob = events(read_zendesk(str(folder / "page*.json"), users=USERS))
    assert by_folder.equals(by_glob)
    assert by_folder["case_id"].unique().sort().to_list() == [101, 102, 103, 301]


def test_pages_written_one_per_line_into_a_json_file(tmp_path: Path) -> None:
    page = json.loads(EVENTS.read_text())
    first, second = dict(page), dict(page)
    first["ticket_events"] = page["ticket_events"][:5]
    second["ticket_events"] = page["ticket_events"][5:]
    path = write(tmp_path, "pages.json", json.dumps(first) + "\n" + json.dumps(second) + "\n")
    assert events(read_zendesk(path, users=USERS)).equals(events(read_zendesk(EVENTS, users=USERS)))


def test_row_order_does_not_matter(tmp_path: Path) -> None:
    page = json.loads(EVENTS.read_text())
    page["ticket_events"].reverse()
    path = write(tmp_path, "reversed.json", json.dumps(page))
    assert events(read_zendesk(path, users=USERS)).equals(events(read_zendesk(EVENTS, users=USERS)))


# -- garbage never escapes as a library error -------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.sampled_from(["new", "hold", "Mail", "Comment", "Create", "2024-03-04T08:00:00Z"]),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
KEYS = [
    "id",
    "ticket_id",
    "created_at",
    "timestamp",
    "updater_id",
    "author_id",
    "via",
    "child_events",
    "events",
    "event_type",
    "type",
    "public",
    "status",
    "assignee_id",
    "group_id",
    "requester_id",
    "priority",
    "subject",
    "field_name",
    "value",
    "comment_present",
    "comment_public",
    "satisfaction_score",
    "data",
    "previous_value",
]


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
        with warnings.catch_warnings():  # garbage may leave authors' roles unknown
            warnings.simplefilter("ignore", AdapterWarning)
            log = read_zendesk(path)
        log.frame.collect()
        if log.rejected is not None:
            log.rejected.collect()
    except CsMetricsError:
        pass


PAGE = json.loads(EVENTS.read_text())
AUDITS = json.loads((DATA / "audits.json").read_text())


@settings(
    deadline=None, max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(document=json_values | st.dictionaries(st.sampled_from(KEYS), json_values, max_size=6))
def test_garbage_documents(tmp_path: Path, document: Any) -> None:
    path = tmp_path / "garbage.json"
    path.write_text(json.dumps({"ticket_events": [document]}))
    read_or_fail_cleanly(path)
    path.write_text(json.dumps(document))
    read_or_fail_cleanly(path)


@settings(
    deadline=None, max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), replacement=json_values, audits=st.booleans())
def test_garbage_in_real_records(
    tmp_path: Path, data: st.DataObject, replacement: Any, audits: bool
) -> None:
    page = copy.deepcopy(AUDITS if audits else PAGE)
    where = data.draw(st.sampled_from(paths(page)))
    target = page
    for step in where[:-1]:
        target = target[step]
    target[where[-1]] = replacement
    path = tmp_path / "mutated.json"
    path.write_text(json.dumps(page))
    read_or_fail_cleanly(path)


def test_truncated_anywhere(tmp_path: Path) -> None:
    text = (DATA / "ticket_events.ndjson").read_text()
    for cut in range(0, len(text), 97):
        path = write(tmp_path, "cut.ndjson", text[:cut])
        read_or_fail_cleanly(path)


# -- who wrote a comment: side-loaded users and unknown roles (issue 16) ---------------------

CC = DATA / "cc_end_user.json"  # ticket audits exported with include=users


def first_response_minutes(log: csm.EventLog, preset: str = "csmetrics") -> float:
    table = csm.case_table(log, policy=csm.Policy.preset(preset)).collect()
    return float(table["first_response_time"].item().total_seconds() / 60)


@pytest.mark.parametrize("preset", ["csmetrics", "zendesk"])
def test_a_cc_end_user_is_not_an_agent(preset: str) -> None:
    log = csm.scan_events(CC, adapter="zendesk")  # no warning: every author's role is known
    assert kinds(events(log), 601) == [
        ("case_created", "customer"),  # 09:00 Dora (requester) writes in
        ("message", "customer"),
        ("status_changed", "customer"),
        ("message", "customer"),  # 09:30 Eli, CC'd, end-user by the side-loaded role
        ("message", "agent"),  # 10:00 agent 601 answers, opens and takes it
        ("status_changed", "agent"),
        ("assigned", "agent"),
        ("status_changed", "agent"),  # 11:00 solved
    ]
    # created 09:00, first public comment by an agent 10:00 → 60 minutes (Eli's 09:30
    # comment is a customer's, so it answers nothing)
    assert first_response_minutes(log, preset) == 60.0


def test_without_roles_the_unknown_author_is_counted_and_warned(tmp_path: Path) -> None:
    page = json.loads(CC.read_text())
    del page["users"]  # exported without include=users
    path = tmp_path / "audits.json"
    path.write_text(json.dumps(page))
    # 9101 is the requester, 601 an assignee (only agents can be): known; 9102 is not
    with pytest.warns(AdapterWarning, match=r"1 user\(s\) \(9102\) wrote 1 of 8 events on 1 ") as w:
        log = read_zendesk(path)
    assert "unknown_authors=" in str(w[0].message)
    assert "include=users" in str(w[0].message)
    # the default counts Eli as an agent: 09:00 → her 09:30 comment = 30 minutes
    assert first_response_minutes(log) == 30.0
    # the options say how to count her, and silence the warning
    assert first_response_minutes(read_zendesk(path, unknown_authors="customer")) == 60.0
    assert first_response_minutes(read_zendesk(path, users={"9102": "end-user"})) == 60.0
    assert first_response_minutes(read_zendesk(path, users=USERS_WITH(tmp_path))) == 60.0
    rejected_log = read_zendesk(path, unknown_authors="reject")
    assert rejected_log.rejected is not None
    rejects = rejected_log.rejected.collect()
    assert rejects.select("reason", "reason_column", "author").rows() == [
        ("unknown_actor", "actor", "9102")
    ]
    # rejected records stop a computation unless set aside: 8 events in, 7 kept + 1 rejected
    assert first_response_minutes(rejected_log.checked("quarantine")) == 60.0
    assert rejected_log.frame.collect().height == 7
    with pytest.raises(AdapterError, match="unknown_authors"):
        read_zendesk(path, unknown_authors="guess")  # type: ignore[arg-type]


def USERS_WITH(tmp_path: Path) -> Path:  # noqa: N802 - reads as a constant at the call site
    """A users export (``GET /api/v2/users``) naming Eli an end user."""
    path = tmp_path / "users.json"
    path.write_text(json.dumps({"users": [{"id": 9102, "role": "end-user"}], "count": 1}))
    return path


def test_an_unknown_side_loaded_role_is_an_error(tmp_path: Path) -> None:
    page = json.loads(CC.read_text())
    page["users"][1]["role"] = "wizard"
    path = tmp_path / "audits.json"
    path.write_text(json.dumps(page))
    with pytest.raises(AdapterError, match=r"users\[1\], field 'role': unknown user role 'wizard'"):
        read_zendesk(path)


def test_capabilities_are_declared() -> None:
    log = csm.scan_events(CC, adapter="zendesk")
    assert log.capabilities is not None
    assert log.capabilities.can("message:agent")
    assert log.capabilities.can("csat")
    assert not log.capabilities.can("comp_granted")
