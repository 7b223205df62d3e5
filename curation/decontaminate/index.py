"""The benchmark n-gram index and the per-document scan.

Built once (on the Spark driver) from every registered set and shipped to the workers, so its
parts are plain numpy arrays and dicts that pickle compactly:

* token values are ``normalize.token_hashes`` (a hash of the token's code points, equal on every
  machine and run, computed without one Python string per token); ``vocab`` keeps the sorted
  values of every benchmark token for statistics and tools.
* per n-gram length: sorted polynomial hashes of every item's n-grams (taken over the item's
  fields joined in order) with the first owning item (sets in name order, items in file order).
* exact matching of short fields: looked up by the hash of their first ``exact_probe`` tokens,
  then checked against the hash of their whole token sequence.
* each n-gram table has a bitmap of its keys' top bits: most windows of a document are rejected
  by one gather in a few MB instead of a binary search over millions of keys.
"""

from __future__ import annotations

import logging
import pickle
import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from curation.decontaminate.benchmarks import BenchmarkItem
from curation.decontaminate.normalize import (
    CJK_RE,
    NUMBER_WORD_DIGITS,
    TOKEN_RE,
    canonical_text,
    number_token,
    token_hashes,
    token_hashes_with_starts,
)
from curation.decontaminate.settings import DecontaminateSettings

log = logging.getLogger(__name__)

_BASE = 0x9E3779B97F4A7C15  # odd, so invertible mod 2**64: windows come from prefix sums
_INV_BASE = pow(_BASE, -1, 2**64)
_POW: np.ndarray = np.ones(1, dtype=np.uint64)  # _BASE**k, grown on demand
_INV_POW: np.ndarray = np.ones(1, dtype=np.uint64)


def _powers(count: int) -> tuple[np.ndarray, np.ndarray]:
    global _POW, _INV_POW
    if len(_POW) < count:
        size = max(count, 2 * len(_POW), 4096)
        _POW = np.concatenate(([np.uint64(1)], np.cumprod(np.full(size - 1, _BASE, dtype=np.uint64))))
        _INV_POW = np.concatenate(([np.uint64(1)], np.cumprod(np.full(size - 1, _INV_BASE, dtype=np.uint64))))
    return _POW[:count], _INV_POW[:count]


class WindowHasher:
    """Hash of any window ``sum(values[i+j] * B**j)`` mod 2**64 in O(1) numpy ops per length."""

    def __init__(self, values: np.ndarray) -> None:
        pw, self._inv = _powers(len(values) + 1)
        self.values = values
        self._prefix = np.concatenate((np.zeros(1, np.uint64), np.cumsum(values * pw[: len(values)])))
        self._unknown = np.concatenate(([0], np.cumsum(values == 0)))

    def hashes(self, n: int, starts: np.ndarray | None = None) -> np.ndarray:
        m = len(self.values) - n + 1
        if m <= 0:
            return np.empty(0, dtype=np.uint64)
        if starts is None:
            starts = np.arange(m)
        return (self._prefix[starts + n] - self._prefix[starts]) * self._inv[starts]

    def known_starts(self, n: int) -> np.ndarray:
        """Start positions of windows of length ``n`` with no unknown (0) token."""
        if len(self.values) < n:
            return np.empty(0, dtype=np.int64)
        return np.flatnonzero(self._unknown[n:] - self._unknown[:-n] == 0)


def rolling_hashes(values: np.ndarray, n: int) -> np.ndarray:
    return WindowHasher(values).hashes(n)


def word_mask(tokens: list[str]) -> np.ndarray:
    """Tokens that carry words: 2+ characters with a letter, or a CJK character.

    Runs of numbers and one-letter variables ("1 1 2 1", "f n f n 1") are shared by unrelated
    math texts (Pascal's triangle in a docstring, the Fibonacci recurrence in a manual).
    """
    return np.fromiter(map(_is_word, tokens), dtype=bool, count=len(tokens))


@lru_cache(maxsize=1 << 18)
def _is_word(t: str) -> bool:
    if len(t) == 1:
        return bool(CJK_RE.match(t))
    return t.isalpha() or (not t.isdigit() and any(c.isalpha() for c in t))


