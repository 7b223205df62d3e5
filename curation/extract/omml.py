"""Word's equations in HTML saved from Word: OMML in a conditional comment, to TeX.

Word's "Save as Web Page" (and its clipboard HTML) writes each equation twice: the equation itself
as Office Math Markup (OMML) inside ``<!--[if gte msEquation 12]> ... <![endif]-->``, a comment
to every browser, and a picture for browsers in ``<![if !msEquation]> ... <![endif]>``. An HTML
parser keeps the comment as a comment and the picture has no alt text, so the formula left no
trace in the text. School and university pages written in Word carry their math this way.

``rewrite_word_equations`` turns each such comment into a ``<script type="math/tex">`` (the form
``math_dom`` already reads as MathJax's source) holding the TeX of the OMML, converted through
presentation MathML by ``omml_to_mathml`` and the MathML converter, and drops the pictures.
tests/test_omml.py checks it on pandoc's OMML of 49 formulas against MathJax's MathML of the same TeX.
"""

from __future__ import annotations

import re

from lxml import etree
from lxml import html as lxml_html

from curation.extract.mathml import FENCES, math_root, mathml_to_latex

# Word writes these markers verbatim. They are found with str.find, each closer searched once
# from its opener: a lazy regex rescans the rest of the page from every opener that has no closer.
_EQUATION_OPEN, _EQUATION_CLOSE = "<!--[if gte msEquation 12]>", "<![endif]-->"
_PICTURE_OPEN, _PICTURE_CLOSE = "<![if !msEquation]>", "<![endif]>"
# Accents are combining characters in OMML; MathML's converter knows their spacing forms.
_ACCENTS = {"\u0302": "^", "\u0303": "~", "\u0304": "\u00af", "\u0305": "\u00af", "\u0307": "\u02d9",
            "\u0308": "\u00a8", "\u20d7": "\u2192", "\u0306": "\u02d8", "\u030c": "\u02c7",
            "\u0301": "\u00b4", "\u0300": "`", "\u20d6": "\u2190", "\u203e": "\u00af"}
_SCRIPTS = {"double-struck": "double-struck", "script": "script", "fraktur": "fraktur",
            "sans-serif": "sans-serif", "monospace": "monospace"}
_INVISIBLE = dict.fromkeys(map(ord, "\u2061\u2062\u2063\u2064\u200b"), None)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _name(el: etree._Element) -> str:
    """OMML's local name, lowercased (an HTML parser keeps ``m:`` in the tag and lowercases it)."""
    if not isinstance(el.tag, str):
        return ""
    return el.tag.rsplit("}", 1)[-1].split(":", 1)[-1].lower()


def _kids(el: etree._Element) -> list[etree._Element]:
    return [c for c in el if isinstance(c.tag, str)]


def _child(el: etree._Element, name: str) -> etree._Element | None:
    return next((c for c in _kids(el) if _name(c) == name), None)


def _prop(el: etree._Element, pr: str, name: str) -> str | None:
    """The ``m:val`` of property ``name`` in the element's ``pr`` block (None when absent; an
    OMML on-off property written without a value is on)."""
    props = _child(el, pr)
    found = _child(props, name) if props is not None else None
    if found is None:
        return None
    for key, value in found.attrib.items():
        if key.rsplit("}", 1)[-1].split(":", 1)[-1].lower() == "val":
            return value
    return "on"


def _on(value: str | None) -> bool:
    return value is not None and value.lower() in ("1", "on", "true")


def _mml(tag: str, *kids: etree._Element, text: str | None = None, **attrs: str) -> etree._Element:
    el = etree.Element(tag, **attrs)
    el.extend(kids)
    if text is not None:
        el.text = text
    return el


def _row(items: list[etree._Element]) -> etree._Element:
    return items[0] if len(items) == 1 else _mml("mrow", *items)


