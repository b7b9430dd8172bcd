"""A simulated log whose cases belong to 85 teams of very different sizes (issue 18).

Shared by ``test_many_groups.py`` (the HTML) and ``test_browser.py`` (the screenshot).
"""

from __future__ import annotations

import polars as pl

import csmetrics as csm

N_TEAMS = 85
EMPTY_TEAM = "zz-merged-only"


def team_name(rank: int) -> str:
    """Team names in mixed case: ``Team 00``, ``team 01``, ``Team 02`` …"""
    return f"{'Team' if rank % 2 == 0 else 'team'} {rank:02d}"


def many_teams_frame(n_cases: int = 3000, seed: int = 5) -> pl.DataFrame:
    """Events of ``n_cases`` simulated cases, each case in one of :data:`N_TEAMS` teams.

    A case's team is ``floor(85 · u²)`` for ``u = (case_id · 7919 mod 1000) / 1000``: team
    00 is the largest, the high ranks have a few cases each. Every merged case goes to
    :data:`EMPTY_TEAM`, which therefore has no case in any metric population.
    """
    frame = csm.datasets.simulate_frame(n_cases=n_cases, seed=seed)
    u = ((pl.col("case_id").cast(pl.Int64) * 7919) % 1000) / 1000
    rank = (u * u * N_TEAMS).floor().cast(pl.Int64)
    names = pl.Series([team_name(r) for r in range(N_TEAMS)])
    merged = frame.filter(pl.col("event_type") == "merged")["case_id"].unique()
    return frame.with_columns(
        pl.when(pl.col("case_id").is_in(merged.implode()))
        .then(pl.lit(EMPTY_TEAM))
        .otherwise(pl.lit(names).gather(rank))
        .alias("team")
    )
