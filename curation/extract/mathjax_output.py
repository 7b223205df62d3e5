"""MathJax 3 output without its MathML: rebuild the formula's MathML from the rendering itself.

MathJax 3 writes each formula as an ``<mjx-container>`` holding the visual rendering (SVG or
CHTML) and, by default, an assistive ``<math>`` copy, which ``math_dom`` converts. Pages rendered
ahead of time (static-site generators typesetting on the server, pages saved from a browser)
often leave that copy out, and then the rendering is all there is: glyphs drawn from a font,
with no text a text extractor can read, so the formula vanished from the page's text.

The rendering keeps the formula's structure, though, and every glyph names its character:

* SVG: one ``<g data-mml-node="mfrac">`` per MathML node, and each glyph a
  ``<use data-c="1D465" xlink:href="#MJX-4-TEX-I-1D465">`` (or ``<path data-c=..>`` without
  the font cache; MathJax before 3.2 wrote no ``data-c`` and the code point ends the href);
* CHTML: one ``<mjx-mfrac>`` per MathML node, with layout elements around the children
  (``mjx-num``, ``mjx-script``, ``mjx-surd``) and each glyph an ``<mjx-c class="mjx-c1D465 TEX-I">``.

``rendered_mathml`` turns either back into presentation MathML (the node types, the characters,
and the alphabet: ``𝑥`` is an italic x, ``ℝ`` a double-struck R), which the MathML converter then
writes as LaTeX. The structure MathJax puts in a different order than MathML (SVG and CHTML draw
a ``msubsup``'s superscript before its subscript; CHTML an ``mover``'s accent before its base)
is put back. tests/test_mathjax_output.py checks the result against MathJax's own assistive
MathML of the same formulas.
"""

from __future__ import annotations

import re
import unicodedata

from lxml import etree

from curation.extract.mathml import FENCES, math_root

# MathML elements MathJax writes as nodes (its internal TeXAtom is an mrow).
_NODES = {
    "math", "mi", "mn", "mo", "mtext", "ms", "mspace", "mrow", "mfrac", "msqrt", "mroot", "mstyle",
    "merror", "mpadded", "mphantom", "menclose", "msub", "msup", "msubsup", "munder", "mover",
    "munderover", "mmultiscripts", "mtable", "mtr", "mlabeledtr", "mtd", "maction", "semantics",
    "texatom", "mglyph", "none", "mprescripts",
}
_TOKENS = {"mi", "mn", "mo", "mtext", "ms"}
# Nodes whose drawing is not content: a phantom is invisible, mspace is blank.
_DROPPED = {"mphantom", "mspace", "mglyph"}

# A glyph's font, from the SVG cache id (``TEX-B-..``) or the CHTML font class (``TEX-B``), as
# MathML's mathvariant. MathJax's size and operator fonts (S1-S4, SO, LO) are drawings of
# ordinary characters. SVG and CHTML name some fonts differently (double-struck D / A).
_FONT_VARIANT = {
    "B": "bold", "BI": "bold-italic", "I": "italic", "MI": "italic",
    "D": "double-struck", "A": "double-struck", "F": "fraktur", "FR": "fraktur", "BF": "bold-fraktur",
    "FRB": "bold-fraktur", "S": "script", "SC": "script", "BS": "bold-script", "C": "script",
    "CB": "bold-script", "BC": "bold-script", "SS": "sans-serif", "BSS": "bold-sans-serif",
    "SSB": "bold-sans-serif", "SSI": "sans-serif-italic", "SSBI": "sans-serif-bold-italic",
    "M": "monospace", "T": "monospace",
}
# Unicode names of the mathematical alphabets (U+1D400-1D7FF), longest first so "BOLD ITALIC"
# is not read as "BOLD".
_NAME_VARIANT = (
    ("SANS-SERIF BOLD ITALIC", "sans-serif-bold-italic"), ("SANS-SERIF BOLD", "bold-sans-serif"),
    ("SANS-SERIF ITALIC", "sans-serif-italic"), ("BOLD ITALIC", "bold-italic"),
    ("BOLD SCRIPT", "bold-script"), ("BOLD FRAKTUR", "bold-fraktur"), ("SANS-SERIF", "sans-serif"),
    ("MONOSPACE", "monospace"), ("DOUBLE-STRUCK", "double-struck"), ("FRAKTUR", "fraktur"),
    ("BLACK-LETTER", "fraktur"), ("SCRIPT", "script"), ("BOLD", "bold"), ("ITALIC", "italic"),
    ("PLANCK CONSTANT", "italic"),
)
# Letterlike symbols that fill the gaps of those alphabets (Planck's ℎ is the italic h, ℝ the
# double-struck R). Not ℑ and ℜ, which are also \Im and \Re, nor ℓ, ℘ and ℏ, symbols of their own.
_GAP_LETTERS = set("\u210e\u212c\u2130\u2131\u210b\u2110\u2112\u2133\u211b\u212f\u210a\u2134"
                   "\u212d\u210c\u2128\u2102\u210d\u2115\u2119\u211a\u211d\u2124")
