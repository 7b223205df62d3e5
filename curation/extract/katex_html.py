"""KaTeX's HTML rendering without its MathML (``output: "html"``): rebuild the formula's MathML.

KaTeX writes each formula twice, a ``.katex-mathml`` copy whose TeX annotation ``math_dom``
reads, and the visual ``.katex-html``. Sites that configure ``output: "html"`` (a lighter page)
ship only the second, and it used to be dropped with the other visual copies: the formula left
no trace in the text. Its spans still say what they draw:

* atoms by class: ``mord`` (a letter, digit or group), ``mop``, ``mbin``, ``mrel``, ``mopen``,
  ``mclose``, ``mpunct``; fonts by class (``mathnormal``, ``mathbf``, ``mathbb``...);
* structure by class (``msupsub``, ``mfrac``, ``sqrt`` and ``root``, ``accent``, ``op-limits``,
  ``mtable``, ``overline``), with the parts stacked in a ``vlist`` whose rows each carry their
  height (``top`` against the row's ``pstrut``): a superscript or numerator sits higher than a
  subscript or denominator.

``katex_html_mathml`` reads that back as presentation MathML for the MathML converter.
tests/test_katex_html.py checks it against KaTeX's own MathML of the same formulas.
"""

from __future__ import annotations

import re
import unicodedata

from lxml import etree

from curation.extract.mathml import FENCES, math_root

_SKIP = {"strut", "pstrut", "mspace", "vlist-s", "nulldelimiter", "frac-line", "hide-tail",
         "arraycolsep", "overline-line", "underline-line", "katex-mathml"}
_OPERATOR_ATOMS = {"mbin", "mrel", "mopen", "mclose", "mpunct"}
_FONT_VARIANT = {
    "mathit": "italic", "mathrm": "normal", "mainrm": "normal", "mathbf": "bold",
    "boldsymbol": "bold-italic", "mathbb": "double-struck", "mathcal": "script", "mathscr": "script",
    "mathfrak": "fraktur", "mathsf": "sans-serif", "mathsfit": "sans-serif-italic", "mathtt": "monospace",
}
# Accent glyphs as KaTeX draws them, as its MathML writes them.
_ACCENTS = {"\u02c9": "\u00af", "\u02dc": "~", "\u02d9": "\u02d9", "\u00a8": "\u00a8", "\u02c7": "\u02c7",
            "\u02d8": "\u02d8", "\u00b4": "\u00b4", "`": "`", "\u02da": "\u02da"}
# KaTeX's private glyph that strikes through the relation after it (\neq, \not\equiv).
_NEGATION = "\ue020"
_TOP = re.compile(r"top:\s*(-?[\d.]+)em")
_HEIGHT = re.compile(r"height:\s*([\d.]+)em")


def _classes(el: etree._Element) -> set[str]:
    return set((el.get("class") or "").split())


def _kids(el: etree._Element) -> list[etree._Element]:
    return [c for c in el if isinstance(c.tag, str)]


def _mrow(items: list[etree._Element]) -> etree._Element:
    if len(items) == 1:
        return items[0]
    row = etree.Element("mrow")
    row.extend(items)
    return row


def _el(tag: str, *kids: etree._Element, **attrs: str) -> etree._Element:
    el = etree.Element(tag, **attrs)
    el.extend(kids)
    return el


def _rows(owner: etree._Element) -> list[tuple[float, etree._Element]]:
    """(height above the baseline, row) of the first vlist under ``owner``, top row first."""
    vlist_t = next((d for d in owner.iter() if "vlist-t" in _classes(d)), None)
    if vlist_t is None:
        return []
    vlist_r = next((c for c in _kids(vlist_t) if "vlist-r" in _classes(c)), None)
    vlist = next((c for c in _kids(vlist_r) if "vlist" in _classes(c)), None) if vlist_r is not None else None
    if vlist is None:
        return []
    rows = []
    for row in _kids(vlist):
        top = _TOP.search(row.get("style") or "")
        if top is None:
            continue
        strut = next((c for c in _kids(row) if "pstrut" in _classes(c)), None)
        height = _HEIGHT.search(strut.get("style") or "") if strut is not None else None
        rows.append((-float(top.group(1)) - (float(height.group(1)) if height else 2.7), row))
    return sorted(rows, key=lambda r: -r[0])


