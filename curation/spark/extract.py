"""The extract stage: input files -> documents, one Spark task per file or per WARC byte range."""

from __future__ import annotations

import functools
import logging
import os
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
# .warc.gz files are cut into byte ranges (the reader starts each at the next gzip member), sized
# as Spark sizes file splits (FilePartition.maxSplitBytes): the input spread over a few tasks per
# core, at least 1 MiB (below that a task's start-up outweighs it) and at most 128 MiB (Spark's
# maxPartitionBytes; a Common Crawl WARC of ~1 GB becomes 8 tasks). Three files on two cores as
# whole-file tasks leave one core idle for a third of the stage.
TASKS_PER_CORE = 3
MIN_SPLIT_BYTES = 1 << 20
MAX_SPLIT_BYTES = 128 << 20


def _splittable(kind: str, path: str) -> bool:
    return kind == "web" and path.lower().endswith(".warc.gz")


def plan_tasks(files: list[tuple[str, str]], parallelism: int) -> list[tuple[str, str, int, int]]:
    """(kind, path, start, end) per task; (0, -1) reads the whole file."""
    sizes = {p: os.path.getsize(p) for k, p in files if _splittable(k, p) and os.path.isfile(p)}
    split = min(MAX_SPLIT_BYTES, max(MIN_SPLIT_BYTES, sum(sizes.values()) // max(1, TASKS_PER_CORE * parallelism)))
    tasks = []
    for kind, path in files:
        size = sizes.get(path, 0)
        if size <= split:
            tasks.append((kind, path, 0, -1))
            continue
        # Equal ranges of at most the split size: cutting at multiples of the split left a
        # 1.5-split task beside half-split ones (four 14.7 MB files on two cores ran as tasks of
        # 14.7, 9.8 and 4.9 MB), and the longest task sets the end of the stage.
        n = -(-size // split)
        starts = [i * size // n for i in range(n)]
        ends = [*starts[1:], -1]
        tasks.extend((kind, path, a, b) for a, b in zip(starts, ends, strict=True))
    return tasks


def reader_for(kind: str, filter_settings: FilterSettings | None):
    """The reader of a kind; web pages go through the cascade gate when it is enabled."""
    reader = get_reader(kind)
    if kind == "web" and filter_settings is not None and filter_settings.cascade.enabled:
        from curation.filter.cascade import GatedExtractor

        return functools.partial(reader, html_to_text=GatedExtractor(filter_settings))
    return reader


def read_files(rows: Iterator[tuple], settings: ExtractSettings,
               filter_settings: FilterSettings | None = None) -> Iterator[pa.RecordBatch]:
    """Documents from each (kind, path[, start, end]), in batches; a reader's crash costs one
    file (or range), not the job."""
    counters: Counter[str] = Counter()
    readers: dict[str, object] = {}
    buffer: list[dict] = []
    for kind, path, *span in rows:
        start, end = span if span else (0, -1)
        if start == 0:
            counters[f"files:{kind}"] += 1
        kwargs = {} if (start, end) == (0, -1) else {"byte_range": (start, end if end >= 0 else None)}
        try:
            if kind not in readers:
                readers[kind] = reader_for(kind, filter_settings)
            for doc in readers[kind](path, settings, counters, **kwargs):
                buffer.append(doc)
                if len(buffer) >= ROWS_PER_BATCH:
                    yield docs_to_batch(buffer, STAGE_OUTPUT_SCHEMA)
                    buffer = []
        except Exception as err:  # a reader bug must not lose the other files
            log.exception("reader %s failed on %s", kind, path)
            buffer.append({
                "id": make_id(kind, path, f"file@{start}" if start else "file"), "source": kind, "origin": path,
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
    tasks = plan_tasks(files, spark.sparkContext.defaultParallelism)
    if len(tasks) > len(files):
        log.info("extract: %d tasks (WARC files cut into byte ranges at gzip members)", len(tasks))
    n_tasks = max(1, min(len(tasks), MAX_TASKS))
    # parallelize slices the list evenly and in order (no shuffle): task i reads range i.
    file_df = spark.createDataFrame(spark.sparkContext.parallelize(tasks, n_tasks),
                                    "kind string, path string, start long, end long")

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            rows = zip(*(batch.column(c).to_pylist() for c in ("kind", "path", "start", "end")), strict=True)
            for out in read_files(rows, settings, filter_settings):
                yield out if "_counters" in out.schema.names else to_frame_batch(out)

    return TransformResult(frame=file_df.mapInArrow(run, FRAME_SPARK_SCHEMA))
