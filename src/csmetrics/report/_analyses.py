"""The report's cross-channel analyses section: contagion, redirects, spill-over, who was
pulled onto the surging channel, difficulty, agent hours.

Each part is gathered on its own (a failure becomes a note, never a broken report) and
rendered with a sentence that says how to read it, so the page is readable without the docs.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import attrs
import polars as pl

from csmetrics.contagion import comp_contagion
from csmetrics.cost import RateCard, cost_per_resolved_issue
from csmetrics.difficulty import difficulty_summary
from csmetrics.log import EventLog
from csmetrics.occupancy import pulled_onto
from csmetrics.policy import Policy
from csmetrics.redirects import redirect_rate
from csmetrics.report._markup import _e, _missing, frame_table
from csmetrics.report._section import Section, _optional
from csmetrics.schema import PUBLIC_KINDS
from csmetrics.spillover import spillover

__all__ = ["ANALYSES", "Analyses", "gather_analyses", "render_analyses"]

ANALYSES: Final[tuple[str, ...]] = (
    "contagion",
    "redirects",
    "spillover",
    "pulled",
    "difficulty",
    "hours",
)
"""The parts of the section, in order."""

_N_BOOT: Final = 500
_Z95: Final = 1.959964
_MIN_EXPECTED: Final = 5.0


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
        return {"rates": redirect_rate(log, compare="repeat", policy=policy)}

    def spill() -> dict[str, pl.LazyFrame | pl.DataFrame]:
        public = _public_channels(log, policy)
        if not public:
            return {"channel": pl.DataFrame({"channel": []}, schema={"channel": pl.String})}
        channel = public[0]
        result = spillover(log, surge_channel=channel, n_boot=_N_BOOT, policy=policy)
        assert result.cascade is not None
        return {
            "channel": pl.DataFrame({"channel": [channel]}),
            "public": pl.DataFrame({"channel": public}),
            "surges": result.surges,
            "effects": result.effects,
            "cascade": result.cascade,
        }

    sections = {
        "contagion": _optional(contagion, "the contagion analysis"),
        "redirects": _optional(redirects, "the redirects analysis"),
        "spillover": _optional(spill, "the spillover analysis"),
    }

    def pulled() -> dict[str, pl.LazyFrame | pl.DataFrame]:
        window = _biggest_surge(sections["spillover"])
        if window is None:
            return {"window": pl.DataFrame()}
        public, start, end = window
        return {
            "window": pl.DataFrame(
                {"channel": [", ".join(public)], "start": [start], "end": [end]}
            ),
            "agents": pulled_onto(log, public, start, end, policy=policy),
        }

    sections["pulled"] = _optional(pulled, "the pulled-onto analysis")
    sections["difficulty"] = _optional(difficulty, "the difficulty analysis")
    sections["hours"] = _optional(hours, "the hours analysis")
    return Analyses(sections=sections)


def _public_channels(log: EventLog, policy: Policy) -> list[str]:
    """The log's public channels (social, by the policy's channel kinds), most cases first."""
    public = [name for name, kind in policy.channels.items() if kind in PUBLIC_KINDS]
    counts = (
        log.frame.filter(pl.col("channel").is_in(public))
        .group_by("channel")
        .agg(pl.col("case_id").n_unique().alias("n"))
        .sort("n", "channel", descending=[True, False])
        .collect()
    )
    return [str(c) for c in counts["channel"]]


def _biggest_surge(section: Section) -> tuple[list[str], dt.datetime, dt.datetime] | None:
    """The public channels and the surge window with the most cases (shared ones too: an
    outage pulls agents)."""
    if not section.available or "surges" not in section.frames:
        return None
    surges = section.frames["surges"]
    if surges.is_empty():
        return None
    top = surges.sort("volume", "surge_start", descending=[True, False]).row(0, named=True)
    public = [str(c) for c in section.frames["public"]["channel"]]
    return public, top["surge_start"], top["surge_end"]


def _signed(value: float, digits: int = 1) -> str:
    return f"{value:+.{digits}f}"


def _interval_reading(low: float | None, high: float | None) -> str:
    """``above``, ``below`` or ``covers`` zero (``none`` without an interval)."""
    if low is None or high is None:
        return "none"
    if low > 0:
        return "above"
    if high < 0:
        return "below"
    return "covers"


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
    reading = ""
    levels = {r["difficulty"]: r for r in frame.iter_rows(named=True)}
    easy, hard = levels.get("easy"), levels.get("hard")
    if easy and hard and easy["first_response_median_s"] and hard["first_response_median_s"]:
        ratio = hard["first_response_median_s"] / easy["first_response_median_s"]
        reading = (
            f"<p><strong>Hard cases waited {ratio:.1f} times as long as easy ones</strong> for "
            f"a first response ({hard['first_response_median_s'] / 3600:.2f} h against "
            f"{easy['first_response_median_s'] / 3600:.2f} h, medians; {hard['n_cases']} hard "
            f"and {easy['n_cases']} easy cases).</p>"
        )
    return (
        "<h3>Easy, medium and hard cases</h3>"
        + "<p>How long the team takes to answer and resolve cases of each difficulty.</p>"
        + reading
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
    reading = ""
    overall = frame.filter(pl.col("channel").is_null())
    by_channel = frame.filter(
        pl.col("channel").is_not_null() & pl.col("cost_per_resolved_issue").is_not_null()
    ).sort("cost_per_resolved_issue", descending=True)
    if overall.height and overall["cost_per_resolved_issue"].item() is not None:
        row = overall.row(0, named=True)
        reading = (
            f"<p><strong>A resolved issue took {row['cost_per_resolved_issue']:.2f} agent "
            f"hours</strong> (95 % interval {row['ci_low']:.2f} to {row['ci_high']:.2f}, "
            f"{row['n_resolved']} resolved issues)"
        )
        if by_channel.height:
            top = by_channel.row(0, named=True)
            reading += (
                f"; the most for issues that started on {_e(top['channel'])} "
                f"({top['cost_per_resolved_issue']:.2f} h)"
            )
        reading += ".</p>"
    return (
        "<h3>Agent hours per resolved issue</h3>"
        + "<p>What each resolved issue cost in agent handle time, by the channel it started "
        "on: the cost per resolved issue with a rate of one per hour.</p>"
        + reading
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
    lead = "<p>How many issues the team sent to another channel or a form, and whether "
    lead += "those issues took longer to resolve than comparable ones.</p>"
    overall = frame.filter(pl.col("channel").is_null())
    reading = ""
    if overall.height and overall["n_issues"].item():
        row = overall.row(0, named=True)
        reading = (
            f"<p><strong>{row['n_redirected']} of {row['n_issues']} issues "
            f"({100 * row['redirect_rate']:.1f} %) were redirected</strong> (95 % interval "
            f"{100 * row['ci_low']:.1f} to {100 * row['ci_high']:.1f} %). "
        )
        side = _interval_reading(row["diff_ci_low"], row["diff_ci_high"])
        if side == "none":
            reading += "Too few resolved issues to compare resolution times.</p>"
        else:
            verdict = {
                "above": "took longer to resolve",
                "below": "were resolved sooner",
                "covers": "no clear difference in resolution time: the interval covers zero",
            }[side]
            reading += (
                f"Redirected issues: <strong>{_e(verdict)}</strong> "
                f"({_signed(row['resolution_difference_h'])} h, median, 95 % interval "
                f"{_signed(row['diff_ci_low'])} to {_signed(row['diff_ci_high'])} h; "
                f"{row['n_resolved_redirected']} redirected against {row['n_resolved_other']} "
                "other issues with more than one contact).</p>"
            )
    return (
        "<h3>Customers sent to another channel</h3>"
        + lead
        + reading
        + frame_table(shown, caption="redirected issues, by the channel they started on")
        + '<p class="csm-note">An issue is redirected when an agent tagged a reply with '
        "<code>redirected_to</code> (explicit), a public case moved to a DM (to_private), or "
        "the customer opened a case on another channel within 2 hours of an agent reply "
        "(sent_elsewhere). Resolution times (hours, medians) are over resolved issues with "
        "more than one contact on both sides, like with like: a redirect makes a second "
        "contact by construction.</p>"
    )


def _spillover(section: Section) -> str:
    if section.frames["channel"].is_empty():
        return (
            "<h3>Does a surge on a public channel slow the other queues?</h3>"
            "<p>No public (social) channel in this log: no surge to study.</p>"
        )
    channel = str(section.frames["channel"].item())
    surges, effects, cascade = (section.frames[k] for k in ("surges", "effects", "cascade"))
    n_shared = int(surges["is_shared"].sum()) if surges.height else 0
    head = (
        f"<h3>Does a surge on {_e(channel)} slow the other queues?</h3>"
        f"<p>First response and backlog on every channel in the hours when new {_e(channel)} "
        "cases came at more than twice their usual number for that hour of the day, against "
        "the same hours on days without a surge.</p>"
    )
    found = (
        f"<p>{surges.height} {_e(channel)} surge window(s) found; {n_shared} of them hit every "
        "channel at once (an outage, not a surge of this channel) and are left out: the "
        "control.</p>"
    )
    frt = effects.filter(
        (pl.col("figure") == "first_response_time") & ~pl.col("is_surge_channel")
    ).sort("channel")
    if frt.is_empty():
        return head + found + f"<p>No {_e(channel)} surge to compare (outside outages).</p>"
    slower: list[str] = []
    faster: list[str] = []
    unclear: list[str] = []
    few: list[str] = []
    for row in frt.iter_rows(named=True):
        name = _e(row["channel"])
        side = _interval_reading(row["ci_low"], row["ci_high"])
        if row["n_surge_buckets"] < 2 or side == "none":
            few.append(name)
        elif side == "covers":
            unclear.append(name)
        else:
            text = (
                f"{name} ({_signed(row['change'] / 60)} min, 95 % interval "
                f"{_signed(row['ci_low'] / 60)} to {_signed(row['ci_high'] / 60)} min)"
            )
            (slower if side == "above" else faster).append(text)
    reading = []
    if slower:
        reading.append(f"<strong>First response was slower</strong> on {', '.join(slower)}.")
    if faster:
        reading.append(f"First response was faster on {', '.join(faster)}.")
    if unclear:
        reading.append(
            f"<strong>No effect</strong> on {', '.join(unclear)}: the interval covers zero."
        )
    if few:
        reading.append(f"Too few surge hours to tell on {', '.join(few)}.")
    shown = effects.filter(pl.col("figure").is_in(["first_response_time", "backlog"])).select(
        "channel",
        "figure",
        *(
            pl.when(pl.col("figure") == "first_response_time")
            .then(pl.col(c) / 60)
            .otherwise(pl.col(c))
            .alias(c)
            for c in ("surge_value", "comparable_value", "change", "ci_low", "ci_high")
        ),
        pl.col("n_surge_buckets").alias("n_surge_hours"),
        pl.col("n_comparable_buckets").alias("n_comparable_hours"),
    )
    hit = _cascade_reading(cascade, channel)
    return (
        head
        + found
        + f"<p>{' '.join(reading)}</p>"
        + frame_table(
            shown,
            caption=f"during {channel} surges against comparable hours: first response "
            "(minutes, mean of the hours' medians) and backlog (open cases)",
        )
        + '<p class="csm-note">The interval is a bootstrap over the surge hours. With few '
        "surge hours it is rough: read it as a hint, not a proof.</p>"
        + f"<h4>Did the customers hit by the surge go public?</h4><p>Of the customers whose "
        f"case on another channel was created during a {_e(channel)} surge, the share whose "
        "next case in the same issue was on a public channel, against comparable hours.</p>"
        + hit
        + frame_table(cascade, caption="customers hit by the surge who went public next")
    )


def _cascade_reading(cascade: pl.DataFrame, channel: str) -> str:
    if cascade.is_empty():
        return "<p>No case on another channel during a surge.</p>"
    more: list[str] = []
    less: list[str] = []
    unclear: list[str] = []
    few: list[str] = []
    for row in cascade.iter_rows(named=True):
        side = _interval_reading(row["ci_low"], row["ci_high"])
        name = _e(row["channel"])
        # the normal interval needs a few expected public moves among the cases hit
        expected = row["n_hit"] * (row["comparable_share"] or 0.0)
        if expected < _MIN_EXPECTED and row["n_hit_to_public"] < _MIN_EXPECTED:
            few.append(name)
        elif side == "above":
            more.append(f"{name} ({row['n_hit_to_public']} of {row['n_hit']})")
        elif side == "below":
            less.append(name)
        else:
            unclear.append(name)
    parts = []
    if more:
        parts.append(
            f"<strong>More customers went public next</strong> after a {_e(channel)} surge "
            f"on {', '.join(more)}."
        )
    if less:
        parts.append(f"Fewer went public next on {', '.join(less)}.")
    if unclear:
        parts.append(
            f"<strong>No clear change</strong> on {', '.join(unclear)}: the interval covers zero."
        )
    if few:
        parts.append(f"Too few moves to a public channel to tell on {', '.join(few)}.")
    return f"<p>{' '.join(parts)}</p>"


def _pulled(section: Section) -> str:
    window = section.frames["window"]
    if window.is_empty():
        return (
            "<h3>Who was pulled onto the public channels?</h3>"
            "<p>No surge window: nobody to look for.</p>"
        )
    row = window.row(0, named=True)
    channel, start, end = row["channel"], row["start"], row["end"]
    agents = section.frames["agents"]
    when = f"{start:%Y-%m-%d %H:%M} to {end:%H:%M} {start.tzname() or ''}".strip()
    head = (
        f"<h3>Who was pulled onto {_e(channel)} during the biggest surge?</h3>"
        f"<p>Each agent's share of the cases on {_e(channel)} answered from {_e(when)} (the "
        "biggest surge above), against the same hours a week before and after.</p>"
    )
    # the change in case share, with a normal interval for two independent proportions
    p1, p0 = pl.col("case_share"), pl.col("baseline_case_share")
    n1 = pl.col("n_channel_cases").cast(pl.Float64)
    n0 = pl.col("n_baseline_channel_cases").cast(pl.Float64)
    spread = _Z95 * (p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0).sqrt()
    pulled = agents.filter(((p1 - p0) - spread > 0).fill_null(value=False))
    if pulled.is_empty():
        reading = (
            "<p><strong>Nobody was clearly pulled in</strong>: no agent's share of the cases "
            "rose beyond its 95 % interval.</p>"
        )
    else:
        names = [
            f"{_e(r['agent_id'])} ({r['n_cases']} case(s), {100 * r['case_share']:.0f} % against "
            f"{100 * r['baseline_case_share']:.0f} % usually; {100 * r['own_share']:.0f} % of "
            "their own messages went there)"
            for r in pulled.head(5).iter_rows(named=True)
        ]
        reading = (
            f"<p><strong>Pulled in</strong> (a share of the cases clearly above their usual "
            f"one): {'; '.join(names)}.</p>"
        )
    shown = agents.head(15).select(
        "agent_id",
        "n_cases",
        "case_share",
        "ci_low",
        "ci_high",
        "baseline_case_share",
        "change",
        "own_share",
        "baseline_own_share",
    )
    return (
        head
        + reading
        + frame_table(shown, caption=f"agents on {channel} in the surge, most cases first")
        + "<p class=\"csm-note\">case_share: the agent's share of the channel's cases in the "
        "window (Wilson interval); own_share: the share of the agent's own messages that went "
        "to the channel. The window may be an outage that hit every channel.</p>"
    )


_RENDER: Final = {
    "contagion": _contagion,
    "redirects": _redirects,
    "spillover": _spillover,
    "pulled": _pulled,
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
