"""Text normalisation and tokenisation for benchmark matching.

Plain n-gram matching misses items whose LaTeX or spacing was reformatted, so both the benchmark
items and the documents go through the same canonical form before n-grams are taken:

* NFKC (full-width digits, ligatures, subscript digits in Lean), then case folding;
* GSM8K calculator annotations ``<<48/2=24>>`` dropped (no web copy keeps them);
* thousands separators dropped (``2,019`` and TeX's ``2{,}019`` -> ``2019``): a copy writes the
  number either way; ``1, 2, 3`` and ``(1,2)`` stay lists; small numbers spelled out become digits
  (``five`` -> ``5``, up to twenty) and decimals lose trailing zeros (``3.50`` -> ``3.5``);
* LaTeX: ``\\dfrac``/``\\tfrac`` -> ``\\frac``, unbraced arguments braced (``\\frac12`` ->
  ``\\frac{1}{2}``, ``\\sqrt2`` -> ``\\sqrt{2}``), and layout-only commands (``\\left``,
  ``\\displaystyle``, ``\\text``, spacing such as ``\\,`` and ``\\quad``, ``\\cdot``/``\\times``
  which web copies often write as ``*``) removed;
* punctuation, braces, ``$`` and ``\\( \\) \\[ \\]`` delimiters and whitespace carry no token, so
  spacing and optional braces cannot change the token stream.

Tokens are runs of letters/digits (LaTeX command names become words: ``\\frac`` -> ``frac``),
except that every CJK character is a token of its own: Chinese has no spaces, so n-grams over
it are character n-grams (the DESIGN's "n-grams must work on text without spaces").
"""

from __future__ import annotations

import functools
import re
import unicodedata

import numpy as np

# CJK ideographs, kana, hangul, CJK punctuation is excluded (it is punctuation, dropped).
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
TOKEN_RE = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+")
CJK_RE = re.compile(rf"[{_CJK}]")

_CALC_ANNOTATION_RE = re.compile(r"<<[^<>\n]{0,200}>>")
# A comma (or TeX's ``{,}``) between a digit and exactly three digits is a thousands separator;
# a comma followed by a space, or by fewer or more digits, separates list members. The literal
# comes first and the digit before it is a lookbehind after it: the regex engine then searches
# for the literal, 8x faster on comma-rich pages than a leading lookbehind (every document pays it).
_THOUSANDS_RE = re.compile(r",(?<=\d,)(?=\d{3}(?!\d))")
_TEX_THOUSANDS_RE = re.compile(r"\{,\}(?<=\d\{,\})(?=\d{3}(?!\d))")
# Small numbers spelled out ("five apples" in a rewrite of "5 apples") are the same token as their
# digits: the token values map them (``token_hashes``; a regex over every document's text cost
# half the stage's throughput), and ``number_token`` does the same for token strings. Decimals
# lose trailing zeros ("$3.50" written "$3.5"; the literal first, as for thousands separators).
NUMBER_WORD_DIGITS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty".split())}
_TRAILING_ZEROS_RE = re.compile(r"\.(?<=\d\.)(\d*?)0+(?!\d)")
_FRAC_ALIAS_RE = re.compile(r"\\[dt]frac(?![a-z])|\\cfrac(?![a-z])")
_BINOM_ALIAS_RE = re.compile(r"\\[dt]binom(?![a-z])")
# One TeX argument: a braced group without nesting, a command, or a single character.
_ARG = r"(\{[^{}]*\}|\\[a-z]+|[^\s{}\\])"
_TWO_ARG_RE = re.compile(rf"\\(frac|binom)(?![a-z])\s*{_ARG}\s*{_ARG}")
_ONE_ARG_RE = re.compile(rf"\\(sqrt)(?![a-z])\s*(?!\[){_ARG}")
# Layout-only commands: dropped with the backslash so that their names do not become tokens.
_DROP_COMMANDS = (
    "left right big bigg bigl bigr biggl biggr displaystyle textstyle text textrm textbf textit "
    "mathrm mathbf mathit mathsf mathtt mbox operatorname quad qquad cdot times limits nolimits "
    "mathbb"
).split()
_DROP_RE = re.compile(r"\\(?:" + "|".join(sorted(_DROP_COMMANDS, key=len, reverse=True)) + r")(?![a-z])")
# Synonymous relation commands written either way in the wild.
_ALIASES = {"leq": "le", "geq": "ge", "neq": "ne", "leqslant": "le", "geqslant": "ge"}
_ALIAS_RE = re.compile(r"\\(" + "|".join(_ALIASES) + r")(?![a-z])")


