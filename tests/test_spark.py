"""Apache Spark: the Polars plan per partition through Arrow equals the Polars result.

Runs on a local Spark (``local[2]``) with a few thousand events; skipped when pyspark
(``pip install 'csmetrics[spark]'``) or Java 17+ is missing.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from typing import Any

import polars as pl
import pytest
from tests.test_state import assert_like_compute, assert_same_state

import csmetrics as csm
from csmetrics.exceptions import PolicyError, SchemaError
from csmetrics.state import compute_state

pyspark = pytest.importorskip("pyspark", reason="pyspark not installed: pip install '.[spark]'")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip(
        "Spark needs Java 17 or later (no java on PATH, no JAVA_HOME)", allow_module_level=True
    )

from csmetrics.engines import spark as csm_spark  # noqa: E402

pytestmark = pytest.mark.filterwarnings(
    # pyspark warns about the pandas version even where pandas is not used (Arrow only)
    "ignore:PySpark does not yet fully support pandas:FutureWarning",
)


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    session = (
        pyspark.sql.SparkSession.builder.master("local[2]")
        .appName("csmetrics-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _spark_frame(spark: Any, frame: pl.DataFrame) -> Any:
    return spark.createDataFrame(csm_spark._to_spark_arrow(frame))


@pytest.fixture(scope="module")
def log() -> csm.EventLog:
    return csm.datasets.simulate(400, seed=21)  # about 4,000 events


def test_spark_equals_polars(spark: Any, log: csm.EventLog) -> None:
    """Every built-in metric by channel and week: counts exact, quantiles within 1 %."""
    events = _spark_frame(spark, log.frame.collect())
    got = csm_spark.compute(events, by="channel", period="week", partitions=3)
    expected = csm.compute(log, by="channel", period="week").collect()
    assert_like_compute(got, expected)


def test_spark_state_equals_polars_state_with_string_ids(spark: Any, log: csm.EventLog) -> None:
    """String ids, partitions by customer: the merged state is the Polars state."""
    frame = log.frame.collect().with_columns(
        ("c" + pl.col("case_id").cast(pl.String)).alias("case_id"),
        ("u" + pl.col("customer_id").cast(pl.String)).alias("customer_id"),
        ("c" + pl.col("merged_into").cast(pl.String)).alias("merged_into"),
    )
    metrics = ["first_response_time", "next_reply_time", "reopen_rate", "backlog", "csat"]
    args: dict[str, Any] = {"by": "channel_kind", "period": "day"}
    got = csm_spark.compute_state(
        _spark_frame(spark, frame), metrics, partition_by="customer_id", **args
    )
    whole = compute_state(csm.EventLog.from_frame(frame), metrics, **args)
    assert_same_state(got, whole)
    assert got.customers().collect().equals(whole.customers().collect())


def test_spark_checks_arguments_and_events(spark: Any, log: csm.EventLog) -> None:
    events = _spark_frame(spark, log.frame.head(50).collect())
    with pytest.raises(PolicyError, match="not in the case table"):
        csm_spark.compute(events, "volume", by="no_such_column")
    bad = log.frame.head(50).collect().with_columns(
        pl.when(pl.int_range(pl.len()) == 3).then(pl.lit("robot")).otherwise(
            pl.col("actor").cast(pl.String)).alias("actor")
    )  # fmt: skip
    with pytest.raises(SchemaError, match="actor"):
        csm_spark.compute(_spark_frame(spark, bad), "volume")
