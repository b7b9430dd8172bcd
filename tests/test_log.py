"""Reading event logs: :func:`csmetrics.scan_events` and :class:`csmetrics.EventLog`.

Every file format, and pandas / pyarrow / Arrow PyCapsule inputs, give the same validated frame
as a Polars frame; strings are normalised, ids keep their type; nothing is collected by reading;
bad files raise a :class:`SchemaError` naming the file.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import csmetrics as csm
from csmetrics.exceptions import PolicyError, SchemaError
from csmetrics.log import as_event_log
from csmetrics.schema import CANONICAL_COLUMNS, TS_DTYPE

UTC = dt.UTC


def raw_events() -> pl.DataFrame:
    """A small typed log touching every canonical column and a pass-through column."""
    ts = [dt.datetime(2024, 3, 1, 9, m, tzinfo=UTC) for m in (0, 5, 30, 40, 50, 55)]
    return pl.DataFrame(
        {
            "event_id": [1, 2, 3, 4, 5, 6],
            "case_id": [10, 10, 10, 10, 11, 11],
            "customer_id": [7, 7, 7, 7, 8, 8],
            "channel": ["email", "email", "email", "email", "twitter", "twitter"],
            "ts": pl.Series(ts, dtype=TS_DTYPE),
            "event_type": ["case_created", "message", "comp_granted", "status_changed",
                           "message", "merged"],
            "actor": ["customer", "agent", "agent", "agent", "customer", "system"],
            "is_public": [None, False, None, None, True, None],
            "status": [None, None, None, "solved", None, None],
            "agent_id": [None, "a1", "a1", "a1", None, None],
            "team": [None, "tier1", "tier1", None, None, None],
            "priority": ["high", None, None, None, None, None],
            "topic": ["billing", None, None, None, "outage", None],
            "comp_amount": [None, None, 12.5, None, None, None],
            "csat_score": [None, None, None, None, None, None],
            "handle_seconds": [None, 120.0, None, None, None, None],
            "merged_into": [None, None, None, None, None, 10],
            "region": ["eu", "eu", "eu", "eu", "us", "us"],
        },
        schema_overrides={"csat_score": pl.Float64},
    )  # fmt: skip


@pytest.fixture(scope="module")
def expected() -> pl.DataFrame:
    return csm.EventLog.from_frame(raw_events()).collect()


def write(frame: pl.DataFrame, path: Path, fmt: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    getattr(frame, f"write_{fmt}")(path)
    return path


def make_source(kind: str, tmp: Path) -> str | list[str]:
    frame = raw_events()
    if kind == "parquet":
        return str(write(frame, tmp / "events.parquet", "parquet"))
    if kind == "csv":
        return str(write(frame, tmp / "events.csv", "csv"))
    if kind == "tsv":
        path = tmp / "events.tsv"
        frame.write_csv(path, separator="\t")
        return str(path)
    if kind == "arrow":
        return str(write(frame, tmp / "events.arrow", "ipc"))
    if kind == "feather":
        return str(write(frame, tmp / "events.feather", "ipc"))
    if kind == "ndjson":
        return str(write(frame, tmp / "events.ndjson", "ndjson"))
    if kind == "json":
        return str(write(frame, tmp / "events.json", "json"))
    if kind == "glob":
        write(frame[:3], tmp / "part-0.parquet", "parquet")
        write(frame[3:], tmp / "part-1.parquet", "parquet")
        return str(tmp / "part-*.parquet")
    if kind == "csv glob":
        write(frame[:2], tmp / "part-0.csv", "csv")
        write(frame[2:], tmp / "part-1.csv", "csv")
        return str(tmp / "part-*.csv")
    if kind == "hive":
        for (channel,), part in frame.partition_by("channel", as_dict=True).items():
            write(
                part.drop("channel"), tmp / "hive" / f"channel={channel}" / "0.parquet", "parquet"
            )
        return str(tmp / "hive")
    if kind == "list":
        a = write(frame[:4], tmp / "a.parquet", "parquet")
        b = write(frame[4:], tmp / "b.csv", "csv")
        return [str(a), str(b)]
    raise AssertionError(kind)


FORMATS = ["parquet", "csv", "tsv", "arrow", "feather", "ndjson", "json", "glob", "csv glob",
           "hive", "list"]  # fmt: skip


@pytest.mark.parametrize("kind", FORMATS)
def test_each_format_gives_the_same_validated_frame(
    kind: str, tmp_path: Path, expected: pl.DataFrame
) -> None:
    log = csm.scan_events(make_source(kind, tmp_path))
    good, rejected = log.validate("split")
    assert rejected.collect().height == 0
    got = good.collect()
    assert got.columns == [*CANONICAL_COLUMNS, "region"]
    assert_frame_equal(got.sort("event_id"), expected.sort("event_id"))


def test_pandas_input_gives_the_same_frame(expected: pl.DataFrame) -> None:
    pd = pytest.importorskip("pandas")
    frame = raw_events().to_pandas()
    assert isinstance(frame, pd.DataFrame)
    assert_frame_equal(csm.EventLog.from_frame(frame).collect(), expected)
    arrow_backed = raw_events().to_pandas(use_pyarrow_extension_array=True)
    assert_frame_equal(csm.EventLog.from_frame(arrow_backed).collect(), expected)


def test_pandas_ints_with_nan_and_mixed_zones() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(
        {
            "case_id": [1, 1, 2],
            "customer_id": [7, None, 8],  # float64 with NaN, as pandas stores it
            "channel": ["email", "email", "chat"],
            "ts": [
                pd.Timestamp("2024-03-01 10:00", tz="Europe/Paris"),  # 09:00 UTC
                pd.Timestamp("2024-03-01 09:30", tz="UTC"),
                pd.Timestamp("2024-03-01 04:00", tz="America/New_York"),  # 09:00 UTC
            ],
            "event_type": ["case_created", "message", "case_created"],
            "actor": ["customer", "agent", "customer"],
        }
    )
    good, rejected = csm.validate(frame, mode="split")
    got = good.collect()
    assert got["customer_id"].to_list() == [7, 8]
    assert got.schema["customer_id"] == pl.Int64
    assert got["ts"].to_list() == [dt.datetime(2024, 3, 1, 9, tzinfo=UTC)] * 2
    assert rejected.collect()[["reason", "reason_column"]].rows() == [("null_key", "customer_id")]


def test_arrow_inputs_give_the_same_frame(expected: pl.DataFrame) -> None:
    pa = pytest.importorskip("pyarrow")
    table = raw_events().to_arrow()
    assert_frame_equal(csm.EventLog.from_frame(table).collect(), expected)
    batch = table.to_batches()[0]
    assert_frame_equal(csm.EventLog.from_frame(batch).collect(), expected)

    class Capsule:  # any object exporting the Arrow PyCapsule stream interface
        def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
            return table.__arrow_c_stream__(requested_schema)  # type: ignore[no-untyped-call]

    assert_frame_equal(csm.EventLog.from_frame(Capsule()).collect(), expected)
    assert isinstance(table, pa.Table)


def test_lazy_and_eager_polars_inputs_agree(expected: pl.DataFrame) -> None:
    assert_frame_equal(csm.EventLog.from_frame(raw_events().lazy()).collect(), expected)
    assert_frame_equal(csm.scan_events(raw_events()).collect(), expected)
    assert_frame_equal(as_event_log(raw_events()).collect(), expected)


def test_reading_collects_nothing() -> None:
    def boom(s: pl.Series) -> pl.Series:
        raise RuntimeError("collected")

    lazy = (
        raw_events().lazy().with_columns(pl.col("topic").map_batches(boom, return_dtype=pl.String))
    )
    log = csm.EventLog.from_frame(lazy)  # schema only
    assert log.columns[:3] == ["event_id", "case_id", "customer_id"]
    with pytest.raises(RuntimeError, match="collected"):
        log.frame.collect()


def test_strings_are_normalised_and_ids_kept() -> None:
    frame = raw_events().with_columns(
        channel=pl.Series([" Email", "EMAIL ", "email", "eMail", " Twitter ", "twitter"]),
        event_type=pl.col("event_type").str.to_uppercase(),
        case_id=pl.Series(["007", "007", "007", "007", "A-11", "A-11"]),
        merged_into=pl.Series([None, None, None, None, None, "007"]),
        agent_id=pl.Series([None, " A1 ", None, None, None, None]),
    )
    got = csm.EventLog.from_frame(frame).collect()
    assert got["channel"].to_list() == ["email"] * 4 + ["twitter"] * 2
    assert got["event_type"][0] == "case_created"
    assert got["case_id"].to_list() == ["007"] * 4 + ["A-11"] * 2  # text ids stay text
    assert got.schema["merged_into"] == pl.String  # merged_into follows case_id
    assert got["agent_id"][1] == " A1 "  # other strings pass unchanged
    assert got.schema["event_id"] == pl.Int64


def test_integer_looking_text_ids_stay_text_in_typed_frames() -> None:
    frame = raw_events().with_columns(pl.col("case_id").cast(pl.String))
    assert csm.EventLog.from_frame(frame).collect().schema["case_id"] == pl.String
    inferred = csm.EventLog.from_frame(frame, id_dtype="infer").collect()
    assert inferred.schema["case_id"] == inferred.schema["merged_into"] == pl.Int64


def test_csv_ids_are_inferred_from_text(tmp_path: Path) -> None:
    path = tmp_path / "ids.csv"
    frame = raw_events().with_columns(
        customer_id=pl.Series(["0007", "0007", "0007", "0007", "0008", "0008"]),
        event_id=pl.col("event_id").cast(pl.Float64),  # written as 1.0, 2.0 …
    )
    frame.write_csv(path)
    got = csm.scan_events(path).collect()
    assert got.schema["customer_id"] == pl.String  # leading zeros: kept as text
    assert got["customer_id"][0] == "0007"
    assert got.schema["event_id"] == pl.Int64
    assert got["event_id"].to_list() == [1, 2, 3, 4, 5, 6]
    assert got.schema["case_id"] == got.schema["merged_into"] == pl.Int64


def test_non_integer_id_after_the_sample(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the globals scan_events really uses (robust to the module being imported twice)
    monkeypatch.setitem(csm.scan_events.__globals__, "_SAMPLE_ROWS", 3)
    path = tmp_path / "ids.csv"
    raw_events().with_columns(
        case_id=pl.Series(["10", "10", "10", "10", "X11", "X11"]),
        merged_into=pl.Series([None, None, None, None, None, "10"]),
    ).write_csv(path)
    with pytest.raises(SchemaError, match="id_dtype='string'") as info:
        csm.scan_events(path).validate()
    assert (info.value.reason, info.value.column, info.value.n_rows) == ("bad_type", "case_id", 2)
    got = csm.scan_events(path, id_dtype="string").collect()
    assert got["case_id"].to_list() == ["10"] * 4 + ["X11"] * 2
    assert got["merged_into"][5] == "10"


def test_id_dtype_forces_types() -> None:
    as_text = csm.EventLog.from_frame(raw_events(), id_dtype="string").collect()
    assert {as_text.schema[c] for c in ("event_id", "case_id", "customer_id", "merged_into")} == {
        pl.String
    }
    assert as_text["case_id"][0] == "10"
    mixed = csm.EventLog.from_frame(raw_events(), id_dtype={"customer_id": "string"}).collect()
    assert (mixed.schema["customer_id"], mixed.schema["case_id"]) == (pl.String(), pl.Int64())
    as_int = csm.EventLog.from_frame(
        raw_events().with_columns(pl.col("case_id").cast(pl.String)), id_dtype="int"
    ).collect()
    assert as_int.schema["case_id"] == pl.Int64


@pytest.mark.parametrize("id_dtype", ["float", {"ticket": "int"}, {"case_id": "float"}, 3])
def test_bad_id_dtype(id_dtype: Any) -> None:
    with pytest.raises(PolicyError, match="id_dtype"):
        csm.EventLog.from_frame(raw_events(), id_dtype=id_dtype)


# EventLog API ---------------------------------------------------------------------------------


def test_checked_and_trusted() -> None:
    frame = raw_events().with_columns(
        actor=pl.Series(["customer", "agent", "robot", "agent", "customer", "system"])
    )
    log = csm.EventLog.from_frame(frame)
    with pytest.raises(SchemaError, match="unknown_actor"):
        log.checked()
    quarantined = log.checked("quarantine")
    assert quarantined.collect().height == 5
    assert quarantined.rejected is not None
    assert quarantined.rejected.collect()["reason"].to_list() == ["unknown_actor"]
    with pytest.raises(PolicyError, match="on_invalid"):
        log.checked("drop")  # type: ignore[arg-type]
    trusted = csm.EventLog.trusted(quarantined.collect())
    good, rejected = trusted.validate("split")
    assert good.collect().height == 5
    assert rejected.collect().columns[-2:] == ["reason", "reason_column"]
    assert trusted.validate().collect().height == 5


def test_event_log_is_frozen() -> None:
    log = csm.EventLog.from_frame(raw_events())
    with pytest.raises(AttributeError):
        log.source = "x"  # type: ignore[misc]


# bad paths and arguments -------------------------------------------------------------------


def test_unknown_suffix(tmp_path: Path) -> None:
    path = tmp_path / "events.xlsx"
    path.write_bytes(b"PK")
    with pytest.raises(PolicyError, match="format="):
        csm.scan_events(path)


def test_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match=r"nope\.parquet.*no file matches"):
        csm.scan_events(tmp_path / "nope.parquet")


def test_empty_folder_and_non_parquet_folder(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match=r"no \.parquet file"):
        csm.scan_events(tmp_path)
    with pytest.raises(PolicyError, match="glob"):
        csm.scan_events(tmp_path, format="csv")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"format": "xlsx"}, "format"),
        ({"encoding": "latin1"}, "encoding"),
        ({"tz": "Europe/Pariss"}, "IANA"),
    ],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict[str, Any], match: str) -> None:
    path = write(raw_events(), tmp_path / "events.csv", "csv")
    with pytest.raises(PolicyError, match=match):
        csm.scan_events(path, **kwargs)


def test_empty_list_of_paths() -> None:
    with pytest.raises(PolicyError, match="empty list"):
        csm.scan_events([])


def test_format_overrides_the_suffix(tmp_path: Path, expected: pl.DataFrame) -> None:
    path = tmp_path / "events.data"
    raw_events().write_parquet(path)
    assert_frame_equal(csm.scan_events(path, format="parquet").collect(), expected)
    with pytest.raises(SchemaError, match=r"events\.data.*as csv"):
        csm.scan_events(path, format="csv")  # Parquet bytes are not UTF-8 text


def test_bad_bytes_after_the_first_mib_surface_as_schema_error(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    row = "1,7,email,2024-03-01T09:00:00Z,message,customer,{topic}\n"
    lines = [row.format(topic=f"topic {i}") for i in range(30_000)]  # ~1.5 MB
    body = "case_id,customer_id,channel,ts,event_type,actor,topic\n" + "".join(lines)
    path.write_bytes(body.encode() + row.format(topic="caf\xe9").encode("latin-1"))
    log = csm.scan_events(path, check_duplicates=False)  # only the first MiB is checked here
    with pytest.raises(SchemaError, match=r"big\.csv.*utf8-lossy"):
        log.validate()
    with pytest.raises(SchemaError, match="utf8-lossy"):
        log.collect()
    lossy = csm.scan_events(path, encoding="utf8-lossy", check_duplicates=False).collect()
    assert lossy.height == 30_001
    assert lossy["topic"][-1] == "caf\ufffd"


def test_path_like_and_str_agree(tmp_path: Path, expected: pl.DataFrame) -> None:
    path = write(raw_events(), tmp_path / "events.parquet", "parquet")
    assert_frame_equal(csm.scan_events(os.fspath(path)).collect(), expected)
    assert_frame_equal(csm.scan_events(path).collect(), expected)
    assert_frame_equal(as_event_log(path).collect(), expected)
