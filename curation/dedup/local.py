"""The dedup algorithm in one process (no Spark), for tests, analysis and small inputs.

Same steps and the same survivor rules as ``curation/spark/dedup.py``:

* exact: documents sharing a normalized-text key; the survivor has the highest math_score, then
  the smallest id;
* URL (among exact survivors): documents sharing a normalized URL; the most recent date
  survives, then the score, then the id;
* near (among the rest): LSH band keys, star edges to the smallest id of each bucket, optional
  exact-Jaccard verification, components by union-find, survivor = highest math_score then
  smallest id.

Orders follow Spark's: ``desc_nulls_last`` puts NaN above every number (Spark sorts NaN as the
largest float) and nulls after everything; ids compare as strings, and Python's code-point order
is Spark's byte order on UTF-8. tests/test_dedup_spark.py checks that both paths agree.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from curation.dedup.jaccard import pair_jaccard
from curation.dedup.keys import keys_batch
from curation.dedup.settings import DedupSettings
from curation.dedup.union_find import union_find

EXACT = "exact_duplicate_of:"
URL = "url_duplicate_of:"
NEAR = "near_duplicate_of:"


def _score_rank(x: float | None) -> tuple[int, float]:
    """Sort key of ``math_score desc nulls last`` with Spark's NaN (the largest float) first."""
    if x is None:
        return (2, 0.0)
    if math.isnan(x):
        return (0, 0.0)
    return (1, -x)


def _best_by_score(members: Sequence[int], ids: Sequence[str], scores: Sequence[float | None]) -> int:
    return min(members, key=lambda m: (_score_rank(scores[m]), ids[m]))


def _best_by_date(members: Sequence[int], ids: Sequence[str], dates: Sequence[str | None],
                  scores: Sequence[float | None]) -> int:
    """Most recent date (ISO strings sort as dates; nulls last), then the score, then the id."""
    by_score = sorted(members, key=lambda m: (_score_rank(scores[m]), ids[m]))
    # A stable sort, reversed, keeps the score order among equal dates (Python's sort stays
    # stable under reverse=True); a dated row (True) sorts before an undated one.
    return sorted(by_score, key=lambda m: (dates[m] is not None, dates[m] or ""), reverse=True)[0]


def _groups(keys: Sequence[Any], rows: Sequence[int]) -> list[list[int]]:
    """Rows sharing a non-null key, for keys held by more than one row."""
    groups: dict[Any, list[int]] = defaultdict(list)
    for i in rows:
        if keys[i] is not None:
            groups[keys[i]].append(i)
    return [g for g in groups.values() if len(g) > 1]


def exact_and_url(ids: Sequence[str], text_keys: Sequence[str | None], url_keys: Sequence[str | None],
                  dates: Sequence[str | None], scores: Sequence[float | None],
                  s: DedupSettings) -> dict[int, str]:
    """Row -> reason of the rows that lose to a better row with the same text or URL."""
    reasons: dict[int, str] = {}
    if s.exact:
        for members in _groups(text_keys, range(len(ids))):
            best = _best_by_score(members, ids, scores)
            reasons.update({m: EXACT + ids[best] for m in members if m != best})
    if s.url:
        alive = [i for i in range(len(ids)) if i not in reasons]
        for members in _groups(url_keys, alive):
            best = _best_by_date(members, ids, dates, scores)
            reasons.update({m: URL + ids[best] for m in members if m != best})
    return reasons


def star_edges(ids: Sequence[str], bands: Sequence[Sequence[int] | None], rows: Sequence[int]) -> set[tuple[int, int]]:
    """(member, bucket's smallest id) for every member of every LSH bucket of ``rows``."""
    buckets: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i in rows:
        if bands[i] is not None:
            for b, key in enumerate(bands[i]):
                buckets[(b, key)].append(i)
    edges: set[tuple[int, int]] = set()
    for members in buckets.values():
        if len(members) > 1:
            root = min(members, key=lambda m: ids[m])
            edges.update((m, root) for m in members if m != root)
    return edges


