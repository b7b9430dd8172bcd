"""Helpers for tests and examples: build tiny event logs by hand.

Vendors' adapter and metric checks (``check_adapter``, ``check_metric``) live here too.
"""

from __future__ import annotations

from csmetrics._checks import ConformanceError, check_adapter, check_metric, sample_case_table
from csmetrics._hand_logs import log_from_rows

__all__ = [
    "ConformanceError",
    "check_adapter",
    "check_metric",
    "log_from_rows",
    "sample_case_table",
]
