"""The command line: commands, formats, exit codes (0 ok, 1 bad input, 2 usage)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

import csmetrics as csm
from csmetrics.cli import main


@pytest.fixture(scope="module")
def events_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "events.parquet"
    csm.datasets.simulate_frame(n_cases=300, seed=3).write_parquet(path)
    return path


def test_demo_prints_the_channel_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "first_response_time" in out
    assert "email" in out
    assert "twitter" in out


def test_report_formats(
    events_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_csv = tmp_path / "r.csv"
    assert (
        main(["report", str(events_file), "--by", "channel", "--format", "csv", "-o", str(out_csv)])
        == 0
    )
    table = pl.read_csv(out_csv)
    assert {"channel", "metric", "n", "value"} <= set(table.columns)
    assert main(["report", str(events_file), "--metric", "comp_rate", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["metric"] for r in rows] == ["comp_rate"]
    out_pq = tmp_path / "r.parquet"
    assert (
        main(
            [
                "report",
                str(events_file),
                "--period",
                "week",
                "--format",
                "parquet",
                "-o",
                str(out_pq),
            ]
        )
        == 0
    )
    assert "period_start" in pl.read_parquet(out_pq).columns


def test_cases_and_explain(
    events_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cases.parquet"
    assert main(["cases", str(events_file), "-o", str(out)]) == 0
    cases = pl.read_parquet(out)
    assert cases.height == pl.read_parquet(events_file)["case_id"].n_unique()
    case_id = str(cases["case_id"][0])
    assert main(["explain", str(events_file), case_id]) == 0
    assert "role" in capsys.readouterr().out


def test_bad_input_is_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("case_id,customer,channel,ts,event_type,actor\n1,1,email,x,message,agent\n")
    assert main(["report", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "missing_column" in err
    assert "customer_id" in err
    assert "Traceback" not in err
    lines = err.strip().splitlines()  # the error (wrapped to 100 columns), then the hint
    assert err.count("csmetrics: error:") == 1
    assert lines[-1].startswith("hint:")
    assert max(len(line) for line in lines) <= 100


def test_validate_writes_rejects(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "events.csv"
    src.write_text(
        "case_id,customer_id,channel,ts,event_type,actor\n"
        "1,1,email,2024-03-01T09:00:00Z,case_created,customer\n"
        "1,1,email,2024-03-01T09:30:00Z,teleport,agent\n"
    )
    rejects = tmp_path / "rejects.csv"
    assert main(["validate", str(src), "--rejects", str(rejects)]) == 1
    assert "1 valid events, 1 rejected" in capsys.readouterr().out
    assert pl.read_csv(rejects)["reason"].to_list() == ["unknown_event_type"]


def test_quarantine_report_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "events.csv"
    src.write_text(
        "case_id,customer_id,channel,ts,event_type,actor\n"
        "1,1,email,2024-03-01T09:00:00Z,case_created,customer\n"
        "1,1,email,2024-03-01T09:30:00Z,message,agent\n"
        "2,1,email,2024-03-01T09:30:00Z,message,martian\n"
    )
    assert main(["report", str(src), "--on-invalid", "quarantine", "--metric", "volume"]) == 0
    assert "2 valid events used, 1 rejected" in capsys.readouterr().err


def test_usage_error_exit_2() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["report"])
    assert exc.value.code == 2


def test_metrics_lists_every_metric(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["metrics"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in csm.metrics.names())


def test_report_with_calendar(
    events_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    calendar = tmp_path / "office.toml"
    calendar.write_text(
        'name = "office"\ntimezone = "Europe/Paris"\n\n[[schedule]]\n'
        'mon = ["09:00-17:00"]\ntue = ["09:00-17:00"]\nwed = ["09:00-17:00"]\n'
        'thu = ["09:00-17:00"]\nfri = ["09:00-17:00"]\n'
    )
    assert (
        main(
            [
                "report",
                str(events_file),
                "--metric",
                "first_response_time",
                "--calendar",
                str(calendar),
                "--format",
                "csv",
            ]
        )
        == 0
    )
    metrics = pl.read_csv(capsys.readouterr().out.encode())["metric"].to_list()
    assert metrics == ["first_response_time", "first_response_time_business"]


def test_engines_give_the_same_report(events_file: Path, tmp_path: Path) -> None:
    outputs = []
    for engine in ("in-memory", "streaming"):
        out = tmp_path / f"{engine}.csv"
        assert (
            main(
                [
                    "report",
                    str(events_file),
                    "--by",
                    "channel",
                    "--engine",
                    engine,
                    "--format",
                    "csv",
                    "-o",
                    str(out),
                ]
            )
            == 0
        )
        outputs.append(pl.read_csv(out).sort("channel", "metric"))
    assert outputs[0].equals(outputs[1])


def test_gpu_engine_falls_back_with_a_warning(events_file: Path, tmp_path: Path) -> None:
    from csmetrics.engines import GpuFallbackWarning, gpu_available

    if gpu_available():
        pytest.skip("cudf-polars is installed: no fallback to check")
    out = tmp_path / "gpu.csv"
    with pytest.warns(GpuFallbackWarning, match="csmetrics\\[gpu\\]"):
        assert (
            main(
                [
                    "report",
                    str(events_file),
                    "--engine",
                    "gpu",
                    "--metric",
                    "volume",
                    "--format",
                    "csv",
                    "-o",
                    str(out),
                ]
            )
            == 0
        )
    assert pl.read_csv(out)["metric"].to_list() == ["volume"]


def test_journeys_command(
    events_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    issues = tmp_path / "issues.parquet"
    assert main(["journeys", str(events_file), "--issues", str(issues)]) == 0
    out = capsys.readouterr().out
    assert "queue_jump_rate" in out
    assert "channel switch matrix" in out
    frame = pl.read_parquet(issues)
    assert frame["n_contacts"].sum() == pl.read_parquet(events_file)["case_id"].n_unique()


def test_report_with_sla(
    events_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sla = Path(__file__).parent / "data" / "sla" / "support.toml"
    calendar = tmp_path / "office.toml"
    calendar.write_text(
        'name = "office"\ntimezone = "Europe/Paris"\n\n[[schedule]]\n'
        'mon = ["09:00-17:00"]\ntue = ["09:00-17:00"]\nwed = ["09:00-17:00"]\n'
        'thu = ["09:00-17:00"]\nfri = ["09:00-17:00"]\n'
    )
    assert (
        main(
            [
                "report",
                str(events_file),
                "--metric",
                "volume",
                "--sla",
                str(sla),
                "--calendar",
                str(calendar),
                "--format",
                "csv",
            ]
        )
        == 0
    )
    metrics = set(pl.read_csv(capsys.readouterr().out.encode())["metric"])
    assert {"volume", "sla_attainment[first_reply]", "sla_attainment[resolution]"} <= metrics
    html = tmp_path / "r.html"
    assert (
        main(
            [
                "report",
                str(events_file),
                "--sla",
                str(sla),
                "--calendar",
                str(calendar),
                "--format",
                "html",
                "-o",
                str(html),
            ]
        )
        == 0
    )
    text = html.read_text(encoding="utf-8")
    assert "SLA attainment" in text
    assert "no SLA policy configured" not in text


def test_progress_only_on_a_terminal() -> None:
    import io

    from csmetrics.cli import Progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    quiet, shown = io.StringIO(), Terminal()
    for stream in (quiet, shown):
        with Progress(stream=stream) as steps, steps.step("computing"):
            pass
    assert quiet.getvalue() == ""
    assert "done in 0.0s (computing 0.0s)" in shown.getvalue()
