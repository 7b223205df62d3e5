"""Cheap formula counts on extracted text, the inputs of the math head (curation/filter/math_head.py).

The dev web labels say "math" when a page's main content holds at least 3 formulas (see
../shared/corpus/README.md); a fastText bag of words averages its tokens, so it learns the
*topic* (a page about a special function) but cannot count (one formula or ten). These features
count on the extracted text only, so that they mean the same for web pages, books, forum posts,
code and the cascade gate's cheap extraction:

* ``formulas``: ``$..$`` and ``$$..$$`` spans (curation/extract/html.py writes every HTML math
  markup, MathJax, MathML, KaTeX, img alt, as ``$..$``/``$$..$$``), ``\\(..\\)``, ``\\[..\\]`` and
  display environments (TeX sources, forum posts), plus Maxima ``(%iN)`` input lines that hold
  an operator: one generic count of formulas, whatever their markup, so that what the head learns
  about "3 formulas" on one site carries over to a site that writes formulas differently;
* ``plain_ops``: relations between operands (``x = 2``, ``a<b``) and operator fragments (``x^2``,
  ``2*x``, ``a_i``): formulas written as plain text;
* ``uni_math``: Unicode math symbols, Greek letters and the big-delimiter pieces that hevea's
  display tables leave (Giac's manual);
* the share of CJK characters and the length. The formula counts are set to 0 for CJK text
  (Chinese math is mostly written without ``$``; see ``count_features``).

Per-kind counts (inline vs display, LaTeX commands, ``^{``/``_{``, Maxima lines as their own
feature) were measured and did worse held out by site: a feature that only one site has gets its
weight from that site alone (classifiers/MODEL_CARD.md).

All are regex or ``str.count`` passes over the first ``MAX_CHARS`` characters (the part the
fastText model scores): about 0.3-0.5 ms for a 20k-character page.
"""

from __future__ import annotations

import math
import re

import numpy as np

from curation.filter.normalize import MAX_CHARS, TEX_BRACKET_SPAN, TEX_PAREN_SPAN

FEATURES_VERSION = 2

# Counts are log1p-scaled: the label is a threshold on a count, and the odds of "math" grow with
# the log of the count, not linearly (a page with 100 formulas is not 30x more math than 3).
# Every pattern starts with a literal or a one-character class, with any context check in a
# look-behind *after* it: Python's re then skips ahead cheaply (a pattern that starts with an
# optional or lazy prefix is tried at every position and costs ~10x more).
# ``$..$`` / ``$$..$$`` (an escaped ``\$`` is a currency sign, not a delimiter). Inline spans follow
# Pandoc's tex_math_dollars rule: the opening ``$`` has a non-space character to its right, the
# closing one a non-space to its left and no digit after it; otherwise regex anchors and
# back-references (Apache's ``RewriteRule ^/(.*)$ /$1``) and prices read as formulas. Nor may a
# letter, digit or quote stand right before the opening one: R's ``df$a + df$b``, ``US$5`` and
# matplotlib's ``label="$x$"`` in code are no formulas (scikit-learn and pandas pages in
# bench/unseen_packages.py; the labels skip code).
_DOLLAR = re.compile(r"\$(?<!\\\$)(?<![A-Za-z0-9\"']\$)(?:\$[^$]{1,2000}?\$\$|(?![\s$])[^$\n]{0,400}?(?<![\s\\])\$(?!\d))")
# normalize's spans: each ends its search at the next opener of its kind (see normalize._TEX_SPAN).
_BACKSLASH_MATH = re.compile(rf"{TEX_PAREN_SPAN}|{TEX_BRACKET_SPAN}"
                             r"|\\begin\{(?:equation|align|gather|multline|eqnarray|displaymath)", re.S)
_REPL_LINE = re.compile(r"^(?:>>>|\.\.\.) [^\n]*", re.M)
_UNI_MATH = re.compile("[\u2200-\u22ff\u2190-\u21ff\u27e8\u27e9\u2a00-\u2aff\u2102\u2115\u211a\u211d\u2124"
                       "\u03b1-\u03c9\u0391-\u03a9\u2070-\u209f\u221a\u2212\u239b-\u23af]")