def _content(row: etree._Element, text_mode: bool) -> etree._Element:
    return _mrow(_nodes(row, text_mode) or [etree.Element("mrow")])


def _tokens(el: etree._Element, text: str, text_mode: bool) -> list[etree._Element]:
    text = text.replace("\u200b", "")
    if not text.strip():
        return []
    if text == _NEGATION:
        return [_mo(_NEGATION)]
    # KaTeX merges a run of italic letters into one span ("iπ" for i\pi): one identifier each.
    if "mathnormal" in _classes(el) and len(text) > 1 and not text_mode:
        return [t for ch in text for t in _tokens(el, ch, text_mode)]
    tok = _token(el, text, text_mode)
    return [tok] if tok is not None else []


def _token(el: etree._Element, text: str, text_mode: bool) -> etree._Element | None:
    cls = _classes(el)
    if text_mode:
        tag = "mtext"
    elif cls & _OPERATOR_ATOMS:
        tag = "mo"
    elif text.replace(".", "").isdigit():
        tag = "mn"
    elif "mop" in cls and not text.isalpha():
        tag = "mo"
    elif text.isalpha() or "mathnormal" in cls:
        tag = "mi"
    else:
        tag = "mo" if len(text) == 1 and not text.isalnum() else "mi"
    tok = etree.Element(tag)
    tok.text = text
    if tag == "mo" and text in FENCES and "delimsizing" not in cls:
        tok.set("stretchy", "false")  # drawn at its natural size: (x), not \left(x\right)
    variant = next((v for c, v in _FONT_VARIANT.items() if c in cls), None)
    if tag == "mi" and len(text) == 1:
        if variant is None and "mathnormal" not in cls and text.isalpha():
            variant = "normal"  # an upright one-letter identifier (\Gamma, \mathrm{d})
        elif variant == "italic":
            variant = None
    if variant and tag in ("mi", "mn"):
        tok.set("mathvariant", variant)
    return tok


def _structure(el: etree._Element, cls: set[str], text_mode: bool) -> etree._Element | None:
    """The MathML of a structural span (fraction, root, accent, limits, table, line); None if
    ``el`` is none of them."""
    if "mfrac" in cls:
        rows = _rows(el)
        parts = [r for _, r in rows if not any("frac-line" in _classes(c) for c in _kids(r))]
        if len(parts) != 2:
            return None
        frac = _el("mfrac", _content(parts[0], text_mode), _content(parts[1], text_mode))
        if len(parts) == len(rows):
            frac.set("linethickness", "0")  # \binom: stacked without a bar
        return frac
    if "sqrt" in cls:
        root = next((c for c in _kids(el) if "root" in _classes(c)), None)
        body_rows = [r for _, r in _rows(next((c for c in _kids(el) if "root" not in _classes(c)), el))
                     if not any("hide-tail" in _classes(c) for c in _kids(r))]
        body = _content(body_rows[0], text_mode) if body_rows else etree.Element("mrow")
        index_rows = _rows(root) if root is not None else []
        if index_rows:
            return _el("mroot", body, _content(index_rows[0][1], text_mode))
        return _el("msqrt", body)
    if "accent" in cls:
        rows = _rows(el)
        marks = [r for _, r in rows if any(c & {"accent-body", "svg-align"} for c in map(_classes, [r, *_kids(r)]))]
        base = next((r for _, r in rows if all(r is not m for m in marks)), None)
        if base is None or not marks:
            return None
        # A text accent (^, ˉ, ~) or a drawn one: KaTeX draws \vec, \overrightarrow and the
        # wide accents as an SVG path that names nothing; the arrows are by far the most common.
        mark = "".join(marks[0].itertext()).replace("\u200b", "").strip() or "\u2192"
        return _el("mover", _content(base, text_mode), _mo(_ACCENTS.get(mark, mark)), accent="true")
    if "op-limits" in cls:
        rows = _rows(el)
        if not rows:
            return None
        op_at = min(range(len(rows)), key=lambda i: abs(rows[i][0]))  # the operator sits on the axis
        op = _content(rows[op_at][1], text_mode)
        over = [_content(r, text_mode) for _, r in rows[:op_at]]
        under = [_content(r, text_mode) for _, r in rows[op_at + 1:]]
        if over and under:
            return _el("munderover", op, under[0], over[0])
        if under:
            return _el("munder", op, under[0])
        return _el("mover", op, over[0]) if over else op
    if cls & {"munder", "mover"}:
        # \underbrace, \overset, \stackrel: a base row at the baseline, rows above and below it
        # (a stretchy brace is drawn, not written).
        rows = _rows(el)
        plain = [i for i, (_, r) in enumerate(rows) if not _drawn(r)]
        if not plain:
            return None
        at = min(plain, key=lambda i: abs(rows[i][0]))
        node = _content(rows[at][1], text_mode)
        for _, r in rows[at + 1:]:
            node = _el("munder", node, _mo("\u23df") if _drawn(r) else _content(r, text_mode))
        for _, r in reversed(rows[:at]):
            node = _el("mover", node, _mo("\u23de") if _drawn(r) else _content(r, text_mode))
        return node
    if "mtable" in cls:
        columns = [[_content(r, text_mode) for _, r in _rows(col)]
                   for col in _kids(el) if any(c.startswith("col-align-") for c in _classes(col))]
        if not columns:
            return None
        table = etree.Element("mtable")
        for i in range(max(len(c) for c in columns)):
            table.append(_el("mtr", *(_el("mtd", col[i]) if i < len(col) else _el("mtd") for col in columns)))
        return table
    if cls & {"overline", "underline"}:
        rows = [r for _, r in _rows(el) if not any(c in _classes(d) for d in r.iter()
                                                    for c in ("overline-line", "underline-line"))]
        if not rows:
            return None
        if "overline" in cls:
            return _el("mover", _content(rows[0], text_mode), _mo("\u00af"), accent="true")
        return _el("munder", _content(rows[0], text_mode), _mo("\u0332"), accentunder="true")
    return None


