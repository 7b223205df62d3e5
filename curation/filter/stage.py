"""The filter stage: score every document (language, quality signals, math score), then decide.

Scoring is the expensive part (two fastText models and the repetition statistics); ``decide``
reads only the written columns, so re-thresholding a filtered output needs no re-inference
(``FilterStage(settings, rescore=False)`` or ``decide_batch``).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pyarrow as pa

from curation.filter.language import LanguageIdentifier
from curation.filter.math_classifier import MathClassifier
from curation.filter.quality import quality_reason, quality_signals
from curation.filter.settings import FilterSettings
from curation.schema import DOC_SCHEMA, loads_meta
from curation.stage import StageOutput, conform, with_column, with_reasons


def score_batch(batch: pa.RecordBatch, settings: FilterSettings,
                lid: LanguageIdentifier, clf: MathClassifier) -> pa.RecordBatch:
    """Fill ``lang``, ``lang_score``, ``quality`` (JSON, merged into what is there) and ``math_score``."""
    batch = conform(batch, DOC_SCHEMA)
    texts = batch.column("text").to_pylist()
    sources = batch.column("source").to_pylist()
    langs, lang_scores = lid.identify(texts)
    old_quality = batch.column("quality").to_pylist()
    metas = batch.column("meta").to_pylist()
    quality = []
    for text, source, old, meta in zip(texts, sources, old_quality, metas, strict=True):
        sig = loads_meta(old)
        sig.update(quality_signals(text or "", source, settings))
        sig.update(tex_signals(loads_meta(meta)))
        quality.append(json.dumps(sig, sort_keys=True))
    batch = with_column(batch, "lang", pa.array(langs, pa.string()))
    batch = with_column(batch, "lang_score", pa.array(lang_scores, pa.float32()))
    batch = with_column(batch, "quality", pa.array(quality, pa.string()))
    return with_column(batch, "math_score", pa.array(clf.score(texts), pa.float32()))


_TEX_FORMATS = ("tex", "tex_archive")


def tex_signals(meta: dict[str, Any]) -> dict[str, int]:
    """``tex_formulas``: the formulas the books reader counted in a TeX source (TeX marks every
    formula, so the count is exact); nothing for other formats, where math may be unmarked."""
    if meta.get("format") not in _TEX_FORMATS or "n_display" not in meta:
        return {}
    return {"tex_formulas": int(meta.get("n_display", 0)) + int(meta.get("n_inline", 0))}


def decide_row(source: str, lang: str | None, lang_score: float | None, quality: dict[str, Any],
               math_score: float | None, settings: FilterSettings) -> str | None:
    """The reason a scored document is dropped, or None. Order: cheapest, most certain first.

    Length goes before language: lid is unreliable on a few words, and ``too_short`` says more.
    """
    if quality.get("n_chars", 0) == 0:
        return "empty_text"
    if quality.get("n_words", 0) < settings.min_words_for(source):
        return "too_short"
    # Before the classifier's exemption: the classifier reads three formulas as a math page, and
    # scores a package manual with a dozen $..$ symbols at 0.999.
    if quality.get("tex_formulas", settings.min_tex_formulas) < settings.min_tex_formulas:
        return "too_few_formulas"
    sure_math = (math_score or 0.0) >= settings.math_exempt_score
    if source in settings.lang_sources:
        if lang is None:
            return "lang_unknown"
        if lang not in settings.languages:
            return f"lang_not_allowed:{lang}"
        if not sure_math and (lang_score or 0.0) < settings.min_lang_score_for(source):
            return f"lang_score_below_threshold:{lang}"
    reason = None if sure_math else quality_reason(quality, source, settings)
    if reason:
        return reason
    if source in settings.math_sources and (math_score or 0.0) < settings.threshold_for(source):
        return "math_score_below_threshold"
    return None


def decide_batch(batch: pa.RecordBatch, settings: FilterSettings) -> list[str | None]:
    cols = [batch.column(name).to_pylist() for name in ("source", "lang", "lang_score", "quality", "math_score")]
    return [
        decide_row(src, lang, ls, loads_meta(q), ms, settings)
        for src, lang, ls, q, ms in zip(*cols, strict=True)
    ]


class FilterStage:
    """BatchStage: score, then decide. Picklable; models load lazily once per process."""

    name = "filter"

    def __init__(self, settings: FilterSettings | None = None, rescore: bool = True) -> None:
        self.settings = settings or FilterSettings()
        self.rescore = rescore
        self.lid = LanguageIdentifier()
        self.clf = MathClassifier(self.settings.math_model)

    def __call__(self, batch: pa.RecordBatch) -> StageOutput:
        counters: Counter[str] = Counter()
        if self.rescore:
            batch = score_batch(batch, self.settings, self.lid, self.clf)
            counters[f"math_model:{self.clf.name}"] += batch.num_rows
        else:
            batch = conform(batch, DOC_SCHEMA)
        return StageOutput(with_reasons(batch, decide_batch(batch, self.settings)), counters)
