"""What each channel costs per resolved issue, from handle time and a rate card.

Agent working time is the ``handle_seconds`` of the events (talk time on calls, work time
on replies; DESIGN §2.1). A :class:`RateCard` prices an hour of it by channel and team
(TOML, or a dict)::

    currency = "EUR"
    default = 30.0              # per hour, when nothing below matches

    [channel]                   # per hour on a channel
    phone = 32.0
    twitter = 38.0

    [team]                      # per hour of a team (wins over the channel)
    tier2 = 45.0

    [channel_team.twitter]      # a team on a channel (wins over both)
    social_care = 40.0

The cost of an event is ``handle_seconds / 3600 x rate``; an issue (a journey, DESIGN §7)
costs what all its cases cost, on every channel it went through. ``cost_per_resolved_issue``
divides the cost of the resolved issues by their number, per the channel each issue started
on (``by="channel"``, as for every issue-level figure), with a normal-approximation interval
of that mean. Issues still open are counted, and what they cost so far is reported apart.
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Mapping
from typing import Any, Final

import attrs
import polars as pl

from csmetrics._analysis import OnInvalid, analysis_events
from csmetrics._toml import read_toml
from csmetrics.exceptions import PolicyError
from csmetrics.journeys import Window, journeys
from csmetrics.log import EventLog
from csmetrics.policy import Policy

__all__ = ["COST_COLUMNS", "RateCard", "case_costs", "cost_per_resolved_issue"]

COST_COLUMNS: Final[tuple[str, ...]] = (
    "channel",
    "n_issues",
    "n_resolved",
    "handle_hours",
    "cost",
    "cost_per_resolved_issue",
    "ci_low",
    "ci_high",
    "open_cost",
    "currency",
)
"""Columns of :func:`cost_per_resolved_issue` (``channel`` null: all channels)."""

_SECTIONS: Final = ("currency", "default", "channel", "team", "channel_team")


def _rate_value(where: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PolicyError(f"rate card: {where} must be a number per hour (got {value!r})")
    rate = float(value)
    if not math.isfinite(rate) or rate < 0:
        raise PolicyError(f"rate card: {where} must be finite and >= 0 (got {value!r})")
    return rate


def _rates(section: str, value: object) -> dict[str, float]:
    if not isinstance(value, Mapping):
        raise PolicyError(
            f"rate card: [{section}] must be a table of name = cost per hour (got {value!r})"
        )
    return {str(k).strip().lower(): _rate_value(f"{section}.{k}", v) for k, v in value.items()}


@attrs.frozen
class RateCard:
    """Cost of an hour of agent time, by channel and team.

    Precedence: ``channel_team`` (a team on a channel), then ``team``, then ``channel``,
    then ``default``. Channel names are normalised like the log's (stripped, lower-case);
    team names are lower-cased for matching.

    Examples
    --------
    >>> card = RateCard.from_dict({"default": 30, "channel": {"phone": 32},
    ...     "team": {"tier2": 45}, "channel_team": {"twitter": {"social_care": 40}}})
    >>> card.rate("phone", None), card.rate("phone", "tier2"), card.rate("twitter", "social_care")
    (32.0, 45.0, 40.0)
    >>> card.rate("email", "billing")
    30.0
    """

    default: float | None = None
    channels: Mapping[str, float] = attrs.field(factory=dict)
    teams: Mapping[str, float] = attrs.field(factory=dict)
    channel_teams: Mapping[tuple[str, str], float] = attrs.field(factory=dict)
    currency: str = ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RateCard:
        """A rate card from the TOML structure (see the module docs)."""
        if not isinstance(data, Mapping):
            raise PolicyError(f"a rate card must be a mapping (got {type(data).__name__})")
        unknown = sorted(set(data) - set(_SECTIONS))
        if unknown:
            raise PolicyError(f"rate card: unknown key(s) {unknown}; known: {list(_SECTIONS)}")
        default = data.get("default")
        pairs: dict[tuple[str, str], float] = {}
        nested = data.get("channel_team", {})
        if not isinstance(nested, Mapping):
            raise PolicyError("rate card: [channel_team.<channel>] must hold tables of teams")
        for channel, teams in nested.items():
            for team, rate in _rates(f"channel_team.{channel}", teams).items():
                pairs[str(channel).strip().lower(), team] = rate
        return cls(
            default=None if default is None else _rate_value("default", default),
            channels=_rates("channel", data.get("channel", {})),
            teams=_rates("team", data.get("team", {})),
            channel_teams=pairs,
            currency=str(data.get("currency", "")),
        )

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> RateCard:
        """Read a rate card file; errors name the file."""
        try:
            return cls.from_dict(read_toml(path, PolicyError, "rate card"))
        except PolicyError as exc:
            message = str(exc)
            if message.startswith(str(path)):
                raise
            raise PolicyError(f"{path}: {message}") from None

    def rate(self, channel: str, team: str | None) -> float | None:
        """The cost per hour of ``team`` on ``channel`` (None when nothing matches)."""
        key = None if team is None else team.lower()
        if key is not None and (channel, key) in self.channel_teams:
            return self.channel_teams[channel, key]
        if key is not None and key in self.teams:
            return self.teams[key]
        if channel in self.channels:
            return self.channels[channel]
        return self.default


def _as_card(rates: RateCard | Mapping[str, Any] | str | os.PathLike[str]) -> RateCard:
    if isinstance(rates, RateCard):
        return rates
    if isinstance(rates, Mapping):
        return RateCard.from_dict(rates)
    if isinstance(rates, str | os.PathLike):
        return RateCard.from_toml(rates)
    raise PolicyError(f"'rates' must be a RateCard, a dict or a TOML path (got {rates!r})")


def case_costs(
    log: EventLog | object,
    rates: RateCard | Mapping[str, Any] | str | os.PathLike[str],
    *,
    policy: Policy | None = None,
    on_invalid: OnInvalid = "raise",
) -> pl.LazyFrame:
    """Per case with handle time: ``handle_hours`` and ``cost`` (rates applied per event).

    Raises
    ------
    PolicyError
        The rate card has no rate for a (channel, team) that has handle time; the message
        names each and how many events it holds.

    Examples
    --------
    >>> import csmetrics as csm
    >>> log = csm.testing.log_from_rows([("09:00", "case_created", "customer"),
    ...     ("09:30", "message", "agent", {"handle_seconds": 1800.0, "team": "tier2"})])
    >>> case_costs(log, {"default": 20, "team": {"tier2": 40}}).collect().rows()
    [(1, 0.5, 20.0)]

    Half an hour of tier 2 at 40 an hour.
    """
    card = _as_card(rates)
    policy = policy or Policy()
    priced, missing = _priced(log, card, policy, on_invalid)
    costs, missing_pairs = pl.collect_all([_per_case(priced), missing])
    _raise_missing(missing_pairs)
    return costs.lazy()


def _priced(
    log: EventLog | object, card: RateCard, policy: Policy, on_invalid: OnInvalid
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Events with handle time and their ``_rate``; and the unpriced (channel, team) pairs."""
    col = pl.col
    handled = (
        analysis_events(log, policy, on_invalid)
        .filter(col("handle_seconds").is_not_null())
        .select(
            "case_id",
            "channel",
            "team",
            col("team").str.to_lowercase().alias("_team"),
            "handle_seconds",
        )
    )
    pairs = pl.LazyFrame(
        {
            "channel": [c for c, _ in card.channel_teams],
            "_team": [t for _, t in card.channel_teams],
            "_pair_rate": list(card.channel_teams.values()),
        },
        schema={"channel": pl.String, "_team": pl.String, "_pair_rate": pl.Float64},
    )
    teams = pl.LazyFrame(
        {"_team": list(card.teams), "_team_rate": list(card.teams.values())},
        schema={"_team": pl.String, "_team_rate": pl.Float64},
    )
    channels = pl.LazyFrame(
        {"channel": list(card.channels), "_channel_rate": list(card.channels.values())},
        schema={"channel": pl.String, "_channel_rate": pl.Float64},
    )
    priced = (
        handled.join(pairs, on=["channel", "_team"], how="left")
        .join(teams, on="_team", how="left")
        .join(channels, on="channel", how="left")
        .with_columns(
            pl.coalesce(
                "_pair_rate", "_team_rate", "_channel_rate", pl.lit(card.default, pl.Float64)
            ).alias("_rate")
        )
    )
    missing = (
        priced.filter(col("_rate").is_null())
        .group_by("channel", "team")
        .agg(pl.len().alias("n"))
        .sort("channel", "team", nulls_last=True)
    )
    return priced, missing


