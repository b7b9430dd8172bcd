"""The ``mapping`` adapter: a declared column and value mapping of any flat table."""

from __future__ import annotations

import csv
import datetime as dt
import json
import tempfile
from pathlib import Path
from statistics import median
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csmetrics.adapters.mapping import MappingConfig, adapter, read_mapped
from csmetrics.exceptions import AdapterError, CsMetricsError

DATA = Path(__file__).resolve().parents[1] / "data" / "adapters"
TICKETS = DATA / "tickets.csv"
TICKETS_TOML = DATA / "tickets.toml"
UTC = dt.UTC

BASE: dict[str, Any] = {
    "columns": {
        "case_id": "ticket",
        "customer_id": "requester",
        "ts": "created",
        "event_type": "action",
        "actor": "action",
    },
    "values": {
        "event_type": {
            "Opened": "case_created",
            "Replied": "message",
            "Customer reply": "message",
            "Solved": "status_changed",
            "Escalated?": "escalated",
        },
        "actor": {"Opened": "customer", "Customer reply": "customer", "*": "agent"},
    },
    "constants": {"channel": "email"},
    "tz": "Europe/Rome",
    "ts_format": "%Y/%m/%d %H:%M:%S%.f",
}


def test_adapter_object() -> None:
    assert adapter.name == "mapping"
    assert adapter.description


# --------------------------------------------------------------------------- example 3: TOML


def test_toml_example_hand_worked() -> None:
    log = adapter(TICKETS, config=TICKETS_TOML)
    assert log.rejected is not None
    events, rejected = log.frame.collect(), log.rejected.collect()
    # Rome is UTC+1 in March 2024: 09:00 local = 08:00 UTC
    assert events.select("case_id", "ts", "event_type", "actor", "status", "channel").rows() == [
        (
            "T1",
            dt.datetime(2024, 3, 1, 8, 0, tzinfo=UTC),
            "case_created",
            "customer",
            None,
            "email",
        ),
        ("T1", dt.datetime(2024, 3, 1, 8, 45, tzinfo=UTC), "message", "agent", None, "email"),
        (
            "T1",
            dt.datetime(2024, 3, 1, 9, 0, tzinfo=UTC),
            "status_changed",
            "agent",
            "solved",
            "email",
        ),
        (
            "T2",
            dt.datetime(2024, 3, 2, 13, 0, tzinfo=UTC),
            "case_created",
            "customer",
            None,
            "web_form",
        ),
        (
            "T2",
            dt.datetime(2024, 3, 2, 13, 20, tzinfo=UTC),
            "message",
            "customer",
            None,
            "web_form",
        ),
    ]
    # unmapped values are reported with the source column and row, never guessed
    assert rejected.select("source_row", "reason", "reason_column").rows() == [
        (6, "unmapped_value", "action"),  # 'Escalated?' has no event type
        (7, "unmapped_value", "via"),  # 'Fax' has no channel
    ]
    # the unused source column passes through (keep = "all")
    assert set(events["product"]) == {"router", "modem"}
    # T1's first response: 09:00 → 09:45 = 45 min
    t1 = events.filter(pl.col("case_id") == "T1")
    assert t1["ts"][1] - t1["ts"][0] == dt.timedelta(minutes=45)


def test_conservation_one_event_per_row() -> None:
    log = adapter(TICKETS, config=TICKETS_TOML)
    assert log.rejected is not None
    n_rows = pl.read_csv(TICKETS).height
    assert log.frame.collect().height + log.rejected.collect().height == n_rows == 7


# --------------------------------------------------------------------------- options


def test_default_value_and_null() -> None:
    config = {
        **BASE,
        "columns": {**BASE["columns"], "status": "action"},
        "values": {**BASE["values"], "status": {"Solved": "solved", "*": ""}},
    }
    events = read_mapped(TICKETS, config=config).frame.collect()
    assert events["status"].to_list() == [None, None, "solved", None, None, None, None]
    assert events.filter(pl.col("event_type") == "escalated")["actor"].item() == "agent"


