"""``csmetrics.__all__`` is exactly the public API, sorted (as httpx keeps its exports)."""

from __future__ import annotations

import types

import csmetrics as csm


def test_all_is_sorted_and_complete() -> None:
    assert csm.__all__ == sorted(csm.__all__)
    assert all(hasattr(csm, name) for name in csm.__all__)
    public = {
        name
        for name, value in vars(csm).items()
        if not name.startswith("_")
        and not (isinstance(value, types.ModuleType) and name not in csm.__all__)
        and getattr(value, "__module__", "csmetrics") not in ("typing", "__future__")
        and name not in ("annotations", "Any")
    }
    assert public == set(csm.__all__)


def test_version_is_read_lazily() -> None:
    assert csm.__version__.count(".") == 2