def near(ids: Sequence[str], bands: Sequence[Sequence[int] | None], texts: pa.Array,
         scores: Sequence[float | None], rows: Sequence[int],
         s: DedupSettings) -> tuple[dict[int, str], dict[str, Any]]:
    """Row -> ``near_duplicate_of:`` reason among ``rows``, and the stage's near-dup statistics."""
    edges = sorted(star_edges(ids, bands, rows))
    stats: dict[str, Any] = {"candidate_pairs": len(edges), "cluster_sizes": {}}
    if s.verify:
        if edges:
            left = texts.take(pa.array([a for a, _ in edges]))
            right = texts.take(pa.array([b for _, b in edges]))
            sim = pair_jaccard(left, right, s.ngram, s.char_ngram, s.char_token_share)
            kept = [e for e, j in zip(edges, sim, strict=True) if j >= s.threshold]
        else:
            kept = []
        stats["verification_dropped_pairs"] = len(edges) - len(kept)
        edges = kept
    reasons: dict[int, str] = {}
    if not edges:
        return reasons, stats
    component = union_find([(a, b) for a, b in edges if a != b])
    members: dict[int, list[int]] = defaultdict(list)
    for node, root in component.items():
        members[root].append(node)
    for group in members.values():
        best = _best_by_score(group, ids, scores)
        reasons.update({m: NEAR + ids[best] for m in group if m != best})
    stats["cc_rounds"] = 0
    stats["cluster_sizes"] = {str(k): v for k, v in sorted(Counter(len(g) for g in members.values()).items())}
    return reasons, stats


def dedup_reasons(batch: pa.RecordBatch | pa.Table, s: DedupSettings) -> tuple[dict[str, str], dict[str, Any]]:
    """id -> reason of every duplicate among documents with columns id, source, origin, text,
    date and math_score; plus the statistics the Spark path reports."""
    if isinstance(batch, pa.Table):
        batch = batch.combine_chunks().to_batches()[0] if batch.num_rows else pa.RecordBatch.from_pylist(
            [], schema=batch.schema)
    has_id = [i for i, v in enumerate(batch.column("id").to_pylist()) if v is not None]
    batch = batch.take(pa.array(has_id, pa.int64()))  # rows without an id are never dropped
    keys = keys_batch(batch, s)
    ids = keys.column("id").to_pylist()
    dates = batch.column("date").to_pylist()
    scores = batch.column("math_score").to_pylist()
    reasons = exact_and_url(ids, keys.column("text_key").to_pylist(), keys.column("url_key").to_pylist(),
                            dates, scores, s)
    stats: dict[str, Any] = {}
    if s.near:
        alive = [i for i in range(len(ids)) if i not in reasons]
        texts = batch.column("text").cast(pa.large_string())
        near_reasons, stats = near(ids, keys.column("bands").to_pylist(), texts, scores, alive, s)
        reasons.update(near_reasons)
    return {ids[i]: r for i, r in reasons.items()}, stats


def near_duplicates(
    ids: list[str], texts: list[str], scores: list[float | None] | None = None, s: DedupSettings | None = None
) -> tuple[dict[str, str | None], dict[str, int]]:
    """Near duplicates alone: (id -> ``near_duplicate_of:<id>`` or None, counters)."""
    s = s or DedupSettings()
    scores = scores or [None] * len(ids)
    arr = pa.array(texts, pa.large_string())
    batch = pa.RecordBatch.from_arrays([pa.array(ids, pa.string()), arr], names=["id", "text"])
    bands = keys_batch(batch, s.model_copy(update={"exact": False, "url": False})).column("bands").to_pylist()
    reasons, stats = near(ids, bands, arr, scores, range(len(ids)), s)
    out: dict[str, str | None] = {i: None for i in ids}
    out.update({ids[i]: r for i, r in reasons.items()})
    counters = {k: v for k, v in stats.items() if k in ("candidate_pairs", "verification_dropped_pairs")}
    return out, counters

