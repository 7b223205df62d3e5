"""Near-duplicate recall/precision on test sets with known true Jaccard (issue 4's criteria)."""

from __future__ import annotations

import random

import pytest
from conftest import CORPUS, needs_shared

from curation.dedup import synthetic as syn
from curation.dedup.local import near_duplicates
from curation.dedup.settings import DedupSettings


def test_generator_is_seeded_and_jaccard_is_exact() -> None:
    texts = syn.seeded_texts(30, seed=5)
    assert texts == syn.seeded_texts(30, seed=5)
    docs, cases, alone = syn.build(texts, n_pairs=20, seed=1)
    assert (docs, cases) == syn.build(texts, n_pairs=20, seed=1)[:2]
    assert len(docs) == 50 and len(cases) == 20 and len(alone) == 10
    # 10 words -> 6 five-grams; replacing the last word leaves 5 of 7 distinct shingles shared.
    a = "a b c d e f g h i j"
    assert syn.true_jaccard(a, "a b c d e f g h i x") == pytest.approx(5 / 7)
    assert syn.true_jaccard(a, a.upper() + "!") == 1.0
    # Edits produce the kinds of changes the issue lists.
    kinds = {k.split("=")[0] for c in cases for k in c.edits.split(",") if k}
    assert {"insert", "delete", "substitute"} <= kinds
    rng = random.Random(0)
    out, _ = syn.edit("one two\n\nthree four", rng, 0.0, ["x"])
    assert set(out.split()) >= {"one", "two", "three", "four"}


def _check(texts: list[str], n_pairs: int) -> syn.Metrics:
    docs, cases, alone = syn.build(texts, n_pairs=n_pairs, seed=3)
    reasons, _ = near_duplicates([d["id"] for d in docs], [d["text"] for d in docs], None, DedupSettings())
    m = syn.score(reasons, cases, alone, threshold=0.8)
    assert m.positives >= 50, m  # enough pairs above the threshold to measure recall
    assert m.precision >= 0.95, m
    assert m.recall >= 0.90, m
    assert m.unrelated_fp_rate <= 0.01, m
    return m


def test_recall_precision_on_seeded_vocabulary() -> None:
    _check(syn.seeded_texts(500, seed=1), n_pairs=350)


@needs_shared
def test_recall_precision_on_corpus_text() -> None:
    _check(syn.corpus_texts(CORPUS, 1200, seed=2), n_pairs=800)


def test_without_verification_lsh_alone_keeps_recall() -> None:
    texts = syn.seeded_texts(300, seed=4)
    docs, cases, alone = syn.build(texts, n_pairs=200, seed=4)
    reasons, counters = near_duplicates(
        [d["id"] for d in docs], [d["text"] for d in docs], None, DedupSettings(verify=False)
    )
    m = syn.score(reasons, cases, alone)
    assert m.recall >= 0.90 and m.unrelated_fp_rate <= 0.01, m
    assert "verification_dropped_pairs" not in counters
