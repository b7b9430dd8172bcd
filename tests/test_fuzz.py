"""Fuzzing the readers and adapters: bad input gives a csmetrics error, never a crash or a hang.

Every example reads its input, validates it (split), collects the good and the rejected rows
and builds the case table in quarantine mode. The only exceptions allowed out are
:class:`csmetrics.CsMetricsError` subclasses: any other exception (a Polars or pyarrow error,
a ``KeyError``, a Rust panic) fails the test. Each example runs under an alarm (a hang fails
it) and a hypothesis deadline.

Inputs: random bytes and structured text (CSV, NDJSON, JSON) for :func:`csmetrics.scan_events`
in every format, valid Parquet/Arrow files with bytes flipped, frames of random dtypes for
:meth:`EventLog.from_frame`, and, for each built-in adapter, its test files with values
replaced, rows and keys dropped or duplicated (structure-aware mutation) or random bytes.
A longer coverage-guided run (atheris) lives in ``benchmarks/fuzz_atheris.py``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from tests.strategies_pipeline import (
    REQUIRED,
    csv_texts,
    json_values,
    mixed_frames,
    mutated_csv,
    mutated_json,
    ndjson_text,
)

import csmetrics as csm
from csmetrics.adapters import BUILTINS
from csmetrics.engines import collect
from csmetrics.exceptions import CsMetricsError
from csmetrics.quarantine import quarantine

# mutated sources may well leave authors' roles unknown or start threads with a brand: the
# adapters' AdapterWarnings say so, which is right; here only errors matter
pytestmark = pytest.mark.filterwarnings("ignore::csmetrics.exceptions.AdapterWarning")

DATA = Path(__file__).parent / "data"
ALARM_SECONDS = 30
FUZZ = settings(
    deadline=dt.timedelta(seconds=10),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class HangError(Exception):
    """An example ran past the alarm."""


@contextlib.contextmanager
def alarm(seconds: int = ALARM_SECONDS) -> Iterator[None]:
    """Raise :class:`HangError` if the block runs longer than ``seconds`` (checked when Python
    code runs again: a call stuck in native code is reported when it returns)."""

    def ring(signum: int, frame: object) -> None:
        raise HangError(f"the example ran past {seconds} s")

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def through_the_pipeline(read: Callable[[], csm.EventLog], *, known: bool = True) -> None:
    """Read, check, quarantine, collect and build the case table.

    Only csmetrics errors may escape, and every row read is a valid event or a reject.
    ``known=False`` lets even the known bugs fail the example.
    """
    log: csm.EventLog | None = None
    with alarm():
        try:
            log = read()
            checked, rejected, n_input = quarantine(log)
            with warnings.catch_warnings():  # fuzzed data may hold legal oddities
                warnings.simplefilter("ignore", csm.CsMetricsWarning)  # two customers …
                n_good = checked.collect().height  # EventLog.collect names an unreadable source
            n_rejected = collect(rejected).height
            cases = collect(csm.case_table(checked))
        except CsMetricsError as exc:
            message = str(exc).strip()
            if not message:
                raise AssertionError("a csmetrics error must say what is wrong") from exc
            return
        except Exception as exc:
            if known and known_bug(exc, log):
                reject()  # reported; it has a strict-xfail test below
            raise
    assert n_good + n_rejected == n_input
    assert cases["n_events"].sum() <= n_good


def known_bug(exc: Exception, log: csm.EventLog | None) -> bool:
    """Escapes reported to the lead, held by a strict-xfail test in this file."""
    if log is None:
        return False
    # test_binary_text_column_with_invalid_utf8_is_an_error
    return isinstance(exc, pl.exceptions.ComputeError) and "utf8" in str(exc).lower()


_ONE_EVENT = {"case_id": [1], "customer_id": [1], "channel": ["email"],
              "ts": ["2024-03-01T09:00:00Z"], "event_type": ["case_created"],
              "actor": ["customer"]}  # fmt: skip


def test_pass_through_name_clash_is_no_polars_error() -> None:
    """A pass-through column named like a case-table column (here ``merged``) keeps its value
    beside the case table's own column (renamed), or is a csmetrics error: never a Polars one."""
    frame = pl.DataFrame({**_ONE_EVENT, "merged": ["x"]})
    with contextlib.suppress(CsMetricsError):
        table = csm.case_table(frame).collect()
        assert table.schema["merged"] == pl.Boolean
        assert "x" in table.row(0)


@pytest.mark.xfail(strict=True, reason="bug: Binary text column with invalid UTF-8")
def test_binary_text_column_with_invalid_utf8_is_an_error() -> None:
    """A Binary ``channel`` holding invalid UTF-8 must be a csmetrics error (``bad_type``)
    or a reject, not a Polars ComputeError."""
    frame = pl.DataFrame({**_ONE_EVENT, "channel": [b"\xe4\xff"]})
    with contextlib.suppress(CsMetricsError):
        _, rejected = csm.EventLog.from_frame(frame).validate("split")
        assert rejected.collect()["reason"].to_list() == ["bad_type"]


