"""The filter stage through Spark: every input document comes out once, kept or with a reason."""

from __future__ import annotations

import pyarrow as pa
from pyspark.sql.pandas.types import from_arrow_schema
from test_filter import CHINESE_MATH, COQ, ENGLISH_MATH, ENGLISH_PROSE, FRENCH_PROSE

from curation.config import PipelineConfig
from curation.schema import DOC_SCHEMA, docs_to_batch, make_id
from curation.spark.filter import transform
from curation.spark.stage_api import StageContext


def test_filter_transform_reasons(spark, tmp_path):
    texts = {
        "math": ("web", ENGLISH_MATH),
        "prose": ("web", ENGLISH_PROSE),
        "fr": ("web", FRENCH_PROSE),
        "zh": ("forums", CHINESE_MATH),
        "coq": ("code", COQ),
        "short": ("books", "A short note."),
    }
    rows = [{"id": make_id(src, origin), "source": src, "origin": origin, "text": text}
            for origin, (src, text) in texts.items()]
    batch = docs_to_batch(rows, DOC_SCHEMA)
    schema = from_arrow_schema(pa.schema([f.with_nullable(True) for f in DOC_SCHEMA]))
    df = spark.createDataFrame(pa.Table.from_batches([batch]).to_pandas(), schema=schema).repartition(2)
    cfg = PipelineConfig(sources=[{"kind": "web", "paths": ["x"]}], output=str(tmp_path))
    ctx = StageContext(cfg=cfg, stage="filter", output_dir=tmp_path, work_dir=tmp_path / "work")
    result = transform(spark, df, ctx)
    out = result.frame.toPandas()
    docs = out[out["_counters"].isna()]
    counters = out[out["_counters"].notna()]
    assert sorted(docs["origin"]) == sorted(texts)
    reasons = dict(zip(docs["origin"], docs["reason"], strict=True))
    assert reasons["math"] is None and reasons["zh"] is None and reasons["coq"] is None
    assert reasons["prose"] == "math_score_below_threshold"
    assert reasons["fr"] == "lang_not_allowed:fr"
    assert reasons["short"] == "too_short"
    assert docs["math_score"].notna().all() and docs["lang"].notna().all()
    assert len(counters) >= 1 and "math_model:math_classifier" in counters["_counters"].iloc[0]
    assert result.extra_stats["math_model"] == "math_classifier"
