"""Validation rules R1–R11 (DESIGN §2.3): one hand-made bad frame per rule, then properties.

Each rule test checks the error class, the reason code, the column, and that the message names
the column and the number of rows breaking the rule; and that ``mode="split"`` sets exactly
those rows aside with that reason.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import csmetrics as csm
from csmetrics.exceptions import PolicyError, SchemaError
from csmetrics.schema import CANONICAL_COLUMNS, TS_DTYPE
from csmetrics.validate import REASONS, annotate

UTC = dt.UTC


def events(rows: list[dict[str, Any]], **columns: Any) -> pl.DataFrame:
    """A frame of ``rows`` on case 1 / customer 7 / email unless a row says otherwise."""
    base = {"case_id": 1, "customer_id": 7, "channel": "email"}
    records = [{**base, **row} for row in rows]
    frame = pl.DataFrame(records, strict=False, infer_schema_length=None)
    return frame.with_columns(**{k: pl.Series(k, v, strict=False) for k, v in columns.items()})


def good_rows() -> list[dict[str, Any]]:
    return [
        {"event_id": 1, "ts": "2024-03-01T09:00:00Z", "event_type": "case_created",
         "actor": "customer"},
        {"event_id": 2, "ts": "2024-03-01T09:30:00Z", "event_type": "message", "actor": "agent"},
        {"event_id": 3, "ts": "2024-03-01T10:00:00Z", "event_type": "status_changed",
         "actor": "agent", "status": "solved"},
    ]  # fmt: skip


def split(frame: object, **kwargs: Any) -> tuple[pl.DataFrame, pl.DataFrame]:
    good, rejected = csm.EventLog.from_frame(frame, **kwargs).validate("split")
    return good.collect(), rejected.collect()


def assert_rule(
    frame: pl.DataFrame,
    reason: str,
    column: str,
    n_bad: int,
    first_value: str | None = None,
    **kwargs: Any,
) -> pl.DataFrame:
    """Raise mode names the rule, column and count; split mode sets exactly ``n_bad`` aside."""
    log = csm.EventLog.from_frame(frame, **kwargs)
    with pytest.raises(SchemaError) as info:
        log.validate("raise")
    err = info.value
    assert isinstance(err, csm.CsMetricsError)
    assert isinstance(err, ValueError)
    assert (err.reason, err.column, err.n_rows) == (reason, column, n_bad)
    message = str(err)
    assert message.startswith(f"{reason}: ")
    assert (f"column {column!r}" if column != "*" else "identical rows") in message
    assert f"{n_bad} row(s) break the rule" in message
    assert "fix: " in message
    if first_value is not None:
        assert repr(first_value) in message
    good, rejected = split(frame, **kwargs)
    assert good.height + rejected.height == frame.height
    assert rejected.filter(reason=reason, reason_column=column).height == n_bad
    assert set(rejected["reason_column"].to_list()) >= {column}
    return rejected


# R1 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "column", ["case_id", "customer_id", "channel", "ts", "event_type", "actor"]
)
@pytest.mark.parametrize("mode", ["raise", "split"])
def test_r1_missing_column_always_raises(column: str, mode: str) -> None:
    frame = events(good_rows()).drop(column)
    with pytest.raises(SchemaError, match=f"missing_column: required column.*'{column}'") as info:
        csm.validate(frame, mode=mode)  # type: ignore[call-overload]
    assert info.value.reason == "missing_column"
    assert info.value.column == column


def test_r1_suggests_close_names() -> None:
    frame = events(good_rows()).rename({"case_id": "caseid", "ts": "timestamp"})
    with pytest.raises(SchemaError) as info:
        csm.validate(frame)
    message = str(info.value)
    assert "'case_id' (did you mean 'caseid'" in message
    assert "'ts'" in message
    assert "available columns" in message


# R2 ------------------------------------------------------------------------------------------


def test_r2_ts_that_is_no_time_stamp() -> None:
    rows = good_rows()
    rows[1]["ts"] = "half past nine"
    rejected = assert_rule(events(rows), "bad_type", "ts", 1, "half past nine")
    assert rejected["event_id"].to_list() == [2]


def test_r2_numeric_ts_hint_says_how() -> None:
    frame = events(good_rows()).with_columns(ts=pl.Series([1709283600, 1709285400, 1709287200]))
    with pytest.raises(SchemaError, match="from_epoch") as info:
        csm.validate(frame)
    assert (info.value.reason, info.value.column, info.value.n_rows) == ("bad_type", "ts", 3)


def test_r2_float_ids() -> None:
    # whole floats are integer ids (1.0 -> 1); 1.5 is no id
    frame = events(good_rows()).with_columns(case_id=pl.Series([1.0, 1.0, 1.5]))
    rejected = assert_rule(frame, "bad_type", "case_id", 1, "1.5")
    assert rejected.schema["case_id"] == pl.Float64  # kept unchanged
    good, _ = split(frame)
    assert good.schema["case_id"] == pl.Int64
    assert good["case_id"].to_list() == [1, 1]


def test_r2_text_id_forced_to_int() -> None:
    frame = events(good_rows()).with_columns(customer_id=pl.Series(["7", "7", "seven"]))
    assert_rule(frame, "bad_type", "customer_id", 1, "seven", id_dtype="int")


def test_r2_is_public_comp_csat_handle_seconds() -> None:
    frame = events(good_rows()).with_columns(
        is_public=pl.Series(["yes", "maybe", None]),
        handle_seconds=pl.Series([10.0, None, -5.0]),
    )
    rejected = assert_rule(frame, "bad_type", "is_public", 1, "maybe")
    assert rejected.sort("event_id")["reason_column"].to_list() == ["is_public", "handle_seconds"]


def test_r2_comp_amount_text() -> None:
    rows = good_rows()
    rows[1].update(event_type="comp_granted", comp_amount="ten")
    assert_rule(events(rows), "bad_type", "comp_amount", 1, "ten")


def test_r2_merged_into_must_be_a_case_id() -> None:
    rows = good_rows()
    rows[2] = {"event_id": 3, "ts": "2024-03-01T10:00:00Z", "event_type": "merged",
               "actor": "agent", "merged_into": "case two"}  # fmt: skip
    assert_rule(events(rows), "bad_type", "merged_into", 1, "case two")


def test_r2_nested_values_in_canonical_columns() -> None:
    frame = events(good_rows()).with_columns(
        topic=pl.Series([["a", "b"], None, ["c"]]),
        extra=pl.Series([{"k": 1}, {"k": 2}, {"k": 3}]),  # pass-through: any type is fine
    )
    rejected = assert_rule(frame, "bad_type", "topic", 2, "<nested value>")
    assert rejected["event_id"].to_list() == [1, 3]
    with pytest.raises(SchemaError, match="'case_id'") as info:
        csm.validate(frame.with_columns(case_id=pl.Series([[1], [1], [2]])))
    assert info.value.n_rows == 3


# R3 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["raise", "split"])
def test_r3_naive_text_time_stamps_raise_in_both_modes(mode: str) -> None:
    rows = good_rows()
    rows[1]["ts"] = "2024-03-01T09:30:00"
    log = csm.EventLog.from_frame(events(rows))
    with pytest.raises(SchemaError, match="pass `tz=`") as info:
        log.validate(mode)  # type: ignore[call-overload]
    err = info.value
    assert (err.reason, err.column, err.n_rows) == ("naive_timestamp", "ts", 1)
    assert "column 'ts'" in str(err)
    assert "1 row(s)" in str(err)
    assert "'2024-03-01T09:30:00' (row 1)" in str(err)


def test_r3_naive_datetime_column_raises_at_once() -> None:
    naive = [
        dt.datetime(2024, 3, 1, 9),
        dt.datetime(2024, 3, 1, 9, 30),
        dt.datetime(2024, 3, 1, 10),
    ]
    frame = events(good_rows()).with_columns(ts=pl.Series(naive))
    with pytest.raises(SchemaError, match=r"without a time zone.*pass `tz=`") as info:
        csm.EventLog.from_frame(frame)
    assert info.value.reason == "naive_timestamp"
    # with tz the clock times are Paris times: 09:00 CET = 08:00 UTC
    good, rejected = split(frame, tz="Europe/Paris")
    assert rejected.height == 0
    assert good["ts"][0] == dt.datetime(2024, 3, 1, 8, tzinfo=UTC)


def test_r3_date_column_needs_tz() -> None:
    frame = events(good_rows()).with_columns(ts=pl.Series([dt.date(2024, 3, d) for d in (1, 2, 3)]))
    with pytest.raises(SchemaError, match="naive_timestamp"):
        csm.validate(frame)
    good, _ = split(frame, tz="America/New_York")
    # midnight in New York (EST, UTC-5) is 05:00 UTC
    assert good["ts"][0] == dt.datetime(2024, 3, 1, 5, tzinfo=UTC)


# R4 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "column", ["case_id", "customer_id", "channel", "ts", "event_type", "actor"]
)
def test_r4_null_key(column: str) -> None:
    frame = events(good_rows()).with_columns(
        pl.when(pl.col("event_id") == 2).then(None).otherwise(pl.col(column)).alias(column)
    )
    rejected = assert_rule(frame, "null_key", column, 1)
    assert rejected["event_id"].to_list() == [2]


def test_r4_blank_text_is_a_null_key_and_comes_before_r5() -> None:
    frame = events(good_rows()).with_columns(
        channel=pl.Series(["email", "   ", "email"]), event_type=pl.Series(["", "message", None])
    )
    _, rejected = split(frame)
    assert rejected.sort("event_id")[["event_id", "reason", "reason_column"]].rows() == [
        (1, "null_key", "event_type"),  # "" is missing, not an unknown event type
        (2, "null_key", "channel"),
        (3, "null_key", "event_type"),
    ]


# R5, R6 --------------------------------------------------------------------------------------


def test_r5_unknown_event_type() -> None:
    rows = good_rows()
    rows[1]["event_type"] = "teleport"
    assert_rule(events(rows), "unknown_event_type", "event_type", 1, "teleport")


def test_r5_unknown_actor() -> None:
    rows = good_rows()
    rows[0]["actor"] = "robot"
    rows[1]["actor"] = "robot"
    assert_rule(events(rows), "unknown_actor", "actor", 2, "robot")


def test_r5_vocabulary_is_case_and_space_insensitive() -> None:
    rows = good_rows()
    rows[1].update(event_type=" Message ", actor="AGENT")
    rows[2]["status"] = "Solved "
    good, rejected = split(events(rows))
    assert rejected.height == 0
    assert good["event_type"].to_list() == ["case_created", "message", "status_changed"]
    assert good["status"].to_list() == [None, None, "solved"]


def test_r6_missing_status() -> None:
    rows = good_rows()
    del rows[2]["status"]
    assert_rule(events(rows), "missing_status", "status", 1)


def test_r6_missing_status_column() -> None:
    rows = [r for r in good_rows() if r["event_type"] != "status_changed"]
    rows.append({"event_id": 4, "ts": "2024-03-01T10:00:00Z", "event_type": "status_changed",
                 "actor": "agent"})  # fmt: skip
    assert_rule(events(rows), "missing_status", "status", 1)


def test_r6_unknown_status() -> None:
    rows = good_rows()
    rows[2]["status"] = "resolved"
    assert_rule(events(rows), "unknown_status", "status", 1, "resolved")


# R7, R8, R9 ----------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", [-5.0, float("nan"), float("inf"), None])
def test_r7_bad_comp_amount(amount: float | None) -> None:
    rows = good_rows()
    rows[1].update(event_type="comp_granted", comp_amount=amount)
    rows.append({"event_id": 4, "ts": "2024-03-01T09:40:00Z", "event_type": "comp_granted",
                 "actor": "agent", "comp_amount": 0.0})  # fmt: skip
    rejected = assert_rule(events(rows), "bad_comp_amount", "comp_amount", 1)
    assert rejected["event_id"].to_list() == [2]  # 0.0 is a valid (zero) comp


def test_r7_comp_amount_on_other_events_is_not_checked() -> None:
    rows = good_rows()
    rows[1]["comp_amount"] = -3.0
    _, rejected = split(events(rows))
    assert rejected.height == 0


@pytest.mark.parametrize("score", [0.0, 5.5, float("nan"), None])
def test_r8_bad_csat_score(score: float | None) -> None:
    rows = good_rows()
    rows.append({"event_id": 4, "ts": "2024-03-01T11:00:00Z", "event_type": "csat",
                 "actor": "customer", "csat_score": score})  # fmt: skip
    rows.append({"event_id": 5, "ts": "2024-03-01T11:01:00Z", "event_type": "csat",
                 "actor": "customer", "csat_score": 1.0})  # fmt: skip
    rejected = assert_rule(events(rows), "bad_csat_score", "csat_score", 1)
    assert rejected["event_id"].to_list() == [4]


def test_r9_missing_merge_target() -> None:
    rows = good_rows()
    rows.append({"event_id": 4, "ts": "2024-03-01T11:00:00Z", "event_type": "merged",
                 "actor": "agent"})  # fmt: skip
    assert_rule(events(rows), "missing_merge_target", "merged_into", 1)


# R10 -----------------------------------------------------------------------------------------


def test_r10_ts_out_of_range() -> None:
    rows = good_rows()
    rows[0]["ts"] = "1970-01-01T00:00:00Z"
    rows[1]["ts"] = "2200-01-01T00:00:00Z"
    assert_rule(events(rows), "ts_out_of_range", "ts", 2, "1970-01-01T00:00:00Z")


def test_r10_bounds_are_settable() -> None:
    rows = good_rows()
    rows[0]["ts"] = "1970-01-01T00:00:00Z"
    bounds = (None, dt.datetime(2024, 3, 1, 9, 45, tzinfo=UTC))
    _, rejected = split(events(rows), ts_bounds=bounds)
    # 1970 is allowed without a lower bound; 10:00 is after 09:45
    assert rejected[["event_id", "reason"]].rows() == [(3, "ts_out_of_range")]


@pytest.mark.parametrize(
    "bounds",
    [(dt.datetime(2000, 1, 1), None), (None, "2030-01-01"), (dt.datetime(2030, 1, 1, tzinfo=UTC),
                                                              dt.datetime(2020, 1, 1, tzinfo=UTC))],
)  # fmt: skip
def test_r10_bad_bounds_are_a_policy_error(bounds: Any) -> None:
    with pytest.raises(PolicyError, match="ts_bounds"):
        csm.EventLog.from_frame(events(good_rows()), ts_bounds=bounds)


# R11 -----------------------------------------------------------------------------------------


def test_r11_duplicate_event_id_keeps_the_first_in_event_order() -> None:
    rows = good_rows()
    # event 2 three times: 09:30 (row 1), 09:20 (row 3), 09:30 (row 4); 09:20 is first in order
    rows.append({**rows[1], "ts": "2024-03-01T09:20:00Z"})
    rows.append(dict(rows[1]))
    frame = events(rows)
    assert_rule(frame, "duplicate_event", "event_id", 2, "2")
    good, _rejected = split(frame)
    assert good.filter(pl.col("event_id") == 2)["ts"].to_list() == [
        dt.datetime(2024, 3, 1, 9, 20, tzinfo=UTC)
    ]
    # the same whatever the row order
    good_reversed, _ = split(frame.reverse())
    assert_frame_equal(good.sort("event_id"), good_reversed.sort("event_id"))


def test_r11_invalid_first_copy_does_not_hide_a_valid_event() -> None:
    rows = good_rows()
    rows.insert(0, {**rows[1], "actor": "robot"})  # an invalid copy of event 2
    _, rejected = split(events(rows))
    assert rejected[["event_id", "reason"]].rows() == [(2, "unknown_actor")]


def test_r11_exact_duplicate_rows_without_event_id() -> None:
    rows = [{k: v for k, v in r.items() if k != "event_id"} for r in good_rows()]
    rows.append(dict(rows[1]))
    rows.append({**rows[1], "channel": " EMAIL", "ts": "2024-03-01T10:30:00+01:00"})  # same event
    rows.append({**rows[1], "ts": "2024-03-01T09:31:00Z"})  # another message
    frame = events(rows)
    assert_rule(frame, "duplicate_event", "*", 2)
    good, _ = split(frame)
    assert good.height == 4


def test_r11_can_be_switched_off() -> None:
    rows = [*good_rows(), good_rows()[1]]
    good, rejected = split(events(rows), check_duplicates=False)
    assert (good.height, rejected.height) == (4, 0)


# order of rules, reserved names, arguments ----------------------------------------------------


def test_first_broken_rule_is_reported() -> None:
    # event_type null (R4) and actor unknown (R5): R4 comes first
    rows = good_rows()
    rows[1].update(event_type=None, actor="robot", ts="1970-01-01T00:00:00Z")
    _, rejected = split(events(rows))
    assert rejected[["reason", "reason_column"]].rows() == [("null_key", "event_type")]


def test_raise_message_lists_the_other_broken_rules() -> None:
    rows = good_rows()
    rows[0]["event_type"] = "teleport"
    rows[1]["actor"] = "robot"
    rows[2]["actor"] = "robot"
    with pytest.raises(SchemaError) as info:
        csm.validate(events(rows))
    message = str(info.value)
    assert message.startswith("unknown_event_type: column 'event_type'")
    assert "3 row(s) are invalid in all" in message
    assert "unknown_actor on 'actor' (2 rows)" in message


def test_reason_codes_are_the_documented_ones() -> None:
    assert REASONS == (
        "missing_column", "ragged_row", "bad_type", "naive_timestamp", "null_key",
        "unknown_event_type", "unknown_actor", "missing_status", "unknown_status",
        "bad_comp_amount", "bad_csat_score", "value_out_of_range", "missing_merge_target",
        "ts_out_of_range", "duplicate_event",
    )  # fmt: skip


@pytest.mark.parametrize("name", ["reason", "reason_column", "__csm_row"])
def test_reserved_column_names(name: str) -> None:
    frame = events(good_rows()).with_columns(pl.lit("x").alias(name))
    with pytest.raises(SchemaError, match=f"{name!r}.*reserves"):
        csm.validate(frame)


def test_unknown_tz_is_a_policy_error() -> None:
    with pytest.raises(PolicyError, match="IANA"):
        csm.validate(events(good_rows()), tz="Mars/Olympus_Mons")


def test_unknown_mode_is_a_policy_error() -> None:
    with pytest.raises(PolicyError, match="mode"):
        csm.validate(events(good_rows()), mode="quarantine")  # type: ignore[call-overload]


@pytest.mark.parametrize("obj", [object(), 42, {"case_id": [1]}, [1, 2, 3]])
def test_not_a_table(obj: object) -> None:
    with pytest.raises(SchemaError, match="cannot read an event log"):
        csm.validate(obj)


# casting ----------------------------------------------------------------------------------


def test_mixed_offsets_in_text_are_converted_to_utc() -> None:
    rows = good_rows()
    rows[0]["ts"] = "2024-03-01T09:00:00Z"
    rows[1]["ts"] = "2024-03-01T11:30:00+02:00"  # 09:30 UTC
    rows[2]["ts"] = "2024-03-01 05:00:00-05:00"  # 10:00 UTC
    good, _ = split(events(rows))
    assert good["ts"].to_list() == [
        dt.datetime(2024, 3, 1, 9, 0, tzinfo=UTC),
        dt.datetime(2024, 3, 1, 9, 30, tzinfo=UTC),
        dt.datetime(2024, 3, 1, 10, 0, tzinfo=UTC),
    ]
    assert good.schema["ts"] == TS_DTYPE


def test_aware_and_naive_text_with_tz() -> None:
    rows = good_rows()
    rows[0]["ts"] = "2024-03-01T09:00:00+00:00"  # aware: kept
    rows[1]["ts"] = "2024-03-01 10:30"  # naive Paris time (CET): 09:30 UTC
    rows[2]["ts"] = "Fri, 01 Mar 2024 10:00:00 +0000"  # RFC 2822
    good, _ = split(events(rows), tz="Europe/Paris")
    assert [t.strftime("%H:%M") for t in good["ts"]] == ["09:00", "09:30", "10:00"]


def test_dst_gap_and_overlap_with_tz() -> None:
    rows = good_rows()
    rows[1]["ts"] = "2024-03-31T02:30:00"  # does not exist in Paris (clocks jump 02:00 -> 03:00)
    rows[2]["ts"] = "2024-10-27T02:30:00"  # happens twice: the earlier (CEST, UTC+2) is taken
    good, rejected = split(events(rows), tz="Europe/Paris")
    assert rejected[["event_id", "reason"]].rows() == [(2, "bad_type")]
    assert good["ts"][1] == dt.datetime(2024, 10, 27, 0, 30, tzinfo=UTC)


def test_ts_format() -> None:
    frame = events(good_rows()).with_columns(
        ts=pl.Series(["01/03/2024 09:00", "01/03/2024 09:30", "01/03/2024 10:00"])
    )
    good, _ = split(frame, ts_format="%d/%m/%Y %H:%M", tz="UTC")
    assert good["ts"][2] == dt.datetime(2024, 3, 1, 10, tzinfo=UTC)
    with pytest.raises(SchemaError, match="naive_timestamp"):
        csm.EventLog.from_frame(frame, ts_format="%d/%m/%Y %H:%M").validate()


def test_aware_datetime_columns_of_any_unit_and_zone() -> None:
    clock = [dt.datetime(2024, 3, 1, 10, 0), dt.datetime(2024, 3, 1, 10, 30)]
    ts = pl.Series([*clock, dt.datetime(2024, 3, 1, 11)]).dt.replace_time_zone("Europe/Paris")
    for unit in ("ns", "us", "ms"):
        frame = events(good_rows()).with_columns(ts=ts.cast(pl.Datetime(unit, "Europe/Paris")))
        good, _ = split(frame)
        assert good.schema["ts"] == TS_DTYPE
        assert good["ts"][0] == dt.datetime(2024, 3, 1, 9, tzinfo=UTC)  # 10:00 CET


def test_good_frame_has_the_canonical_schema_and_pass_through_columns() -> None:
    frame = events(good_rows()).with_columns(region=pl.Series(["eu", "eu", None]))
    good, _ = split(frame)
    assert good.columns == [*CANONICAL_COLUMNS, "region"]
    assert good["region"].to_list() == ["eu", "eu", None]
    assert good.schema["comp_amount"] == pl.Float64
    assert good.schema["merged_into"] == good.schema["case_id"] == pl.Int64


def test_nan_in_optional_float_columns_is_null() -> None:
    frame = events(good_rows()).with_columns(handle_seconds=pl.Series([float("nan"), 60.0, None]))
    good, rejected = split(frame)
    assert rejected.height == 0
    assert good["handle_seconds"].to_list() == [None, 60.0, None]


def test_rejected_rows_are_unchanged() -> None:
    frame = events(good_rows()).with_columns(
        case_id=pl.Series([1.0, 1.5, 1.0]),
        channel=pl.Series([" Email ", "CHAT", "email"]),
        ts=pl.Series(["2024-03-01T09:00:00Z", "2024-03-01T11:30:00+02:00", "junk"]),
        is_public=pl.Series(["yes", "no", "perhaps"]),
        region=pl.Series([[1], [2, 3], []]),
    )
    _, rejected = split(frame)
    assert rejected.drop("reason", "reason_column").schema == frame.schema
    assert_frame_equal(rejected.drop("reason", "reason_column"), frame[1:])


def test_empty_frames() -> None:
    typed = events(good_rows()).clear()
    untyped = pl.DataFrame({c: [] for c in ("case_id", "customer_id", "channel", "ts",
                                            "event_type", "actor")})  # fmt: skip
    for frame in (typed, untyped):
        good, rejected = split(frame)
        assert (good.height, rejected.height) == (0, 0)
        assert good.schema["ts"] == TS_DTYPE
        assert csm.validate(frame).collect().height == 0


def test_annotate_is_lazy() -> None:
    def boom(s: pl.Series) -> pl.Series:
        raise RuntimeError("collected")

    raw = (
        events(good_rows())
        .lazy()
        .with_columns(pl.col("channel").map_batches(boom, return_dtype=pl.String))
    )
    annotated = annotate(raw)  # builds the plan only
    assert annotated.canonical[:7] == CANONICAL_COLUMNS[:7]
    with pytest.raises(RuntimeError, match="collected"):
        annotated.good().collect()


# properties -----------------------------------------------------------------------------------

ROW_KINDS: dict[str, tuple[dict[str, Any], str | None]] = {
    "good_message": ({"event_type": "message", "actor": "customer"}, None),
    "good_status": ({"event_type": "status_changed", "actor": "agent", "status": "open"}, None),
    "good_comp": ({"event_type": "comp_granted", "actor": "agent", "comp_amount": 5.0}, None),
    "bad_ts": ({"event_type": "message", "actor": "agent", "ts": "soon"}, "bad_type"),
    "bad_id": ({"event_type": "message", "actor": "agent", "case_id": 2.5}, "bad_type"),
    "null_case": ({"event_type": "message", "actor": "agent", "case_id": None}, "null_key"),
    "null_actor": ({"event_type": "message", "actor": None}, "null_key"),
    "teleport": ({"event_type": "teleport", "actor": "agent"}, "unknown_event_type"),
    "robot": ({"event_type": "message", "actor": "robot"}, "unknown_actor"),
    "no_status": ({"event_type": "status_changed", "actor": "agent"}, "missing_status"),
    "odd_status": ({"event_type": "note", "actor": "agent", "status": "meh"}, "unknown_status"),
    "minus_comp": ({"event_type": "comp_granted", "actor": "agent", "comp_amount": -1.0},
                   "bad_comp_amount"),
    "csat_9": ({"event_type": "csat", "actor": "customer", "csat_score": 9.0}, "bad_csat_score"),
    "merge_nowhere": ({"event_type": "merged", "actor": "agent"}, "missing_merge_target"),
    "in_1970": ({"event_type": "message", "actor": "agent", "ts": "1970-01-01T00:00:00Z"},
                "ts_out_of_range"),
    "repeat": ({}, "duplicate_event"),
}  # fmt: skip


@st.composite
def mixtures(draw: st.DrawFn) -> tuple[pl.DataFrame, list[str | None]]:
    """A frame of randomly mixed good and bad rows and the reason each row must get."""
    kinds = draw(st.lists(st.sampled_from(sorted(ROW_KINDS)), min_size=0, max_size=25))
    rows: list[dict[str, Any]] = []
    expected: list[str | None] = []
    goods: list[dict[str, Any]] = []
    for i, kind in enumerate(kinds):
        extra, reason = ROW_KINDS[kind]
        if kind == "repeat":
            if not goods:
                continue
            rows.append(dict(draw(st.sampled_from(goods))))
        else:
            ts = f"2024-03-01T09:{i:02d}:00Z"
            row = {"event_id": i, "case_id": 1, "customer_id": 7, "channel": "email", "ts": ts,
                   "status": None, "comp_amount": None, "csat_score": None, **extra}  # fmt: skip
            rows.append(row)
            if reason is None:
                goods.append(row)
        expected.append(reason)
    columns = ["event_id", "case_id", "customer_id", "channel", "ts", "event_type", "actor",
               "status", "comp_amount", "csat_score"]  # fmt: skip
    schema = {"event_id": pl.Int64, "case_id": pl.Float64, "customer_id": pl.Int64,
              "comp_amount": pl.Float64, "csat_score": pl.Float64}  # fmt: skip
    frame = pl.DataFrame(
        [{c: r.get(c) for c in columns} for r in rows],
        schema={c: schema.get(c, pl.String) for c in columns},
    )
    return frame, expected


@settings(deadline=None)
@given(mixtures(), st.randoms(use_true_random=False))
def test_split_conserves_rows_and_gives_each_row_its_reason(
    mixture: tuple[pl.DataFrame, list[str | None]], random: Any
) -> None:
    frame, expected = mixture
    good, rejected = split(frame)
    assert good.height + rejected.height == frame.height
    assert sorted(rejected["reason"].to_list()) == sorted(r for r in expected if r is not None)
    assert good.height == expected.count(None)
    assert good["event_id"].n_unique() == good.height
    # row order never matters
    order = list(range(frame.height))
    random.shuffle(order)
    good_shuffled, rejected_shuffled = split(frame[order])
    assert_frame_equal(good.sort("event_id"), good_shuffled.sort("event_id"))
    assert sorted(rejected_shuffled["reason"].to_list()) == sorted(rejected["reason"].to_list())
