"""The dedup stage on Spark: exact, then URL, then MinHash-LSH near duplicates.

Named steps with materialized intermediates under ``work_dir/<settings tag>/`` (NeMo Curator's
minhash -> lsh -> buckets_to_edges -> connected_components):

1. ``01_keys``: one ``mapInArrow`` pass computes, per document, the exact-text key, the
   normalized URL (web) and the LSH band keys of its MinHash signature (numpy, whole batches),
   and carries the document's date and math_score along, so no later step joins them back in.
2. exact and URL duplicates: a window per key picks the survivor. Both windows are columns of
   one frame (the URL window only sees exact survivors), so the survivors are a filter on it and
   each window is computed once per query (no anti join, no union of keyed and unkeyed rows).
3. ``02_edges``: documents sharing a band key are linked to the smallest id of the bucket
   (star edges, as text-dedup's ``generate_edges``).
4. ``03_verified``: optional exact Jaccard of each edge's two texts; edges below the threshold go
   (not run when ``02_edges`` is empty).
5. ``04_cc/round_<n>``, ``05_components``: connected components (large-star / small-star,
   each round checkpointed to Parquet; an edge set up to ``driver_cc_max_edges`` is collected
   once and solved on the driver instead).
6. the survivor of each component: highest math_score, then smallest id; the others get
   ``near_duplicate_of:<survivor id>``.

An input of at most ``dedup.driver_max_docs`` documents skips all of this: the driver reads the
previous stage's Parquet with pyarrow and runs the same rules in one process
(``curation/dedup/local.py``), and only the mapping of the reasons onto the documents runs on Spark.

Only aggregates (counts, the cluster-size histogram) and, up to ``driver_cc_max_edges``
candidate pairs, the scored edge list reach the driver.

Every Spark action is a job, and on a few thousand pages each costs more in scheduling than in
work, so the steps are arranged to need few: intermediates are read back with the schema they
were written with (no schema-inference job); the candidate count comes from the Parquet footers
of the intermediate just written; below the driver limit one collect of the scored candidates
gives the kept count and the union-find input, and the driver's components give the cluster
sizes without a Spark job.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema
from pyspark.sql.types import StructType

from curation.dedup.jaccard import pair_jaccard
from curation.dedup.keys import KEYS_SCHEMA, keys_batch
from curation.dedup.local import EXACT, NEAR, URL, dedup_reasons
from curation.dedup.settings import DedupSettings
from curation.dedup.union_find import union_find
from curation.schema import DOC_SCHEMA, STAGE_OUTPUT_SCHEMA
from curation.spark.connected_components import connected_components, driver_components
from curation.spark.stage_api import (
    FRAME_SCHEMA,
    FRAME_SPARK_SCHEMA,
    StageContext,
    TransformResult,
    to_frame_batch,
)
from curation.stage import conform

log = logging.getLogger(__name__)


_JACCARD_SCHEMA = pa.schema(
    [pa.field("src", pa.string()), pa.field("dst", pa.string()), pa.field("jaccard", pa.float64())]
)


# Document columns the survivor rules order by; 01_keys carries them next to the keys.
_META = ("date", "math_score")


def _materialize(df: DataFrame, path: Path) -> DataFrame:
    """Write a step's output and read it back: the next steps (and a rerun) start from disk.

    Read with the schema it was written with: inferring it from the Parquet footers would cost a
    Spark job per intermediate.
    """
    df.write.mode("overwrite").parquet(str(path))
    return df.sparkSession.read.schema(df.schema).parquet(str(path))


def _parquet_rows(path: Path) -> int:
    """Rows of a Parquet folder just written, summed from its files' footers: no Spark job.

    The output folder is on a file system the driver mounts (the runner creates and removes it
    with ``pathlib`` and ``shutil``), and a Parquet footer records its file's exact row count.
    """
    return sum(pq.read_metadata(f).num_rows for f in _parquet_files(path))


def _parquet_files(path: Path) -> list[Path]:
    """The data files of a Parquet folder as Spark reads it: names starting with ``_`` or ``.``
    (``_SUCCESS``, checksums) are not data."""
    return sorted(p for p in path.glob("*.parquet") if not p.name.startswith(("_", ".")))


def _keys(df: DataFrame, s: DedupSettings) -> DataFrame:
    """KEYS_SCHEMA plus ``date`` and ``math_score`` as they are in ``df`` (same types, same rows)."""
    settings = s.model_copy()
    meta = [df.schema[name] for name in _META]
    schema = StructType([*from_arrow_schema(KEYS_SCHEMA).fields, *meta])

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            keys = keys_batch(conform(batch, DOC_SCHEMA), settings)  # one row per input row, in order
            for name in _META:
                keys = keys.append_column(name, batch.column(name))
            yield keys

    return df.select("id", "source", "origin", "text", *_META).mapInArrow(run, schema)


def _survivor_window(key: str, *order: F.Column) -> Window:
    return Window.partitionBy(key).orderBy(*order, F.col("id").asc())


def _best(key: F.Column, *order: F.Column) -> F.Column:
    """The id of the best row sharing ``key``; a row whose key is null is its own best.

    Null-key rows are partitioned by their id, not gathered in one window partition (at corpus
    scale that would be every non-web document in one task for the URL key).
    """
    w = Window.partitionBy(key, F.when(key.isNull(), F.col("id"))).orderBy(*order, F.col("id").asc())
    return F.first("id").over(w)


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

    n_docs = _driver_docs(ctx.input_path, s.driver_max_docs)
    if n_docs is not None:
        log.info("dedup: %d documents, at most dedup.driver_max_docs: deduplicated on the driver", n_docs)
        return _on_driver(spark, df, ctx.input_path, s, stats)

    keys = _materialize(_keys(df, s), base / "01_keys")
    # Rows without an id never matched the old join of keys and metadata on id; keep it so.
    docs = keys.where(F.col("id").isNotNull())
    by_score = F.col("math_score").desc_nulls_last()

    drops: list[DataFrame] = []
    remaining = docs
    if s.exact or s.url:
        marked, reason = docs, F.lit(None).cast("string")
        if s.exact:
            marked = marked.withColumn("_exact", _best(F.col("text_key"), by_score))
        if s.url:
            # Among exact survivors only, the most recent crawl of a URL survives (ISO dates sort as
            # strings), then the score.
            alive = F.col("id") == F.col("_exact") if s.exact else F.lit(True)
            marked = marked.withColumn(
                "_url", _best(F.when(alive, F.col("url_key")), F.col("date").desc_nulls_last(), by_score)
            )
            reason = F.when(F.col("id") != F.col("_url"), F.concat(F.lit(URL), F.col("_url")))
        if s.exact:
            reason = F.when(F.col("id") != F.col("_exact"), F.concat(F.lit(EXACT), F.col("_exact"))).otherwise(
                reason
            )
        marked = marked.withColumn("reason", reason)
        drops.append(marked.where(F.col("reason").isNotNull()).select("id", "reason"))
        remaining = marked.where(F.col("reason").isNull()).select(*docs.columns)

    if s.near:
        limit = s.driver_cc_max_edges
        edges = _materialize(_edges(remaining), base / "02_edges")
        local: list[tuple[str, str]] | None = None  # the kept edges, when collected to the driver
        n_candidates = _parquet_rows(base / "02_edges")
        if s.verify and n_candidates:
            scored = _materialize(_verify(edges, df.select("id", "text"), s), base / "03_verified")
            n_candidates = _parquet_rows(base / "03_verified")
            if n_candidates <= limit:
                # Few enough for the driver: one job brings every candidate with its Jaccard, and
                # both the kept count and the edge list for union-find follow from it.
                rows = scored.collect() if n_candidates else []
                local = [(r["src"], r["dst"]) for r in rows if r["jaccard"] >= s.threshold]
                n_kept = len(local)
            else:
                n_kept = int(scored.agg(F.sum((F.col("jaccard") >= s.threshold).cast("long"))).first()[0] or 0)
            stats["verification_dropped_pairs"] = n_candidates - n_kept
            edges = scored.where(F.col("jaccard") >= s.threshold).select("src", "dst")
        elif s.verify:  # no candidate pair: nothing to verify (03_verified would be empty)
            n_kept = 0
            stats["verification_dropped_pairs"] = 0
        else:
            n_kept = n_candidates
        stats["candidate_pairs"] = n_candidates
        stats["cluster_sizes"] = {}
        if n_kept:
            # 02_edges holds each edge once with src > dst (a distinct set of (member, bucket
            # minimum) pairs), so n_kept is the exact size of the edge set: no count is needed to
            # choose the driver, and its edge list is collected once, without a round_0 copy.
            if n_kept <= limit:
                # Self-loops dropped as driver_components drops them (02_edges has none: src > dst).
                pairs = (union_find([(a, b) for a, b in local if a != b]) if local is not None
                         else driver_components(edges))
                comps = spark.createDataFrame(sorted(pairs.items()), "id string, component string")
                rounds = 0
                sizes = sorted(Counter(Counter(pairs.values()).values()).items())
            else:
                comps, rounds = connected_components(edges, base / "04_cc", s.max_cc_rounds,
                                                     s.checkpoint_every)
                sizes = None
            comps = _materialize(comps, base / "05_components")
            stats["cc_rounds"] = rounds
            members = comps.join(docs.select("id", "math_score"), "id")
            drops.append(_drops_by_key(members, "component", NEAR, by_score))
            if sizes is None:
                sizes = sorted(comps.groupBy("component").count().groupBy("count").count().collect())
            stats["cluster_sizes"] = {str(r[0]): r[1] for r in sizes}

    if drops:
        reasons = drops[0]
        for d in drops[1:]:
            reasons = reasons.unionByName(d)
    else:
        reasons = spark.createDataFrame([], "id string, reason string")
    return TransformResult(frame=_with_reasons(df, reasons), extra_stats=stats)


def _with_reasons(df: DataFrame, reasons: DataFrame) -> DataFrame:
    """Every row of ``df`` once, in FRAME_SCHEMA, with its reason (null: kept)."""
    out = df.drop("reason").join(reasons, "id", "left")
    cols = [
        F.col(f.name) if f.name in out.columns else F.lit(None).cast("string").alias(f.name)
        for f in FRAME_SCHEMA
    ]
    frame = out.select(*cols)
    return frame.select(*[F.col(f.name).cast(f.dataType).alias(f.name) for f in FRAME_SPARK_SCHEMA])


def _driver_docs(path: Path | None, limit: int) -> int | None:
    """The number of input documents when the driver should deduplicate them itself: the input is
    a Parquet folder the driver can read and holds at most ``limit`` rows (from the footers)."""
    if path is None or limit <= 0 or not path.is_dir():
        return None
    n = _parquet_rows(path)
    return n if n <= limit else None


def _on_driver(spark: SparkSession, df: DataFrame, path: Path, s: DedupSettings,
               stats: dict[str, object]) -> TransformResult:
    """curation/dedup/local.py over the input folder read with pyarrow; only the mapping of the
    reasons onto ``df`` runs on Spark (as part of the runner's writes)."""
    files = _parquet_files(path)
    columns = ["id", "source", "origin", "text", *_META]
    # An empty input still goes through the rules, which report their zero statistics.
    table = (pa.concat_tables([pq.read_table(f, columns=columns) for f in files]) if files
             else DOC_SCHEMA.empty_table().select(columns))
    reasons, rule_stats = dedup_reasons(table, s)
    stats.update(rule_stats, on_driver=True)
    return TransformResult(frame=_map_reasons(df, reasons), extra_stats=stats)


def _map_reasons(df: DataFrame, reasons: dict[str, str]) -> DataFrame:
    """``df`` in FRAME_SCHEMA with each row's reason looked up by id in a dict shipped with the
    task: a narrow map, where a join with a frame of the reasons cost four more Spark jobs (the
    exchanges AQE runs one by one) on a stage of a few seconds."""
    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            docs = conform(batch, DOC_SCHEMA)
            reason = pa.array([reasons.get(i) for i in docs.column("id").to_pylist()], pa.string())
            yield to_frame_batch(pa.RecordBatch.from_arrays([*docs.columns, reason], schema=STAGE_OUTPUT_SCHEMA))

    return df.mapInArrow(run, FRAME_SPARK_SCHEMA)
