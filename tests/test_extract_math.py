"""Math-preserving extraction on small real-world-shaped fixtures, one per markup kind."""

from __future__ import annotations

import re

import pytest

from curation.extract.html import extract_fast, extract_fragment, extract_html
from curation.extract.settings import ExtractSettings

PROSE = "<p>" + "This paragraph is ordinary prose about the topic of the page, long enough to count. " * 4 + "</p>"


def page(body: str, head: str = "") -> str:
    return (
        f"<!DOCTYPE html><html><head><title>Test page</title>{head}</head><body>"
        f"<nav><a href='/'>Home</a> <a href='/about'>About</a></nav>"
        f"<main><article><h1>Lecture notes</h1>{PROSE}{body}{PROSE}</article></main>"
        f"<footer>Copyright 2024 Example Org. All rights reserved.</footer></body></html>"
    )


KATEX = (
    '<p>The energy is <span class="katex"><span class="katex-mathml"><math xmlns="http://www.w3.org/1998/Math/MathML">'
    '<semantics><mrow><mi>E</mi><mo>=</mo><mi>m</mi><msup><mi>c</mi><mn>2</mn></msup></mrow>'
    '<annotation encoding="application/x-tex">E=mc^2</annotation></semantics></math></span>'
    '<span class="katex-html" aria-hidden="true"><span class="base"><span class="mord mathnormal">E</span>'
    '<span class="mrel">=</span><span class="mord mathnormal">m</span><span class="mord"><span class="mord mathnormal">c</span>'
    '<span class="msupsub"><span class="vlist-t"><span class="mord mtight">2</span></span></span></span></span></span></span>'
    ' in this frame.</p>'
    '<span class="katex-display"><span class="katex"><span class="katex-mathml"><math><semantics><mrow><mi>x</mi></mrow>'
    '<annotation encoding="application/x-tex">\\int_0^1 x\\,dx = \\frac{1}{2}</annotation></semantics></math></span>'
    '<span class="katex-html" aria-hidden="true"><span class="mop op-symbol">∫</span>DUPLICATE</span></span></span>'
)


def test_katex_annotation_kept_and_html_duplicate_dropped():
    out = extract_html(page(KATEX)).text
    assert "$E=mc^2$" in out
    assert "$$\\int_0^1 x\\,dx = \\frac{1}{2}$$" in out
    assert "DUPLICATE" not in out
    assert "mc2" not in out.replace(" ", "")  # the rendered copy of E=mc^2 is gone


def test_mathjax_scripts_inline_and_display():
    body = (
        '<p>Let <span class="MathJax_Preview">a</span><span class="MathJax" id="MathJax-Element-1-Frame">'
        'RENDERED</span><script type="math/tex" id="MathJax-Element-1">a^2+b^2=c^2</script> hold.</p>'
        '<div><script type="math/tex; mode=display">\\sum_{k=1}^n k = \\frac{n(n+1)}{2}</script></div>'
    )
    out = extract_html(page(body)).text
    assert "$a^2+b^2=c^2$" in out
    assert "$$\\sum_{k=1}^n k = \\frac{n(n+1)}{2}$$" in out
    assert "RENDERED" not in out


def test_tex_delimiters_in_text_become_dollars_but_not_in_code():
    body = (
        "<p>Sphinx writes <span class='math'>\\(\\alpha_1\\)</span> inline and</p>"
        "<div class='math'>\\[\\beta = \\gamma\\]</div>"
        "<pre>print('\\(not math\\)')</pre>"
    )
    out = extract_html(page(body)).text
    assert "$\\alpha_1$" in out
    assert "$$\\beta = \\gamma$$" in out
    assert "\\(not math\\)" in out


@pytest.mark.parametrize(
    "math, expected",
    [
        # annotation wins over alttext and conversion
        ('<math alttext="wrong"><semantics><mi>y</mi><annotation encoding="application/x-tex">\\sqrt{y}</annotation>'
         "</semantics></math>", "$\\sqrt{y}$"),
        ('<math alttext="\\frac{p}{q}"><mfrac><mi>p</mi><mi>q</mi></mfrac></math>', "$\\frac{p}{q}$"),
        # no annotation, no alttext: presentation MathML is converted
        ("<math><mfrac><mi>a</mi><msup><mi>b</mi><mn>2</mn></msup></mfrac></math>", "$\\frac{a}{{b}^{2}}$"),
        ('<math display="block"><msqrt><mi>x</mi></msqrt></math>', "$$\\sqrt{x}$$"),
        # the Axiom book's XHTML: the namespace is an entity its DOCTYPE declares (unexpanded here)
        ('<math xmlns="&mathml;" display="block"><mstyle><mfrac><mn>139</mn><mn>30</mn></mfrac></mstyle></math>',
         "$$\\frac{139}{30}$$"),
        # <mspace> is a space, not an invisible \\rule
        ("<math><mi>f</mi><mspace width=\"0.5em\"/><mi>i</mi><mspace width=\"0.5em\"/></math>", "$f i$"),
    ],
)
def test_mathml(math, expected):
    out = extract_html(page(f"<p>Consider {math} as shown.</p>")).text
    assert expected in out


