"""Summary (notebook and terminal display, standard charts) and the SVG chart builders."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import csmetrics as csm
from csmetrics.exceptions import PolicyError
from csmetrics.report.charts import (
    ALL_COLOR,
    OTHER_COLOR,
    PALETTE,
    Box,
    Chart,
    bar_chart,
    box_chart,
    heat_map,
    line_chart,
    series_colors,
)
from csmetrics.report.summary import PLOT_KINDS, Summary
from csmetrics.report.text import headline_table, render_table

SVG = "{http://www.w3.org/2000/svg}"
ALLOWED_TAGS = {
    f"{SVG}{tag}"
    for tag in ("svg", "title", "desc", "rect", "text", "line", "g", "polyline", "circle")
}


def two_channels() -> csm.EventLog:
    # email: created 09:00, answered 09:30 (30 min); chat: created 09:00, answered 09:02.
    return csm.testing.log_from_rows(
        [
            ("09:00", "case_created", "customer", {"case_id": 1}),
            ("09:30", "message", "agent", {"case_id": 1}),
            ("09:00", "case_created", "customer", {"case_id": 2, "channel": "chat"}),
            ("09:02", "message", "agent", {"case_id": 2, "channel": "chat"}),
        ]
    )


@pytest.fixture(scope="module")
def sample_summary() -> Summary:
    tidy = csm.compute(
        csm.datasets.sample_log(),
        ["volume", "backlog", "first_response_time", "first_resolution_time", "comp_rate"],
        by="channel",
        quantiles=(0.1, 0.25, 0.5, 0.75, 0.9),
    )
    return Summary(tidy, title="by channel")


@pytest.fixture(scope="module")
def weekly_summary() -> Summary:
    tidy = csm.compute(
        csm.datasets.sample_log(),
        ["volume", "backlog", "first_response_time"],
        by="channel",
        period="week",
    )
    return Summary(tidy)


def parse(chart: str) -> ET.Element:
    return ET.fromstring(chart)


def test_text_is_the_cli_table() -> None:
    tidy = csm.compute(two_channels(), ["first_response_time", "volume"], by="channel")
    summary = Summary(tidy)
    expected = render_table(headline_table(tidy.collect(), "channel"))
    assert str(summary) == expected == repr(summary)
    # chat answered after 2 min, email after 30
    assert "2.0m (n=1)" in expected
    assert "30.0m (n=1)" in expected


def test_text_without_groups_and_with_periods() -> None:
    log = two_channels()
    plain = str(Summary(csm.compute(log, "first_response_time")))
    # median of 120 s and 1800 s = 960 s = 16.0m
    assert "16.0m (n=2)" in plain
    periodic = str(Summary(csm.compute(log, "volume", by="channel", period="day")))
    assert "chat / 2024-03-01" in periodic


def test_html_table_has_a_column_per_group() -> None:
    summary = Summary(csm.compute(two_channels(), "first_response_time", by="channel"))
    page = summary._repr_html_()
    assert page.startswith('<div class="csm-summary">')
    assert '<th scope="col">chat</th>' in page
    assert '<th scope="col">email</th>' in page
    assert 'title="n=1"' in page
    assert "30.0m" in page


def test_keys_and_collects_once() -> None:
    lazy = csm.compute(two_channels(), "volume", by="channel", period="day")
    summary = Summary(lazy)
    assert summary.keys == ["channel", "period_start"]
    assert summary.by == ["channel"]
    assert summary.frame is summary.frame


def test_rejects_what_is_not_a_tidy_result() -> None:
    with pytest.raises(PolicyError, match="Summary needs"):
        Summary({"metric": []})  # type: ignore[arg-type]
    with pytest.raises(PolicyError, match="missing"):
        Summary(pl.DataFrame({"a": [1]}))


@pytest.mark.parametrize("kind", sorted(PLOT_KINDS))
def test_every_standard_chart(sample_summary: Summary, kind: str) -> None:
    chart = sample_summary.plot(kind)
    assert isinstance(chart, Chart)
    assert chart._repr_svg_() == str(chart)
    root = parse(chart)
    assert root.tag == f"{SVG}svg"
    text = "".join(root.itertext())
    for channel in ("email", "phone", "twitter"):
        assert channel in text


def test_duration_chart_draws_the_quantiles(sample_summary: Summary) -> None:
    chart = sample_summary.plot("first_response")
    root = parse(chart)
    # one box (p25-p75 rect) per channel, plus the white background
    rects = root.findall(f".//{SVG}rect")
    assert len(rects) == 1 + 7
    assert "median 4.4h" in chart  # email's median first response


def test_charts_over_time(weekly_summary: Summary) -> None:
    for kind in ("volume", "backlog", "first_response"):
        root = parse(weekly_summary.plot(kind))
        assert len(root.findall(f".//{SVG}polyline")) >= 7
    assert "2024-01-08" in weekly_summary.plot("volume")


def test_plot_without_the_metric_says_how_to_get_it() -> None:
    summary = Summary(csm.compute(two_channels(), "volume", by="channel"))
    with pytest.raises(PolicyError, match=r"no 'comp_rate' rows.*csm\.compute"):
        summary.plot("comp")


def test_bar_chart_values_and_escaping() -> None:
    chart = bar_chart(
        ["<b>email</b>", "chat"], [0.25, None], title="A & B", unit="ratio", notes=["n=4", "n=0"]
    )
    root = parse(chart)
    text = "".join(root.itertext())
    assert "<b>email</b>" in text  # as text, not markup
    assert "<b>" not in chart
    assert "25.0%" in text
    assert "—" in text  # the missing value
    assert root.find(f"{SVG}title") is not None
    assert root.find(f"{SVG}title").text == "A & B"  # type: ignore[union-attr]


def test_box_chart_log_ticks_cover_the_range() -> None:
    chart = box_chart([Box("phone", p10=20, p25=30, p50=45, p75=90, p90=150)], title="t")
    # 20 s .. 150 s lies between the 10s and 10m ticks
    for tick in ("10s", "1m", "10m"):
        assert f">{tick}<" in chart
    assert ">1h<" not in chart
    linear = box_chart([Box("a", p50=3.0, p10=1.0, p90=5.0)], title="t", unit="count")
    assert ">0<" in linear


def test_empty_charts_say_so() -> None:
    assert "no data" in bar_chart([], [], title="t", unit="count")
    assert "no data" in box_chart([Box("a", p50=None)], title="t")
    assert "no data" in line_chart([], {}, title="t", unit="count")
    assert "no data" in heat_map([], [], [], title="t")


def test_line_chart_breaks_and_highlights() -> None:
    days = [dt.date(2024, 1, d) for d in (1, 2, 3, 4)]
    chart = line_chart(
        days,
        {"login": [1.0, None, 3.0, 4.0]},
        title="t",
        unit="count",
        highlight={"login": [False, False, False, True]},
    )
    root = parse(chart)
    assert len(root.findall(f".//{SVG}polyline")) == 2  # broken at the missing day
    ringed = [c for c in root.findall(f".//{SVG}circle") if c.get("r") == "5"]
    assert len(ringed) == 1


def test_heat_map_shades_by_value() -> None:
    chart = heat_map(["a", "b"], ["a", "b"], [[10, 0], [5, None]], title="t")
    cells = parse(chart).findall(f".//{SVG}rect[@class='cell']")
    fills = [c.get("fill") for c in cells]
    assert fills[0] == "#084594"  # the largest value: darkest
    assert fills[1] == "#ffffff"  # zero: white
    assert fills[3] == "#f5f7fa"  # missing: grey


def test_inline_and_save(tmp_path: Path) -> None:
    chart = bar_chart(["a"], [1.0], title="t", unit="count")
    assert 'xmlns="http://www.w3.org/2000/svg"' in chart
    assert "http" not in chart.inline()
    saved = chart.save(tmp_path / "c.svg")
    assert parse(saved.read_text(encoding="utf-8")).tag == f"{SVG}svg"


def test_series_colors_never_repeat() -> None:
    # issue 18: with 80 groups the palette used to cycle, so colours repeated in a chart
    names = [f"c{i}" for i in range(120)]
    colors = series_colors(names)
    assert [colors[f"c{i}"] for i in range(len(PALETTE))] == list(PALETTE)
    assert len(set(colors.values())) == len(names)
    assert not set(colors.values()) & {ALL_COLOR, OTHER_COLOR}
    for color in colors.values():  # readable on white: not too light
        r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
        assert 0.2126 * r + 0.7152 * g + 0.0722 * b < 215, color


labels = st.text(min_size=1, max_size=30)
values = st.one_of(st.none(), st.floats(min_value=0, max_value=1e9, allow_nan=False))


@settings(deadline=None, max_examples=40)
@given(st.lists(st.tuples(labels, values), min_size=1, max_size=8))
def test_any_labels_and_values_make_well_formed_svg(rows: list[tuple[str, float | None]]) -> None:
    names = [r[0] for r in rows]
    numbers = [r[1] for r in rows]
    charts = [
        bar_chart(names, numbers, title=names[0], unit="seconds"),
        box_chart([Box(n, p50=v, p10=v, p90=v) for n, v in rows], title="t"),
        heat_map(names, names, [numbers for _ in names], title="t"),
        line_chart(
            [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(len(rows))],
            {"s": numbers},
            title="t",
            unit="count",
        ),
    ]
    for chart in charts:
        root = parse(chart)  # well-formed XML whatever the text (control characters dropped)
        assert {e.tag for e in root.iter()} <= ALLOWED_TAGS  # no markup from the labels
