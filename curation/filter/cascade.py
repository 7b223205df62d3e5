"""Coarse-to-fine gate for web pages: cheap signals decide which pages get the expensive extractor.

On a real crawl almost no page is math (MegaMath, Zhou et al. 2025, Sec. 2.1, filters Common
Crawl coarse-to-fine for this reason), while the math-preserving extractor runs at tens of pages
per second per core. The gate looks at

1. raw-HTML math *content* cues (MathML, KaTeX, ``math/tex`` scripts, TeX delimiters, Sphinx
   ``class="math"``, LaTeX image services). A site-wide MathJax ``<script>`` alone is recorded
   but does not pass a page: documentation sites load it on every page;
2. a cheap extraction (resiliparse's text of the whole page) scored by the math classifier:
   first fastText alone on a short window (the prescore), which fails most pages of a crawl
   at a third of the cost, then the full classifier on the pages it does not fail.

A page passes on its markup (``pass_on_markup``): any cue whose math the cheap text cannot see,
or at least ``min_text_formulas`` TeX spans; otherwise when its cheap score reaches
``gate_threshold``. bench/bench_cascade.py measures the gate's recall against the full path.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

import ahocorasick_rs

from curation.filter.math_classifier import MathClassifier
from curation.filter.math_features import scoring_window
from curation.filter.settings import CascadeSettings, FilterSettings

# Case-insensitive cues are bytes patterns in lowercase, matched on the page's UTF-8 bytes
# lowercased as ASCII (``markup_cues`` makes them once for the literal scan): without ``re.I`` the
# engine searches a literal prefix fast, which made Sphinx's ``class="..math.."`` count 5x cheaper
# (0.39 -> 0.08 ms a page on the 5%-math mix), with the same counts on the dev crawl and the mix.
_LOWERED_CUES: dict[str, re.Pattern[bytes]] = {
    "mathml": re.compile(rb"<math[\s>]"),
    "katex": re.compile(rb"class=\"[^\"]*\bkatex\b"),
    "tex_script": re.compile(rb"type=\"?math/(?:tex|mml)"),
    "tex_annotation": re.compile(rb"application/x-tex"),
    "math_class": re.compile(rb"class=\"[^\"]*\bmath\b"),
    "latex_img": re.compile(rb"codecogs|latex\.php|mimetex|/math/render/|wp\.com/latex|/render/math\?|equation\?tex=|/filter/tex/pix\.php"),
    # Pages made by LaTeX-to-HTML converters, whose formulas carry no math markup (hevea and
    # GAPDoc: curation/extract/math_dom.py turns their math into $..$; LaTeX2HTML, TeX4ht).
    "tex_generator": re.compile(rb"<meta[^>]*(?:hevea|latex2html|tex4ht|gapdoc)"),
    # <img> classes of LaTeX renderers (WordPress, Quill, MediaWiki fallbacks): their alt is TeX.
    "tex_img_class": re.compile(rb"class=\"[^\"]*\b(?:latex|tex|mathtex|wp-latex|ql-img-inline-formula|tex-image|lateximg|texrender)\b"),
    # <img alt="$x^2$">: an alt text that is a delimited formula (Doxygen's formula images,
    # LaTeX2HTML), whatever the image's class.
    "tex_img_alt": re.compile(rb"\balt=\"\$[^\"<>]{1,400}?\$\""),
    # Editors and renderers that keep the source in an attribute and show glyphs or an image:
    # MathType/WIRIS ``data-mathml``, MathJax 4 ``data-latex``, Quill, MathQuill.
    "source_attr": re.compile(rb"data-mathml=|data-latex=|class=\"[^\"]*\b(?:ql-formula|mq-math-mode)\b"),
    # MathJax 3's output containers, written only where a formula was typeset (server-side or
    # in a saved page): their glyphs are drawings, invisible to the cheap text.
    "mathjax_output": re.compile(rb"<mjx-container[\s>]"),
    # Word's equations (OMML), kept in conditional comments the cheap text never reads.
    "word_equation": re.compile(rb"<!--\[if gte msequation"),
}
# Case-sensitive cues (TeX delimiters), matched on the page's text.
_CASED_CUES: dict[str, re.Pattern[str]] = {
    "tex_inline": re.compile(r"\\\((?:(?!\\\)).){1,200}\\\)", re.S),
    "tex_display": re.compile(r"\\\[(?:(?!\\\]).){1,400}\\\]|\$\$[^$]{1,400}\$\$|\\begin\{(?:equation|align)", re.S),
}
_CONTENT_CUES: dict[str, re.Pattern] = {**_LOWERED_CUES, **_CASED_CUES}
# Lowercase literal substrings, one of which must occur in the lowercased page for the cue's
# regex to match: all of them are found in one pass (``_literals_present``), far cheaper than the
# regex scans, and on a real crawl almost every page holds none of them.
_PRECHECK: dict[str, tuple[str, ...]] = {
    "mathml": ("<math",),
    "katex": ("katex",),
    "tex_script": ("math/tex", "math/mml"),
    "tex_annotation": ("x-tex",),
    "tex_inline": ("\\(",),
    "tex_display": ("\\[", "$$", "\\begin{"),
    # The class value ends at a quote or a space after "math" ("mathjax" alone is not a cue).
    "math_class": ('math"', "math ", "math'"),
    "latex_img": ("codecogs", "latex.php", "mimetex", "/math/render/", "wp.com/latex", "/render/math?",
                  "equation?tex=", "/filter/tex/pix.php"),
    "tex_img_class": ("latex", "ql-img", "tex-image", '"tex"', '"tex ', ' tex"', "texrender"),
    "tex_generator": ("hevea", "latex2html", "tex4ht", "gapdoc"),
    # One spelling (double quotes, dollars), as the regex.
    "tex_img_alt": ('alt="$',),
    "source_attr": ("data-mathml=", "data-latex=", "ql-formula", "mq-math-mode"),
    "mathjax_output": ("<mjx-container",),
    "word_equation": ("msequation",),
}
# Cues whose formulas stay in resiliparse's text (TeX delimiters, Sphinx math elements), so
# the gate's classifier sees them; every other content cue hides its math from the cheap text.
_TEXT_CUES = ("tex_inline", "tex_display", "math_class")
_SITE_CUES: dict[str, tuple[str, ...]] = {
    "mathjax_script": ("mathjax",),
    "katex_script": ("katex.js", "katex.min.js"),
}


@dataclass
class GateDecision:
    passed: bool
    signals: dict[str, Any] = field(default_factory=dict)
    fast_text: str = ""


_LITERALS = sorted({lit for lits in (*_PRECHECK.values(), *_SITE_CUES.values()) for lit in lits})


@functools.cache
def _literal_finder() -> ahocorasick_rs.BytesAhoCorasick:
    """One Aho-Corasick automaton (a DFA; the Rust crate's SIMD prefilter) over every literal.

    Every literal is ASCII, so the search runs on the page's UTF-8 bytes lowercased as ASCII (a
    third of the cost of ``str.lower`` on pages with any character beyond Latin-1). One pass finds
    them all: on the 163 held-out generic web pages (151k characters each) 0.15 ms a page, where
    the 35 ``in`` scans it replaces, skipping literals whose root ("math", "latex") was absent,
    took 1.33 ms, a third of the gate (bench/generic_web.py).
    """
    return ahocorasick_rs.BytesAhoCorasick([lit.encode("ascii") for lit in _LITERALS],
                                           implementation=ahocorasick_rs.Implementation.DFA)


def _literals_present(low: bytes) -> set[str]:
    # Overlapping matches: "math/tex" must be found where "math" also matches.
    return {_LITERALS[i] for i, _, _ in _literal_finder().find_matches_as_indexes(low, overlapping=True)}


def markup_cues(html: str, scan_bytes: int) -> dict[str, int]:
    head = html[:scan_bytes]
    low = head.encode("utf-8", "ignore").lower()
    present = _literals_present(low)
    cues = {
        name: len(rx.findall(low if name in _LOWERED_CUES else head))
        if any(lit in present for lit in _PRECHECK[name]) else 0
        for name, rx in _CONTENT_CUES.items()
    }
    cues.update({name: int(any(lit in present for lit in lits)) for name, lits in _SITE_CUES.items()})
    return cues


def cheap_text(html: str) -> str:
    """resiliparse's text of the whole raw page (no main-content heuristics).

    Only pages without any math-markup cue are scored (the others pass on markup), so the math
    rewriting of ``curation.extract.html.extract_fast`` would find nothing to rewrite. Without
    main-content detection the text costs half as much and the gate's recall is higher: on the
    dev crawl 0.999 against 0.992 at the same pass rate (bench/bench_cascade.py), since the
    main-content rules drop the formula lines of manuals the gate is there to catch.
    """
    from resiliparse.extract.html2text import extract_plain_text

    return extract_plain_text(html, preserve_formatting=True, main_content=False, alt_texts=False)


class CascadeGate:
    """Picklable; the classifier loads on first use."""

    def __init__(self, settings: FilterSettings | None = None) -> None:
        settings = settings or FilterSettings()
        self.cfg: CascadeSettings = settings.cascade
        self.clf = MathClassifier(settings.math_model)

    def decide(self, html: str) -> GateDecision:
        if not self.cfg.enabled:
            return GateDecision(True, {"gate": "disabled"}, "")
        cues = markup_cues(html or "", self.cfg.scan_bytes)
        content_cues = sum(cues[name] for name in _CONTENT_CUES)
        in_text = sum(cues[name] for name in _TEXT_CUES)
        by_markup = self.cfg.pass_on_markup and (
            content_cues > in_text or in_text >= self.cfg.min_text_formulas)
        # A page that passes on markup needs neither cheap text nor score (it is never wrong to
        # pass a page; the full path extracts and scores it again).
        text = ""
        score: float | None = None
        prescore: float | None = None
        if not by_markup:
            text = cheap_text(html) if html else ""
            if not text.strip():
                score = 0.0
            else:
                prescore = self._prescore(text) if self.cfg.prescore_threshold > 0 else None
                failed_early = prescore is not None and prescore < self.cfg.prescore_threshold
                score = prescore if failed_early else self._score(text)
        by_score = score is not None and score >= self.cfg.gate_threshold
        # fast_score is the score the decision rests on: the prescore when it failed the page.
        signals = {"cues": cues, "content_cues": content_cues, "fast_score": score, "prescore": prescore,
                   "passed_by": "markup" if by_markup else ("score" if by_score else None)}
        return GateDecision(by_markup or by_score, signals, text)

    def _prescore(self, text: str) -> float:
        """fastText alone on the ``prescore_chars`` window of the cheap text with the most formulas."""
        n = self.cfg.prescore_chars
        return float(self.clf.fasttext_score([scoring_window(text, n)], max_chars=n)[0])

    def _score(self, text: str) -> float:
        return float(self.clf.score([text], max_chars=self.cfg.score_chars)[0])


_DEFAULT: CascadeGate | None = None


def decide(html: str, settings: FilterSettings | None = None) -> GateDecision:
    """Module-level entry point for the web reader; one gate per process for the default settings."""
    global _DEFAULT
    if settings is not None:
        return CascadeGate(settings).decide(html)
    if _DEFAULT is None:
        _DEFAULT = CascadeGate()
    return _DEFAULT.decide(html)


REJECT_REASON = "cascade_not_math"


class GatedExtractor:
    """The web reader's HTML-to-text step with the gate in front (MegaMath's coarse-to-fine).

    Pages that fail the gate never reach the expensive extractor: they are rejected at extract
    with ``cascade_not_math`` and the gate's signals in ``meta.cascade``, so the recall of the
    gate can be audited from ``rejects/extract``.
    """

    def __init__(self, settings: FilterSettings) -> None:
        self.gate = CascadeGate(settings)

    def __call__(self, html: str, url: str | None, extract_settings: Any) -> Any:
        from curation.extract.html import DocumentRejected, extract_html

        decision = self.gate.decide(html)
        signals = {"passed_by": decision.signals.get("passed_by"),
                   "fast_score": decision.signals.get("fast_score"),
                   "prescore": decision.signals.get("prescore"),
                   "content_cues": decision.signals.get("content_cues")}
        if not decision.passed:
            raise DocumentRejected(REJECT_REASON, {"cascade": signals})
        result = extract_html(html, url, extract_settings)
        result.meta["cascade"] = signals
        return result