def test_xhtml_doctype_with_internal_subset_leaves_no_text_behind():
    html = ('<?xml version="1.0" encoding="UTF-8" ?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.1 plus MathML 2.0//EN"\n'
            '"http://www.w3.org/TR/MathML2/dtd/xhtml-math11-f.dtd" [\n<!ENTITY mathml "http://www.w3.org/1998/Math/MathML">\n]>\n'
            '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>Section 6.5</title></head><body>'
            f'<h2>6.5 One-Line Functions</h2>{PROSE}</body></html>')
    out = extract_html(html).text
    assert out.startswith("6.5 One-Line Functions")
    assert "]>" not in out


def test_wiki_math_uses_tex_once():
    body = (
        '<p>Euler: <span class="mwe-math-element"><span class="mwe-math-mathml-inline mwe-math-mathml-a11y" '
        'style="display: none;"><math xmlns="http://www.w3.org/1998/Math/MathML" alttext="{\\displaystyle e^{i\\pi }+1=0}">'
        "<semantics><mrow><msup><mi>e</mi><mrow><mi>i</mi><mi>π</mi></mrow></msup><mo>+</mo><mn>1</mn><mo>=</mo><mn>0</mn></mrow>"
        '<annotation encoding="application/x-tex">{\\displaystyle e^{i\\pi }+1=0}</annotation></semantics></math></span>'
        '<img src="https://wikimedia.org/api/rest_v1/media/math/render/svg/abc" class="mwe-math-fallback-image-inline" '
        'aria-hidden="true" alt="{\\displaystyle e^{i\\pi }+1=0}"></span> is famous.</p>'
    )
    out = extract_html(page(body)).text
    assert "$e^{i\\pi }+1=0$" in out
    assert out.count("e^{i\\pi }") == 1


def test_img_alt_latex_by_class_and_by_source():
    body = (
        '<p>Sphinx: <img class="math" src="_images/math/1.png" alt="\\sin(x)/x"/> and codecogs '
        '<img src="https://latex.codecogs.com/gif.latex?x^2" alt="x^2+1"/> and a photo '
        '<img src="cat.jpg" alt="a cat"/>.</p>'
    )
    out = extract_html(page(body)).text
    assert "$\\sin(x)/x$" in out
    assert "$x^2+1$" in out
    assert "$a cat$" not in out


@pytest.mark.parametrize(
    "img, expected",
    [
        ('<img src="https://latex.codecogs.com/gif.latex?\\frac{a}{b}" />', "$\\frac{a}{b}$"),
        ('<img src="https://latex.codecogs.com/svg.image?\\dpi{110}&space;\\bg_white&space;x^2&plus;1" alt="equation"/>',
         "$x^2+1$"),
        ('<img src="https://s0.wp.com/latex.php?latex=x%5E2+%2B+y&amp;bg=ffffff&amp;fg=000&amp;s=0" alt="" />', "$x^2 + y$"),
        ('<img src="http://chart.apis.google.com/chart?cht=tx&amp;chl=E%3Dmc%5E2" alt="chart.png"/>', "$E=mc^2$"),
        ('<img src="https://render.githubusercontent.com/render/math?math=e^{i\\pi}%3D-1"/>', "$e^{i\\pi}=-1$"),
        ('<img src="https://www.zhihu.com/equation?tex=%5Cfrac%7B1%7D%7B2%7D" alt="" eeimg="1"/>', "$\\frac{1}{2}$"),
        # the alt text, when it is TeX, wins over the URL
        ('<img src="https://latex.codecogs.com/gif.latex?x^2" alt="x^{2}"/>', "$x^{2}$"),
    ],
)
def test_formula_image_without_tex_alt_takes_the_tex_from_its_url(img, expected):
    out = extract_html(page(f"<p>Recall that {img} holds for every case we consider here.</p>")).text
    assert expected in out


def test_mathworld_formula_images_keep_their_alt():
    body = ('<p>An <img src="https://mathworld.wolfram.com/images/equations/TensorRank/Inline11.gif" '
            'class="inlineformula" width="35" height="15" alt="N×N" /> matrix, with entries '
            '<img src="/images/equations/KroneckerProduct/Inline20.svg" alt="a_(11)B"/> here.</p>'
            '<p><img src="https://mathworld.wolfram.com/images/equations/LogisticMap/NumberedEquation2.gif" '
            'alt="x_(n+1)=rx_n(1-x_n)"/></p>')
    out = extract_html(page(body)).text
    assert "$N×N$" in out and "$a_(11)B$" in out  # by class, then by class-less src on the site
    assert "x_(n+1)=rx_n(1-x_n)" in out


def test_image_of_a_formula_service_with_no_tex_anywhere_is_dropped():
    body = ('<p>See <img class="math" src="/static/eq1.png" alt="equation"/> and '
            '<img src="https://latex.codecogs.com/gif.latex" alt=""/> below.</p>')
    out = extract_html(page(body)).text
    assert "$" not in out