# -- scan_events: files of every format ----------------------------------------------------------

SUFFIXES = {"csv": ".csv", "ndjson": ".ndjson", "json": ".json", "parquet": ".parquet",
            "ipc": ".arrow"}  # fmt: skip


def _write(tmp: Path, suffix: str, data: bytes | str) -> Path:
    path = tmp / f"events{suffix}"
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


@FUZZ
@given(data=st.binary(max_size=400), fmt=st.sampled_from(sorted(SUFFIXES)))
def test_scan_events_on_random_bytes(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, fmt: str
) -> None:
    path = _write(tmp_path_factory.mktemp("bytes"), SUFFIXES[fmt], data)
    through_the_pipeline(lambda: csm.scan_events(path))


@FUZZ
@given(text=csv_texts(), tz=st.sampled_from((None, "UTC", "Europe/Paris")))
def test_scan_events_on_csv_text(
    tmp_path_factory: pytest.TempPathFactory, text: str, tz: str | None
) -> None:
    path = _write(tmp_path_factory.mktemp("csv"), ".csv", text)
    through_the_pipeline(lambda: csm.scan_events(path, tz=tz))


_RECORDS = st.lists(
    st.one_of(
        st.fixed_dictionaries({k: json_values(3) for k in REQUIRED}),
        st.dictionaries(st.sampled_from((*REQUIRED, "status", "event_id")), json_values(3)),
        json_values(4),
    ),
    max_size=5,
)


@FUZZ
@given(records=_RECORDS, as_array=st.booleans())
def test_scan_events_on_json_records(
    tmp_path_factory: pytest.TempPathFactory, records: list[Any], as_array: bool
) -> None:
    folder = tmp_path_factory.mktemp("json")
    if as_array:
        path = _write(folder, ".json", json.dumps(records))
    else:
        path = _write(folder, ".ndjson", ndjson_text(records))
    through_the_pipeline(lambda: csm.scan_events(path, tz="UTC"))


_CORRUPT_SCRIPT = """
import io, json, os, random, sys, tempfile
import polars as pl, csmetrics as csm
from csmetrics.exceptions import CsMetricsError
from csmetrics.quarantine import quarantine
frame = pl.DataFrame({"case_id": [1, 1, 2], "customer_id": [7, 7, 8], "channel": ["email"] * 3,
    "ts": ["2024-03-01T09:00:00Z", "2024-03-01T09:30:00Z", "2024-03-01T10:00:00Z"],
    "event_type": ["case_created", "message", "case_created"],
    "actor": ["customer", "agent", "customer"]})
folder = tempfile.mkdtemp()
for fmt, suffix in (("parquet", ".parquet"), ("ipc", ".arrow")):
    buffer = io.BytesIO()
    frame.write_parquet(buffer) if fmt == "parquet" else frame.write_ipc(buffer)
    original = buffer.getvalue()
    rng = random.Random(1)
    for trial in range(int(sys.argv[1])):
        data = bytearray(original)
        for _ in range(rng.randint(1, 3)):  # header and footer kept: the reader gets to the data
            data[rng.randrange(8, len(data) - 12)] = rng.randrange(256)
        path = os.path.join(folder, f"{fmt}-{trial}{suffix}")
        with open(path, "wb") as fh:
            fh.write(data)
        try:
            csm.scan_events(path).collect()
            outcome = "ok"
        except CsMetricsError:
            outcome = "csmetrics"
        except BaseException as exc:  # a Rust panic is a BaseException
            outcome = type(exc).__name__
        print(json.dumps({"file": f"{fmt}-{trial}", "outcome": outcome}), flush=True)
"""


@pytest.fixture(scope="module")
def corrupted_outcomes() -> dict[str, str]:
    """Reading 2 x 120 Parquet/Arrow files with 1-3 bytes flipped, in a subprocess.

    A subprocess: on some corrupted files Polars aborts the process (a failed huge allocation),
    which no exception handler can catch; seeded so that these files do not.
    """
    done = subprocess.run(
        [sys.executable, "-c", _CORRUPT_SCRIPT, "120"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "RUST_BACKTRACE": "0"},
        check=False,
    )
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert done.returncode == 0, f"the reader died after {lines[-1:]}: {done.stderr[-2000:]}"
    return {line["file"]: line["outcome"] for line in lines}


def test_corrupted_binary_files_raise_csmetrics_errors(corrupted_outcomes: dict[str, str]) -> None:
    """No Polars error and no Rust panic (``PanicException``, a BaseException) gets out."""
    assert len(corrupted_outcomes) == 240
    escaped = {f: o for f, o in corrupted_outcomes.items() if o not in ("ok", "csmetrics")}
    assert not escaped
    assert "csmetrics" in corrupted_outcomes.values()


# -- EventLog.from_frame: random dtypes -----------------------------------------------------------


