"""csmetrics: one consistent set of customer-service metrics from event logs of any channel."""

from __future__ import annotations

from typing import Any

from csmetrics import testing
from csmetrics.exceptions import (
    AdapterError,
    CalendarError,
    CsMetricsError,
    PluginError,
    PolicyError,
    SchemaError,
    UnknownMetricError,
)
from csmetrics.log import EventLog, scan_events
from csmetrics.policy import Policy
from csmetrics.validate import validate

__all__ = [
    "AdapterError",
    "CalendarError",
    "CsMetricsError",
    "EventLog",
    "PluginError",
    "Policy",
    "PolicyError",
    "SchemaError",
    "UnknownMetricError",
    "scan_events",
    "testing",
    "validate",
]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from csmetrics._version import __version__

        return __version__
    raise AttributeError(f"module 'csmetrics' has no attribute {name!r}")
