"""Turn every kind of math in an HTML tree into LaTeX text, before boilerplate removal sees it.

Extractors drop ``<math>``, ``<script>`` and ``<img>``, and KaTeX renders every formula twice, so
math has to become plain text first (the OpenWebMath / MegaMath recipe). Inline math becomes
``$...$``, display math ``$$...$$`` (a ``<p>`` of its own when it stood as a block).
The function mutates the lxml tree and returns counts per markup kind for the document's meta.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from curation.extract.katex_html import katex_html_mathml
from curation.extract.math_images import tex_from_image_url
from curation.extract.mathjax_output import rendered_mathml
from curation.extract.mathml import (
    clean_tex,
    is_display,
    mathml_to_latex,
    squash_tex,
    strip_tex,
    tex_annotation,
)

# Elements whose text is code or not rendered: delimiters there are not math.
_VERBATIM = {"pre", "code", "kbd", "samp", "tt", "script", "style", "textarea", "listing", "xmp"}
_BLOCK = {"div", "p", "center", "dd", "dl", "table", "blockquote", "figure", "section", "li", "td", "th"}
# MathJax 2/3 renderings that sit beside the source script: keep only the source.
_MATHJAX_RENDERED = re.compile(
    r"\b(MathJax_Preview|MathJax|MathJax_Display|MathJax_SVG|MathJax_SVG_Display|MathJax_CHTML|"
    r"MathJax_MathML|MJX_Assistive_MathML|MathJax_PHTML)\b"
)
# <img> that carries LaTeX in its alt text: by class (Sphinx imgmath, WordPress, MediaWiki,
# Quill) or by the renderer it points at (codecogs, latex.php, mimetex, Wikimedia's math/render).
_MATH_IMG_CLASS = re.compile(
    r"(^|\s)(math|latex|tex|mathtex|equation|formula|formulaInl|formulaDsp|inlineformula|wp-latex|ql-img-inline-formula|"
    r"mwe-math-fallback-image-inline|mwe-math-fallback-image-display|latexImg|tex-image|"
    # Moodle's TeX notation filter (school and university course pages)
    r"texrender)(\s|$)",
    re.I,
)
# An alt text that is itself a delimited formula is TeX whatever the image's class: Doxygen
# (``formulaInl``/``formulaDsp``), LaTeX2HTML and other converters write ``alt="$x^2$"``. Both
# delimiters and a body that is not a bare amount ("$5$") are required.
_DELIMITED_ALT = re.compile(r"(\$\$?|\\\(|\\\[)(?=[^$]*[^\d\s.,$])[^$]+(\$\$?|\\\)|\\\])$")
# An undelimited alt text that can only be TeX: a math command or a braced script (``x^{2}``).
# Formula images of sites and converters with no class or known renderer (self-hosted mimeTeX,
# static-site pipelines writing ``eq-3.svg``) carry their source this way.
_TEX_ALT = re.compile(r"\\(?:frac|dfrac|tfrac|sqrt|sum|prod|int|oint|lim|infty|partial|nabla|mathbb|mathrm|"
                      r"mathcal|mathbf|left[(\[|.]|begin\{|cdot|times|leq?|geq?|neq|approx|equiv|pm|"
                      r"alpha|beta|gamma|delta|epsilon|varepsilon|theta|lambda|sigma|omega|pi)(?![a-zA-Z])|[\^_]\{")
# An alt text of two or more plain words and nothing a formula would hold (an accessibility
# description such as "sum formula"): when the image's URL carries the TeX, the URL wins.
_PROSE_ALT = re.compile(r"[A-Za-z]{2,}(?: [A-Za-z]{2,})+")
# Alt texts that are no formula: a placeholder word or the image's file name.
_PLACEHOLDER_ALT = re.compile(r"^(?:equation|formula|latex|tex|math|image|img|eq\.?\s*\d*|[^\s/]+\.(?:png|gif|svg|jpe?g))$", re.I)
_MATH_IMG_SRC = re.compile(
    r"codecogs\.com|latex\.php|latex\.cgi|mimetex|mathtex\.cgi|/math/render/|wp\.com/latex|"
    r"s0\.wp\.com/latex|chart\.apis\.google\.com/chart\?cht=tx|chart\.googleapis\.com/chart\?cht=tx|"
    r"quicklatex|latex\.codecogs|/render/math\?math=|/equation\?tex=|/filter/tex/pix\.php|"
    # MathWorld's formula images (/images/equations/<Entry>/Inline12.svg, NumberedEquation1.gif;
    # relative on the site itself): the alt is the formula in linear notation ("N×N", "a_(11)B"),
    # not TeX, but it is the math the page shows.
    r"(?:^|/)images/equations/|"
    # Sphinx imgmath's images, also by a relative path from the page's folder (``_images/math/``:
    # older Sphinx put no class on the display images, CVXOPT's manual).
    r"(?:^|/)_images/math/",
    re.I,
)
# The body may not cross another opener: with ``.+?`` every unclosed ``\(`` rescans the rest of
# the text, so a page of 100k ``\(`` takes O(n^2) (catastrophic backtracking; issue 9). One
# character per step keeps the match linear (no nested quantifier).
_INLINE_DELIMS = re.compile(r"\\\(((?:[^\\]|\\(?!\())+?)\\\)")
_DISPLAY_DELIMS = re.compile(r"\\\[((?:[^\\]|\\(?!\[))+?)\\\]")
_WS = re.compile(r"\s+")


# <math>, <m:math> (a prefix kept by the HTML parser) and namespaced MathML.
_MATH_XPATH = (".//*[local-name()='math' or local-name()='MATH' or "
               "substring(local-name(), string-length(local-name()) - 4) = ':math']")


def _local_name(el: etree._Element) -> str:
    """``math`` for <math>, <m:math> and {http://www.w3.org/1998/Math/MathML}math."""
    return el.tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1].lower()


