"""An installed plugin metric is used by ``compute`` by name; a broken one harms nothing."""

from __future__ import annotations

import importlib.metadata

import polars as pl
import pytest

import csmetrics as csm


def _installed(dist: str) -> bool:
    try:
        importlib.metadata.distribution(dist)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


needs_acme = pytest.mark.skipif(
    not _installed("csmetrics-acme"),
    reason="examples/plugin-acme is not installed (.ci/run installs it: "
    "pip install ./examples/plugin-acme ./examples/plugin-broken)",
)


@needs_acme
def test_plugin_metric_in_compute_by_name() -> None:
    log = csm.datasets.simulate(n_cases=300, seed=5)
    out = csm.compute(log, ["acme_quick_reply_rate", "response_rate"], by="channel").collect()
    assert set(out["metric"]) == {"acme_quick_reply_rate", "response_rate"}
    acme = out.filter(pl.col("metric") == "acme_quick_reply_rate")
    assert acme["value"].drop_nulls().is_between(0, 1).all()
    assert "acme_quick_reply_rate" in csm.metrics.names()


@needs_acme
def test_broken_plugin_does_not_break_the_others() -> None:
    if not _installed("csmetrics-broken"):
        pytest.skip("examples/plugin-broken is not installed")
    log = csm.datasets.simulate(n_cases=100, seed=5)
    # the broken plugin is listed, raises only when asked for, and compute still works
    assert "broken_metric" in csm.metrics.names()
    with pytest.raises(csm.PluginError, match="broken"):
        csm.metrics.get("broken_metric")
    assert csm.compute(log, "acme_quick_reply_rate").collect().height == 1
