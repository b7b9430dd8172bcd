"""csmetrics: one consistent set of customer-service metrics from event logs of any channel.

>>> import csmetrics as csm
>>> log = csm.testing.log_from_rows([("09:00", "case_created", "customer"),
...     ("09:30", "message", "agent")])
>>> csm.compute(log, "first_response_time").collect()["value"].item()
1800.0
"""

from __future__ import annotations

import importlib
import typing

from csmetrics import cases, metrics, sla, state, testing
from csmetrics._version import __version__ as __version__
from csmetrics.calendar import (
    BusinessCalendar,
    Holiday,
    Schedule,
    business_deadline,
    business_duration,
    with_business_durations,
)
from csmetrics.cases import case_table, explain, next_reply_pairs
from csmetrics.compute import compute, journey_metrics, survival
from csmetrics.exceptions import (
    AdapterError,
    CalendarError,
    CsMetricsError,
    CsMetricsWarning,
    PluginError,
    PolicyError,
    SchemaError,
    UnknownMetricError,
)
from csmetrics.journeys import (
    IdentityMap,
    channel_switch_matrix,
    journey_cases,
    journeys,
)
from csmetrics.log import EventLog, scan_events, validate
from csmetrics.policy import Policy
from csmetrics.sla import SlaPolicy, SlaRule, SlaTarget, sla_metrics, sla_table
from csmetrics.state import MetricState, compute_partitioned, compute_state

if typing.TYPE_CHECKING:
    from csmetrics import adapters, datasets, plugins
    from csmetrics.quarantine import Quarantined, compute_quarantined
    from csmetrics.report import Report, Summary
    from csmetrics.spillover import spillover
    from csmetrics.trends import trends

# Loaded on first use (PEP 562): a job that computes metrics does not pay for the report,
# the adapters and the simulator at import time.
_LAZY: dict[str, tuple[str, str | None]] = {
    "adapters": ("csmetrics.adapters", None),
    "datasets": ("csmetrics.datasets", None),
    "plugins": ("csmetrics.plugins", None),
    "Quarantined": ("csmetrics.quarantine", "Quarantined"),
    "compute_quarantined": ("csmetrics.quarantine", "compute_quarantined"),
    "Report": ("csmetrics.report", "Report"),
    "Summary": ("csmetrics.report", "Summary"),
    "spillover": ("csmetrics.spillover", "spillover"),
    "trends": ("csmetrics.trends", "trends"),
}


def __getattr__(name: str) -> object:
    if name not in _LAZY:
        raise AttributeError(f"module 'csmetrics' has no attribute {name!r}")
    module_name, attribute = _LAZY[name]
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "AdapterError",
    "BusinessCalendar",
    "CalendarError",
    "CsMetricsError",
    "CsMetricsWarning",
    "EventLog",
    "Holiday",
    "IdentityMap",
    "MetricState",
    "PluginError",
    "Policy",
    "PolicyError",
    "Quarantined",
    "Report",
    "Schedule",
    "SchemaError",
    "SlaPolicy",
    "SlaRule",
    "SlaTarget",
    "Summary",
    "UnknownMetricError",
    "adapters",
    "business_deadline",
    "business_duration",
    "case_table",
    "cases",
    "channel_switch_matrix",
    "compute",
    "compute_partitioned",
    "compute_quarantined",
    "compute_state",
    "datasets",
    "explain",
    "journey_cases",
    "journey_metrics",
    "journeys",
    "metrics",
    "next_reply_pairs",
    "plugins",
    "scan_events",
    "sla",
    "sla_metrics",
    "sla_table",
    "spillover",
    "state",
    "survival",
    "testing",
    "trends",
    "validate",
    "with_business_durations",
]
