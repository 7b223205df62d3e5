"""Connected components as Spark DataFrame iterations: alternating large-star and small-star.

Kiveris et al. 2014, "Connected Components in MapReduce and Beyond" (SoCC): both operations keep
the connectivity of the graph and shrink every component towards a star around its smallest
node; together they converge in O(log^2 n) rounds. text-dedup's Spark MinHash runs the same two
steps on RDDs. We stay with DataFrames (no GraphFrames: its JVM package cannot be fetched here)
and checkpoint the edge set to Parquet so that the lineage does not grow with the rounds.

Each round is a few shuffles, so a graph of a few thousand edges costs tens of seconds of job
overhead. The dedup stage solves graphs up to ``dedup.driver_cc_max_edges`` edges (default 2M,
~200 MB on the driver) with ``driver_components`` / ``union_find`` instead, which give the same
components (tested against the rounds); a Common Crawl snapshot's edge set is far above that and
stays distributed.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from curation.dedup.union_find import union_find

log = logging.getLogger(__name__)


def _large_star(edges: DataFrame) -> DataFrame:
    """Connect every larger neighbour of u to the smallest node of u's closed neighbourhood."""
    sym = edges.union(edges.select(F.col("v").alias("u"), F.col("u").alias("v"))).distinct()
    m = sym.groupBy("u").agg(F.least(F.col("u"), F.min("v")).alias("m"))
    return (
        sym.join(m, "u")
        .where(F.col("v") > F.col("u"))
        .select(F.col("v").alias("u"), F.col("m").alias("v"))
        .distinct()
    )


def _small_star(edges: DataFrame) -> DataFrame:
    """Connect u and its smaller neighbours to the smallest of them."""
    o = edges.select(F.greatest("u", "v").alias("u"), F.least("u", "v").alias("v")).distinct()
    m = o.groupBy("u").agg(F.least(F.col("u"), F.min("v")).alias("m"))
    j = o.join(m, "u")
    out = j.select(F.col("v").alias("u"), F.col("m").alias("v")).union(
        j.select(F.col("u"), F.col("m").alias("v"))
    )
    return out.where(F.col("u") != F.col("v")).distinct()


def driver_components(edges: DataFrame) -> dict[str, str]:
    """``edges(src, dst)`` -> node -> component by union-find on the driver, for a caller that
    already knows the edge set is small (at most ``dedup.driver_cc_max_edges``).

    One job collects the edge list; duplicates and either orientation are fine for union-find, so
    no distinct (a shuffle) or checkpoint precedes it. Self-loops and edges with a null end are
    dropped, as ``connected_components`` drops them.
    """
    rows = edges.where(F.col("src") != F.col("dst")).select("src", "dst").collect()
    return union_find([(r[0], r[1]) for r in rows])


def connected_components(
    edges: DataFrame, work_dir: Path, max_rounds: int = 40, checkpoint_every: int = 1
) -> tuple[DataFrame, int]:
    """``edges(src, dst)`` -> ``(id, component)`` for every node on an edge, component = smallest id.

    The edge set is checkpointed to ``work_dir/round_<n>`` as Parquet every ``checkpoint_every``
    rounds: one job that cuts the lineage (which doubles every round) and leaves each round on
    disk. ``Dataset.checkpoint()`` would compute a round twice unless it was also persisted.
    Returns the frame and the number of rounds.
    """
    spark = edges.sparkSession
    e = (
        edges.select(F.greatest("src", "dst").alias("u"), F.least("src", "dst").alias("v"))
        .where(F.col("u") != F.col("v"))
        .distinct()
    )
    e = _checkpoint(e, work_dir / "round_0", spark)
    for rnd in range(1, max_rounds + 1):
        nxt = _small_star(_large_star(e))
        if rnd % checkpoint_every == 0:
            nxt = _checkpoint(nxt, work_dir / f"round_{rnd}", spark)
        # Converged when a round changes nothing: every component is a star around its minimum.
        # One job: edges present on one side only (both sides are distinct sets).
        diff = (
            nxt.withColumn("n", F.lit(1))
            .join(e.withColumn("o", F.lit(1)), ["u", "v"], "full_outer")
            .where(F.col("n").isNull() | F.col("o").isNull())
            .limit(1)
            .count()
        )
        log.info("connected components: round %d, changed=%s", rnd, bool(diff))
        e = nxt
        if diff == 0:
            break
    else:
        raise RuntimeError(f"connected components did not converge in {max_rounds} rounds")
    comp = e.select(F.col("u").alias("id"), F.col("v").alias("component")).union(
        e.select(F.col("v").alias("id"), F.col("v").alias("component"))
    )
    return comp.groupBy("id").agg(F.min("component").alias("component")), rnd


def _checkpoint(df: DataFrame, path: Path, spark: SparkSession) -> DataFrame:
    df.write.mode("overwrite").parquet(str(path))
    return spark.read.parquet(str(path))
