"""The analysis subcommands of the command line: contagion, cost, difficulty, occupancy,
pulled (the figures themselves are tested with their modules)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from csmetrics.cli import main
from csmetrics.datasets import Effects, simulate_frame


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "events.parquet"
    simulate_frame(2_000, seed=2, effects=Effects(contagion=1.0)).write_parquet(path)
    return path


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> pl.DataFrame:
    assert main([*argv, "--format", "json"]) == 0
    return pl.DataFrame(json.loads(capsys.readouterr().out))


def test_contagion_command(events: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(capsys, "contagion", str(events), "--n-boot", "50", "--window", "3h")
    assert out["window_seconds"].unique().to_list() == [10_800.0]
    assert out["channel"].to_list()[-1] is None
    assert main(["contagion", str(events), "--n-boot", "20"]) == 0
    assert "public-comp contagion" in capsys.readouterr().out
    rules = events.parent / "requests.toml"
    rules.write_text('[comp_request]\nkeywords = ["compensation"]\n')
    assert main(["contagion", str(events), "--n-boot", "20", "--requests", str(rules)]) == 1
    assert "column 'text'" in capsys.readouterr().err  # this log has no text
    assert main(["contagion", str(events), "--baseline-days", "7,x"]) == 1
    assert "--baseline-days must be whole days" in capsys.readouterr().err


def test_cost_command(events: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rates = tmp_path / "rates.toml"
    rates.write_text('currency = "EUR"\ndefault = 30\n[channel]\nphone = 36\n')
    out = run_json(capsys, "cost", str(events), "--rates", str(rates))
    assert set(out["currency"]) == {"EUR"}
    assert (out["cost_per_resolved_issue"] > 0).all()
    rates.write_text("[channel]\nphone = 36\n")
    assert main(["cost", str(events), "--rates", str(rates)]) == 1
    assert "no rate for" in capsys.readouterr().err


def test_difficulty_command(
    events: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = run_json(capsys, "difficulty", str(events))
    assert out["difficulty"].to_list() == ["easy", "medium", "hard"]
    assert out["n_cases"].sum() == 2_000
    rule = tmp_path / "rule.toml"
    rule.write_text(
        'hard_priorities = []\nmedium_priorities = []\nescalated = "easy"\n'
        "transfers_medium = 1\ntransfers_hard = 1\n"
    )
    only_transfers = run_json(capsys, "difficulty", str(events), "--rule", str(rule))
    assert only_transfers["n_cases"].to_list()[1] == 0  # nothing is medium under this rule
    effect = run_json(capsys, "difficulty", str(events), "--effect", "--by", "channel")
    assert set(effect["difficulty"]) == {"medium", "hard"}
    assert "channel" in effect.columns


def test_occupancy_and_pulled_commands(events: Path, capsys: pytest.CaptureFixture[str]) -> None:
    occupancy = run_json(capsys, "occupancy", str(events), "--freq", "1d")
    assert occupancy["message_share"].max() <= 1.0
    pulled = run_json(
        capsys,
        "pulled",
        str(events),
        "--channel",
        "twitter",
        "--channel",
        "facebook",
        "--start",
        "2024-01-10T09:00Z",
        "--end",
        "2024-01-10T15:00Z",
    )
    assert pulled["n_channel_cases"].n_unique() == 1
    assert (
        main(
            [
                "pulled",
                str(events),
                "--channel",
                "twitter",
                "--start",
                "2024-01-10T09:00",
                "--end",
                "2024-01-10T15:00Z",
            ]
        )
        == 1
    )
    assert "needs an offset" in capsys.readouterr().err


def test_redirects_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "redirects.parquet"
    simulate_frame(2_000, seed=4, effects=Effects(redirect_share=0.6)).write_parquet(path)
    every = run_json(capsys, "redirects", str(path))
    explicit = run_json(capsys, "redirects", str(path), "--kind", "explicit")
    assert explicit["n_redirected"].to_list()[-1] > 0
    assert explicit["n_redirected"].to_list()[-1] <= every["n_redirected"].to_list()[-1]
    repeat = run_json(capsys, "redirects", str(path), "--compare", "repeat")
    # like with like: fewer other issues compared, the same rate
    assert repeat["n_resolved_other"].to_list()[-1] < every["n_resolved_other"].to_list()[-1]
    assert repeat["redirect_rate"].to_list() == every["redirect_rate"].to_list()


def test_spillover_command(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "outage.parquet"
    simulate_frame(6_000, seed=2).write_parquet(path)
    raw = run_json(capsys, "spillover", str(path), "--no-control")
    assert {"ci_low", "ci_high"} <= set(raw.columns)
    assert raw.height > 0  # the outage, uncontrolled, reads as a twitter surge
    controlled = run_json(capsys, "spillover", str(path))
    # the shared (outage) buckets are left out
    assert controlled["n_surge_buckets"].max() < raw["n_surge_buckets"].max()
    cascade = run_json(capsys, "spillover", str(path), "--cascade", "--no-control")
    assert "hit_share" in cascade.columns


def test_topics_command(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "spike.parquet"
    frame = simulate_frame(
        10_000, seed=6, effects=Effects(text=True, spike_cases=40, spike_customers=1)
    )
    frame.with_columns(pl.lit(None, pl.String).alias("topic")).write_parquet(path)
    rules = tmp_path / "topics.toml"
    rules.write_text('[billing]\nkeywords = ["invoice", "refund"]\n')
    spikes = run_json(capsys, "topics", str(path), "--rules", str(rules))
    loud = spikes.filter((pl.col("topic") == "billing") & (pl.col("channel") == "twitter"))
    assert "one_customer" in loud["cause"].to_list()
    assert main(["topics", str(path), "--rules", str(rules), "--text", "body"]) == 1
    assert "column 'body'" in capsys.readouterr().err
