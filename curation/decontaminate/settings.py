"""Settings of the decontamination stage: the benchmark registry and the matching rules.

Every benchmark set in ``data/benchmarks`` (a copy of ``../shared/benchmarks``) has a default
entry; a config may override any entry or add new ones under ``decontaminate.benchmarks``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from curation.settings_base import Settings


class BenchmarkSpec(Settings):
    """One evaluation set: where its items are and which of their text to match."""

    # Files inside the set's folder. ``x.jsonl`` also finds ``x.jsonl.gz``; ``.parquet`` and
    # ``.lean`` (Lean 3 ``theorem`` blocks, statement up to ``:=``) are read too.
    files: list[str] = Field(default_factory=lambda: ["test.jsonl"], min_length=1)
    # Fields matched. n-grams are taken over the fields joined in order, and coverage is judged
    # on the whole item and on each field alone (an item inserted without its solution is still
    # found). A list-valued field (mmlu_stem ``choices``) is joined into one text.
    fields: list[str] = Field(default_factory=lambda: ["question"], min_length=1)
    # The item's own ``idx`` field for the reject reason; its 0-based line number when None
    # (minif2f items are named by their theorem).
    id_field: str | None = None
    language: Literal["en", "zh"] = "en"
    # n-gram length in tokens; None takes ``ngram`` (or ``ngram_zh`` for Chinese) of the stage.
    ngram: int | None = Field(default=None, gt=0)
    # A field shorter than the n-gram is matched exactly (its whole token sequence must appear in
    # the document) when it has at least this many tokens; shorter ones are ignored. None takes
    # the stage's ``short_min_tokens``. 0 switches exact matching off for this set.
    short_min_tokens: int | None = Field(default=None, ge=0)
    # Fields eligible for that exact matching; None means the first field (the problem statement:
    # a bare short answer such as "$10-4n$" says nothing about contamination). The item's fields
    # joined in order are also matched exactly when the whole item is short.
    exact_fields: list[str] | None = None


def _spec(fields: list[str], **kw: object) -> BenchmarkSpec:
    return BenchmarkSpec(fields=fields, **kw)


def default_benchmarks() -> dict[str, BenchmarkSpec]:
    """Defaults for every set in ``../shared/benchmarks`` (field names from its README)."""
    return {
        "gsm8k": _spec(["question", "answer"], id_field="idx"),
        "math": _spec(["problem", "solution"], id_field="idx"),
        "math500": _spec(["problem", "solution"]),
        "svamp": _spec(["Body", "Question"], id_field="idx"),
        "asdiv": _spec(["body", "question"], id_field="idx"),
        "mawps": _spec(["input"], id_field="idx"),
        # Questions like "A frameshift mutation is created when" and one-word choices are
        # everyday prose: exact matching of short fields would flag ordinary text.
        "mmlu_stem": _spec(["question", "choices"], short_min_tokens=0),
        "mathqa": _spec(["problem", "rationale"]),
        "ocw": _spec(["problem", "solution"], id_field="idx"),
        "sat_math": _spec(["question", "options"]),
        "cmath": _spec(["question"], language="zh"),
        "cn_middle_school": _spec(["question"], id_field="idx", language="zh"),
        "gaokao2023en": _spec(["question", "answer"]),
        "aime24": _spec(["problem", "solution"]),
        "amc23": _spec(["problem"]),
        "college_math": _spec(["question", "answer"]),
        "olympiadbench": _spec(["question", "solution"]),
        "minif2f": _spec(["statement"], files=["test.lean", "valid.lean"], id_field="name"),
    }


class DecontaminateSettings(Settings):
    # Word n-gram length. lm-eval-harness (GPT-3 paper, appendix C) and FineMath use 13-grams;
    # DeepSeekMath (sec. 2.1) 10-grams, MegaMath and datatrove 12. Our tokens are finer than
    # words (a formula splits into symbols), so the longer 13 keeps formula runs specific.
    ngram: int = Field(default=13, gt=0)
    # Character n-grams for Chinese sets. Chinese exam boilerplate such as
    # "下列四个数中，最小的数是" is 11 characters; 20 characters (about 10 words) is the Chinese
    # counterpart of DeepSeekMath's 10 words.
    ngram_zh: int = Field(default=20, gt=0)
    # DeepSeekMath (sec. 2.1): "for benchmark texts shorter than 10-grams but with at least 3
    # grams, we use exact matching". Three of our finer tokens ("compute 8 4") are too generic;
    # 6 keeps the rule for short problems such as "Find the greatest common divisor of 10!+2 and
    # 11!+8" (10 tokens) without flagging three-word phrases.
    short_min_tokens: int = Field(default=6, ge=0)
    # An item is in a document when matched n-grams cover at least this share of the tokens of
    # the item, or of one of its fields long enough to hold an n-gram (Llama 2, Touvron et al.
    # 2023, appendix A.6: a sample is "dirty" above 80% token coverage). Any single shared n-gram
    # (DeepSeekMath) flags templated rewrites: GSM8K train problems reuse ASDiv/MAWPS/GSM8K test
    # stories with other names and numbers ("bought stamps at the post office...").
    min_coverage: float = Field(default=0.8, gt=0, le=1)
    # An n-gram (or a short item matched exactly) counts only with at least this many word tokens
    # (2+ characters with a letter, or a CJK character): runs of numbers and one-letter variables
    # ("1 1 2 1 1 3 3 1", "f n f n 1") are shared by unrelated math text.
    min_words: int = Field(default=3, ge=0)
    # Share of an item's numbers that must occur near the matched text. Copies (verbatim or
    # reformatted) keep the numbers; templated rewrites change them, and on the development
    # corpus they reach 0.77 token coverage on n-grams alone (GSM8K train vs ASDiv test).
    min_number_agreement: float = Field(default=0.5, ge=0, le=1)
    # remove-document drops the document; remove-span keeps it without the lines the matched
    # n-grams cover (a document left with fewer than ``min_chars_after_span`` chars is dropped).
    mode: Literal["remove-document", "remove-span"] = "remove-document"
    min_chars_after_span: int = Field(default=200, ge=0)
    # Example snippets per benchmark in the contamination table of the stats.
    max_examples: int = Field(default=5, ge=0)
    benchmarks: dict[str, BenchmarkSpec] = Field(default_factory=default_benchmarks)
    # Also match every sub-folder of the benchmarks folder that ``benchmarks`` does not name, with
    # a spec inferred from its data (curation/decontaminate/discover.py): a set dropped into the
    # folder is used, not silently left out. False reads the registered sets only.
    discover: bool = True

    @model_validator(mode="after")
    def _names_are_reason_safe(self) -> DecontaminateSettings:
        for name in self.benchmarks:
            if not name or ":" in name:
                raise ValueError(f"benchmark name {name!r} must be non-empty and contain no ':'")
        return self

    def ngram_for(self, spec: BenchmarkSpec) -> int:
        if spec.ngram is not None:
            return spec.ngram
        return self.ngram_zh if spec.language == "zh" else self.ngram

    def exact_fields_for(self, spec: BenchmarkSpec) -> list[str]:
        return spec.fields[:1] if spec.exact_fields is None else spec.exact_fields

    def short_min_for(self, spec: BenchmarkSpec) -> int:
        return self.short_min_tokens if spec.short_min_tokens is None else spec.short_min_tokens
