"""The metric registry and the built-in metrics (DESIGN §4).

>>> import csmetrics as csm
>>> "first_response_time" in csm.metrics.names()
True
"""

from __future__ import annotations

from csmetrics.metrics import (
    comp,
    journeys,
    resolution,
    response,
    routing,
    satisfaction,
    status,
    voice,
    volume,
)
from csmetrics.metrics.registry import KINDS, UNITS, Metric, builtins, get, names, register

__all__ = ["KINDS", "UNITS", "Metric", "builtins", "get", "names", "register"]

_FAMILIES = (comp, journeys, resolution, response, routing, satisfaction, status, voice, volume)
