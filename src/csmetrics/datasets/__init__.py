"""Simulated event logs: :func:`simulate` and the bundled sample, :func:`sample_log`.

The simulator writes a realistic omnichannel customer-service log in the canonical schema
(DESIGN §2), from a seed, with Polars expressions only: the demo, the docs, the tests and the
benchmarks all run on it. With ``truth=True`` it also says which cases it generated as one
customer issue and which of them switched channel, so journey metrics can be checked against
what really happened.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import polars as pl

from csmetrics.datasets._effects import Effects
from csmetrics.datasets._simulate import (
    DEFAULT_CHANNEL_MIX,
    EVENTS_PER_CASE,
    HANDLE_MEDIAN,
    JOURNEY_WINDOW,
    SOCIAL_COMP_RATE,
    SOCIAL_FIRST_RESPONSE_MEDIAN,
    TRUTH_COLUMNS,
    simulate_frame,
)
from csmetrics.exceptions import PolicyError
from csmetrics.log import EventLog

__all__ = [
    "DEFAULT_CHANNEL_MIX",
    "EVENTS_PER_CASE",
    "HANDLE_MEDIAN",
    "JOURNEY_WINDOW",
    "SAMPLE_CASES",
    "SAMPLE_SEED",
    "SOCIAL_COMP_RATE",
    "SOCIAL_FIRST_RESPONSE_MEDIAN",
    "TRUTH_COLUMNS",
    "Effects",
    "sample_frame",
    "sample_log",
    "simulate",
    "simulate_frame",
    "simulate_parquet",
]

SAMPLE_CASES = 2_000
"""Number of cases in the bundled sample log."""

SAMPLE_SEED = 0
"""Seed of the bundled sample log."""

_START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def simulate(
    n_cases: int = 10_000,
    *,
    seed: int = 0,
    start: dt.datetime = _START,
    days: int = 28,
    channels: Mapping[str, float] | None = None,
    truth: bool = False,
    effects: Effects | None = None,
) -> EventLog:
    """Simulate a realistic omnichannel customer-service event log.

    The log is the same for the same arguments (within one Polars version), whatever the
    number of threads. It is built with Polars expressions only: about a million cases (ten
    million events) take about ten CPU seconds and 2.3 GiB.

    What it holds:

    * **Customers and issues.** Customers raise issues; an issue is one or more cases. A case
      opens with ``case_created`` (by the customer; a few percent are outbound cases an agent
      opens) and the customer's first message (on ``phone``, the call).
    * **Channels.** New issues follow the ``channels`` mix. Response times are heavy-tailed
      (log-logistic with an occasional backlog factor) and differ by channel: seconds to minutes
      on the phone, minutes in chat, hours by email, in between on messaging and social media,
      faster on public social posts than in direct messages.
    * **Visibility.** Visibility belongs to the event (``is_public``, set on social messages).
      About a third of first social cases are DM conversations from the start (every message
      private); most public complaints are then taken to a DM (the later messages private).
      Public cases are answered faster and comped more often
      (:data:`SOCIAL_FIRST_RESPONSE_MEDIAN`, :data:`SOCIAL_COMP_RATE`).
    * **Automation.** Chat and messaging conversations often start with a bot (``bot``
      messages, then ``bot_handoff`` to a human, or the bot solves it); email and web forms
      get an auto-reply (``system`` message).
    * **Work on the case.** Assignment, internal notes, transfers, escalations, priority
      changes, agent replies (``handle_seconds`` on every agent reply, every channel:
      :data:`HANDLE_MEDIAN`), customer
      follow-ups, ``pending`` and ``on_hold`` periods, solves, reopens, closes (four days after
      the solve on asynchronous channels), CSAT answers (1-5) after some solves, and comps
      (``comp_granted``), several times more often on public social posts.
    * **Calls.** Some callers hang up in the queue: ``call_abandoned``, then the case closes,
      with no agent message; many call again.
    * **Journeys.** Some issues have follow-up cases, started while the previous case is
      unresolved or within :data:`JOURNEY_WINDOW` (7 days) of its last resolution, often on
      another channel (a public social channel, often: a queue jump); some same-channel
      duplicates are ``merged`` into the previous case of the customer.
    * **Time.** Busy weekdays and afternoons, one outage day (topic ``outage``) when many
      customers write within hours. Events after ``start + days`` are cut off, so the latest
      cases are still open; a few cases are never answered or never resolved.

    Parameters
    ----------
    n_cases
        Number of cases (about 10.5 events each with the default mix).
    seed
        Seed of every random draw.
    start
        First instant of the window (time-zone aware); the daily cycle follows its zone.
    days
        Length of the window in days: cases start in ``[start, start + days)`` and no event
        is later than ``start + days``.
    channels
        Channel name -> share of new issues (default :data:`DEFAULT_CHANNEL_MIX`). Channels
        are known to the taxonomy of DESIGN §2.4 by name; unknown names behave like email.
    truth
        Add the ground truth: ``sim_issue_id`` (the customer issue each case belongs to) and
        ``sim_switched`` (the case started on another channel than the previous case of its
        issue). Issues follow the journey rule exactly: within an issue each case starts
        while an earlier case is unresolved or within 7 days after its resolution (its last
        ``solved``/``closed`` status); a customer's next issue starts more than 7 days after
        every case of the previous one was resolved. Also, per case (DESIGN §2.4, §7):
        ``sim_is_public`` (the first customer message is public), ``sim_moved_to_private``
        (a public case with a private message: taken to a DM) and ``sim_queue_jump`` (a switch
        from a private case to a public one while the previous case of the issue was in an
        unresolved status: a DM is private, so a move into a DM is never a queue jump);
        ``sim_planted`` names the planted effect a case comes from (null for the others).
    effects
        Effects to plant with a known size, for checking analyses (:class:`Effects`, e.g.
        ``Effects(contagion=0.5)``); none by default.

    Returns
    -------
    EventLog
        A trusted log (the simulator only writes valid rows).

    Raises
    ------
    PolicyError
        An argument is out of range.

    Examples
    --------
    >>> from csmetrics.datasets import simulate
    >>> log = simulate(n_cases=100, seed=1)
    >>> frame = log.frame.collect()
    >>> frame.height > 0, frame["case_id"].n_unique()
    (True, 100)
    >>> frame.equals(simulate(n_cases=100, seed=1).frame.collect())
    True
    """
    frame = simulate_frame(
        n_cases, seed=seed, start=start, days=days, channels=channels, truth=truth, effects=effects
    )
    source = f"simulate(n_cases={n_cases}, seed={seed})"
    return EventLog.trusted(frame.lazy(), source=source)


@functools.lru_cache(maxsize=1)
def _sample() -> pl.DataFrame:
    return simulate_frame(SAMPLE_CASES, seed=SAMPLE_SEED)


def sample_frame() -> pl.DataFrame:
    """The bundled sample log as a DataFrame: 2,000 simulated cases, seed 0, January 2024.

    Examples
    --------
    >>> from csmetrics.datasets import sample_frame
    >>> frame = sample_frame()
    >>> frame["case_id"].n_unique()
    2000
    >>> str(frame["ts"].min())[:10]
    '2024-01-01'
    """
    return _sample().clone()


def sample_log() -> EventLog:
    """The bundled sample log (used by ``csmetrics demo``, the docs and the examples).

    It is generated, not shipped: :func:`simulate` with 2,000 cases and seed 0, computed once
    per process.

    Examples
    --------
    >>> from csmetrics.datasets import sample_log
    >>> sample_log().frame.select("case_id").unique().collect().height
    2000
    """
    return EventLog.trusted(sample_frame().lazy(), source="csmetrics.datasets.sample_log()")


def simulate_parquet(
    n_events: int | None = None,
    *,
    n_cases: int | None = None,
    seed: int = 0,
    path: str | os.PathLike[str] | None = None,
    start: dt.datetime = _START,
    days: int = 28,
    channels: Mapping[str, float] | None = None,
    truth: bool = False,
    effects: Effects | None = None,
) -> Path:
    """Write a simulated log to a Parquet file (for benchmarks) and return its path.

    Parameters
    ----------
    n_events
        About how many events to write (``n_cases = ceil(n_events / EVENTS_PER_CASE)``).
    n_cases
        Or exactly how many cases.
    seed, start, days, channels, truth, effects
        As for :func:`simulate`.
    path
        Where to write. Without it the file goes to a cache folder in the system temporary
        directory, named after the arguments, and is reused when it is already there.

    Raises
    ------
    PolicyError
        Neither or both of ``n_events`` and ``n_cases`` are given, or an argument is out of
        range.

    Examples
    --------
    >>> import polars as pl, tempfile, os
    >>> from csmetrics.datasets import simulate_parquet
    >>> target = os.path.join(tempfile.mkdtemp(), "events.parquet")
    >>> written = simulate_parquet(n_cases=50, seed=2, path=target)
    >>> pl.scan_parquet(written).select(pl.col("case_id").n_unique()).collect().item()
    50
    """
    if (n_events is None) == (n_cases is None):
        raise PolicyError(
            "simulate_parquet needs exactly one of 'n_events' and 'n_cases' "
            f"(got n_events={n_events!r}, n_cases={n_cases!r})"
        )
    if n_cases is None:
        if isinstance(n_events, bool) or not isinstance(n_events, int) or n_events < 0:
            raise PolicyError(f"'n_events' must be an integer >= 0 (got {n_events!r})")
        n_cases = math.ceil(n_events / EVENTS_PER_CASE)
    if path is None:
        key = repr(
            (
                n_cases,
                seed,
                start.isoformat(),
                days,
                sorted((channels or {}).items()),
                truth,
                repr(effects),
                pl.__version__,
            )
        )
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        folder = Path(tempfile.gettempdir()) / "csmetrics-simulate"
        target = folder / f"simulate-{n_cases}-{seed}-{digest}.parquet"
        if target.exists():
            return target
        folder.mkdir(parents=True, exist_ok=True)
    else:
        target = Path(path)
    frame = simulate_frame(
        n_cases, seed=seed, start=start, days=days, channels=channels, truth=truth, effects=effects
    )
    partial = target.with_name(target.name + f".{os.getpid()}.tmp")
    frame.write_parquet(partial)
    partial.replace(target)
    return target
