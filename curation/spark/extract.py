"""The extract stage: input files -> documents, one Spark task per file."""

from __future__ import annotations

import functools
import logging
from collections import Counter
from collections.abc import Iterator

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession

from curation.extract.settings import ExtractSettings
from curation.filter.settings import FilterSettings
from curation.inputs import expand_sources
from curation.readers import get_reader
from curation.schema import STAGE_OUTPUT_SCHEMA, docs_to_batch, make_id
from curation.spark.stage_api import (
    FRAME_SPARK_SCHEMA,
    StageContext,
    TransformResult,
    counters_batch,
    to_frame_batch,
)

log = logging.getLogger("curation")

ROWS_PER_BATCH = 256
# Beyond this many files, several files share a task: the scheduler copes with tens of
# thousands of tasks, not with a Common Crawl snapshot's hundred thousand WARCs one by one.
MAX_TASKS = 20_000


def reader_for(kind: str, filter_settings: FilterSettings | None):
    """The reader of a kind; web pages go through the cascade gate when it is enabled."""
    reader = get_reader(kind)
    if kind == "web" and filter_settings is not None and filter_settings.cascade.enabled:
        from curation.filter.cascade import GatedExtractor

        return functools.partial(reader, html_to_text=GatedExtractor(filter_settings))
    return reader


def read_files(rows: Iterator[tuple[str, str]], settings: ExtractSettings,
               filter_settings: FilterSettings | None = None) -> Iterator[pa.RecordBatch]:
    """Documents from each (kind, path), in batches; a reader's crash costs one file, not the job."""
    counters: Counter[str] = Counter()
    readers: dict[str, object] = {}
    buffer: list[dict] = []
    for kind, path in rows:
        counters[f"files:{kind}"] += 1
        try:
            if kind not in readers:
                readers[kind] = reader_for(kind, filter_settings)
            for doc in readers[kind](path, settings, counters):
                buffer.append(doc)
                if len(buffer) >= ROWS_PER_BATCH:
                    yield docs_to_batch(buffer, STAGE_OUTPUT_SCHEMA)
                    buffer = []
        except Exception as err:  # a reader bug must not lose the other files
            log.exception("reader %s failed on %s", kind, path)
            buffer.append({
                "id": make_id(kind, path, "file"), "source": kind, "origin": path,
                "reason": f"read_error:{type(err).__name__}",
            })
    if buffer:
        yield docs_to_batch(buffer, STAGE_OUTPUT_SCHEMA)
    if counters:
        yield counters_batch(counters)


def transform(spark: SparkSession, df: DataFrame | None, ctx: StageContext) -> TransformResult:
    files = expand_sources(ctx.cfg.sources)
    log.info("extract: %d input files", len(files))
    settings = ctx.cfg.extract
    filter_settings = ctx.cfg.filter
    if filter_settings.cascade.enabled:
        log.info("extract: web pages pass the coarse-to-fine gate first (filter.cascade)")
    n_tasks = max(1, min(len(files), MAX_TASKS))
    file_df = spark.createDataFrame(files, "kind string, path string").repartition(n_tasks)

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            rows = zip(batch.column("kind").to_pylist(), batch.column("path").to_pylist(), strict=True)
            for out in read_files(rows, settings, filter_settings):
                yield out if "_counters" in out.schema.names else to_frame_batch(out)

    return TransformResult(frame=file_df.mapInArrow(run, FRAME_SPARK_SCHEMA))
