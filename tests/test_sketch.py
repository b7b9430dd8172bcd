"""The mergeable sketches: DDSketch-style quantiles and HyperLogLog, as Polars expressions."""

from __future__ import annotations

import math
import random
import statistics

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csmetrics._sketch import (
    MIN_INDEXABLE,
    bucket_of,
    bucket_value,
    check_alpha,
    check_precision,
    hll_estimate,
    hll_registers,
    sketch_quantiles,
    with_stable_hash,
)
from csmetrics.exceptions import PolicyError

GAMMA = 1.01 / 0.99  # alpha = 0.01
MASK = 2**64 - 1


def _buckets(values: list[float], alpha: float = 0.01) -> pl.LazyFrame:
    frame = pl.LazyFrame(
        {"g": [1] * len(values), "x": values}, schema={"g": pl.Int64, "x": pl.Float64}
    )
    return (
        frame.group_by("g", bucket_of(pl.col("x"), alpha).alias("bucket"))
        .agg(pl.len().alias("count"), pl.col("x").min().alias("lo"), pl.col("x").max().alias("hi"))
        .with_columns(pl.col("lo").min().over("g"), pl.col("hi").max().over("g"))
    )


# -- buckets -------------------------------------------------------------------------------


def test_hand_worked_bucket() -> None:
    """100 s: ln(100) / ln(1.0202...) = 4.60517 / 0.0200007 = 230.25 -> bucket 231.

    Its representative 2 * gamma**231 / (gamma + 1) = 100.4946 is within 1 % of every value
    in (gamma**230, gamma**231] = (98.5, 100.49..].
    """
    frame = pl.DataFrame({"x": [100.0]})
    key = frame.select(bucket_of(pl.col("x")).alias("k"))["k"].item()
    assert key - 2**31 == 231
    rep = frame.select(bucket_value(bucket_of(pl.col("x"))).alias("v"))["v"].item()
    assert rep == pytest.approx(2 * GAMMA**231 / (GAMMA + 1))
    assert GAMMA**230 < 100.0 <= GAMMA**231


@settings(deadline=None)
@given(
    values=st.lists(
        st.one_of(
            st.floats(1e-6, 1e12),
            st.floats(-1e12, -1e-6),
            st.just(0.0),
            st.floats(0, MIN_INDEXABLE / 2),
        ),
        min_size=1,
        max_size=50,
    ),
    alpha=st.sampled_from([0.001, 0.01, 0.05]),
)
def test_representative_within_relative_error(values: list[float], alpha: float) -> None:
    frame = pl.DataFrame({"x": values}, schema={"x": pl.Float64})
    rep = frame.select(bucket_value(bucket_of(pl.col("x"), alpha), alpha).alias("v"))["v"]
    for x, v in zip(values, rep.to_list(), strict=True):
        if abs(x) < MIN_INDEXABLE:
            assert v == 0.0
        else:
            assert abs(v - x) <= alpha * abs(x) * (1 + 1e-9)


def test_bad_parameters() -> None:
    with pytest.raises(PolicyError, match="alpha"):
        check_alpha(0.5)
    with pytest.raises(PolicyError, match="alpha"):
        check_alpha(True)  # type: ignore[arg-type]
    with pytest.raises(PolicyError, match="precision"):
        check_precision(3)
    assert check_alpha(0.02) == 0.02
    assert check_precision(12) == 12


# -- quantiles -----------------------------------------------------------------------------


@settings(deadline=None)
@given(
    values=st.lists(st.floats(0, 1e8), min_size=1, max_size=80),
    q=st.floats(0, 1),
    alpha=st.sampled_from([0.005, 0.01, 0.05]),
)
def test_quantiles_within_alpha_of_exact(values: list[float], q: float, alpha: float) -> None:
    """Every quantile with linear interpolation is within alpha of Polars' exact one."""
    exact = pl.Series(values).quantile(q, "linear")
    assert exact is not None
    plain = sketch_quantiles(_buckets(values, alpha), ["g"], [("p", q)], alpha).collect()
    ended = sketch_quantiles(
        _buckets(values, alpha), ["g"], [("p", q)], alpha, ends=("lo", "hi")
    ).collect()
    for got in (plain["p"].item(), ended["p"].item()):
        assert abs(got - exact) <= alpha * exact * (1 + 1e-9) + MIN_INDEXABLE


def test_quantile_ends_are_exact() -> None:
    """With the exact minimum and maximum, q = 0 and q = 1 are exact, and n = 2 halfway too.

    Values 1800 and 5400: p0 = 1800, p100 = 5400, p50 = (1800 + 5400) / 2 = 3600.
    """
    buckets = _buckets([1800.0, 5400.0])
    quantiles = [("p0", 0.0), ("p50", 0.5), ("p100", 1.0)]
    out = sketch_quantiles(buckets, ["g"], quantiles, ends=("lo", "hi")).collect()
    assert out.select("p0", "p50", "p100").row(0) == (1800.0, 3600.0, 5400.0)