def _brace(arg: str) -> str:
    return arg if arg.startswith("{") else "{" + arg + "}"


def canonical_text(text: str) -> str:
    """The canonical form of ``text`` (lower case, LaTeX variants unified); tokens come from it."""
    if not text.isascii():
        # The no-break space is the usual reason a page is not NFKC already; replacing it first
        # lets the cheap check spare most pages the full normalisation.
        text = text.replace("\xa0", " ")
        if not unicodedata.is_normalized("NFKC", text):
            text = unicodedata.normalize("NFKC", text)
    text = text.lower()
    if "<<" in text:
        text = _CALC_ANNOTATION_RE.sub(" ", text)
    if "," in text:
        text = _THOUSANDS_RE.sub("", text)
        if "{,}" in text:
            text = _TEX_THOUSANDS_RE.sub("", text)
    if "." in text:
        text = _TRAILING_ZEROS_RE.sub(lambda m: "." + m.group(1) if m.group(1) else "", text)
    if "\\" in text:
        text = _FRAC_ALIAS_RE.sub(r"\\frac", text)
        text = _BINOM_ALIAS_RE.sub(r"\\binom", text)
        text = _ALIAS_RE.sub(lambda m: "\\" + _ALIASES[m.group(1)], text)
        text = _DROP_RE.sub(" ", text)
        text = _TWO_ARG_RE.sub(lambda m: f"\\{m.group(1)}{_brace(m.group(2))}{_brace(m.group(3))}", text)
        text = _ONE_ARG_RE.sub(lambda m: f"\\{m.group(1)}{_brace(m.group(2))}", text)
    return text


def number_token(token: str) -> str:
    """``5`` for ``five``: the token a spelled-out small number stands for (else the token)."""
    return NUMBER_WORD_DIGITS.get(token, token)


def tokenize(text: str) -> list[str]:
    """Normalised tokens of ``text``: words, numbers, command names, single CJK characters."""
    return TOKEN_RE.findall(canonical_text(text))


def is_cjk_heavy(tokens: list[str], share: float = 0.3) -> bool:
    """True when at least ``share`` of the tokens are CJK characters."""
    if not tokens:
        return False
    n = sum(1 for t in tokens if len(t) == 1 and CJK_RE.match(t))
    return n >= share * len(tokens)


# ---- vectorised tokenisation: token hashes without one Python string per token ------------------
# Scanning must reach thousands of documents per second per core; creating a str object per token
# costs more than the whole rest of the scan. So documents are tokenised as numpy arrays of code
# points: a class table says word / CJK / separator, and each token's 64-bit value is a polynomial
# hash of its code points, computed from prefix sums. ``token_hashes(canonical_text(s))`` has one
# value per element of ``tokenize(s)``, equal to ``token_hash`` of that token.

_CLASS_TABLE: np.ndarray | None = None
_CHAR_BASE = 0x100000001B3  # FNV prime: odd, so invertible mod 2**64
_CHAR_INV = pow(_CHAR_BASE, -1, 2**64)
_CPOW = np.ones(1, dtype=np.uint64)
_CINV = np.ones(1, dtype=np.uint64)
_MIX = np.uint64(0x9E3779B97F4A7C15)


