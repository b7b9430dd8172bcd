"""Hostile and unusual inputs (issue 19): one test per class, each failing before the fix.

Nothing lost, nothing silently wrong: every input gives a correct result, a correct quarantine
(every row in the result or in the rejects, with a reason) or a specific error naming the file,
column or record and the fix. docs/guarantees.md lists each class with its test here.
"""

from __future__ import annotations

import datetime as dt
import gzip
import importlib.util
import itertools
import json
import pickle
import re
import time
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.strategies_pipeline import dirty_logs

import csmetrics as csm
from csmetrics.adapters._base import as_lazy_table
from csmetrics.adapters.xes import read_xes_table
from csmetrics.cli import main
from csmetrics.exceptions import AdapterError, CsMetricsWarning, PolicyError, SchemaError

HEADER = "case_id,customer_id,channel,ts,event_type,actor"
ROW = "{case},7,email,2024-03-01T09:{minute:02d}:00Z,{event},{actor}"


def rows_text(n: int, *, start: int = 1) -> list[str]:
    """``n`` valid CSV rows: case ``start + i // 2``, a creation then an agent reply."""
    out = []
    for i in range(n):
        event, actor = ("case_created", "customer") if i % 2 == 0 else ("message", "agent")
        out.append(ROW.format(case=start + i // 2, minute=i % 60, event=event, actor=actor))
    return out


def _sweep_module() -> Any:
    """``benchmarks/hostile_sweep.py``: its hostile inputs, and the helpers that write them."""
    path = Path(__file__).parent.parent / "benchmarks" / "hostile_sweep.py"
    spec = importlib.util.spec_from_file_location("hostile_sweep", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_SWEEP = _sweep_module()
write = _SWEEP.text  # write(path, lines, end="\n"): a text file of lines
canonical_frame = _SWEEP.frame  # n cases, each a customer's case_created and an agent reply


# -- silently wrong ------------------------------------------------------------------------------


def test_collect_checks_the_rules_like_every_public_function(tmp_path: Path) -> None:
    naive = write(tmp_path / "naive.csv", [HEADER, "1,7,email,2024-03-01 09:00,case_created,agent"])
    with pytest.raises(SchemaError, match=r"naive_timestamp.*naive\.csv.*tz="):
        csm.scan_events(naive).collect()  # was: an empty frame, no error
    lines = [HEADER, *rows_text(4), "3,7,email,soon,message,agent"]
    log = csm.scan_events(write(tmp_path / "bad.csv", lines))
    with pytest.raises(SchemaError) as info:
        log.collect()
    assert info.value.reason == "bad_type"
    assert "1 row(s)" in str(info.value)
    assert "quarantine" in str(info.value)
    assert log.collect(on_invalid="quarantine").height == 4  # the explicit opt-in
    assert log.rejected is not None
    assert log.rejected.collect().height == 1


def test_a_one_shot_arrow_stream_is_read_once() -> None:
    table = canonical_frame(3).to_arrow()
    volume = csm.compute(table.to_reader(), "volume").collect()  # was: volume 0
    assert volume["value"].item() == 3  # three cases, each created and answered
    assert csm.case_table(table.to_reader()).collect().height == 3
    pd = pytest.importorskip("pandas")
    frame = canonical_frame(1).to_pandas()
    assert csm.EventLog.from_frame(frame).collect()["channel"][0] == "email"
    frame["channel"] = "chat"  # a re-readable table is read afresh each time, never cached
    assert csm.EventLog.from_frame(frame).collect()["channel"][0] == "chat"
    assert isinstance(frame, pd.DataFrame)


@pytest.mark.parametrize("suffix", ["csv", "ndjson", "parquet"])
def test_an_existing_path_with_brackets_is_that_file(tmp_path: Path, suffix: str) -> None:
    literal, other = canonical_frame(1), canonical_frame(2)

    def save(frame: pl.DataFrame, name: str) -> Path:
        path = tmp_path / name
        if suffix == "parquet":
            frame.write_parquet(path)
        elif suffix == "csv":
            frame.write_csv(path)
        else:
            frame.write_ndjson(path)
        return path

    bracketed = save(literal, f"ev[1].{suffix}")
    save(other, f"ev1.{suffix}")  # what the glob [1] matches
    assert csm.scan_events(bracketed).collect().height == literal.height  # was: ev1's rows
    alone = save(other, f"only[2].{suffix}")
    assert csm.scan_events(alone).collect().height == other.height  # was: "no file matches"


def test_inferred_integer_ids_never_merge_distinct_text_ids(tmp_path: Path) -> None:
    # 10,002 integer ids (the inference sample is 10,000 rows), then "007" and "+7"
    lines = [HEADER, *rows_text(10_002, start=1)]
    lines += ["007,7,email,2024-03-01T10:00:00Z,case_created,customer"]
    lines += ["+7,7,email,2024-03-01T10:01:00Z,case_created,customer"]
    path = write(tmp_path / "ids.csv", lines)
    good, rejected = csm.scan_events(path).validate("split")
    bad = rejected.collect()
    assert bad["case_id"].to_list() == ["007", "+7"]  # was: both read as case 7
    assert set(bad["reason"]) == {"bad_type"}
    assert good.collect().filter(pl.col("case_id") == 7).height == 2  # case 7's own two rows
    as_text = csm.scan_events(path, id_dtype="string").collect()
    assert as_text.filter(pl.col("case_id").is_in(["7", "007", "+7"]))["case_id"].n_unique() == 3


@pytest.mark.parametrize(
    ("column", "event", "value"),
    [
        ("comp_amount", "comp_granted", "9.3e12"),  # one value >= 2**63 micro-units
        ("comp_amount", "message", "-9300000000000"),  # amounts on other events too
        ("handle_seconds", "message", "1e13"),
        ("csat_score", "message", "1e19"),
    ],
)
def test_values_whose_micro_units_overflow_are_value_out_of_range(
    tmp_path: Path, column: str, event: str, value: str
) -> None:
    lines = [f"{HEADER},{column}", "1,7,email,2024-03-01T09:00:00Z,case_created,customer,"]
    lines += [f"1,7,email,2024-03-01T09:05:00Z,{event},agent,{value}"]
    log = csm.scan_events(write(tmp_path / "big.csv", lines))
    with pytest.raises(SchemaError, match=f"value_out_of_range: column '{column}'.*9.2e12"):
        csm.case_table(log).collect()  # was: passed validation, then a raw Polars error
    table = csm.case_table(log, on_invalid="quarantine").collect()
    assert table["n_events"].to_list() == [1]  # the creation; the huge row is set aside
    assert log.rejected is not None
    assert log.rejected.collect()["reason"].to_list() == ["value_out_of_range"]


def test_a_format_with_a_zone_abbreviation_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "z.csv", [HEADER, "1,7,email,2024-03-01 09:00 EST,message,agent"])
    with pytest.raises(PolicyError, match=r"%Z.*EST.*%z.*tz="):
        csm.scan_events(path, ts_format="%Y-%m-%d %H:%M %Z")  # was: 09:00 UTC


def test_duplicate_column_names_are_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path / "dup.csv",
        [f"{HEADER},channel", "1,7,email,2024-03-01T09:00:00Z,message,agent,chat"],
    )
    with pytest.raises(SchemaError, match=r"dup\.csv.*\['channel'\] more than once"):
        csm.scan_events(path)  # was: channel_duplicated_0, silently


def test_an_ndjson_glob_reads_the_keys_of_every_file(tmp_path: Path) -> None:
    base = {"case_id": 1, "customer_id": 7, "channel": "email", "actor": "agent"}
    first = [{**base, "ts": "2024-03-01T09:00:00Z", "event_type": "case_created"}]
    second = [{**base, "ts": "2024-03-01T09:05:00Z", "event_type": "comp_granted"}]
    second[0]["comp_amount"] = 12.5
    for name, records in (("a.ndjson", first), ("b.ndjson", second)):
        (tmp_path / name).write_text("".join(json.dumps(r) + "\n" for r in records))
    frame = csm.scan_events(str(tmp_path / "*.ndjson")).collect()  # was: bad_comp_amount
    assert frame.sort("ts")["comp_amount"].to_list() == [None, 12.5]


# -- the command line: data loss and injection --------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["validate", "{input}", "--rejects", "{input}"],
        ["validate", "{glob}", "--rejects", "{input}"],
        ["report", "{input}", "--format", "csv", "-o", "{input}"],
        ["cases", "{input}", "--format", "csv", "-o", "{input}"],
        ["journeys", "{input}", "--issues", "{input}"],
        ["report", "{input}", "--on-invalid", "quarantine", "--rejects", "{input}"],
    ],
)
def test_the_cli_never_writes_over_an_input(
    tmp_path: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "in.csv"
    canonical_frame(2).write_csv(path)
    before = path.read_bytes()
    argv = [a.format(input=path, glob=tmp_path / "*.csv") for a in command]
    assert main(argv) == 1
    assert "is the input file" in capsys.readouterr().err
    assert path.read_bytes() == before  # was: overwritten (a 2-line file)


def test_a_missing_output_folder_fails_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "in.csv"
    canonical_frame(2).write_csv(path)
    started = time.perf_counter()
    assert main(["cases", str(path), "-o", str(tmp_path / "missing" / "c.parquet")]) == 1
    err = capsys.readouterr().err
    assert "does not exist" in err
    assert "nothing was computed" in err
    assert time.perf_counter() - started < 5


def test_csv_outputs_neutralise_formulas(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = canonical_frame(3).with_columns(
        pl.Series("team", ['=HYPERLINK("http://x")'] * 2 + ["@SUM(A1)"] * 2 + ["ops"] * 2)
    )
    path = tmp_path / "ev.parquet"
    frame.write_parquet(path)
    out = tmp_path / "report.csv"
    assert main(["report", str(path), "--by", "team", "--format", "csv", "-o", str(out)]) == 0
    teams = pl.read_csv(out, infer_schema=False)["team"].unique().sort().to_list()
    assert teams == ['\'=HYPERLINK("http://x")', "'@SUM(A1)", "ops"]  # OWASP: a leading '
    raw = tmp_path / "raw.csv"
    argv = ["report", str(path), "--by", "team", "--format", "csv", "-o", str(raw), "--csv-raw"]
    assert main(argv) == 0
    teams = pl.read_csv(raw, infer_schema=False)["team"].unique().sort().to_list()
    assert teams == ['=HYPERLINK("http://x")', "@SUM(A1)", "ops"]


@pytest.mark.parametrize("suffix", ["json", "csv", "parquet", "ndjson"])
def test_rejects_are_written_by_suffix_nested_columns_included(
    tmp_path: Path, suffix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = canonical_frame(2).with_columns(
        pl.Series("tags", [["a", "b"], [], ["c"], None]),
        pl.Series("event_type", ["case_created", "message", "teleport", "message"]),
    )
    path = tmp_path / "ev.parquet"
    frame.write_parquet(path)
    rejects = tmp_path / f"r.{suffix}"
    assert main(["validate", str(path), "--rejects", str(rejects)]) == 1  # one reject
    if suffix == "json":
        written = json.loads(rejects.read_text())  # was: CSV text in r.json
        assert [r["tags"] for r in written] == [["c"]]
    elif suffix == "ndjson":
        assert [json.loads(line)["tags"] for line in rejects.read_text().splitlines()] == [["c"]]
    elif suffix == "csv":
        assert pl.read_csv(rejects)["tags"].to_list() == ['["c"]']  # was: nested data error
    else:
        assert pl.read_parquet(rejects)["tags"].to_list() == [["c"]]


def test_cases_as_csv_writes_durations_as_seconds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ev.parquet"
    canonical_frame(2).write_parquet(path)
    out = tmp_path / "cases.csv"
    assert main(["cases", str(path), "--format", "csv", "-o", str(out)]) == 0  # was: exit 1
    table = pl.read_csv(out)
    # case 1: created 09:00, answered 09:05; case 2: created 09:10, answered 09:15
    assert table.sort("case_id")["first_response_time_seconds"].to_list() == [300.0, 300.0]


def test_journeys_reads_the_identity_file_its_help_describes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = pl.DataFrame(
        {
            "case_id": [1, 1, 2, 2],
            "customer_id": ["@ann", "@ann", "ann@example.com", "ann@example.com"],
            "channel": ["twitter", "twitter", "email", "email"],
            "ts": [dt.datetime(2024, 3, 1, h, tzinfo=dt.UTC) for h in (9, 10, 11, 12)],
            "event_type": ["case_created", "message"] * 2,
            "actor": ["customer", "agent"] * 2,
        }
    )
    events = tmp_path / "ev.parquet"
    frame.write_parquet(events)
    ids = write(
        tmp_path / "ids.csv",
        ["channel,handle,customer_id", "twitter,@ann,C1", "email,ann@example.com,C1"],
    )
    issues = tmp_path / "issues.parquet"
    argv = ["journeys", str(events), "--identity", str(ids), "--issues", str(issues)]
    assert main(argv) == 0  # was: always a missing_column error
    # the two cases are one customer within the 7-day window: one issue over two channels
    assert pl.read_parquet(issues).height == 1


# -- raw crashes and hangs ----------------------------------------------------------------------


def test_zones_polars_refuses_are_named(tmp_path: Path) -> None:
    path = write(tmp_path / "n.csv", [HEADER, "1,7,email,2024-03-01 09:00,case_created,agent"])
    with pytest.raises(PolicyError, match=r"'localtime'.*IANA"):
        csm.scan_events(path, tz="localtime")  # was: a raw Polars ComputeError at collect
    with pytest.raises(PolicyError, match="'localtime'"):
        csm.Policy(timezone="localtime")


def test_a_tweet_reusing_its_thread_roots_id_quarantines_that_thread(tmp_path: Path) -> None:
    def tweet(tid: str, author: str, inbound: bool, minute: int, parent: str | None) -> dict:
        return {
            "tweet_id": tid, "author_id": author, "inbound": inbound,
            "created_at": f"Tue Oct 31 10:{minute:02d}:00 +0000 2017",
            "text": "@brand hi" if inbound else "@c hi", "response_tweet_id": None,
            "in_response_to_tweet_id": parent,
        }  # fmt: skip

    rows = [
        tweet("1", "c1", True, 0, None), tweet("2", "brand", False, 5, "1"),
        # a reply loop 20 -> 22 -> 21 -> 20: tweet 20 "reuses" the id its thread starts from
        tweet("20", "c3", True, 10, "22"), tweet("21", "brand", False, 15, "20"),
        tweet("22", "c3", True, 20, "21"),
    ]  # fmt: skip
    path = tmp_path / "twcs.csv"
    pl.DataFrame(rows).write_csv(path)
    log = csm.scan_events(path, adapter="twitter")  # was: "reply chains too deep", refused
    good = log.collect(on_invalid="quarantine")
    assert log.rejected is not None
    rejected = log.rejected.collect()
    assert sorted(rejected["reason"].to_list()) == ["reply_cycle"] * 3
    assert good.filter(pl.col("event_type") == "message").height == 2  # tweets 1 and 2
    assert good.filter(pl.col("event_type") == "message").height + rejected.height == len(rows)


def test_ragged_csv_rows_are_rejected_with_a_reason(tmp_path: Path) -> None:
    lines = [HEADER, *rows_text(2), "5,7,email,2024-03-01T09:00:00Z,case_created,agent,extra"]
    path = write(tmp_path / "ragged.csv", lines)
    with pytest.raises(SchemaError, match=r"ragged_row.*ragged\.csv.*more fields than the header"):
        csm.scan_events(path).validate("raise")
    good, rejected = csm.scan_events(path).validate("split")  # was: a raw ComputeError
    assert good.collect().height == 2
    assert rejected.collect()["reason"].to_list() == ["ragged_row"]


@pytest.mark.parametrize("window", ["99999999999d", dt.timedelta(days=999_999_999)])
def test_an_absurd_journey_window_is_a_policy_error(window: object) -> None:
    with pytest.raises(PolicyError, match="at most 100 years"):
        csm.journeys(canonical_frame(2), window=window)  # type: ignore[arg-type]


def test_policies_and_reports_pickle() -> None:
    policy = csm.Policy.preset("zendesk", timezone="Europe/Paris")
    assert pickle.loads(pickle.dumps(policy)) == policy  # was: cannot pickle mappingproxy
    sla = csm.SlaPolicy.from_toml(Path(__file__).parent / "data" / "sla" / "support.toml")
    assert pickle.loads(pickle.dumps(sla)) == sla
    report = csm.Report(canonical_frame(3), policy=policy, period=None)
    copy = pickle.loads(pickle.dumps(report))
    assert copy.policy == policy
    assert copy.headline.frame.equals(report.headline.frame)


def test_deeply_nested_json_is_refused_before_schema_inference(tmp_path: Path) -> None:
    deep = "[" * 800 + "]" * 800
    record = {"case_id": 1, "customer_id": 7, "channel": "email", "event_type": "message",
              "ts": "2024-03-01T09:00:00Z", "actor": "agent", "topic": "__DEEP__"}  # fmt: skip
    text = json.dumps([record]).replace('"__DEEP__"', deep)
    path = tmp_path / "deep.json"
    path.write_text(text)  # 1.7 KB
    started = time.perf_counter()
    # 800 arrays inside the record's object inside the top-level array: 802 levels
    with pytest.raises(SchemaError, match="nested 802 levels deep"):
        csm.scan_events(path)  # was: 6.9 GB and 14 s of schema inference
    nd = tmp_path / "deep.ndjson"
    nd.write_text(json.dumps(record).replace('"__DEEP__"', deep) + "\n")
    with pytest.raises(SchemaError, match="nested 801 levels deep"):
        csm.scan_events(nd)
    with pytest.raises(AdapterError, match="nested more than 64 levels"):
        as_lazy_table(path)
    assert time.perf_counter() - started < 5


def test_a_huge_xes_attribute_is_refused_while_streaming(tmp_path: Path) -> None:
    value = "x" * (3 << 20)  # 3 MiB, over the 1 MiB bound
    text = (
        '<log><trace><string key="concept:name" value="1"/><event>'
        f'<string key="concept:name" value="{value}"/>'
        '<date key="time:timestamp" value="2012-10-09T14:50:17.000+02:00"/></event></trace></log>'
    )
    path = tmp_path / "huge.xes"
    path.write_text(text)
    started = time.perf_counter()
    with pytest.raises(AdapterError, match="longer than 1,048,576 bytes"):
        read_xes_table(path)
    assert time.perf_counter() - started < 5
    gz = tmp_path / "huge.xes.gz"
    gz.write_bytes(gzip.compress(text.encode()))
    with pytest.raises(AdapterError, match="longer than"):
        read_xes_table(gz)


# -- poor ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("end", ["\n\n", "\n\n\n", "\r\n\r\n"])
def test_trailing_blank_lines_are_not_rows(tmp_path: Path, end: str) -> None:
    path = write(tmp_path / "t.csv", [HEADER, *rows_text(2)], end=end)
    assert csm.scan_events(path).validate("raise").collect().height == 2  # was: null_key
    good, rejected = csm.scan_events(path).validate("split")
    assert (good.collect().height, rejected.collect().height) == (2, 0)


def test_a_dst_gap_hint_says_the_local_time_does_not_exist(tmp_path: Path) -> None:
    path = write(tmp_path / "gap.csv", [HEADER, "1,7,email,2024-03-31 02:30,case_created,agent"])
    with pytest.raises(SchemaError) as info:
        csm.scan_events(path, tz="Europe/Paris").collect()
    message = str(info.value)
    assert "'2024-03-31 02:30': clock time(s) that do not exist in Europe/Paris" in message
    assert "ISO 8601" not in message  # was: "must be ISO 8601"


def test_a_glob_of_files_that_disagree_names_them(tmp_path: Path) -> None:
    canonical_frame(1).with_columns(pl.lit("a").alias("topic")).write_parquet(
        tmp_path / "a.parquet"
    )
    canonical_frame(1).with_columns(pl.lit(["x"]).alias("topic")).write_parquet(
        tmp_path / "b.parquet"
    )
    with pytest.raises(SchemaError) as info:
        csm.scan_events(str(tmp_path / "*.parquet"))
    message = str(info.value)
    assert "'topic'" in message
    assert "a.parquet" in message
    assert "b.parquet" in message


def test_a_compressed_file_is_named_as_compressed(tmp_path: Path) -> None:
    path = tmp_path / "ev.csv"
    path.write_bytes(gzip.compress(f"{HEADER}\n{rows_text(1)[0]}\n".encode()))
    with pytest.raises(SchemaError, match=r"gzip-compressed.*decompress"):
        csm.scan_events(path)  # was: "re-encode from latin1"
    with pytest.raises(PolicyError, match="compressed"):
        csm.scan_events(tmp_path / "ev.csv.gz")


def test_two_customers_self_merges_and_merge_loops_are_warned_about() -> None:
    base = canonical_frame(4).with_columns(pl.lit(None, pl.Int64).alias("merged_into"))
    odd = pl.DataFrame(
        {
            "case_id": [1, 2, 3, 4],
            "customer_id": [8, 7, 7, 7],  # case 1 now has customers 7 and 8
            "channel": ["email"] * 4,
            "ts": [dt.datetime(2024, 3, 1, 10, m, tzinfo=dt.UTC) for m in range(4)],
            "event_type": ["message", "merged", "merged", "merged"],
            "actor": ["customer", "agent", "agent", "agent"],
            "merged_into": [None, 2, 4, 3],  # 2 into itself; 3 into 4 into 3
        }
    )
    log = csm.EventLog.from_frame(pl.concat([base, odd]))
    with pytest.warns(CsMetricsWarning) as caught:
        log.collect()
    message = str(caught[0].message)
    assert "1 case(s) name more than one customer_id" in message
    assert "1 merged event(s) merge a case into itself" in message
    assert "2 case(s) are merged in a loop" in message


def test_xes_events_outside_traces_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "log.xes"
    path.write_text(
        '<log><event><string key="concept:name" value="stray"/></event>'
        '<trace><string key="concept:name" value="1"/><event>'
        '<string key="concept:name" value="Closed"/>'
        '<date key="time:timestamp" value="2012-10-09T14:50:17.000+02:00"/></event></trace></log>'
    )
    with pytest.warns(CsMetricsWarning, match="1 <event> element"):
        table = read_xes_table(path)
    assert table.height == 1


# -- conservation over globs of mixed files and every CLI command that writes rejects ----------


def _write_parts(raw: pl.DataFrame, directory: Path, cuts: list[int], orders: list[int]) -> int:
    """Write ``raw`` as CSV files with different headers (column subsets and orders), plus a
    ragged line and trailing blank lines in some; returns the number of data lines written."""
    bounds = sorted({0, raw.height, *(c % (raw.height + 1) for c in cuts)})
    n_lines = 0
    text = raw.with_columns(pl.all().cast(pl.String))
    for i, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        part = text.slice(lo, hi - lo)
        keep = [c for c in part.columns if c in REQUIRED or part[c].null_count() < part.height]
        order = orders[i % len(orders)]
        columns = keep[order % len(keep) :] + keep[: order % len(keep)]
        body = part.select(columns).write_csv()
        if i % 2 == 1:  # one ragged line: more fields than the header
            body += ",".join(["9"] * (len(columns) + 1)) + "\n"
            n_lines += 1
        (directory / f"part{i:03d}.csv").write_text(body + ("\n\n" if i % 3 == 0 else ""))
        n_lines += part.height
    return n_lines


REQUIRED = ("case_id", "customer_id", "channel", "ts", "event_type", "actor")


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=dirty_logs(max_cases=4, max_bad=6),
    cuts=st.lists(st.integers(0, 200), max_size=3),
    orders=st.lists(st.integers(0, 10), min_size=1, max_size=3),
)
def test_globs_of_mixed_files_conserve_rows(
    tmp_path_factory: pytest.TempPathFactory, data: Any, cuts: list[int], orders: list[int]
) -> None:
    _, raw, _ = data
    directory = tmp_path_factory.mktemp("glob")
    n_lines = _write_parts(raw, directory, cuts, orders)
    good, rejected = csm.scan_events(str(directory / "*.csv")).validate("split")
    assert good.collect().height + rejected.collect().height == n_lines


@pytest.mark.parametrize("command", ["validate", "report"])
def test_every_cli_command_writing_rejects_conserves_rows(
    tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [HEADER, *rows_text(6), "9,7,email,soon,message,agent"]
    lines += ["9,7,email,2024-03-01T09:00:00Z,message,agent,extra", "9,7,,2024-03-01T09:00:00Z,x,y"]
    path = write(tmp_path / "ev.csv", lines, end="\n\n")
    rejects = tmp_path / "rejects.json"
    argv = [command, str(path), "--rejects", str(rejects)]
    if command == "report":
        argv += ["--on-invalid", "quarantine", "--format", "csv", "-o", str(tmp_path / "r.csv")]
    main(argv)
    captured = capsys.readouterr()
    written = json.loads(rejects.read_text())
    assert sorted(r["reason"] for r in written) == ["bad_type", "null_key", "ragged_row"]
    counts = f"6 valid events{' used' if command == 'report' else ''}, 3 rejected"
    assert counts in captured.out + captured.err  # 6 + 3 == the 9 data lines


# -- the sweep: benchmarks/hostile_sweep.py -----------------------------------------------------


# exact sums of values that each fit: the case table sums in Int128 micro-units (two 4.7e12
# comps once totalled -9.05e12)
WIDE_SUMS = ("comp_amount = 4.7e12", "handle_seconds = 5e12")


def test_the_sweep_handles_every_hostile_input() -> None:
    n, handled, failures = _sweep_module().sweep(quiet=True)
    assert n >= 60
    assert failures == []
    assert handled == n


def test_exact_sums_of_large_values_do_not_wrap() -> None:
    module = _sweep_module()
    checks = [check for name, check in module.CASES if name.startswith(WIDE_SUMS)]
    assert len(checks) == 2
    assert all(module._run_one(check)[0] for check in checks)


def test_html_labels_lose_bidi_and_control_characters() -> None:
    # a team named with a right-to-left override and a bell would reverse or garble the page
    frame = canonical_frame(2).with_columns(
        pl.Series("team", ["\u202eevil\u0007"] * 2 + ["ok"] * 2)
    )
    page = csm.Report(csm.EventLog.from_frame(frame), by="team").to_html()
    assert "\u202e" not in page
    assert "\u0007" not in page
    assert "evil" in page


class _BrokenValue:
    name, unit, kind, level = "broken_value", "ratio", "rate", "case"
    definition, docs, columns = "returns text", "x", ("merged",)

    def population(self, policy: object) -> pl.Expr:
        return pl.col("merged").not_()

    def value(self, policy: object) -> object:
        return "not an expression"


class _RaisingPopulation(_BrokenValue):
    name = "raising_population"

    def population(self, policy: object) -> pl.Expr:
        raise KeyError("no such column")


@pytest.mark.parametrize(
    ("metric", "words"),
    [
        (_BrokenValue(), re.escape("value(policy) returned str")),
        (_RaisingPopulation(), "raised KeyError"),
    ],
)
def test_a_broken_plugin_metric_names_itself(metric: object, words: str) -> None:
    log = csm.EventLog.from_frame(canonical_frame(2))
    with pytest.raises(csm.PluginError, match=words) as caught:
        csm.compute(log, metric).collect()
    assert metric.name in str(caught.value)  # type: ignore[attr-defined]
