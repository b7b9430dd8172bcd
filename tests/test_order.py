"""The one event order as a sort: ``in_case_order`` against the oracle's order (DESIGN §2.2)."""

from __future__ import annotations

from typing import Any

import polars as pl
from hypothesis import given
from hypothesis import strategies as st
from tests.oracles import order_key as oracle_order
from tests.strategies import event_logs, to_frame

from csmetrics._order import CASE_NO, KEY, in_case_order, order_key
from csmetrics.schema import with_optional_columns


def _sorted_ids(frame: pl.DataFrame) -> list[tuple[Any, list[Any]]]:
    """Each case's event ids in the frame's row order, cases in the order they come; fails
    when a case's rows are not together."""
    out: list[tuple[Any, list[Any]]] = []
    for case, event in zip(frame["case_id"].to_list(), frame["event_id"].to_list(), strict=True):
        if out and out[-1][0] == case:
            out[-1][1].append(event)
        else:
            assert case not in {c for c, _ in out}, f"the rows of case {case!r} are split"
            out.append((case, [event]))
    return out


@given(events=event_logs(), numbered=st.booleans(), seed=st.integers(0, 2**16))
def test_in_case_order_is_the_one_event_order(
    events: list[dict[str, Any]], numbered: bool, seed: int
) -> None:
    # the oracle: each case's events sorted by (ts, type, actor, event_id) in plain Python
    expected: dict[Any, list[Any]] = {}
    for event in sorted(events, key=oracle_order):
        expected.setdefault(event["case_id"], []).append(event["event_id"])
    frame = with_optional_columns(to_frame(events).lazy()).collect()
    frame = frame.sample(fraction=1.0, shuffle=True, seed=seed)
    keyed = frame.lazy().with_columns(order_key(frame.schema))
    if numbered:  # a case number in no particular order, as the case table gives it
        cases = frame.select(pl.col("case_id").unique().shuffle(seed)).with_row_index(CASE_NO)
        keyed = keyed.join(cases.lazy(), on="case_id", how="left")
    ordered = in_case_order(keyed).collect()
    assert KEY in ordered.columns
    assert "_in_case" not in ordered.columns
    got = _sorted_ids(ordered)
    assert dict(got) == expected
    if not numbered:  # without a case number, cases come in case_id order
        assert [c for c, _ in got] == sorted(expected)