def test_keyword_options_override_the_config() -> None:
    log = read_mapped(TICKETS, config=TICKETS_TOML, constants={"team": "tier1"}, keep=[])
    events = log.frame.collect()
    assert set(events["team"]) == {"tier1"}
    assert "product" not in events.columns
    other = read_mapped(TICKETS, config=BASE, tz="UTC").frame.collect()
    assert other["ts"][0] == dt.datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def test_config_object_and_dict_agree() -> None:
    config = MappingConfig.from_dict(BASE)
    a = read_mapped(TICKETS, config=config).frame.collect()
    b = read_mapped(TICKETS, config=BASE).frame.collect()
    assert a.equals(b)


def test_parquet_and_ndjson_sources(tmp_path: Path) -> None:
    frame = pl.read_csv(TICKETS, infer_schema=False)
    expected = read_mapped(TICKETS, config=BASE).frame.collect()
    frame.write_parquet(tmp_path / "t.parquet")
    frame.write_ndjson(tmp_path / "t.ndjson")
    for name in ("t.parquet", "t.ndjson"):
        got = read_mapped(tmp_path / name, config=BASE).frame.collect()
        assert got.equals(expected), name


def test_typed_frame_source() -> None:
    frame = pl.DataFrame(
        {
            "ticket": [7, 7],
            "who": [3, 3],
            "action": ["Opened", "Replied"],
            "at": [
                dt.datetime(2024, 3, 1, 9, 0, tzinfo=UTC),
                dt.datetime(2024, 3, 1, 9, 5, tzinfo=UTC),
            ],
        }
    )
    config = {**BASE, "columns": {**BASE["columns"], "ts": "at", "customer_id": "who"}}
    del config["ts_format"]
    events = read_mapped(frame, config=config).frame.collect()
    assert events.schema["case_id"] == pl.Int64  # integer ids stay integers
    assert events["ts"].to_list() == frame["at"].to_list()


def test_duplicates_option() -> None:
    frame = pl.read_csv(TICKETS, infer_schema=False)
    doubled = pl.concat([frame, frame.head(1)])
    log = read_mapped(doubled, config=BASE)
    assert log.rejected is not None
    assert log.rejected.collect()["reason"].to_list().count("duplicate_event") == 1
    kept = read_mapped(doubled, config=BASE, duplicates="keep").frame.collect()
    assert kept.height == 7


# --------------------------------------------------------------------------- malformed


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"colums": {}}, r"unknown key\(s\) \['colums'\]"),
        ({"values": {"actor": {"Opened": "robot"}}}, r"values\.actor maps onto \['robot'\]"),
        ({"values": {"topic": {"a": "b"}}}, r"values\.topic has no source column"),
        ({"constants": {}}, r"no source for the required column\(s\) \['channel'\]"),
        ({"columns": "ticket"}, "columns must be a table"),
        ({"keep": 3}, "keep must be"),
        ({"duplicates": "maybe"}, "duplicates must be"),
    ],
)
def test_malformed_config(change: dict[str, Any], match: str) -> None:
    with pytest.raises(AdapterError, match=match):
        read_mapped(TICKETS, config={**BASE, **change})