# Latin-1 math signs (± × ÷ ² ³) count only outside runs of Latin-1 symbols and letters: a page
# decoded with the wrong charset (e.g. EUC-KR read as Latin-1) is full of them.
_LATIN1_MATH = re.compile("[\u00b1\u00d7\u00f7\u00b2\u00b3](?<![\u00a0-\u00ff][\u00b1\u00d7\u00f7\u00b2\u00b3])(?![\u00a0-\u00ff])")
# Maxima session input lines with an operator: the label rule's own formula count on Maxima pages.
_MAXIMA = re.compile(r"\(%i\d+\)[^\n]*?[-+*/^=<>]")
# A relation between two operands (``x = 2``, ``a<b``, ``f(x) ≤ 1``): equations, also ``key = value``
# in code and configuration (fastText's logit tells those apart by their words).
_REL = re.compile(r"[=<>≤≥≠](?:(?<=[\w)\]}][=<>≤≥≠])|(?<=[\w)\]}] [=<>≤≥≠]))(?= ?[-\w(])")
# Formulas written in plain text: ``x^2``, ``E(9)^3``, ``2*x``, ``x**2``, ``a_i`` (not ``foo_bar``).
_FRAGMENT = re.compile(r"\^(?<=[\w)]\^)[-\w({]|\*(?<=[\w)]\*)\*?\s?[\w(]|_(?<=(?<!\w)[a-zA-Z]_)(?:\{|\w(?!\w))")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
# A Latin word: 3+ ASCII letters, not a TeX command's name (``\cdot``) nor the tail of a run.
_LATIN_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{3,}")

# ft_logit comes first: count_matrix leaves column 0 for it.
FEATURE_NAMES: tuple[str, ...] = (
    "ft_logit", "formulas", "formulas_ge3", "plain_ops", "uni_math", "cjk_share", "log_chars",
)
LOGIT_CLIP = 9.0
# The CJK share is estimated on the first characters only: it says which script, not how much.
_CJK_SAMPLE = 4000
# Above this share of CJK characters a text is treated as Chinese (or Japanese/Korean) text: the
# seeds' Chinese documents are at 0.2-0.9, English pages with a few CJK names near 0.
CJK_TEXT_SHARE = 0.1
# A text with more CJK characters than Latin words is Chinese text too, whatever its share of all
# characters: a Chinese exam question dense with formulas ("计算: \\sqrt{18}-\\sqrt{12}",
# "下列计算正确的是 A. a^{2} \\cdot a^{5}=a^{10} ...") has a share under 0.1 (21 of
# cn_middle_school's 101 questions), and its formulas without ``$`` made the head call it not math.


def logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return max(-LOGIT_CLIP, min(LOGIT_CLIP, math.log(p / (1 - p))))


def raw_counts(text: str | None, max_chars: int = MAX_CHARS) -> dict[str, int]:
    """Raw counts on the first ``max_chars`` characters (also used by tests and error reading)."""
    t = (text or "")[:max_chars]
    ascii_only = t.isascii()
    inline = display = 0
    # Formulas in code do not count (the label rule skips ``pre``/``code``): drop Python REPL
    # lines, e.g. matplotlib's ``label=r"$I_1$"`` in SciPy's examples.
    m_text = _REPL_LINE.sub("", t) if ">>> " in t else t
    rest = m_text
    if "$" in m_text:
        for m in _DOLLAR.finditer(m_text):
            if m.group().startswith("$$"):
                display += 1
            else:
                inline += 1
        # ``$$\begin{align}..$$`` is one formula: environments are counted outside dollars only.
        rest = _DOLLAR.sub(" ", m_text) if "\\" in m_text else m_text
    if "\\" in rest:
        for m in _BACKSLASH_MATH.finditer(rest):
            if m.group().startswith("\\("):
                inline += 1
            else:
                display += 1
    head = t[:_CJK_SAMPLE]
    return {
        "tex_inline": inline,
        "tex_display": display,
        "uni_math": 0 if ascii_only else len(_UNI_MATH.findall(t)) + len(_LATIN1_MATH.findall(t)),
        "maxima": len(_MAXIMA.findall(t)) if "(%i" in t else 0,
        "relations": len(_REL.findall(t)),
        "fragments": len(_FRAGMENT.findall(t)),
        "cjk": 0 if head.isascii() else len(_CJK.findall(head)),
        "cjk_sample": len(head),
        "latin_words": 0 if head.isascii() else len(_LATIN_WORD.findall(head)),
        "chars": len(t),
    }


# Context kept before the first formula of a later window: the prose that introduces it.
WINDOW_LEAD_CHARS = 2000
# Formula openers are looked for in at most this much of a text (the filter's texts are pages).
_WINDOW_SCAN_CHARS = 2_000_000