@FUZZ
@given(
    frame=mixed_frames(),
    tz=st.sampled_from((None, "UTC", "America/New_York")),
    ts_format=st.sampled_from((None, "%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M:%S%z")),
    id_dtype=st.sampled_from(("auto", "infer", "int", "string")),
)
def test_from_frame_on_random_dtypes(
    frame: pl.DataFrame, tz: str | None, ts_format: str | None, id_dtype: Any
) -> None:
    through_the_pipeline(
        lambda: csm.EventLog.from_frame(frame, tz=tz, ts_format=ts_format, id_dtype=id_dtype)
    )


# -- adapters -----------------------------------------------------------------------------------

# adapter -> (seed file, options); every built-in adapter has at least one seed.
SEEDS: dict[str, list[tuple[Path, dict[str, Any]]]] = {
    "mapping": [(DATA / "adapters" / "tickets.csv",
                 {"config": DATA / "adapters" / "tickets.toml"})],
    "twitter": [(DATA / "adapters" / "twcs_small.csv", {}),
                (DATA / "adapters" / "ibm_small.json", {})],
    "servicenow": [(DATA / "adapters" / "servicenow_small.csv", {})],
    "xes": [(DATA / "adapters" / "helpdesk_small.xes", {}),
            (DATA / "adapters" / "helpdesk_small.csv", {})],
    "zendesk": [(DATA / "zendesk" / "ticket_events.json", {}),
                (DATA / "zendesk" / "audits.json", {}),
                (DATA / "zendesk" / "ticket_events.ndjson", {})],
    "intercom": [(DATA / "intercom" / "conversations.json", {}),
                 (DATA / "intercom" / "conversations.ndjson", {})],
}  # fmt: skip
SEED_CASES = [(name, path, options) for name, seeds in SEEDS.items() for path, options in seeds]
SEED_IDS = [f"{name}-{path.name}" for name, path, _ in SEED_CASES]


def test_every_builtin_adapter_is_fuzzed() -> None:
    assert set(SEEDS) == set(BUILTINS)
    for _, path, _ in SEED_CASES:
        assert path.is_file(), path


def _mutated(data: st.DataObject, path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.dumps(data.draw(mutated_json(json.loads(text)), label="document"))
    if path.suffix == ".ndjson":
        records = [json.loads(line) for line in text.splitlines() if line.strip()]
        mutated = data.draw(mutated_json(records), label="records")
        return ndjson_text(mutated if isinstance(mutated, list) else [mutated])
    if path.suffix == ".csv":
        return data.draw(mutated_csv(text), label="csv")
    # XML: replace attribute values and cut the text
    values = text.split('value="')
    for _ in range(data.draw(st.integers(1, 4), label="n")):
        i = data.draw(st.integers(1, len(values) - 1), label="attribute")
        rest = values[i].split('"', 1)
        new = data.draw(st.sampled_from(("", "x", "2012-13-45T99:00:00", "&amp;", "Closed")))
        values[i] = new + '"' + (rest[1] if len(rest) > 1 else "")
    mutated = 'value="'.join(values)
    if data.draw(st.booleans(), label="cut"):
        mutated = mutated[: data.draw(st.integers(0, len(mutated)), label="at")]
    return mutated


@pytest.mark.parametrize(("name", "path", "options"), SEED_CASES, ids=SEED_IDS)
def test_adapters_take_their_seed_files_through_the_pipeline(
    name: str, path: Path, options: dict[str, Any]
) -> None:
    """The unmutated seeds go all the way (so mutations start from a readable file)."""
    log = csm.scan_events(path, adapter=name, tz="UTC", options=options)
    assert log.frame.collect().height > 0
    through_the_pipeline(lambda: log, known=False)


@pytest.mark.parametrize(("name", "path", "options"), SEED_CASES, ids=SEED_IDS)
@settings(FUZZ, max_examples=12)
@given(data=st.data())
def test_adapters_on_mutated_files(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    path: Path,
    options: dict[str, Any],
    data: st.DataObject,
) -> None:
    text = _mutated(data, path)
    target = _write(tmp_path_factory.mktemp("adapter"), path.suffix, text)
    through_the_pipeline(
        lambda: csm.scan_events(target, adapter=name, tz="UTC", options=options), known=False
    )


@pytest.mark.parametrize("name", sorted(BUILTINS))
@settings(FUZZ, max_examples=8)
@given(data=st.binary(max_size=200))
def test_adapters_on_random_bytes(
    tmp_path_factory: pytest.TempPathFactory, name: str, data: bytes
) -> None:
    path, options = SEEDS[name][0]
    target = _write(tmp_path_factory.mktemp("adapter-bytes"), path.suffix, data)
    through_the_pipeline(
        lambda: csm.scan_events(target, adapter=name, tz="UTC", options=options), known=False
    )


def test_xml_entity_expansion_is_refused(tmp_path: Path) -> None:
    """A "billion laughs" XES file is an error, not an hour of work and all the memory."""
    lol = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    text = (
        f'<?xml version="1.0"?><!DOCTYPE log [<!ENTITY l0 "lol">{lol}]>'
        '<log><trace><string key="concept:name" value="&l9;"/></trace></log>'
    )
    path = _write(tmp_path, ".xes", text)
    through_the_pipeline(lambda: csm.scan_events(path, adapter="xes", tz="UTC"))