def _with_class(elements: list[etree._Element], name: str) -> list[etree._Element]:
    """The elements whose class list holds ``name`` (the CSS ``.name`` selector)."""
    return [el for el in elements if _has_class(el, name)]


def _classes(el: etree._Element) -> str:
    return el.get("class") or ""


def _has_class(el: etree._Element, name: str) -> bool:
    return name in _classes(el).split()


def _inside(el: etree._Element, tags: set[str]) -> bool:
    for anc in el.iterancestors():
        if isinstance(anc.tag, str) and anc.tag.lower() in tags:
            return True
    return False


def _wrap(tex: str, display: bool) -> str:
    tex = squash_tex(tex)
    return f"$${tex}$$" if display else f"${tex}$"


def replace_element(el: etree._Element, text: str, block: bool = False) -> None:
    """Replace ``el`` by ``text`` (keeping its tail); as a new ``<p>`` when it stood as a block."""
    parent = el.getparent()
    if parent is None:
        return
    tail = el.tail or ""
    if block:
        new = etree.Element("p")
        new.text = text
        new.tail = tail
        parent.replace(el, new)
        return
    prev = el.getprevious()
    joined = text + tail
    if prev is not None:
        prev.tail = (prev.tail or "") + joined
    else:
        parent.text = (parent.text or "") + joined
    parent.remove(el)


# Lazy-loading scripts (WordPress plugins, lazysizes) keep the real image in a data attribute
# and a placeholder (a data: URI, a blank gif) in src until the page is scrolled.
_LAZY_SRC = ("data-src", "data-lazy-src", "data-original", "data-lazy")


def _image_source(el: etree._Element) -> str:
    src = el.get("src") or ""
    if not src or src.startswith("data:") or "blank" in src or "placeholder" in src or "lazy" in src:
        src = next((el.get(a) for a in _LAZY_SRC if el.get(a)), src)
    return src


def _stands_alone(el: etree._Element) -> bool:
    """True when ``el`` is the only content of a block parent (a display formula)."""
    parent = el.getparent()
    if parent is None or not isinstance(parent.tag, str) or parent.tag.lower() not in _BLOCK:
        return False
    if (parent.text or "").strip() or (el.tail or "").strip():
        return False
    return len(parent) == 1


def _remove(el: etree._Element) -> None:
    replace_element(el, "")


# A backslash in the text can only come from a backslash or a character reference in the source.
_BACKSLASH_REF = re.compile(r"&#(?:0*92|x0*5c)(?![0-9a-f])|&bsol", re.I)


# A MathJax (2 or 3) or KaTeX auto-render configuration that lists a single ``$`` as an inline
# delimiter: ``inlineMath: [['\\(','\\)'], ['$','$']]`` or ``{left: "$", right: "$", display: false}``
# (Macaulay2's manual, nbsphinx; either may be JSON with quoted keys).
_DOLLAR_CONFIG = re.compile(r"""inlineMath["']?\s*:\s*\[(?:\s*\[[^\]\[]{0,40}\]\s*,)*\s*\[\s*["']\$["']"""
                            r"""|\bleft["']?\s*:\s*["']\$["']""")