_HREF_GLYPH = re.compile(r"-TEX-([A-Z0-9]+)-([0-9A-Fa-f]+)$")
_CHTML_CHAR = re.compile(r"(?:^|\s)mjx-c([0-9A-Fa-f]+)(?:\s|$)")
_CHTML_FONT = re.compile(r"(?:^|\s)TEX-([A-Z0-9]+)(?:\s|$)")
# Pieces of stretched delimiters (U+239B-23AD) stand for the delimiter they build.
_PIECES = {
    **dict.fromkeys("\u239b\u239c\u239d", "("), **dict.fromkeys("\u239e\u239f\u23a0", ")"),
    **dict.fromkeys("\u23a1\u23a2\u23a3", "["), **dict.fromkeys("\u23a4\u23a5\u23a6", "]"),
    **dict.fromkeys("\u23a7\u23a8\u23a9\u23aa", "{"), **dict.fromkeys("\u23ab\u23ac\u23ad", "}"),
    "\u23ae": "\u222b",
}
_SURDS = {"\u221a", "\u23b7"}
_BRACE_PIECES = {**dict.fromkeys("\ue150\ue151\ue155", "\u23de"), **dict.fromkeys("\ue152\ue153\ue156", "\u23df")}
# Accents MathJax draws with combining characters, as its MathML writes them.
_ACCENTS = {"\u20d7": "\u2192"}
_SIZE_FONTS = {"S1", "S2", "S3", "S4", "SO", "LO"}


def _local(el: etree._Element) -> str:
    return el.tag.rsplit("}", 1)[-1].lower() if isinstance(el.tag, str) else ""


Glyph = tuple[str, str | None, bool]  # character, mathvariant, drawn stretched (size font, pieces)


def glyph(code: str, font: str | None) -> Glyph:
    """The character, mathvariant (None: the font's default) and stretchedness of a glyph given by
    its hex code point and font id."""
    try:
        ch = chr(int(code, 16))
    except (ValueError, OverflowError):
        return "", None, False
    if 0xE000 <= ord(ch) <= 0xF8FF:
        # MathJax's private pieces: of horizontal braces (their corners say which), or others
        # (extensions) that stand for no character of their own.
        return _BRACE_PIECES.get(ch, ""), None, True
    stretched = font in _SIZE_FONTS or ch in _PIECES
    variant = _FONT_VARIANT.get(font or "")
    if 0x1D400 <= ord(ch) <= 0x1D7FF or ch in _GAP_LETTERS:
        name = unicodedata.name(ch, "")
        if name:
            for words, var in _NAME_VARIANT:
                if words in name:
                    plain = unicodedata.normalize("NFKC", ch)
                    if len(plain) == 1:
                        return plain, var, False
                    break
    return _PIECES.get(ch, _ACCENTS.get(ch, ch)), variant, stretched


def _token(tag: str, chars: list[Glyph]) -> etree._Element:
    """A MathML token from its glyphs; the alphabet becomes ``mathvariant`` where MathML's
    default (italic for a one-letter ``mi``, normal otherwise) is not it."""
    text = "".join(c for c, _, _ in chars)
    el = etree.Element(tag)
    stretched = any(s for _, _, s in chars)
    if tag == "mo" and stretched:
        # One operator drawn in pieces (a tall brace, a long arrow and its extension): its
        # first piece names it.
        text = next((c for c, _, _ in chars if c.strip()), "")
    elif tag == "mo" and text in FENCES:
        el.set("stretchy", "false")  # drawn at its natural size: (x), not \left(x\right)
    el.text = text
    variants = {v for c, v, _ in chars if c.strip()}
    variant = variants.pop() if len(variants) == 1 else None
    if tag == "mi":
        default = "italic" if len(text) == 1 else None
        if variant == default:
            variant = None
        elif variant is None and len(text) == 1 and text.isalpha():
            variant = "normal"
    if variant:
        el.set("mathvariant", variant)
    return el