def _drawn(row: etree._Element) -> bool:
    """A row that is a stretchy drawing (a brace), not content."""
    return any("stretchy" in _classes(c) for c in _kids(row))


def _mo(text: str) -> etree._Element:
    mo = etree.Element("mo")
    mo.text = text
    return mo


def _nodes(parent: etree._Element, text_mode: bool = False) -> list[etree._Element]:
    """The MathML items of ``parent``'s children, scripts attached to the item before them."""
    out: list[etree._Element] = []
    for el in _kids(parent):
        cls = _classes(el)
        if cls & _SKIP or el.tag == "svg":
            continue
        in_text = text_mode or "text" in cls
        if "msupsub" in cls:
            rows = _rows(el)
            base = out.pop() if out else etree.Element("mrow")
            scripts = [(shift, _content(r, in_text)) for shift, r in rows]
            if len(scripts) == 2:
                out.append(_el("msubsup", base, scripts[1][1], scripts[0][1]))
            elif len(scripts) == 1:
                out.append(_el("msup" if scripts[0][0] > 0 else "msub", base, scripts[0][1]))
            else:
                out.append(base)
            continue
        built = _structure(el, cls, in_text)
        if built is not None:
            out.append(built)
            continue
        if all(d.get("class") is None for d in el.iterdescendants()):
            # A leaf, or text split into unclassed spans for kerning ("lo<span>g</span>").
            tokens = _tokens(el, "".join(el.itertext()), in_text)
            if tokens:
                out.append(_mrow(tokens))
            continue
        kids = _nodes(el, in_text)
        if kids:
            out.append(_mrow(kids))
    return _negate(out)


def _negate(items: list[etree._Element]) -> list[etree._Element]:
    """KaTeX's strike-through glyph and the relation after it as one negated relation."""
    out: list[etree._Element] = []
    for item in items:
        if out and out[-1].tag == "mo" and out[-1].text == _NEGATION and item.tag == "mo" and item.text:
            out[-1].text = unicodedata.normalize("NFC", item.text + "\u0338")
            continue
        if item.tag == "mrow" and len(item) == 2 and item[0].tag == "mo" and item[0].text == _NEGATION:
            item = _negate(list(item))[0]
        out.append(item)
    return out


def katex_html_mathml(katex_html: etree._Element, display: bool = False) -> etree._Element | None:
    """A ``<math>`` element rebuilt from a ``.katex-html`` span, or None when it draws nothing."""
    items = _nodes(katex_html)
    if not items or not "".join(_mrow(items).itertext()).strip():
        return None
    return math_root(items, display)
