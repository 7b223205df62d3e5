"""What a stage module under ``curation/spark/`` provides to the runner.

Each stage ``<name>`` has a module ``curation/spark/<name>.py`` with

    def transform(spark: SparkSession, df: DataFrame | None, ctx: StageContext) -> TransformResult

``df`` is the previous stage's kept documents (``None`` for ``extract``, which reads
``ctx.cfg.sources``). The returned frame has the columns of ``FRAME_SCHEMA``: every input
document exactly once with ``reason`` null (kept) or set (rejected), plus optional counter rows
(all document columns null, ``_counters`` a JSON object of name -> int). The runner persists the
frame once, writes kept rows to ``stages/<name>/``, rejected rows to ``rejects/<name>/``, folds the
counters and the per-source funnel into ``stats/<name>.json``, calls ``finalize`` on the kept rows
if given, and only then writes the ``_SUCCESS`` marker.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql.pandas.types import from_arrow_schema

from curation.config import PipelineConfig
from curation.schema import DOC_SCHEMA, STAGE_OUTPUT_SCHEMA
from curation.stage import BatchStage, check_accounting, conform

COUNTERS_FIELD = pa.field("_counters", pa.string())
FRAME_SCHEMA = pa.schema([*STAGE_OUTPUT_SCHEMA, COUNTERS_FIELD])


def spark_schema(schema: pa.Schema):
    """The Spark schema of an Arrow schema with every column nullable (mapInArrow output)."""
    return from_arrow_schema(pa.schema([f.with_nullable(True) for f in schema]))


# Spark sees every column as nullable: counter rows have no id.
FRAME_SPARK_SCHEMA = spark_schema(FRAME_SCHEMA)


@dataclass
class StageContext:
    cfg: PipelineConfig
    stage: str
    output_dir: Path
    # Scratch space for this stage (checkpoints, indexes); removed after the stage succeeds.
    work_dir: Path
    # The Parquet folder ``df`` was read from, unchanged (the previous stage's kept rows), when
    # the driver can read it itself; None when ``df`` was built otherwise. A stage may read a
    # small input here with pyarrow instead of running Spark jobs over it (dedup does).
    input_path: Path | None = None


@dataclass
class TransformResult:
    frame: DataFrame
    # Extra, stage-specific statistics merged into stats.json under stages_extra.<stage>.
    extra_stats: dict[str, Any] = field(default_factory=dict)
    # Called with the kept rows after they are written (sharding writes shards/ here); returns
    # extra statistics.
    finalize: Callable[[DataFrame], dict[str, Any]] | None = None


def counters_batch(counters: Counter[str]) -> pa.RecordBatch:
    """One counter row: every document column null, ``_counters`` holding the counts."""
    arrays = [pa.nulls(1, f.type) for f in STAGE_OUTPUT_SCHEMA]
    arrays.append(pa.array([json.dumps(dict(counters), sort_keys=True)], type=pa.string()))
    return pa.RecordBatch.from_arrays(arrays, schema=FRAME_SCHEMA)


def to_frame_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    """A STAGE_OUTPUT_SCHEMA batch with a null ``_counters`` column added."""
    return pa.RecordBatch.from_arrays(
        [*batch.columns, pa.nulls(batch.num_rows, pa.string())], schema=FRAME_SCHEMA
    )


def map_batch_stage(df: DataFrame, stage: BatchStage) -> DataFrame:
    """Run a pure batch stage over every Arrow batch of ``df`` with ``mapInArrow``."""
    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        totals: Counter[str] = Counter()
        for batch in batches:
            docs = conform(batch, DOC_SCHEMA)
            out = stage(docs)
            check_accounting(docs.num_rows, out)
            totals.update(out.counters)
            yield to_frame_batch(out.batch)
        if totals:
            yield counters_batch(totals)

    return df.mapInArrow(run, FRAME_SPARK_SCHEMA)
