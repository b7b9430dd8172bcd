"""The report's cross-channel analyses section (contagion, difficulty, agent hours)."""

from __future__ import annotations

import re

import pytest

import csmetrics as csm
from csmetrics.datasets import Effects
from csmetrics.report import _analyses
from csmetrics.report._analyses import ANALYSES, gather_analyses, render_analyses
from csmetrics.report.summary import Report


def text_of(page: str) -> str:
    start = page.index('<section id="analyses">')
    end = page.index("</section>", start)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page[start:end]))


def test_the_report_has_a_readable_analyses_section() -> None:
    log = csm.datasets.simulate(4_000, seed=2, effects=Effects(contagion=1.5))
    page = Report(log).to_html()
    assert '<a href="#analyses">Analyses</a>' in page
    text = text_of(page)
    assert "Do public comps bring other customers to complain in public?" in text
    # the planted contagion reads as a verdict, with its size, interval and count
    assert "more new public cases from other customers than comparable hours" in text
    assert re.search(
        r"\+1\.\d\d cases per comp \(95 % interval \+\d\.\d\d to \+\d\.\d\d, \d+ comps\)", text
    )
    assert "Easy, medium and hard cases" in text
    assert "Agent hours per resolved issue" in text
    assert "Customers sent to another channel" in text
    assert "Does a surge on twitter slow the other queues?" in text
    assert "Who was pulled onto twitter, facebook during the biggest surge?" in text
    for level in ("easy", "medium", "hard"):
        assert f" {level} " in text


def test_no_contagion_reads_as_no_clear_change() -> None:
    analyses = gather_analyses(csm.datasets.simulate(4_000, seed=2), csm.Policy())
    text = text_of(render_analyses(analyses) + "</section>")
    assert "no clear change in new public cases" in text


def test_a_failing_part_becomes_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise csm.PolicyError("no luck")

    monkeypatch.setattr("csmetrics.report._analyses.difficulty_summary", broken)
    analyses = gather_analyses(csm.datasets.simulate(500, seed=1), csm.Policy())
    assert set(analyses.sections) == set(ANALYSES)
    page = render_analyses(analyses)
    assert "not available: the difficulty analysis failed (PolicyError: no luck)" in page
    assert "Agent hours per resolved issue" in page
    assert "not computed" in render_analyses(None)
    assert _analyses.Analyses().sections == {}
