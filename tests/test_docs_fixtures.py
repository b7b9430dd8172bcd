"""The docs' own worked examples (docs/_fixtures/worked_examples.toml) hold for the code.

Every expected case-table value of the fixture, per preset (``expect_<preset>`` overrides
``expect``), is compared with :func:`csmetrics.case_table`. The docs render these cases on
the metric pages and the presets page, so a wrong figure there fails here.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import csmetrics as csm

FIXTURE = Path(__file__).resolve().parents[1] / "docs" / "_fixtures" / "worked_examples.toml"
PRESETS = ("csmetrics", "zendesk", "chatwoot")
CASES: list[dict[str, Any]] = tomllib.loads(FIXTURE.read_text(encoding="utf-8"))["case"]


def _rows(case: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"case_id": 1, "customer_id": 1, "channel": case["channel"], **e} for e in case["events"]
    ]


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("case", CASES, ids=[c["name"][:40] for c in CASES])
def test_worked_example_holds(case: dict[str, Any], preset: str) -> None:
    expected = {**case["expect"], **case.get(f"expect_{preset}", {})}
    as_of = dt.datetime.fromisoformat(case["as_of"].replace("Z", "+00:00"))
    policy = csm.Policy.preset(preset, as_of=as_of)
    table = csm.case_table(csm.testing.log_from_rows(_rows(case)), policy=policy).collect()
    row = table.filter(pl.col("case_id") == 1).row(0, named=True)
    for column, want in expected.items():
        got = row[column]
        if isinstance(got, dt.timedelta):
            got = got.total_seconds()
        assert got == (None if want == "null" else want), f"{column} [{preset}]"


def test_every_value_shows_its_arithmetic() -> None:
    text = FIXTURE.read_text(encoding="utf-8")
    durations = [
        line
        for line in text.splitlines()
        if line.split("=")[0].strip().endswith(("_time", "_time_sum"))
        and "null" not in line
        and " = 0" not in line
    ]
    assert durations
    assert all("#" in line for line in durations), [d for d in durations if "#" not in d]


def test_presets_differ_somewhere() -> None:
    assert {t for c in CASES for t in c if t.startswith("expect_")} >= {
        "expect_zendesk",
        "expect_chatwoot",
    }