def _formula_starts(text: str) -> list[int]:
    """Start offsets of ``$``/``$$`` spans, ``\\(``, ``\\[`` and display environments, in order:
    the patterns ``raw_counts`` counts, without its exclusions (REPL lines, environments inside
    dollars), which only need the count, not where the formulas are."""
    starts = [m.start() for m in _DOLLAR.finditer(text)] if "$" in text else []
    if "\\" in text:
        starts += [m.start() for m in _BACKSLASH_MATH.finditer(text)]
        starts.sort()
    return starts


def scoring_window(text: str | None, max_chars: int = MAX_CHARS) -> str:
    """The ``max_chars`` characters of ``text`` the classifier scores: the head, unless a later
    window holds more formulas, then that window from ``WINDOW_LEAD_CHARS`` before its first.

    The label of a page counts formulas over its whole main content, and long reference pages
    (Eigen's MatrixBase: 19 formulas, the first at character 25,262 of 73,938; scikit-learn's API
    index) keep theirs past the head, which alone scored them 0.001 and 0.002
    (bench/unseen_packages.py). Texts up to ``max_chars`` are returned whole.
    """
    text = text or ""
    if len(text) <= max_chars:
        return text
    starts = _formula_starts(text[:_WINDOW_SCAN_CHARS])
    head_count = sum(1 for p in starts if p < max_chars)
    best_count, best_start = head_count, 0
    reach = max_chars - WINDOW_LEAD_CHARS
    j = 0
    for i, p in enumerate(starts):
        # formulas in [p, p + reach): the window [p - lead, p - lead + max_chars) holds them all
        while j < len(starts) and starts[j] < p + reach:
            j += 1
        if j - i > best_count:
            # Near the end the window starts earlier, to stay max_chars long.
            best_count, best_start = j - i, max(0, min(p - WINDOW_LEAD_CHARS, len(text) - max_chars))
    return text[best_start:best_start + max_chars]


def count_features(text: str | None, max_chars: int = MAX_CHARS) -> dict[str, float]:
    """Every feature but ``ft_logit``."""
    c = raw_counts(text, max_chars)
    cjk_share = c["cjk"] / c["cjk_sample"] if c["cjk_sample"] else 0.0
    if c["cjk"] > c["latin_words"]:
        cjk_share = max(cjk_share, CJK_TEXT_SHARE)  # Chinese text (the fallback keys on the share)
    # The formula counts speak only for non-CJK text: Chinese math is mostly written without
    # ``$`` (cmath, cn_middle_school), so "no TeX" says nothing there, and the head would
    # otherwise learn on English web pages that it means "not math" (measured: cn_middle_school
    # recall 0.73 -> 0.53 without this gate).
    formulas = c["tex_inline"] + c["tex_display"] + c["maxima"] if cjk_share < CJK_TEXT_SHARE else 0
    return {
        "formulas": math.log1p(formulas),
        # The label's own threshold (>= 3 formulas) as an indicator: log1p alone makes no step.
        "formulas_ge3": float(formulas >= 3),
        "plain_ops": math.log1p(c["relations"] + c["fragments"]),
        "uni_math": math.log1p(c["uni_math"]),
        "cjk_share": cjk_share,
        "log_chars": math.log1p(c["chars"]),
    }


def count_matrix(texts: list[str | None], max_chars: int = MAX_CHARS) -> np.ndarray:
    """Rows in ``FEATURE_NAMES`` order with the counts; column 0 (``ft_logit``) is left 0, so that
    the evaluation computes the counts once and fills in each fold's fastText score."""
    out = np.zeros((len(texts), len(FEATURE_NAMES)), dtype=np.float64)
    for i, text in enumerate(texts):
        feats = count_features(text, max_chars)
        out[i, 1:] = [feats[name] for name in FEATURE_NAMES[1:]]
    return out


def with_logit(counts: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """``counts`` (from ``count_matrix``) with column 0 set to the fastText P(math) as a logit."""
    x = counts.copy()
    x[:, 0] = [logit(float(p)) for p in probs]
    return x


def feature_matrix(texts: list[str | None], probs: np.ndarray, max_chars: int = MAX_CHARS) -> np.ndarray:
    """Rows in ``FEATURE_NAMES`` order: the fastText P(math) as a logit, then the counts."""
    return with_logit(count_matrix(texts, max_chars), probs)