def test_quantiles_without_groups_and_negative_values() -> None:
    values = [-50.0, -10.0, 0.0, 10.0, 50.0]
    frame = pl.LazyFrame({"x": values})
    buckets = frame.group_by(bucket_of(pl.col("x")).alias("bucket")).agg(pl.len().alias("count"))
    out = sketch_quantiles(buckets, [], [("p0", 0.0), ("p50", 0.5), ("p75", 0.75)]).collect()
    # exact: p0 = -50, p50 = 0, p75 = 10 (rank 3 of 0..4)
    assert out["p0"].item() == pytest.approx(-50.0, rel=0.01)
    assert out["p50"].item() == 0.0
    assert out["p75"].item() == pytest.approx(10.0, rel=0.01)


@settings(deadline=None)
@given(
    values=st.lists(st.floats(0, 1e6), min_size=1, max_size=60),
    cut=st.integers(0, 60),
)
def test_merging_sketches_is_exact(values: list[float], cut: int) -> None:
    """Summing the bucket counts of two halves gives the sketch of the whole, identically."""

    def sketch(part: list[float]) -> pl.DataFrame:
        return _buckets(part).select("g", "bucket", "count").collect()

    halves = [sketch(values[:cut]), sketch(values[cut:])]
    merged = pl.concat(halves).group_by("g", "bucket").agg(pl.col("count").sum()).sort("bucket")
    whole = sketch(values).sort("bucket")
    assert merged.select("bucket", "count").equals(whole.select("bucket", "count"))


# -- the stable hash -----------------------------------------------------------------------


def _mix(x: int) -> int:
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def _hash_int(value: int) -> int:
    return _mix((value + 0x9E3779B97F4A7C15) & MASK)


def _hash_str(value: str) -> int:
    data = value.encode()
    hexed = data.hex()
    chunks = [hexed[14 * i : 14 * i + 14] for i in range(6)]
    tail = hexed[-28:]
    chunks += [tail[14 * i : 14 * i + 14] for i in range(2)]
    h = _mix((len(data) * 0x9E3779B97F4A7C15) & MASK)
    for i, chunk in enumerate(chunks):
        h = _mix(h ^ ((int(chunk or "0", 16) + (i + 2) * 0x9E3779B97F4A7C15) & MASK))
    return h


@settings(deadline=None)
@given(
    ints=st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=20),
    texts=st.lists(st.text(max_size=80), min_size=1, max_size=20),
)
def test_hash_matches_a_plain_python_reference(ints: list[int], texts: list[str]) -> None:
    """The hash is fixed arithmetic (splitmix64), not Polars' version-dependent hash."""
    got = with_stable_hash(pl.LazyFrame({"i": ints}), "i", "h").collect()["h"].to_list()
    assert got == [_hash_int(v) for v in ints]
    got = with_stable_hash(pl.LazyFrame({"s": texts}), "s", "h").collect()["h"].to_list()
    assert got == [_hash_str(v) for v in texts]


def test_hash_known_values_and_nulls() -> None:
    frame = pl.LazyFrame({"i": [1, None], "s": ["u1", None]})
    out = with_stable_hash(with_stable_hash(frame, "i", "hi"), "s", "hs").collect()
    assert out["hi"].to_list() == [10451216379200822465, None]
    assert out["hs"].to_list() == [_hash_str("u1"), None]


# -- HyperLogLog ---------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 10, 200, 5_000, 60_000])
def test_hll_estimates_within_four_standard_errors(n: int) -> None:
    """Relative standard error 1.04 / sqrt(2**14) = 0.81 %; 4 of them is 3.3 %."""
    ids = pl.LazyFrame({"id": pl.int_range(10**9, 10**9 + n, eager=True)})
    estimate = hll_estimate(hll_registers(ids, [], "id"), []).collect()["estimate"].item()
    assert abs(estimate - n) <= max(1.0, 4 * 1.04 / math.sqrt(2**14) * n)


def test_hll_error_matches_its_standard_error() -> None:
    """Over 20 disjoint sets of 20,000 string ids the errors' spread is about 0.81 %."""
    errors = []
    for k in range(20):
        ids = pl.LazyFrame({"id": [f"cust-{k}-{i}" for i in range(20_000)]})
        estimate = hll_estimate(hll_registers(ids, [], "id"), []).collect()["estimate"].item()
        errors.append(estimate / 20_000 - 1)
    assert abs(statistics.mean(errors)) < 0.006
    assert 0.003 < statistics.stdev(errors) < 0.014


def test_hll_ignores_duplicates_and_merges_by_max() -> None:
    rnd = random.Random(3)
    ids = [rnd.randrange(10**12) for _ in range(3000)]
    frame = pl.LazyFrame({"g": [1] * 3000, "id": ids})
    whole = hll_registers(frame, ["g"], "id").collect().sort("register")
    doubled = hll_registers(pl.concat([frame, frame]), ["g"], "id").collect().sort("register")
    assert whole.equals(doubled)
    halves = [
        hll_registers(frame.slice(0, 1000), ["g"], "id"),
        hll_registers(frame.slice(1000), ["g"], "id"),
    ]
    merged = pl.concat(halves).group_by("g", "register").agg(pl.col("rank").max())
    assert merged.collect().sort("register").equals(whole)
    estimate = hll_estimate(merged, ["g"]).collect()["estimate"].item()
    assert abs(estimate - len(set(ids))) < 0.04 * 3000


def test_hll_of_nothing_is_zero() -> None:
    empty = pl.LazyFrame({"id": []}, schema={"id": pl.Int64})
    assert hll_estimate(hll_registers(empty, [], "id"), []).collect()["estimate"].item() == 0.0
