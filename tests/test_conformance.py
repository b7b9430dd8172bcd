"""Conformance: every hand-worked value of ../shared/conformance/cases.toml (DESIGN §4.4).

Each case runs with the presets ``csmetrics``, ``zendesk`` and ``chatwoot``; a preset's
``expect_<preset>`` table overrides the common ``expect``. Durations compare in seconds,
``"null"`` means no value. Every case is also checked with its events shuffled, and every
value also with its column asked for alone (one definition, one plan: DESIGN §3).
"""

from __future__ import annotations

import datetime as dt
import random
import tomllib
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import csmetrics as csm

CASES_FILE = Path(__file__).resolve().parents[1].parent / "shared" / "conformance" / "cases.toml"
PRESETS = ("csmetrics", "zendesk", "chatwoot")


def _load() -> list[dict[str, Any]]:
    if not CASES_FILE.is_file():
        return []
    with CASES_FILE.open("rb") as handle:
        return list(tomllib.load(handle)["case"])


CASES = _load()
pytestmark = pytest.mark.skipif(
    not CASES, reason=f"conformance file {CASES_FILE} not found (outside this repository's CI)"
)
CHECKED: list[int] = []


def _expected(case: dict[str, Any], preset: str) -> dict[str, Any]:
    expected = dict(case["expect"])
    expected.update(case.get(f"expect_{preset}", {}))
    return expected


def _rows(case: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for event in case["events"]:
        row = dict(event)
        row.setdefault("case_id", 1)
        row.setdefault("customer_id", 1)
        row.setdefault("channel", case["channel"])
        rows.append(row)
    return rows


def _case_row(
    rows: list[dict[str, Any]],
    case: dict[str, Any],
    preset: str,
    columns: list[str] | None = None,
) -> dict[str, Any]:
    as_of = dt.datetime.fromisoformat(case["as_of"].replace("Z", "+00:00"))
    policy = csm.Policy.preset(preset, as_of=as_of)
    log = csm.testing.log_from_rows(rows)
    table = csm.case_table(log, policy=policy, columns=columns).collect()
    return table.filter(pl.col("case_id") == rows[0]["case_id"]).row(0, named=True)


def _compare(row: dict[str, Any], expected: dict[str, Any], label: str) -> int:
    for column, want in expected.items():
        got = row[column]
        if isinstance(got, dt.timedelta):
            got = got.total_seconds()
        want = None if want == "null" else want
        assert got == want, f"{label}: {column} = {got!r}, expected {want!r}"
    return len(expected)


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("case", CASES, ids=[c["name"][:48] for c in CASES])
def test_conformance(case: dict[str, Any], preset: str) -> None:
    expected = _expected(case, preset)
    rows = _rows(case)
    CHECKED.append(_compare(_case_row(rows, case, preset), expected, f"{case['name']} [{preset}]"))
    for column, want in expected.items():  # each value also when its column is asked alone
        alone = _case_row(rows, case, preset, columns=[column])
        _compare(alone, {column: want}, f"{case['name']} [{preset}, {column} alone]")
    for seed in range(3):  # row order never matters
        shuffled = rows[:]
        random.Random(seed).shuffle(shuffled)
        _compare(
            _case_row(shuffled, case, preset), expected, f"{case['name']} [{preset}, shuffled]"
        )


def test_conformance_count(capsys: pytest.CaptureFixture[str]) -> None:
    """Prints how many expected values were checked (run after the parametrized tests)."""
    total = sum(len(_expected(c, p)) for c in CASES for p in PRESETS)
    with capsys.disabled():
        print(
            f"\nconformance: {total} expected values checked over {len(CASES)} cases "
            f"x {len(PRESETS)} presets (each also shuffled 3 times)"
        )
    assert total > 0
