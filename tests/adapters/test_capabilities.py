"""What a source can produce (issue 16): Capabilities, not-measurable metrics, --option."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import csmetrics as csm
from csmetrics._capabilities import (
    NOT_MEASURABLE,
    TOKENS,
    Capabilities,
    display_value,
    mark_unmeasurable,
    not_measurable_reasons,
    requires_of,
    unmeasurable,
)
from csmetrics.adapters import BUILTINS, get_adapter
from csmetrics.adapters._base import parse_options
from csmetrics.cli import main
from csmetrics.compute import business_twin
from csmetrics.exceptions import PolicyError

DATA = Path(__file__).resolve().parents[1] / "data"
TWCS_SMALL = DATA / "adapters" / "twcs_small.csv"

# ---------------------------------------------------------------------------- the vocabulary


def test_capabilities_validate_their_vocabulary() -> None:
    with pytest.raises(PolicyError, match=r"event_types: unknown \['telepathy'\]"):
        Capabilities(source="x", event_types={"telepathy"})
    with pytest.raises(PolicyError, match="message_actors"):
        Capabilities(source="x", event_types={"message"}, message_actors={"robot"})
    with pytest.raises(PolicyError, match="fields"):
        Capabilities(source="x", event_types=set(), fields={"mood"})
    with pytest.raises(PolicyError, match="not the string"):
        Capabilities(source="x", event_types="message")
    with pytest.raises(PolicyError, match="metric requirement tokens"):
        unmeasurable(frozenset({"message:agnet"}), None)


def test_tokens() -> None:
    caps = Capabilities(source="s", event_types={"message", "csat"}, fields={"csat_score"})
    # messages by anyone when no actor is named
    assert caps.tokens == {
        "csat",
        "field:csat_score",
        "message:customer",
        "message:agent",
        "message:bot",
        "message:system",
    }
    only = Capabilities(source="s", event_types={"message"}, message_actors={"customer"})
    assert only.tokens == {"message:customer"}
    assert only.extended("message:agent", "comp_granted", "field:comp_amount").tokens == {
        "message:customer",
        "message:agent",
        "comp_granted",
        "field:comp_amount",
    }
    assert caps.tokens <= TOKENS


def test_reasons_name_the_source_the_missing_events_and_the_note() -> None:
    caps = Capabilities(
        source="a ServiceNow incident event log",
        event_types={"case_created", "status_changed"},
        notes={"message": "no conversation", "*": "other"},
    )
    reason = unmeasurable(frozenset({"message:agent", "message:customer"}), caps)
    assert reason == (
        "not measurable: a ServiceNow incident event log records no agent messages "
        "(message:agent), customer messages (message:customer); no conversation"
    )
    assert unmeasurable(frozenset({"csat"}), caps) == (
        "not measurable: a ServiceNow incident event log records no satisfaction ratings "
        "(csat); other"
    )
    assert unmeasurable(frozenset(), caps) is None
    assert unmeasurable(frozenset({"comp_granted"}), None) is None  # None: anything


def test_every_builtin_metric_declares_its_requirements() -> None:
    for metric in csm.metrics.builtins():
        assert metric.requires <= TOKENS, metric.name
    free = {
        "volume",
        "channel_switch_rate",
        "repeat_contact_rate",
        "contacts_per_issue",
        "channel_switch_matrix",
    }  # need nothing beyond the case table's own events
    assert {m.name for m in csm.metrics.builtins() if not m.requires} == free
    assert requires_of(csm.metrics.get("comp_rate")) == {"comp_granted"}
    twin = business_twin(csm.metrics.get("first_response_time"))
    assert requires_of(twin) == {"message:agent"}
    assert requires_of(_named("acme_plugin_metric")) == frozenset()  # says nothing: measurable
    declared = _named("mine")
    object.__setattr__(declared, "requires", frozenset({"csat"}))
    assert requires_of(declared) == {"csat"}


class _named:  # noqa: N801 - a stand-in metric object
    def __init__(self, name: str) -> None:
        self.name = name


# ---------------------------------------------------------------------------- marking a result


def test_mark_unmeasurable_blanks_figures_and_says_why() -> None:
    tidy = pl.LazyFrame(
        {
            "channel": ["phone", "email", "phone"],
            "metric": ["response_rate", "response_rate", "volume"],
            "n": [10, 4, 10],
            "n_open": [0, 0, 0],
            "value": [0.0, 0.0, 10.0],
            "mean": [0.0, 0.0, None],
            "p50": [None, None, None],
            "p99_9": [1.0, 2.0, 3.0],
            "numerator": [0.0, 0.0, None],
            "denominator": [10.0, 4.0, None],
        }
    )
    out = mark_unmeasurable(tidy, {"response_rate": "not measurable: no replies"}).collect()
    measured = out.filter(pl.col("metric") == "volume").row(0, named=True)
    assert measured["value"] == 10.0
    assert measured["p99_9"] == 3.0
    assert measured[NOT_MEASURABLE] is None
    blank = out.filter(pl.col("metric") == "response_rate")
    for column in ("value", "mean", "p50", "p99_9", "numerator", "denominator"):
        assert blank[column].null_count() == 2, column
    assert blank["n"].to_list() == [10, 4]  # the population stays
    assert set(blank[NOT_MEASURABLE]) == {"not measurable: no replies"}
    # applied twice (compute, then a report), the first reason stays
    again = mark_unmeasurable(out.lazy(), {"volume": "later"}).collect()
    assert again[NOT_MEASURABLE].to_list() == [
        "not measurable: no replies",
        "not measurable: no replies",
        "later",
    ]


def test_display_value() -> None:
    assert display_value({"value": 0.25}, "25.0 %") == "25.0 %"
    assert display_value({NOT_MEASURABLE: "not measurable: x"}, "0.0%") == ("— (not measurable: x)")


def test_not_measurable_reasons_on_the_servicenow_capabilities() -> None:
    from csmetrics.adapters.servicenow import CAPABILITIES

    reasons = not_measurable_reasons(csm.metrics.builtins(), CAPABILITIES)
    assert {
        "response_rate",
        "first_response_time",
        "comp_rate",
        "csat",
        "abandonment_rate",
    } <= set(reasons)
    for measurable in ("first_resolution_time", "reopen_rate", "transfer_rate", "volume"):
        assert measurable not in reasons
    assert reasons["response_rate"].startswith(
        "not measurable: a ServiceNow incident event log records no agent messages"
    )


# ---------------------------------------------------------------------------- adapters


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_each_builtin_adapter_declares_its_capabilities(name: str) -> None:
    adapter = get_adapter(name)
    caps = getattr(adapter, "capabilities", "absent")
    if name == "mapping":  # a mapping can produce anything its configuration maps
        assert caps is None
    else:
        assert isinstance(caps, Capabilities)
        assert caps.can("case_created")


def test_the_log_carries_them_through_checked() -> None:
    with pytest.warns(csm.exceptions.AdapterWarning):  # 1 of its 5 threads is a brand's
        log = csm.scan_events(TWCS_SMALL, adapter="twitter")
    assert log.capabilities is not None
    assert log.capabilities.source == "Twitter threads"
    assert log.checked("quarantine").capabilities == log.capabilities
    assert csm.testing.log_from_rows([("09:00", "case_created", "customer")]).capabilities is None


def test_a_plugin_adapter_declares_them_by_attribute() -> None:
    caps = Capabilities(source="pigeon post", event_types={"case_created"})

    class Pigeon:
        name = "pigeon"
        capabilities = caps

        def __call__(self, source: Any, *, tz: str | None = None) -> csm.EventLog:
            return csm.testing.log_from_rows([("09:00", "case_created", "customer")])

    log = csm.scan_events("loft.txt", adapter=Pigeon())
    assert log.capabilities is caps


# ---------------------------------------------------------------------------- --option


def test_parse_options() -> None:
    assert parse_options(["a=1", "b=true", "c=x y", 'd="7"', "e=[1, 2]", "f = 2.5"]) == {
        "a": 1,
        "b": True,
        "c": "x y",
        "d": "7",
        "e": [1, 2],
        "f": 2.5,
    }
    with pytest.raises(PolicyError, match="KEY=VALUE"):
        parse_options(["novalue"])


def test_cli_option_reaches_the_adapter(
    real_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = real_data / "servicenow-incidents" / "incident_event_log.csv"
    start = ["report", str(path), "--adapter", "servicenow"]
    base = [*start, "--tz", "UTC", "--metric", "volume"]
    # one incident has caller '?' on every row: rejected, so the report stops (exit 1) ...
    assert main(base) == 1
    assert "null_key" in capsys.readouterr().err
    # ... unless --option gives such incidents a customer: 3,702 incidents, README figure
    out = tmp_path / "r.csv"
    assert (
        main([*base, "--option", "missing_caller=unknown", "--format", "csv", "-o", str(out)]) == 0
    )
    assert pl.read_csv(out).filter(pl.col("metric") == "volume")["value"].item() == 3_702
    # Europe/Rome needs the nonexistent-time choice, passed the same way
    assert main([*start, "--tz", "Europe/Rome", "--metric", "volume"]) == 1
    assert "does not exist in Europe/Rome" in capsys.readouterr().err
    options = ["--option", "missing_caller=unknown", "--option", "nonexistent=shift_forward"]
    assert main([*start, "--tz", "Europe/Rome", "--metric", "volume", *options]) == 0
    capsys.readouterr()
    assert main(["report", str(path), "--option", "x=1"]) == 1
    assert "--adapter" in capsys.readouterr().err


# ---------------------------------------------------------------------------- reports

_HOOKED = (
    NOT_MEASURABLE
    in csm.compute(csm.testing.log_from_rows([("09:00", "case_created", "customer")]), "volume")
    .collect_schema()
    .names()
)
needs_compute_hook = pytest.mark.skipif(
    not _HOOKED,
    reason="needs compute() to call csmetrics._capabilities.mark_unmeasurable (issue 16, the "
    "lead's compute hook)",
)


@needs_compute_hook
@pytest.mark.parametrize(
    ("folder", "name", "args", "metric", "label", "words"),
    [
        (
            "twcs",
            "twcs_sample.csv",
            ["--adapter", "twitter"],
            "comp_rate",
            "comp rate",
            "Twitter threads records no compensation events (comp_granted)",
        ),
        (
            "servicenow-incidents",
            "incident_event_log_sample.csv",
            ["--adapter", "servicenow", "--tz", "UTC"],
            "response_rate",
            "response rate",
            "a ServiceNow incident event log records no agent messages (message:agent)",
        ),
    ],
)
def test_report_shows_not_measurable_with_the_reason(
    real_data: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    folder: str,
    name: str,
    args: list[str],
    metric: str,
    label: str,
    words: str,
) -> None:
    path = str(real_data / folder / name)
    # text: "—" and the reason, never "0.0%"
    assert main(["report", path, *args]) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    # the table of every metric (after the headline table): metric, value, n_open
    top = next(i for i, row in enumerate(lines) if row.startswith("metric ") and "n_open" in row)
    header = lines[top]
    at = next(i for i, row in enumerate(lines) if i > top and row.startswith(metric + " "))
    assert "— (not measurable:" in lines[at]  # the reason wraps inside its cell (100 columns)
    assert "0.0%" not in lines[at]
    start, end = header.index("value"), header.index("n_open")
    block = [lines[at], *(row for row in lines[at + 1 : at + 5] if row.startswith(" "))]
    cell = " ".join(row[start:end].strip() for row in block)
    assert f"— (not measurable: {words}" in cell
    # CSV: the value empty, the reason in not_measurable
    out_csv = tmp_path / "r.csv"
    assert main(["report", path, *args, "--format", "csv", "-o", str(out_csv)]) == 0
    table = pl.read_csv(out_csv, infer_schema=False)
    row = table.filter(pl.col("metric") == metric).row(0, named=True)
    assert row["value"] is None
    assert words in row[NOT_MEASURABLE]
    assert table.filter(pl.col("metric") == "volume")[NOT_MEASURABLE].item() is None
    # HTML: the headline table's cell says "—" and why
    out_html = tmp_path / "r.html"
    assert main(["report", path, *args, "--format", "html", "-o", str(out_html)]) == 0
    page = html.unescape(out_html.read_text(encoding="utf-8"))
    assert label in page
    assert f"— (not measurable: {words}" in page


def test_a_mapping_declares_what_its_tables_map() -> None:
    from csmetrics.adapters.mapping import MappingConfig, mapping_capabilities

    # tickets.toml maps its actions onto case_created, message (customer and agent) …
    log = csm.scan_events(
        DATA / "adapters" / "tickets.csv",
        adapter="mapping",
        options={"config": DATA / "adapters" / "tickets.toml"},
    )
    caps = log.checked("quarantine").capabilities
    assert caps is not None
    assert caps.can("message:agent")
    assert not caps.can("comp_granted")
    # an event_type read as is can be anything
    free = MappingConfig.from_dict(
        {
            "columns": {"case_id": "c", "customer_id": "u", "ts": "t", "event_type": "e"},
            "constants": {"actor": "agent", "channel": "email"},
        }
    )
    assert mapping_capabilities(free) is None
    # a constant message by a customer only: no agent replies
    inbox = MappingConfig.from_dict(
        {
            "columns": {"case_id": "c", "customer_id": "u", "ts": "t"},
            "constants": {"event_type": "message", "actor": "customer", "channel": "email"},
        }
    )
    only = mapping_capabilities(inbox)
    assert only is not None
    assert only.tokens == {"message:customer"}