def _per_case(priced: pl.LazyFrame) -> pl.LazyFrame:
    col = pl.col
    return (
        priced.group_by("case_id")
        .agg(
            (col("handle_seconds").sum() / 3600.0).alias("handle_hours"),
            (col("handle_seconds") / 3600.0 * col("_rate")).sum().alias("cost"),
        )
        .sort("case_id")
    )


def _raise_missing(missing: pl.DataFrame) -> None:
    if missing.height == 0:
        return
    parts = [f"channel {c!r} team {t!r} ({n} events)" for c, t, n in missing.iter_rows()]
    raise PolicyError(
        f"the rate card has no rate for {len(parts)} (channel, team) pair(s) with handle "
        f"time: {', '.join(parts[:5])}{' …' if len(parts) > 5 else ''}; add them under "
        "[channel], [team] or [channel_team.<channel>], or set 'default'"
    )


def cost_per_resolved_issue(
    log: EventLog | object,
    rates: RateCard | Mapping[str, Any] | str | os.PathLike[str],
    *,
    by: str | None = "channel",
    window: Window = "7d",
    level: float = 0.95,
    policy: Policy | None = None,
    on_invalid: OnInvalid = "raise",
) -> pl.LazyFrame:
    """Cost per resolved issue, by the channel issues started on.

    Parameters
    ----------
    log
        An :class:`~csmetrics.EventLog` or anything :meth:`EventLog.from_frame` reads.
    rates
        A :class:`RateCard`, its dict, or the path of its TOML file.
    by
        ``"channel"`` (the channel each issue started on) or None (all issues).
    window
        The journey window that links a customer's cases into one issue (DESIGN §7).
    level
        Coverage of the interval of the mean (normal approximation).
    policy, on_invalid
        As for :func:`csmetrics.compute`.

    Returns
    -------
    pl.LazyFrame
        :data:`COST_COLUMNS`, one row per channel and a last row for all issues
        (``channel`` null): ``n_issues``, ``n_resolved``, ``handle_hours`` and ``cost`` of
        the resolved issues (every case, every channel they went through),
        ``cost_per_resolved_issue`` (cost / n_resolved) with ``ci_low``/``ci_high``,
        ``open_cost`` (spent so far on issues still open), ``currency``.

    Examples
    --------
    An email issue that went on by phone, and an open chat issue:

    >>> import csmetrics as csm
    >>> log = csm.testing.log_from_rows([
    ...     ("09:00", "case_created", "customer", {"case_id": 1}),
    ...     ("09:30", "message", "agent", {"case_id": 1, "handle_seconds": 600.0}),
    ...     ("10:00", "case_created", "customer", {"case_id": 2, "channel": "phone"}),
    ...     ("10:01", "message", "agent", {"case_id": 2, "channel": "phone",
    ...                                    "handle_seconds": 1200.0}),
    ...     ("10:30", "status_changed", "agent", {"case_id": 2, "channel": "phone",
    ...                                           "status": "solved"}),
    ...     ("11:00", "status_changed", "agent", {"case_id": 1, "status": "solved"}),
    ...     ("12:00", "case_created", "customer", {"case_id": 3, "customer_id": 2,
    ...                                           "channel": "chat"}),
    ...     ("12:05", "message", "agent", {"case_id": 3, "customer_id": 2, "channel": "chat",
    ...                                    "handle_seconds": 450.0})])
    >>> rates = {"currency": "EUR", "channel": {"email": 30, "phone": 36, "chat": 24}}
    >>> out = cost_per_resolved_issue(log, rates).collect()
    >>> out.select("channel", "n_resolved", "cost", "open_cost").rows()
    [('chat', 0, 0.0, 3.0), ('email', 1, 17.0, 0.0), (None, 1, 17.0, 3.0)]

    10 min of email at 30/h (5.0) + 20 min of phone at 36/h (12.0) = 17.0 for the one
    resolved issue, which started on email; the chat issue is open: 7.5 min at 24/h = 3.0.
    """
    if by not in ("channel", None):
        raise PolicyError(
            f"cost_per_resolved_issue groups by 'channel' (the channel an issue started on) "
            f"or None (got by={by!r})"
        )
    if not 0 < level < 1:
        raise PolicyError(f"'level' must be between 0 and 1, e.g. 0.95 (got {level!r})")
    card = _as_card(rates)
    policy = policy or Policy()
    col = pl.col
    priced, missing = _priced(log, card, policy, on_invalid)
    issue_plan = journeys(log, window=window, policy=policy, on_invalid=on_invalid).select(
        "issue_id", "cases", col("first_channel").alias("channel"), "is_open"
    )
    # One collect: the event scan of the costs and the journeys share what they can.
    case_frame, missing_pairs, issue_frame = pl.collect_all(
        [_per_case(priced), missing, issue_plan]
    )
    _raise_missing(missing_pairs)
    costs = case_frame.lazy()
    per_issue = (
        issue_frame.lazy()
        .explode("cases")
        .rename({"cases": "case_id"})
        .join(costs, on="case_id", how="left")
        .group_by("issue_id")
        .agg(
            col("channel").first(),
            col("is_open").first(),
            col("handle_hours").sum(),
            col("cost").sum(),
        )
    )
    z = statistics.NormalDist().inv_cdf(0.5 + level / 2.0)
    resolved = ~col("is_open")

    def summary(frame: pl.LazyFrame) -> pl.LazyFrame:
        return frame.group_by("channel").agg(
            pl.len().cast(pl.UInt32).alias("n_issues"),
            resolved.sum().cast(pl.UInt32).alias("n_resolved"),
            col("handle_hours").filter(resolved).sum().alias("handle_hours"),
            col("cost").filter(resolved).sum().alias("cost"),
            col("cost").filter(resolved).mean().alias("cost_per_resolved_issue"),
            col("cost").filter(resolved).std().alias("_sd"),
            col("cost").filter(~resolved).sum().alias("open_cost"),
        )

    overall = summary(per_issue.with_columns(pl.lit(None, pl.String).alias("channel")))
    parts = [overall] if by is None else [summary(per_issue).sort("channel"), overall]
    half = z * col("_sd").fill_null(0.0) / col("n_resolved").cast(pl.Float64).sqrt()
    return (
        pl.concat(parts)
        .with_columns(
            (col("cost_per_resolved_issue") - half).alias("ci_low"),
            (col("cost_per_resolved_issue") + half).alias("ci_high"),
            pl.lit(card.currency).alias("currency"),
        )
        .select(COST_COLUMNS)
    )
