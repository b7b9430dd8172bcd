"""The oracle (tests/oracles.py) meets every hand-worked value of the conformance cases.

The cases live in ``../shared/conformance/cases.toml`` (DESIGN §4.4); ``expect`` holds for every
preset checked here unless ``expect_<preset>`` overrides a value.
"""

from __future__ import annotations

import datetime as dt
import math
import tomllib
from pathlib import Path
from typing import Any

import pytest
from tests.oracles import oracle_case_table, parse_ts

from csmetrics.policy import Policy

CASES_PATH = Path(__file__).resolve().parents[1].parent / "shared" / "conformance" / "cases.toml"
PRESETS_CHECKED = ("csmetrics", "zendesk", "chatwoot")


def load_conformance_cases() -> list[dict[str, Any]]:
    """The ``[[case]]`` entries of cases.toml (skips the test when the file is absent)."""
    if not CASES_PATH.exists():
        pytest.skip(f"conformance cases not found at {CASES_PATH} (the shared folder is absent)")
    with CASES_PATH.open("rb") as fh:
        return list(tomllib.load(fh)["case"])


def conformance_events(case: dict[str, Any]) -> list[dict[str, Any]]:
    """The canonical events of one conformance case (customer 1, case 1 unless given)."""
    events = []
    for i, raw in enumerate(case["events"]):
        event = {"event_id": i, "case_id": 1, "customer_id": 1, "channel": case["channel"]}
        event.update(raw)
        event["ts"] = parse_ts(event["ts"])
        events.append(event)
    return events


def expected_values(case: dict[str, Any], preset: str) -> dict[str, Any]:
    """``expect`` with ``expect_<preset>`` laid over it."""
    return {**case.get("expect", {}), **case.get(f"expect_{preset}", {})}


def matches(actual: Any, expected: Any) -> bool:
    """Compare a case-table value with a TOML expectation (durations in seconds)."""
    if expected == "null":
        return actual is None
    if actual is None:
        return False
    if isinstance(actual, dt.timedelta):
        return math.isclose(actual.total_seconds(), float(expected), abs_tol=1e-6)
    if isinstance(expected, bool) or isinstance(actual, bool):
        return actual is expected
    if isinstance(expected, float) or isinstance(actual, float):
        return math.isclose(float(actual), float(expected), abs_tol=1e-9)
    return bool(actual == expected)


_CASES = load_conformance_cases() if CASES_PATH.exists() else []


@pytest.mark.skipif(not CASES_PATH.exists(), reason=f"{CASES_PATH} is absent")
@pytest.mark.parametrize("preset", PRESETS_CHECKED)
@pytest.mark.parametrize("case", _CASES, ids=[c["name"][:40] for c in _CASES])
def test_oracle_meets_conformance_case(case: dict[str, Any], preset: str) -> None:
    policy = Policy.preset(preset, as_of=parse_ts(case["as_of"]))
    table = oracle_case_table(conformance_events(case), policy)
    assert list(table) == [1]
    row = table[1]
    wrong = {
        column: (row.get(column, "<missing>"), expected)
        for column, expected in expected_values(case, preset).items()
        if not matches(row.get(column), expected)
    }
    assert not wrong, f"{case['name']!r} [{preset}]: column: (oracle, expected) {wrong}"


def test_conformance_file_is_found_and_nonempty() -> None:
    cases = load_conformance_cases()
    assert cases
    assert all("events" in c and "as_of" in c for c in cases)
