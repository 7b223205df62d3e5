"""The dedup stage on Spark: exact, then URL, then MinHash-LSH near duplicates.

Named steps with materialized intermediates under ``work_dir/<settings tag>/`` (NeMo Curator's
minhash -> lsh -> buckets_to_edges -> connected_components):

1. ``01_keys``: one ``mapInArrow`` pass computes, per document, the exact-text key, the
   normalized URL (web) and the LSH band keys of its MinHash signature (numpy, whole batches).
2. exact and URL duplicates: a window per key picks the survivor.
3. ``02_edges``: documents sharing a band key are linked to the smallest id of the bucket
   (star edges, as text-dedup's ``generate_edges``).
4. ``03_verified``: optional exact Jaccard of each edge's two texts; edges below the threshold go.
5. ``04_cc/round_<n>``, ``05_components``: connected components (large-star / small-star,
   each round checkpointed to Parquet).
6. the survivor of each component: highest math_score, then smallest id; the others get
   ``near_duplicate_of:<survivor id>``.

Only aggregates (counts, the cluster-size histogram) reach the driver.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from curation.dedup.jaccard import pair_jaccard
from curation.dedup.keys import KEYS_SCHEMA, keys_batch
from curation.dedup.settings import DedupSettings
from curation.schema import DOC_SCHEMA
from curation.spark.connected_components import connected_components
from curation.spark.stage_api import FRAME_SCHEMA, FRAME_SPARK_SCHEMA, StageContext, TransformResult
from curation.stage import conform

log = logging.getLogger(__name__)

EXACT = "exact_duplicate_of:"
URL = "url_duplicate_of:"
NEAR = "near_duplicate_of:"

_JACCARD_SCHEMA = pa.schema(
    [pa.field("src", pa.string()), pa.field("dst", pa.string()), pa.field("jaccard", pa.float64())]
)


def _materialize(df: DataFrame, path: Path) -> DataFrame:
    """Write a step's output and read it back: the next steps (and a rerun) start from disk."""
    df.write.mode("overwrite").parquet(str(path))
    return df.sparkSession.read.parquet(str(path))


def _keys(df: DataFrame, s: DedupSettings) -> DataFrame:
    settings = s.model_copy()

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield keys_batch(conform(batch, DOC_SCHEMA), settings)

    return df.select("id", "source", "origin", "text").mapInArrow(run, from_arrow_schema(KEYS_SCHEMA))


def _survivor_window(key: str, *order: F.Column) -> Window:
    return Window.partitionBy(key).orderBy(*order, F.col("id").asc())


def _drops_by_key(docs: DataFrame, key: str, prefix: str, *order: F.Column) -> DataFrame:
    """Rows whose ``key`` is shared with a better row: (id, reason)."""
    w = _survivor_window(key, *order)
    return (
        docs.where(F.col(key).isNotNull())
        .withColumn("keep", F.first("id").over(w))
        .where(F.col("id") != F.col("keep"))
        .select("id", F.concat(F.lit(prefix), F.col("keep")).alias("reason"))
    )


def _edges(docs: DataFrame) -> DataFrame:
    """Star edges from every member of an LSH bucket to the bucket's smallest id."""
    buckets = docs.where(F.col("bands").isNotNull()).select("id", F.posexplode("bands").alias("band", "key"))
    w = Window.partitionBy("band", "key")
    return (
        buckets.withColumn("root", F.min("id").over(w))
        .where(F.col("id") != F.col("root"))
        .select(F.col("id").alias("src"), F.col("root").alias("dst"))
        .distinct()
    )


