"""Exact Jaccard similarity of shingle sets, to verify LSH candidates (NeMo's false-positive check)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from curation.dedup.shingles import shingle_batch


def shingle_sets(
    texts: pa.Array, ngram: int = 5, char_ngram: int = 5, char_token_share: float = 0.5
) -> list[np.ndarray]:
    """Sorted distinct 64-bit shingle hashes per document."""
    sb = shingle_batch(texts, ngram, char_ngram, char_token_share, "xxh3")
    o = sb.offsets
    return [np.unique(sb.hashes[o[i] : o[i + 1]]) for i in range(len(o) - 1)]


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) == 0 and len(b) == 0:
        return 1.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)


def pair_jaccard(
    left: pa.Array, right: pa.Array, ngram: int = 5, char_ngram: int = 5, share: float = 0.5
) -> np.ndarray:
    """Jaccard of ``left[i]`` and ``right[i]`` for every i (one shingling pass over both sides)."""
    n = len(left)
    both = pa.concat_arrays([left.cast(pa.large_string()), right.cast(pa.large_string())])
    sets = shingle_sets(both, ngram, char_ngram, share)
    return np.array([jaccard(sets[i], sets[n + i]) for i in range(n)], dtype=np.float64)
