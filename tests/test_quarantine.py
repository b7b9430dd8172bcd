"""Quarantine mode end to end: ``good + rejected == input`` on every path, nothing dropped.

Paths: an in-memory frame (hypothesis, every rule of DESIGN §2.3 broken at random), files of
every text and binary format, a glob of files, an adapter with source records it cannot map,
a trusted log, ``case_table``, ``validate(mode="split")``, and the command line.
"""

from __future__ import annotations

import collections
import contextlib
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from polars.testing import assert_frame_equal
from tests.strategies_pipeline import CORRUPTIONS, dirty_logs, to_raw

import csmetrics as csm
from csmetrics.cli import main
from csmetrics.quarantine import Quarantined, compute_quarantined, quarantine
from csmetrics.validate import REASONS

Dirty = tuple[pl.DataFrame, pl.DataFrame, list[str]]


def tidy(frame: pl.LazyFrame | pl.DataFrame) -> pl.DataFrame:
    """A compute result in one fixed row order."""
    out = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
    return out.sort(out.columns, nulls_last=True)


def assert_conserved(q: Quarantined, n_input: int) -> None:
    """Every input row is a valid event or a reject; the counts say the same."""
    n_good, n_rejected = q.n_good, q.n_rejected
    assert n_good + n_rejected == n_input == q.n_input
    counts = q.counts()
    assert counts["n"].sum() == n_rejected
    assert counts.columns == ["reason", "reason_column", "n"]
    assert counts["n"].is_sorted(descending=True)
    rejected = q.rejected.collect()
    assert rejected["reason"].null_count() == 0
    assert rejected["reason_column"].null_count() == 0


# -- in memory, every rule (hypothesis) ----------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(dirty_logs())
def test_quarantine_conserves_rows_and_computes_from_the_good_ones(dirty: Dirty) -> None:
    clean, raw, reasons = dirty
    q = compute_quarantined(raw, by="channel")
    assert_conserved(q, raw.height)
    assert q.n_rejected == len(reasons)
    assert sorted(q.rejected.collect()["reason"].to_list()) == sorted(reasons)
    pairs = q.rejected.collect().select("reason", "reason_column").rows()
    assert {(r, c): n for r, c, n in q.counts().rows()} == dict(collections.Counter(pairs))
    # the result is exactly the result of the clean log: the bad rows changed nothing
    expected = csm.compute(csm.EventLog.from_frame(clean), by="channel")
    assert_frame_equal(tidy(q.result), tidy(expected))


@settings(max_examples=30, deadline=None)
@given(dirty_logs())
def test_validate_split_conserves_rows(dirty: Dirty) -> None:
    clean, raw, reasons = dirty
    good, rejected = csm.validate(raw, mode="split")
    good_rows, rejected_rows = good.collect(), rejected.collect()
    assert good_rows.height + rejected_rows.height == raw.height
    assert sorted(rejected_rows["reason"].to_list()) == sorted(reasons)
    expected = csm.EventLog.from_frame(clean).collect()
    assert_frame_equal(good_rows.sort("event_id"), expected.sort("event_id"))
    # rejected rows are the input rows unchanged (plus the reason columns)
    assert rejected_rows.drop("reason", "reason_column").columns == raw.columns


@settings(max_examples=20, deadline=None)
@given(dirty_logs())
def test_case_table_in_quarantine_counts_every_good_event(dirty: Dirty) -> None:
    clean, raw, reasons = dirty
    log = csm.EventLog.from_frame(raw)
    with pytest.raises(csm.SchemaError) if reasons else contextlib.nullcontext():
        csm.case_table(log).collect()
    table = csm.case_table(log, on_invalid="quarantine").collect()
    # as_of defaults to the latest valid event, so every valid event is counted once
    assert table["n_events"].sum() == clean.height
    assert table.height == clean["case_id"].n_unique()


def test_every_corruption_is_exercised() -> None:
    """The strategy breaks every per-row rule of DESIGN §2.3 (R1 and R3 are whole-frame)."""
    reasons = {reason for _, reason in CORRUPTIONS.values()}
    # ragged_row is a CSV line with more fields than its header: a frame cannot have one
    per_row = set(REASONS) - {"missing_column", "naive_timestamp", "ragged_row"}
    assert reasons == per_row