@dataclass(frozen=True)
class RawHints:
    """Which of normalize_math's XPath passes the raw page can need, from substring tests.

    Each pass is an XPath over every element (about 1 ms on a 40 kB page), and most pages give it
    nothing to find: an element named ``math`` needs ``<math`` or ``:math`` in the source, a
    KaTeX or MediaWiki class needs its name there, and a ``\\(`` in the text needs a backslash or
    its character reference. ``RawHints()`` runs every pass.
    """

    classed: bool = True
    mathml: bool = True
    delimiters: bool = True
    bbcode: bool = True
    data_math: bool = True
    pandoc_math: bool = True
    # Not a pass to skip but a fact about the page, so False unless the page says so: its KaTeX
    # auto-render or MathJax configuration makes ``$`` an inline delimiter, and the renderer
    # typesets ``$ n $`` as it does ``$n$``.
    dollar_configured: bool = False
    # Editors that keep a formula's source in an attribute (Quill, MathType/WIRIS).
    source_attrs: bool = True

    @classmethod
    def of(cls, html: str) -> RawHints:
        low = html.lower()
        return cls(
            classed="katex" in low or "mwe-math-element" in low,
            mathml="<math" in low or ":math" in low,
            delimiters="\\" in html or _BACKSLASH_REF.search(html) is not None,
            bbcode="tex]" in low or "[/math]" in low,
            data_math="data-math-style" in low,
            # pandoc writes class="math inline|display"; GladTeX <eq env=..>
            pandoc_math="math inline" in low or "math display" in low or "<eq " in low,
            dollar_configured=('"$"' in html or "'$'" in html) and _DOLLAR_CONFIG.search(html) is not None,
            source_attrs="ql-formula" in low or "data-mathml" in low or "mq-math-mode" in low,
        )


