"""The analyses section in a real headless browser: Chromium lays it out, readable.

Chromium's ``--dump-dom`` prints the page as the browser built it; the section, its four
parts (contagion, redirects, spill-over, who was pulled, difficulty, hours) and their tables
must be there, with the planted contagion's verdict. Skipped, saying
why, when no Chromium is installed (``CSM_CHROMIUM`` names another binary).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import csmetrics as csm
from csmetrics.datasets import Effects
from csmetrics.report.summary import Report


def _chromium() -> str | None:
    configured = os.environ.get("CSM_CHROMIUM")
    if configured:
        return configured
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


CHROMIUM = _chromium()


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium not found: install it (Debian: apt-get install -y chromium) or set "
    "CSM_CHROMIUM to run the headless-browser test of the HTML report",
)
def test_the_analyses_section_renders_in_chromium(tmp_path: Path) -> None:
    assert CHROMIUM is not None
    page = tmp_path / "report.html"
    log = csm.datasets.simulate(4_000, seed=2, effects=Effects(contagion=1.5))
    Report(log).to_html(page)
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-extensions",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--dump-dom",
        page.resolve().as_uri(),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    start = dom.index('<section id="analyses">')
    section = dom[start : dom.index("</section>", start)]
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", section))
    for title in (
        "Do public comps bring other customers to complain in public?",
        "Customers sent to another channel",
        "Does a surge on twitter slow the other queues?",
        "Did the customers hit by the surge go public?",
        "Who was pulled onto twitter, facebook during the biggest surge?",
        "Easy, medium and hard cases",
        "Agent hours per resolved issue",
    ):
        assert title in text
    assert "more new public cases from other customers than comparable hours" in text
    # contagion, redirects, spill-over effects and cascade, pulled, difficulty, hours
    assert section.count("<table") == 7
    # every part says what its result means, in words
    for reading in (
        "were redirected",
        "twitter surge window(s) found",
        "A resolved issue took",
    ):
        assert reading in text
    assert '<a href="#analyses">Analyses</a>' in dom
