"""The equation-line cue of the classifier's normaliser keeps its matches after its rewrite.

curation/filter/normalize.py's ``_EQ_LINE`` gained a lookahead (an operator later on the line or
after whitespace) so that lines without one fail fast; the matches must stay those of the
original pattern, which the model was trained with. Random texts over the characters that
matter (letters, digits, operators, spaces, newlines, Maxima prompts) compare the two.
"""

from __future__ import annotations

import random
import re

from curation.filter.normalize import _EQ_LINE, cue_tokens

ORIGINAL = re.compile(r"^\s*\(%[io]\d+\)|^[^\n]{0,80}\b[a-zA-Z]\w{0,3}\s*[=<>≤≥]\s*[-\w(]", re.M)
ALPHABET = ["x", "ab", "f", "Z9", "_", "1", "42", " ", " ", "  ", "\n", "\n\n", "\t", "=", "<", ">", "≤",
            "≥", "(", ")", "-", "(%i1)", "(%o12)", ".", "é", "π", "word "]


def test_same_matches_as_the_original_pattern_on_random_texts() -> None:
    rng = random.Random(20261125)
    for _ in range(3000):
        text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 120)))
        assert _EQ_LINE.findall(text) == ORIGINAL.findall(text), repr(text)


def test_long_lines_and_operators_on_the_next_line() -> None:
    cases = [
        "y" * 79 + " x = 1",  # the word within the 80-character prefix
        "y" * 85 + " x = 1",  # beyond it
        "x\n\n  = 5\nplain prose without any operator at all\n",
        "  (%i3) integrate(x, x);\n(%o3) x^2/2",
        "a" * 5000 + "\n" + "b = c",
    ]
    for text in cases:
        assert _EQ_LINE.findall(text) == ORIGINAL.findall(text), text[:40]
    assert cue_tokens("x = 3\ny = 4\n") == ["__eql2__"]
