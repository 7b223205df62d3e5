"""Near-duplicate test sets with known true Jaccard, and the metrics to score a dedup run on them.

A case is a base text and a variant made by controlled edits (word insertions, deletions and
substitutions, reordered paragraphs, an added header or footer); its true Jaccard is computed
exactly on the sets of word 5-grams (the shingles the stage hashes, as plain strings). Unrelated
texts are added alone, to count false merges. Base texts come from a seeded vocabulary (no files
needed) or from real corpus text (``corpus_texts``).
"""

from __future__ import annotations

import html
import random
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from curation.dedup.shingles import shingles_of

HEADERS = (
    "Home | Docs | Download | Community | About",
    "Skip to main content. You are here: Manuals > Reference",
    "This page was last edited on 3 March 2021, at 12:04.",
)
FOOTERS = (
    "Copyright (c) 2009-2024 The Project Authors. All rights reserved. Privacy policy.",
    "Previous | Next | Up | Contents | Index",
    "Found a typo? Edit this page on GitHub. Licensed under CC BY-SA 4.0.",
)


@dataclass(frozen=True)
class Case:
    base_id: str
    variant_id: str
    jaccard: float
    edits: str


def true_jaccard(a: str, b: str, ngram: int = 5) -> float:
    sa, sb = set(shingles_of(a, ngram)), set(shingles_of(b, ngram))
    if not sa and not sb:
        return 1.0
    return len(sa & sb) / len(sa | sb)


def seeded_texts(
    n: int, seed: int = 0, words: tuple[int, int] = (150, 400), vocab_size: int = 5000
) -> list[str]:
    """Texts of Zipf-distributed words from a seeded vocabulary, in 2-5 paragraphs."""
    rng = random.Random(seed)
    syll = ["ka", "lo", "mi", "ra", "te", "su", "no", "vi", "de", "po", "ze", "qua", "ri", "sh", "an"]
    vocab = sorted(
        {"".join(rng.choice(syll) for _ in range(rng.randint(1, 4))) for _ in range(vocab_size * 2)}
    )
    rng.shuffle(vocab)
    vocab = vocab[:vocab_size]
    weights = [1.0 / (r + 1) for r in range(len(vocab))]
    out = []
    for _ in range(n):
        k = rng.randint(*words)
        toks = rng.choices(vocab, weights=weights, k=k)
        cuts = sorted(rng.sample(range(1, k), rng.randint(1, 4)))
        paras = [" ".join(toks[i:j]) for i, j in zip([0, *cuts], [*cuts, k], strict=True)]
        out.append("\n\n".join(p.capitalize() + "." for p in paras))
    return out


def corpus_texts(corpus: Path, n: int, seed: int = 0, min_words: int = 80) -> list[str]:
    """Real text: forum posts (question + answer bodies, HTML stripped) and ~3 KB TeX chunks."""
    rng = random.Random(seed)
    texts: list[str] = []
    posts = corpus / "forums" / "math.example" / "Posts.xml"
    if posts.is_file():
        bodies = re.findall(r' Body="([^"]*)"', posts.read_text(encoding="utf-8"))
        for i in range(0, len(bodies) - 1, 2):
            t = re.sub(r"<[^>]+>", " ", html.unescape(bodies[i] + "\n\n" + bodies[i + 1]))
            if len(t.split()) >= min_words:
                texts.append(t.strip())
    for f in sorted((corpus / "books").rglob("*.tex")):
        raw = f.read_text(encoding="utf-8", errors="replace")
        for i in range(0, len(raw) - 3000, 3000):
            chunk = raw[i : i + 3000]
            if len(chunk.split()) >= min_words:
                texts.append(chunk)
    rng.shuffle(texts)
    return texts[:n]


