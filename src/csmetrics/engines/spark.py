"""Apache Spark: the csmetrics Polars plan on every Spark partition, merged as metric state.

Needs ``pip install 'csmetrics[spark]'`` (pyspark >= 4.0, and Java 17 or later).

:func:`compute_state` repartitions a Spark DataFrame of events by ``case_id`` (or
``customer_id``), so every event of a case lands in one partition; runs
:func:`csmetrics.state.compute_state` on each partition through Arrow (``mapInArrow``:
``pl.from_arrow`` on the partition's batches, the state's long table back as Arrow); and
merges the partitions' states in Spark with one ``groupBy`` (sums, minima, maxima), which
is exactly :meth:`csmetrics.state.MetricState.merge`. Only the merged state — a few rows
per group, metric and sketch bucket — comes back to the driver. There is no second
implementation of any metric: Spark only moves rows.

Because cases do not cross partitions, counts, numerators, denominators, rates and the
backlog equal :func:`csmetrics.compute` exactly; sums and means up to floating-point
rounding; quantiles within the sketch's relative error ``alpha``.
"""

from __future__ import annotations

import datetime as dt
import importlib
import warnings
from collections.abc import Iterator, Sequence
from typing import Any, Final

import attrs
import polars as pl
import pyarrow as pa

from csmetrics import state as _state
from csmetrics._sketch import DEFAULT_ALPHA, DEFAULT_PRECISION
from csmetrics.cases import OnInvalid
from csmetrics.compute import Period
from csmetrics.exceptions import CsMetricsError, PolicyError, SchemaError
from csmetrics.log import EventLog
from csmetrics.metrics import registry
from csmetrics.metrics.registry import Metric
from csmetrics.policy import Policy

__all__ = ["compute", "compute_state", "spark_available"]

_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_PANDAS_WARNING: Final = "PySpark does not yet fully support pandas"


def spark_available() -> bool:
    """Whether pyspark can be imported (``pip install 'csmetrics[spark]'``)."""
    try:
        importlib.import_module("pyspark.sql")
    except ImportError:
        return False
    return True


def _spark_module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        raise ImportError(
            "csmetrics.engines.spark needs pyspark: pip install 'csmetrics[spark]' "
            "(and Java 17 or later)"
        ) from None


def _policy_kwargs(policy: Policy) -> dict[str, Any]:
    """The policy as plain arguments: a Policy itself does not pickle (frozen mappings)."""
    kwargs = {f.name: getattr(policy, f.name) for f in attrs.fields(Policy)}
    kwargs["channels"] = dict(kwargs["channels"])
    return kwargs


def _portable(metrics: str | Metric | Sequence[str | Metric] | None) -> Any:
    """Registered metrics travel by name (plugins resolve on the workers), others as objects."""
    if metrics is None or isinstance(metrics, str):
        return metrics
    items = [metrics] if isinstance(metrics, Metric) else list(metrics)
    out: list[str | Metric] = []
    for item in items:
        if isinstance(item, Metric):
            try:
                same = registry.get(item.name) is item
            except CsMetricsError:
                same = False
            out.append(item.name if same else item)
        else:
            out.append(item)
    return out


def _arrow_type(dtype: pa.DataType) -> pa.DataType:
    """Arrow types Spark reads: plain strings, UTC time stamps."""
    if pa.types.is_large_string(dtype) or pa.types.is_string_view(dtype):
        return pa.string()
    if pa.types.is_dictionary(dtype):
        return _arrow_type(dtype.value_type)
    if pa.types.is_large_binary(dtype) or pa.types.is_binary_view(dtype):
        return pa.binary()
    if pa.types.is_timestamp(dtype):
        return pa.timestamp("us", tz="UTC" if dtype.tz is not None else None)
    return dtype


def _to_spark_arrow(frame: pl.DataFrame) -> pa.Table:
    plain = frame.with_columns(
        pl.col(pl.Enum, pl.Categorical).cast(pl.String),
        pl.col(pl.Datetime(time_zone="*")).dt.convert_time_zone("UTC"),
    )
    table = plain.to_arrow()
    schema = pa.schema([pa.field(f.name, _arrow_type(f.type)) for f in table.schema])
    return table.cast(schema)


def _from_spark_arrow(table: pa.Table, schema: pl.Schema) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    out = []
    for name, dtype in schema.items():
        column = pl.col(name)
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
            source = frame.schema[name]
            if isinstance(source, pl.Datetime) and source.time_zone is None:
                column = column.dt.replace_time_zone("UTC")
            column = column.dt.convert_time_zone(dtype.time_zone).dt.cast_time_unit("us")
        out.append(column.cast(dtype).alias(name))
    return frame.select(out)


def _as_of(spark_df: Any, functions: Any) -> dt.datetime | None:
    dtype = spark_df.schema["ts"].dataType.typeName()
    if dtype not in ("timestamp", "timestamp_ntz"):
        raise PolicyError(
            f"the Spark column 'ts' is {dtype}, not a timestamp: cast it "
            "(F.to_timestamp) or pass Policy(as_of=...)"
        )
    row = spark_df.select(functions.unix_micros(functions.max("ts"))).first()
    micros = None if row is None else row[0]
    return None if micros is None else _EPOCH + dt.timedelta(microseconds=int(micros))


