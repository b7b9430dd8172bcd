"""The command line for people: 100 columns, one duration format, CLI-terms errors, help,
"did you mean", true timings, periods and instants as text (issue 18)."""

from __future__ import annotations

import argparse
import datetime as dt
import io
import re
import time
from pathlib import Path

import polars as pl
import pytest

import csmetrics as csm
from csmetrics._progress import Steps
from csmetrics.cli import _parser, main

WIDTH = 100
# the one duration format: whole seconds under a minute, else one decimal and m, h or d
DURATION = re.compile(r"^(?:—|-?\d+s|-?\d+\.\d[mhd])$")
# what other formats looked like: 2:52:22.328618, 1 day, 3:00:00, 5400.0
FOREIGN_DURATION = re.compile(r"\d+:\d{2}:\d{2}\.\d+|\d+ days?,")
SECONDS_METRICS = {m.name for m in csm.metrics.builtins() if m.unit == "seconds"} | {
    "issue_first_response_time",
    "issue_resolution_time",
}


@pytest.fixture(scope="module")
def sample_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli18") / "sample.parquet"
    csm.datasets.sample_log().frame.collect().write_parquet(path)
    return path


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _assert_fits(text: str) -> None:
    long = [line for line in text.splitlines() if len(line) > WIDTH]
    assert not long, f"{len(long)} line(s) over {WIDTH} columns, e.g. {long[0]!r}"


def _duration_cells(text: str) -> list[str]:
    """Every ``value (n=N)`` cell on a line of a duration metric."""
    cells = []
    section = ""  # with a period: a "<metric> (seconds)" title over its table
    for line in text.splitlines():
        first = line.split(" ", 1)[0]
        if line.endswith((" (seconds)", " (count)", " (ratio)")):
            section = first
        elif not line.strip():
            section = ""
        if first in SECONDS_METRICS or section in SECONDS_METRICS:
            cells += re.findall(r"(\S+) \(n=", line)
    return cells


def _assert_one_duration_format(text: str) -> None:
    assert not FOREIGN_DURATION.search(text), FOREIGN_DURATION.search(text)
    cells = _duration_cells(text)
    bad = [c for c in cells if not DURATION.match(c)]
    assert not bad, bad


