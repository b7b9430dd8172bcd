"""Command-line subcommands of the cross-channel analyses (the logic lives in their modules).

``csmetrics contagion``, ``cost``, ``difficulty``, ``occupancy`` and ``pulled``;
:mod:`csmetrics.cli` adds the parsers with :func:`add_parsers` and runs them with :func:`run`.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable
from typing import Any, Final

import polars as pl

from csmetrics.contagion import comp_contagion
from csmetrics.cost import cost_per_resolved_issue
from csmetrics.difficulty import DifficultyRule, difficulty_effect, difficulty_summary
from csmetrics.exceptions import PolicyError
from csmetrics.log import EventLog
from csmetrics.occupancy import agent_occupancy, pulled_onto
from csmetrics.policy import Policy
from csmetrics.redirects import KINDS, redirect_rate
from csmetrics.spillover import spillover
from csmetrics.topics import TopicRules, tag_topics
from csmetrics.trends import trends

__all__ = ["COMMANDS", "add_parsers", "run"]

COMMANDS: Final[tuple[str, ...]] = (
    "contagion",
    "cost",
    "difficulty",
    "occupancy",
    "pulled",
    "redirects",
    "spillover",
    "topics",
)

AddArguments = Callable[[argparse.ArgumentParser], None]
Write = Callable[..., None]


def add_parsers(
    commands: Any, add_input: AddArguments, add_policy: AddArguments, add_output: AddArguments
) -> None:
    """Add the analysis subcommands to the ``csmetrics`` parser."""
    contagion = commands.add_parser(
        "contagion", help="do public comps bring other customers to complain in public?"
    )
    add_input(contagion)
    add_policy(contagion)
    contagion.add_argument("--window", default="2h", help="after each public comp (default 2h)")
    contagion.add_argument(
        "--baseline-days",
        default="-14,-7,7,14",
        help="day offsets of the matched baseline windows (default -14,-7,7,14)",
    )
    contagion.add_argument("--no-control", action="store_true", help="no other-channel control")
    contagion.add_argument(
        "--requests", help="topic rules TOML recognising comp requests in the message text"
    )
    contagion.add_argument("--text", default="text", help="the message text column (text)")
    contagion.add_argument("--n-boot", type=int, default=1000, help="bootstrap replicates")
    contagion.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    add_output(contagion)

    cost = commands.add_parser("cost", help="cost per resolved issue by channel (a rate card)")
    add_input(cost)
    add_policy(cost)
    cost.add_argument("--rates", required=True, help="rate card TOML: cost per hour")
    cost.add_argument("--window", default="7d", help="journey window linking cases (7d)")
    add_output(cost)

    difficulty = commands.add_parser(
        "difficulty", help="first response and resolution time by difficulty"
    )
    add_input(difficulty)
    add_policy(difficulty)
    difficulty.add_argument("--rule", help="difficulty rule TOML (default: the built-in rule)")
    difficulty.add_argument(
        "--effect",
        action="store_true",
        help="how many times longer medium and hard cases take than easy ones (with intervals)",
    )
    difficulty.add_argument("--by", help="with --effect: compare within this case column")
    add_output(difficulty)

    occupancy = commands.add_parser(
        "occupancy", help="each agent's messages and handle time by channel and hour"
    )
    add_input(occupancy)
    add_policy(occupancy)
    occupancy.add_argument("--freq", default="1h", help="bucket length (default 1h)")
    add_output(occupancy)

    pulled = commands.add_parser(
        "pulled", help="which agents were pulled onto a channel during a window"
    )
    add_input(pulled)
    add_policy(pulled)
    pulled.add_argument(
        "--channel", action="append", required=True, help="the channel (repeat for several)"
    )
    pulled.add_argument("--start", required=True, help="window start, ISO 8601 with offset")
    pulled.add_argument("--end", required=True, help="window end, ISO 8601 with offset")
    pulled.add_argument("--baseline-days", default="-7,7", help="comparable days (default -7,7)")
    add_output(pulled)

    redirects = commands.add_parser(
        "redirects", help="share of issues redirected to another channel, and what it costs"
    )
    add_input(redirects)
    add_policy(redirects)
    redirects.add_argument(
        "--window", default="2h", help="a new case this soon after an agent reply (default 2h)"
    )
    redirects.add_argument(
        "--kind",
        action="append",
        choices=("explicit", "to_private", "sent_elsewhere"),
        help="count only these kinds (repeat; default all)",
    )
    redirects.add_argument(
        "--compare",
        choices=("all", "repeat"),
        default="all",
        help="resolution time against all other issues, or like with like: issues with "
        "more than one contact (repeat)",
    )
    add_output(redirects)

    spill = commands.add_parser(
        "spillover", help="does a surge on one channel slow the others? (with intervals)"
    )
    add_input(spill)
    add_policy(spill)
    spill.add_argument("--surge-channel", default="twitter", help="the surging channel")
    spill.add_argument("--freq", default="1h", help="bucket length (default 1h)")
    spill.add_argument(
        "--no-control", action="store_true", help="keep surges shared with every channel"
    )
    spill.add_argument(
        "--cascade", action="store_true", help="show who went public next instead of effects"
    )
    add_output(spill)

    topics = commands.add_parser(
        "topics", help="tag topics from message text, then spikes: systemic or one customer"
    )
    add_input(topics)
    add_policy(topics)
    topics.add_argument("--rules", required=True, help="topic rules TOML (keywords, patterns)")
    topics.add_argument("--text", default="text", help="the message text column (text)")
    topics.add_argument("--reach", help="a reach column (followers …) to weigh cases by")
    topics.add_argument(
        "--period",
        default="day",
        choices=("hour", "day", "week", "month"),
        help="the period topic volumes are counted in (default day)",
    )
    topics.add_argument("--all", action="store_true", help="every period, not only spikes")
    add_output(topics)


def _days(text: str, option: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise PolicyError(
            f"{option} must be whole days separated by commas (got {text!r})"
        ) from None


def _instant(text: str, option: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise PolicyError(f"{option} {text!r} is not ISO 8601") from None
    if value.tzinfo is None:
        raise PolicyError(f"{option} {text!r} needs an offset, e.g. 2024-01-12T10:00+00:00")
    return value


def run(args: argparse.Namespace, log: EventLog, policy: Policy, write: Write) -> pl.DataFrame:
    """Run one analysis subcommand; write its table and return it."""
    title = args.command
    if args.command == "contagion":
        frame = comp_contagion(
            log,
            window=args.window,
            baseline_days=_days(args.baseline_days, "--baseline-days"),
            control=not args.no_control,
            requests=args.requests,
            text=args.text,
            n_boot=args.n_boot,
            seed=args.seed,
            policy=policy,
        ).collect()
        title = "public-comp contagion: extra new public cases per public comp (channel — = all)"
    elif args.command == "cost":
        frame = cost_per_resolved_issue(
            log, args.rates, window=args.window, policy=policy
        ).collect()
        title = "cost per resolved issue, by the channel the issue started on (— = all)"
    elif args.command == "difficulty":
        rule = DifficultyRule.from_toml(args.rule) if args.rule else None
        if args.effect:
            frame = difficulty_effect(log, rule, by=args.by, policy=policy).collect()
            title = "times longer than easy cases (median ratio, 95 % interval)"
        else:
            frame = difficulty_summary(log, rule, policy=policy).collect()
            title = "first response and resolution (seconds) by difficulty"
    elif args.command == "occupancy":
        frame = agent_occupancy(log, freq=args.freq, policy=policy).collect()
        title = "agent occupancy by channel"
    elif args.command == "redirects":
        frame = redirect_rate(
            log, window=args.window, kinds=args.kind or KINDS, compare=args.compare, policy=policy
        ).collect()
        title = "redirected issues by the channel they started on (— = all)"
    elif args.command == "spillover":
        result = spillover(
            log,
            surge_channel=args.surge_channel.strip().lower(),
            freq=args.freq,
            shared_factor=None if args.no_control else 1.5,
            cascade=args.cascade,
            policy=policy,
        )
        if args.cascade:
            assert result.cascade is not None
            frame = result.cascade.collect()
            title = "customers hit by the surge who went public next, against comparable hours"
        else:
            frame = result.effects.collect()
            title = f"during {args.surge_channel} surges, against the same hours on other days"
    elif args.command == "topics":
        tagged = tag_topics(log, TopicRules.from_toml(args.rules), text=args.text)
        spikes = trends(tagged, by=["topic", "channel"], period=args.period, reach=args.reach)
        if not args.all:
            spikes = spikes.filter(pl.col("is_spike"))
        frame = spikes.collect()
        title = "topic spikes: systemic or one loud customer"
    else:
        frame = pulled_onto(
            log,
            args.channel,
            _instant(args.start, "--start"),
            _instant(args.end, "--end"),
            baseline_days=_days(args.baseline_days, "--baseline-days"),
            policy=policy,
        ).collect()
        title = f"agents on {', '.join(args.channel)} in the window vs comparable days"
    write(frame, args.format, args.output, title=title)
    return frame