def _run(run: etree._Element) -> list[etree._Element]:
    """A text run: numbers, identifiers and operators. Word's HTML puts the characters in
    ``<i>``/``<span>`` inside the run, pandoc's OMML in ``<m:t>``."""
    texts = [t for t in run.iter() if _name(t) == "t"]
    parts = texts if texts else [run]
    text = "".join("".join(p.itertext()) for p in parts if _name(p) != "rpr").translate(_INVISIBLE)
    if not text.strip():
        return []
    style = (_prop(run, "rpr", "sty") or "i").lower()
    if _prop(run, "rpr", "nor") is not None:
        return [_mml("mtext", text=text)]
    plain = style in ("p", "b")
    # The alphabet (m:scr) or, in the roman one, the weight; bold italic is how Word and pandoc
    # write a bold vector, \mathbf in TeX.
    script = (_prop(run, "rpr", "scr") or "roman").lower()
    variant = _SCRIPTS.get(script) or ("bold" if style in ("b", "bi") else None)
    out: list[etree._Element] = []
    for m in re.finditer(r"\d+(?:\.\d+)?|[^\W\d_]+|\S", text):
        tok = m.group(0)
        if _NUMBER.fullmatch(tok):
            out.append(_mml("mn", text=tok))
        elif tok.isalpha():
            # Italic letters are each an identifier (x y is xy); an upright run is one (sin).
            for piece in ([tok] if plain else list(tok)):
                mi = _mml("mi", text=piece)
                if variant:
                    mi.set("mathvariant", variant)
                elif plain and len(piece) == 1:
                    mi.set("mathvariant", "normal")
                out.append(mi)
        else:
            mo = _mml("mo", text=tok)
            if tok in FENCES:
                mo.set("stretchy", "false")  # a bracket typed in a run: (x), not \left(x\right)
            out.append(mo)
    return out


def _arg(el: etree._Element | None) -> etree._Element:
    """An argument element (``e``, ``num``, ``sub``...) as one MathML node."""
    return _row(_convert_children(el)) if el is not None else _mml("mrow")


def _convert_children(el: etree._Element | None) -> list[etree._Element]:
    out: list[etree._Element] = []
    for child in _kids(el) if el is not None else []:
        out.extend(_convert(child))
    return out


def _convert(el: etree._Element) -> list[etree._Element]:
    name = _name(el)
    if name.endswith("pr"):  # properties (rPr, fPr, naryPr...) and Word's ctrlPr formatting
        return []
    if name == "r":
        return _run(el)
    if name == "f":
        num, den = _arg(_child(el, "num")), _arg(_child(el, "den"))
        kind = (_prop(el, "fpr", "type") or "bar").lower()
        if kind == "lin":
            return [num, _mml("mo", text="/"), den]
        frac = _mml("mfrac", num, den)
        if kind == "nobar":
            frac.set("linethickness", "0")
        return [frac]
    if name in ("ssup", "ssub", "ssubsup"):
        base = _arg(_child(el, "e"))
        if name == "ssup":
            return [_mml("msup", base, _arg(_child(el, "sup")))]
        if name == "ssub":
            return [_mml("msub", base, _arg(_child(el, "sub")))]
        return [_mml("msubsup", base, _arg(_child(el, "sub")), _arg(_child(el, "sup")))]
    if name == "spre":  # scripts before the base
        return [_mml("msubsup", _mml("mrow"), _arg(_child(el, "sub")), _arg(_child(el, "sup"))),
                _arg(_child(el, "e"))]
    if name == "rad":
        base, deg = _arg(_child(el, "e")), _child(el, "deg")
        if _on(_prop(el, "radpr", "deghide")) or deg is None or not _convert_children(deg):
            return [_mml("msqrt", base)]
        return [_mml("mroot", base, _arg(deg))]
    if name == "d":
        begin = _prop(el, "dpr", "begchr")
        end = _prop(el, "dpr", "endchr")
        sep = _prop(el, "dpr", "sepchr")
        items: list[etree._Element] = []
        if (begin if begin is not None else "(") not in ("", "on"):
            items.append(_mml("mo", text=begin if begin is not None else "("))
        for i, arg in enumerate(c for c in _kids(el) if _name(c) == "e"):
            if i:
                items.append(_mml("mo", text=sep if sep not in (None, "on") else "|"))
            items.append(_arg(arg))
        if (end if end is not None else ")") not in ("", "on"):
            items.append(_mml("mo", text=end if end is not None else ")"))
        return [_mml("mrow", *items)]
    if name == "nary":
        op = _mml("mo", text=_prop(el, "narypr", "chr") or "\u222b")
        sub = None if _on(_prop(el, "narypr", "subhide")) else _child(el, "sub")
        sup = None if _on(_prop(el, "narypr", "suphide")) else _child(el, "sup")
        sub = sub if sub is not None and _convert_children(sub) else None
        sup = sup if sup is not None and _convert_children(sup) else None
        below = (_prop(el, "narypr", "limloc") or "undOvr").lower() == "undovr"
        if sub is not None and sup is not None:
            op = _mml("munderover" if below else "msubsup", op, _arg(sub), _arg(sup))
        elif sub is not None:
            op = _mml("munder" if below else "msub", op, _arg(sub))
        elif sup is not None:
            op = _mml("mover" if below else "msup", op, _arg(sup))
        return [op, _arg(_child(el, "e"))]
    if name == "func":
        return [*_convert_children(_child(el, "fname")), _arg(_child(el, "e"))]
    if name == "acc":
        mark = _prop(el, "accpr", "chr") or "\u0302"
        return [_mml("mover", _arg(_child(el, "e")), _mml("mo", text=_ACCENTS.get(mark, mark)))]
    if name == "bar":
        base = _arg(_child(el, "e"))
        if (_prop(el, "barpr", "pos") or "bot").lower() == "top":
            return [_mml("mover", base, _mml("mo", text="\u00af"), accent="true")]
        return [_mml("munder", base, _mml("mo", text="\u0332"), accentunder="true")]
    if name == "groupchr":
        mark = _mml("mo", text=_prop(el, "groupchrpr", "chr") or "\u23df")
        base = _arg(_child(el, "e"))
        top = (_prop(el, "groupchrpr", "pos") or "bot").lower() == "top"
        return [_mml("mover" if top else "munder", base, mark)]
    if name in ("limlow", "limupp"):
        return [_mml("munder" if name == "limlow" else "mover", _arg(_child(el, "e")), _arg(_child(el, "lim")))]
    if name == "m":
        rows = [_mml("mtr", *(_mml("mtd", _arg(c)) for c in _kids(r) if _name(c) == "e"))
                for r in _kids(el) if _name(r) == "mr"]
        return [_mml("mtable", *rows)]
    if name == "eqarr":
        # One row per equation; "&" marks the alignment point, not a character.
        rows = []
        for c in (c for c in _kids(el) if _name(c) == "e"):
            cell = [i for i in _convert_children(c) if not (i.tag == "mo" and i.text == "&")]
            rows.append(_mml("mtr", _mml("mtd", _row(cell) if cell else _mml("mrow"))))
        return [_mml("mtable", *rows)]
    # oMath, oMathPara, box, borderBox, phant, argument elements, and the HTML spans Word wraps
    # around OMML: their content.
    return _convert_children(el)


