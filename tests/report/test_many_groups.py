"""The HTML report and Summary charts with many groups (issue 18, item 7).

A log of 85 teams (``many_groups.py``): charts show the largest teams and ``(other)``, every
series named in its legend, no colour twice in a chart; empty teams are hidden; teams are
ordered by cases, names compared in any case; the headline gives the change from the
previous period. Expected figures are counted from the events, not from csmetrics.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import re
from xml.etree.ElementTree import Element, fromstring

import polars as pl
import pytest

import csmetrics as csm
from csmetrics.report._data import OTHER_LABEL, TOP_GROUPS
from csmetrics.report.charts import OTHER_COLOR, Box, box_chart
from csmetrics.report.summary import Report, Summary

from .many_groups import EMPTY_TEAM, N_TEAMS, many_teams_frame

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    return many_teams_frame()


@pytest.fixture(scope="module")
def report(frame: pl.DataFrame) -> Report:
    return Report(frame, by="team", period="week")


@pytest.fixture(scope="module")
def page(report: Report) -> str:
    return report.to_html()


def _cases_per_team(frame: pl.DataFrame) -> dict[str, int]:
    """Cases per team by hand: distinct case ids, merged cases left out (as in volume)."""
    merged = frame.filter(pl.col("event_type") == "merged")["case_id"].unique()
    kept = frame.filter(~pl.col("case_id").is_in(merged.implode()))
    counts = kept.group_by("team").agg(pl.col("case_id").n_unique().alias("n"))
    return dict(counts.rows())


def _charts(page: str) -> list[Element]:
    """Every chart of the page (inline SVG carries no xmlns in HTML: put it back)."""
    found = re.findall(r"<svg .*?</svg>", page, flags=re.S)
    xmlns = 'xmlns="http://www.w3.org/2000/svg"'
    return [fromstring(m if xmlns in m else m.replace("<svg ", f"<svg {xmlns} ", 1)) for m in found]


def test_groups_ordered_by_cases_in_any_case(report: Report, frame: pl.DataFrame) -> None:
    counts = _cases_per_team(frame)
    expected = sorted(counts, key=lambda t: (-counts[t], t.lower(), t))
    assert list(report.collect().groups) == expected
    assert len(expected) == N_TEAMS
    # mixed-case names interleave: "Team 00", "team 01" … are not split by case
    assert expected[:2] == ["Team 00", "team 01"]


def test_empty_group_is_hidden(report: Report, page: str) -> None:
    data = report.collect()
    assert data.hidden == (EMPTY_TEAM,)
    headline = page.split('id="headline"')[1].split("</section>")[0]
    rows = re.findall(r'<tr[^>]*><td class="csm-text">([^<]*)</td>', headline)
    assert EMPTY_TEAM not in rows
    assert "1 team value(s) with no case in any metric are not shown" in headline
    for chart in _charts(page):
        assert EMPTY_TEAM not in "".join(chart.itertext())


def test_charts_show_the_largest_groups_and_other(report: Report, page: str) -> None:
    data = report.collect()
    top = list(data.groups[:TOP_GROUPS])
    assert data.chart_groups == [*top, OTHER_LABEL]
    over_time = page.split('id="over-time"')[1].split("</section>")[0]
    charts = _charts(over_time)
    assert len(charts) == 2
    for chart in charts:
        height = float(chart.get("height", "0"))
        legend = [t for t in chart.iter(f"{SVG}text") if (t.text or "") in (*top, OTHER_LABEL)]
        assert [t.text for t in legend] == [*top, OTHER_LABEL]  # complete, in order
        assert all(float(t.get("y", "0")) < height for t in legend)  # none cut off
    boxes = page.split('id="distributions"')[1].split("</section>")[0]
    for chart in _charts(boxes):
        names = [t.text for t in chart.iter(f"{SVG}text")]
        assert all(g in names for g in (*top, OTHER_LABEL, "(all)"))
        assert data.groups[TOP_GROUPS] not in names  # the 10th largest is in (other)


def test_other_pools_the_small_groups(report: Report, frame: pl.DataFrame) -> None:
    data = report.collect()
    counts = _cases_per_team(frame)
    rest = sum(n for team, n in counts.items() if team not in data.groups[:TOP_GROUPS])
    assert data.chart_headline is not None
    volume = data.chart_headline.filter(
        (pl.col("_group") == OTHER_LABEL) & (pl.col("metric") == "volume")
    )["value"].item()
    assert volume == rest


def _series_colours(chart: Element) -> list[str]:
    """The colour of each series or group drawn: line strokes, legend swatches, boxes."""
    colours = []
    for node in chart.iter():
        tag = node.tag.removeprefix(SVG)
        if tag == "polyline" and node.get("stroke-dasharray") is None:
            colours.append(node.get("stroke", ""))
        elif tag == "rect" and node.get("fill-opacity") == "0.55":  # a quantile box
            colours.append(node.get("fill", ""))
    return colours


def test_colours_are_distinct_within_each_chart(page: str) -> None:
    checked = 0
    for chart in _charts(page):
        title = chart.findtext(f"{SVG}title") or ""
        colours = _series_colours(chart)
        if "per week" in title or "end of each week" in title:
            # a line per group: one polyline per series unless broken by a gap
            series = {}
            for node in chart.iter(f"{SVG}polyline"):
                series.setdefault(node.findtext(f"{SVG}title"), node.get("stroke"))
            assert len(set(series.values())) == len(series) == TOP_GROUPS + 1, title
            checked += 1
        elif "Resolution" in title or "First response" in title:
            assert len(set(colours)) == len(colours), title
            checked += 1
    assert checked >= 4


def test_headline_gives_period_over_period_change(report: Report, frame: pl.DataFrame) -> None:
    # by hand: cases created (case_created event) per ISO week, merged cases left out
    merged = frame.filter(pl.col("event_type") == "merged")["case_id"].unique()
    created = frame.filter(
        (pl.col("event_type") == "case_created") & ~pl.col("case_id").is_in(merged.implode())
    ).with_columns(pl.col("ts").dt.truncate("1w").alias("week"))
    weeks = sorted(created["week"].unique().to_list())
    last, prev = weeks[-1], weeks[-2]
    n_last = created.filter(pl.col("week") == last).height
    n_prev = created.filter(pl.col("week") == prev).height
    change = f"{(n_last - n_prev) / n_prev * 100:+.0f}%"
    page = report.to_html()
    headline = page.split('id="headline"')[1].split("</details>")[0]
    label_last = f"{last.isocalendar()[0]}-W{last.isocalendar()[1]:02d}"
    label_prev = f"{prev.isocalendar()[0]}-W{prev.isocalendar()[1]:02d}"
    assert f"cases {label_last}" in headline
    assert f"vs {label_prev}" in headline
    all_row = re.search(r'<tr class="csm-all">(.*?)</tr>', headline, flags=re.S)
    assert all_row is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", all_row.group(1))
    assert cells[-4] == f"{n_last:,}"
    assert cells[-3] == change


def test_no_period_no_deltas(frame: pl.DataFrame) -> None:
    page = Report(frame, by="team", period=None).to_html()
    assert " vs 20" not in page.split('id="headline"')[1].split("</section>")[0]


def test_few_groups_have_no_other() -> None:
    data = Report(csm.datasets.sample_log()).collect()
    assert OTHER_LABEL not in data.chart_groups
    assert data.chart_groups == list(data.groups)


# -- Summary.plot draws p90 as its docs say -------------------------------------------------


def test_box_with_median_and_p90_only_has_a_whisker() -> None:
    # compute()'s default quantiles are (0.5, 0.9): no p10, p25, p75
    svg = box_chart([Box("email", p50=600.0, p90=3600.0)], title="First response time")
    assert svg.count('class="whisker"') == 1


def test_summary_plot_draws_p90(frame: pl.DataFrame) -> None:
    log = csm.datasets.sample_log()
    summary = Summary(csm.compute(log, ["first_response_time"], by="channel"))
    assert summary.plot("first_response").count('class="whisker"') == 7  # one per channel
    weekly = Summary(csm.compute(log, ["first_response_time"], by="channel", period="week"))
    chart = weekly.plot("first_response")
    assert "p90 (dashed)" in chart
    assert chart.count('stroke-dasharray="5 3"') >= 7


def test_other_is_grey_and_not_a_group_colour(page: str) -> None:
    over_time = page.split('id="over-time"')[1].split("</section>")[0]
    assert f'stroke="{OTHER_COLOR}"' in over_time


HAS_ALTAIR = importlib.util.find_spec("altair") is not None


@pytest.mark.skipif(
    not HAS_ALTAIR, reason="altair is an optional extra: pip install 'csmetrics[altair]'"
)
def test_to_altair() -> None:
    log = csm.datasets.sample_log()
    summary = Summary(csm.compute(log, ["first_response_time", "volume"], by="channel"))
    spec = summary.to_altair("first_response").to_dict()
    layers = spec["layer"]
    assert [layer["mark"]["type"] for layer in layers] == ["bar", "tick"]  # median bar, p90
    values = spec["datasets"][next(iter(spec["datasets"]))]
    email = next(v for v in values if v["group"] == "email")
    row = summary.frame.filter(
        (pl.col("metric") == "first_response_time") & (pl.col("channel") == "email")
    )
    assert email["value"] == pytest.approx(row["value"].item() / 60)
    assert email["p90"] == pytest.approx(row["p90"].item() / 60)
    assert summary.to_altair("volume").to_dict()["mark"]["type"] == "bar"
    weekly = Summary(csm.compute(log, ["first_response_time"], by="channel", period="week"))
    layers = weekly.to_altair().to_dict()["layer"]
    assert layers[1]["mark"]["strokeDash"] == [5, 3]


def test_to_altair_without_altair_says_how(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    real = importlib.import_module

    def missing(name: str, *args: object) -> object:
        if name == "altair":
            raise ImportError("No module named 'altair'")
        return real(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib, "import_module", missing)
    summary = Summary(csm.compute(csm.datasets.sample_log(), ["volume"], by="channel"))
    with pytest.raises(ImportError, match=r"pip install 'csmetrics\[altair\]'"):
        summary.to_altair("volume")


def test_time_is_not_on_the_log(frame: pl.DataFrame) -> None:
    assert frame["ts"].dtype == pl.Datetime("us", "UTC")
    assert isinstance(frame["ts"].max(), dt.datetime)