def test_older_sphinx_imgmath_relative_source_and_display_paragraph():
    """CVXOPT's manual: display images carry no class, only a relative ``_images/math/`` source, and
    sit in a <p> inside div.math; the inline one has class math."""
    body = (
        '<p>Affine functions represent vector valued functions of the form</p>'
        '<div class="math"><p><img src="_images/math/e3a5.png" alt="f(x_1,\\ldots,x_n) = A_1 x_1 + b."/></p></div>'
        '<p>where <img class="math" src="_images/math/5b77.png" alt="f"/> is convex; a diagram '
        '<img src="_images/normappr.png" alt="_images/normappr.png"/> follows.</p>'
    )
    out = extract_html(page(body)).text
    assert "$$f(x_1,\\ldots,x_n) = A_1 x_1 + b.$$" in out
    assert "where $f$ is convex" in out
    assert "normappr" not in out


def test_img_alt_that_is_a_delimited_formula_whatever_the_class():
    """Doxygen (formulaInl/formulaDsp) and LaTeX2HTML write alt="$..$"; an amount is no formula."""
    body = (
        '<p>The norm <img class="formulaInl" alt="$\\|x\\|_2$" src="form_0.png"/> of the vector, and '
        '<img src="img12.png" alt="\\(\\alpha_i\\)"/> for each weight, at a price of '
        '<img src="tag.png" alt="$5$"/> only.</p>'
        '<div><img class="formulaDsp" alt="\\[ \\sum_{i=1}^n x_i \\]" src="form_1.png"/></div>'
    )
    out = extract_html(page(body)).text
    assert "$\\|x\\|_2$" in out
    assert "$\\alpha_i$" in out
    assert "$$\\sum_{i=1}^n x_i$$" in out
    assert "$5$" not in out


def test_mathjax3_chtml_keeps_the_assistive_mathml_not_the_glyphs():
    """CHTML draws glyphs with CSS: the visual <mjx-math> holds only operators as text. Its
    <mjx-assistive-mml> copy is the formula."""
    body = (
        '<p>The identity <mjx-container class="MathJax" jax="CHTML"><mjx-math class="MJX-TEX" aria-hidden="true">'
        '<mjx-mi class="mjx-i"><mjx-c class="mjx-c1D452 TEX-I"></mjx-c></mjx-mi><mjx-mo><mjx-c>=</mjx-c></mjx-mo>'
        '</mjx-math><mjx-assistive-mml display="inline"><math xmlns="http://www.w3.org/1998/Math/MathML">'
        '<mi>e</mi><mo>=</mo><mi>m</mi><msup><mi>c</mi><mn>2</mn></msup></math></mjx-assistive-mml>'
        '</mjx-container> is well known.</p>'
    )
    out = extract_html(page(body)).text
    assert "$e=m{c}^{2}$" in out
    assert "$=$" not in out


def test_mathjax4_without_assistive_mathml_takes_its_data_latex():
    """MathJax 4 writes the TeX source on the nodes it typesets; without the assistive MathML the
    container's glyphs are CSS, so the longest ``data-latex`` (the whole formula) is the source."""
    body = (
        '<p>The identity <mjx-container class="MathJax" jax="CHTML"><mjx-math data-latex="e=mc^2" '
        'class="MJX-TEX" aria-hidden="true"><mjx-mi data-latex="e"><mjx-c class="mjx-c1D452 TEX-I"></mjx-c>'
        '</mjx-mi><mjx-mo data-latex="="><mjx-c>=</mjx-c></mjx-mo></mjx-math></mjx-container> is well known.</p>'
        '<p><mjx-container class="MathJax" jax="CHTML" display="true"><mjx-math data-latex="\\int_0^1 x\\,dx">'
        '<mjx-mo data-latex="\\int"></mjx-mo></mjx-math></mjx-container></p>'
    )
    out = extract_html(page(body)).text
    assert "The identity $e=mc^2$ is well known." in out
    assert "$$\\int_0^1 x\\,dx$$" in out


def test_editor_formulas_whose_source_is_an_attribute():
    """Quill keeps the TeX in ``data-value`` (its KaTeX rendering has no annotation); MathType/WIRIS
    keeps MathML in ``data-mathml`` as "safe XML" (the alt text is speech, not math); MathQuill's
    static math starts with a hidden ``mq-selectable`` copy of the TeX before its rendering."""
    body = (
        '<p>Quill: <span class="ql-formula" data-value="\\frac{a}{b}"><span contenteditable="false">'
        '<span class="katex"><span class="katex-html" aria-hidden="true">ab</span></span></span></span> here.</p>'
        '<p>WIRIS: <img class="Wirisformula" src="/pluginwiris_engine/app/showimage?formula=1" '
        'data-mathml="\u00abmath xmlns=\u00a8http://www.w3.org/1998/Math/MathML\u00a8\u00bb\u00abmsqrt\u00bb'
        '\u00abmi\u00bbx\u00ab/mi\u00bb\u00ab/msqrt\u00bb\u00ab/math\u00bb" alt="square root of x"/> there.</p>'
        '<p>MathQuill: <span class="mq-math-mode"><span class="mq-selectable">$y^{3}$</span>'
        '<span class="mq-root-block"><var>y</var><span class="mq-sup">3</span></span></span> too.</p>'
        '<p>A toolbar: <img data-mathml="not markup" alt="a button"/> stays.</p>'
    )
    out = extract_html(page(body)).text
    assert "Quill: $\\frac{a}{b}$ here." in out
    assert "WIRIS: $\\sqrt{x}$ there." in out and "square root" not in out
    assert "MathQuill: $y^{3}$ too." in out and "y3" not in out