def compute_state(
    spark_df: Any,
    metrics: str | Metric | Sequence[str | Metric] | None = None,
    *,
    by: str | Sequence[str] = (),
    period: Period | None = None,
    policy: Policy | None = None,
    quantiles: Sequence[float] = (0.5, 0.9),
    partitions: int | None = None,
    partition_by: _state.PartitionKey = "case_id",
    on_invalid: OnInvalid = "raise",
    tz: str | None = None,
    alpha: float = DEFAULT_ALPHA,
    precision: int = DEFAULT_PRECISION,
) -> _state.MetricState:
    """The metric state of a Spark DataFrame of events, computed partition by partition.

    Parameters
    ----------
    spark_df
        A ``pyspark.sql.DataFrame`` with the canonical event columns (``ts`` a Spark
        timestamp; ``event_type``, ``actor`` and ``status`` as strings).
    metrics, by, period, policy, quantiles, alpha, precision
        As for :func:`csmetrics.state.compute_state`.
    partitions
        Number of Spark partitions to repartition to (default: the DataFrame's current
        number). Each partition's events must fit in a Python worker's memory (about
        400 bytes per event).
    partition_by
        ``"case_id"`` (default) or ``"customer_id"``.
    on_invalid
        Checked per partition: ``"raise"`` fails the job on an invalid event,
        ``"quarantine"`` leaves invalid rows out.
    tz
        Zone of naive time stamps (Spark ``TimestampNTZ`` columns).

    Raises
    ------
    ImportError
        When pyspark is not installed.
    PolicyError
        For bad arguments (checked on the driver before any Spark job runs).
    SchemaError
        When an event breaks a rule of the canonical log (with ``on_invalid="raise"``).
    """
    functions = _spark_module("pyspark.sql.functions")
    types = _spark_module("pyspark.sql.pandas.types")
    errors = _spark_module("pyspark.errors")
    policy = policy or Policy()
    if partition_by not in ("case_id", "customer_id"):
        raise PolicyError(
            f"'partition_by' must be 'case_id' or 'customer_id' (got {partition_by!r})"
        )
    if partitions is not None and (
        isinstance(partitions, bool) or not isinstance(partitions, int) or partitions < 1
    ):
        raise PolicyError(f"'partitions' must be a positive integer (got {partitions!r})")
    options: dict[str, Any] = {
        "by": by,
        "period": period,
        "quantiles": quantiles,
        "alpha": alpha,
        "precision": precision,
    }
    # A dry run on no rows checks every argument and gives the state's schema.
    empty = pl.from_arrow(spark_df.limit(0).toArrow())
    probe = _state.compute_state(
        EventLog.from_frame(empty, tz=tz, source="spark DataFrame"),
        metrics,
        policy=policy,
        engine="in-memory",
        **options,
    )
    if policy.as_of is None:
        latest = _as_of(spark_df, functions)
        if latest is not None:
            policy = policy.replace(as_of=latest, name=policy.name)
    schema = probe.table.schema
    arrow_schema = _to_spark_arrow(probe.table).schema
    policy_kwargs = _policy_kwargs(policy)
    portable = _portable(metrics)

    def per_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        chunks = list(batches)
        if not chunks or sum(b.num_rows for b in chunks) == 0:
            return
        frame = pl.from_arrow(pa.Table.from_batches(chunks))
        log = EventLog.from_frame(frame, tz=tz, source="spark partition")
        part = _state.compute_state(
            log,
            portable,
            policy=Policy(**policy_kwargs),
            on_invalid=on_invalid,
            engine="in-memory",
            **options,
        )
        yield from _to_spark_arrow(part.table).cast(arrow_schema).to_batches()

    count = partitions or max(1, spark_df.rdd.getNumPartitions())
    spread = spark_df.repartition(count, partition_by)
    with warnings.catch_warnings():
        # pyspark checks the pandas version even for Arrow-only UDFs; pandas is not used
        warnings.filterwarnings("ignore", _PANDAS_WARNING, FutureWarning)
        states = spread.mapInArrow(per_partition, types.from_arrow_schema(arrow_schema))
    group = [*probe.keys, "part", "metric", "slot", "closed"]
    pick = {"sum": functions.sum, "min": functions.min, "max": functions.max}
    aggs = [pick[how](name).alias(name) for name, how in _state.MERGE.items()]
    merged = states.groupBy(*group).agg(*aggs).select(*schema.names())
    try:
        collected = merged.toArrow()
    except errors.PySparkException as exc:
        text = str(exc)
        for kind in (SchemaError, PolicyError):
            if f"{kind.__name__}:" in text:
                detail = text.split(f"{kind.__name__}:", 1)[1].strip().splitlines()[0]
                raise kind(f"in a Spark partition: {detail}") from exc
        raise CsMetricsError(f"the Spark job failed: {text.splitlines()[0]}") from exc
    table = _from_spark_arrow(collected, schema)
    return _state.MetricState.from_table(table, probe.meta())


def compute(
    spark_df: Any,
    metrics: str | Metric | Sequence[str | Metric] | None = None,
    *,
    by: str | Sequence[str] = (),
    period: Period | None = None,
    policy: Policy | None = None,
    quantiles: Sequence[float] = (0.5, 0.9),
    partitions: int | None = None,
    partition_by: _state.PartitionKey = "case_id",
    on_invalid: OnInvalid = "raise",
    tz: str | None = None,
    alpha: float = DEFAULT_ALPHA,
    precision: int = DEFAULT_PRECISION,
) -> pl.DataFrame:
    """The tidy table of :func:`csmetrics.compute` for a Spark DataFrame of events.

    :func:`compute_state` followed by :meth:`~csmetrics.state.MetricState.finalize`;
    see there for the arguments and for what is exact (counts and rates) and what is
    within the sketch's error (quantiles). The result is a Polars DataFrame on the driver.
    """
    state = compute_state(
        spark_df,
        metrics,
        by=by,
        period=period,
        policy=policy,
        quantiles=quantiles,
        partitions=partitions,
        partition_by=partition_by,
        on_invalid=on_invalid,
        tz=tz,
        alpha=alpha,
        precision=precision,
    )
    return state.finalize().collect()