def normalize_math(root: etree._Element, hints: RawHints = RawHints()) -> Counter:
    """Rewrite all math under ``root`` to LaTeX text in place; return counts per kind."""
    counts: Counter = Counter()
    # One XPath pass (in C) finds the KaTeX and MediaWiki candidates: a Python loop over every
    # element of a 100 kB page cost more than the rest of the extraction.
    classed = (root.xpath(".//*[contains(@class, 'katex') or contains(@class, 'mwe-math-element')]")
               if hints.classed else [])

    # KaTeX: the annotation holds the source; .katex-html is a second, visual copy.
    for el in _with_class(classed, "katex"):
        if el.getparent() is None or _inside(el, {"annotation"}):
            continue
        tex = tex_annotation(el)
        disp_parent = el.getparent()
        display = disp_parent is not None and _has_class(disp_parent, "katex-display")
        if tex is None:
            if any(_local_name(d) == "math" for d in el.iter() if isinstance(d.tag, str)):
                continue  # MathML without a TeX annotation: converted below with all MathML
            # KaTeX's output: "html" writes the visual copy alone; its spans give the MathML back.
            visual = next((d for d in el.iter() if isinstance(d.tag, str) and _has_class(d, "katex-html")), None)
            rebuilt = katex_html_mathml(visual, display) if visual is not None else None
            tex = mathml_to_latex(rebuilt)[0] if rebuilt is not None else None
            if not tex:
                continue
            counts["katex_html"] += 1
        target = disp_parent if display else el
        if target.getparent() is None:
            continue
        replace_element(target, _wrap(tex, display), block=display)
        counts["katex"] += 1
    for el in _with_class(classed, "katex-html"):
        if el.getparent() is not None:
            _remove(el)

    # MediaWiki: <span class="mwe-math-element"> holds MathML (with alttext) and a fallback <img>.
    for el in _with_class(classed, "mwe-math-element"):
        if el.getparent() is None or el.tag.lower() not in ("span", "div"):
            continue
        tex = None
        for sub in el.iter():
            local = sub.tag.rsplit("}", 1)[-1].lower() if isinstance(sub.tag, str) else ""
            if local == "math":
                tex, _ = mathml_to_latex(sub)
                break
            if local == "img" and sub.get("alt"):
                tex = clean_tex(sub.get("alt"))
        if tex:
            display = any(
                "display" in _classes(sub) for sub in el.iter() if isinstance(sub.tag, str)
            )
            replace_element(el, _wrap(tex, display), block=display and _stands_alone(el))
            counts["wiki"] += 1

    # MathJax 2 source scripts: <script type="math/tex"> and "math/tex; mode=display", and its
    # MathML input, <script type="math/mml"> holding a <math> element as text.
    scripts = [s for s in root.iter("script") if (s.get("type") or "").lower().startswith(("math/tex", "math/mml"))]
    if scripts:
        for el in list(root.iter()):
            if isinstance(el.tag, str) and el.getparent() is not None and _MATHJAX_RENDERED.search(_classes(el)):
                _remove(el)
        for s in scripts:
            if s.getparent() is None:
                continue
            kind = (s.get("type") or "").lower().replace(" ", "")
            if kind.startswith("math/mml"):
                math = parse_mathml(s.text or "")
                tex = mathml_to_latex(math)[0] if math is not None else ""
                display = math is not None and is_display(math)
            else:
                tex, display = s.text or "", "mode=display" in kind
            if not tex.strip():
                _remove(s)
                continue
            replace_element(s, _wrap(tex, display), block=display and _stands_alone(s))
            counts["mathjax_script"] += 1
    # AsciiMath sources (MathJax's math/asciimath) are not TeX: kept as plain text, not dropped
    # with the other scripts.
    for s in [s for s in root.iter("script") if (s.get("type") or "").lower().startswith("math/asciimath")]:
        replace_element(s, " " + _WS.sub(" ", s.text or "").strip() + " ")
        counts["asciimath_script"] += 1

    # MathJax 3 output containers: convert the assistive MathML inside, drop the rendering.
    for el in list(root.iter("mjx-container")):
        if el.getparent() is None:
            continue
        # The assistive <math>, not CHTML's visual <mjx-math> copy (whose glyphs are CSS content:
        # its text is only the operators, "=" for e = mc^2).
        inner = next((m for m in el.iter() if isinstance(m.tag, str) and _local_name(m) == "math"), None)
        if inner is None:
            # MathJax 4 may leave out the assistive MathML but writes the TeX source on the nodes
            # it typesets (``data-latex``): the whole formula is the longest of them.
            sources = [v for v in el.xpath(".//@data-latex | @data-latex") if v.strip()]
            display = (el.get("display") or "").lower() in ("true", "block")
            if sources:
                replace_element(el, _wrap(max(sources, key=len), display), block=display and _stands_alone(el))
                counts["mathjax_latex_attr"] += 1
                continue
            # Neither: the SVG or CHTML rendering is all there is (pages typeset on the server
            # or saved from a browser); its structure and glyphs give the MathML back.
            rebuilt = rendered_mathml(el)
            tex = mathml_to_latex(rebuilt)[0] if rebuilt is not None else ""
            if tex:
                replace_element(el, _wrap(tex, display), block=display and _stands_alone(el))
                counts["mathjax_rendered"] += 1
            continue
        tex, _ = mathml_to_latex(inner)
        display = (el.get("display") or "").lower() == "true" or is_display(inner)
        replace_element(el, _wrap(tex, display), block=display and _stands_alone(el))
        counts["mathml"] += 1

    # MathML <math>: annotation, then alttext, then converted presentation markup.
    for el in root.xpath(_MATH_XPATH) if hints.mathml else ():
        if not isinstance(el.tag, str) or el.getparent() is None:
            continue
        if _local_name(el) != "math":
            continue
        tex, how = mathml_to_latex(el)
        if not tex:
            _remove(el)
            continue
        display = is_display(el)
        replace_element(el, _wrap(tex, display), block=display and _stands_alone(el))
        counts["mathml"] += 1
        counts[f"mathml_{how}"] += 1

    if hints.source_attrs:
        _rewrite_source_attributes(root, counts)

    # <img> whose alt text is LaTeX.
    for el in list(root.iter("img")):
        if el.getparent() is None:
            continue
        alt = (el.get("alt") or "").strip()
        src = _image_source(el)
        if not (_MATH_IMG_CLASS.search(_classes(el)) or _MATH_IMG_SRC.search(src)
                or (alt and (_DELIMITED_ALT.match(alt) or _TEX_ALT.search(alt)))):
            continue
        if not alt or _PLACEHOLDER_ALT.match(alt):
            # No TeX in the alt text: a formula service's URL may carry it (math_images).
            alt = tex_from_image_url(src) or ""
            if not alt:
                continue
        elif _PROSE_ALT.fullmatch(alt):
            # Words such as "sum formula": the URL's TeX when it has some, else the alt as it is.
            alt = tex_from_image_url(src) or alt
        tex = clean_tex(alt)
        delimited_display = tex.startswith(("$$", "\\["))
        if len(tex) >= 2 and tex[0] == tex[-1] == "$":
            tex = tex.strip("$").strip()
        elif len(tex) >= 4 and tex[:2] in ("\\(", "\\[") and tex[-2:] in ("\\)", "\\]"):
            tex = tex[2:-2].strip()
        parent = el.getparent()
        grandparent = parent.getparent()
        display = _stands_alone(el) and (
            _has_class(parent, "math") or parent.tag.lower() in ("center", "div") or "display" in _classes(el).lower()
            # older Sphinx imgmath: <div class="math"><p><img alt=".."></p></div>
            or (parent.tag.lower() == "p" and grandparent is not None and _has_class(grandparent, "math"))
            or "formulaDsp" in _classes(el) or delimited_display
        )
        replace_element(el, _wrap(tex, display), block=display)
        counts["img_alt"] += 1

    if hints.data_math:
        _rewrite_data_math_style(root, counts)
    _wrap_undelimited_math_class(root, counts)
    # Sphinx math blocks (<div class="math">\[...\]</div>) become paragraphs of their own.
    for el in list(root.iter("div")):
        if _has_class(el, "math") and not len(el):
            el.tag = "p"

    # \(..\) and \[..\] already in the text; <sub>/<sup> as _{}/^{} outside code.
    if hints.delimiters:
        _rewrite_text_delimiters(root, counts)
    if hints.bbcode:
        _rewrite_bbcode(root, counts)
    generator = _generator(root)
    if generator.startswith("docutils"):
        _docutils_limits(root)  # before sub/sup: it moves a <sup>
    _rewrite_sub_sup(root, counts)
    # After sub/sup, so that "$ x<sub>i</sub> $" is one text node.
    if hints.dollar_configured:
        _rewrite_prose_text(root, ".//text()[contains(., '$')]", _trim_dollar_padding)
    # After sub/sup, so that their formulas keep x^{2}.
    if hints.pandoc_math:
        _pandoc_plain_math(root, counts)
    if generator.startswith("gapdoc"):
        _gapdoc_math(root, counts)
    elif generator.startswith("hevea"):
        _hevea_displays(root, counts)
        _hevea_italics(root, counts)
    elif generator.startswith("docutils"):
        _docutils_formulas(root, counts)
    return counts