def test_mathjax2_mathml_input_scripts_and_moodle_tex_images():
    """MathJax 2's MathML input keeps each formula as text in <script type="math/mml"> (beside its
    rendering, which goes); Moodle's TeX filter draws formulas as images whose alt is the TeX."""
    body = (
        '<p>Let <span class="MathJax" id="MathJax-Element-1-Frame"><nobr>glyphs</nobr></span>'
        '<script type="math/mml" id="MathJax-Element-1"><math xmlns="http://www.w3.org/1998/Math/MathML">'
        '<mfrac><mi>a</mi><mi>b</mi></mfrac></math></script> be a fraction.</p>'
        '<p>Moodle: <img class="texrender" title="x^2" alt="x^2" '
        'src="https://school.example/filter/tex/pix.php/3f2a.png"> is a square.</p>'
        '<p>Empty <script type="math/mml">not mathml</script> source.</p>'
    )
    out = extract_html(page(body)).text
    assert "Let $\\frac{a}{b}$ be a fraction." in out and "glyphs" not in out
    assert "Moodle: $x^2$ is a square." in out
    assert "Empty source." in out or "Empty  source." in out


def test_formula_image_with_an_undelimited_tex_alt_and_no_hint():
    """An alt text holding a TeX command or a braced script is TeX whatever the image's class
    and source; a Windows path or a caption is not."""
    body = ('<p>The ratio <img src="/eq/3.svg" alt="\\frac{a}{b}"> is fixed and '
            '<img src="/eq/4.svg" alt="x^{2}"> grows.</p>'
            '<p>Open <img src="/icons/folder.png" alt="C:\\Program Files\\new"> here.</p>')
    out = extract_html(page(body)).text
    assert "The ratio $\\frac{a}{b}$ is fixed and $x^{2}$ grows." in out
    assert "Program Files" not in out


def test_mathml_in_an_attribute_does_not_expand_entities():
    """data-mathml is parsed as XML: an entity-expansion bomb or an external entity in it must
    neither expand nor be fetched (the page still extracts)."""
    bomb = ('&lt;!DOCTYPE m [&lt;!ENTITY a "aaaaaaaaaa"&gt;&lt;!ENTITY b "&amp;a;&amp;a;&amp;a;&amp;a;&amp;a;'
            '&amp;a;&amp;a;&amp;a;"&gt;&lt;!ENTITY c SYSTEM "file:///etc/passwd"&gt;]&gt;'
            '&lt;math&gt;&lt;mi&gt;&amp;b;&amp;c;&lt;/mi&gt;&lt;/math&gt;')
    body = f'<p>Before <img data-mathml="{bomb}" alt="x"/> after the image.</p>'
    out = extract_html(page(body)).text
    assert "Before" in out and "after the image" in out
    assert "aaaa" not in out and "root:" not in out


def test_undelimited_sphinx_math_class_becomes_tex_but_texinfo_em_stays_text():
    """Sphinx with jsMath writes span.math/div.math holding bare TeX; Texinfo's em.math is a
    variable in running prose (Maxima's "base e") and stays as it is."""
    body = (
        '<p>The value <span class="math">\\alpha^2 + 1</span> is positive.</p>'
        '<div class="math">\\int_0^1 f(x)\\,dx</div>'
        '<p>Sphinx with MathJax: <span class="math notranslate nohighlight">\\(\\beta\\)</span>.</p>'
        '<p>Texinfo: the logarithm in base <em class="math">e</em> of x.</p>'
        '<pre><span class="math">not_math_in_code</span></pre>'
    )
    out = extract_html(page(body)).text
    assert "$\\alpha^2 + 1$" in out
    assert "$$\\int_0^1 f(x)\\,dx$$" in out
    assert "$\\beta$" in out and "$$\\beta" not in out
    assert "base e of x" in out
    assert "$not_math_in_code$" not in out


def test_forum_bbcode_math_tags_become_tex_outside_code():
    body = (
        "<p>Physics Forums style: [itex]E=mc^2[/itex] inline and [tex]\\int_0^\\infty e^{-x}dx = 1[/tex] "
        "as a display; [LATEX]\\sqrt[3]{8}[/LATEX] and [math]x \\in [0,1][/math] too.</p>"
        "<pre>[tex]left alone in code[/tex]</pre>"
    )
    out = extract_html(page(body)).text
    assert "$E=mc^2$" in out
    assert "$$\\int_0^\\infty e^{-x}dx = 1$$" in out
    assert "$\\sqrt[3]{8}$" in out and "$x \\in [0,1]$" in out
    assert "[tex]left alone in code[/tex]" in out


