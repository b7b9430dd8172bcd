"""The report's cross-channel analyses section: contagion, difficulty, agent hours.

Each part is gathered on its own (a failure becomes a note, never a broken report) and
rendered with a sentence that says how to read it, so the page is readable without the docs.
"""

from __future__ import annotations

from typing import Final

import attrs
import polars as pl

from csmetrics.contagion import comp_contagion
from csmetrics.cost import RateCard, cost_per_resolved_issue
from csmetrics.difficulty import difficulty_summary
from csmetrics.log import EventLog
from csmetrics.policy import Policy
from csmetrics.redirects import redirect_rate
from csmetrics.report._markup import _e, _missing, frame_table
from csmetrics.report._section import Section, _optional

__all__ = ["ANALYSES", "Analyses", "gather_analyses", "render_analyses"]

ANALYSES: Final[tuple[str, ...]] = ("contagion", "redirects", "difficulty", "hours")
"""The parts of the section, in order."""

_N_BOOT: Final = 500


@attrs.frozen(eq=False)
class Analyses:
    """The collected parts of the analyses section (each a :class:`Section`)."""

    sections: dict[str, Section] = attrs.field(factory=dict)


def gather_analyses(log: EventLog, policy: Policy) -> Analyses:
    """Compute and collect every part of the analyses section."""

    def contagion() -> dict[str, pl.LazyFrame]:
        return {"effects": comp_contagion(log, policy=policy, n_boot=_N_BOOT)}

    def difficulty() -> dict[str, pl.LazyFrame]:
        return {"summary": difficulty_summary(log, policy=policy)}

    def hours() -> dict[str, pl.LazyFrame]:
        card = RateCard(default=1.0, currency="hours")
        return {"per_issue": cost_per_resolved_issue(log, card, policy=policy)}

    def redirects() -> dict[str, pl.LazyFrame]:
        return {"rates": redirect_rate(log, policy=policy)}

    builders = {
        "contagion": contagion,
        "redirects": redirects,
        "difficulty": difficulty,
        "hours": hours,
    }
    return Analyses(
        sections={
            name: _optional(build, f"the {name} analysis") for name, build in builders.items()
        }
    )


def _contagion(section: Section) -> str:
    frame = section.frames["effects"]
    overall = frame.filter(pl.col("channel").is_null())
    lead = ""
    if overall.height and overall["n_events"].item():
        row = overall.row(0, named=True)
        if row["ci_low"] is not None and row["ci_low"] > 0:
            verdict = "more new public cases from other customers than comparable hours"
        elif row["ci_high"] is not None and row["ci_high"] < 0:
            verdict = "fewer new public cases from other customers than comparable hours"
        else:
            verdict = "no clear change in new public cases from other customers"
        lead = (
            f"<p><strong>{_e(verdict)}</strong> in the {row['window_seconds'] / 3600:g} hours "
            f"after a public comp: {row['effect']:+.2f} cases per comp (95 % interval "
            f"{row['ci_low']:+.2f} to {row['ci_high']:+.2f}, {row['n_events']} comps).</p>"
        )
    shown = frame.with_columns(pl.col("channel").fill_null("(all)")).drop("window_seconds")
    return (
        "<h3>Do public comps bring other customers to complain in public?</h3>"
        + lead
        + frame_table(shown, caption="extra new public cases per public comp")
        + '<p class="csm-note">Each comp granted on a public case is an event; <em>after</em> '
        "counts new public cases from other customers on that channel in the window after it, "
        "<em>baseline</em> the same hours one and two weeks before and after (without a public "
        "comp), scaled by the change on the other channels (control ratio, for outages). "
        "Comps close to another comp or to the edges of the log are left out (n_excluded). "
        "The interval is a bootstrap over the comps.</p>"
    )


def _difficulty(section: Section) -> str:
    frame = section.frames["summary"]
    hours = frame.select(
        "difficulty",
        "n_cases",
        "share",
        *(
            (pl.col(c) / 3600).alias(c.replace("_s", "_h"))
            for c in (
                "first_response_median_s",
                "first_response_p90_s",
                "resolution_median_s",
                "resolution_p90_s",
            )
        ),
    )
    return (
        "<h3>Easy, medium and hard cases</h3>"
        + frame_table(hours, caption="first response and resolution (hours) by difficulty")
        + '<p class="csm-note">Hard: urgent priority, escalated, or transferred twice or more; '
        "medium: high priority or transferred once; easy: the rest (a rule you can change: "
        "<code>csmetrics difficulty --rule</code>). Resolution is over resolved cases.</p>"
    )


def _hours(section: Section) -> str:
    frame = section.frames["per_issue"]
    shown = frame.select(
        pl.col("channel").fill_null("(all)"),
        "n_issues",
        "n_resolved",
        pl.col("cost_per_resolved_issue").alias("agent_hours_per_resolved_issue"),
        "ci_low",
        "ci_high",
        pl.col("open_cost").alias("hours_on_open_issues"),
    )
    return (
        "<h3>Agent hours per resolved issue</h3>"
        + frame_table(shown, caption="handle time per resolved issue, by the channel it started on")
        + '<p class="csm-note">All the handle time of an issue\'s cases, on every channel it '
        "went through, per resolved issue. Multiply by a rate card for a cost: "
        "<code>csmetrics cost --rates rates.toml</code>.</p>"
    )


def _redirects(section: Section) -> str:
    frame = section.frames["rates"]
    shown = frame.select(
        pl.col("channel").fill_null("(all)"),
        "n_issues",
        "n_redirected",
        "redirect_rate",
        "ci_low",
        "ci_high",
        "n_explicit",
        "n_to_private",
        "n_sent_elsewhere",
        "resolution_median_redirected_h",
        "resolution_median_other_h",
        "resolution_difference_h",
    )
    return (
        "<h3>Customers sent to another channel</h3>"
        + frame_table(shown, caption="redirected issues, by the channel they started on")
        + '<p class="csm-note">An issue is redirected when an agent tagged a reply with '
        "<code>redirected_to</code> (explicit), a public case moved to a DM (to_private), or "
        "the customer opened a case on another channel within 2 hours of an agent reply "
        "(sent_elsewhere). Resolution times (hours, medians) are over resolved issues; "
        "redirected issues have more contacts by construction.</p>"
    )


_RENDER: Final = {
    "contagion": _contagion,
    "redirects": _redirects,
    "difficulty": _difficulty,
    "hours": _hours,
}


def render_analyses(analyses: Analyses | None) -> str:
    """The section as HTML (a note when the analyses were not gathered)."""

    head = '<section id="analyses"><h2>Cross-channel analyses</h2>'
    if analyses is None:
        return head + _missing("not computed for this report") + "</section>"
    parts = []
    for name in ANALYSES:
        section = analyses.sections.get(name)
        if section is None or not section.available:
            parts.append(_missing(section.note if section else f"{name}: not computed"))
            continue
        parts.append(_RENDER[name](section))
    return head + "".join(parts) + "</section>"