# ---- formulas whose source is an attribute of the rendered element ------------------------------
# MathType/WIRIS (Moodle, many school and publisher sites) writes its MathML into ``data-mathml`` in
# "safe XML": the markup characters replaced so the value survives HTML editors (the plugin's
# MathML.safeXmlDecode). Its alt text is speech ("x squared plus 1"), not the formula.
_SAFE_XML = str.maketrans({"\u00ab": "<", "\u00bb": ">", "\u00a8": '"', "\u00a7": "&", "`": "'"})


def parse_mathml(value: str) -> etree._Element | None:
    """A <math> element from MathML kept as text (an attribute, a script), or None; safe XML too."""
    markup = value.translate(_SAFE_XML) if "\u00ab" in value else value
    if "<math" not in markup and ":math" not in markup:
        return None
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=True, huge_tree=False)
    try:
        # &nbsp; and other HTML entities are undefined in XML; recover mode skips them.
        return etree.fromstring(markup.encode("utf-8"), parser)
    except etree.XMLSyntaxError:
        return None


def _rewrite_source_attributes(root: etree._Element, counts: Counter) -> None:
    """Quill's ``<span class="ql-formula" data-value="TeX">`` (its KaTeX rendering inside has no
    annotation), MathType's ``<img data-mathml="...">`` and MathQuill's static math, whose
    rendering follows a hidden ``<span class="mq-selectable">$TeX$</span>`` (the copy source)."""
    for el in root.xpath(".//*[contains(@class, 'mq-math-mode')]"):
        source = next((s for s in el.iter() if isinstance(s.tag, str) and _has_class(s, "mq-selectable")), None)
        tex = _plain(source).strip() if source is not None else ""
        if el.getparent() is None or not _has_class(el, "mq-math-mode") or len(tex) < 3:
            continue
        tex = tex[1:-1] if tex[0] == tex[-1] == "$" else tex
        replace_element(el, _wrap(tex, False))
        counts["mathquill"] += 1
    for el in root.xpath(".//*[@data-value and contains(@class, 'ql-formula')]"):
        tex = (el.get("data-value") or "").strip()
        if el.getparent() is not None and tex and _has_class(el, "ql-formula"):
            replace_element(el, _wrap(tex, False))
            counts["quill"] += 1
    for el in root.xpath(".//img[@data-mathml]"):
        if el.getparent() is None:
            continue
        math = parse_mathml(el.get("data-mathml") or "")
        tex = mathml_to_latex(math)[0] if math is not None else ""
        if tex:
            display = _stands_alone(el) and is_display(math)
            replace_element(el, _wrap(tex, display), block=display)
            counts["wiris"] += 1


