"""Seeded, per-document decisions of the mix: copies, order, split and the token-target cut.

Every decision is a hash of (seed, purpose, id[, copy]), never a draw from a random generator, so
each document's fate is the same whichever executor, partition or batch sees it, and a rerun with
the same seed gives the same corpus. ``copy`` numbers the repetitions of an upsampled document.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import xxhash

from curation.shard.settings import ShardSettings

# The token target is cut on the top bits of the order key: 2**16 buckets keep the histogram
# the driver collects tiny (at most 65,536 rows) while overshooting the target by at most 1/65536.
BUCKET_BITS = 16
_U64 = 2**64

SPLITS = ("train", "validation")


def _unit(seed: int, purpose: str, key: str) -> int:
    return xxhash.xxh3_64_intdigest(f"{seed}\x1f{purpose}\x1f{key}".encode("utf-8", "surrogatepass"))


def n_copies(doc_id: str, weight: float, seed: int) -> int:
    """floor(weight) copies, plus one with probability frac(weight)."""
    whole = math.floor(weight)
    frac = weight - whole
    extra = frac > 0 and _unit(seed, "weight", doc_id) < frac * _U64
    return whole + int(extra)


def order_key(doc_id: str, copy: int, seed: int) -> int:
    """Unsigned 64-bit position of a copy in the shuffled corpus (ties broken by id, copy)."""
    return _unit(seed, "order", f"{doc_id}\x1f{copy}")


def signed(key: int) -> int:
    """Order-preserving map of an unsigned 64-bit key to Spark's signed long."""
    return key - 2**63


def bucket(key: int) -> int:
    return key >> (64 - BUCKET_BITS)


def split_of(doc_id: str, settings: ShardSettings) -> str:
    """By document, so no copy of a validation document leaks into train."""
    if settings.validation_fraction <= 0:
        return "train"
    hit = _unit(settings.seed, "split", doc_id) < settings.validation_fraction * _U64
    return "validation" if hit else "train"


def selected_copies(
    doc_id: str, source: str, settings: ShardSettings, cutoff_bucket: int | None
) -> list[tuple[int, int]]:
    """The (copy, order_key) pairs of a document that make it into the shards."""
    out = []
    for copy in range(n_copies(doc_id, settings.weight(source), settings.seed)):
        key = order_key(doc_id, copy, settings.seed)
        if cutoff_bucket is None or bucket(key) <= cutoff_bucket:
            out.append((copy, key))
    return out


def choose_cutoff(histogram: Iterable[tuple[int, int]], target: int | None) -> tuple[int | None, int]:
    """Smallest prefix of buckets whose tokens reach ``target``: (last bucket kept, tokens kept).

    ``histogram`` holds (bucket, tokens) pairs. With no target, or a mix smaller than the
    target, every bucket is kept and the cutoff is None.
    """
    pairs = sorted(histogram)
    total = sum(t for _, t in pairs)
    if target is None or total <= target:
        return None, total
    running = 0
    for b, tokens in pairs:
        running += tokens
        if running >= target:
            return b, running
    raise AssertionError("unreachable: total > target but the prefix never reached it")