def test_gitlab_markdown_math_in_code_becomes_tex():
    """GitLab renders $`a^2`$ and ```math blocks as code that KaTeX typesets in the browser."""
    body = ('<p>Pythagoras: <code data-math-style="inline" class="code math js-render-math">a^2+b^2=c^2</code> '
            'for right triangles, as usual.</p>'
            '<pre data-canonical-lang="math" data-math-style="display" class="code math js-syntax-highlight '
            'language-math js-render-math"><code><span class="line" lang="math">\\int_0^1 x\\,dx</span>\n'
            '<span class="line" lang="math">= \\frac{1}{2}</span></code></pre>'
            '<p>and <code>plain_code()</code> stays code.</p>')
    out = extract_html(page(body)).text
    assert "$a^2+b^2=c^2$" in out
    assert "$$\\int_0^1 x\\,dx = \\frac{1}{2}$$" in out
    assert "plain_code()" in out and "$plain_code()$" not in out


def test_pandoc_default_html_math_and_gladtex_become_tex():
    """pandoc -t html without a math option writes formulas as HTML; --gladtex as <eq>."""
    body = ('<p>Let <span class="math inline"><em>A</em> = (<em>a</em><sub><em>i</em><em>j</em></sub>)</span> '
            'be the adjacency matrix, and</p><p><span class="math display"><em>x</em><sup>2</sup> + 1 = 0</span></p>'
            '<p>GladTeX: <eq env="math">\\mathbf{K}=(k_{ij})</eq> and</p>'
            '<p><eq env="displaymath">\\det\\mathbf{K}(i|i)</eq></p>'
            '<p>A plain <span class="math inline">n</span> stays one formula.</p>'
            # pandoc --katex: TeX in the span, display by class
            '<p><span class="math display">\\sum_{k=1}^n k = \\frac{n(n+1)}{2}</span></p>')
    out = extract_html(page(body)).text
    assert "$A = (a_{ij})$" in out
    assert "$$x^{2} + 1 = 0$$" in out
    assert "$\\mathbf{K}=(k_{ij})$" in out and "$$\\det\\mathbf{K}(i|i)$$" in out
    assert "$n$" in out
    assert "$$\\sum_{k=1}^n k = \\frac{n(n+1)}{2}$$" in out


def test_asciimath_script_is_kept_as_text():
    body = '<p>The sum <script type="math/asciimath">sum_(i=1)^n i^3</script> is a square number.</p>'
    out = extract_html(page(body)).text
    assert "The sum sum_(i=1)^n i^3 is a square number." in out


def test_sub_sup_and_footnotes():
    body = "<p>Water is H<sub>2</sub>O and x<sup>n+1</sup> grows; see note<sup><a href='#fn1'>1</a></sup>.</p>"
    out = extract_html(page(body)).text
    assert "H_{2}O" in out
    assert "x^{n+1}" in out
    assert "^{1}" not in out


@pytest.mark.parametrize(("body", "expected"), [
    # GAPDoc: a symbol between two elements, as a tail
    ("<p>For all <var>obj</var> ≥ <var>obj1</var> the order holds.</p>", "obj ≥ obj1"),
    # a symbol alone in a span
    ("<p>The integers <span>ℤ</span> form a ring under addition.</p>", "integers ℤ form"),
    # docutils' math2html: the integral sign three spans deep, between its limits
    ('<p>The area <span class="limits"><span class="limit"><span class="bigoperator integral">∫</span>'
     '</span><sub>0</sub></span> f(x) dx is one.</p>', "area ∫_{0} f(x)"),
    ("<p>The area <span><span>∫</span></span><sub>0</sub><sup>1</sup> f(x) dx is one.</p>", "area ∫_{0}^{1} f(x)"),
])
def test_lone_symbols_survive_main_content_extraction(body, expected):
    """resiliparse drops a text node that is a lone non-ASCII glyph (an icon, to it)."""
    prose = "<p>" + "Some prose around the formula so the page has a main content to keep. " * 4 + "</p>"
    assert expected in extract_html(page(prose + body + prose)).text


def test_tables_and_code_stay_text():
    body = (
        "<table><tr><th>n</th><th>n!</th></tr><tr><td>4</td><td>24</td></tr><tr><td>5</td><td>120</td></tr></table>"
        "<pre><code>def fact(n):\n    return 1 if n == 0 else n * fact(n - 1)</code></pre>"
    )
    out = extract_html(page(body)).text
    assert "120" in out and "fact(n - 1)" in out


def test_fast_path_keeps_math_too():
    out = extract_fast(page(KATEX + '<p>and <script type="math/tex">q_1</script> and '
                            '<img class="math" src="m.png" alt="\\pi r^2"/></p>'))
    assert "$E=mc^2$" in out and "$q_1$" in out and "$\\pi r^2$" in out
    assert "DUPLICATE" not in out


