"""The near-duplicate algorithm in one process (no Spark), for tests, analysis and small inputs.

Same steps and the same survivor rule as ``curation/spark/dedup.py``: band keys, star edges to
the smallest id of each bucket, optional exact-Jaccard verification, components (union-find
here), survivor = highest math_score then smallest id. The Spark test checks both agree.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pyarrow as pa

from curation.dedup.jaccard import jaccard, shingle_sets
from curation.dedup.minhash import band_hashes, signatures
from curation.dedup.settings import DedupSettings
from curation.dedup.shingles import shingle_batch


def near_duplicates(
    ids: list[str], texts: list[str], scores: list[float | None] | None = None, s: DedupSettings | None = None
) -> tuple[dict[str, str | None], dict[str, int]]:
    """Return (id -> ``near_duplicate_of:<id>`` or None, counters)."""
    s = s or DedupSettings()
    bands, rows = s.lsh_params
    arr = pa.array(texts, pa.large_string())
    sb = shingle_batch(arr, s.ngram, s.char_ngram, s.char_token_share, s.hash)
    keys = band_hashes(signatures(sb, s.num_perm, s.seed, s.scheme), bands, rows)
    has = np.diff(sb.offsets) > 0
    buckets: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i in np.flatnonzero(has):
        for b in range(bands):
            buckets[(b, int(keys[i, b]))].append(int(i))
    edges: set[tuple[int, int]] = set()
    for members in buckets.values():
        if len(members) > 1:
            root = min(members, key=lambda m: ids[m])
            edges.update((m, root) for m in members if m != root)
    counters = {"candidate_pairs": len(edges)}
    if s.verify:
        sets = shingle_sets(arr, s.ngram, s.char_ngram, s.char_token_share)
        kept = {e for e in edges if jaccard(sets[e[0]], sets[e[1]]) >= s.threshold}
        counters["verification_dropped_pairs"] = len(edges) - len(kept)
        edges = kept
    parent = list(range(len(ids)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    comps: dict[int, list[int]] = defaultdict(list)
    for i in range(len(ids)):
        comps[find(i)].append(i)
    scores = scores or [None] * len(ids)
    out: dict[str, str | None] = {i: None for i in ids}
    for members in comps.values():
        if len(members) < 2:
            continue
        best = min(members, key=lambda m: (-(scores[m] if scores[m] is not None else -np.inf), ids[m]))
        for m in members:
            if m != best:
                out[ids[m]] = f"near_duplicate_of:{ids[best]}"
    return out, counters
