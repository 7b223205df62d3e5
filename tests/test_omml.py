"""Word's equations (OMML) in HTML saved from Word (curation/extract/omml.py).

The OMML is pandoc 3.9's, written into a .docx for the 49 formulas of the MathJax fixture
(tests/data/README.md). The answer key is MathJax's MathML of the same TeX, converted the same
way (tests/test_mathjax_output.py): pandoc's own MathML converts to worse LaTeX than either
(``\\mathbb{\\mathbb{R}}``). The page test wraps equations the way Word's "Save as Web Page" does:
the OMML in a conditional comment, HTML formatting inside its runs, and a picture for browsers.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

from lxml import html as lxml_html
from test_mathjax_output import RECORDS as MATHJAX_RECORDS
from test_mathjax_output import _answer as mathjax_answer
from test_mathjax_output import _content

from curation.extract.html import extract_html
from curation.extract.mathml import mathml_to_latex
from curation.extract.omml import omml_to_mathml, rewrite_word_equations
from curation.extract.settings import ExtractSettings
from curation.filter.cascade import CascadeGate, markup_cues

FIXTURE = Path(__file__).parent / "data" / "omml_pandoc.jsonl.gz"
with gzip.open(FIXTURE, "rt", encoding="utf-8") as _fh:
    RECORDS = [json.loads(line) for line in _fh]
KEY = {r["tex"]: mathjax_answer(r) for r in MATHJAX_RECORDS if r["mode"] == "svg_local"}


def _tex(omml: str) -> str | None:
    math = omml_to_mathml(lxml_html.fragment_fromstring(omml, create_parent="div"))
    return mathml_to_latex(math)[0] if math is not None else None


def _same(tex: str | None) -> str:
    """_content, and what OMML writes another way: an equation array's alignment marks, and a
    line over or under written as a line (\\overline) rather than a stacked bar."""
    tex = (tex or "").replace("&", "")
    tex = re.sub(r"\\stackrel\{[―‾]\}", r"\\overline", tex)
    tex = re.sub(r"\\underset\{[―‾]\}", r"\\underline", tex)
    return _content(tex)


def test_omml_converts_to_what_mathjax_mathml_does():
    assert len(RECORDS) == 49 and set(KEY) == {r["tex"] for r in RECORDS}
    exact, misses = 0, []
    for r in RECORDS:
        want, got = KEY[r["tex"]], _tex(r["omml"])
        exact += re.sub(r"\s+", "", want) == re.sub(r"\s+", "", got or "")
        if _same(want) != _same(got):
            misses.append((r["tex"], want, got))
    assert not misses, misses
    assert exact >= 35, exact  # measured: 37 of 49 identical


def test_omml_structures():
    by = {r["tex"]: r["omml"] for r in RECORDS}
    assert _tex(by["\\sqrt[3]{x}"]).replace(" ", "") == "\\sqrt[3]{x}"  # m:rad with m:deg
    assert "\\mathbb{R}" in _tex(by["x \\in \\mathbb{R}"])  # m:scr double-struck
    assert "\\mathbf{v}" in _tex(by["\\mathbf{v} \\cdot \\mathbf{w}"])  # bold italic run
    assert _tex(by["\\sum_{i=1}^n x_i"]).replace(" ", "") == "\\sum_{i=1}^{n}{x}_{i}"  # m:nary
    assert "\\genfrac{}{}{0ex}{}{n}{k}" in _tex(by["\\binom{n}{k} = \\frac{n!}{k!(n-k)!}"])  # noBar
    assert "&" not in _tex(by["\\begin{aligned} a &= b + c \\\\ d &= e \\end{aligned}"])  # m:eqArr


# Word's HTML, written after the structure of Word 2016's "Save as Web Page": OMML inside a
# conditional comment, properties and runs wrapped in formatting spans, a picture fallback.
_CAMBRIA = "style='font-family:\"Cambria Math\",serif;mso-ascii-font-family:\"Cambria Math\"'"
WORD_FRACTION = (
    "<!--[if gte msEquation 12]><m:oMath><m:f><m:fPr><span " + _CAMBRIA + "><m:ctrlPr></m:ctrlPr></span></m:fPr>"
    "<m:num><m:sSup><m:sSupPr><span " + _CAMBRIA + "><m:ctrlPr></m:ctrlPr></span></m:sSupPr>"
    "<m:e><m:r><i style='mso-bidi-font-style:normal'><span lang=EN-US " + _CAMBRIA + ">n</span></i></m:r></m:e>"
    "<m:sup><m:r><span lang=EN-US " + _CAMBRIA + ">2</span></m:r></m:sup></m:sSup></m:num>"
    "<m:den><m:r><span lang=EN-US " + _CAMBRIA + ">2</span></m:r></m:den></m:f></m:oMath><![endif]-->"
    "<![if !msEquation]><span style='position:relative;top:6.0pt'><img width=19 height=41 "
    "src=\"notes_files/image001.png\" v:shapes=\"_x0000_i1025\"></span><![endif]>")
WORD_DISPLAY = (
    "<p class=MsoNormal><!--[if gte msEquation 12]><m:oMathPara><m:oMath><m:rad><m:radPr><m:degHide m:val=\"1\"/>"
    "</m:radPr><m:deg></m:deg><m:e><m:r><i><span " + _CAMBRIA + ">x</span></i></m:r><m:r><span " + _CAMBRIA +
    ">+1</span></m:r></m:e></m:rad></m:oMath></m:oMathPara><![endif]--><![if !msEquation]><img width=60 height=30 "
    "src=\"notes_files/image002.png\"><![endif]><o:p></o:p></p>")


def _word_page(body: str) -> str:
    return ("<html xmlns:v=\"urn:schemas-microsoft-com:vml\" xmlns:o=\"urn:schemas-microsoft-com:office:office\" "
            "xmlns:m=\"http://schemas.microsoft.com/office/2004/12/omml\"><head><meta name=Generator "
            "content=\"Microsoft Word 15\"></head><body lang=EN-US><div class=WordSection1>" + body + "</div></body></html>")


def test_a_page_saved_from_word_keeps_its_equations():
    page = _word_page(
        "<h1>Sampling plan</h1>"
        f"<p class=MsoNormal>First determine the initial sample size; n = {WORD_FRACTION} for the fixtures "
        "retrofit, assuming a coefficient of variation of 0.5 as calculated below.</p>"
        "<p class=MsoNormal>The error bound then follows from the square root of the sample size:</p>"
        + WORD_DISPLAY + "<p class=MsoNormal>which is what the plan needs to report.</p>")
    result = extract_html(page, "https://example.edu/plan.htm", ExtractSettings())
    assert result.meta["math_markup"]["word_equation"] == 2
    text = result.text.replace(" ", "")
    assert "$\\frac{{n}^{2}}{2}$" in text
    assert "$$\\sqrt{x+1}$$" in text
    assert "image001" not in result.text and "msEquation" not in result.text
    assert markup_cues(page, 100_000)["word_equation"] == 2
    assert CascadeGate().decide(page).signals["passed_by"] == "markup"


def test_a_comment_that_is_no_equation_is_left_as_it_is():
    page = "<p>a<!--[if gte msEquation 12]><b>no OMML here</b><![endif]-->b</p>"
    assert rewrite_word_equations(page) == (page, 0)
    assert rewrite_word_equations("<p>plain</p>") == ("<p>plain</p>", 0)