def test_fragment_keeps_short_bodies():
    out = extract_fragment("<p>Since $x=2$, we get <code>y</code>=4.</p>").text
    assert out == "Since $x=2$, we get y=4."


def test_timeout_raises():
    from curation.extract.html import ExtractTimeout

    huge = page("<p>" + "<span>word</span> " * 200_000 + "</p>")
    with pytest.raises(ExtractTimeout):
        extract_html(huge, None, ExtractSettings(timeout_seconds=0.05))


# Blocks that trafilatura and resiliparse took for boilerplate on the development corpus (bench
# misses), in the shapes they had there.

def test_section_whose_heading_slug_says_related_or_comment_is_kept():
    body = (
        '<section id="field-operators-and-related-functions"><h2>Field operators and related functions</h2>'
        f'{PROSE}<p>The curl is <img class="math" src="c.png" alt="\\nabla \\times \\mathbf{{F}}"/> here.</p></section>'
        '<section id="comment-objects"><h2>Comment Objects</h2>'
        '<p>A comment node holds its data as a string, with the formula \\(n \\ge 0\\) for its length.</p></section>'
    )
    text = extract_html(page(body)).text
    assert "$\\nabla \\times \\mathbf{F}$" in text and "$n \\ge 0$" in text


def test_math_sidebar_and_footnote_asides_are_kept():
    body = (
        '<aside class="sidebar"><p class="sidebar-title">Quick Tip</p><p>To make a Symbol called '
        '<img class="math" src="l.png" alt="\\lambda"/>, use lamda.</p></aside>'
        '<aside class="footnote brackets" role="note"><p>A hermitian matrix '
        '<span class="math notranslate nohighlight">\\(\\mathbf{D}^{H}=\\mathbf{D}\\)</span>.</p></aside>'
    )
    text = extract_html(page(body)).text
    assert "$\\lambda$" in text and "$\\mathbf{D}^{H}=\\mathbf{D}$" in text


def test_div_of_display_math_is_kept():
    # Among many kept formulas (as on giac's algolycee.html, 1026 of 1028), so the resiliparse
    # fallback does not kick in and trafilatura's own handling of the div is what counts.
    many = "".join(f"<p>Le point \\(M_{{{i}}}\\) est sur le cercle de rayon \\(r_{{{i}}}\\).</p>" for i in range(60))
    body = (many + '<p>Les tangentes sont donc :</p><div class="center">'
            '<math display="inline"><semantics><mrow><mi>D</mi></mrow>'
            '<annotation encoding="application/x-tex">\\mbox{Droite}([X_A,0], [X_{M_1},Y_{M_1}])</annotation>'
            '</semantics></math></div>')
    assert "\\mbox{Droite}([X_A,0], [X_{M_1},Y_{M_1}])" in extract_html(page(body)).text


# ---- math that documentation generators write as plain HTML (GAPDoc, hevea) -------------------

def _gen_page(generator: str | None, body: str) -> str:
    meta = f'<meta name="generator" content="{generator}">' if generator else ""
    return f"<html><head>{meta}<title>t</title></head><body><main>{body}</main></body></html>"


GAP_BODY = ('<p>Let <span class="SimpleMath">G</span> be a group acting on '
            '<span class="SimpleMath">{ 1, ..., n }</span> with <span class="SimpleMath">x<sup>2</sup> = 1</span>, '
            'as in the examples of the chapter on permutation groups and their actions.</p>'
            '<p class="center">U ∖ G</p><p>More prose follows here so that the page has content.</p>')
HEVEA_BODY = ('<p>The <span style="font-family:monospace">int</span> command takes '
              '<span style="font-style:italic">expr</span>, an expression, and the variable '
              '<span style="font-style:italic">x</span>; <span style="font-style:italic">integrate</span> '
              'is its other name.</p><table class="display"><tr><td>x<sup>3</sup></td><td>3</td></tr></table>'
              '<p>More prose follows here so that the page has content for the extractor.</p>')


def test_gapdoc_simplemath_and_centred_displays_become_tex():
    text = extract_html(_gen_page("GAPDoc2HTML", GAP_BODY)).text
    assert "$G$" in text and "${ 1, ..., n }$" in text and "$x^{2} = 1$" in text
    assert "$$U ∖ G$$" in text


def test_hevea_variables_and_display_tables_become_tex_but_words_stay_text():
    text = extract_html(_gen_page("hevea 2.36", HEVEA_BODY)).text
    assert "$expr$" in text and "$x$" in text
    assert "$integrate$" not in text and "integrate" in text
    assert "$$x^{3} 3$$" in text


@pytest.mark.parametrize("generator", [None, "WordPress 6.4"])
def test_generator_rules_apply_only_to_their_generator(generator):
    """On other pages a span class, an italic word or a centred paragraph is not a formula."""
    text = extract_html(_gen_page(generator, GAP_BODY + HEVEA_BODY)).text
    assert "$" not in text