# -- files, globs, adapters, trusted logs ------------------------------------------------------


@pytest.fixture(scope="module")
def dirty_frame() -> tuple[pl.DataFrame, int]:
    """60 simulated cases in raw form plus one broken copy per corruption: (raw, n bad)."""
    clean = to_raw(csm.datasets.simulate_frame(n_cases=60, seed=11))
    rows = clean.to_dicts()
    bad = []
    for i, name in enumerate(sorted(CORRUPTIONS)):
        corrupt, _ = CORRUPTIONS[name]
        row = corrupt(rows[(7 * i) % len(rows)])
        if name != "repeat":
            row["event_id"] = 900_000 + i
        bad.append(row)
    raw = pl.concat([clean, pl.DataFrame(bad, schema=clean.schema)]).sample(
        fraction=1.0, shuffle=True, seed=3
    )
    return raw, len(bad)


def _write(raw: pl.DataFrame, folder: Path, fmt: str) -> list[Path]:
    if fmt == "csv":
        path = folder / "events.csv"
        raw.write_csv(path)
    elif fmt == "ndjson":
        path = folder / "events.ndjson"
        raw.write_ndjson(path)
    elif fmt == "parquet":
        path = folder / "events.parquet"
        raw.write_parquet(path)
    elif fmt == "ipc":
        path = folder / "events.arrow"
        raw.write_ipc(path)
    else:  # three parquet parts read through a glob
        parts = [raw[i::3] for i in range(3)]
        for i, part in enumerate(parts):
            part.write_parquet(folder / f"part-{i}.parquet")
        return [folder / "part-*.parquet"]
    return [path]


@pytest.mark.parametrize("fmt", ["csv", "ndjson", "parquet", "ipc", "glob"])
def test_files_of_every_format_conserve_rows(
    dirty_frame: tuple[pl.DataFrame, int], tmp_path: Path, fmt: str
) -> None:
    raw, n_bad = dirty_frame
    (path,) = _write(raw, tmp_path, fmt)
    log = csm.scan_events(path)
    q = compute_quarantined(log, ["volume", "first_response_time"], by="channel")
    assert_conserved(q, raw.height)
    assert q.n_rejected == n_bad
    assert set(q.counts()["reason"]) == {reason for _, reason in CORRUPTIONS.values()}
    in_memory = compute_quarantined(raw, ["volume", "first_response_time"], by="channel")
    assert_frame_equal(tidy(q.result), tidy(in_memory.result))


def test_adapter_source_rejects_are_counted(tmp_path: Path) -> None:
    """tickets.csv through the mapping adapter, with two actions no table maps."""
    source = Path(__file__).parent / "data" / "adapters"
    lines = (source / "tickets.csv").read_text().splitlines()
    n_records = len(lines) - 1
    extra = [lines[1].replace("Opened", "Teleported"), lines[2].replace("Replied", "Danced")]
    path = tmp_path / "tickets.csv"
    path.write_text("\n".join([*lines, *extra]) + "\n")
    options = {"config": source / "tickets.toml"}
    log = csm.scan_events(path, adapter="mapping", options=options)
    with pytest.raises(csm.AdapterError, match="unmapped_value"):
        csm.compute(log).collect()
    q = compute_quarantined(log, "volume")
    # every source record is one event here: mapped (valid or not) or unmapped
    assert_conserved(q, n_records + 2)
    before = compute_quarantined(
        csm.scan_events(source / "tickets.csv", adapter="mapping", options=options), "volume"
    )
    assert_conserved(before, n_records)

    def unmapped(q: Quarantined) -> dict[str, int]:
        rows = q.counts().filter(pl.col("reason") == "unmapped_value").rows()
        return {column: n for _, column, n in rows}

    # the original file has unmapped values of its own; the two new actions add to them
    grown = {c: unmapped(q)[c] - unmapped(before).get(c, 0) for c in unmapped(q)}
    assert {c: n for c, n in grown.items() if n} == {"action": 2}
    assert q.n_good == before.n_good