def test_malformed_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[columns\ncase_id = 'x'\n")
    with pytest.raises(AdapterError, match=r"bad\.toml: not valid TOML.*line 1"):
        read_mapped(TICKETS, config=path)


def test_missing_source_column_names_file_and_column() -> None:
    config = {**BASE, "columns": {**BASE["columns"], "ts": "create"}}
    with pytest.raises(AdapterError, match=r"tickets\.csv: missing column.*'create'.*'created'"):
        read_mapped(TICKETS, config=config)


def test_tz_is_required_for_clock_times() -> None:
    config = {k: v for k, v in BASE.items() if k != "tz"}
    with pytest.raises(AdapterError, match=r"tickets\.csv.*tz="):
        read_mapped(TICKETS, config=config)


def test_bad_time_stamp_is_rejected_with_its_value(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(TICKETS.read_text().replace("2024/03/01 09:45:00.000", "yesterday"))
    log = read_mapped(path, config=BASE)
    assert log.rejected is not None
    row = log.rejected.collect().filter(pl.col("reason") == "bad_type")
    assert row.select("ts", "reason_column").row(0) == ("yesterday", "ts")


@settings(max_examples=25, deadline=None)  # each example maps and validates a file
@given(st.lists(st.lists(st.text(max_size=12), min_size=7, max_size=7), max_size=8))
def test_garbage_rows_never_leak_library_errors(rows: list[list[str]]) -> None:
    header = TICKETS.read_text().splitlines()[0]
    body = [",".join(json.dumps(v) for v in row) for row in rows]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.csv"
        path.write_text("\n".join([header, *body]) + "\n")
        try:
            log = read_mapped(path, config=TICKETS_TOML)
            log.frame.collect()
            assert log.rejected is not None
            log.rejected.collect()
        except CsMetricsError:
            pass


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(["t.csv", "t.ndjson", "t.json", "t.parquet"]))
def test_garbage_bytes_never_leak_library_errors(data: bytes, name: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            log = read_mapped(path, config=BASE)
            log.frame.collect()
            assert log.rejected is not None
            log.rejected.collect()
        except CsMetricsError:
            pass


# --------------------------------------------------------------------------- examples 1 and 2


def test_helpdesk_example(real_data: Path) -> None:
    path = real_data / "helpdesk" / "helpdesk.csv"
    log = adapter(path, config=DATA / "helpdesk.toml")
    assert log.rejected is not None
    events, rejected = pl.collect_all([log.frame, log.rejected])
    mapped = {
        "Insert ticket",
        "Assign seriousness",
        "Take in charge ticket",
        "Resolve ticket",
        "Closed",
        "Wait",
        "Require upgrade",
    }
    # independently, with the csv module: rows of mapped activities, per-case spans
    first: dict[str, dt.datetime] = {}
    last: dict[str, dt.datetime] = {}
    n_rows = n_mapped = 0
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            n_rows += 1
            if row["Activity"] not in mapped:
                continue
            n_mapped += 1
            ts = dt.datetime.strptime(row["Complete Timestamp"], "%Y/%m/%d %H:%M:%S.%f")
            case = row["Case ID"]
            first[case] = min(first.get(case, ts), ts)
            last[case] = max(last.get(case, ts), ts)
    assert n_rows == 21_348
    assert events.height == n_mapped
    assert rejected.height == n_rows - n_mapped  # the seven activities left unmapped
    assert set(rejected["reason"]) == {"unmapped_value"}
    assert set(rejected["reason_column"]) == {"Activity"}
    assert events["case_id"].n_unique() == len(first) == 4_580
    span = events.group_by("case_id").agg(
        ((pl.col("ts").max() - pl.col("ts").min()).dt.total_microseconds() / 86_400e6).alias("d")
    )
    raw = median((last[c] - first[c]) / dt.timedelta(days=1) for c in first)
    # Rome time: DST shifts move a few spans by an hour, not the median
    assert span["d"].median() == pytest.approx(raw, abs=1e-6)


def test_servicenow_example(real_data: Path) -> None:
    path = real_data / "servicenow-incidents" / "incident_event_log_sample.csv"
    log = adapter(path, config=DATA / "servicenow_sample.toml")
    assert log.rejected is not None
    events, rejected = pl.collect_all([log.frame, log.rejected])
    assert rejected.height == 0
    assert events.height == 4_850  # one status_changed per row
    assert events["case_id"].n_unique() == 712
    ever_resolved: set[str] = set()
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            if row["incident_state"] == "Resolved":
                ever_resolved.add(row["number"])
    solved = set(events.filter(pl.col("status") == "solved")["case_id"])
    assert solved == ever_resolved
    # README: 9 of 712 incidents have reopen_count > 0 on some row
    assert events.filter(pl.col("reopen_count") != "0")["case_id"].n_unique() == 9