def test_raw_hints_skip_only_passes_the_page_cannot_need():
    """The substring prechecks give the same rewrite as running every XPath pass."""
    from curation.extract.html import parse_html
    from curation.extract.math_dom import RawHints, normalize_math

    pages = [
        '<p>Inline <span class="katex"><annotation encoding="application/x-tex">a^2</annotation></span></p>',
        "<p>MathML <m:math><m:mi>x</m:mi></m:math> and <MATH><mi>y</mi></MATH></p>",
        "<p>Escaped &#92;(x + 1&#92;) and &#x5C;[y&#x5c;]</p>",
        "<p>Plain \\(z\\)</p>",
        '<p>Wiki <span class="mwe-math-element"><img alt="\\sigma" src="x.svg"></span></p>',
        "<p>Forum [itex]a+b[/itex] and [MATH]c[/MATH]</p>",
        '<p>GitLab <code data-math-style="inline" class="code math js-render-math">a^2</code></p>',
        '<p>pandoc <span class="math inline"><em>x</em><sup>2</sup></span> and <eq env="math">y</eq></p>',
        '<p>Quill <span class="ql-formula" data-value="q^2">q2</span>, MathType <img data-mathml="&lt;math&gt;'
        '&lt;mi&gt;w&lt;/mi&gt;&lt;/math&gt;"> and <span class="mq-math-mode"><span class="mq-selectable">$m$</span></span></p>',
        "<p>No math here, only prose.</p>",
    ]
    for html in pages:
        fast, full = parse_html(html), parse_html(html)
        assert normalize_math(fast, RawHints.of(html)) == normalize_math(full, RawHints())
        assert etree_text(fast) == etree_text(full)
    assert RawHints.of(pages[-1]) == RawHints(classed=False, mathml=False, delimiters=False, bbcode=False,
                                              data_math=False, pandoc_math=False, source_attrs=False)
    assert RawHints.of(pages[2]).delimiters and not RawHints.of(pages[2]).mathml


def etree_text(tree) -> str:
    from lxml import etree

    return etree.tostring(tree, encoding="unicode", method="html")


# ---- pages hidden until a script shows them -----------------------------------------------------

@pytest.mark.parametrize("hiding", ['style="visibility:hidden"', 'style="display: none"', 'style="color: red; display: none !important"', "hidden"])
def test_page_hidden_until_mathjax_is_done_is_extracted(hiding):
    """MathJax's "wait until typeset" recipe (shipped in SageMath's manuals) hides the whole body."""
    body = (f'<div id="hide_page" {hiding}><h1>Sample MathJax Equations</h1>{PROSE}'
            '<p>\\[ \\left( \\sum_{k=1}^n a_k b_k \\right)^2 \\leq \\sum a_k^2 \\sum b_k^2 \\]</p>'
            f'{PROSE}</div><div style="display:none">Menu Home About</div>')
    html = f"<html><head><title>t</title></head><body>{body}</body></html>"
    out = extract_html(html).text
    assert "$$\\left( \\sum_{k=1}^n a_k b_k \\right)^2" in out
    assert "Sample MathJax Equations" in out
    assert "Menu Home About" not in out


def test_hidden_menu_or_modal_stays_hidden():
    """Hidden elements holding less than half of the page's text are menus and modals: dropped."""
    body = PROSE + PROSE + '<div style="display:none"><p>' + "Subscribe to our newsletter today. " * 5 + "</p></div>"
    out = extract_html(page(body)).text
    assert "ordinary prose" in out
    assert "Subscribe" not in out


_KATEX_DOLLARS = ('<script>renderMathInElement(document.body, {delimiters: [{left: "$$", right: "$$", display: true},'
                  ' {left: "$", right: "$", display: false}]});</script>')
_MATHJAX_DOLLARS = "<script>MathJax = {tex: {inlineMath: [['\\\\(', '\\\\)'], ['$', '$']]}};</script>"
_PADDED = "<p>Let $ n $ be odd and $ x<sub>i</sub> $ a root; then $$ x^n = 1 $$ holds.</p><pre>echo $ HOME $</pre>"


@pytest.mark.parametrize("config", [_KATEX_DOLLARS, _MATHJAX_DOLLARS])
def test_padded_dollars_are_trimmed_where_the_page_makes_dollar_a_delimiter(config):
    text = extract_html(f"<html><head>{config}</head><body>{_PADDED}</body></html>").text
    assert "$n$ be odd" in text and "$x_{i}$ a root" in text
    assert "$$ x^n = 1 $$" in text and "echo $ HOME $" in text  # display math and code untouched


def test_padded_dollars_stay_as_they_are_elsewhere():
    """Without the configuration a '$ 5 and $ 10' is money, not a formula."""
    body = "<p>It costs between $ 5 and $ 10 a month, with $ n $ users.</p>"
    text = extract_html(f"<html><head><script>var left = '$';</script></head><body>{body}</body></html>").text
    assert "between $ 5 and $ 10" in text and "$ n $" in text