def omml_to_mathml(omml: etree._Element) -> etree._Element | None:
    """A ``<math>`` element from an OMML ``oMath``/``oMathPara`` (or anything holding one)."""
    items = _convert(omml)
    if not items or not "".join(_row(items).itertext()).strip():
        return None
    return math_root(items)


def _equation_tex(fragment: str) -> tuple[str, bool] | None:
    try:
        root = lxml_html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        return None
    math = omml_to_mathml(root)
    tex = mathml_to_latex(math)[0] if math is not None else ""
    if not tex:
        return None
    return tex, any(_name(el) == "omathpara" for el in root.iter())


def _blocks(html: str, opener: str, closer: str):
    """(start, end, inner) of each opener...closer block, in order; an opener without a closer
    ends the search (so does every later one: none of them has a closer either)."""
    pos = 0
    while (start := html.find(opener, pos)) >= 0:
        end = html.find(closer, start + len(opener))
        if end < 0:
            return
        yield start, end + len(closer), html[start + len(opener):end]
        pos = end + len(closer)


def rewrite_word_equations(html: str) -> tuple[str, int]:
    """The page with each Word equation as a MathJax source script and its picture dropped;
    and how many equations were rewritten."""
    out: list[str] = []
    pos = count = 0
    for start, end, inner in _blocks(html, _EQUATION_OPEN, _EQUATION_CLOSE):
        converted = _equation_tex(inner)
        if converted is None:
            continue
        tex, display = converted
        if "</" in tex:  # script text is raw: nothing may close the element early
            continue
        count += 1
        kind = "math/tex; mode=display" if display else "math/tex"
        out.extend((html[pos:start], f'<script type="{kind}">{tex}</script>'))
        pos = end
    if not count:
        return html, 0
    out.append(html[pos:])
    page = "".join(out)
    kept: list[str] = []
    pos = 0
    for start, end, _ in _blocks(page, _PICTURE_OPEN, _PICTURE_CLOSE):
        kept.append(page[pos:start])
        pos = end
    kept.append(page[pos:])
    return "".join(kept), count
