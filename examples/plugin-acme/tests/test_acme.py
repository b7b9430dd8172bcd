"""The plugin's own CI: the checks csmetrics runs on its built-ins, run on this plugin."""

from __future__ import annotations

from pathlib import Path

from csmetrics_acme import adapter, quick_reply_rate

import csmetrics as csm
from csmetrics.testing import check_adapter, check_metric

SAMPLE = """ticket,customer,at,action
1,c1,2024-03-01T09:00:00Z,opened
1,c1,2024-03-01T09:00:00Z,customer_wrote
1,c1,2024-03-01T09:10:00Z,agent_wrote
1,c1,2024-03-01T09:12:00Z,closed
2,c2,2024-03-01T10:00:00Z,opened
2,c2,2024-03-01T10:40:00Z,agent_wrote
"""


def test_adapter_conforms(tmp_path: Path) -> None:
    sample = tmp_path / "acme.csv"
    sample.write_text(SAMPLE)
    log = check_adapter(adapter, sample, n_source_rows=6)
    assert log.frame.collect().height == 6


def test_metric_conforms() -> None:
    check_metric(quick_reply_rate)


def test_found_by_name() -> None:
    assert csm.metrics.get("acme_quick_reply_rate").name == "acme_quick_reply_rate"
