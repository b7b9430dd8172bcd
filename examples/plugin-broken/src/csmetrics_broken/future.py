"""An adapter written for a plugin API csmetrics does not provide (yet)."""

from __future__ import annotations

from typing import Any

plugin_api = 2


def adapter(source: Any, *, tz: str | None = None, **options: Any) -> Any:
    raise NotImplementedError