DOCUTILS_BODY = (
    '<p>Inline <span class="formula"><i>n</i>! + sin(<i>x</i><span class="scripts"><sup class="script">2</sup>'
    '<sub class="script"><i>n</i></sub></span>)</span> in a sentence about factorials and sines.</p>'
    '<div class="formula"><span class="limits"><sup class="limit">1</sup><span class="limit">'
    '<span class="bigoperator integral">∫</span></span><sub class="limit">0</sub></span><i>x</i><sup><i>n</i></sup>'
    '<i>dx</i> = <span class="fraction"><span class="ignored">(</span><span class="numerator">1</span>'
    '<span class="ignored">)/(</span><span class="denominator"><i>n</i> + 1</span>'
    '<span class="ignored">)</span></span></div><p>More prose follows here so that the page has content.</p>')


def test_docutils_math2html_formulas_become_tex_with_limits_in_tex_order():
    text = extract_html(_gen_page("Docutils 0.19: https://docutils.sourceforge.io/", DOCUTILS_BODY)).text
    assert "$n! + sin(x^{2}_{n})$ in a sentence" in text
    assert "$$∫_{0}^{1}x^{n}dx = (1)/(n + 1)$$" in text
    # the same HTML from another generator is not math markup
    assert "$" not in extract_html(_gen_page("WordPress 6.4", DOCUTILS_BODY)).text


@pytest.mark.parametrize("body, expected", [
    # Sphinx (python-sasmodels-doc): a control space at the end of the TeX, "\ " before "\)".
    ('<p>cylinder.py <span class="math notranslate nohighlight">\\(\\ \\star\\ \\)</span> cylinder.c</p>',
     "$\\ \\star\\ $"),
    ('<div class="math notranslate nohighlight">\\[\\int_0^1 f\\ \\]</div>', "$$\\int_0^1 f\\ $$"),
    # Undelimited math-class text (pandoc --katex), and a line break "\\" that escapes nothing.
    ('<p>Then <span class="math inline">\\ \\alpha\\ </span> holds.</p>', "$\\ \\alpha\\ $"),
    ('<p>Rows <span class="math">\\(a \\\\ \\)</span> end.</p>', "$a \\\\$"),
])
def test_trailing_control_space_does_not_escape_the_closing_dollar(body, expected):
    out = extract_html(page(body)).text
    assert expected in out
    assert not _ESCAPED_DOLLAR.search(out)


# A "$" after an odd run of backslashes is escaped, so it closes nothing.
_ESCAPED_DOLLAR = re.compile(r"(?<!\\)(?:\\\\)*\\\$")


def test_figure_captions_and_tables_in_figures_keep_their_math():
    # Sphinx's figure (python-sasmodels-doc) and WordPress's table block: resiliparse drops
    # whatever a <figure> holds when image alt texts are off.
    sphinx = ('<figure class="align-default" id="id2"><img alt="../_images/angles.png" src="../_images/angles.png" />'
              '<figcaption><p><span class="caption-number">Fig. 21 </span><span class="caption-text">Angles '
              '<span class="math notranslate nohighlight">\\(\\theta\\)</span> and '
              '<span class="math notranslate nohighlight">\\(\\phi\\)</span> orient the cylinder.</span></p>'
              '</figcaption></figure>')
    wordpress = ('<figure class="wp-block-table"><table><tbody><tr><td>Derivative of '
                 '<span class="katex"><span class="katex-mathml"><math><semantics><mrow><mi>x</mi></mrow>'
                 '<annotation encoding="application/x-tex">x^n</annotation></semantics></math></span></span></td>'
                 '<td>Rule</td></tr></tbody></table></figure>')
    out = extract_html(page(sphinx + wordpress)).text
    assert "Angles $\\theta$ and $\\phi$ orient the cylinder." in out
    assert "$x^n$" in out
    assert "angles.png" not in out


def test_fragment_that_is_a_whole_document_after_a_long_prolog_keeps_only_its_body():
    """An EPUB chapter whose <html> comes after a long comment or DOCTYPE: its <title> (a running
    head) is no content."""
    chapter = ('<?xml version="1.0" encoding="utf-8"?>\n<!-- ' + "generated by a converter; " * 80 + "-->\n"
               '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>Running head TITLE</title></head>'
               "<body><p>The chapter proves $a^2+b^2=c^2$.</p></body></html>")
    out = extract_fragment(chapter).text
    assert "$a^2+b^2=c^2$" in out and "Running head" not in out


def test_lazy_loaded_formula_images_use_their_real_source():
    """Lazy loading keeps the formula service's URL in data-src and a placeholder in src."""
    body = ('<p>The sum <img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" '
            'data-src="https://latex.codecogs.com/svg.latex?%5Csum_%7Bk%3D1%7D%5En%20k" alt="sum formula"> '
            'and <img src="/img/blank.gif" data-lazy-src="https://latex.codecogs.com/png.latex?x%5E2" alt=""> here.</p>')
    out = extract_html(page(body)).text
    assert "The sum $\\sum_{k=1}^n k$ and $x^2$ here." in out