# ---- math that documentation generators write as plain HTML ------------------------------------
# Three tools write formulas without any math markup (GAPDoc, hevea, docutils' math2html).
# Their pages say who made them (<meta name="generator">), and only then are these rules
# applied: on other pages a centred paragraph or an italic word is not a formula.


def _generator(root: etree._Element) -> str:
    for meta in root.iter("meta"):
        if (meta.get("name") or "").lower() == "generator":
            return (meta.get("content") or "").strip().lower()
    return ""


def _plain(el: etree._Element) -> str:
    return _WS.sub(" ", "".join(el.itertext())).strip()


def _gapdoc_math(root: etree._Element, counts: Counter) -> None:
    """GAPDoc (GAP's manuals): ``<span class="SimpleMath">`` is its inline math element (TeX
    ``$..$`` in the XML source) and ``<p class="center">`` a display formula."""
    for el in root.xpath(".//span[contains(@class, 'SimpleMath')]"):
        if el.getparent() is None or not _has_class(el, "SimpleMath") or _inside(el, _VERBATIM):
            continue
        tex = _plain(el)
        if tex:
            replace_element(el, _wrap(tex, False))
            counts["gapdoc"] += 1
    for el in root.xpath(".//p[contains(@class, 'center')]"):
        if _has_class(el, "center") and not len(el) and (el.text or "").strip() and "$" not in el.text:
            el.text = _wrap(el.text, True)
            counts["gapdoc"] += 1


def _docutils_limits(root: etree._Element) -> None:
    """docutils' math2html stacks a big operator's limits as upper, operator, lower
    (``<span class="limits"><sup>1</sup><span class="limit">∫</span><sub>0</sub>``): the upper
    limit moves last, so the text reads ``∫_{0}^{1}`` as TeX writes it."""
    for el in root.xpath(".//span[@class='limits']"):
        upper = el[0] if len(el) > 1 else None
        if upper is not None and upper.tag == "sup" and not (upper.tail or "").strip():
            upper.tail = None
            el.append(upper)


def _docutils_formulas(root: etree._Element, counts: Counter) -> None:
    """docutils' math2html (its HTML writer's default math output) writes a formula as HTML in
    ``<span class="formula">`` (inline) or ``<div class="formula">`` (display): italics, Unicode
    symbols, sub/sup (``_{}``/``^{}`` by now) and fractions as ``(a)/(b)``. The text a reader
    sees becomes the formula, as for GAPDoc."""
    for el in root.xpath(".//span[@class='formula'] | .//div[@class='formula']"):
        if el.getparent() is None or _inside(el, _VERBATIM) or any(
                _has_class(a, "formula") for a in el.iterancestors()):
            continue
        display = el.tag == "div"
        tex = _plain(el)
        if tex and "$" not in tex:
            replace_element(el, _wrap(tex, display), block=display)
            counts["docutils"] += 1


_HEVEA_ITALIC = "font-style:italic"
# An italic identifier this short is a variable or an argument name (hevea sets math-mode letters
# and \textit arguments alike: ``x``, ``expr``, ``n``); longer italic words are emphasis or
# command names ("integrate") and stay text.
_HEVEA_VARIABLE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9']{0,3}|[^\x00-\x7f])$")