def test_trusted_log_has_nothing_to_reject() -> None:
    frame = csm.datasets.simulate_frame(n_cases=20, seed=2)
    q = compute_quarantined(csm.EventLog.trusted(frame), "volume")
    assert_conserved(q, frame.height)
    assert q.n_rejected == 0
    assert q.counts().height == 0
    assert q.counts().schema == pl.Schema(
        {"reason": pl.String, "reason_column": pl.String, "n": pl.UInt32}
    )


def test_quarantine_function_returns_the_checked_log() -> None:
    raw = pl.DataFrame(
        {"case_id": [1, 1], "customer_id": [7, 7], "channel": ["email", "email"],
         "ts": ["2024-03-01T09:00:00Z", "2024-03-01T09:30:00Z"],
         "event_type": ["case_created", "teleport"], "actor": ["customer", "agent"]}
    )  # fmt: skip
    checked, rejected, n_input = quarantine(raw)
    assert n_input == 2
    assert checked.frame.collect().height == 1
    assert rejected.collect()["reason"].to_list() == ["unknown_event_type"]
    # the checked log raises no more: it holds valid events only
    assert csm.case_table(checked).collect()["n_events"].item() == 1


def test_whole_frame_errors_still_raise() -> None:
    naive = pl.DataFrame(
        {"case_id": [1], "customer_id": [7], "channel": ["email"], "ts": ["2024-03-01 09:00"],
         "event_type": ["case_created"], "actor": ["customer"]}
    )  # fmt: skip
    with pytest.raises(csm.SchemaError, match="naive_timestamp"):
        compute_quarantined(naive)
    with pytest.raises(csm.SchemaError, match="missing_column"):
        compute_quarantined(naive.drop("actor"))


def test_on_invalid_raise_is_refused() -> None:
    log = csm.testing.log_from_rows([("09:00", "case_created", "customer")])
    with pytest.raises(csm.PolicyError, match="on_invalid"):
        compute_quarantined(log, on_invalid="raise")


def test_compute_arguments_pass_through() -> None:
    log = csm.datasets.simulate_frame(n_cases=40, seed=5)
    kwargs: dict[str, Any] = {"by": "channel", "period": "day", "quantiles": (0.25, 0.75)}
    q = compute_quarantined(log, ["first_response_time"], **kwargs)
    direct = csm.compute(log, ["first_response_time"], **kwargs)
    assert_frame_equal(tidy(q.result), tidy(direct))
    assert "p25" in q.result.collect_schema().names()


# -- command line -----------------------------------------------------------------------------


def test_cli_report_prints_counts_and_writes_rejects(
    dirty_frame: tuple[pl.DataFrame, int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw, n_bad = dirty_frame
    events = tmp_path / "events.parquet"
    raw.write_parquet(events)
    rejects = tmp_path / "rejects.csv"
    assert main(["report", str(events), "--by", "channel"]) == 1  # raise mode: exit 1
    capsys.readouterr()
    code = main(
        ["report", str(events), "--on-invalid", "quarantine", "--rejects", str(rejects),
         "--format", "csv", "-o", str(tmp_path / "report.csv")]
    )  # fmt: skip
    assert code == 0
    err = capsys.readouterr().err
    n_good = raw.height - n_bad
    assert f"{n_good} valid events used, {n_bad} rejected" in err
    written = pl.read_csv(rejects, infer_schema=False)
    assert written.height == n_bad
    assert n_good + written.height == raw.height


def test_cli_validate_prints_counts_per_reason(
    dirty_frame: tuple[pl.DataFrame, int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw, n_bad = dirty_frame
    events = tmp_path / "events.parquet"
    raw.write_parquet(events)
    rejects = tmp_path / "rejects.parquet"
    assert main(["validate", str(events), "--rejects", str(rejects)]) == 1
    out = capsys.readouterr().out
    assert f"{raw.height - n_bad} valid events, {n_bad} rejected" in out
    for reason in {reason for _, reason in CORRUPTIONS.values()}:
        assert reason in out
    assert pl.read_parquet(rejects).height == n_bad
