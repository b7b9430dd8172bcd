"""The HTML report: contents traced to compute, escaping, offline by construction."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import csmetrics as csm
from csmetrics.calendar import BusinessCalendar
from csmetrics.exceptions import PolicyError, SchemaError
from csmetrics.report.summary import Report
from csmetrics.report.text import format_value

SECTIONS = (
    "headline",
    "distributions",
    "over-time",
    "cross-channel",
    "comp",
    "trends",
    "sla",
    "definitions",
)

# Attributes a browser fetches (or navigates to) by itself, and tags that load something.
_URL_ATTRIBUTES = {
    "src",
    "href",
    "srcset",
    "poster",
    "data",
    "action",
    "formaction",
    "background",
    "xlink:href",
    "ping",
    "manifest",
}
_LOADING_TAGS = {"script", "link", "iframe", "img", "object", "embed", "video", "audio", "base"}


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _LOADING_TAGS:
            self.found.append(f"<{tag}>")
        self._in_style = tag == "style"
        for name, value in attrs:
            value = value or ""
            if name in _URL_ATTRIBUTES and not (value.startswith("#") or value == ""):
                self.found.append(f"{tag} {name}={value}")
            if name == "style":
                self._css(value)
            if tag == "meta" and name == "http-equiv" and value.lower() == "refresh":
                self.found.append("meta refresh")

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self._css(data)

    def _css(self, text: str) -> None:
        lowered = text.lower()
        if "@import" in lowered or "@font-face" in lowered:
            self.found.append("css @import/@font-face")
        for target in re.findall(r"url\(\s*['\"]?([^)'\"]*)", lowered):
            if not target.startswith("#"):
                self.found.append(f"css url({target})")


def fetchable_references(page: str) -> list[str]:
    """Everything in an HTML page that would make a browser load something."""
    parser = _References()
    parser.feed(page)
    parser.close()
    return parser.found


class _Tables(HTMLParser):
    """The text of every cell of the tables in ``<section id=...>``."""

    def __init__(self, section: str) -> None:
        super().__init__()
        self.section = section
        self.depth = 0
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section":
            if self.depth or dict(attrs).get("id") == self.section:
                self.depth += 1
        elif self.depth and tag == "tr":
            self.rows.append([])
        elif self.depth and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "section" and self.depth:
            self.depth -= 1
        elif self._cell is not None and tag in ("td", "th"):
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def table_rows(page: str, section: str) -> list[list[str]]:
    parser = _Tables(section)
    parser.feed(page)
    return parser.rows


def section_html(page: str, section: str) -> str:
    start = page.index(f'<section id="{section}">')
    return page[start : page.index("</section>", start)]


@pytest.fixture(scope="module")
def sample_report() -> Report:
    return Report(csm.datasets.sample_log())


@pytest.fixture(scope="module")
def sample_page(sample_report: Report) -> str:
    return sample_report.to_html()


def small_log() -> csm.EventLog:
    # case 1, email: created 09:00, agent reply 09:30, solved 10:00.
    # case 2, chat: created 09:00, agent reply 09:02, comp 20.00 at 09:10, solved 09:20.
    # case 3, email: created 11:00, never answered (as_of = last event = 11:00: open).
    return csm.testing.log_from_rows(
        [
            ("09:00", "case_created", "customer", {"case_id": 1}),
            ("09:30", "message", "agent", {"case_id": 1}),
            ("10:00", "status_changed", "agent", {"case_id": 1, "status": "solved"}),
            (
                "09:00",
                "case_created",
                "customer",
                {"case_id": 2, "customer_id": 2, "channel": "chat"},
            ),
            ("09:02", "message", "agent", {"case_id": 2, "customer_id": 2, "channel": "chat"}),
            (
                "09:10",
                "comp_granted",
                "agent",
                {"case_id": 2, "customer_id": 2, "channel": "chat", "comp_amount": 20.0},
            ),
            (
                "09:20",
                "status_changed",
                "agent",
                {"case_id": 2, "customer_id": 2, "channel": "chat", "status": "solved"},
            ),
            ("11:00", "case_created", "customer", {"case_id": 3, "customer_id": 3}),
        ]
    )


@pytest.fixture(scope="module")
def small_report() -> Report:
    return Report(small_log())


def test_headline_table_is_worked_by_hand() -> None:
    page = Report(small_log(), period="day").to_html()
    rows = table_rows(page, "headline")
    header, body = rows[0], {r[0]: r[1:] for r in rows[1:]}
    assert header[:8] == [
        "channel",
        "cases",
        "open at as_of",
        "response rate",
        "first response median",
        "first response p90",
        "resolution median",
        "resolution p90",
    ]
    # chat: one case, answered after 2 min, solved after 20 min, comped.
    assert body["chat"] == ["1", "0", "100.0%", "2.0m", "2.0m", "20.0m", "20.0m", "0.0%", "100.0%"]
    # email: case 1 answered after 30 min and solved after 1 h; case 3 waits (open):
    # response rate 1 of 2 = 50%; the open case has no first response time.
    assert body["email"] == ["2", "1", "50.0%", "30.0m", "30.0m", "1.0h", "1.0h", "0.0%", "0.0%"]
    # all: first responses 120 s and 1800 s: median 960 s = 16.0m,
    # p90 = 120 + 0.9 * (1800 - 120) = 1632 s = 27.2m; resolutions 1200 s and 3600 s:
    # median 2400 s = 40.0m, p90 = 1200 + 0.9 * 2400 = 3360 s = 56.0m; 2 of 3 answered.
    assert body["(all)"] == ["3", "1", "66.7%", "16.0m", "27.2m", "40.0m", "56.0m", "0.0%", "33.3%"]


def test_comp_section_is_worked_by_hand() -> None:
    page = Report(small_log(), period=None).to_html()
    rows = {r[0]: r[1:] for r in table_rows(page, "comp") if len(r) == 5}
    # chat: 1 comped case of 1, total 20.00, mean 20.00 per comped case; email: none.
    assert rows["chat"][:4] == ["1", "100.0%", "20.00", "20.00"]
    assert rows["email"][:3] == ["0", "0.0%", "0.00"]


def test_headline_figures_are_compute_figures(sample_report: Report, sample_page: str) -> None:
    tidy = csm.compute(csm.datasets.sample_log(), by="channel", quantiles=(0.5, 0.9)).collect()
    rows = {r[0]: r[1:] for r in table_rows(sample_page, "headline")[1:]}
    for channel in tidy["channel"].unique():
        figures = tidy.filter(pl.col("channel") == channel)

        def value(metric: str, column: str = "value", figures: Any = figures) -> Any:
            return figures.filter(pl.col("metric") == metric)[column].item()

        row = rows[channel]
        assert row[0] == f"{value('volume'):,.0f}"
        assert row[2] == format_value(value("response_rate"), "ratio")
        assert row[3] == format_value(value("first_response_time", "p50"), "seconds")
        assert row[4] == format_value(value("first_response_time", "p90"), "seconds")
        assert row[8] == format_value(value("comp_rate"), "ratio")


def test_every_section_is_there(sample_page: str) -> None:
    assert sample_page.startswith("<!DOCTYPE html>")
    for section in SECTIONS:
        assert f'<section id="{section}">' in sample_page, section
        assert f'href="#{section}"' in sample_page, section


def test_page_loads_nothing(sample_page: str) -> None:
    assert fetchable_references(sample_page) == []
    assert not re.search(r"https?://", sample_page)
    assert "default-src 'none'" in sample_page  # the browser itself refuses any fetch


def test_scanner_finds_what_would_load() -> None:
    page = (
        '<html><head><link rel="stylesheet" href="https://cdn.example/x.css">'
        "<style>@import 'a.css'; body { background: url(http://x/y.png) }</style></head>"
        '<body><img src="y.png"><a href="#ok">ok</a><div style="background:url(//x/z)">'
        "</div></body></html>"
    )
    found = fetchable_references(page)
    assert "<link>" in found
    assert "<img>" in found
    assert "link href=https://cdn.example/x.css" in found
    assert "css @import/@font-face" in found
    assert "css url(http://x/y.png)" in found
    assert "css url(//x/z)" in found
    assert not any("#ok" in f for f in found)


def test_every_chart_is_well_formed_svg(sample_page: str) -> None:
    charts = re.findall(r"<svg.*?</svg>", sample_page, flags=re.S)
    # 2 distributions, 2 over time, heat map, queue jumps, comp, trends
    assert len(charts) >= 8
    for chart in charts:
        root = ET.fromstring(chart)
        assert root.tag == "svg"
        assert root.find("title") is not None


def test_text_from_the_data_is_escaped() -> None:
    hostile = '<img src=x onerror="alert(1)">'
    log = csm.testing.log_from_rows(
        [
            ("09:00", "case_created", "customer", {"channel": hostile, "topic": "</style><b>"}),
            ("09:30", "message", "agent", {"channel": hostile, "topic": "</style><b>"}),
        ]
    )
    page = Report(log, title="Q&A <report>").to_html()
    assert hostile not in page
    assert "</style><b>" not in page
    assert html_escape(hostile) in page
    assert "<title>Q&amp;A &lt;report&gt;</title>" in page
    assert fetchable_references(page) == []


def html_escape(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def test_definitions_trace_every_number(sample_page: str) -> None:
    definitions = section_html(sample_page, "definitions")
    for text in (
        "csmetrics.datasets.sample_log()",
        "21,102",  # events
        "2,000",  # cases
        "2024-01-28T23:59:57.935993+00:00",  # as_of: the latest event
        "first_response_start",  # Policy.describe()
        "none: durations are in calendar time",
    ):
        assert text in definitions, text
    definition = csm.metrics.get("first_response_time").definition
    assert html_escape(definition) in definitions


def test_cross_channel_and_trend_sections_are_wired(sample_page: str) -> None:
    cross = section_html(sample_page, "cross-channel")
    assert "queue_jump_rate" in cross
    assert "Channel switches" in cross
    trends = section_html(sample_page, "trends")
    assert "not available" not in trends
    assert "Cases per day by topic" in trends


def test_sla_section_without_and_with_a_policy(small_report: Report) -> None:
    log = small_log()
    assert "no SLA policy configured" in section_html(small_report.to_html(), "sla")
    # an SLA object csmetrics cannot use: the section says so, the report still renders
    page = Report(log, sla=object()).to_html()
    sla = section_html(page, "sla")
    assert "no SLA policy configured" not in sla
    assert "not available" in sla


def test_a_failing_optional_section_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("journeys exploded")

    # the report's data module imported the function: replace it where it is looked up
    monkeypatch.setattr("csmetrics.report._data.channel_switch_matrix", broken)
    page = Report(small_log()).to_html()
    cross = section_html(page, "cross-channel")
    assert "not available: csmetrics.journeys failed (RuntimeError: journeys exploded)" in cross
    assert '<section id="definitions">' in page


def test_without_period_and_without_groups() -> None:
    page = Report(small_log(), by=None, period=None).to_html()
    assert "no period was asked for" in section_html(page, "over-time")
    rows = table_rows(page, "headline")
    assert [r[0] for r in rows[1:]] == ["(all)"]
    assert rows[1][1] == "3"


def test_to_html_writes_the_file_and_computes_once(small_report: Report, tmp_path: Path) -> None:
    report = small_report
    target = tmp_path / "report.html"
    page = report.to_html(target)
    assert target.read_text(encoding="utf-8") == page
    data = report.collect()
    assert report.collect() is data
    assert report.to_html() == page  # deterministic: no clock in the page


def test_notebook_fragment_and_text(small_report: Report) -> None:
    report = small_report
    fragment = report._repr_html_()
    assert fragment.startswith('<div class="csm-report">')
    assert "<html" not in fragment
    assert "<style>" in fragment  # styles scoped under .csm-report
    text = str(report)
    assert text == repr(report)
    assert "first_response_time" in text
    assert "queue_jump_rate" in text
    assert "no SLA policy configured" in text


def test_quarantined_rows_are_counted() -> None:
    # two good rows, one csat answer outside 1-5 (rule R8): left out and counted
    frame = pl.DataFrame(
        {
            "case_id": [1, 1, 1],
            "customer_id": [1, 1, 1],
            "channel": ["email"] * 3,
            "ts": [dt.datetime(2024, 3, 1, h, tzinfo=dt.UTC) for h in (9, 10, 11)],
            "event_type": ["case_created", "message", "csat"],
            "actor": ["customer", "agent", "customer"],
            "csat_score": [None, None, 9.0],
        }
    )
    log = csm.EventLog.from_frame(frame)
    with pytest.raises(SchemaError):
        Report(log).to_html()
    page = Report(log, on_invalid="quarantine").to_html()
    facts = dict(re.findall(r"<dt>([^<]*)</dt><dd>([^<]*)</dd>", section_html(page, "definitions")))
    assert facts["rejected rows"].startswith("1 ")
    assert facts["events used"] == "2"


def test_bad_arguments() -> None:
    with pytest.raises(
        PolicyError, match=r"period 'wek' is not a period \(did you mean 'week'\?\)"
    ):
        Report(small_log(), period="wek")  # type: ignore[arg-type]
    with pytest.raises(PolicyError, match="'by'"):
        Report(small_log(), by=["channel", "team"])  # type: ignore[arg-type]
    with pytest.raises(PolicyError, match="on_invalid"):
        Report(small_log(), on_invalid="ignore")  # type: ignore[arg-type]
    with pytest.raises(PolicyError, match="not in the case table"):
        Report(small_log(), by="no_such_column").to_html()


def test_calendar_is_described() -> None:
    calendar = BusinessCalendar.weekly("Europe/Paris", name="support-emea", mon="09:00-17:00")
    page = Report(small_log(), calendar=calendar).to_html()
    definitions = section_html(page, "definitions")
    assert "support-emea (Europe/Paris)" in definitions
    assert "09:00-17:00" in definitions
