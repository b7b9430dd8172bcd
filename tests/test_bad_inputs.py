"""The bad-input corpus (tests/data/bad/ and in-memory cases): one test per file and per case.

Each input gets either a specific :class:`csmetrics.CsMetricsError` whose message names the
file or column, the count and the fix, or, where the data is legal but odd, a documented and
tested result (docs/validation.md lists every decision).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import csmetrics as csm
from csmetrics.exceptions import SchemaError
from csmetrics.policy import Policy

BAD = Path(__file__).parent / "data" / "bad"
UTC = dt.UTC


def at(hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime(2024, 3, 1, hh, mm, tzinfo=UTC)


def split(path: Path, **kwargs: Any) -> tuple[pl.DataFrame, pl.DataFrame]:
    good, rejected = csm.scan_events(path, **kwargs).validate("split")
    return good.collect(), rejected.collect()


def reasons(rejected: pl.DataFrame) -> list[tuple[Any, ...]]:
    """(event_id, reason, column) of each reject; rejected rows keep the raw text of a CSV."""
    return rejected.sort("event_id")[["event_id", "reason", "reason_column"]].rows()


def raised(path: Path, **kwargs: Any) -> SchemaError:
    """The error of scanning and validating ``path``; its message must name the file."""
    with pytest.raises(SchemaError) as info:
        csm.scan_events(path, **kwargs).validate("raise")
    assert path.name in str(info.value)
    assert "fix" in str(info.value) or "Rename" in str(info.value)
    return info.value


def case_table_function() -> Callable[..., pl.LazyFrame]:
    """``csm.case_table`` once exported; until then the module function."""
    exported = getattr(csm, "case_table", None)
    if exported is not None:
        return exported  # type: ignore[no-any-return]
    cases = pytest.importorskip("csmetrics.cases")
    return cases.case_table  # type: ignore[no-any-return]


def one_case(path: Path, preset: str = "csmetrics") -> dict[str, Any]:
    table = case_table_function()(csm.scan_events(path), policy=Policy.preset(preset)).collect()
    assert table.height == 1
    return table.row(0, named=True)


def test_corpus_is_fully_covered() -> None:
    tested = {
        "missing_column.csv", "misspelled_columns.csv", "ts_formats.csv", "ids_as_floats.csv",
        "naive_ts.csv", "mixed_tz.csv", "null_keys.csv", "unknown_values.csv",
        "duplicate_event_ids.csv", "exact_duplicate_rows.csv", "out_of_order.csv",
        "after_close.csv", "reply_before_customer_message.csv", "bad_comp_amounts.csv",
        "ts_out_of_range.csv", "empty_log.csv", "empty_file.csv", "one_event_case.csv",
        "latin1.csv", "semicolon.csv", "truncated.parquet", "truncated.arrow",
    }  # fmt: skip
    assert {p.name for p in BAD.iterdir()} == tested


# errors ----------------------------------------------------------------------------------------


def test_missing_column() -> None:
    path = BAD / "missing_column.csv"
    with pytest.raises(SchemaError, match="'actor' not found") as info:
        csm.scan_events(path)
    assert info.value.reason == "missing_column"
    assert path.name in str(info.value)


def test_misspelled_columns() -> None:
    with pytest.raises(SchemaError) as info:
        csm.scan_events(BAD / "misspelled_columns.csv")
    message = str(info.value)
    assert "'case_id' (did you mean 'caseid'" in message
    assert "'ts'" in message
    assert "'timestamp'" in message  # listed among the available columns
    assert "Rename the source columns" in message


def test_time_stamps_in_several_formats() -> None:
    # ISO with Z, with +02:00, with a space and milliseconds, and RFC 2822 parse;
    # US "03/01/2024 09:20", an epoch number and "yesterday" do not (bad_type)
    path = BAD / "ts_formats.csv"
    good, rejected = split(path)
    assert good["ts"].to_list() == [at(9), at(9, 5), at(9, 10) + dt.timedelta(milliseconds=250),
                                    at(9, 15)]  # fmt: skip
    assert reasons(rejected) == [
        ("5", "bad_type", "ts"),
        ("6", "bad_type", "ts"),
        ("7", "bad_type", "ts"),
    ]
    err = raised(path)
    assert (err.reason, err.column, err.n_rows) == ("bad_type", "ts", 3)
    assert "ts_format=" in str(err)
    assert "from_epoch" in str(err)


def test_ids_as_floats() -> None:
    # "1.0" is case 1; "2.5" is no integer id
    good, rejected = split(BAD / "ids_as_floats.csv")
    assert good.schema["case_id"] == good.schema["event_id"] == pl.Int64
    assert good["case_id"].to_list() == [1, 1]
    assert reasons(rejected) == [("3.0", "bad_type", "case_id")]
    assert rejected["case_id"].to_list() == ["2.5"]  # the raw text, unchanged
    err = raised(BAD / "ids_as_floats.csv")
    assert "1 row(s)" in str(err)
    assert "id_dtype='string'" in str(err)
    as_text, rejected_text = split(BAD / "ids_as_floats.csv", id_dtype="string")
    assert (as_text["case_id"].to_list(), rejected_text.height) == (["1.0", "1.0", "2.5"], 0)


@pytest.mark.parametrize("mode", ["raise", "split"])
def test_naive_time_stamps(mode: str) -> None:
    path = BAD / "naive_ts.csv"
    with pytest.raises(SchemaError, match="pass `tz=`") as info:
        csm.scan_events(path).validate(mode)  # type: ignore[call-overload]
    assert (info.value.reason, info.value.n_rows) == ("naive_timestamp", 2)
    assert "2 row(s)" in str(info.value)
    assert path.name in str(info.value)
    # 09:00 and 09:30 in Paris (CET, UTC+1) are 08:00 and 08:30 UTC
    good, _ = split(path, tz="Europe/Paris")
    assert good["ts"].to_list() == [at(8), at(8, 30)]


def test_mixed_time_zones() -> None:
    path = BAD / "mixed_tz.csv"
    err = raised(path)
    assert (err.reason, err.n_rows) == ("naive_timestamp", 1)  # only "2024-03-01T11:00:00"
    assert "'2024-03-01T11:00:00' (row 3)" in str(err)
    # Z -> 09:00; 11:30+02:00 -> 09:30; 04:45-05:00 -> 09:45; naive 11:00 Paris -> 10:00
    good, _ = split(path, tz="Europe/Paris")
    assert good["ts"].to_list() == [at(9), at(9, 30), at(9, 45), at(10)]


def test_null_keys() -> None:
    path = BAD / "null_keys.csv"
    good, rejected = split(path)
    assert good["event_id"].to_list() == [1]
    assert reasons(rejected) == [
        ("2", "null_key", "case_id"),
        ("3", "null_key", "customer_id"),
        ("4", "null_key", "channel"),
        ("5", "null_key", "ts"),
        ("6", "null_key", "event_type"),
        ("7", "null_key", "actor"),
        ("8", "null_key", "channel"),  # "   " is blank
    ]
    err = raised(path)
    assert (err.reason, err.column, err.n_rows) == ("null_key", "case_id", 1)
    assert "7 row(s) are invalid in all" in str(err)


def test_unknown_event_types_actors_statuses() -> None:
    path = BAD / "unknown_values.csv"
    good, rejected = split(path)
    # " Message " / "AGENT" and " Solved" are normalised, not unknown
    assert good["event_id"].to_list() == [1, 6, 7]
    assert good["status"].to_list() == [None, None, "solved"]
    assert reasons(rejected) == [
        ("2", "unknown_event_type", "event_type"),
        ("3", "unknown_actor", "actor"),
        ("4", "unknown_status", "status"),
        ("5", "missing_status", "status"),
    ]
    err = raised(path)
    assert (err.reason, err.column, err.n_rows) == ("unknown_event_type", "event_type", 1)
    assert "'teleport'" in str(err)


def test_duplicate_event_ids() -> None:
    path = BAD / "duplicate_event_ids.csv"
    good, rejected = split(path)
    # event 2 three times: the 09:20 copy is first in event order and kept
    assert good["event_id"].to_list() == [1, 2, 3]
    assert good.filter(event_id=2)["ts"].to_list() == [at(9, 20)]
    assert reasons(rejected) == [("2", "duplicate_event", "event_id")] * 2
    err = raised(path)
    assert (err.reason, err.column, err.n_rows) == ("duplicate_event", "event_id", 2)


def test_exact_duplicate_rows() -> None:
    path = BAD / "exact_duplicate_rows.csv"
    good, rejected = split(path)
    # row 3 repeats row 2; row 4 is the same event written as "Email" and 10:30+01:00
    assert good.height == 3
    assert rejected["reason"].to_list() == ["duplicate_event"] * 2
    assert rejected["reason_column"].to_list() == ["*"] * 2
    err = raised(path)
    assert "identical rows" in str(err)
    assert err.n_rows == 2


def test_bad_comp_amounts() -> None:
    path = BAD / "bad_comp_amounts.csv"
    good, rejected = split(path)
    # 10.5 is fine; -1 on a message is not a comp and not checked
    assert good["event_id"].to_list() == [1, 2, 8]
    assert reasons(rejected) == [
        ("3", "bad_comp_amount", "comp_amount"),  # -5
        ("4", "bad_comp_amount", "comp_amount"),  # NaN
        ("5", "bad_comp_amount", "comp_amount"),  # missing
        ("6", "bad_comp_amount", "comp_amount"),  # inf
        ("7", "bad_type", "comp_amount"),  # "ten"
    ]
    err = raised(path)
    assert (err.reason, err.column, err.n_rows) == ("bad_type", "comp_amount", 1)
    assert "bad_comp_amount on 'comp_amount' (4 rows)" in str(err)


def test_time_stamps_out_of_range() -> None:
    path = BAD / "ts_out_of_range.csv"
    good, rejected = split(path)
    assert good["event_id"].to_list() == [1]
    assert reasons(rejected) == [
        ("2", "ts_out_of_range", "ts"),  # 1970 (epoch zero)
        ("3", "ts_out_of_range", "ts"),  # 1999-12-31, before 2000
        ("4", "ts_out_of_range", "ts"),  # 2200, after tomorrow
        ("5", "bad_type", "ts"),  # year 10000 is no time stamp
    ]
    wide = (dt.datetime(1900, 1, 1, tzinfo=UTC), dt.datetime(2300, 1, 1, tzinfo=UTC))
    good_wide, _ = split(path, ts_bounds=wide)
    assert good_wide["event_id"].to_list() == [1, 2, 3, 4]


def test_empty_file() -> None:
    path = BAD / "empty_file.csv"
    with pytest.raises(SchemaError, match=r"empty_file\.csv.*empty \(0 bytes\).*header"):
        csm.scan_events(path)


def test_latin1_csv() -> None:
    path = BAD / "latin1.csv"
    with pytest.raises(SchemaError) as info:
        csm.scan_events(path)
    message = str(info.value)
    assert "latin1.csv" in message
    assert "line 2" in message
    assert "encoding='utf8-lossy'" in message
    good, _ = split(path, encoding="utf8-lossy")
    assert good["topic"].to_list() == ["caf\ufffd cr\ufffdme", None]


def test_csv_with_another_delimiter() -> None:
    path = BAD / "semicolon.csv"
    with pytest.raises(SchemaError, match=r"semicolon\.csv.*separator=';'"):
        csm.scan_events(path)
    good, rejected = split(path, separator=";")
    assert (good.height, rejected.height) == (2, 0)


@pytest.mark.parametrize("name", ["truncated.parquet", "truncated.arrow"])
def test_truncated_binary_files(name: str) -> None:
    with pytest.raises(SchemaError, match=f"{name}.*truncated") as info:
        csm.scan_events(BAD / name)
    assert info.value.reason == "bad_type"


def test_truncated_file_in_a_glob_is_named(tmp_path: Path) -> None:
    good = pl.read_csv(BAD / "out_of_order.csv")
    good.write_parquet(tmp_path / "a.parquet")
    (tmp_path / "b.parquet").write_bytes((BAD / "truncated.parquet").read_bytes())
    with pytest.raises(SchemaError, match=r"b\.parquet"):
        csm.scan_events(tmp_path / "*.parquet")


# legal but odd: documented results ----------------------------------------------------------


def test_empty_log() -> None:
    path = BAD / "empty_log.csv"
    good, rejected = split(path)
    assert (good.height, rejected.height) == (0, 0)
    csm.scan_events(path).validate("raise")
    assert case_table_function()(csm.scan_events(path)).collect().height == 0


def test_one_event_case() -> None:
    row = one_case(BAD / "one_event_case.csv")
    # a case with only case_created: open, unanswered, no wait (as_of is its only event)
    assert row["created_at"] == row["last_event_at"] == at(9)
    assert row["first_response_at"] is None
    assert row["first_response_time"] is None
    assert row["is_open"] is True
    assert row["n_events"] == 1
    assert row["requester_wait_time"] == dt.timedelta(0)


def test_events_out_of_order() -> None:
    path = BAD / "out_of_order.csv"
    row = one_case(path)
    # created 09:00, first reply 09:30 (30 min), solved 10:00 (60 min): row order is irrelevant
    assert row["first_response_time"] == dt.timedelta(minutes=30)
    assert row["first_resolution_time"] == dt.timedelta(minutes=60)
    in_order = pl.read_csv(path, infer_schema=False).sort("ts")
    sorted_table = case_table_function()(csm.EventLog.from_frame(in_order, id_dtype="infer"))
    assert sorted_table.collect().row(0, named=True) == row


def test_events_after_the_case_was_closed() -> None:
    row = one_case(BAD / "after_close.csv")
    # closed at 10:00; a customer message at 11:00 and a reply at 11:30 do not reopen it
    assert (row["status_at_as_of"], row["is_open"], row["n_reopens"]) == ("closed", False, 0)
    assert row["last_resolved_at"] == at(10)
    assert row["first_resolution_time"] == dt.timedelta(hours=1)
    # ... but they count: 5 events, a 30-minute next-reply pair (11:00 -> 11:30), 2 replies
    assert row["n_events"] == 5
    assert (row["next_reply_count"], row["next_reply_time_sum"]) == (1, dt.timedelta(minutes=30))
    assert row["one_touch"] is False
    # intercom starts clocks at the first customer message (11:00), after the close:
    # the resolution time is clamped to 0
    intercom = one_case(BAD / "after_close.csv", "intercom")
    assert intercom["first_resolution_time"] == dt.timedelta(0)


def test_reply_before_the_first_customer_message() -> None:
    path = BAD / "reply_before_customer_message.csv"
    row = one_case(path)
    # "created": 09:00 -> the 09:05 reply = 5 min; the 09:20 message is answered at 09:50
    assert row["first_response_time"] == dt.timedelta(minutes=5)
    assert (row["next_reply_count"], row["next_reply_time_sum"]) == (1, dt.timedelta(minutes=30))
    # intercom: the clock starts at the first customer message (09:20) -> 09:50 = 30 min
    intercom = one_case(path, "intercom")
    assert intercom["first_response_at"] == at(9, 50)
    assert intercom["first_response_time"] == dt.timedelta(minutes=30)


# in-memory cases ------------------------------------------------------------------------------


def base_frame(n: int = 2) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "event_id": list(range(1, n + 1)),
            "case_id": [1] * n,
            "customer_id": [7] * n,
            "channel": ["email"] * n,
            "ts": [f"2024-03-01T09:{m:02d}:00Z" for m in range(n)],
            "event_type": ["case_created"] + ["message"] * (n - 1),
            "actor": ["customer"] + ["agent"] * (n - 1),
        }
    )


def test_very_long_strings_pass_unchanged() -> None:
    topic = "x" * 1_000_000
    frame = base_frame().with_columns(topic=pl.lit(topic), agent_id=pl.lit("a" * 100_000))
    got = csm.validate(frame).collect()
    assert got["topic"].to_list() == [topic, topic]
    assert got["agent_id"].str.len_chars().to_list() == [100_000, 100_000]


def test_very_long_bad_values_are_shortened_in_messages() -> None:
    frame = base_frame().with_columns(event_type=pl.lit("z" * 100_000))
    with pytest.raises(SchemaError) as info:
        csm.validate(frame)
    assert info.value.n_rows == 2
    assert "'" + "z" * 60 + "…'" in str(info.value)
    assert len(str(info.value)) < 2_000


def test_very_long_channel_is_just_another_channel() -> None:
    channel = "C" * 10_000
    got = csm.validate(base_frame().with_columns(channel=pl.lit(channel))).collect()
    assert got["channel"].to_list() == [channel.lower()] * 2


def test_naive_datetime_column() -> None:
    frame = base_frame().with_columns(pl.col("ts").str.to_datetime("%Y-%m-%dT%H:%M:%SZ"))
    with pytest.raises(SchemaError, match=r"'ts'.*without a time zone.*tz=") as info:
        csm.EventLog.from_frame(frame)
    assert info.value.reason == "naive_timestamp"


def test_nan_comp_amount_in_a_float_column() -> None:
    frame = base_frame(3).with_columns(
        event_type=pl.Series(["case_created", "comp_granted", "comp_granted"]),
        comp_amount=pl.Series([None, float("nan"), 3.0]),
    )
    good, rejected = csm.validate(frame, mode="split")
    assert good.collect()["comp_amount"].to_list() == [None, 3.0]
    assert rejected.collect()["reason"].to_list() == ["bad_comp_amount"]
    assert rejected.collect()["comp_amount"].is_nan().to_list() == [True]  # unchanged


def test_one_event_case_in_memory() -> None:
    log = csm.EventLog.from_frame(base_frame(1))
    table = case_table_function()(log).collect()
    assert table.height == 1
    assert table["is_open"].to_list() == [True]


def test_no_polars_exception_escapes_for_unparseable_objects() -> None:
    class NotATable:
        def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
            raise ValueError("broken stream")

    with pytest.raises(SchemaError, match="NotATable"):
        csm.EventLog.from_frame(NotATable())
