"""MinHash signatures of a whole batch with numpy, bit-compatible with datasketch 2.x.

datasketch draws its permutations from ``np.random.RandomState(seed)``; we draw the same ones.
Scheme ``affine32`` (datasketch's default since 2.0): the 32-bit shingle hash is pre-mixed with
MurmurHash3's fmix32, then ``a*h + b mod 2^32``. Scheme ``legacy``: ``(a*h + b) mod (2^61 - 1)``
truncated to 32 bits (what text-dedup and datatrove compute).

Instead of one ``update`` per shingle, all shingles of a batch are permuted as one matrix
(``shingles x num_perm``) in cache-sized blocks, and ``np.minimum.reduceat`` folds each
document's rows into its signature.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from curation.dedup.shingles import ShingledBatch

_MERSENNE = np.uint64((1 << 61) - 1)
_MAX32 = np.uint64((1 << 32) - 1)
# Shingles permuted at once: 128 x 8192 x 4 B = 4 MiB; smaller blocks pay numpy's per-call cost.
_BLOCK = 8192


@lru_cache(maxsize=16)
def permutations(num_perm: int, seed: int, scheme: str) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) exactly as datasketch's ``MinHash._init_permutations``."""
    gen = np.random.RandomState(seed)
    if scheme == "legacy":
        ab = np.array(
            [
                (gen.randint(1, _MERSENNE, dtype=np.uint64), gen.randint(0, _MERSENNE, dtype=np.uint64))
                for _ in range(num_perm)
            ],
            dtype=np.uint64,
        ).T
        return ab[0].copy(), ab[1].copy()
    if scheme == "affine32":
        a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
        b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
        return a, b
    raise ValueError(f"unknown MinHash scheme {scheme!r}")


def fmix32(h: np.ndarray) -> np.ndarray:
    h = h.astype(np.uint32)
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> np.uint32(16)
    return h


def empty_value(scheme: str) -> int:
    return (1 << 32) - 1


def _permute(hv: np.ndarray, a: np.ndarray, b: np.ndarray, scheme: str) -> np.ndarray:
    """The ``num_perm x len(hv)`` matrix of permuted hashes.

    Permutations are rows so that each row is one contiguous SIMD loop and the per-document
    minimum is a ``reduceat`` along the fast axis (about 15x faster than along axis 0).
    """
    m = np.multiply(a[:, None], hv[None, :])  # wraps mod 2^32 / 2^64, as datasketch's product
    m += b[:, None]
    if scheme == "legacy":
        m %= _MERSENNE
        m &= _MAX32
    return m


def signatures(sb: ShingledBatch, num_perm: int = 128, seed: int = 1, scheme: str = "affine32") -> np.ndarray:
    """``(documents, num_perm)`` signatures; documents without shingles get the empty value."""
    a, b = permutations(num_perm, seed, scheme)
    # 32-bit shingle hashes: the top half of our 64-bit hash (as ``shingle_hash32``), or sha1's.
    h32 = sb.hashes >> np.uint64(32) if sb.bits == 64 else sb.hashes
    if scheme == "affine32":
        hv = fmix32(h32)
        dtype = np.uint32
    else:
        hv = h32.astype(np.uint64)
        dtype = np.uint64
    n_docs = len(sb.offsets) - 1
    sig = np.full((num_perm, n_docs), empty_value(scheme), dtype=dtype)
    offsets = sb.offsets
    d = 0
    while d < n_docs:
        # A group of whole documents holding about _BLOCK shingles.
        lo = offsets[d]
        e = int(np.searchsorted(offsets, lo + _BLOCK, side="right")) - 1
        e = max(e, d + 1)
        hi = offsets[e]
        if hi - lo <= 2 * _BLOCK:
            docs = np.arange(d, e)
            nonempty = docs[offsets[docs + 1] > offsets[docs]]
            if len(nonempty):
                m = _permute(hv[lo:hi], a, b, scheme)
                sig[:, nonempty] = np.minimum.reduceat(m, offsets[nonempty] - lo, axis=1)
        else:  # one long document: fold its blocks into a running minimum
            acc = sig[:, d].copy()
            for s in range(int(lo), int(hi), _BLOCK):
                m = _permute(hv[s : min(s + _BLOCK, hi)], a, b, scheme)
                np.minimum(acc, m.min(axis=1), out=acc)
            sig[:, d] = acc
        d = e
    return np.ascontiguousarray(sig.T)


def band_hashes(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """``(documents, bands)`` int64 keys: a 64-bit hash of each band's ``rows`` values."""
    out = np.empty((sig.shape[0], bands), dtype=np.uint64)
    s = sig.astype(np.uint64)
    for j in range(bands):
        h = np.full(sig.shape[0], np.uint64(j + 1), dtype=np.uint64)
        for k in range(j * rows, (j + 1) * rows):
            h *= np.uint64(0x9E3779B97F4A7C15)
            h += s[:, k]
            h ^= h >> np.uint64(29)
        out[:, j] = h
    return out.view(np.int64)