# -- SVG ---------------------------------------------------------------------------------------

def _svg_glyphs(node: etree._Element) -> list[Glyph]:
    out: list[Glyph] = []

    def walk(el: etree._Element, nested: bool = False) -> None:
        for child in el:
            name = _local(child)
            if not name or child.get("data-mml-node"):
                continue
            if name == "svg":  # an extension piece, scaled to length in a nested viewport
                walk(child, True)
                continue
            code = child.get("data-c")
            href = child.get("{http://www.w3.org/1999/xlink}href") or child.get("xlink:href") or child.get("href") or ""
            m = _HREF_GLYPH.search(href)
            if name == "text":
                out.append(("".join(child.itertext()), None, False))
            elif code or m:
                c, variant, stretched = glyph(code or m.group(2), m.group(1) if m else None)
                out.append((c, variant, stretched or nested))
                continue  # a group with data-c is one glyph drawn from parts
            walk(child, nested)

    walk(node)
    return out


def _svg_children(node: etree._Element) -> list[etree._Element]:
    """The nearest descendants that are MathML nodes, in document order."""
    out: list[etree._Element] = []
    for child in node:
        if not isinstance(child.tag, str):
            continue
        if child.get("data-mml-node"):
            out.append(child)
        else:
            out.extend(_svg_children(child))
    return out


def _translate_y(el: etree._Element) -> float:
    m = re.search(r"translate\(\s*[-\d.e]+[\s,]+([-\d.e]+)", el.get("transform") or "")
    return float(m.group(1)) if m else 0.0


def _svg_node(node: etree._Element) -> etree._Element | None:
    kind = node.get("data-mml-node", "").lower()
    if kind in _DROPPED:
        return None
    if kind in _TOKENS:
        return _token(kind, _svg_glyphs(node))
    tag = "mrow" if kind not in _NODES or kind == "texatom" else kind
    kids = _svg_children(node)
    if kind in ("msqrt", "mroot"):
        # The radical sign is drawn as an mo of the node itself, after the base and index.
        kids = [k for k in kids if not (k.get("data-mml-node") == "mo"
                                        and {c for c, _, _ in _svg_glyphs(k)} <= _SURDS | {""})]
    if kind in ("msubsup", "munderover") and len(kids) == 3:
        # MathML's order is base, lower script, upper script; SVG draws a superscript before its
        # subscript (and limits set as scripts likewise). The upper one sits higher: y points up.
        base, a, b = kids
        kids = [base, b, a] if _translate_y(a) > _translate_y(b) else kids
    out = _assemble(tag, [_svg_node(k) for k in kids])
    if kind == "mfrac" and out is not None and not any(_local(c) == "rect" for c in node):
        out.set("linethickness", "0")  # \binom: a fraction drawn without its bar
    return out


# -- CHTML -------------------------------------------------------------------------------------

def _chtml_kind(el: etree._Element) -> str | None:
    name = _local(el)
    if name.startswith("mjx-") and name[4:] in _NODES:
        return name[4:]
    return None


def _chtml_glyphs(node: etree._Element) -> list[Glyph]:
    out: list[Glyph] = []
    for el in node.iter():
        name = _local(el)
        cls = el.get("class") or ""
        if name == "mjx-c" or name.startswith("mjx-stretchy"):
            m = _CHTML_CHAR.search(cls)
            if m:
                f = _CHTML_FONT.search(cls)
                c, variant, stretched = glyph(m.group(1), f.group(1) if f else None)
                out.append((c, variant, stretched or name != "mjx-c"))
            elif (el.text or "").strip():  # MathJax 4 writes the character as text
                out.append((el.text.strip(), None, False))
        elif name == "mjx-utext":  # a character no MathJax font has, written as text
            out.append(("".join(el.itertext()), None, False))
    if out and _local(node) == "mjx-mi" and "mjx-cal" in (node.get("class") or ""):
        out = [(c, "script", s) for c, _, s in out]
    return out


def _chtml_children(el: etree._Element, skip: frozenset[str] = frozenset()) -> list[etree._Element]:
    out: list[etree._Element] = []
    for child in el:
        if not isinstance(child.tag, str) or _local(child) in skip:
            continue
        if _chtml_kind(child):
            out.append(child)
        else:
            out.extend(_chtml_children(child, skip))
    return out