def _hevea_displays(root: etree._Element, counts: Counter) -> None:
    """hevea lays display math out as ``<table class="display">`` (fractions and delimiters as
    cells): the outermost one becomes one ``$$..$$`` paragraph of its cells' text."""
    for el in root.xpath(".//table[contains(@class, 'display')]"):
        if el.getparent() is None or not _has_class(el, "display"):
            continue
        if any(isinstance(a.tag, str) and a.tag.lower() == "table" and _has_class(a, "display")
               for a in el.iterancestors()):
            continue
        tex = _WS.sub(" ", " ".join(el.itertext())).strip()  # cells apart: "x^{3} 3" is x³/3
        if tex:
            replace_element(el, _wrap(tex, True), block=True)
            counts["hevea"] += 1


def _hevea_italics(root: etree._Element, counts: Counter) -> None:
    for el in root.xpath(f".//span[contains(@style, '{_HEVEA_ITALIC}')]"):
        if el.getparent() is None or len(el) or _inside(el, _VERBATIM):
            continue
        text = (el.text or "").strip()
        if _HEVEA_VARIABLE.match(text):
            replace_element(el, _wrap(text, False))
            counts["hevea"] += 1


def _delims(text: str, counts: Counter) -> str:
    if "\\" not in text:
        return text

    def disp(m: re.Match) -> str:
        counts["tex_display"] += 1
        return _wrap(m.group(1), True)

    def inline(m: re.Match) -> str:
        counts["tex_inline"] += 1
        return _wrap(m.group(1), False)

    text = _DISPLAY_DELIMS.sub(disp, text)
    return _INLINE_DELIMS.sub(inline, text)


# Elements whose class says "math" and whose text is the TeX itself, without delimiters: Sphinx
# with jsMath (span.math / div.math). Sphinx with MathJax writes the delimiters itself
# (``\(..\)``), which the text pass turns into dollars. Texinfo's ``em.math`` (@math) is left as
# text: Maxima's manual writes every variable so ("base e"), and pages describing functions are
# not math pages (the dev labels count Maxima's session lines, not these).
_UNDELIMITED_TAGS = {"span": False, "div": True}
_MAX_UNDELIMITED = {False: 400, True: 2000}
_DELIMITED_START = ("\\(", "\\[", "$", "\\begin")


_PANDOC_MATH_XPATH = (".//span[contains(concat(' ', normalize-space(@class), ' '), ' math ') and *]"
                      " | .//eq[@env]")


def _wrappable(tex: str, display: bool) -> bool:
    """Undelimited TeX of a math element: not empty, not too long, not already delimited."""
    return bool(tex) and len(tex) <= _MAX_UNDELIMITED[display] and not tex.startswith(_DELIMITED_START)


def _pandoc_plain_math(root: etree._Element, counts: Counter) -> None:
    """pandoc's HTML without a math option (its default): ``<span class="math inline"><em>x</em>
    <sup>2</sup></span>``, Unicode and HTML formatting that sub/sup have already made ``x^{2}``;
    and GladTeX's ``<eq env="math|displaymath">`` (``pandoc --gladtex``), which holds the TeX.
    Spans of text only are _wrap_undelimited_math_class's."""
    for el in root.xpath(_PANDOC_MATH_XPATH):
        if el.getparent() is None or _inside(el, _VERBATIM):
            continue
        tex = _WS.sub(" ", "".join(el.itertext())).strip()
        display = (el.get("env") or "").lower() == "displaymath" or _has_class(el, "display")
        if not _wrappable(tex, display):
            continue
        replace_element(el, _wrap(tex, display), block=display and _stands_alone(el))
        counts["pandoc_plain_math" if el.tag == "span" else "gladtex"] += 1


_MAX_DATA_MATH = 4000


def _rewrite_data_math_style(root: etree._Element, counts: Counter) -> None:
    """GitLab's Markdown math, typeset in the browser: ``<code data-math-style="inline">a^2</code>``
    and ``<pre data-math-style="display"><code><span class="line">..</span></code></pre>``.

    Being code, it would otherwise stay as bare TeX without delimiters.
    """
    for el in root.xpath(".//*[@data-math-style]"):
        if el.getparent() is None:
            continue
        tex = "".join(el.itertext()).strip()
        if not tex or len(tex) > _MAX_DATA_MATH:
            continue
        display = (el.get("data-math-style") or "").strip().lower() == "display"
        replace_element(el, _wrap(tex, display), block=display)
        counts["data_math_style"] += 1