def edit(text: str, rng: random.Random, rate: float, vocab: list[str]) -> tuple[str, str]:
    """Apply random edits touching about ``rate`` of the words; return (variant, what was done)."""
    paras = [p.split() for p in re.split(r"\n\s*\n", text) if p.strip()]
    done: list[str] = []
    n_words = sum(len(p) for p in paras)
    for _ in range(max(0, round(rate * n_words))):
        op = rng.choice(("insert", "delete", "substitute"))
        p = rng.choice([q for q in paras if q] or paras)
        i = rng.randrange(len(p) + (op == "insert")) if p or op == "insert" else 0
        if op == "insert":
            p.insert(i, rng.choice(vocab))
        elif p and op == "delete":
            del p[i]
        elif p:
            p[i] = rng.choice(vocab)
        done.append(op)
    if len(paras) > 1 and rng.random() < 0.3:
        rng.shuffle(paras)
        done.append("reorder")
    out = "\n\n".join(" ".join(p) for p in paras)
    if rng.random() < 0.3:
        out = rng.choice(HEADERS) + "\n\n" + out
        done.append("header")
    if rng.random() < 0.3:
        out = out + "\n\n" + rng.choice(FOOTERS)
        done.append("footer")
    counts: dict[str, int] = defaultdict(int)
    for d in done:
        counts[d] += 1
    return out, ",".join(f"{k}={v}" for k, v in sorted(counts.items()))


def build(
    texts: list[str], n_pairs: int, seed: int = 0, max_rate: float = 0.06, prefix: str = "syn"
) -> tuple[list[dict[str, str]], list[Case], list[str]]:
    """The first ``n_pairs`` texts get a variant; the rest stay alone (unrelated documents).

    Edit rates are drawn uniformly in [0, max_rate]: with 5-grams, editing a fraction e of the
    words leaves a Jaccard of roughly (1 - 5e) / (1 + 5e), so 0.06 spans ~0.5 .. 1.0 around the
    0.8 threshold. Returns (documents as {id, text}, cases, ids of unrelated documents).
    """
    rng = random.Random(seed)
    vocab = sorted({w for t in texts[: min(len(texts), 200)] for w in t.split()}) or ["word"]
    docs: list[dict[str, str]] = []
    cases: list[Case] = []
    alone: list[str] = []
    for i, text in enumerate(texts):
        base_id = f"{prefix}{i:05d}a"
        docs.append({"id": base_id, "text": text})
        if i < n_pairs:
            variant, what = edit(text, rng, rng.uniform(0.0, max_rate), vocab)
            vid = f"{prefix}{i:05d}b"
            docs.append({"id": vid, "text": variant})
            cases.append(Case(base_id, vid, true_jaccard(text, variant), what))
        else:
            alone.append(base_id)
    return docs, cases, alone


@dataclass
class Metrics:
    precision: float
    recall: float
    unrelated_fp_rate: float
    positives: int
    predicted_pairs: int
    true_pairs_found: int


def score(
    reasons: dict[str, str | None], cases: list[Case], alone: list[str], threshold: float = 0.8
) -> Metrics:
    """Pairwise precision/recall of the clusters implied by ``reasons`` (id -> reason or None)."""
    rep: dict[str, str] = {}
    for doc_id, reason in reasons.items():
        rep[doc_id] = reason.split(":", 1)[1] if reason and "duplicate_of:" in reason else doc_id
    clusters: dict[str, list[str]] = defaultdict(list)
    for doc_id, r in rep.items():
        clusters[r].append(doc_id)
    label = {(c.base_id, c.variant_id): c.jaccard >= threshold for c in cases}
    predicted = true_found = 0
    for members in clusters.values():
        members.sort()
        for i in range(len(members)):
            for j in range(i + 1, len(members)):
                predicted += 1
                true_found += label.get((members[i], members[j]), False)
    positives = sum(label.values())
    merged_alone = sum(len(clusters[rep[a]]) > 1 for a in alone)
    return Metrics(
        precision=true_found / predicted if predicted else 1.0,
        recall=true_found / positives if positives else 1.0,
        unrelated_fp_rate=merged_alone / len(alone) if alone else 0.0,
        positives=positives,
        predicted_pairs=predicted,
        true_pairs_found=true_found,
    )