def _first(el: etree._Element, name: str) -> etree._Element | None:
    """The first layout element ``name`` of this node, not of a node nested in it (an outer
    fraction's denominator comes after the inner fraction's in document order)."""
    for child in el:
        if not isinstance(child.tag, str) or _chtml_kind(child):
            continue
        if _local(child) == name:
            return child
        found = _first(child, name)
        if found is not None:
            return found
    return None


def _chtml_part(node: etree._Element, name: str) -> etree._Element | None:
    """The MathML content of a layout part (``mjx-num``, ``mjx-base``...) as one node."""
    part = _first(node, name)
    if part is None:
        return None
    return _assemble("mrow", [_chtml_node(k) for k in _chtml_children(part)], collapse=True)


def _chtml_node(node: etree._Element) -> etree._Element | None:
    kind = _chtml_kind(node) or "mrow"
    if kind in _DROPPED:
        return None
    if kind in _TOKENS:
        return _token(kind, _chtml_glyphs(node))
    tag = "mrow" if kind == "texatom" else kind
    if kind == "mfrac":
        out = _assemble(tag, [_chtml_part(node, "mjx-num"), _chtml_part(node, "mjx-den")])
        if out is not None and _first(node, "mjx-line") is None:
            out.set("linethickness", "0")  # \binom: a fraction drawn without its bar
        return out
    if kind == "msqrt":
        return _assemble(tag, [_chtml_node(k) for k in _chtml_children(node, frozenset({"mjx-surd"}))])
    if kind == "mroot":
        index = _chtml_part(node, "mjx-root")
        sqrt = _first(node, "mjx-sqrt")
        base = _assemble("mrow", [_chtml_node(k) for k in _chtml_children(sqrt, frozenset({"mjx-surd"}))]
                         if sqrt is not None else [], collapse=True)
        return _assemble(tag, [base, index])
    if kind == "munderover" and _first(node, "mjx-over") is not None:
        # Limits set above and below: the over part, then a box holding a layout munder (or
        # mover) of the base and the under part.
        box = _first(node, "mjx-box")
        inner = next((c for c in box if _local(c) in ("mjx-munder", "mjx-mover")), box) if box is not None else node
        return _assemble(tag, [_chtml_part(inner, "mjx-base"), _chtml_part(inner, "mjx-under"),
                               _chtml_part(node, "mjx-over")])
    if kind in ("munder", "mover") and _first(node, "mjx-base") is not None:
        parts = ("mjx-base", "mjx-under") if kind == "munder" else ("mjx-base", "mjx-over")
        return _assemble(tag, [_chtml_part(node, p) for p in parts])
    if kind in ("msub", "msup", "msubsup", "munder", "mover", "munderover"):
        # Base first, then the scripts box; a superscript is drawn above (before) a subscript.
        kids = [k for k in node if isinstance(k.tag, str)]
        script = next((k for k in kids if _local(k) == "mjx-script"), None)
        base = [_chtml_node(k) for k in kids if k is not script and _chtml_kind(k)]
        scripts = [_chtml_node(k) for k in _chtml_children(script)] if script is not None else []
        if kind in ("msubsup", "munderover") and len(scripts) == 2:
            scripts.reverse()
        return _assemble(tag, [*base[:1], *scripts])
    return _assemble(tag, [_chtml_node(k) for k in _chtml_children(node, frozenset({"mjx-labels"}))])


def _assemble(tag: str, kids: list[etree._Element | None], collapse: bool = False) -> etree._Element | None:
    kids_ok = [k if k is not None else etree.Element("mrow") for k in kids]
    if collapse and len(kids_ok) == 1:
        return kids_ok[0]
    el = etree.Element(tag)
    el.extend(kids_ok)
    return el


# -- entry point -------------------------------------------------------------------------------

def rendered_mathml(container: etree._Element) -> etree._Element | None:
    """A ``<math>`` element rebuilt from an ``<mjx-container>``'s SVG or CHTML rendering, or None
    when the container holds neither (or nothing but empty nodes)."""
    root = None
    for el in container.iter():
        if el.get("data-mml-node") == "math":
            root = _svg_node(el)
            break
        if _local(el) == "mjx-math":
            root = _chtml_node(el)
            break
    if root is None or not "".join(root.itertext()).strip():
        return None
    display = (container.get("display") or "").lower() in ("true", "block")
    return math_root(list(root) if root.tag in ("mrow", "math") else [root], display)