COMMANDS = {
    "demo": ["demo"],
    "report": ["report", "{f}"],
    "report-by": ["report", "{f}", "--by", "channel"],
    "report-by-week": ["report", "{f}", "--by", "channel", "--period", "week"],
    "report-two-by": ["report", "{f}", "--by", "channel", "--by", "priority"],
    "metrics": ["metrics"],
    "journeys": ["journeys", "{f}"],
    "explain": ["explain", "{f}", "1042"],
    "validate": ["validate", "{f}"],
}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_text_output_fits_100_columns_with_one_duration_format(
    name: str, sample_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [a.replace("{f}", str(sample_file)) for a in COMMANDS[name]]
    code, out, err = _run(argv, capsys)
    assert code == 0, err
    _assert_fits(out)
    _assert_fits(err)
    _assert_one_duration_format(out)
    if name in ("demo", "report-by", "report-by-week"):
        assert len(_duration_cells(out)) >= 7  # the check above saw duration cells


def test_demo_says_why_cases_and_volume_differ(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["demo"], capsys)
    assert code == 0
    cases = csm.case_table(csm.datasets.sample_log()).collect()
    merged = int(cases["merged"].sum())
    # the sample: 2,000 cases, of which `merged` merged away; volume counts the rest
    assert merged > 0
    head = " ".join(out.split("\n\n")[0].split())
    assert f"{cases.height:,} cases" in head
    assert f"{merged:,} of the cases were merged" in head
    assert f"volume counts {cases.height - merged:,}" in head
    assert f"{cases.height - merged:,} (n={cases.height - merged})" in out


def test_periods_are_short_labels(sample_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["report", str(sample_file), "--by", "channel", "--period", "week"], capsys)
    assert code == 0
    assert "2024-W02" in out
    assert "00:00:00" not in out
    assert "+00:00" not in out
    # one table per metric, its unit in the title
    assert "first_response_time (seconds)" in out


def test_journeys_total_is_a_mean_per_issue_and_floats_are_rounded(
    sample_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(["journeys", str(sample_file)], capsys)
    assert code == 0
    line = next(x for x in out.splitlines() if x.startswith("contacts_per_issue"))
    assert "per issue" in line
    assert "2,000" not in line
    assert not re.search(r"\d\.\d{5,}", out), "raw floats in the journeys output"


def test_explain_durations(sample_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["explain", str(sample_file), "1042"], capsys)
    assert code == 0
    frame = csm.explain(csm.scan_events(str(sample_file)), 1042)
    waits = [w for w in frame["next_reply_time"].to_list() if w is not None]
    assert waits
    for wait in waits:
        seconds = wait.total_seconds()
        if seconds < 60:
            shown = f"{seconds:.0f}s"
        else:
            shown = f"{seconds / 3600:.1f}h" if seconds >= 3600 else f"{seconds / 60:.1f}m"
        assert shown in out
    assert not FOREIGN_DURATION.search(out)


# -- errors in CLI terms, "did you mean", before any work -----------------------------------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["report", "{f}", "--by", "chanel"],
            "--by 'chanel' is not a column of the case table (did you mean 'channel'?)",
        ),
        (
            ["report", "{f}", "--metric", "volum"],
            "--metric 'volum' is not a metric (did you mean 'volume'?)",
        ),
        (["report", "{f}", "--adapter", "zendsk"], "did you mean 'zendesk'"),
    ],
)
def test_names_get_did_you_mean(
    argv: list[str], expected: str, sample_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run([a.replace("{f}", str(sample_file)) for a in argv], capsys)
    assert code == 1
    assert out == ""
    assert expected in " ".join(err.split())
    _assert_fits(err)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--preset", "zendsk"], "did you mean 'zendesk'"),
        (["--period", "wekday"], "did you mean 'weekday'"),
        (["--period", "fortnight"], "15m, 1h, 1d, 1w"),
        (["--timezone", "Europe/Pari"], "did you mean 'Europe/Paris'"),
        (["--tz", "europe/paris"], "did you mean 'Europe/Paris'"),
        (["--format", "csvv"], "did you mean 'csv'"),
        (["--engine", "streamng"], "did you mean 'streaming'"),
        (["--on-invalid", "quarantaine"], "did you mean 'quarantine'"),
        (["--as-of", "2024-03-01"], "--as-of '2024-03-01' has no time zone"),
        (["--as-of", "someday"], "--as-of 'someday' is not a date or time"),
        (["--since", "lately"], "--since 'lately' is not a range"),
    ],
)
def test_usage_errors_come_first_in_cli_terms(
    argv: list[str], expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "not-read.parquet"  # no such file: nothing was read
    with pytest.raises(SystemExit) as info:
        main(["report", str(missing), *argv])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert expected in err
    for python in ("datetime(", "tz=", "pass format=", "Traceback"):
        assert python not in err


def test_library_messages_are_translated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    naive = tmp_path / "naive.csv"
    naive.write_text(
        "case_id,customer_id,ts,event_type,actor,channel\n1,1,2024-01-01 09:00,case_created,"
        "customer,email\n",
        encoding="utf-8",
    )
    code, _, err = _run(["report", str(naive)], capsys)
    assert code == 1
    assert "--tz" in err
    assert "tz=" not in err
    _assert_fits(err)


def _options() -> list[tuple[str, argparse.Action]]:
    parser = _parser()
    found = [("csmetrics", a) for a in parser._actions]
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in sub.choices.items():
        found += [(name, a) for a in command._actions]
    return found


def test_every_option_has_help() -> None:
    missing = [
        f"{command} {'/'.join(action.option_strings) or action.dest}"
        for command, action in _options()
        if not action.help or action.help == argparse.SUPPRESS
    ]
    assert not missing, missing
    helps = {
        (command, opt): action.help
        for command, action in _options()
        for opt in action.option_strings
    }
    assert "seed" in str(helps[("demo", "--seed")])
    assert "weekday" in str(helps[("report", "--period")])
    assert "quarantine" in str(helps[("report", "--on-invalid")])


@pytest.mark.parametrize("command", ["", "demo", "report", "journeys", "explain", "cases"])
def test_help_fits(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([*([command] if command else []), "--help"])
    _assert_fits(capsys.readouterr().out)


# -- progress and true timings --------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_terminal_or_when_asked() -> None:
    quiet, terminal, asked = io.StringIO(), _Terminal(), io.StringIO()
    for stream, enabled in ((quiet, None), (terminal, None), (asked, True)):
        with Steps(stream=stream, enabled=enabled) as steps, steps.step("computing"):
            pass
    assert quiet.getvalue() == ""
    assert "done in" in terminal.getvalue()
    assert "done in" in asked.getvalue()


def test_a_slow_step_gets_a_live_line_with_elapsed_time() -> None:
    now = [100.0]
    stream = io.StringIO()
    with Steps(stream=stream, enabled=True, total=2, clock=lambda: now[0]) as steps:
        with steps.step("reading"):
            now[0] += 0.5  # fast: no line
        with steps.step("computing metrics"):
            now[0] += 2.0
            time.sleep(0.5)  # the drawing thread sees a step over its second
    text = stream.getvalue()
    assert "csmetrics: 2.5s  computing metrics (step 2 of 2) …" in text
    assert "reading (step" not in text
    assert text.rstrip().endswith("done in 2.5s (reading 0.5s, computing metrics 2.0s)")


def test_startup_counts_in_the_total() -> None:
    stream = io.StringIO()
    with Steps(stream=stream, enabled=True, already=1.5) as steps, steps.step("computing"):
        pass
    assert "done in 1.5s (starting 1.5s, computing 0.0s)" in stream.getvalue()


@pytest.mark.parametrize(
    "argv",
    [
        ["demo", "--progress", "--cases", "3000"],
        ["report", "{f}", "--progress", "--format", "html", "-o", "{o}"],
    ],
)
def test_reported_time_is_the_wall_time(
    argv: list[str], sample_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        a.replace("{f}", str(sample_file)).replace("{o}", str(tmp_path / "r.html")) for a in argv
    ]
    started = time.perf_counter()
    assert main(argv) == 0
    wall = time.perf_counter() - started
    err = capsys.readouterr().err
    match = re.search(r"done in (\d+\.\d)s \((.*)\)", " ".join(err.split()))
    assert match, err
    reported = float(match.group(1))
    assert abs(reported - wall) <= 0.15 + 0.1 * wall, (reported, wall)
    steps = re.findall(r"(\d+\.\d)s", match.group(2))
    assert abs(sum(float(s) for s in steps) - reported) <= 0.1 * len(steps) + 0.1


# -- periods and instants as text ----------------------------------------------------------


def test_polars_duration_is_the_same_as_its_name(
    sample_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frames = []
    for period in ("week", "1w"):
        out = tmp_path / f"{period}.parquet"
        argv = ["report", str(sample_file), "--period", period, "--metric", "volume"]
        assert main([*argv, "--format", "parquet", "-o", str(out)]) == 0
        frames.append(pl.read_parquet(out))
    assert frames[0].equals(frames[1])


@pytest.mark.parametrize("period", ["hour", "weekday", "15m"])
def test_new_periods_reach_compute(
    period: str, sample_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(
        ["report", str(sample_file), "--period", period, "--metric", "volume"], capsys
    )
    assert code == 0, err
    _assert_fits(out)


def test_as_of_with_a_zone_name(sample_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "cases.parquet"
    argv = ["cases", str(sample_file), "--as-of", "2024-01-20 09:00 Europe/Paris", "-o", str(out)]
    assert main(argv) == 0
    # 09:00 in Paris in January (CET, UTC+1) = 08:00 UTC
    as_of = pl.read_parquet(out)["as_of"].unique().to_list()
    assert as_of == [dt.datetime(2024, 1, 20, 8, tzinfo=dt.UTC)]


def test_since_last_weeks_keeps_whole_cases(sample_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "volume.csv"
    argv = ["report", str(sample_file), "--since", "last 1 week", "--metric", "volume"]
    assert main([*argv, "--format", "csv", "-o", str(out)]) == 0
    got = pl.read_csv(out)["value"].item()
    # by hand: the cases whose first event is within 7 days (168 h) of the log's last event,
    # less the merged ones (outside volume)
    events = pl.read_parquet(sample_file)
    last = events["ts"].max()
    assert isinstance(last, dt.datetime)
    firsts = events.group_by("case_id").agg(pl.col("ts").min())
    recent = set(firsts.filter(pl.col("ts") >= last - dt.timedelta(days=7))["case_id"].to_list())
    merged = set(events.filter(pl.col("event_type") == "merged")["case_id"].to_list())
    assert 0 < len(recent - merged) < events["case_id"].n_unique()
    assert got == len(recent - merged)


def test_report_and_summary_text_fit(capsys: pytest.CaptureFixture[str]) -> None:
    log = csm.datasets.sample_log()
    for text in (
        str(csm.Report(log)),
        str(csm.Report(log, by="topic", period="day")),
        str(csm.Summary(csm.compute(log, by="channel"))),
        str(csm.Summary(csm.compute(log, ["first_response_time"], by="channel", period="week"))),
    ):
        _assert_fits(text)
        _assert_one_duration_format(text)
        assert "00:00:00" not in text