def _wrap_undelimited_math_class(root: etree._Element, counts: Counter) -> None:
    for el in list(root.iter(*_UNDELIMITED_TAGS)):
        if len(el) or el.getparent() is None or not _has_class(el, "math"):
            continue
        tex = (el.text or "").strip()
        # pandoc --katex writes display math as <span class="math display">.
        display = _UNDELIMITED_TAGS[el.tag.lower()] or _has_class(el, "display")
        if not _wrappable(tex, display):
            continue
        if _inside(el, _VERBATIM):
            continue
        el.text = _wrap(tex, display)
        if display and (el.tag.lower() == "div" or _stands_alone(el)):
            el.tag = "p"  # a paragraph of its own, as for Sphinx's delimited displays
        counts["math_class_undelimited"] += 1


# Forum BBCode: [itex]/[latex]/[math] inline, [tex] display (Physics Forums' convention). The
# body may hold "[" (``\sqrt[3]``, ``[0,1]``) but no other opening or closing tag, so that a scan
# from one opener stops at the next: linear on a page of openers without closers.
_BBCODE = re.compile(r"\[(itex|tex|latex|math)\]((?:[^\[]|\[(?!/|(?:itex|tex|latex|math)\]))"
                     r"{1,2000}?)\[/\1\]", re.I)


def _rewrite_bbcode(root: etree._Element, counts: Counter) -> None:
    def sub(m: re.Match) -> str:
        counts["bbcode"] += 1
        return _wrap(m.group(2), m.group(1).lower() == "tex")

    _rewrite_prose_text(root, ".//text()[contains(., '[/')]", lambda text: _BBCODE.sub(sub, text))


def _rewrite_prose_text(root: etree._Element, xpath: str, rewrite: Callable[[str], str]) -> None:
    """Apply ``rewrite`` to the text nodes ``xpath`` finds, outside code (pre, code, script...).

    The candidates are found by XPath in C (a Python walk over every element, with an ancestor
    check each, was a tenth of the extraction's time); a node is an element's text or its tail,
    whose holder is then the element's parent.
    """
    for node in root.xpath(xpath):
        owner = node.getparent()
        if owner is None or not isinstance(owner.tag, str):
            continue
        holder = owner if node.is_text else owner.getparent()
        if holder is None or not isinstance(holder.tag, str):
            continue
        if holder.tag.lower() in _VERBATIM or _inside(holder, _VERBATIM):
            continue
        if node.is_text:
            owner.text = rewrite(owner.text)
        else:
            owner.tail = rewrite(owner.tail)


# A single-dollar span, paired left to right as KaTeX and MathJax pair them ($$ is left alone).
_SINGLE_DOLLAR_SPAN = re.compile(r"(?<![\\$])\$(?!\$)([^$\n]{1,2000}?)\$(?!\$)")


def _trim_dollar_padding(text: str) -> str:
    """``$ n+1 $`` -> ``$n+1$``: where the page's renderer takes ``$`` as a delimiter, the padding
    is layout, and tools that read ``$..$`` as pandoc does (no space inside) would miss it."""
    return _SINGLE_DOLLAR_SPAN.sub(lambda m: f"${strip_tex(m.group(1))}$" if m.group(1).strip() else m.group(), text)


def _rewrite_text_delimiters(root: etree._Element, counts: Counter) -> None:
    # Only text nodes holding an opener.
    _rewrite_prose_text(root, ".//text()[contains(., '\\(') or contains(., '\\[')]",
                        lambda text: _delims(text, counts))


def _is_footnote_ref(el: etree._Element) -> bool:
    if el.tag.lower() != "sup":
        return False
    if (el.text or "").strip():
        return False
    links = [c for c in el if isinstance(c.tag, str)]
    return len(links) == 1 and links[0].tag.lower() == "a" and not (links[0].tail or "").strip()


def _rewrite_sub_sup(root: etree._Element, counts: Counter) -> None:
    # Innermost first, so that x<sup>a<sub>i</sub></sup> becomes x^{a_{i}}.
    nodes = [el for el in root.iter("sub", "sup")]
    for el in reversed(nodes):
        if el.getparent() is None or _inside(el, _VERBATIM) or _is_footnote_ref(el):
            continue
        inner = _WS.sub(" ", "".join(el.itertext())).strip()
        if not inner:
            _remove(el)
            continue
        mark = "^" if el.tag.lower() == "sup" else "_"
        replace_element(el, f"{mark}{{{inner}}}")
        counts["sub_sup"] += 1
