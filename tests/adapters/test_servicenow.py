"""The ``servicenow`` adapter: the incident event log, one row per audit update."""

from __future__ import annotations

import csv
import datetime as dt
import json
import tempfile
from pathlib import Path
from statistics import median

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csmetrics.adapters.servicenow import adapter, read_servicenow
from csmetrics.exceptions import AdapterError, CsMetricsError

DATA = Path(__file__).resolve().parents[1] / "data" / "adapters"
SMALL = DATA / "servicenow_small.csv"
UTC = dt.UTC


def at(day: int, month: int, hour: int, minute: int) -> dt.datetime:
    return dt.datetime(2016, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture(scope="module")
def small() -> tuple[pl.DataFrame, pl.DataFrame]:
    log = adapter(SMALL, tz="Europe/Rome")
    assert log.rejected is not None
    return log.frame.collect(), log.rejected.collect()


def test_adapter_object() -> None:
    assert adapter.name == "servicenow"
    assert adapter.description


def test_incident_events_hand_worked(small: tuple[pl.DataFrame, ...]) -> None:
    events, _ = small
    inc1 = events.filter(pl.col("case_id") == "INC1")
    # Rome is UTC+1 in Feb/Mar 2016: 01:16 local = 00:16 UTC
    assert inc1.select("ts", "event_type", "status", "team", "priority", "reopened").rows() == [
        (at(29, 2, 0, 16), "case_created", None, "Group 1", "3 - Moderate", False),
        (at(29, 2, 0, 23), "status_changed", "new", "Group 1", "3 - Moderate", False),
        (at(29, 2, 0, 23), "assigned", None, "Group 1", "3 - Moderate", False),
        (at(29, 2, 1, 0), "status_changed", "open", "Group 2", "3 - Moderate", False),
        (at(29, 2, 1, 0), "transferred", None, "Group 2", "3 - Moderate", False),
        (at(29, 2, 7, 53), "status_changed", "solved", "Group 2", "3 - Moderate", False),
        (at(1, 3, 8, 0), "status_changed", "open", "Group 2", "3 - Moderate", True),  # reopened
        (at(1, 3, 9, 0), "status_changed", "solved", "Group 2", "2 - High", False),
        (at(1, 3, 9, 0), "priority_changed", None, "Group 2", "2 - High", False),
        (at(6, 3, 9, 0), "status_changed", "closed", "Group 2", "2 - High", False),
    ]
    assert set(inc1["customer_id"]) == {"Caller 1"}
    assert set(inc1["channel"]) == {"phone"}
    assert inc1.filter(pl.col("event_type") == "case_created")["actor"].item() == "customer"
    assert set(inc1.filter(pl.col("event_type") != "case_created")["actor"]) == {"agent"}
    # resolution: opened 00:16 → last solved 1 Mar 09:00 = 1 day 8 h 44 min
    solved = inc1.filter(pl.col("status") == "solved")["ts"].max()
    assert solved - at(29, 2, 0, 16) == dt.timedelta(days=1, hours=8, minutes=44)


def test_unknown_state_and_missing_caller_are_reported(small: tuple[pl.DataFrame, ...]) -> None:
    events, rejected = small
    inc2 = events.filter(pl.col("case_id") == "INC2")
    assert inc2["status"].drop_nulls().to_list() == ["new", "pending"]  # -100 row left out
    assert set(inc2["channel"]) == {"email"}
    from_source = rejected.filter(pl.col("source_row").is_not_null())
    assert from_source.select("source_row", "incident_state", "reason", "reason_column").rows() == [
        (8, "-100", "unknown_status", "incident_state")
    ]
    invalid = rejected.filter(pl.col("source_row").is_null())
    assert set(invalid["case_id"]) == {"INC3"}  # caller '?' on every row: no customer
    assert set(invalid["reason"]) == {"null_key"}


def test_missing_caller_option() -> None:
    events = read_servicenow(SMALL, tz="UTC", missing_caller="unknown").frame.collect()
    inc3 = events.filter(pl.col("case_id") == "INC3")
    assert set(inc3["customer_id"]) == {"unknown"}
    assert set(inc3["channel"]) == {"portal"}  # Self service


def test_conservation(small: tuple[pl.DataFrame, ...]) -> None:
    events, rejected = small
    # every source row is one status_changed (valid or invalid) or an adapter reject
    n_rows = pl.read_csv(SMALL, infer_schema=False).height
    status_rows = events.filter(pl.col("event_type") == "status_changed").height
    invalid = rejected.filter(
        pl.col("source_row").is_null() & (pl.col("event_type") == "status_changed")
    ).height
    from_source = rejected.filter(pl.col("source_row").is_not_null()).height
    assert status_rows + invalid + from_source == n_rows == 10


def test_both_time_layouts_read_the_same(tmp_path: Path) -> None:
    text = SMALL.read_text()
    resaved = (
        text.replace("29/2/2016", "29-02-2016")
        .replace("1/3/2016", "01-03-2016")
        .replace("2/3/2016", "02-03-2016")
        .replace("6/3/2016", "06-03-2016")
    )
    path = tmp_path / "resaved.csv"
    path.write_text(resaved)
    a = adapter(SMALL, tz="UTC").frame.collect()
    b = adapter(path, tz="UTC").frame.collect()
    assert a.equals(b)


def test_row_order_does_not_matter(small: tuple[pl.DataFrame, ...]) -> None:
    rows = pl.read_csv(SMALL, infer_schema=False).with_row_index("source_row", offset=1)
    shuffled = rows.sample(fraction=1.0, shuffle=True, seed=3)
    events = read_servicenow(shuffled.drop("source_row"), tz="Europe/Rome").frame.collect()
    key = ["case_id", "ts", "event_type"]
    expected = small[0].drop("event_id").sort(key)
    assert events.drop("event_id").sort(key).equals(expected)


def test_tz_is_required() -> None:
    with pytest.raises(AdapterError, match=r"servicenow_small\.csv.*tz="):
        adapter(SMALL)
    with pytest.raises(AdapterError, match="not a known IANA"):
        adapter(SMALL, tz="Mars/Olympus")


def test_missing_column_names_file_and_column(tmp_path: Path) -> None:
    path = tmp_path / "incidents.csv"
    path.write_text(SMALL.read_text().replace("sys_updated_at", "updated"))
    with pytest.raises(AdapterError, match=r"incidents\.csv: missing column\(s\) 'sys_updated_at'"):
        adapter(path, tz="UTC")


def test_bad_counter_is_rejected_with_its_row(tmp_path: Path) -> None:
    lines = SMALL.read_text().splitlines()
    lines[2] = lines[2].replace("INC1,Active,1,", "INC1,Active,one,")
    path = tmp_path / "incidents.csv"
    path.write_text("\n".join(lines) + "\n")
    rejected = adapter(path, tz="UTC").rejected
    assert rejected is not None
    row = rejected.collect().filter(pl.col("source_row") == 2)
    assert row.select("reason", "reason_column").row(0) == ("bad_type", "reassignment_count")


def test_bad_status_table_is_an_error() -> None:
    with pytest.raises(AdapterError, match="not statuses"):
        adapter(SMALL, tz="UTC", statuses={"New": "fresh"})


@settings(max_examples=25, deadline=None)  # each example maps and validates a file
@given(
    st.lists(st.lists(st.text(max_size=10), min_size=6, max_size=6), max_size=8),
    st.booleans(),
)
def test_garbage_rows_never_leak_library_errors(rows: list[list[str]], raw: bool) -> None:
    header = "number,incident_state,caller_id,opened_at,sys_updated_at,contact_type"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "incidents.csv"
        if raw:
            path.write_bytes("\n".join(",".join(r) for r in rows).encode("utf-8", "replace"))
        else:
            body = [",".join(json.dumps(v) for v in row) for row in rows]
            path.write_text("\n".join([header, *body]) + "\n")
        try:
            log = adapter(path, tz="UTC")
            log.frame.collect()
            assert log.rejected is not None
            log.rejected.collect()
        except CsMetricsError:
            pass


# --------------------------------------------------------------------------- real data


def _raw_figures(path: Path) -> tuple[set[str], float, int, int]:
    """From the raw file with the csv module: incidents with resolved_at on their last row,
    median resolved_at - opened_at in hours, incidents with reopen_count > 0 on any row,
    and the number of rows."""
    last: dict[str, dict[str, str]] = {}
    reopened: set[str] = set()
    n_rows = 0
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            n_rows += 1
            last[row["number"]] = row
            if row["reopen_count"] not in ("0", "?"):
                reopened.add(row["number"])
    fmt = "%d/%m/%Y %H:%M" if "/" in next(iter(last.values()))["opened_at"] else "%d-%m-%Y %H:%M"
    hours = [
        (dt.datetime.strptime(r["resolved_at"], fmt) - dt.datetime.strptime(r["opened_at"], fmt))
        / dt.timedelta(hours=1)
        for r in last.values()
        if r["resolved_at"] != "?"
    ]
    resolved = {n for n, r in last.items() if r["resolved_at"] != "?"}
    return resolved, median(hours), len(reopened), n_rows


@pytest.mark.parametrize(
    ("name", "n_incidents", "n_resolved", "median_hours", "n_reopened", "channels"),
    [
        # README: 3,702 incidents; 3,557 resolved; median 94.8333 h; 59 reopened;
        # contact_type Phone 3,686, Email 16
        ("incident_event_log.csv", 3_702, 3_557, 94.8333, 59, {"phone": 3_686, "email": 16}),
        # README: 712 incidents; 689 resolved; median 53.2667 h; 9 reopened; all Phone
        ("incident_event_log_sample.csv", 712, 689, 53.2667, 9, {"phone": 712}),
    ],
)
def test_real_incident_figures(
    real_data: Path,
    name: str,
    n_incidents: int,
    n_resolved: int,
    median_hours: float,
    n_reopened: int,
    channels: dict[str, int],
) -> None:
    path = real_data / "servicenow-incidents" / name
    resolved, raw_median, raw_reopened, n_rows = _raw_figures(path)
    assert (len(resolved), raw_reopened) == (n_resolved, n_reopened)
    assert raw_median == pytest.approx(median_hours, abs=0.0001)

    # UTC: the README's figures are naive clock differences (no DST shift inside UTC);
    # one incident of the large file has caller '?' on every row: give it a customer
    log = adapter(path, tz="UTC", missing_caller="unknown")
    assert log.rejected is not None
    events, rejected = pl.collect_all([log.frame, log.rejected])
    assert rejected.height == 0
    # conservation: one status_changed per source row
    assert events.filter(pl.col("event_type") == "status_changed").height == n_rows
    assert events["case_id"].n_unique() == n_incidents

    created = events.filter(pl.col("event_type") == "case_created").select(
        "case_id", pl.col("ts").alias("opened"), "channel"
    )
    last_solved = (
        events.filter(pl.col("status") == "solved")
        .group_by("case_id")
        .agg(pl.col("ts").max().alias("solved"))
    )
    resolution = created.join(last_solved, on="case_id").filter(
        pl.col("case_id").is_in(list(resolved))
    )
    assert resolution.height == n_resolved
    # the last Resolved row's sys_updated_at is ServiceNow's resolved_at
    hours = (resolution["solved"] - resolution["opened"]).dt.total_seconds() / 3600
    assert hours.median() == pytest.approx(median_hours, abs=0.0001)
    assert events.filter(pl.col("reopen_count") > 0)["case_id"].n_unique() == n_reopened
    assert events.filter(pl.col("reopened"))["case_id"].n_unique() == n_reopened
    assert dict(created["channel"].value_counts().rows()) == channels
    # the source's own resolved_at, kept as a pass-through column, gives the README figure
    own = (
        events.filter(pl.col("event_type") == "status_changed")
        .group_by("case_id")
        .agg(pl.col("resolved_at").last())
        .join(created, on="case_id")
        .drop_nulls("resolved_at")
    )
    assert own.height == n_resolved
    own_hours = (own["resolved_at"] - own["opened"]).dt.total_seconds() / 3600
    assert own_hours.median() == pytest.approx(median_hours, abs=0.0001)


def test_real_incident_without_caller_is_reported(real_data: Path) -> None:
    path = real_data / "servicenow-incidents" / "incident_event_log.csv"
    log = adapter(path, tz="UTC")
    assert log.rejected is not None
    rejected = log.rejected.collect()
    assert set(rejected["case_id"]) == {"INC0005690"}  # caller '?' on every row
    assert set(rejected["reason"]) == {"null_key"}
    assert log.frame.select(pl.col("case_id").n_unique()).collect().item() == 3_701


# --------------------------------------------------------------------------- local times


def test_source_times_pass_through(small: tuple[pl.DataFrame, ...]) -> None:
    events, _ = small
    inc1 = events.filter(pl.col("case_id") == "INC1")
    # resolved_at 1/3/2016 10:00 in Rome (UTC+1) = 09:00 UTC, on every event of INC1
    assert set(inc1["resolved_at"]) == {at(1, 3, 9, 0)}
    assert "closed_at" not in events.columns  # not in this file: not made up
    import csmetrics as csm

    table = csm.case_table(adapter(SMALL, tz="Europe/Rome").checked("quarantine")).collect()
    assert table.filter(pl.col("case_id") == "INC1")["resolved_at"].item() == at(1, 3, 9, 0)


def test_real_log_in_rome_names_the_nonexistent_local_time(real_data: Path) -> None:
    path = real_data / "servicenow-incidents" / "incident_event_log.csv"
    # INC0003670 was closed at 27/3/2016 02:59: Rome's clocks jumped 02:00 → 03:00 that night
    with pytest.raises(AdapterError) as info:
        adapter(path, tz="Europe/Rome", missing_caller="unknown")
    message = str(info.value)
    assert "row 15423, field 'closed_at'" in message  # line 15424 of the file
    assert "the local time 2016-03-27 02:59 does not exist in Europe/Rome" in message
    assert "'27/3/2016 02:59'; 12 value(s)" in message  # 11 rows' closed_at + 1 sys_updated_at
    assert "nonexistent='shift_forward'" in message
    assert "'null'" in message
    assert "bad_type" not in message
    assert "ISO 8601" not in message

    log = adapter(path, tz="Europe/Rome", missing_caller="unknown", nonexistent="shift_forward")
    assert log.rejected is not None
    events, rejected = pl.collect_all([log.frame, log.rejected])
    assert rejected.height == 0
    inc = events.filter(pl.col("case_id") == "INC0003670")
    # the first instant after the gap: 03:00 CEST = 01:00 UTC
    closed = inc.filter(pl.col("status") == "closed")
    assert closed["ts"].to_list() == [at(27, 3, 1, 0)]
    assert set(inc["closed_at"]) == {at(27, 3, 1, 0)}
    # resolved 22/3/2016 02:54 CET (UTC+1) = 01:54 UTC
    assert set(inc["resolved_at"]) == {at(22, 3, 1, 54)}

    back = adapter(path, tz="Europe/Rome", missing_caller="unknown", nonexistent="shift_backward")
    last = at(27, 3, 1, 0) - dt.timedelta(microseconds=1)  # 01:59:59.999999 CET
    closed_back = back.frame.filter(
        (pl.col("case_id") == "INC0003670") & (pl.col("status") == "closed")
    ).collect()
    assert closed_back["ts"].to_list() == [last]


def test_nonexistent_null_rejects_the_event_and_blanks_the_source_time(tmp_path: Path) -> None:
    lines = SMALL.read_text().splitlines()
    header = lines[0].split(",")
    row = dict(zip(header, lines[1].split(","), strict=True))  # an update of INC1
    # an update at 27/3/2016 02:30 (nonexistent in Rome) and a resolved_at at 02:10
    row.update(sys_updated_at="27/3/2016 02:30", resolved_at="27/3/2016 02:10", sys_mod_count="99")
    path = tmp_path / "gap.csv"
    path.write_text("\n".join([*lines, ",".join(row[h] for h in header)]) + "\n")
    with pytest.raises(AdapterError, match=r"row 11, field 'sys_updated_at'.*2016-03-27 02:30"):
        adapter(path, tz="Europe/Rome")
    log = adapter(path, tz="Europe/Rome", nonexistent="null")
    assert log.rejected is not None
    rejected = log.rejected.collect().filter(pl.col("reason") == "nonexistent_local_time")
    assert rejected.select("source_row", "reason", "reason_column").rows() == [
        (11, "nonexistent_local_time", "sys_updated_at")
    ]
    # the added row is the only one lost: the status changes of the other rows are all kept
    base = adapter(SMALL, tz="Europe/Rome").frame.collect()
    kept = log.frame.collect()
    assert kept.filter(pl.col("event_type") == "status_changed").height == (
        base.filter(pl.col("event_type") == "status_changed").height
    )
    # a nonexistent resolved_at on a kept row is null, the row kept
    row.update(sys_updated_at="27/3/2016 04:00")
    path.write_text("\n".join([*lines, ",".join(row[h] for h in header)]) + "\n")
    added = adapter(path, tz="Europe/Rome", nonexistent="null").frame.collect()
    last = added.filter(pl.col("sys_mod_count") == 99)
    assert last.height > 0
    assert last["resolved_at"].null_count() == last.height
    with pytest.raises(AdapterError, match="nonexistent must be one of"):
        adapter(path, tz="Europe/Rome", nonexistent="skip")  # type: ignore[arg-type]


def test_ambiguous_local_times(tmp_path: Path) -> None:
    # 30/10/2016 02:30 happens twice in Rome: 00:30 UTC (CEST) and 01:30 UTC (CET)
    rows = pl.DataFrame(
        {
            "number": ["INC9", "INC9"],
            "incident_state": ["New", "Resolved"],
            "caller_id": ["Caller 9"] * 2,
            "opened_at": ["30/10/2016 01:00"] * 2,
            "sys_updated_at": ["30/10/2016 01:05", "30/10/2016 02:30"],
            "contact_type": ["Phone"] * 2,
            "sys_mod_count": ["0", "1"],
        }
    )

    def solved(**options: object) -> list[dt.datetime]:
        log = read_servicenow(rows, tz="Europe/Rome", **options)  # type: ignore[arg-type]
        return log.frame.filter(pl.col("status") == "solved").collect()["ts"].to_list()

    assert solved() == [dt.datetime(2016, 10, 30, 0, 30, tzinfo=UTC)]  # earliest
    assert solved(ambiguous="latest") == [dt.datetime(2016, 10, 30, 1, 30, tzinfo=UTC)]
    with pytest.raises(AdapterError, match=r"row 2, field 'sys_updated_at'.*happens twice"):
        solved(ambiguous="raise")
    log = read_servicenow(rows, tz="Europe/Rome", ambiguous="null")
    assert log.rejected is not None
    assert log.rejected.collect()["reason"].to_list() == ["ambiguous_local_time"]
