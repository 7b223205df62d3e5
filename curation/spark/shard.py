"""Spark wiring of the shard stage: count tokens, mix, then write token-budgeted shards.

``transform`` counts tokens on every document (``mapInArrow``) and rejects what the mix leaves
out (source weight 0, or past the token target). ``finalize`` runs on the kept rows after the
runner wrote them: it expands upsampled documents into copies, orders all copies by a seeded hash
(one range shuffle), packs them into shards by running token count (only per-partition token
totals reach the driver), and writes each shard with pyarrow on an executor. Shard files are
written to ``<output>/shards/.tmp/`` and renamed into place by the driver once all succeeded, so
a failed run never leaves a half-written set behind. On a cluster ``<output>`` must be a file
system every executor and the driver see (as it already must be for the stage outputs).
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
from pyspark import StorageLevel, TaskContext
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from curation.shard import layout, manifest, mixing, tokenizer
from curation.shard.settings import ShardSettings
from curation.shard.stage import TokenizeStage, apply_cutoff, bucket_histogram
from curation.spark.stage_api import (
    FRAME_SCHEMA,
    FRAME_SPARK_SCHEMA,
    StageContext,
    TransformResult,
    map_batch_stage,
    spark_schema,
)

_HIST_SCHEMA = "bucket int, tokens long"
_SUMMARY_SCHEMA = "pid int, split string, key long, tokens long"
_INFO_SCHEMA = pa.schema(
    [
        pa.field("split", pa.string()),
        pa.field("shard", pa.int64()),
        pa.field("rows", pa.int64()),
        pa.field("tokens", pa.int64()),
        pa.field("bytes", pa.int64()),
        pa.field("sha256", pa.string()),
        pa.field("row_groups", pa.int64()),
        pa.field("sources", pa.string()),
    ]
)


def transform(spark: SparkSession, df: DataFrame, ctx: StageContext) -> TransformResult:
    settings: ShardSettings = ctx.cfg.shard
    tok = tokenizer.load(settings.tokenizer)  # fail on the driver, with the path, before any task
    frame = map_batch_stage(df, TokenizeStage(settings))
    tokenized: DataFrame | None = None
    mixing_stats: dict[str, Any] = {
        "weights": {s: settings.weight(s) for s in sorted({*settings.weights, "web", "books", "forums", "code"})},
        "token_target": settings.token_target,
        "cutoff_bucket": None,
    }
    if settings.token_target is not None:
        # Persisted because both the histogram below and the runner's write read the tokenized
        # frame: without it every document would be tokenized twice.
        tokenized = frame = frame.persist(StorageLevel.MEMORY_AND_DISK)
        hist = _histogram(frame, settings)
        cutoff, selected = mixing.choose_cutoff(hist, settings.token_target)
        mixing_stats.update(
            cutoff_bucket=cutoff, weighted_tokens=sum(t for _, t in hist), selected_tokens=selected
        )
        frame = frame.mapInArrow(_cutoff_fn(settings, cutoff), FRAME_SPARK_SCHEMA)

    def finalize(kept: DataFrame) -> dict[str, Any]:
        stats = write_shards(spark, kept, settings, mixing_stats["cutoff_bucket"], Path(ctx.output_dir), mixing_stats)
        if tokenized is not None:
            tokenized.unpersist()
        return stats

    extra = {"tokenizer": {"path": str(tok.path.name), "sha256": tok.sha256, "vocab_size": tok.vocab_size}}
    return TransformResult(frame=frame, extra_stats=extra, finalize=finalize)


def _histogram(frame: DataFrame, settings: ShardSettings) -> list[tuple[int, int]]:
    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        total: dict[int, int] = defaultdict(int)
        for b in batches:
            for k, v in bucket_histogram(b, settings).items():
                total[k] += v
        if total:
            yield pa.RecordBatch.from_pydict(
                {"bucket": list(total), "tokens": list(total.values())},
                schema=pa.schema([("bucket", pa.int32()), ("tokens", pa.int64())]),
            )

    kept = frame.where(F.col("reason").isNull() & F.col("id").isNotNull()).select("id", "source", "num_tokens")
    rows = kept.mapInArrow(run, _HIST_SCHEMA).groupBy("bucket").agg(F.sum("tokens").alias("tokens")).collect()
    return [(r["bucket"], r["tokens"]) for r in rows]


def _cutoff_fn(settings: ShardSettings, cutoff: int | None):
    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        idx = FRAME_SCHEMA.get_field_index("reason")
        for b in batches:
            reasons = apply_cutoff(
                b.column("reason").to_pylist(),
                b.column("id").to_pylist(),
                b.column("source").to_pylist(),
                settings,
                cutoff,
            )
            yield b.set_column(idx, b.schema.field(idx), pa.array(reasons, pa.string()))

    return run


def write_shards(
    spark: SparkSession,
    kept: DataFrame,
    settings: ShardSettings,
    cutoff: int | None,
    output_dir: Path,
    mixing_stats: dict[str, Any],
) -> dict[str, Any]:
    shards_dir = output_dir / manifest.SHARDS_DIR
    tmp_dir = shards_dir / ".tmp"
    if shards_dir.exists():
        shutil.rmtree(shards_dir)  # shards of an earlier run with another config must not linger
    tmp_dir.mkdir(parents=True)

    def expand(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for b in batches:
            yield layout.expand(b, settings, cutoff)

    n_parts = int(spark.conf.get("spark.sql.shuffle.partitions") or "8")
    ordered = (
        kept.mapInArrow(expand, spark_schema(layout.EXPANDED_SCHEMA))
        .repartitionByRange(n_parts, "split", "key")
        .sortWithinPartitions("split", "key", "id", "copy")
        # Persisted because two passes must see the same partitions: one sums tokens per
        # partition, the next numbers shards from those sums.
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    try:
        threshold = layout.large_threshold(settings.tokens_per_shard)
        offsets, plans = _plan(ordered, settings.tokens_per_shard, threshold)

        def assign(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            pid = TaskContext.get().partitionId()
            yield from layout.assign(batches, offsets.get(pid, {}), plans, threshold)

        def write(table: pa.Table) -> pa.Table:
            split = table.column("split")[0].as_py()
            index = table.column("shard")[0].as_py()
            info = layout.write_shard(table, tmp_dir / layout.shard_name(split, index), settings)
            return pa.Table.from_pylist([{"split": split, "shard": index, **info}], schema=_INFO_SCHEMA)

        infos = (
            ordered.mapInArrow(assign, spark_schema(layout.ASSIGNED_SCHEMA))
            .groupBy("split", "shard")
            .applyInArrow(write, spark_schema(_INFO_SCHEMA))
            .collect()
        )
    finally:
        ordered.unpersist()

    shards = _publish([r.asDict() for r in infos], tmp_dir, shards_dir)
    doc = manifest.build(shards, settings, layout.shard_schema(settings), mixing_stats)
    manifest.write(output_dir, doc)
    return {"shards": doc["totals"]["shards"], "rows": doc["totals"]["rows"], "tokens": doc["totals"]["tokens"],
            "bytes": doc["totals"]["bytes"], "splits": doc["totals"]["splits"]}


def _plan(
    ordered: DataFrame, budget: int, threshold: int
) -> tuple[dict[int, dict[str, int]], dict[str, layout.SplitPlan]]:
    """Per partition and split, the small tokens before it; and each split's packing plan.

    Only per-partition totals and the large documents' (split, key, tokens) reach the driver:
    large documents are at most 1/SMALL_SHARE per shard's worth of tokens.
    """

    def summarize(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        pid = TaskContext.get().partitionId()
        small, large = layout.partition_summary(batches, threshold)
        rows = [(pid, split, None, n) for split, n in small.items()] + [(pid, *row) for row in large]
        if rows:
            cols = list(zip(*rows, strict=True))
            yield pa.RecordBatch.from_arrays(
                [pa.array(cols[0], pa.int32()), pa.array(cols[1], pa.string()),
                 pa.array(cols[2], pa.int64()), pa.array(cols[3], pa.int64())],
                names=["pid", "split", "key", "tokens"],
            )

    rows = ordered.select("split", "key", "num_tokens").mapInArrow(summarize, _SUMMARY_SCHEMA).collect()
    per_pid: dict[int, dict[str, int]] = defaultdict(dict)
    small_total: dict[str, int] = defaultdict(int)
    large: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for r in rows:
        if r["key"] is None:
            per_pid[r["pid"]][r["split"]] = r["tokens"]
            small_total[r["split"]] += r["tokens"]
        else:
            large[r["split"]].append((r["key"], r["tokens"]))
    offsets: dict[int, dict[str, int]] = {}
    running: dict[str, int] = defaultdict(int)
    for pid in range(max(per_pid, default=-1) + 1):
        offsets[pid] = dict(running)
        for split, n in per_pid.get(pid, {}).items():
            running[split] += n
    plans = {
        split: layout.plan_split(small_total.get(split, 0), large.get(split, []), budget)
        for split in mixing.SPLITS
    }
    return offsets, plans


def _publish(infos: list[dict[str, Any]], tmp_dir: Path, shards_dir: Path) -> list[dict[str, Any]]:
    """Rename shards to dense numbers per split (a document over twice the budget skips one)."""
    import json

    out = []
    for split in mixing.SPLITS:
        mine = sorted((i for i in infos if i["split"] == split), key=lambda i: i["shard"])
        for dense, info in enumerate(mine):
            name = layout.shard_name(split, dense)
            (tmp_dir / layout.shard_name(split, info["shard"])).replace(shards_dir / name)
            entry = {k: v for k, v in info.items() if k != "shard"}
            entry["sources"] = json.loads(info["sources"])
            entry["path"] = f"{manifest.SHARDS_DIR}/{name}"
            out.append(entry)
    tmp_dir.rmdir()
    return out
