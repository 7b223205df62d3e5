"""Quality signals (scores) and the rules that turn them into reasons (a separate, cheap step).

The repetition signals are Gopher's (Rae et al. 2021, Table A1): line and paragraph duplicates
as datatrove counts them, n-gram repetition on integer ids (curation/filter/repetition.py, the
same numbers as datatrove's GopherRepetitionFilter at a tenth of the cost); words are split so
that a CJK character is one word, which keeps the rules meaningful on Chinese.
"""

from __future__ import annotations

import re
from typing import Any

from curation.filter.repetition import NgramIndex, dup_ngram_chars, find_duplicates, top_ngram_chars
from curation.filter.settings import FilterSettings

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff"
_WORD = re.compile(rf"[{_CJK}]|[^\s{_CJK}]+")
# A word of _WORD without a letter or digit ([^\W_] is str.isalnum). Counted by one regex over
# the words joined one per line (a word holds no whitespace), since a per-word Python test was a
# third of the filter stage's time; a pattern over the text itself, with a lookbehind at every
# position, cost 3x more (0.46 against 0.15 ms a dev document, the same counts on all 1,442).
_SYMBOL_LINE = re.compile(r"^(?:[^\w\n]|_)+$", re.M)
_PARAS = re.compile(r"\n{2,}")
_LINES = re.compile(r"\n+")


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def quality_signals(text: str, source: str, settings: FilterSettings) -> dict[str, Any]:
    """Every signal a rule below may use; cheap ones for every document, costly ones when used."""
    text = text or ""
    ws = words(text)
    lines = text.splitlines() or [""]
    # Gopher counts only words that are not pure punctuation ("non-symbol words").
    n_words = len(ws) - len(_SYMBOL_LINE.findall("\n".join(ws)))
    sig: dict[str, Any] = {"n_chars": len(text), "n_words": n_words, "n_lines": len(lines)}
    if not text.strip():
        return sig
    n = len(text)
    if source in settings.repetition_sources:
        paras = _PARAS.split(text.strip())
        dup, dup_chars = find_duplicates(paras)
        sig["dup_para_frac"] = dup / len(paras)
        sig["dup_para_char_frac"] = dup_chars / n
        rep_lines = _LINES.split(text)
        dup, dup_chars = find_duplicates(rep_lines)
        sig["dup_line_frac"] = dup / len(rep_lines)
        sig["dup_line_char_frac"] = dup_chars / n
    if source in settings.ngram_repetition_sources:
        index = NgramIndex(ws)
        for k in settings.top_ngram_char_frac:
            sig[f"top_{k}_gram_char_frac"] = top_ngram_chars(index, k) / n
        for k in settings.dup_ngram_char_frac:
            sig[f"dup_{k}_gram_char_frac"] = dup_ngram_chars(index, k) / n
    if source in settings.prose_sources:
        stripped = [ln.lstrip() for ln in lines]
        sig["bullet_lines_ratio"] = sum(s.startswith(("•", "-")) for s in stripped) / len(lines)
        sig["ellipsis_lines_ratio"] = sum(s.rstrip().endswith(("...", "…")) for s in stripped) / len(lines)
    if source in settings.code_sources:
        lengths = [len(ln) for ln in lines]
        sig["max_line_length"] = max(lengths)
        sig["avg_line_length"] = sum(lengths) / len(lengths)
        sig["alnum_frac"] = sum(c.isalnum() for c in text) / n
    return sig


def _over(sig: dict[str, Any], key: str, limit: float) -> bool:
    value = sig.get(key)
    return value is not None and value > limit


def quality_reason(sig: dict[str, Any], source: str, settings: FilterSettings) -> str | None:
    """The first rule the document breaks, as a stable reason string; None when it passes."""
    if sig.get("n_chars", 0) == 0 or sig.get("n_words", 0) == 0:
        return "empty_text"
    if sig["n_words"] < settings.min_words_for(source):
        return "too_short"
    if sig["n_words"] > settings.max_words:
        return "too_long"
    if source in settings.repetition_sources:
        for key, limit in (
            ("dup_para_frac", settings.dup_para_frac),
            ("dup_para_char_frac", settings.dup_para_char_frac),
            ("dup_line_frac", settings.dup_line_frac),
            ("dup_line_char_frac", settings.dup_line_char_frac),
        ):
            if _over(sig, key, limit):
                return f"gopher_repetition:{key}"
    if source in settings.ngram_repetition_sources:
        for k, limit in settings.top_ngram_char_frac.items():
            if _over(sig, f"top_{k}_gram_char_frac", limit):
                return f"gopher_repetition:top_{k}_gram"
        for k, limit in settings.dup_ngram_char_frac.items():
            if _over(sig, f"dup_{k}_gram_char_frac", limit):
                return f"gopher_repetition:dup_{k}_gram"
    if source in settings.prose_sources:
        if _over(sig, "bullet_lines_ratio", settings.max_bullet_lines_ratio):
            return "gopher_quality:bullet_lines"
        if _over(sig, "ellipsis_lines_ratio", settings.max_ellipsis_lines_ratio):
            return "gopher_quality:ellipsis_lines"
    if source in settings.code_sources:
        if _over(sig, "max_line_length", settings.code_max_line_length):
            return "code_quality:max_line_length"
        if _over(sig, "avg_line_length", settings.code_max_avg_line_length):
            return "code_quality:avg_line_length"
        alnum = sig.get("alnum_frac")
        if alnum is not None and alnum < settings.code_min_alnum_frac:
            return "code_quality:alnum_frac"
    return None
