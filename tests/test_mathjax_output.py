"""MathJax 3 renderings without assistive MathML (curation/extract/mathjax_output.py).

The fixture is MathJax 3.2.2's own output (tests/data/README.md): 49 formulas typeset as SVG
with its font cache, SVG without it, and CHTML, each with the assistive MathML MathJax adds by
default. That MathML is the answer key: with it removed, the formula rebuilt from the rendering
must convert to the same LaTeX as MathJax's MathML does.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
from lxml import html as lxml_html

from curation.extract.html import extract_html
from curation.extract.mathjax_output import glyph, rendered_mathml
from curation.extract.mathml import mathml_to_latex
from curation.extract.settings import ExtractSettings
from curation.filter.cascade import CascadeGate, markup_cues

FIXTURE = Path(__file__).parent / "data" / "mathjax3_rendered.jsonl.gz"
ASSISTIVE = re.compile(r"<mjx-assistive-mml.*?</mjx-assistive-mml>", re.S)


def _records() -> list[dict]:
    with gzip.open(FIXTURE, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def _container(markup: str):
    doc = lxml_html.fromstring(f"<html><body><p>{markup}</p></body></html>")
    return next(doc.iter("mjx-container"))


def _answer(record: dict) -> str:
    c = _container(record["html"])
    math = next(m for m in c.iter() if isinstance(m.tag, str) and m.tag.rsplit("}", 1)[-1] == "math")
    return mathml_to_latex(math)[0]


def _rebuilt(markup: str) -> str | None:
    math = rendered_mathml(_container(ASSISTIVE.sub("", markup)))
    return mathml_to_latex(math)[0] if math is not None else None


def _content(tex: str | None) -> str:
    """LaTeX up to what a rendering cannot tell: spacing commands, \\mathrm around a symbol,
    a table's column alignment, which dash draws an overline, and (without a font cache, where
    glyphs name no font) whether a delimiter was sized with \\left and \\right."""
    tex = tex or ""
    tex = re.sub(r"\\(?:left|right)(?![a-zA-Z])", "", tex)
    tex = re.sub(r"\{\\textstyle\s*\}", "", tex)
    tex = re.sub(r"\\mathrm\{(\\?[^{}]{1,12})\}", r"\1", tex)
    tex = re.sub(r"(\\begin\{array\})\{[lcr]+\}", r"\1", tex)
    tex = tex.replace("\u2015", "-").replace("\u2013", "-").replace("\u03f5", "\\epsilon ")
    return re.sub(r"\s+", "", tex)


RECORDS = _records()


def test_fixture_covers_three_renderings():
    modes = {r["mode"] for r in RECORDS}
    assert modes == {"svg_local", "svg_none", "chtml"}
    assert len(RECORDS) == 3 * 49
    # Every record really is a rendering plus MathJax's MathML: the case this module exists for
    # is the same markup with the MathML left out.
    assert all("<mjx-assistive-mml" in r["html"] for r in RECORDS)


@pytest.mark.parametrize("mode", ["svg_local", "svg_none", "chtml"])
def test_rebuilt_formulas_match_mathjax_mathml(mode):
    records = [r for r in RECORDS if r["mode"] == mode]
    exact = 0
    misses = []
    for r in records:
        want, got = _answer(r), _rebuilt(r["html"])
        exact += re.sub(r"\s+", "", want) == re.sub(r"\s+", "", got or "")
        if _content(want) != _content(got):
            misses.append(r["tex"])
    # Without the font cache a glyph names its character but not its font, and MathJax draws
    # \mathcal's L as a plain L of its calligraphic font: that L comes back upright.
    expected = ["\\mathcal{L}(\\theta)"] if mode == "svg_none" else []
    assert misses == expected
    # The LaTeX itself is identical for most formulas (measured: 37-40 of 49; the rest differ
    # in spacing commands, column alignment or delimiter sizing only).
    assert exact >= 0.65 * len(records), exact


def test_mathjax_before_3_2_names_glyphs_only_in_the_href():
    # MathJax 3.0/3.1 wrote <use xlink:href="#MJX-4-TEX-I-1D465"> without data-c.
    records = [r for r in RECORDS if r["mode"] == "svg_local"]
    for r in records:
        old = re.sub(r' data-c="[0-9A-F]+"', "", r["html"])
        assert _rebuilt(old) == _rebuilt(r["html"]), r["tex"]


def test_structure_the_rendering_draws_out_of_mathml_order():
    by = {(r["mode"], r["tex"]): r for r in RECORDS}
    for mode in ("svg_local", "chtml"):
        # A superscript is drawn before its subscript; an outer fraction's denominator comes
        # after the inner fraction's; limits above and below a sum.
        assert _rebuilt(by[(mode, "x_i^2")]["html"]).replace(" ", "") == "{x}_{i}^{2}"
        assert _rebuilt(by[(mode, "\\frac{\\frac{a}{b}}{c}")]["html"]).replace(" ", "") == "\\frac{\\frac{a}{b}}{c}"
        assert _rebuilt(by[(mode, "\\sum_{i=1}^n x_i")]["html"]).replace(" ", "").startswith("\\sum_{i=1}^{n}")
        assert "\\sqrt[3]{x}" in _rebuilt(by[(mode, "\\sqrt[3]{x}")]["html"])
        assert "\\mathbb{R}" in _rebuilt(by[(mode, "x \\in \\mathbb{R}")]["html"])


def test_glyphs_name_their_character_and_alphabet():
    assert glyph("1D465", "I")[:2] == ("x", "italic")
    assert glyph("211D", "D")[:2] == ("R", "double-struck")  # a letterlike symbol filling a gap
    assert glyph("210E", None)[:2] == ("h", "italic")  # Planck's h is the italic h
    assert glyph("1D42F", None)[:2] == ("v", "bold")
    assert glyph("4C", "C")[:2] == ("L", "script")  # \mathcal, drawn from MathJax's own font
    assert glyph("239B", "S4") == ("(", None, True)  # the top piece of a tall parenthesis
    assert glyph("E152", "S4") == ("\u23df", None, True)  # a corner of an underbrace
    assert glyph("zz", None) == ("", None, False)


def test_a_page_typeset_on_the_server_keeps_its_formulas():
    records = [r for r in RECORDS if r["mode"] == "svg_local"]
    body = "\n".join(
        f"<p>It follows that {ASSISTIVE.sub('', r['html'])} for every value we consider here.</p>"
        for r in records)
    page = f"<html><body><article><h1>Lecture notes</h1>{body}</article></body></html>"
    result = extract_html(page, "https://example.org/notes", ExtractSettings())
    assert result.meta["math_markup"]["mathjax_rendered"] == len(records)
    assert "$x\\in \\mathbb{R}$" in result.text
    assert "\\frac{a+b}{c}" in result.text
    # Nothing of the drawings is left: no path data, no glyph ids.
    assert "MJX-" not in result.text and "M52 289" not in result.text


def test_a_container_with_no_rendering_is_left_alone():
    assert rendered_mathml(_container("<mjx-container class='MathJax' jax='SVG'><svg></svg></mjx-container>")) is None
    assert rendered_mathml(_container("<mjx-container class='MathJax'><mjx-math></mjx-math></mjx-container>")) is None


def test_gate_passes_a_page_whose_only_math_is_a_rendering():
    formula = ASSISTIVE.sub("", next(r for r in RECORDS if r["mode"] == "chtml")["html"])
    page = f"<html><body><p>Pythagoras: {formula}, shown below.</p></body></html>"
    assert markup_cues(page, 10_000)["mathjax_output"] == 1
    decision = CascadeGate().decide(page)
    assert decision.passed and decision.signals["passed_by"] == "markup"
    # The MathJax script a site loads on every page is no such cue.
    assert markup_cues('<script src="mathjax/tex-chtml.js"></script><p>News</p>', 10_000)["mathjax_output"] == 0