def _verify(edges: DataFrame, texts: DataFrame, s: DedupSettings) -> DataFrame:
    ngram, char_ngram, share = s.ngram, s.char_ngram, s.char_token_share
    pairs = edges.join(texts.select(F.col("id").alias("src"), F.col("text").alias("src_text")), "src").join(
        texts.select(F.col("id").alias("dst"), F.col("text").alias("dst_text")), "dst"
    )

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for b in batches:
            j = pair_jaccard(b.column("src_text"), b.column("dst_text"), ngram, char_ngram, share)
            yield pa.RecordBatch.from_arrays(
                [b.column("src"), b.column("dst"), pa.array(j)], schema=_JACCARD_SCHEMA
            )

    return pairs.select("src", "dst", "src_text", "dst_text").mapInArrow(
        run, from_arrow_schema(_JACCARD_SCHEMA)
    )


def transform(spark: SparkSession, df: DataFrame, ctx: StageContext) -> TransformResult:
    s: DedupSettings = ctx.cfg.dedup
    bands, rows = s.lsh_params
    base = Path(ctx.work_dir) / s.tag
    log.info(
        "dedup: threshold %.2f, %d permutations -> %d bands x %d rows (%s)",
        s.threshold,
        s.num_perm,
        bands,
        rows,
        s.tag,
    )
    stats: dict[str, object] = {
        "settings_tag": s.tag,
        "threshold": s.threshold,
        "num_perm": s.num_perm,
        "bands": bands,
        "rows": rows,
        "ngram": s.ngram,
    }

    keys = _materialize(_keys(df, s), base / "01_keys")
    meta = df.select("id", "date", "math_score")
    docs = keys.join(meta, "id")
    by_score = F.col("math_score").desc_nulls_last()

    drops: list[DataFrame] = []
    remaining = docs
    if s.exact:
        exact = _drops_by_key(remaining, "text_key", EXACT, by_score)
        drops.append(exact)
        remaining = remaining.join(exact.select("id"), "id", "left_anti")
    if s.url:
        # The most recent crawl of a URL survives (ISO dates sort as strings), then the score.
        url = _drops_by_key(remaining, "url_key", URL, F.col("date").desc_nulls_last(), by_score)
        drops.append(url)
        remaining = remaining.join(url.select("id"), "id", "left_anti")

    if s.near:
        edges = _materialize(_edges(remaining), base / "02_edges")
        if s.verify:
            scored = _materialize(_verify(edges, df.select("id", "text"), s), base / "03_verified")
            counts = scored.agg(F.count("*"), F.sum((F.col("jaccard") >= s.threshold).cast("long"))).first()
            n_candidates, n_kept = int(counts[0]), int(counts[1] or 0)
            stats["verification_dropped_pairs"] = n_candidates - n_kept
            edges = scored.where(F.col("jaccard") >= s.threshold).select("src", "dst")
        else:
            n_candidates = n_kept = edges.count()
        stats["candidate_pairs"] = n_candidates
        stats["cluster_sizes"] = {}
        if n_kept:
            comps, rounds = connected_components(edges, base / "04_cc", s.max_cc_rounds, s.checkpoint_every,
                                                 s.driver_cc_max_edges)
            comps = _materialize(comps, base / "05_components")
            stats["cc_rounds"] = rounds
            members = comps.join(docs.select("id", "math_score"), "id")
            drops.append(_drops_by_key(members, "component", NEAR, by_score))
            sizes = comps.groupBy("component").count().groupBy("count").count().collect()
            stats["cluster_sizes"] = {str(r[0]): r[1] for r in sorted(sizes)}

    if drops:
        reasons = drops[0]
        for d in drops[1:]:
            reasons = reasons.unionByName(d)
    else:
        reasons = spark.createDataFrame([], "id string, reason string")
    out = df.drop("reason").join(reasons, "id", "left")
    cols = [
        F.col(f.name) if f.name in out.columns else F.lit(None).cast("string").alias(f.name)
        for f in FRAME_SCHEMA
    ]
    frame = out.select(*cols)
    frame = frame.select(*[F.col(f.name).cast(f.dataType).alias(f.name) for f in FRAME_SPARK_SCHEMA])
    return TransformResult(frame=frame, extra_stats=stats)