def _class_table() -> np.ndarray:
    """0 separator, 1 word character (``str.isalnum``, as ``[^\\W_]`` in ``re``), 2 CJK."""
    global _CLASS_TABLE
    if _CLASS_TABLE is None:
        table = np.fromiter((chr(c).isalnum() for c in range(0x110000)), dtype=np.uint8, count=0x110000)
        for lo, hi in ((0x3040, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0xAC00, 0xD7AF)):
            table[lo : hi + 1] = 2
        _CLASS_TABLE = table
    return _CLASS_TABLE


def _char_powers(count: int) -> tuple[np.ndarray, np.ndarray]:
    global _CPOW, _CINV
    if len(_CPOW) < count:
        size = max(count, 2 * len(_CPOW), 1 << 16)
        _CPOW = np.concatenate(([np.uint64(1)], np.cumprod(np.full(size - 1, _CHAR_BASE, dtype=np.uint64))))
        _CINV = np.concatenate(([np.uint64(1)], np.cumprod(np.full(size - 1, _CHAR_INV, dtype=np.uint64))))
    return _CPOW[:count], _CINV[:count]


def token_hashes(canonical: str) -> np.ndarray:
    """64-bit value of every token of an already canonical text (see ``canonical_text``)."""
    return token_hashes_with_starts(canonical)[0]


def token_hashes_with_starts(canonical: str) -> tuple[np.ndarray, np.ndarray]:
    """Token values and the code-point offset where each token starts; a spelled-out small
    number has its digits' value."""
    h, starts = _raw_token_hashes(canonical)
    words, digits = _number_word_values()
    if len(h):
        at = np.minimum(np.searchsorted(words, h), len(words) - 1)
        hit = words[at] == h
        h[hit] = digits[at[hit]]
    return h, starts


@functools.cache
def _number_word_values() -> tuple[np.ndarray, np.ndarray]:
    """(sorted values of the number words, the values of their digits), made once."""
    words = np.array([_raw_token_hashes(w)[0][0] for w in NUMBER_WORD_DIGITS], dtype=np.uint64)
    digits = np.array([_raw_token_hashes(d)[0][0] for d in NUMBER_WORD_DIGITS.values()], dtype=np.uint64)
    order = np.argsort(words)
    return words[order], digits[order]


def _raw_token_hashes(canonical: str) -> tuple[np.ndarray, np.ndarray]:
    if not canonical:
        return np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.int64)
    cps = np.frombuffer(canonical.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    cls = _class_table()[cps]
    word = cls == 1
    cjk = cls == 2
    prev_word = np.concatenate(([False], word[:-1]))
    next_word = np.concatenate((word[1:], [False]))
    starts = np.flatnonzero((word & ~prev_word) | cjk)
    if len(starts) == 0:
        return np.empty(0, dtype=np.uint64), starts
    word_ends = np.append(np.flatnonzero(word & ~next_word) + 1, len(cps))  # + a sentinel for CJK
    # Each token ends at its own position + 1 (CJK) or at the end of its word run.
    ends = np.where(cjk[starts], starts + 1, word_ends[np.searchsorted(word_ends, starts, side="right")])
    pw, inv = _char_powers(len(cps) + 1)
    prefix = np.concatenate((np.zeros(1, np.uint64), np.cumsum((cps.astype(np.uint64) + np.uint64(1)) * pw[: len(cps)])))
    h = (prefix[ends] - prefix[starts]) * inv[starts]
    # Finalise (length and an avalanche step) so that short tokens spread over all 64 bits.
    h ^= (ends - starts).astype(np.uint64) << np.uint64(56)
    h *= _MIX
    h ^= h >> np.uint64(29)
    h[h == 0] = 1  # 0 means "not a benchmark token"
    return h, starts


def token_hash(token: str) -> int:
    """The value ``token_hashes`` gives ``token``."""
    return int(token_hashes(token)[0])