def batched_token_hashes(canonicals: list[str], chunk_chars: int = 1 << 20) -> list[np.ndarray]:
    """``token_hashes`` of many short texts in few numpy passes (joined by a separator)."""
    out: list[np.ndarray] = []
    start = 0
    while start < len(canonicals):
        end, size = start, 0
        while end < len(canonicals) and (end == start or size + len(canonicals[end]) <= chunk_chars):
            size += len(canonicals[end]) + 1
            end += 1
        chunk = canonicals[start:end]
        offsets = np.concatenate(([0], np.cumsum([len(c) + 1 for c in chunk])))
        values, char_starts = token_hashes_with_starts("\n".join(chunk))
        doc_of = np.searchsorted(offsets, char_starts, side="right") - 1
        counts = np.bincount(doc_of, minlength=len(chunk))
        out.extend(np.split(values, np.cumsum(counts)[:-1]))
        start = end
    return out


def _windows_with_words(words: np.ndarray, n: int, min_words: int) -> np.ndarray:
    if len(words) < n:
        return np.empty(0, dtype=np.int64)
    csum = np.concatenate(([0], np.cumsum(words)))
    return np.flatnonzero(csum[n:] - csum[:-n] >= min_words)


# Numbers written as words count as numbers ("five new baseball cards", "twenty-six cards").
NUMBER_WORDS = frozenset(
    [*NUMBER_WORD_DIGITS, *"thirty forty fifty sixty seventy eighty ninety hundred thousand million".split()]
)


@lru_cache(maxsize=1 << 18)
def is_number(token: str) -> bool:
    return token.isdigit() or token in NUMBER_WORDS


@dataclass(frozen=True)
class Hit:
    owner: int  # index into ContaminationIndex.owners
    item_pos: int  # where the n-gram starts in the item's joined fields
    start: int  # token position in the document
    end: int
    exact: bool = False


@dataclass
class DocMatch:
    benchmark: str
    item: str
    hits: int  # matched n-grams (or exact matches) of this item
    coverage: float  # share of the best-covered unit's tokens inside matched n-grams (1.0 exact)
    spans: list[tuple[int, int]]  # document token ranges of every contaminating item's matches
    first_span: tuple[int, int]  # the best item's first match
    snippet: str = ""  # the best item's first match, normalised

    @property
    def reason(self) -> str:
        return f"contaminated:{self.benchmark}:{self.item}"


@dataclass
class _Table:
    keys: np.ndarray  # uint64, sorted; repeated when several items (or places) share an n-gram
    owners: np.ndarray  # int32, the item of each key
    positions: np.ndarray  # int32, where the n-gram starts in that item
    bitmap: np.ndarray  # uint64 words; bit (key >> shift) set for every key
    shift: int
    lengths: np.ndarray | None = None  # exact table: whole length of the short sequence
    full: np.ndarray | None = None  # exact table: hash of the whole short sequence


def _table(parts: list[tuple[np.ndarray, ...]]) -> _Table:
    keys = np.concatenate([p[0] for p in parts]) if parts else np.empty(0, np.uint64)
    cols = [np.concatenate([p[i] for p in parts]) if parts else np.empty(0, np.int64) for i in range(1, len(parts[0]) if parts else 3)]
    order = np.argsort(keys, kind="stable")
    # About 16 bits per key: a window passes the bitmap by chance about once in 16.
    bits = max(10, int(np.ceil(np.log2(max(len(keys), 1) * 16))))
    shift = 64 - bits
    bitmap = np.zeros(1 << max(bits - 6, 0), dtype=np.uint64)
    top = keys >> np.uint64(shift)
    np.bitwise_or.at(bitmap, top >> np.uint64(6), np.uint64(1) << (top & np.uint64(63)))
    table = _Table(keys[order], cols[0][order].astype(np.int32), cols[1][order].astype(np.int32), bitmap, shift)
    if len(cols) == 4:
        table.lengths = cols[2][order].astype(np.int32)
        table.full = cols[3][order].astype(np.uint64)
    return table


