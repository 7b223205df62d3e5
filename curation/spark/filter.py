"""Spark wiring of the filter stage: the pure FilterStage over every Arrow batch."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession

from curation.filter.stage import FilterStage
from curation.spark.stage_api import StageContext, TransformResult, map_batch_stage


def transform(spark: SparkSession, df: DataFrame | None, ctx: StageContext) -> TransformResult:
    if df is None:
        raise ValueError("the filter stage needs the extract stage's documents")
    stage = FilterStage(ctx.cfg.filter)
    settings = ctx.cfg.filter
    extra = {
        "math_model": stage.clf.name,
        "math_threshold": settings.math_threshold,
        "math_threshold_by_source": settings.math_threshold_by_source,
        "languages": settings.languages,
    }
    return TransformResult(frame=map_batch_stage(df, stage), extra_stats=extra)
