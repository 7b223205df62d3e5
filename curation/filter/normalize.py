"""Text normalisation for the fastText math classifier, shared by training and inference.

DeepSeekMath (Shao et al. 2024, Sec. 2.1) trains fastText on normalised text; the exact steps are
not published, so these are ours, chosen for two reasons:

* fastText splits on whitespace. Chinese has no spaces, so a whole sentence would be one unseen
  token; every CJK character becomes its own token, and ``wordNgrams`` then sees character
  bigrams, which is how Chinese math words (方程, 函数, 三角形) reach the model.
* Formulas are the strongest signal and should not depend on spacing: LaTeX commands, operators
  and brackets become separate tokens (``x^{2}+1`` -> ``x ^ { 0 } + 0``), and digit runs collapse
  to ``0`` so that the vocabulary stays small and numbers in any script look alike.
"""

from __future__ import annotations

import re
import unicodedata

# Long documents carry no extra signal for a topic classifier but cost time: score the head.
MAX_CHARS = 20_000

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af"
_TOKEN = re.compile(
    rf"\\[a-zA-Z]+"  # LaTeX command
    rf"|[{_CJK}]"  # one CJK character
    r"|\d+(?:[.,]\d+)*"  # a number
    rf"|[^\s\d{_CJK}\\\W_]+"  # a run of letters (any script)
    r"|[^\s\w]|_"  # any single symbol, punctuation or operator
)
# A number token (the _TOKEN alternative above); every token that starts with a digit is one.
_NUMBER_RUN = re.compile(r"\d+(?:[.,]\d+)*")

# Structural cues. Whether a page is math is partly a matter of *how much* formula it holds (the
# dev labels count formulas), which a bag of words averages away; so the normaliser prepends a few
# bucketed count tokens, repeated in proportion to the document's length so that their weight in
# fastText's averaged embedding does not vanish in long pages.
# Spans are bounded (as in math_features): an unbounded ``.+?`` rescans the rest of the text from
# every opener that has no closer, so 20,000 characters of ``\\(`` took a second (issue 9). A
# ``\\(`` or ``\\[`` span also ends its search at the next opener of its kind (TeX does not nest
# them), so unclosed openers cost a few characters each, not the bound: 10,000 ``\\[`` took
# 0.2 s, now 1 ms. On 7,302 dev/mix texts and TeX books the spans differ on 19, GAP manual pages
# whose operation ``\\[\\]`` had opened a bogus span up to the next one.
# math_features counts its backslash spans with the same two patterns.
TEX_PAREN_SPAN = r"\\\((?:(?!\\\().){1,400}?\\\)"
TEX_BRACKET_SPAN = r"\\\[(?:(?!\\\[).){1,2000}?\\\]"
_TEX_SPAN = re.compile(rf"\$\$.{{1,2000}}?\$\$|\$[^$\n]{{1,400}}\$|{TEX_PAREN_SPAN}|{TEX_BRACKET_SPAN}"
                       r"|\\begin\{(?:equation|align|gather|multline|eqnarray)", re.S)
_UNI_MATH = re.compile("[\u2200-\u22ff\u2190-\u21ff\u27e8-\u27e9\u2a00-\u2aff\u2102\u2115\u211a\u211d\u2124"
                       "\u03b1-\u03c9\u0391-\u03a9\u00b1\u00d7\u00f7\u00b2\u00b3\u221a\u2212]")
# A line that reads as an equation ("x = 3", "f(n) <= 2n") or a Maxima prompt ("(%i1)"). The
# lookahead, a necessary condition of the second alternative (an operator later on the line, or
# after only whitespace on the next ones), fails a line without one in a single possessive scan,
# where the 80-character prefix was backtracked position by position: half the cost (0.12 ->
# 0.06 ms on a 4,000-character window), the same matches on 2,300 dev and generic web texts.
_EQ_LINE = re.compile(r"^(?:\s*\(%[io]\d+\)"
                      r"|(?=[^\n=<>≤≥]*+(?:[=<>≤≥]|\n\s*[=<>≤≥]))[^\n]{0,80}\b[a-zA-Z]\w{0,3}\s*[=<>≤≥]\s*[-\w(])", re.M)
_BUCKETS = (0, 1, 2, 3, 6, 11, 31)
CUE_WEIGHT = 0.05


def _bucket(n: int) -> int:
    return max(i for i, lo in enumerate(_BUCKETS) if n >= lo)


def cue_tokens(text: str) -> list[str]:
    """Presence-only: a page without TeX gets no token, so plain-text math (Chinese exam
    questions, Unicode formulas) is not pushed toward "nonmath" by an "absent" token."""
    counts = {
        "tex": len(_TEX_SPAN.findall(text)),
        "uni": len(_UNI_MATH.findall(text)) // 3,
        "eql": len(_EQ_LINE.findall(text)),
    }
    return [f"__{name}{_bucket(n)}__" for name, n in counts.items() if n > 0]


def normalize(text: str | None, max_chars: int = MAX_CHARS) -> str:
    """One line of space-separated lowercase tokens; empty for empty input."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text[:max_chars]).lower()
    # Numbers fold to "0" in the text before tokenising: the same tokens as folding each number
    # token, since no other token can start with a digit, at half the cost (no per-token Python).
    tokens = _TOKEN.findall(_NUMBER_RUN.sub("0", text))
    repeat = 1 + int(CUE_WEIGHT * len(tokens))
    cues = [cue for cue in cue_tokens(text) for _ in range(repeat)]
    return " ".join([*cues, *tokens])