def _lookup(table: _Table, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(positions in ``hashes`` found in ``table``, one per matching table row; those rows)."""
    if len(table.keys) == 0 or len(hashes) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    top = hashes >> np.uint64(table.shift)
    maybe = np.flatnonzero((table.bitmap[top >> np.uint64(6)] >> (top & np.uint64(63))) & np.uint64(1))
    if len(maybe) == 0:
        return maybe, np.empty(0, np.int64)
    cand = hashes[maybe]
    left = np.searchsorted(table.keys, cand, side="left")
    right = np.searchsorted(table.keys, cand, side="right")
    counts = right - left
    found = np.flatnonzero(counts)
    if len(found) == 0:
        return found, np.empty(0, np.int64)
    reps = counts[found]
    offsets = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)
    return np.repeat(maybe[found], reps), np.repeat(left[found], reps) + offsets


def _sets_that_never_match(
    items_by_set: dict[str, list[BenchmarkItem]], unmatchable: dict[str, int], settings: DecontaminateSettings
) -> dict[str, str]:
    """Sets loaded whose every item is unmatchable, with the reason; each gets a WARNING, since
    such a set would otherwise look decontaminated while it can flag nothing."""
    out: dict[str, str] = {}
    for name, items in sorted(items_by_set.items()):
        if not items or unmatchable.get(name, 0) < len(items):
            continue
        spec = settings.benchmarks[name]
        short_min = settings.short_min_for(spec)
        exact = (
            "exact matching is off for it"
            if not short_min
            else f"none has the {short_min} tokens (with {settings.min_words} words) exact matching needs"
        )
        out[name] = (
            f"all {len(items)} items of fields {spec.fields} are shorter than its "
            f"{settings.ngram_for(spec)}-token n-grams (with {settings.min_words} words) and {exact}"
        )
        log.warning("benchmark %s: no item can ever be matched: %s", name, out[name])
    return out


@dataclass
class ContaminationIndex:
    vocab: np.ndarray  # sorted uint64 values of every benchmark token
    owners: list[tuple[str, str]]  # (benchmark, item)
    # Per item: the units whose coverage decides, as (start, end, coverable tokens, numbers) in
    # the joined fields: the whole item and each field long enough to hold an n-gram.
    units: list[list[tuple[int, int, int, tuple[str, ...]]]]
    ngram_tables: dict[int, _Table]
    exact_table: _Table  # short texts, keyed by the hash of their first ``exact_probe`` tokens
    exact_probe: int
    min_coverage: float
    min_words: int
    min_number_agreement: float
    stats: dict[str, object] = field(default_factory=dict)

    @classmethod
    def build(cls, items_by_set: dict[str, list[BenchmarkItem]], settings: DecontaminateSettings) -> ContaminationIndex:
        vocab: set[int] = set()
        owners: list[tuple[str, str]] = []
        units: list[list[tuple[int, int, int, tuple[str, ...]]]] = []
        ngram_parts: dict[int, list] = defaultdict(list)
        exact_seqs: list[tuple[np.ndarray, int, int]] = []  # (values, owner, item_pos)
        min_words = settings.min_words
        unmatchable: dict[str, int] = {}  # set -> items with neither an n-gram nor an exact sequence

        # Canonical text and token values of every field, the values in one batched pass.
        canon_fields = [
            [(f, canonical_text(item.texts[f])) for f in settings.benchmarks[name].fields if f in item.texts]
            for name in sorted(items_by_set)
            for item in items_by_set[name]
        ]
        flat_values = iter(batched_token_hashes([c for fields in canon_fields for _, c in fields]))
        item_fields = iter(canon_fields)

        for name in sorted(items_by_set):
            spec = settings.benchmarks[name]
            n = settings.ngram_for(spec)
            short_min = settings.short_min_for(spec)
            exact_fields = settings.exact_fields_for(spec)
            for item in items_by_set[name]:
                owner = len(owners)
                owners.append((name, item.item))
                field_tokens: dict[str, list[str]] = {}
                field_values: list[np.ndarray] = []
                joined: list[str] = []
                bounds: list[tuple[int, int]] = []
                for f, canon in next(item_fields):
                    toks = TOKEN_RE.findall(canon)
                    vals = next(flat_values)
                    assert len(toks) == len(vals), (name, item.item, f)
                    if toks:
                        field_tokens[f] = toks
                        field_values.append(vals)
                        bounds.append((len(joined), len(joined) + len(toks)))
                        joined.extend(toks)
                values = np.concatenate(field_values) if field_values else np.empty(0, np.uint64)
                vocab.update(values.tolist())
                words = word_mask(joined)
                starts = _windows_with_words(words, n, min_words)
                item_units: list[tuple[int, int, int, tuple[str, ...]]] = []
                if len(starts):
                    hashes = WindowHasher(values).hashes(n, starts)
                    ngram_parts[n].append((hashes, np.full(len(starts), owner), starts))
                    coverable = np.zeros(len(joined) + 1, dtype=np.int64)
                    np.add.at(coverable, starts, 1)
                    np.add.at(coverable, starts + n, -1)
                    covered = np.cumsum(coverable)[:-1] > 0
                    for s, e in [(0, len(joined)), *(bounds if len(bounds) > 1 else [])]:
                        c = int(covered[s:e].sum())
                        if e - s >= n and c >= n:
                            numbers = tuple(sorted({number_token(t) for t in joined[s:e] if is_number(t)}))
                            item_units.append((s, e, c, numbers))
                units.append(item_units)
                candidates = [(0, len(joined))] + [
                    bounds[i] for i, f in enumerate(f for f in spec.fields if field_tokens.get(f)) if f in exact_fields
                ]
                exact_before = len(exact_seqs)
                for s, e in dict.fromkeys(candidates):
                    length = e - s
                    if short_min and short_min <= length < n and int(words[s:e].sum()) >= min_words:
                        exact_seqs.append((values[s:e], owner, s))
                if not item_units and len(exact_seqs) == exact_before:
                    unmatchable[name] = unmatchable.get(name, 0) + 1

        probe = min((len(v) for v, _, _ in exact_seqs), default=1)
        exact_parts = [
            (WindowHasher(v).hashes(probe, np.zeros(1, np.int64)), np.full(1, o), np.full(1, p),
             np.full(1, len(v)), WindowHasher(v).hashes(len(v), np.zeros(1, np.int64)))
            for v, o, p in exact_seqs
        ]
        index = cls(
            vocab=np.array(sorted(vocab), dtype=np.uint64),
            owners=owners,
            units=units,
            ngram_tables={n: _table(parts) for n, parts in sorted(ngram_parts.items())},
            exact_table=_table(exact_parts),
            exact_probe=probe,
            min_coverage=settings.min_coverage,
            min_words=min_words,
            min_number_agreement=settings.min_number_agreement,
        )
        never = _sets_that_never_match(items_by_set, unmatchable, settings)
        index.stats = {
            "benchmarks": {name: len(items) for name, items in sorted(items_by_set.items())},
            "items": len(owners),
            "items_without_ngram_unit": sum(1 for u in units if not u),
            # Items no document can ever match (too short for an n-gram and for exact matching),
            # per set; and the sets none of whose items can match, with why.
            "unmatchable_items": dict(sorted(unmatchable.items())),
            "unmatchable_sets": never,
            "vocab": len(vocab),
            "ngrams": {str(n): len(t.keys) for n, t in index.ngram_tables.items()},
            "exact_sequences": len(exact_seqs),
            "exact_probe": probe,
            **index.memory(),
        }
        return index

    def memory(self) -> dict[str, int]:
        """Bytes held in memory (arrays exactly, Python objects by ``sys.getsizeof``) and pickled."""
        tables = [*self.ngram_tables.values(), self.exact_table]
        arrays = sum(
            sum(a.nbytes for a in (t.keys, t.owners, t.positions, t.bitmap, t.lengths, t.full) if a is not None)
            for t in tables
        ) + self.vocab.nbytes
        vocab = self.vocab.nbytes
        objects = sum(sys.getsizeof(o) + sys.getsizeof(o[1]) for o in self.owners)
        objects += sum(sys.getsizeof(u) + 88 * len(u) for u in self.units)
        return {
            "memory_bytes": arrays + vocab + objects,
            "memory_arrays_bytes": arrays,
            "memory_vocab_bytes": vocab,
            "pickled_bytes": len(pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)),
        }

    # ---- scanning -------------------------------------------------------------------------
    def hits(self, values: np.ndarray) -> list[Hit]:
        """Every n-gram (and short exact sequence) of the document found in the index."""
        hasher = WindowHasher(values)
        found: list[Hit] = []
        for n, table in self.ngram_tables.items():
            starts = hasher.known_starts(n)
            if len(starts) == 0:
                continue
            pos, rows = _lookup(table, hasher.hashes(n, starts))
            for p, o, ip in zip(starts[pos].tolist(), table.owners[rows].tolist(), table.positions[rows].tolist(), strict=True):
                found.append(Hit(o, ip, p, p + n))
        table = self.exact_table
        starts = hasher.known_starts(self.exact_probe)
        if len(starts) and len(table.keys):
            pos, rows = _lookup(table, hasher.hashes(self.exact_probe, starts))
            total = len(hasher.values)
            for p, row in zip(starts[pos].tolist(), rows.tolist(), strict=True):
                length = int(table.lengths[row])
                if p + length > total:
                    continue
                if hasher.hashes(length, np.array([p]))[0] == table.full[row]:
                    found.append(Hit(int(table.owners[row]), int(table.positions[row]), p, p + length, True))
        return found

    def coverage(self, owner: int, hits: list[Hit], tokens: list[str]) -> float:
        """Best share, over the item's units, of coverable tokens inside matched n-grams.

        A unit whose numbers mostly do not occur where the document matched scores 0: that is
        a templated rewrite (same story, other numbers), not the item.
        """
        if any(h.exact for h in hits):
            return 1.0
        covered: set[int] = set()
        for h in hits:
            covered.update(range(h.item_pos, h.item_pos + h.end - h.start))
        lo = max(0, min(h.start for h in hits) - 30)
        hi = max(h.end for h in hits) + 30
        nearby: set[str] | None = None
        best = 0.0
        for s, e, coverable, numbers in self.units[owner]:
            share = min(1.0, sum(1 for t in covered if s <= t < e) / coverable)
            if share <= best:
                continue
            if numbers and self.min_number_agreement > 0:
                if nearby is None:
                    nearby = {number_token(t) for t in tokens[lo:hi] if is_number(t)}
                if sum(1 for x in numbers if x in nearby) < self.min_number_agreement * len(numbers):
                    continue
            best = share
        return best

    def match_canonical(self, canonical: str, min_coverage: float | None = None) -> DocMatch | None:
        """The item a canonical text is contaminated with (best coverage, then most n-grams).

        ``min_coverage`` overrides the index's threshold (0 returns the best partial match, for
        analysing near misses). Token strings are only made when some n-gram matched.
        """
        threshold = self.min_coverage if min_coverage is None else min_coverage
        found = self.hits(token_hashes(canonical))
        if not found:
            return None
        tokens = TOKEN_RE.findall(canonical)
        by_owner: dict[int, list[Hit]] = defaultdict(list)
        for h in found:
            by_owner[h.owner].append(h)
        scored = {o: (self.coverage(o, hs, tokens), len({h.start for h in hs})) for o, hs in by_owner.items()}
        dirty = [o for o, (cov, _) in scored.items() if cov >= threshold and cov > 0]
        if not dirty:
            return None
        best = min(dirty, key=lambda o: (-scored[o][0], -scored[o][1], o))
        bench, item = self.owners[best]
        spans = sorted({(h.start, h.end) for o in dirty for h in by_owner[o]})
        first = min(by_owner[best], key=lambda h: (h.start, h.end))
        span = (first.start, first.end)
        return DocMatch(bench, item, scored[best][1], scored[best][0], spans, span, snippet(tokens, span))

    def candidates(self, canonicals: list[str]) -> set[int]:
        """Which of many canonical texts share any indexed n-gram or short sequence.

        One vectorised pass over the texts joined (windows across two texts are dropped), so the
        numpy call overhead is paid per batch, not per document; only candidates get the full
        per-document ``match_canonical``.
        """
        if not canonicals:
            return set()
        lengths = np.fromiter((len(c) + 1 for c in canonicals), dtype=np.int64, count=len(canonicals))
        offsets = np.concatenate(([0], np.cumsum(lengths)))
        values, char_starts = token_hashes_with_starts("\n".join(canonicals))
        if len(values) == 0:
            return set()
        doc_of = np.searchsorted(offsets, char_starts, side="right") - 1
        hasher = WindowHasher(values)
        found: set[int] = set()
        tables = [*self.ngram_tables.items(), (self.exact_probe, self.exact_table)]
        for n, table in tables:
            if len(values) < n or len(table.keys) == 0:
                continue
            starts = np.flatnonzero(doc_of[: len(values) - n + 1] == doc_of[n - 1 :])
            pos, _ = _lookup(table, hasher.hashes(n, starts))
            found.update(doc_of[starts[pos]].tolist())
        return found

    def match_many(self, texts: list[str | None], chunk_chars: int = 1 << 20) -> list[DocMatch | None]:
        """``match`` for every text, with the cheap batch pass first."""
        canon = [canonical_text(t) if t else "" for t in texts]
        out: list[DocMatch | None] = [None] * len(texts)
        start = 0
        while start < len(canon):
            end, size = start, 0
            while end < len(canon) and (end == start or size + len(canon[end]) <= chunk_chars):
                size += len(canon[end])
                end += 1
            for i in self.candidates(canon[start:end]):
                out[start + i] = self.match_canonical(canon[start + i])
            start = end
        return out

    def match_tokens(self, tokens: list[str], min_coverage: float | None = None) -> DocMatch | None:
        """As ``match`` for tokens that are already normalised (joined by spaces, they re-tokenise
        to themselves)."""
        return self.match_canonical(" ".join(tokens), min_coverage)

    def match(self, text: str, min_coverage: float | None = None) -> DocMatch | None:
        return self.match_canonical(canonical_text(text), min_coverage)


def snippet(tokens: list[str], span: tuple[int, int], max_chars: int = 240) -> str:
    """The matched region in normalised form (CJK characters joined without spaces)."""
    out: list[str] = []
    prev_cjk = False
    for tok in tokens[span[0] : span[1]]:
        cjk = bool(CJK_RE.match(tok))
        if out and not (cjk and prev_cjk):
            out.append(" ")
        out.append(tok)
        prev_cjk = cjk
    return "".join(out)[:max_chars]


def merge_spans(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
