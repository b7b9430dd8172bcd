"""``import csmetrics`` loads no pandas, even after reading and computing on Polars frames.

Each check runs in a fresh interpreter, as narwhals' ``no_imports_test.py`` does: the test
process itself has long imported pandas (hypothesis, other tests).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PRELUDE = """
import sys
import csmetrics as csm
assert "pandas" not in sys.modules, "import csmetrics imported pandas"
"""


def run_fresh(code: str, tmp_path: Path) -> None:
    script = textwrap.dedent(PRELUDE) + textwrap.dedent(code)
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_import_does_not_load_pandas(tmp_path: Path) -> None:
    run_fresh("", tmp_path)


def test_reading_and_validating_polars_frames_does_not_load_pandas(tmp_path: Path) -> None:
    run_fresh(
        """
        import polars as pl
        raw = pl.DataFrame({"case_id": [1, 1], "customer_id": [7, 7], "channel": ["email"] * 2,
            "ts": ["2024-03-01T09:00:00Z", "2024-03-01T09:30:00Z"],
            "event_type": ["case_created", "message"], "actor": ["customer", "agent"]})
        good, rejected = csm.validate(raw, mode="split")
        assert good.collect().height == 2
        raw.write_parquet("events.parquet")
        raw.write_csv("events.csv")
        for path in ("events.parquet", "events.csv"):
            csm.scan_events(path).validate()
        csm.EventLog.from_frame(raw.to_arrow()).collect()
        assert "pandas" not in sys.modules, "reading imported pandas"
        """,
        tmp_path,
    )


def test_computing_a_case_table_does_not_load_pandas(tmp_path: Path) -> None:
    pytest.importorskip("csmetrics.cases")
    run_fresh(
        """
        from csmetrics.cases import case_table
        log = csm.testing.log_from_rows([("09:00", "case_created", "customer"),
            ("09:30", "message", "agent")])
        table = getattr(csm, "case_table", case_table)(log).collect()
        assert table.height == 1
        assert "pandas" not in sys.modules, "case_table imported pandas"
        """,
        tmp_path,
    )
