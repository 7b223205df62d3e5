"""Gopher's n-gram repetition signals (Rae et al. 2021, App. A.1, Table A1), on integer n-gram ids.

datatrove's helpers (``gopher_repetition_filter.find_top_duplicate`` / ``find_all_duplicate``)
build one Python string per n-gram position: about 10 ms per 12,000-character document here, more
than the rest of the filter stage together. The same quantities computed on integer ids:

* every word gets an id; the id of an n-gram is the id of the pair (its (n-1)-gram id, its last
  word id), numbered with ``np.unique``, so n-grams are equal exactly when their words are;
* ``top_ngram_chars`` is datatrove's ``find_top_duplicate`` on ``get_n_grams``: characters of the
  most frequent n-gram (words joined by one space) times its count, ties to the first seen;
* ``dup_ngram_chars`` is datatrove's ``find_all_duplicate``: the left-to-right scan that counts an
  n-gram's characters (words joined without space) when it was seen before and then jumps past it.

One deliberate difference: datatrove compares the words of ``find_all_duplicate`` concatenated
without a separator, so ``["ab", "c"]`` equals ``["a", "bc"]``; here n-grams are word sequences,
which is Gopher's definition. tests/test_filter.py checks that both give the same numbers on real
text.
"""

from __future__ import annotations

import numpy as np


def find_duplicates(items: list[str]) -> tuple[int, int]:
    """(items equal to an earlier one, their characters): Gopher's duplicate lines and paragraphs.

    The same numbers as datatrove's ``gopher_repetition_filter.find_duplicates`` (tests/
    test_filter.py compares them); written out here because importing that module imports the
    whole of ``datatrove.pipeline.filters`` with ``datatrove.io`` and huggingface_hub, 0.2 s in
    the driver and in every Python worker of the filter stage, for a ten-line function.
    """
    seen: set[str] = set()
    n_dup = dup_chars = 0
    for item in items:
        if item in seen:
            n_dup += 1
            dup_chars += len(item)
        else:
            seen.add(item)
    return n_dup, dup_chars


class NgramIndex:
    """Word ids, word lengths and n-gram ids of one document, built up to the largest n asked."""

    def __init__(self, words: list[str]) -> None:
        # Ids in order of first occurrence; map() keeps the per-word work in C.
        vocab = {w: i for i, w in enumerate(dict.fromkeys(words))}
        self.ids = np.fromiter(map(vocab.__getitem__, words), dtype=np.int64, count=len(words))
        self.lens = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
        # prefix sums of word lengths: characters of words[i:i+n] = cum[i+n] - cum[i]
        self.cum = np.concatenate(([0], np.cumsum(self.lens)))
        self._grams: dict[int, np.ndarray] = {1: self.ids}

    def grams(self, n: int) -> np.ndarray:
        """Id of the n-gram starting at each position (len(words) - n + 1 of them)."""
        if n in self._grams:
            return self._grams[n]
        prev = self.grams(n - 1)
        m = len(self.ids) - n + 1
        if m <= 0:
            out = np.zeros(0, dtype=np.int64)
        else:
            key = prev[:m] * (int(self.ids.max()) + 1) + self.ids[n - 1 : n - 1 + m]
            _, out = np.unique(key, return_inverse=True)
            out = out.astype(np.int64, copy=False)
        self._grams[n] = out
        return out

    def chars(self, n: int) -> np.ndarray:
        """Characters of the words of the n-gram at each position, without separators."""
        m = len(self.ids) - n + 1
        return self.cum[n : n + m] - self.cum[:m] if m > 0 else np.zeros(0, dtype=np.int64)


def top_ngram_chars(index: NgramIndex, n: int) -> int:
    """Characters of the most frequent n-gram (joined with spaces) times its count; 0 if none."""
    grams = index.grams(n)
    if not len(grams):
        return 0
    counts = np.bincount(grams)
    best = counts.max()
    # Counter.most_common keeps insertion order among ties: the candidate seen first wins.
    first_pos = int(np.flatnonzero(counts[grams] == best)[0])
    return int(index.chars(n)[first_pos] + (n - 1)) * int(best)


def dup_ngram_chars(index: NgramIndex, n: int) -> int:
    """Characters in n-grams that repeat an earlier one, scanning left to right without overlap."""
    grams = index.grams(n)
    m = len(grams)
    if m == 0:
        return 0
    chars = index.chars(n)
    # The scan must be sequential (a repeat jumps n positions), but an n-gram that occurs once in
    # the whole document can never be a repeat: only positions of repeated n-grams need a look.
    counts = np.bincount(grams)
    if counts.max() < 2:
        return 0
    positions = np.flatnonzero(counts[grams] > 1)
    gram_at = grams[positions].tolist()
    chars_at = chars[positions].tolist()
    seen: set[int] = set()
    total = resume = 0  # resume: the next position the scan looks at
    for pos, g, c in zip(positions.tolist(), gram_at, chars_at, strict=True):
        if pos < resume:  # jumped over by an earlier repeat
            continue
        if g in seen:
            total += c
            resume = pos + n
        else:
            seen.add(g)
            resume = pos + 1
    return total
