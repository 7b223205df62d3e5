"""MathML to LaTeX: the annotation first, then ``alttext``, then a conversion of presentation MathML.

The conversion uses the XSLT stylesheet (xsltml, Vasil Yaroshevich) that ships inside the
``py-asciimath`` package, run by lxml; it is compiled once per process. We do not use
py-asciimath's own entry point because it validates against a DTD and resolves entities.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache

from lxml import etree

MATHML_NS = "http://www.w3.org/1998/Math/MathML"
TEX_ENCODINGS = ("application/x-tex", "application/x-latex", "tex", "latex", "text/x-tex")
_WS = re.compile(r"\s+")
_DISPLAYSTYLE = re.compile(r"^\{\\displaystyle\s*(.*)\}$", re.S)


# Brackets the stylesheet writes as \left..\right unless their <mo> says stretchy="false": the
# readers that rebuild MathML from a rendering or from Word's markup mark the ones drawn at their
# natural size, so (x) stays (x).
FENCES = frozenset("()[]{}|\u2016\u2225\u2223\u27e8\u27e9\u230a\u230b\u2308\u2309")


def math_root(items: list[etree._Element], display: bool = False) -> etree._Element:
    """A ``<math>`` element holding ``items``, presentation MathML built without a namespace (the
    stylesheet matches MathML's namespace only, so every element gets it)."""
    math = etree.Element(f"{{{MATHML_NS}}}math", nsmap={None: MATHML_NS})
    if display:
        math.set("display", "block")
    math.extend(items)
    for el in math.iter():
        if isinstance(el.tag, str) and not el.tag.startswith("{"):
            el.tag = f"{{{MATHML_NS}}}{el.tag}"
    return math


def _local(tag: object) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1].lower()


def strip_tex(tex: str) -> str:
    """``tex.strip()``, except that a trailing odd run of backslashes keeps a space after it.

    ``\\ `` is TeX's control space: Sphinx pages write ``\\(\\ \\star\\ \\)``, and stripping its
    space left ``$\\ \\star\\$``, whose ``\\$`` is an escaped dollar, not the closing delimiter
    (python-sasmodels-doc, bench/unseen_packages.py round 5). A TeX string never ends in a lone
    backslash, so the space goes back whoever stripped it first; an even run (``\\\\``, a line
    break) escapes nothing.
    """
    tex = tex.strip()
    if tex.endswith("\\") and (len(tex) - len(tex.rstrip("\\"))) % 2:
        tex += " "
    return tex


def squash_tex(tex: str) -> str:
    """Whitespace runs to one space, stripped as ``strip_tex`` strips."""
    return strip_tex(_WS.sub(" ", tex))


def clean_tex(tex: str) -> str:
    """Collapse whitespace and drop MediaWiki's ``{\\displaystyle ...}`` wrapper."""
    tex = squash_tex(tex)
    m = _DISPLAYSTYLE.match(tex)
    return squash_tex(m.group(1)) if m else tex


def tex_annotation(math_el: etree._Element) -> str | None:
    for el in math_el.iter():
        if _local(el.tag) == "annotation":
            enc = (el.get("encoding") or "").strip().lower()
            if enc in TEX_ENCODINGS and (el.text or "").strip():
                return clean_tex(el.text)
    return None


@lru_cache(maxsize=1)
def _transformer() -> etree.XSLT | None:
    try:
        import py_asciimath

        xsl = os.path.join(os.path.dirname(py_asciimath.__file__), "translation", "mathml2tex", "mmltex.xsl")
        parser = etree.XMLParser(resolve_entities=False, no_network=True)
        return etree.XSLT(etree.parse(xsl, parser))
    except Exception:  # the package or its stylesheet is missing: fall back to text content
        return None


_XMLNS = re.compile(rb"^<([A-Za-z0-9_:]*math)\b")
# A default namespace on <math> that is not MathML's: an unexpanded entity (``xmlns="&mathml;"``,
# declared in the DOCTYPE of the Axiom book's XHTML, which the HTML parser does not read) or a typo.
# The stylesheet matches MathML's namespace only and would print the bare text ("13930" for 139/30).
_FOREIGN_XMLNS = re.compile(
    rb'^(<math\b[^>]*?\sxmlns\s*=\s*)(["\'])(?!' + re.escape(MATHML_NS.encode()) + rb'\2)[^"\']*\2')
# xsltml writes <mspace width=".."/> as an invisible rule: a space in the source is enough (a
# spacing command at either end would leave a backslash before the closing dollar).
_MSPACE = re.compile(r"\\phantom\{\\rule\{[^{}]{0,20}\}\{0ex\}\}")


def convert_presentation(math_el: etree._Element) -> str | None:
    """Convert presentation MathML with the xsltml stylesheet; None when it fails."""
    transform = _transformer()
    if transform is None:
        return None
    try:
        raw = etree.tostring(math_el, encoding="utf-8", with_tail=False)
        if b"xmlns" not in raw.split(b">", 1)[0]:
            raw = _XMLNS.sub(rb'<math xmlns="http://www.w3.org/1998/Math/MathML"', raw, count=1)
        else:
            raw = _FOREIGN_XMLNS.sub(rb'\1"' + MATHML_NS.encode() + rb'"', raw, count=1)
        parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=True, huge_tree=False)
        doc = etree.fromstring(raw, parser)
        if doc is None:
            return None
        # Drop annotations that are not TeX (e.g. content MathML): the stylesheet would print them.
        for el in list(doc.iter()):
            if _local(el.tag) in ("annotation", "annotation-xml") and el.getparent() is not None:
                el.getparent().remove(el)
        out = str(transform(doc)).strip()
    except Exception:
        return None
    out = _MSPACE.sub(" ", out.strip("$")).strip()
    if out.startswith("\\[") and out.endswith("\\]"):
        out = out[2:-2]
    return squash_tex(out) or None


def mathml_to_latex(math_el: etree._Element) -> tuple[str, str]:
    """Return (latex, how) where how is ``annotation``, ``alttext``, ``converted`` or ``text``."""
    tex = tex_annotation(math_el)
    if tex:
        return tex, "annotation"
    alt = (math_el.get("alttext") or "").strip()
    if alt:
        return clean_tex(alt), "alttext"
    conv = convert_presentation(math_el)
    if conv:
        return conv, "converted"
    return _WS.sub(" ", "".join(math_el.itertext())).strip(), "text"


def is_display(math_el: etree._Element) -> bool:
    return (math_el.get("display") or "").lower() == "block" or (math_el.get("mode") or "").lower() == "display"
