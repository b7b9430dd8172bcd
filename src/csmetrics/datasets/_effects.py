"""Effects the simulator can plant with a known size, so that an analysis can be checked.

Every effect is off by default: ``simulate(..., effects=Effects(...))`` turns one on. With
``truth=True`` the column ``sim_planted`` names the effect a case comes from (null for the
others), so a test knows exactly what was planted.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any, Final

import attrs
import polars as pl

from csmetrics.datasets._random import Random
from csmetrics.exceptions import PolicyError

__all__ = [
    "COMP_REQUEST",
    "PHRASES",
    "Effects",
    "label_redirects",
    "mark_redirects",
    "plant_contagion",
    "plant_delays",
    "plant_pull",
    "plant_spike",
]

PHRASES: Final[dict[str, tuple[str, str]]] = {
    "billing": ("I was charged twice on my invoice", "Where is my refund?"),
    "delivery": ("My parcel has not arrived", "The courier lost my package"),
    "account": ("Please update my account details", "How do I close my account?"),
    "login": ("I cannot log in", "My password reset link does not work"),
    "product": ("The product stopped working", "Is this product compatible with my phone?"),
    "returns": ("I want to return my order", "How do I send an item back?"),
    "technical": ("The app crashes on start", "I get an error when I pay"),
    "outage": ("Your site is down", "Nothing loads, is the service down?"),
}
"""What simulated customers write first, by topic (``Effects(text=True)``)."""

COMP_REQUEST: Final = "They gave a voucher to someone else, I want compensation too"
"""What the customers planted by ``contagion`` write first (with ``text=True``)."""

_CONTAGION: Final = "contagion"
_PULLED: Final = "pulled"
_REDIRECT: Final = "redirect"
_SPIKE: Final = "spike"
_SLOWED: Final = "slowed"
_DELAYED: Final = "delayed"
_SPIKE_HOURS: Final = 3.0
# Times relative to a case's start, as the simulator's case table names them.
_TIMES: Final = re.compile(r"t_\w+|[ace]_\d|r_0|[ae]_final|first_resolved|last_resolved")
_REDIRECT_MAX_S: Final = 1_800.0


def _rate(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PolicyError(f"Effects.{attribute.name} must be a number (got {value!r})")
    if not math.isfinite(value) or value < 0:
        raise PolicyError(f"Effects.{attribute.name} must be finite and >= 0 (got {value!r})")


def _window(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, dt.timedelta) or value <= dt.timedelta(0):
        raise PolicyError(
            f"Effects.{attribute.name} must be a positive timedelta, e.g. timedelta(hours=2) "
            f"(got {value!r})"
        )


def _positive(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _rate(instance, attribute, value)
    if float(value) <= 0:  # type: ignore[arg-type]
        raise PolicyError(f"Effects.{attribute.name} must be > 0 (got {value!r})")


def _topic(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value not in PHRASES:
        raise PolicyError(f"Effects.{attribute.name} must be one of {sorted(PHRASES)} ({value!r})")


def _count(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PolicyError(f"Effects.{attribute.name} must be an integer >= 0 (got {value!r})")


def _share(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _rate(instance, attribute, value)
    if float(value) > 1:  # type: ignore[arg-type]
        raise PolicyError(f"Effects.{attribute.name} must be between 0 and 1 (got {value!r})")


@attrs.frozen
class Effects:
    """Effects to plant in a simulated log, each with a known size (all off by default).

    Parameters
    ----------
    contagion
        Public-comp contagion: after each comp granted on a public social case, this many
        *other* customers (on average) open a new public case on the same channel within
        ``contagion_window``. The simulator moves the start of that many one-case customers
        (public, on that channel, without a comp of their own) to a uniform time in the
        window after the comp, so the number of cases is unchanged and the planted effect
        is exactly ``contagion`` extra public cases per public comp (comps whose window
        would pass the end of the log get none).
    contagion_window
        How long after the comp the extra cases arrive.
    pulled_agents
        A surge that pulls named agents: during the first ``pulled_hours`` of the outage
        (the simulator's surge on every channel), this many agents of the ``email`` team
        (the first ones: ``A00004``, ``A00005`` … with 3 agents per team, i.e. under 12,000
        cases) take ``pulled_share`` of the new social cases, which the social team would
        have taken (up to the team's size).
    pulled_share
        The share of the surge's new social cases the pulled agents take.
    pulled_hours
        How long the pull lasts from the start of the outage.
    redirect_share
        Redirects: this share of the follow-up cases that switch channel (an issue's second
        case) are redirects: the agent's first reply on the previous case sends the customer
        to the new channel (an event column ``redirected_to`` names it, as a macro or tag
        would), and the new case starts 1 to 30 minutes after that reply. Only previous
        cases answered by an agent at least half an hour before their resolution qualify.
    spike_cases, spike_customers, spike_topic, spike_day
        A topic spike on the first public social channel of the mix: ``spike_cases``
        one-case customers' public cases there are moved into 10:00-13:00 of day
        ``spike_day`` (0-based) and given the topic ``spike_topic``; with ``spike_customers``
        between 1 and ``spike_cases - 1`` they are re-assigned to that many customers (1:
        one loud customer, whose cases then form one issue), else each keeps its own
        (systemic).
    spike_slowdown_seconds
        Spill-over from the topic spike (a surge on one social channel): every case on the
        *other* channels created during the spike (10:00-13:00 of ``spike_day``) and
        answered by an agent waits this many seconds longer for its first reply, and
        everything after that reply moves as much later (the customer's later cases too,
        so that every relation between cases holds). The first response of those cases is
        exactly this much longer (truth: ``slowed``). Needs ``spike_cases``.
    redirect_delay_hours
        Redirects cost resolution time: every case planted as redirected
        (``redirect_share``) has its first reply and everything after it, and the
        customer's later cases, moved this many hours later, so the resolution time of each
        redirected issue is exactly this much longer (truth: ``delayed``). Cases whose
        customer would then start a case past the end of the window are left as they are.
    text
        Write a ``text`` column on each case's first customer message: a phrase of its topic
        (:data:`PHRASES`), for :func:`csmetrics.topics.tag_topics`; the customers planted by
        ``contagion`` ask for a comp instead (:data:`COMP_REQUEST`).
    hard_factor
        Hard cases are slower: the first response of every case that is *hard* under the
        default difficulty rule (its last priority is urgent, or it is escalated) is this
        many times longer (except calls, whose wait is the queue's), e.g. ``2.0``.

    Examples
    --------
    >>> from csmetrics.datasets import Effects
    >>> Effects(contagion=0.5).contagion
    0.5
    >>> Effects(contagion=-1)
    Traceback (most recent call last):
    ...
    csmetrics.exceptions.PolicyError: Effects.contagion must be finite and >= 0 (got -1)
    """

    contagion: float = attrs.field(default=0.0, validator=_rate)
    contagion_window: dt.timedelta = attrs.field(default=dt.timedelta(hours=2), validator=_window)
    pulled_agents: int = attrs.field(default=0, validator=_count)
    pulled_share: float = attrs.field(default=0.5, validator=_share)
    pulled_hours: float = attrs.field(default=6.0, validator=_rate)
    redirect_share: float = attrs.field(default=0.0, validator=_share)
    hard_factor: float = attrs.field(default=1.0, validator=_positive)
    spike_cases: int = attrs.field(default=0, validator=_count)
    spike_customers: int = attrs.field(default=0, validator=_count)
    spike_topic: str = attrs.field(default="billing", validator=_topic)
    spike_day: int = attrs.field(default=14, validator=_count)
    spike_slowdown_seconds: float = attrs.field(default=0.0, validator=_rate)
    redirect_delay_hours: float = attrs.field(default=0.0, validator=_rate)
    text: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))


def plant_contagion(cases: pl.DataFrame, effects: Effects, seed: int, end_s: float) -> pl.DataFrame:
    """Move one-case customers' public cases into the window after public comps.

    ``cases`` is the simulator's placed case table (``start`` in seconds after the window
    start, ``t_comp`` relative to it, ``public``, ``channel`` code, ``customer_idx``); the
    result has ``start`` moved for the chosen cases and ``planted`` set on them.
    """
    col = pl.col
    cases = cases.with_columns(pl.lit(None, pl.String).alias("planted"))
    if effects.contagion <= 0:
        return cases
    window = effects.contagion_window.total_seconds()
    comp_rng = Random(seed, "idx", "effects/contagion/comp")
    mover_rng = Random(seed, "idx", "effects/contagion/mover")
    comps = (
        cases.filter(col("public") & col("t_comp").is_not_null())
        .with_columns((col("start") + col("t_comp")).alias("at"))
        .filter(col("at") < end_s - window)
        .select("channel", "at", comp_rng.uniform("order").alias("_u"))
        .sort("channel", "_u")
        .with_columns(
            pl.int_range(pl.len(), dtype=pl.Int64).over("channel").alias("slot"),
            pl.len().over("channel").cast(pl.Int64).alias("n_comps"),
        )
    )
    n_comps = comps.group_by("channel").agg(pl.col("n_comps").first())
    alone = pl.len().over("customer_idx") == 1
    movers = (
        cases.filter(
            alone & col("public") & col("t_comp").is_null() & ~col("outbound") & (col("pos") == 1)
        )
        .select("idx", "channel", mover_rng.uniform("order").alias("_u"))
        .sort("channel", "_u")
        .with_columns(pl.int_range(pl.len(), dtype=pl.Int64).over("channel").alias("rank"))
        .join(n_comps, on="channel", how="inner")
        .filter(col("rank") < (col("n_comps").cast(pl.Float64) * effects.contagion).round(0))
        .with_columns((col("rank") % col("n_comps")).alias("slot"))
        .join(comps.select("channel", "slot", "at"), on=["channel", "slot"], how="inner")
        .select(
            "idx",
            (col("at") + window * mover_rng.uniform("at")).alias("_moved_start"),
        )
    )
    moved = cases.join(movers, on="idx", how="left", maintain_order="left")
    return (
        moved.with_columns(
            pl.coalesce("_moved_start", "start").alias("start"),
            pl.when(col("_moved_start").is_not_null()).then(pl.lit(_CONTAGION)).alias("planted"),
        )
        .drop("_moved_start")
        .with_columns(col("start").rank("ordinal").cast(pl.Int64).alias("case_id"))
        .with_columns(pl.when(col("merged")).then(col("case_id").shift(1)).alias("merged_into"))
    )


def plant_pull(
    cases: pl.DataFrame,
    effects: Effects,
    seed: int,
    *,
    surge_at: float,
    social_kind: int,
    email_team: int,
    n_agents: int,
) -> pl.DataFrame:
    """Give ``pulled_share`` of the social cases started in the surge to email agents."""
    if effects.pulled_agents == 0 or effects.pulled_share == 0:
        return cases
    col = pl.col
    rng = Random(seed, "idx", "effects/pull")
    k = min(effects.pulled_agents, n_agents)
    end = surge_at + effects.pulled_hours * 3_600.0
    pulled = (
        (col("kind") == social_kind)
        & (col("start") >= surge_at)
        & (col("start") < end)
        & ~col("outbound")
        & rng.bernoulli("take", effects.pulled_share)
    )
    agent = pl.lit(email_team * n_agents, pl.UInt32) + (rng.uniform("who") * k).floor().cast(
        pl.UInt32
    )
    return cases.with_columns(
        pl.when(pulled).then(agent).otherwise(col("agent_1")).alias("agent_1"),
        pl.when(pulled)
        .then(pl.concat_str([col("planted"), pl.lit(_PULLED)], separator=",", ignore_nulls=True))
        .otherwise(col("planted"))
        .alias("planted"),
    )


def mark_redirects(cases: pl.DataFrame, effects: Effects, seed: int) -> pl.DataFrame:
    """Before placement: ``redirect`` (this follow-up is a redirect) and its delay (s)."""
    col = pl.col
    if effects.redirect_share == 0:
        return cases.with_columns(
            pl.lit(value=False).alias("redirect"), pl.lit(None, pl.Float64).alias("redirect_delay")
        )
    rng = Random(seed, "idx", "effects/redirect")
    delay = 60.0 + (_REDIRECT_MAX_S - 60.0) * rng.uniform("delay")
    previous_reply = col("a_0").shift(1)
    eligible = (
        (col("pos") == 2)
        & (col("channel") != col("channel").shift(1))
        & previous_reply.is_not_null()
        & (previous_reply + _REDIRECT_MAX_S + 120.0 < col("first_resolved").shift(1))
    )
    return cases.with_columns(
        (eligible & rng.bernoulli("share", effects.redirect_share))
        .fill_null(value=False)
        .alias("redirect"),
        delay.alias("redirect_delay"),
    )


def label_redirects(cases: pl.DataFrame) -> pl.DataFrame:
    """After placement: ``redirect_to`` (channel code) on the redirected (previous) case."""
    col = pl.col
    kept = (col("redirect") & ~col("rehomed")).shift(-1).fill_null(value=False)
    return cases.with_columns(
        pl.when(kept).then(col("channel").shift(-1)).alias("redirect_to"),
        pl.when(kept)
        .then(pl.concat_str([col("planted"), pl.lit(_REDIRECT)], separator=",", ignore_nulls=True))
        .otherwise(col("planted"))
        .alias("planted"),
    )


def plant_spike(
    cases: pl.DataFrame,
    effects: Effects,
    seed: int,
    *,
    channel: int | None,
    topic: int,
    end_s: float,
) -> pl.DataFrame:
    """Move ``spike_cases`` lone public cases on ``channel`` into the spike (see Effects)."""
    start_s = spike_start(effects)
    if effects.spike_cases == 0 or channel is None or start_s + _SPIKE_HOURS * 3_600.0 > end_s:
        return cases
    col = pl.col
    rng = Random(seed, "idx", "effects/spike")
    alone = pl.len().over("customer_idx") == 1
    chosen = (
        cases.filter(
            alone
            & col("public")
            & (col("channel") == channel)
            & ~col("outbound")
            & (col("pos") == 1)
            & col("planted").is_null()
            & col("t_comp").is_null()
        )
        .select("idx", "customer_idx", "sim_issue_idx", rng.uniform("order").alias("_u"))
        .sort("_u")
        .head(effects.spike_cases)
        .with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("_rank"))
    )
    k = effects.spike_customers
    if 0 < k < chosen.height:
        owners = chosen.filter(col("_rank") < k).select(
            (col("_rank")).alias("_owner"),
            col("customer_idx").alias("_customer"),
            col("sim_issue_idx").alias("_issue"),
        )
        chosen = chosen.with_columns((col("_rank") % k).alias("_owner")).join(
            owners, on="_owner", how="left"
        )
    else:
        chosen = chosen.with_columns(
            col("customer_idx").alias("_customer"), col("sim_issue_idx").alias("_issue")
        )
    moved = chosen.select(
        "idx",
        (start_s + _SPIKE_HOURS * 3_600.0 * rng.uniform("at")).alias("_start"),
        "_customer",
        "_issue",
    )
    out = cases.join(moved, on="idx", how="left", maintain_order="left")
    hit = col("_start").is_not_null()
    return (
        out.with_columns(
            pl.when(hit).then(col("_start")).otherwise(col("start")).alias("start"),
            pl.when(hit)
            .then(col("_customer"))
            .otherwise(col("customer_idx"))
            .alias("customer_idx"),
            pl.when(hit).then(col("_issue")).otherwise(col("sim_issue_idx")).alias("sim_issue_idx"),
            pl.when(hit).then(pl.lit(topic, pl.UInt32)).otherwise(col("topic")).alias("topic"),
            pl.when(hit)
            .then(pl.concat_str([col("planted"), pl.lit(_SPIKE)], separator=",", ignore_nulls=True))
            .otherwise(col("planted"))
            .alias("planted"),
        )
        .drop("_start", "_customer", "_issue")
        .with_columns(col("start").rank("ordinal").cast(pl.Int64).alias("case_id"))
        .with_columns(pl.when(col("merged")).then(col("case_id").shift(1)).alias("merged_into"))
    )


def spike_start(effects: Effects) -> float:
    """Seconds after the window start at which the topic spike begins (10:00 of its day)."""
    return effects.spike_day * 86_400.0 + 10 * 3_600.0


def plant_delays(
    cases: pl.DataFrame,
    effects: Effects,
    *,
    spike_channel: int | None,
    end_s: float,
) -> pl.DataFrame:
    """Spill-over slowdown and redirect delay (see :class:`Effects`), after placement.

    A delayed case keeps the times before its first reply (``a_0``) and moves every later
    one by its delay; every later case of its customer starts that much later, so that the
    relations between cases (an issue's next case during or after this one, a redirect
    after its reply, the customer's next issue after the journey window) hold unchanged.
    """
    slow = effects.spike_slowdown_seconds
    late = effects.redirect_delay_hours * 3_600.0
    start_s = spike_start(effects)
    spiked = effects.spike_cases > 0 and spike_channel is not None
    if (slow == 0 or not spiked) and late == 0:
        return cases
    col = pl.col
    answered = col("a_0").is_not_null() & ~col("outbound")
    slowed = (
        answered
        & (col("channel") != spike_channel)
        & (col("start") >= start_s)
        & (col("start") < start_s + _SPIKE_HOURS * 3_600.0)
        if slow > 0 and spiked
        else pl.lit(value=False)
    )
    delayed = answered & col("redirect_to").is_not_null() if late > 0 else pl.lit(value=False)
    own = slowed.cast(pl.Float64) * slow + delayed.cast(pl.Float64) * late
    # Nothing of the customer may move past the end of the window (it would vanish).
    room = col("start").max().over("customer_idx") + own.sum().over("customer_idx") < end_s
    out = cases.with_columns(
        pl.when(room).then(own).otherwise(0.0).alias("_own"),
        (slowed & room).alias("_slowed"),
        (delayed & room).alias("_delayed"),
    ).with_columns(
        (col("_own").cum_sum().over("customer_idx", order_by="idx") - col("_own")).alias("_before")
    )
    times = [name for name in cases.columns if _TIMES.fullmatch(name)]
    moved = [
        pl.when(col(name) >= col("a_0")).then(col(name) + col("_own")).otherwise(col(name))
        for name in times
    ]
    label = col("planted")
    for flag, name in (("_slowed", _SLOWED), ("_delayed", _DELAYED)):
        label = (
            pl.when(col(flag))
            .then(pl.concat_str([label, pl.lit(name)], separator=",", ignore_nulls=True))
            .otherwise(label)
        )
    return (
        out.with_columns(
            *moved, (col("start") + col("_before")).alias("start"), label.alias("planted")
        )
        .drop("_own", "_slowed", "_delayed", "_before")
        .with_columns(col("start").rank("ordinal").cast(pl.Int64).alias("case_id"))
        .with_columns(pl.when(col("merged")).then(col("case_id").shift(1)).alias("merged_into"))
    )
