"""The ``xes`` adapter: process-mining logs as XES files or CSV with case columns."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
import tempfile
from pathlib import Path
from statistics import mean, median

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csmetrics.adapters.xes import (
    HELPDESK_ACTIVITIES,
    ActivityMapping,
    adapter,
    read_process_log,
    read_xes_table,
)
from csmetrics.exceptions import AdapterError, CsMetricsError

DATA = Path(__file__).resolve().parents[1] / "data" / "adapters"
CSV = DATA / "helpdesk_small.csv"
XES = DATA / "helpdesk_small.xes"
UTC = dt.UTC
CANONICAL = [
    "case_id",
    "customer_id",
    "channel",
    "ts",
    "event_type",
    "actor",
    "status",
    "agent_id",
    "activity",
]


@pytest.fixture(scope="module")
def small() -> tuple[pl.DataFrame, pl.DataFrame]:
    log = adapter(CSV, tz="Europe/Rome")
    assert log.rejected is not None
    return log.frame.collect(), log.rejected.collect()


def test_adapter_object() -> None:
    assert adapter.name == "xes"
    assert "XES" in adapter.description


def test_activity_mapping_parse() -> None:
    assert ActivityMapping.parse("status_changed:pending") == ActivityMapping(
        "status_changed", "agent", "pending"
    )
    assert ActivityMapping.parse({"event_type": "message", "actor": "customer"}).actor == (
        "customer"
    )
    with pytest.raises(ValueError, match="event_type"):
        ActivityMapping.parse("teleported")


def test_csv_events_hand_worked(small: tuple[pl.DataFrame, ...]) -> None:
    events, _ = small
    case1 = events.filter(pl.col("case_id") == "Case 1")
    # Rome in October 2012 is UTC+2 (CEST): 14:50:17 local = 12:50:17 UTC; Case 1 has no
    # "Insert ticket": its customer opened it at its first recorded event (case_opening)
    assert case1.select("ts", "event_type", "actor", "status", "agent_id").rows() == [
        (dt.datetime(2012, 10, 9, 12, 50, 17, tzinfo=UTC), "case_created", "customer", None, None),
        (
            dt.datetime(2012, 10, 9, 12, 50, 17, tzinfo=UTC),
            "priority_changed",
            "agent",
            None,
            "Value 1",
        ),
        (dt.datetime(2012, 10, 9, 12, 51, 1, tzinfo=UTC), "assigned", "agent", None, "Value 1"),
        (
            dt.datetime(2012, 10, 12, 13, 2, 56, tzinfo=UTC),
            "status_changed",
            "agent",
            "solved",
            "Value 1",
        ),
        (
            dt.datetime(2012, 10, 25, 9, 54, 26, tzinfo=UTC),
            "status_changed",
            "agent",
            "closed",
            "Value 3",
        ),
    ]
    case2 = events.filter(pl.col("case_id") == "Case 2")
    assert case2["event_type"].to_list() == [
        "case_created",
        "priority_changed",
        "status_changed",
        "assigned",
        "status_changed",
        "status_changed",
    ]
    assert case2.filter(pl.col("event_type") == "case_created")["actor"].item() == "customer"
    assert case2["status"].drop_nulls().to_list() == ["pending", "solved", "closed"]
    assert set(events["channel"]) == {"other"}
    assert dict(events.select("case_id", "customer_id").unique().rows()) == {
        "Case 1": "Value 1",
        "Case 2": "Value 2",
    }


def test_unmapped_activity_is_reported(small: tuple[pl.DataFrame, ...]) -> None:
    events, rejected = small
    assert rejected.select("source_row", "Activity", "reason", "reason_column").rows() == [
        (9, "Teleport ticket", "unmapped_activity", "Activity")
    ]
    # conservation: 11 rows = 10 events + 1 reject (plus the opener added for Case 1)
    from_rows = events.filter(pl.col("activity").is_not_null())
    assert from_rows.height + rejected.height == pl.read_csv(CSV).height == 11
    assert events.height == from_rows.height + 1


def test_xes_reads_like_the_csv(small: tuple[pl.DataFrame, ...]) -> None:
    log = adapter(XES)  # XES time stamps carry their offset: no tz needed
    assert log.rejected is not None
    events, rejected = log.frame.collect(), log.rejected.collect()
    assert events.select(CANONICAL).equals(small[0].select(CANONICAL))
    assert rejected.select("concept:name", "reason", "reason_column").rows() == [
        ("Teleport ticket", "unmapped_activity", "concept:name")
    ]


def test_xes_table_layout() -> None:
    table = read_xes_table(XES)
    assert table.columns[:5] == [
        "case:concept:name",
        "concept:name",
        "time:timestamp",
        "org:resource",
        "case:customer",
    ]
    assert table.height == 11
    # trace attributes after the events still reach them; nested lists are skipped
    assert table.filter(pl.col("case:concept:name") == "Case 2")[
        "case:customer"
    ].unique().to_list() == ["Value 2"]
    assert "note" not in table.columns


def test_gzipped_xes(tmp_path: Path) -> None:
    path = tmp_path / "helpdesk.xes.gz"
    path.write_bytes(gzip.compress(XES.read_bytes()))
    assert read_xes_table(path).equals(read_xes_table(XES))


def test_response_activities_add_an_agent_message() -> None:
    events = read_process_log(
        CSV, tz="Europe/Rome", response_activities=["Take in charge ticket"]
    ).frame.collect()
    messages = events.filter(pl.col("event_type") == "message")
    assert messages.select("case_id", "actor").rows() == [("Case 1", "agent"), ("Case 2", "agent")]
    # Case 2: inserted 2012-04-03 16:55:38, taken in charge 2012-04-05 11:00:00
    #         = 1 day 18 h 4 min 22 s
    created = events.filter(
        (pl.col("event_type") == "case_created") & (pl.col("case_id") == "Case 2")
    )["ts"].item()
    taken = messages.filter(pl.col("case_id") == "Case 2")["ts"].item()
    assert taken - created == dt.timedelta(days=1, hours=18, minutes=4, seconds=22)
    assert events.filter(pl.col("event_type") == "assigned").height == 2  # still assigned


def test_custom_activities_and_columns(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text(
        "case,step,when,who\n"
        "A,open,2024-03-01T09:00:00+01:00,\n"
        "A,answer,2024-03-01T09:30:00+01:00,Ann\n"
        "A,done,2024-03-01T10:00:00+01:00,Ann\n"
    )
    log = read_process_log(
        path,
        activities={
            "open": "case_created",
            "answer": {"event_type": "message"},
            "done": "status_changed:solved",
        },
        case_column="case",
        activity_column="step",
        timestamp_column="when",
        resource_column="who",
        channel="email",
    )
    events = log.frame.collect()
    assert events.select("event_type", "actor", "customer_id").rows() == [
        ("case_created", "customer", "A"),  # no customer column: the case is its customer
        ("message", "agent", "A"),
        ("status_changed", "agent", "A"),
    ]
    assert events["ts"][0] == dt.datetime(2024, 3, 1, 8, 0, tzinfo=UTC)


def test_duplicates_option(tmp_path: Path) -> None:
    lines = CSV.read_text().splitlines()
    path = tmp_path / "dup.csv"
    path.write_text("\n".join([*lines, lines[1]]) + "\n")
    kept = adapter(path, tz="Europe/Rome").frame.collect()
    assert kept.height == 12  # 11 rows mapped (the repeat kept) + Case 1's opener
    log = adapter(path, tz="Europe/Rome", duplicates="reject")
    assert log.rejected is not None
    assert log.rejected.collect()["reason"].to_list().count("duplicate_event") == 1


def test_tz_is_required_for_clock_times() -> None:
    with pytest.raises(AdapterError, match=r"helpdesk_small\.csv.*2012/10/09 14:50:17\.000.*tz="):
        adapter(CSV)


def test_naive_xes_needs_tz(tmp_path: Path) -> None:
    path = tmp_path / "naive.xes"
    path.write_text(XES.read_text().replace("+02:00", ""))
    with pytest.raises(AdapterError, match="tz="):
        adapter(path)
    events = adapter(path, tz="Europe/Rome").frame.collect()
    assert events["ts"][0] == dt.datetime(2012, 10, 9, 12, 50, 17, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("<log><trace><event>", r"line 1, column \d+: not well-formed XML"),
        ("<log></log>", "no <trace>"),
        ("", r"line 1, column 0"),
    ],
)
def test_malformed_xes_names_the_position(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "broken.xes"
    path.write_text(text)
    with pytest.raises(AdapterError, match=rf"broken\.xes.*{match}"):
        adapter(path)


def test_truncated_xes(tmp_path: Path) -> None:
    path = tmp_path / "cut.xes"
    path.write_text(XES.read_text()[:1000])
    with pytest.raises(AdapterError, match=r"cut\.xes: line \d+, column \d+"):
        adapter(path)


def test_missing_column_names_file_and_column(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text(CSV.read_text().replace("Activity", "Actvity"))
    with pytest.raises(AdapterError, match=r"log\.csv: missing column.*'Activity' \(did you mean"):
        adapter(path, tz="UTC")


def test_bad_activity_table_is_an_error() -> None:
    with pytest.raises(AdapterError, match="'Closed' maps to 'status_changed:shut'"):
        adapter(CSV, tz="UTC", activities={**HELPDESK_ACTIVITIES, "Closed": "status_changed:shut"})


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(["x.xes", "x.csv", "x.xes.gz"]))
def test_garbage_bytes_never_leak_library_errors(data: bytes, name: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            log = adapter(path, tz="UTC")
            log.frame.collect()
            assert log.rejected is not None
            log.rejected.collect()
        except CsMetricsError:
            pass


@settings(max_examples=25, deadline=None)  # each example maps and validates a file
@given(st.lists(st.lists(st.text(max_size=12), min_size=4, max_size=4), max_size=8))
def test_garbage_rows_never_leak_library_errors(rows: list[list[str]]) -> None:
    header = "Case ID,Activity,Resource,Complete Timestamp"
    body = [",".join(json.dumps(v) for v in row) for row in rows]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "log.csv"
        path.write_text("\n".join([header, *body]) + "\n")
        try:
            log = adapter(path, tz="UTC")
            log.frame.collect()
            assert log.rejected is not None
            log.rejected.collect()
        except CsMetricsError:
            pass


# --------------------------------------------------------------------------- real data


def _raw_durations(path: Path) -> list[float]:
    """Per case, last minus first Complete Timestamp in days, naive clock times (csv module)."""
    first: dict[str, dt.datetime] = {}
    last: dict[str, dt.datetime] = {}
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            ts = dt.datetime.strptime(row["Complete Timestamp"], "%Y/%m/%d %H:%M:%S.%f")
            case = row["Case ID"]
            first[case] = min(first.get(case, ts), ts)
            last[case] = max(last.get(case, ts), ts)
    return [(last[c] - first[c]) / dt.timedelta(days=1) for c in first]


def test_real_helpdesk_figures(real_data: Path) -> None:
    path = real_data / "helpdesk" / "helpdesk.csv"
    durations = _raw_durations(path)
    assert len(durations) == 4_580
    assert median(durations) == pytest.approx(39.8592, abs=0.0001)  # README
    assert mean(durations) == pytest.approx(40.8584, abs=0.0001)  # README

    # the README's figures are naive clock differences: UTC keeps them (no DST shifts)
    log = adapter(path, tz="UTC")
    assert log.rejected is not None
    events, rejected = pl.collect_all([log.frame, log.rejected])
    assert rejected.height == 0  # every one of the 14 activities is mapped
    # 21,348 rows, plus an opener for each of the 4,462 cases without "Insert ticket"
    assert events.height == 21_348 + 4_462
    assert events["case_id"].n_unique() == 4_580
    counts = dict(events["activity"].drop_nulls().value_counts().rows())
    assert counts["Take in charge ticket"] == 5_060
    assert counts["Resolve ticket"] == 4_983
    assert counts["Assign seriousness"] == 4_938
    assert counts["Closed"] == 4_574
    assert counts["Wait"] == 1_463
    assert sum(counts.values()) - 5_060 - 4_983 - 4_938 - 4_574 - 1_463 == 330
    assert len(counts) == 14
    kinds = dict(events["event_type"].value_counts().rows())
    assert kinds["assigned"] == 5_060
    assert kinds["priority_changed"] == 4_938
    span = events.group_by("case_id").agg(
        ((pl.col("ts").max() - pl.col("ts").min()).dt.total_microseconds() / 86_400e6).alias("d")
    )
    assert span["d"].median() == pytest.approx(39.8592, abs=0.0001)
    assert span["d"].mean() == pytest.approx(40.8584, abs=0.0001)


def test_real_helpdesk_in_rome_time(real_data: Path) -> None:
    events = adapter(real_data / "helpdesk" / "helpdesk.csv", tz="Europe/Rome").frame
    span = (
        events.group_by("case_id")
        .agg((pl.col("ts").max() - pl.col("ts").min()).dt.total_microseconds() / 86_400e6)
        .collect()["ts"]
    )
    # in absolute time the median is unchanged; the mean moves by the DST hours some cases
    # cross (40.8584 days of clock time → 40.8577 days elapsed)
    assert span.median() == pytest.approx(39.8592, abs=0.0001)
    assert span.mean() == pytest.approx(40.8577, abs=0.0001)


# --------------------------------------------------------------------------- case opening


def _by_hand_openings(path: Path) -> tuple[int, int, int]:
    """Cases, cases starting with an agent activity (no "Insert ticket" first), and cases
    taken in charge at least once, from the raw CSV with the csv module."""
    first: dict[str, tuple[dt.datetime, int, str]] = {}
    taken: set[str] = set()
    with path.open(newline="", encoding="utf-8") as handle:
        for number, row in enumerate(csv.DictReader(handle)):
            at = dt.datetime.strptime(row["Complete Timestamp"], "%Y/%m/%d %H:%M:%S.%f")
            case = row["Case ID"]
            if case not in first or (at, number) < first[case][:2]:
                first[case] = (at, number, row["Activity"])
            if row["Activity"] == "Take in charge ticket":
                taken.add(case)
    agent_started = sum(1 for _, _, activity in first.values() if activity != "Insert ticket")
    return len(first), agent_started, len(taken)


def test_real_helpdesk_first_response_covers_the_cases(real_data: Path) -> None:
    import csmetrics as csm
    from csmetrics._capabilities import unmeasurable

    path = real_data / "helpdesk" / "helpdesk.csv"
    n_cases, agent_started, taken = _by_hand_openings(path)
    assert (n_cases, agent_started) == (4_580, 4_462)  # the figures
    # default: each case is opened by its customer at its first event; taking a ticket in
    # charge counted as the reply: every taken-in-charge case has a first response
    log = read_process_log(path, tz="Europe/Rome", response_activities=["Take in charge ticket"])
    cases = csm.case_table(log).collect()
    assert cases.height == n_cases
    assert int(cases["agent_created"].sum()) == 0  # no case left out as agent-created
    assert int(cases["first_response_time"].is_not_null().sum()) == taken
    # without response activities a process log has no replies: not measurable, not 0 %
    plain = read_process_log(path, tz="Europe/Rome")
    reason = unmeasurable(frozenset({"message:agent"}), plain.capabilities)
    assert reason is not None
    assert "response_activities=" in reason
    assert unmeasurable(frozenset({"message:agent"}), log.capabilities) is None


def test_real_helpdesk_activity_opening_warns_with_the_count(real_data: Path) -> None:
    import csmetrics as csm
    from csmetrics.exceptions import AdapterWarning

    path = real_data / "helpdesk" / "helpdesk.csv"
    _, agent_started, _ = _by_hand_openings(path)
    # 4,462 / 4,580 = 97.4 %
    with pytest.warns(AdapterWarning, match=r"4,462 of 4,580 cases \(97\.4%\).*case_opening="):
        log = read_process_log(path, tz="Europe/Rome", case_opening="activity")
    cases = csm.case_table(log).collect()
    assert int(cases["agent_created"].sum()) == agent_started


def test_activity_opening_below_the_threshold_is_silent(tmp_path: Path) -> None:
    # 1 agent-started case in 21 (4.8 % <= 5 %): no warning
    rows = ["Case ID,Activity,Resource,Complete Timestamp"]
    rows += [f"C{i},Insert ticket,V,2012/10/09 14:{i:02d}:00.000" for i in range(20)]
    rows.append("C99,Closed,V,2012/10/09 15:00:00.000")
    path = tmp_path / "log.csv"
    path.write_text("\n".join(rows) + "\n")
    log = read_process_log(path, tz="UTC", case_opening="activity")
    assert log.frame.collect().height == 21
    with pytest.raises(AdapterError, match="case_opening"):
        read_process_log(path, tz="UTC", case_opening="guess")  # type: ignore[arg-type]
