"""What a shard file holds and how rows are packed into shards (pure functions over Arrow).

A shard is one Parquet file of whole documents in shuffled order. Packing must hold every shard
but the last of a split within a tolerance of the token budget, without a sequential pass over
the corpus. Documents fall in two kinds:

- *small* ones (at most ``SMALL_SHARE`` of the budget: nearly all of them) are placed by a
  running token count in shuffled order, which Spark computes in parallel from per-partition
  totals: a document goes to the shard whose token range holds its midpoint, so a shard misses
  its range by at most one small document;
- *large* ones (few: at most 1/SMALL_SHARE per shard's worth of tokens, so the driver can list
  them) are spread over the shards first, in the same shuffled order, never more than a budget
  of them in one shard, and the small documents' ranges shrink by the large tokens each shard
  already holds.

So a shard deviates from the budget by at most one small document (< 5%), unless a single
document is larger than the budget (it then gets a shard of its own). The plan depends only on
the order and the token counts, not on how Spark partitions the rows.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curation.schema import DOC_SCHEMA
from curation.shard import mixing, tokenizer
from curation.shard.settings import ShardSettings
from curation.stage import conform

# Columns a trainer reads; provenance (quality signals) stays in stages/shard/, joinable by id.
SHARD_FIELDS = [
    pa.field("id", pa.string(), nullable=False),
    pa.field("copy", pa.int32(), nullable=False),  # repetition number of an upsampled document
    pa.field("source", pa.string(), nullable=False),
    pa.field("origin", pa.string(), nullable=False),
    pa.field("lang", pa.string()),
    pa.field("date", pa.string()),
    pa.field("math_score", pa.float32()),
    pa.field("num_tokens", pa.int64(), nullable=False),
    pa.field("meta", pa.string()),  # license and other source facts
    pa.field("text", pa.string()),
]
# The list item is named "element" as Parquet names it, so the schema reads back unchanged.
INPUT_IDS_FIELD = pa.field("input_ids", pa.list_(pa.field("element", pa.int32())), nullable=False)


def shard_schema(settings: ShardSettings) -> pa.Schema:
    return pa.schema(SHARD_FIELDS + ([INPUT_IDS_FIELD] if settings.write_input_ids else []))


# Rows on their way to a shard: the shard columns plus where they go.
PLACEMENT_FIELDS = [pa.field("split", pa.string()), pa.field("key", pa.int64())]
EXPANDED_SCHEMA = pa.schema([*PLACEMENT_FIELDS, *SHARD_FIELDS])
ASSIGNED_SCHEMA = pa.schema([*EXPANDED_SCHEMA, pa.field("shard", pa.int64())])


def shard_name(split: str, index: int) -> str:
    return f"{split}-{index:05d}.parquet"


def expand(batch: pa.RecordBatch, settings: ShardSettings, cutoff_bucket: int | None) -> pa.RecordBatch:
    """One row per selected copy of each kept document, with its split and order key."""
    docs = conform(batch, DOC_SCHEMA)
    take: list[int] = []
    copies: list[int] = []
    keys: list[int] = []
    splits: list[str] = []
    for i, (doc_id, source) in enumerate(
        zip(docs.column("id").to_pylist(), docs.column("source").to_pylist(), strict=True)
    ):
        split = mixing.split_of(doc_id, settings)
        for copy, key in mixing.selected_copies(doc_id, source, settings, cutoff_bucket):
            take.append(i)
            copies.append(copy)
            keys.append(mixing.signed(key))
            splits.append(split)
    rows = docs.take(pa.array(take, type=pa.int64()))
    arrays: list[pa.Array] = [pa.array(splits, pa.string()), pa.array(keys, pa.int64())]
    for fld in SHARD_FIELDS:
        if fld.name == "copy":
            arrays.append(pa.array(copies, pa.int32()))
        else:
            arrays.append(rows.column(fld.name).cast(fld.type))
    return pa.RecordBatch.from_arrays(arrays, schema=EXPANDED_SCHEMA)


# Documents over this share of the budget are "large" (see the module docstring).
SMALL_SHARE = 0.05


def large_threshold(budget: int) -> int:
    return max(1, int(budget * SMALL_SHARE))


@dataclass
class SplitPlan:
    """Where the documents of one split go: large ones by key, small ones by running count."""

    large_shard: dict[int, int]  # order key -> shard
    # bounds[k]: the small tokens before shard k's range, doubled (midpoints are half tokens).
    bounds2: list[int]

    def small_shard(self, start: int, tokens: int) -> int:
        return max(0, bisect.bisect_right(self.bounds2, 2 * start + tokens) - 1)


def plan_split(small_tokens: int, large: list[tuple[int, int]], budget: int) -> SplitPlan:
    """``large`` holds (key, tokens) of the split's large documents; the rest is small tokens.

    Large documents go, in shuffled order, to the shard their share of the large tokens points
    at (so they are spread evenly), or to the next one with room: a shard holds at most a
    budget of large tokens, the last at most what is left for it. Small documents fill the rest.
    """
    large = sorted(large)
    large_total = sum(t for _, t in large)
    total = small_tokens + large_total
    n_shards = max(1, -(-total // budget))
    room = [budget] * (n_shards - 1) + [total - (n_shards - 1) * budget]
    large_shard: dict[int, int] = {}
    per_shard = [0] * n_shards
    running = 0
    for key, tokens in large:
        preferred = min(n_shards - 1, (2 * running + tokens) * n_shards // (2 * large_total))
        running += tokens
        order = [*range(preferred, n_shards), *range(preferred)]
        k = next((k for k in order if per_shard[k] + tokens <= room[k]), None)
        if k is None:  # no shard has room (a document over the budget): the emptiest takes it
            k = max(range(n_shards), key=lambda i: (room[i] - per_shard[i], -i))
        large_shard[key] = k
        per_shard[k] += tokens
    bounds2, before = [], 0
    for k in range(n_shards):
        # Shard k's small range starts where k budgets minus the large tokens before it end;
        # never moving backwards (a shard over budget with large documents gets no small ones).
        start = max(bounds2[-1] if bounds2 else 0, 2 * (k * budget - before))
        bounds2.append(start)
        before += per_shard[k]
    return SplitPlan(large_shard, bounds2)


def partition_summary(batches: Iterator[pa.RecordBatch], threshold: int) -> tuple[dict[str, int], list]:
    """Small tokens per split, and the large documents (split, key, tokens), of one partition."""
    small: Counter[str] = Counter()
    large = []
    for b in batches:
        for split, key, n in zip(
            b.column("split").to_pylist(), b.column("key").to_pylist(), b.column("num_tokens").to_pylist(),
            strict=True,
        ):
            if n > threshold:
                large.append((split, key, n))
            else:
                small[split] += n
    return dict(small), large


def assign(
    batches: Iterator[pa.RecordBatch], offsets: dict[str, int], plans: dict[str, SplitPlan], threshold: int
) -> Iterator[pa.RecordBatch]:
    """Shard index of each row of a partition sorted by (split, key).

    ``offsets`` holds, per split, the small tokens of that split in all earlier partitions.
    """
    running = dict(offsets)
    for b in batches:
        shards = []
        for split, key, n in zip(
            b.column("split").to_pylist(), b.column("key").to_pylist(), b.column("num_tokens").to_pylist(),
            strict=True,
        ):
            plan = plans[split]
            if n > threshold:
                shards.append(plan.large_shard[key])
            else:
                start = running.get(split, 0)
                shards.append(plan.small_shard(start, n))
                running[split] = start + n
        yield pa.RecordBatch.from_arrays([*b.columns, pa.array(shards, pa.int64())], schema=ASSIGNED_SCHEMA)


def ids_array(ids: list[list[int]]) -> pa.ListArray:
    """list<int32> from token id lists; through numpy, as pa.array on nested lists is ~10x slower."""
    lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
    offsets = np.zeros(len(ids) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    values = np.fromiter(itertools.chain.from_iterable(ids), dtype=np.int32, count=int(offsets[-1]))
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values), type=INPUT_IDS_FIELD.type)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_shard(table: pa.Table, path: Path, settings: ShardSettings) -> dict[str, Any]:
    """Write one shard's rows to ``path``; the same rows and settings give the same bytes.

    Rows are sorted by (key, id, copy) here, so the bytes do not depend on the order in which
    Spark delivered them; the writer's options are all fixed (no timestamps in Parquet).
    """
    table = table.sort_by([("key", "ascending"), ("id", "ascending"), ("copy", "ascending")])
    out = table.select([f.name for f in SHARD_FIELDS]).cast(pa.schema(SHARD_FIELDS))
    if settings.write_input_ids:
        ids = tokenizer.encode(out.column("text").to_pylist(), settings.tokenizer)
        lengths = [len(x) for x in ids]
        if lengths != out.column("num_tokens").to_pylist():
            raise RuntimeError(
                f"{path.name}: input_ids lengths differ from num_tokens; was num_tokens counted "
                "with another tokenizer? Rerun the shard stage with --force."
            )
        out = out.append_column(INPUT_IDS_FIELD, ids_array(ids))
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        out,
        path,
        row_group_size=settings.max_rows_per_row_group,
        compression="zstd",
        compression_level=settings.zstd_level,
        write_statistics=True,
    )
    mix: dict[str, dict[str, int]] = defaultdict(lambda: {"rows": 0, "tokens": 0})
    for source, n in zip(out.column("source").to_pylist(), out.column("num_tokens").to_pylist(), strict=True):
        mix[source]["rows"] += 1
        mix[source]["tokens"] += n
    return {
        "rows": out.num_rows,
        "tokens": int(pc.sum(out.column("num_tokens")).as_py() or 0),
        "bytes": path.stat().st_size,
        "sha256": sha256_file(path),
        "row_groups": pq.ParquetFile(path).num_row_groups,
        "sources": json.dumps(dict(sorted(mix.items())), sort_keys=True),
    }
