"""check_adapter / check_metric: the conformance checks a vendor runs in its own CI."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import csmetrics as csm
from csmetrics._checks import ConformanceError, check_adapter, check_metric, sample_case_table
from csmetrics.exceptions import CsMetricsError

DATA = Path(__file__).parent / "data"

ROWS = (
    "case_id,customer_id,channel,ts,event_type,actor\n"
    "1,7,email,2024-03-01T09:00:00Z,case_created,customer\n"
    "1,7,email,2024-03-01T09:30:00Z,message,agent\n"
    "2,8,chat,2024-03-01T10:00:00Z,case_created,customer\n"
    "2,8,chat,2024-03-01T10:05:00Z,teleported,agent\n"
)


def canonical_csv(source: Any, *, tz: str | None = None) -> csm.EventLog:
    """A well-behaved adapter: canonical CSV in, validated log out."""
    frame = pl.read_csv(source, infer_schema=False)
    return csm.EventLog.from_frame(frame, tz=tz, source=str(source))


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    path = tmp_path / "events.csv"
    path.write_text(ROWS)
    return path


# -- check_adapter ---------------------------------------------------------------------------


def test_a_good_adapter_passes_with_conservation(sample: Path) -> None:
    log = check_adapter(canonical_csv, sample, n_source_rows=4)
    # 4 rows in: 3 valid events + 1 rejected ('teleported' is no event type)
    assert log.frame.collect().height == 3
    assert log.rejected is not None
    assert log.rejected.collect()["reason"].to_list() == ["unknown_event_type"]


@pytest.mark.parametrize(
    ("name", "sample"),
    [
        pytest.param(  # an incremental export without users: author 503's role is unknown
            "zendesk",
            "zendesk/ticket_events.json",
            marks=pytest.mark.filterwarnings("ignore::csmetrics.exceptions.AdapterWarning"),
        ),
        ("zendesk", "zendesk/ticket_events.ndjson"),
        ("zendesk", "zendesk/audits.json"),
        ("intercom", "intercom/conversations.json"),
        ("intercom", "intercom/conversations.ndjson"),
    ],
)
def test_builtin_adapters_pass(name: str, sample: str) -> None:
    check_adapter(name, DATA / sample)


def test_failures_are_assertion_errors_and_csmetrics_errors(sample: Path) -> None:
    def returns_a_frame(source: Any, *, tz: str | None = None) -> pl.DataFrame:
        return pl.read_csv(source)

    with pytest.raises(ConformanceError, match=r"not a csmetrics\.EventLog") as info:
        check_adapter(returns_a_frame, sample)
    assert isinstance(info.value, AssertionError)
    assert isinstance(info.value, CsMetricsError)


def test_library_errors_must_not_escape(sample: Path) -> None:
    def leaky(source: Any, *, tz: str | None = None) -> csm.EventLog:
        raise ValueError("polars said no")

    with pytest.raises(ConformanceError, match="not a CsMetricsError"):
        check_adapter(leaky, sample)


def test_not_an_adapter() -> None:
    with pytest.raises(ConformanceError, match="not callable"):
        check_adapter(42, "x.csv")  # type: ignore[arg-type]


def test_wrong_dtypes_are_named(sample: Path) -> None:
    def untyped(source: Any, *, tz: str | None = None) -> csm.EventLog:
        return csm.EventLog.trusted(pl.read_csv(source, infer_schema=False))

    with pytest.raises(ConformanceError, match="ts is String"):
        check_adapter(untyped, sample)


def test_rule_breaks_in_the_frame_are_found(sample: Path) -> None:
    def trusting(source: Any, *, tz: str | None = None) -> csm.EventLog:
        good = canonical_csv(source).frame.collect()
        return csm.EventLog.trusted(pl.concat([good, good]))  # every event twice

    with pytest.raises(ConformanceError, match="duplicate_event"):
        check_adapter(trusting, sample)


def test_rejects_need_a_reason(sample: Path) -> None:
    def silent(source: Any, *, tz: str | None = None) -> csm.EventLog:
        log = canonical_csv(source)
        assert log.rejected is not None
        no_reason = log.rejected.with_columns(pl.lit(None, pl.String).alias("reason"))
        return csm.EventLog(log.frame, no_reason, log.source)

    with pytest.raises(ConformanceError, match="have no reason"):
        check_adapter(silent, sample)


def test_conservation_counts_rows(sample: Path) -> None:
    with pytest.raises(ConformanceError, match="5 source rows but 3 events"):
        check_adapter(canonical_csv, sample, n_source_rows=5)


def test_nondeterminism_is_found(sample: Path) -> None:
    calls = itertools.count()

    def drifting(source: Any, *, tz: str | None = None) -> csm.EventLog:
        frame = pl.read_csv(source, infer_schema=False).with_columns(
            pl.lit(f"ch{next(calls)}").alias("channel")
        )
        return csm.EventLog.from_frame(frame)

    with pytest.raises(ConformanceError, match="two runs"):
        check_adapter(drifting, sample)


def test_row_order_dependence_is_found(sample: Path) -> None:
    def first_wins(source: Any, *, tz: str | None = None) -> csm.EventLog:
        frame = pl.read_csv(source, infer_schema=False)
        frame = frame.with_columns(pl.col("customer_id").first().alias("customer_id"))
        return csm.EventLog.from_frame(frame)

    with pytest.raises(ConformanceError, match="reversing the order"):
        check_adapter(first_wins, sample)
    check_adapter(first_wins, sample, row_order=False)


# -- check_metric ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", [m.name for m in csm.metrics.builtins()])
def test_builtin_metrics_pass(name: str) -> None:
    check_metric(name)


@dataclasses.dataclass(frozen=True)
class QuickRate:
    name: str = "quick_rate"
    unit: str = "ratio"
    level: str = "case"
    kind: str = "rate"
    definition: str = "Share of cases answered within ten minutes."
    docs: str = "#quick_rate"
    columns: tuple[str, ...] = ("first_response_time", "merged")

    def population(self, policy: object) -> pl.Expr:
        return ~pl.col("merged")

    def value(self, policy: object) -> pl.Expr:
        return (pl.col("first_response_time") <= dt.timedelta(minutes=10)).fill_null(value=False)


def test_a_plugin_metric_passes() -> None:
    check_metric(QuickRate())


def test_sample_case_table() -> None:
    table = sample_case_table()
    # six cases: 1 solved, 2 abandoned call, 3 agent-created chat, 4 reopened and closed,
    # 5 pending on twitter, 6 merged
    assert table.height == 6
    assert table.filter(pl.col("case_id") == 4)["n_reopens"].item() == 1
    assert table.filter(pl.col("case_id") == 1)["first_response_time"].item() == dt.timedelta(
        minutes=30
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "Quick"}, "snake_case"),
        ({"unit": "seconds"}, "rate metric must have unit 'ratio'"),
        ({"kind": "duration"}, "duration metric must have unit 'seconds'"),
        ({"kind": "velocity"}, "'kind' must be in"),
        ({"definition": "  "}, "'definition' must be a non-empty string"),
        ({"columns": ("merged",)}, r"read \['first_response_time'\] but 'columns' declares"),
        ({"columns": ("first_response_time", "merged", "vibes")}, "does not have"),
    ],
)
def test_metric_failures(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ConformanceError, match=message):
        check_metric(dataclasses.replace(QuickRate(), **change))


def test_metric_value_dtypes() -> None:
    @dataclasses.dataclass(frozen=True)
    class Numeric(QuickRate):
        def value(self, policy: object) -> pl.Expr:
            return pl.col("first_response_time").dt.total_seconds()

    with pytest.raises(ConformanceError, match="needs a Boolean"):
        check_metric(Numeric())

    @dataclasses.dataclass(frozen=True)
    class Backwards(QuickRate):
        unit: str = "seconds"
        kind: str = "duration"

        def value(self, policy: object) -> pl.Expr:
            return -pl.col("first_response_time")

    with pytest.raises(ConformanceError, match="negative for 2 sample case"):
        check_metric(Backwards())


def test_metric_population_must_be_boolean_and_not_raise() -> None:
    @dataclasses.dataclass(frozen=True)
    class Counted(QuickRate):
        def population(self, policy: object) -> pl.Expr:
            return pl.col("merged").cast(pl.Int8)

    with pytest.raises(ConformanceError, match="not Boolean"):
        check_metric(Counted())

    @dataclasses.dataclass(frozen=True)
    class Raising(QuickRate):
        def population(self, policy: object) -> pl.Expr:
            raise RuntimeError("boom")

    with pytest.raises(ConformanceError, match=r"population\(policy\) raised RuntimeError"):
        check_metric(Raising())

    @dataclasses.dataclass(frozen=True)
    class NotAnExpr(QuickRate):
        def value(self, policy: object) -> Any:
            return 0.5

    with pytest.raises(ConformanceError, match=r"not a pl\.Expr"):
        check_metric(NotAnExpr())


def test_metric_missing_members() -> None:
    class Half:
        name = "half"

    with pytest.raises(ConformanceError, match="missing attribute"):
        check_metric(Half())  # type: ignore[arg-type]


def test_check_metric_with_a_policy() -> None:
    check_metric(QuickRate(), policy=csm.Policy.preset("zendesk"))


def test_unknown_or_broken_names_are_conformance_errors() -> None:
    with pytest.raises(ConformanceError, match="unknown adapter 'zendesc'"):
        check_adapter("zendesc", "x.json")
    with pytest.raises(ConformanceError, match="unknown metric 'first_reponse_time'"):
        check_metric("first_reponse_time")
