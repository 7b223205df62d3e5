"""Spark wiring of the decontamination stage.

The index is built once on the driver (a few seconds, ~25 MB for all sets) and broadcast, so every
executor loads it once and no shuffle or join is needed: a document is scanned where it lies.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pyspark import StorageLevel
from pyspark.broadcast import Broadcast
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from curation.decontaminate.index import ContaminationIndex
from curation.decontaminate.settings import DecontaminateSettings
from curation.decontaminate.stage import DecontaminateStage, build_index
from curation.spark.stage_api import StageContext, TransformResult, map_batch_stage

log = logging.getLogger(__name__)


class _BroadcastLoader:
    """Picklable loader: the worker reads the broadcast value once per Python process."""

    def __init__(self, handle: Broadcast) -> None:
        self.handle = handle

    def __call__(self) -> ContaminationIndex:
        return self.handle.value


def contamination_table(frame: DataFrame, max_examples: int) -> dict[str, Any]:
    """Per benchmark: contaminated documents, distinct items, and a few example snippets."""
    info = F.get_json_object(F.col("meta"), "$.decontaminate")
    hits = frame.where(F.col("_counters").isNull() & info.isNotNull()).select(
        "source",
        "origin",
        "reason",
        F.get_json_object(info, "$.benchmark").alias("benchmark"),
        F.get_json_object(info, "$.item").alias("item"),
        F.get_json_object(info, "$.hits").cast("int").alias("hits"),
        F.get_json_object(info, "$.snippet").alias("snippet"),
    )
    totals = hits.groupBy("benchmark").agg(
        F.count("*").alias("docs"),
        F.countDistinct("item").alias("items"),
        F.sum(F.col("reason").isNull().cast("int")).alias("span_cut_docs"),
    )
    table: dict[str, Any] = {
        r["benchmark"]: {"docs": r["docs"], "items": r["items"], "span_cut_docs": r["span_cut_docs"], "examples": []}
        for r in totals.collect()
    }
    if max_examples:
        rank = Window.partitionBy("benchmark").orderBy(F.col("hits").desc(), "origin")
        examples = hits.withColumn("_rank", F.row_number().over(rank)).where(F.col("_rank") <= max_examples)
        for r in examples.orderBy("benchmark", "_rank").collect():
            table[r["benchmark"]]["examples"].append(
                {k: r[k] for k in ("item", "source", "origin", "hits", "snippet")}
            )
    return dict(sorted(table.items()))


def transform(spark: SparkSession, df: DataFrame, ctx: StageContext) -> TransformResult:
    settings: DecontaminateSettings = ctx.cfg.decontaminate
    index = build_index(settings, ctx.cfg.benchmarks)  # fails here, on the driver, with the path
    log.info("decontaminate: index %s", json.dumps(index.stats))
    handle = spark.sparkContext.broadcast(index)
    stage = DecontaminateStage(settings, loader=_BroadcastLoader(handle))
    # Persisted because the contamination table below and the runner's writes both read the
    # scanned frame; without it every document would be scanned twice. DISK_ONLY as the runner.
    frame = map_batch_stage(df, stage).persist(StorageLevel.DISK_ONLY)
    extra = {
        "mode": settings.mode,
        "ngram": settings.ngram,
        "ngram_zh": settings.ngram_zh,
        "index": index.stats,
        "contamination": contamination_table(frame, settings.max_examples),
    }
    return TransformResult(frame=frame, extra_stats=extra)
