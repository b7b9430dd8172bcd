"""Difficulty tiers: the rule, hand-worked case tables, and the simulator's cases."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import polars as pl
import pytest

import csmetrics as csm
from csmetrics.datasets import simulate_frame
from csmetrics.difficulty import (
    DIFFICULTY_DTYPE,
    DifficultyRule,
    difficulty_columns,
    difficulty_effect,
    difficulty_expr,
    with_difficulty,
)
from csmetrics.exceptions import PolicyError
from csmetrics.log import EventLog

CASES = pl.DataFrame(
    {
        "case_id": [1, 2, 3, 4, 5, 6, 7],
        "priority": ["low", " High", "URGENT", None, "normal", "normal", "high"],
        "n_escalations": [0, 0, 0, 1, 0, 0, None],
        "n_transfers": [0, 0, 0, 0, 1, 2, 0],
        "tier": ["1", "3", None, "2", "2", "1", "x"],
    }
)


def test_default_rule_on_a_hand_made_case_table() -> None:
    out = CASES.select("case_id", difficulty_expr())
    assert out.schema["difficulty"] == DIFFICULTY_DTYPE
    # low: easy; " High" (trimmed, lower-cased): medium; URGENT: hard; escalated: hard;
    # one transfer: medium; two transfers: hard; high with a null escalation count: medium
    assert out["difficulty"].to_list() == [
        "easy",
        "medium",
        "hard",
        "hard",
        "medium",
        "hard",
        "medium",
    ]


def test_custom_rules_and_a_pass_through_column() -> None:
    rule = DifficultyRule(
        hard_priorities=[],
        medium_priorities=["urgent"],
        escalated="medium",
        transfers_medium=None,
        transfers_hard=None,
        column="tier",
        values={"2": "medium", "3": "hard"},
    )
    assert difficulty_columns(rule) == ["priority", "n_escalations", "tier"]
    out = CASES.select(difficulty_expr(rule))["difficulty"].to_list()
    # 1: tier 1 → easy; 2: tier 3 → hard; 3: urgent → medium; 4: escalated / tier 2 →
    # medium; 5: tier 2 → medium; 6: transfers do not count → easy; 7: tier "x" → easy
    assert out == ["easy", "hard", "medium", "medium", "medium", "easy", "easy"]
    # levels are ordered: easy < medium < hard
    assert CASES.select(difficulty_expr()).sort("difficulty")["difficulty"].to_list()[0] == ("easy")


def test_rules_from_toml_and_bad_rules(tmp_path: Path) -> None:
    path = tmp_path / "difficulty.toml"
    path.write_text(
        'hard_priorities = ["p1"]\nmedium_priorities = ["p2"]\ntransfers_hard = 3\n'
        'column = "tier"\n[values]\n"3" = "hard"\n'
    )
    rule = DifficultyRule.from_toml(path)
    assert (rule.hard_priorities, rule.transfers_hard, dict(rule.values)) == (
        ("p1",),
        3,
        {"3": "hard"},
    )
    with pytest.raises(PolicyError, match="unknown key"):
        DifficultyRule.from_dict({"escalation": "hard"})
    with pytest.raises(PolicyError, match="'escalated' must be one of"):
        DifficultyRule(escalated="very hard")
    with pytest.raises(PolicyError, match="'transfers_hard' must be an integer >= 1"):
        DifficultyRule(transfers_hard=0)
    with pytest.raises(PolicyError, match="levels must be in"):
        DifficultyRule(column="tier", values={"3": "impossible"})
    path.write_text("escalated = 3\n")
    with pytest.raises(PolicyError, match=f"{path}: difficulty rule: 'escalated'"):
        DifficultyRule.from_toml(path)
    with pytest.raises(PolicyError, match=r"reads column\(s\) \['tier'\]"):
        with_difficulty(CASES.drop("tier"), {"column": "tier", "values": {"3": "hard"}})


def test_on_a_case_table_with_a_pass_through_tier() -> None:
    log = csm.testing.log_from_rows(
        [
            ("09:00", "case_created", "customer", {"case_id": 1, "tier": "3"}),
            ("09:00", "case_created", "customer", {"case_id": 2, "priority": "high"}),
            ("09:10", "transferred", "agent", {"case_id": 2, "team": "billing"}),
            ("09:00", "case_created", "customer", {"case_id": 3}),
        ]
    )
    rule = {"column": "tier", "values": {"3": "hard"}}
    out = with_difficulty(csm.case_table(log), rule).collect().sort("case_id")
    # tier 3 → hard; high + one transfer → medium; nothing → easy
    assert out["difficulty"].to_list() == ["hard", "medium", "easy"]


def test_simulated_cases_match_a_plain_python_classification() -> None:
    frame = simulate_frame(2_000, seed=6)
    table = with_difficulty(csm.case_table(EventLog.trusted(frame))).collect()
    last_priority: dict[int, tuple[object, str]] = {}
    counts: dict[int, dict[str, int]] = defaultdict(lambda: {"escalated": 0, "transferred": 0})
    for case, ts, kind, priority in frame.select(
        "case_id", "ts", pl.col("event_type").cast(pl.String), "priority"
    ).iter_rows():
        if priority is not None and (case not in last_priority or ts >= last_priority[case][0]):
            last_priority[case] = (ts, priority)
        if kind in counts[case]:
            counts[case][kind] += 1
    expected = {}
    for case in table["case_id"]:
        priority = last_priority[case][1]
        level = {"urgent": 2, "high": 1}.get(priority, 0)
        if counts[case]["escalated"]:
            level = 2
        transfers = counts[case]["transferred"]
        level = max(level, 2 if transfers >= 2 else 1 if transfers else 0)
        expected[case] = ("easy", "medium", "hard")[level]
    assert dict(table.select("case_id", pl.col("difficulty").cast(pl.String)).iter_rows()) == (
        expected
    )
    shares = table["difficulty"].value_counts(normalize=True).sort("difficulty")
    assert shares["proportion"].min() > 0.05  # every level is populated on the simulator


# --------------------------------------------------------------------------------------------
# The simulator: hard cases answered twice as slowly (planted), or not at all


# channels without a bot (the bot's minutes before a hand-off are not slowed) and not calls
DIRECT = ["email", "web_form", "twitter", "facebook"]


def hard_ratios(hard_factor: float) -> pl.DataFrame:
    log = csm.datasets.simulate(
        10_000, seed=5, effects=csm.datasets.Effects(hard_factor=hard_factor)
    )
    return (
        difficulty_effect(log, by="channel")
        .filter(
            (pl.col("metric") == "first_response_time")
            & (pl.col("difficulty") == "hard")
            & pl.col("channel").is_in(DIRECT)
        )
        .collect()
    )


def test_planted_hard_slowdown_is_recovered_within_the_interval() -> None:
    found = hard_ratios(2.0)
    assert found.height == len(DIRECT)
    for row in found.iter_rows(named=True):
        assert row["n"] > 30
        assert row["ci_low"] < 2.0 < row["ci_high"], row
        assert row["ci_low"] > 1.0, row  # and clearly not "no difference"


def test_no_slowdown_planted_none_found() -> None:
    for row in hard_ratios(1.0).iter_rows(named=True):
        assert row["ci_low"] < 1.0 < row["ci_high"], row


def test_difficulty_effect_hand_worked_by_channel() -> None:
    rows = []
    # email: easy 10 and 40 min (log-median: 20 min), hard 40 and 160 min (80 min): 4 times
    # chat: easy 1 min only, hard none
    for case, (channel, minutes, priority) in enumerate(
        [
            ("email", 10, "low"),
            ("email", 40, "low"),
            ("email", 40, "urgent"),
            ("email", 160, "urgent"),
            ("chat", 1, "low"),
        ],
        start=1,
    ):
        extra = {"case_id": case, "channel": channel, "priority": priority}
        rows += [
            ("2024-03-01T09:00Z", "case_created", "customer", extra),
            (f"2024-03-01T{9 + minutes // 60:02d}:{minutes % 60:02d}Z", "message", "agent", extra),
        ]
    out = (
        difficulty_effect(csm.testing.log_from_rows(rows), by="channel")
        .filter(pl.col("metric") == "first_response_time")
        .collect()
    )
    email = out.filter((pl.col("channel") == "email") & (pl.col("difficulty") == "hard"))
    assert email["ratio"].item() == pytest.approx(4.0)
    assert email["median_s"].item() == pytest.approx(80 * 60)
    assert email["easy_median_s"].item() == pytest.approx(20 * 60)
    chat = out.filter((pl.col("channel") == "chat") & (pl.col("difficulty") == "hard"))
    assert (chat["n"].item(), chat["ratio"].item()) == (0, None)
