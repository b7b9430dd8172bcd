"""Fails to import, as a plugin with a missing dependency or a bug at import time does."""

from __future__ import annotations

raise RuntimeError("csmetrics-broken fails on import on purpose")
