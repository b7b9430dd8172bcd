"""Each analysis of the report reads on its own: a heading, what it measures, a table, and a
plain-language verdict that follows the effect the simulator planted (or its absence)."""

from __future__ import annotations

import re

import polars as pl
import pytest

import csmetrics as csm
from csmetrics.datasets import Effects
from csmetrics.report._analyses import gather_analyses, render_analyses
from csmetrics.report.html import _spike_reading
from csmetrics.report.summary import Report


def text_of(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def part(text: str, start: str, end: str) -> str:
    i = text.index(start)
    return text[i : text.index(end, i)]


def analyses(effects: Effects, n: int = 10_000, seed: int = 3) -> str:
    log = csm.datasets.simulate(n, seed=seed, effects=effects)
    return text_of(render_analyses(gather_analyses(log, csm.Policy())))


@pytest.fixture(scope="module")
def slowed() -> str:
    # a twitter surge (150 tweets, 10:00-13:00 on 15 January) that slows every other channel's
    # first reply by 10 minutes, and two email agents pulled onto social during the outage
    return analyses(
        Effects(spike_cases=150, spike_slowdown_seconds=600.0, pulled_agents=2, pulled_share=0.5)
    )


def test_spillover_reads_the_planted_slowdown(slowed: str) -> None:
    spill = part(slowed, "Does a surge on twitter slow the other queues?", "Who was pulled")
    assert "in the hours when new twitter cases came at more than twice" in spill
    # the outage hit every channel: found, and left out as the control
    assert "2 twitter surge window(s) found; 1 of them hit every channel at once" in spill
    # chat and phone answer within minutes: their 10 minutes more read as slower, with the
    # planted 10 minutes inside the interval
    found = dict(
        re.findall(
            r"(chat|phone) \(\+[\d.]+ min, 95 % interval (\+[\d.]+ to \+[\d.]+) min\)", spill
        )
    )
    assert set(found) == {"chat", "phone"}
    assert spill.index("First response was slower") < spill.index("chat (+")
    for interval in found.values():
        low, high = (float(x) for x in interval.split(" to "))
        assert low <= 10.0 <= high
    # email waits hours: ten minutes more is lost in its spread
    assert re.search(r"No effect on [a-z_, ]*email[a-z_, ]*: the interval covers zero", spill)
    assert "Did the customers hit by the surge go public?" in spill
    assert "customers hit by the surge who went public next" in spill


def test_without_a_slowdown_chat_and_phone_read_no_effect() -> None:
    text = analyses(Effects(spike_cases=150))
    spill = part(text, "Does a surge on twitter slow the other queues?", "Who was pulled")
    verdict = re.search(r"No effect on ([a-z_, ]+): the interval covers zero", spill)
    assert verdict is not None
    assert {"chat", "phone"} <= set(verdict.group(1).split(", "))
    assert "slower" not in spill


def test_pulled_names_the_planted_agents() -> None:
    text = analyses(Effects(pulled_agents=2, pulled_share=0.5))
    pulled = part(text, "Who was pulled onto twitter, facebook during the biggest surge?", "Easy")
    # the biggest surge is the outage (12 January, 13:00): email agent A00005 took a share
    # of the social cases it never takes otherwise
    assert "answered from 2024-01-12 13:00 to 15:00 UTC" in pulled
    assert re.search(r"Pulled in \(.*\): A00005 \(\d+ case\(s\), \d+ % against 0 % usually", pulled)


def test_nobody_pulled_reads_so() -> None:
    text = analyses(Effects())
    pulled = part(text, "Who was pulled onto", "Easy")
    assert "Nobody was clearly pulled in" in pulled


def test_redirect_cost_reads_as_longer_when_planted() -> None:
    planted = analyses(Effects(redirect_share=0.6, redirect_delay_hours=24.0), seed=4)
    redirects = part(planted, "Customers sent to another channel", "Does a surge")
    assert re.search(r"\d+ of \d+ issues \([\d.]+ %\) were redirected", redirects)
    assert "Redirected issues: took longer to resolve" in redirects
    assert "other issues with more than one contact" in redirects


def test_difficulty_and_hours_read_their_result() -> None:
    text = analyses(Effects(hard_factor=3.0), n=4_000, seed=2)
    difficulty = part(text, "Easy, medium and hard cases", "Agent hours")
    # the planted factor: hard cases wait three times as long (the median, roughly)
    ratio = re.search(r"Hard cases waited ([\d.]+) times as long as easy ones", difficulty)
    assert ratio is not None
    assert 2.0 < float(ratio.group(1)) < 4.5
    hours = text[text.index("Agent hours per resolved issue") :]
    assert re.search(r"A resolved issue took [\d.]+ agent hours \(95 % interval", hours)
    assert "the most for issues that started on" in hours


def test_no_public_channel_reads_so() -> None:
    frame = csm.datasets.simulate_frame(1_000, seed=1, channels={"email": 0.6, "phone": 0.4})
    text = text_of(render_analyses(gather_analyses(csm.EventLog.trusted(frame), csm.Policy())))
    assert "No public (social) channel in this log: no surge to study." in text
    assert "No surge window: nobody to look for." in text


def test_spike_reading_counts_systemic_and_loud_spikes() -> None:
    spikes = pl.DataFrame(
        {
            "volume": [12, 67, 20],
            "top_customer_volume": [1, 60, 2],
            "cause": ["systemic", "one_customer", "systemic"],
        }
    )
    # three spikes: two from many customers; one customer made 60 of the 67 cases of the other
    assert text_of(_spike_reading(spikes)).strip() == (
        "3 spike(s): 2 systemic (from many customers), 1 from one loud customer ; the loudest "
        "made 60 of the 67 cases of its spike."
    )


@pytest.mark.parametrize(("customers", "loud"), [(1, 1), (0, 0)])
def test_trends_read_one_loud_customer_or_many(customers: int, loud: int) -> None:
    # 60 public tweets on billing moved into 15 January, from one customer or from 60
    effects = Effects(spike_cases=60, spike_customers=customers)
    page = Report(csm.datasets.simulate(10_000, seed=3, effects=effects)).to_html()
    start = page.index('<section id="trends">')
    trends = text_of(page[start : page.index("</section>", start)])
    assert "a spike is systemic when many customers made it, or one loud customer's" in trends
    counts = re.search(r"(\d+) spike\(s\): (\d+) systemic .* (\d+) from one loud customer", trends)
    assert counts is not None
    total, systemic, one = (int(g) for g in counts.groups())
    assert (one, total - systemic) == (loud, loud)
    if loud:
        # the planted customer made all 60 of the spike's planted cases
        made = re.search(r"the loudest made (\d+) of the (\d+) cases", trends)
        assert made is not None
        assert int(made.group(1)) == 60


def test_cascade_reading_needs_enough_public_moves() -> None:
    from csmetrics.report._analyses import _cascade_reading

    cascade = pl.DataFrame(
        {
            "channel": ["chat", "email", "phone"],
            # chat: 30 of 200 went public against 10 % usually (expected 20): an interval
            # above zero reads as more; email: 0 of 21 against 2.3 % (expected 0.5, none
            # seen): too few to tell, whatever the normal interval says; phone: 12 of 100
            # against 10 % (expected 10) with an interval covering zero: no clear change
            "n_hit": [200, 21, 100],
            "n_hit_to_public": [30, 0, 12],
            "comparable_share": [0.10, 0.0234, 0.10],
            "ci_low": [0.01, -0.036, -0.05],
            "ci_high": [0.09, -0.01, 0.09],
        }
    )
    text = text_of(_cascade_reading(cascade, "twitter")).strip()
    assert text == (
        "More customers went public next after a twitter surge on chat (30 of 200). "
        "No clear change on phone: the interval covers zero. "
        "Too few moves to a public channel to tell on email."
    )
