"""HTML to text, math kept: the quality path (math normalisation -> main content) and a cheap one.

``extract_html`` is what the web reader, the EPUB reader and the forum reader call; the coarse-to-
fine cascade (curation/filter/cascade.py) decides from cheap signals which pages deserve it.
``extract_fast`` is the cheap math-preserving path (resiliparse's DOM only). All are pure
functions of the HTML string.
"""

from __future__ import annotations

import copy
import re
import signal
import threading
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from lxml import html as lxml_html

from curation.extract.layout import flatten_layout_tables
from curation.extract.math_dom import RawHints, normalize_math, replace_element
from curation.extract.mathml import strip_tex
from curation.extract.omml import rewrite_word_equations
from curation.extract.settings import ExtractSettings

_MATH_SPAN = re.compile(r"\$\$.+?\$\$|\$[^$\n]+?\$", re.S)
_BLANKS = re.compile(r"\n{3,}")


class DocumentRejected(Exception):
    """Raised by an HTML-to-text step that decides a page is not worth extracting."""

    def __init__(self, reason: str, meta: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.meta = meta or {}


class ExtractTimeout(Exception):
    """The per-document time limit (settings.timeout_seconds) ran out."""


@dataclass
class ExtractResult:
    text: str
    # Markup kinds found and converted (katex, mathml, mathjax_script, img_alt, tex_inline, ...),
    # plus the extractor that produced the text.
    meta: dict[str, Any] = field(default_factory=dict)


@contextmanager
def time_limit(seconds: float):
    """SIGALRM-based limit: works in the main thread (Spark's Python workers, the CLI, tests).

    In other threads there is no safe way to interrupt C code (lxml, trafilatura), so the limit
    is not enforced there; readers run in the main thread.
    """
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum, frame):
        raise ExtractTimeout()

    old = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _load_extractors(trafilatura: bool = False) -> None:
    """Import resiliparse (and trafilatura when used: its import takes a second or two) lazily,
    once per process, outside any time limit."""
    import resiliparse.extract.html2text  # noqa: F401

    if trafilatura:
        import trafilatura as _  # noqa: F401


# Plain lxml.etree elements: lxml.html's element classes are chosen by a Python lookup on every
# element access, which cost 12% of the extraction (trafilatura, which wants lxml.html, re-parses).
_HTML_PARSER = etree.HTMLParser()
# An XHTML DOCTYPE with an internal subset (``[<!ENTITY mathml "...">]``): the HTML parser ends the
# DOCTYPE at the first ">" and the rest ("]>") became the page's first text. Its entities are not
# expanded either way (no entity bombs). Bounded classes: linear on hostile input.
_DOCTYPE_SUBSET = re.compile(r"^\s*<!DOCTYPE[^\[>]{0,2000}\[[^\]]{0,200000}\]\s*>", re.I)


def parse_html(html: str) -> etree._Element | None:
    if not html or not html.strip():
        return None
    try:
        # lxml refuses str input that carries an XML encoding declaration.
        if html.lstrip().startswith("<?xml"):
            html = html.split("?>", 1)[-1]
        html = _DOCTYPE_SUBSET.sub("<!DOCTYPE html>", html, count=1)
        return etree.fromstring(html, _HTML_PARSER)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return None


def _trafilatura(normalised: str, url: str | None) -> str:
    import trafilatura

    try:
        tree = lxml_html.document_fromstring(normalised)
    except (etree.ParserError, ValueError):
        return ""
    text = trafilatura.extract(
        tree,
        url=url,
        output_format="txt",
        include_comments=True,  # False drops real sections whose id or class says "comment" (xml.dom docs)
        include_tables=True,  # tables stay as text (hevea puts display math in tables)
        include_formatting=False,
        include_images=False,
        include_links=False,
        favor_recall=True,  # math pages are short on prose; precision mode drops formula lines
        deduplicate=False,
        with_metadata=False,
    )
    return text or ""


def _count_math(text: str) -> int:
    return len(_MATH_SPAN.findall(text))


def extract_html(html: str, url: str | None = None, settings: ExtractSettings | None = None) -> ExtractResult:
    """The quality path: math to LaTeX in the DOM, then main-content extraction.

    ``settings.main_content`` picks the boilerplate remover run on the normalised DOM:
    ``resiliparse`` (default; DCLM, Li et al. 2024, Sec. 4.2 and Table 4, found its text as good as
    trafilatura's for training and it runs an order of magnitude faster) or ``trafilatura``
    (``favor_recall``). With trafilatura, when it keeps fewer than ``settings.min_math_recall`` of
    the formulas the normalised main content holds (it sometimes drops formula-only blocks), the
    resiliparse text is used instead and meta records why. Raises ExtractTimeout when the time
    limit runs out.
    """
    settings = settings or ExtractSettings()
    # The first call's imports take seconds: not the document's time budget.
    _load_extractors(trafilatura=settings.main_content == "trafilatura")
    with time_limit(settings.timeout_seconds):
        word_equations = 0
        if "msEquation" in html:
            # Word's equations live in conditional comments: out of them before parsing.
            html, word_equations = rewrite_word_equations(html)
        tree = parse_html(html)
        if tree is None:
            return ExtractResult("", {"extractor": "none"})
        counts = normalize_math(tree, RawHints.of(html))
        if word_equations:
            counts["word_equation"] = word_equations
        _reveal_hidden_page(tree)
        layout_tables = flatten_layout_tables(tree)
        _keep_math_asides(tree)
        _drop_heading_slug_ids(tree)
        _math_divs_to_paragraphs(tree)
        meta: dict[str, Any] = {"extractor": settings.main_content, "math_markup": dict(counts)}
        if layout_tables:
            meta["layout_tables"] = layout_tables
        fragments = "fragment" in html
        share = code_share(tree, fragments)
        if share:
            meta["code_share"] = round(share, 3)
        if share >= settings.max_code_share:
            meta["prose_formulas"] = prose_formulas(tree, fragments)
        if settings.main_content == "resiliparse":
            _figures_to_divs(tree)
            _content_lists_to_paragraphs(tree)
            _glue_symbol_nodes(tree)
            text = _resiliparse_text(_serialise(tree))
        else:
            text = _trafilatura_with_fallback(_serialise(tree), url, counts, settings, meta)
        if _dom_formulas(counts):
            meta["math_spans"] = _count_math(text)
    return ExtractResult(_tidy(text), meta)


def _serialise(tree: etree._Element) -> str:
    return etree.tostring(tree, encoding="unicode", method="html")


def _dom_formulas(counts: Counter) -> int:
    """Formulas normalize_math rewrote (sub/sup runs and MathML conversion details are no formulas)."""
    return sum(v for k, v in counts.items() if k != "sub_sup" and not k.startswith("mathml_"))


def _trafilatura_with_fallback(normalised: str, url: str | None, counts: Counter,
                               settings: ExtractSettings, meta: dict[str, Any]) -> str:
    text = _trafilatura(normalised, url)
    if _dom_formulas(counts):
        fallback = _resiliparse_text(normalised)
        kept, available = _count_math(text), _count_math(fallback)
        if available and kept < settings.min_math_recall * available and len(fallback) <= 3 * max(len(text), 1):
            meta["extractor"] = "resiliparse_fallback"
            return fallback
    if not text.strip():
        # trafilatura found no main content (index pages, fragments): keep resiliparse's text.
        meta["extractor"] = "resiliparse_fallback"
        return _resiliparse_text(normalised)
    return text


# A list whose text is mostly link text is navigation (the link-density cue of boilerpipe,
# Kohlschütter et al. 2010, and jusText); below this share it is content.
_NAV_LINK_DENSITY = 0.5


def _content_lists_to_paragraphs(tree: etree._Element) -> None:
    """Lists of prose become paragraphs, so that resiliparse keeps them.

    resiliparse's main-content rules drop ``<ul>``/``<ol>`` wholesale (they are menus on most
    pages): on Giac's manual that removed every argument list ("expr, an expression", 8% of the
    pages' formulas). A list whose link text is under half its text is content; its items become
    ``<p>`` with a bullet, inside a ``<div>``. Lists of links stay lists, for resiliparse to drop.
    """
    for lst in list(tree.iter("ul", "ol")):
        if lst.getparent() is None:
            continue
        text_len = len("".join(lst.itertext()).strip())
        if not text_len:
            continue
        link_len = sum(len("".join(a.itertext()).strip()) for a in lst.iter("a"))
        if link_len >= _NAV_LINK_DENSITY * text_len:
            continue
        lst.tag = "div"
        for attr in ("class", "id", "role"):
            lst.attrib.pop(attr, None)
        for item in lst:
            if isinstance(item.tag, str) and item.tag.lower() == "li":
                item.tag = "p"
                item.attrib.pop("class", None)
                item.text = "- " + (item.text or "")


_INLINE_TAGS = {"span", "var", "i", "em", "b", "strong", "code", "tt", "sub", "sup", "a", "font", "small", "big"}


def _symbol_only(text: str | None) -> bool:
    """One or two non-ASCII glyphs (``≥``, ``∈``, ``ℤ``), spaces around them allowed."""
    core = (text or "").strip()
    return 0 < len(core) <= 2 and any(ord(c) > 127 for c in core) and not any(c.isspace() for c in core)


def _append_text(el: etree._Element, text: str) -> None:
    """Append ``text`` at the end of ``el``'s content (its last child's tail, or its text)."""
    if len(el):
        last = el[-1]
        last.tail = (last.tail or "") + text
    else:
        el.text = (el.text or "") + text


def _glue_symbol_nodes(tree: etree._Element) -> None:
    """Join text nodes that are a lone non-ASCII symbol to their neighbour, so resiliparse keeps them.

    resiliparse's main-content rules drop such nodes as icon glyphs: GAPDoc's
    ``<var>obj</var> ≥ <var>obj1</var>`` came out as "objobj1", and ``<span>ℤ</span>`` vanished
    (0.3% of the dev crawl's plain-text formulas). A symbol tail moves into the element before
    it; an inline element holding only a symbol loses its tag, so its text joins the parent's, and
    so on up while the parent is inline and holds only that symbol (docutils' math2html nests the
    integral sign three spans deep: ``<span class="limit"><span class="bigoperator">∫</span>``).
    """
    nodes = [t for t in _SHORT_TEXT_XPATH(tree, ascii=_PRINTABLE_ASCII) if _symbol_only(t)]
    for t in nodes:
        owner = t.getparent()
        if owner is None or owner.getparent() is None:
            continue
        if t.is_tail:
            if _symbol_only(owner.tail):  # not moved already
                tail, owner.tail = owner.tail, None
                _append_text(owner, tail)
        else:
            _unwrap_symbol(owner)


def _unwrap_symbol(el: etree._Element) -> None:
    """Drop the tags of ``el`` and its inline ancestors while each holds nothing but the symbol."""
    while (el.getparent() is not None and el.tag.lower() in _INLINE_TAGS and not len(el) and _symbol_only(el.text)):
        parent = el.getparent()
        joins_parent_text = el.getprevious() is None
        replace_element(el, el.text)  # the tag goes, its text joins the parent's
        if not joins_parent_text:
            return
        el = parent


# Short text nodes that are not all ASCII (XPath, in C: every page has thousands of nodes; the
# translate() drops printable ASCII, so "1", "|" and "»" are told apart before Python sees them);
# _symbol_only decides. $ascii is passed in: an XPath literal cannot hold both quote characters.
_SHORT_TEXT_XPATH = etree.XPath(
    "//text()[string-length(.) <= 12 and "
    "(string-length(normalize-space(.)) = 1 or string-length(normalize-space(.)) = 2) and "
    "string-length(translate(normalize-space(.), $ascii, '')) > 0]")
_PRINTABLE_ASCII = "".join(map(chr, range(32, 127)))


# Inline hiding that a script lifts once the page is ready. resiliparse's main-content rules drop
# every element hidden this way (as they should: menus, modals, cookie banners).
_HIDING_DECLARATION = re.compile(r"(?:display\s*:\s*none|visibility\s*:\s*hidden)\s*(?:!\s*important)?\s*;?", re.I)
# An element that holds half the page's text sits near the top of the tree (the recipe's wrapper
# is a child of <body>): the body and its first four levels are searched, by absolute paths, which
# cost a tenth of a search of the whole tree (``//*``).
_SHALLOW_ATTRIBUTED = " | ".join(
    "/html/body" + "/*" * depth + "[@hidden or @style]" for depth in range(5))
# The hidden element must hold most of the page's text, and enough of it to be a page.
_REVEAL_SHARE = 0.5
_REVEAL_MIN_CHARS = 200
# Lengths are XPath's normalize-space lengths, computed in C (a Python walk over every text node
# cost a third of the extraction).
_VISIBLE_LEN = "string-length(normalize-space(.))"
_UNRENDERED = ("script", "style", "noscript", "template")


def _visible_len(el: etree._Element) -> float:
    """Characters of text a reader sees under ``el`` (script and style text left out)."""
    return el.xpath(_VISIBLE_LEN) - sum(u.xpath(_VISIBLE_LEN) for u in el.iter(*_UNRENDERED) if u is not el)


def _outermost(blocks: list[etree._Element]) -> list[etree._Element]:
    inside = set(blocks)
    return [b for b in blocks if not any(a in inside for a in b.iterancestors())]


def _code_blocks(body: etree._Element, fragments: bool, also: tuple[str, ...] = ()) -> list[etree._Element]:
    """The outermost code blocks under ``body``: <pre>, Doxygen's ``div.fragment`` when
    ``fragments``, and elements named in ``also``."""
    blocks = list(body.iter("pre", *also))
    if fragments:
        blocks += [d for d in body.iter("div") if "fragment" in (d.get("class") or "").split()]
    return _outermost(blocks)


def code_share(tree: etree._Element, fragments: bool = True) -> float:
    """Share of the body's visible text inside code blocks (<pre>; Doxygen's ``div.fragment``
    when ``fragments``, which the caller can rule out from the raw page)."""
    body = tree.find(".//body")
    if body is None:
        return 0.0
    blocks = _code_blocks(body, fragments)
    if not blocks:
        return 0.0
    code = sum(b.xpath(_VISIBLE_LEN) for b in blocks)
    return min(code / max(_visible_len(body), 1.0), 1.0) if code else 0.0


def prose_formulas(tree: etree._Element, fragments: bool = True) -> int:
    """Formulas in the body's text outside code blocks (the blocks code_share counts).

    Runs on the normalised tree, where every DOM formula is already ``$..$`` text. Only asked of
    pages that look like source listings, so the copy it makes is rare.
    """
    body = tree.find(".//body")
    if body is None:
        return 0
    body = copy.deepcopy(body)
    for block in _code_blocks(body, fragments, also=_UNRENDERED):
        replace_element(block, " ")
    return _count_math(" ".join(body.itertext()))


def _reveal_hidden_page(tree: etree._Element) -> None:
    """Un-hide an element that hides most of the page until a script shows it.

    MathJax's "wait until typeset" recipe wraps the whole body in
    ``<div style="visibility:hidden">`` and reveals it when the math is done (SageMath ships that
    page in every manual); A/B-testing "anti-flicker" snippets do the same. A reader sees the
    page, so the text is the page: without this, such a page came out empty. A hidden element
    that holds less than half the text (a menu, a modal, a spoiler) stays hidden.
    """
    hidden = [el for el in tree.xpath(_SHALLOW_ATTRIBUTED)
              if el.get("hidden") is not None or _HIDING_DECLARATION.search(el.get("style") or "")]
    if not hidden:
        return
    body = tree.find(".//body")
    total = _visible_len(body if body is not None else tree)
    for el in hidden:
        if el.getparent() is None or el.tag in _UNRENDERED:
            continue
        size = _visible_len(el)
        if size >= _REVEAL_MIN_CHARS and size >= _REVEAL_SHARE * total:
            el.attrib.pop("hidden", None)
            if el.get("style") is not None:
                el.set("style", _HIDING_DECLARATION.sub("", el.get("style")))
            return


def _keep_math_asides(tree: etree._Element) -> None:
    """trafilatura always drops <aside>; footnotes and tip boxes that carry formulas are content.

    Their class and role go too: ``sidebar`` (a Sphinx "Quick Tip") and ``footnote``/``note``
    are read as boilerplate by both trafilatura and resiliparse.
    """
    for el in list(tree.iter("aside")):
        if _MATH_SPAN.search("".join(el.itertext())):
            el.tag = "div"
            for attr in ("class", "role", "id"):
                el.attrib.pop(attr, None)


_BLOCK_TAGS = {"div", "p", "table", "ul", "ol", "dl", "pre", "section", "article", "blockquote", "form",
               "h1", "h2", "h3", "h4", "h5", "h6", "figure", "aside", "nav", "header", "footer", "main"}


def _figures_to_divs(tree: etree._Element) -> None:
    """<figure> and <figcaption> become <div>s, so that resiliparse keeps what they hold.

    With ``alt_texts=False`` (which keeps image file names out of the text) resiliparse drops
    everything inside a figure: Sphinx's captions with their formulas (python-sasmodels-doc,
    bench/unseen_packages.py round 5) and the tables, code and formula images that WordPress
    (``wp-block-table``) and static-site generators wrap in figures. Images stay out: their alt
    texts are still not extracted.
    """
    for el in tree.iter("figure", "figcaption"):
        el.tag = "div"


def _math_divs_to_paragraphs(tree: etree._Element) -> None:
    """A <div> holding only inline content with a formula becomes a <p>.

    trafilatura keeps text in paragraphs and drops a bare div of display math (hevea's
    ``<div class="center">$..$ et $..$</div>`` on giac's algolycee.html).
    """
    for el in list(tree.iter("div")):
        if any(isinstance(c.tag, str) and c.tag.lower() in _BLOCK_TAGS for c in el):
            continue
        if _MATH_SPAN.search("".join(el.itertext())):
            el.tag = "p"


_SLUG_JUNK = re.compile(r"[^0-9a-z]+")
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


def _slug(text: str) -> str:
    return _SLUG_JUNK.sub("-", text.lower()).strip("-")


def _drop_heading_slug_ids(tree: etree._Element) -> None:
    """Remove section ids that are only their heading's slug (Sphinx/docutils, pandoc, MkDocs).

    Boilerplate detectors in both trafilatura and resiliparse read ids: a section headed "Field
    operators and related functions" gets ``id="field-operators-and-related-functions"`` and is
    dropped as a "related" box (all 24 formulas of SymPy's vector/fields.html curl, divergence and
    gradient sections), and "Comment Objects" as user comments. An id that merely repeats the
    heading says nothing about layout, so it goes; ids that are not exactly the heading's slug stay
    (``<section id="related"><h2>Related posts</h2>`` is still boilerplate to them).
    """
    for el in tree.iter("section", "div"):
        ident = el.get("id")
        if not ident:
            continue
        heading = next((c for c in el if isinstance(c.tag, str) and c.tag in _HEADINGS), None)
        if heading is not None and _slug(ident) and _slug("".join(heading.itertext())) == _slug(ident):
            del el.attrib["id"]


def _tidy(text: str) -> str:
    return _BLANKS.sub("\n\n", text.replace("\r", "")).strip()


def _resiliparse_text(html: str | Any) -> str:
    from resiliparse.extract.html2text import extract_plain_text

    return extract_plain_text(
        html, preserve_formatting=True, main_content=True, alt_texts=False, list_bullets=True, noscript=False
    )


# ---- the cheap path -------------------------------------------------------------------------

_FAST_IMG_CLASSES = ("math", "latex", "tex", "mwe-math-fallback-image-inline", "mwe-math-fallback-image-display")


def extract_fast(html: str) -> str:
    """resiliparse main-content text, with the cheap math rules applied on its own DOM.

    Converts MathJax scripts, KaTeX annotations (dropping .katex-html), MathML annotations or
    alttext and math-class ``<img alt>`` to ``$...$``; MathML without either keeps its text.
    About 25-45x faster than ``extract_html`` (see bench/bench_extract.py).
    """
    from resiliparse.parse.html import HTMLTree

    try:
        tree = HTMLTree.parse(html)
    except Exception:
        return ""
    doc = tree.document
    if doc is None:
        return ""
    for el in doc.query_selector_all(".katex-html, .MathJax_Preview, .MathJax, .MathJax_Display, .MJX_Assistive_MathML"):
        el.decompose()
    for el in doc.query_selector_all(".katex"):
        ann = el.query_selector('annotation[encoding="application/x-tex"]')
        if ann is not None:
            _fast_replace(tree, el, ann.text, False)
    for el in doc.query_selector_all("script"):
        kind = (el.getattr("type") or "").lower()
        if kind.startswith("math/tex"):
            _fast_replace(tree, el, el.text, "mode=display" in kind.replace(" ", ""))
    for el in doc.query_selector_all("math"):
        ann = el.query_selector("annotation")
        tex = ann.text if ann is not None and "tex" in (ann.getattr("encoding") or "").lower() else el.getattr("alttext")
        if tex:
            _fast_replace(tree, el, tex, (el.getattr("display") or "") == "block")
    for el in doc.query_selector_all("img[alt]"):
        cls = (el.getattr("class") or "").lower().split()
        src = el.getattr("src") or ""
        if any(c in _FAST_IMG_CLASSES for c in cls) or _MATH_SRC_FAST.search(src):
            _fast_replace(tree, el, el.getattr("alt"), False)
    text = extract_plain_text_fast(tree)
    inline = _FAST_INLINE.sub(lambda m: f"${strip_tex(m.group(1))}$", text)
    return _FAST_DISPLAY.sub(lambda m: f"$${strip_tex(m.group(1))}$$", inline)


_MATH_SRC_FAST = re.compile(r"codecogs|latex\.php|mimetex|/math/render/|wp\.com/latex", re.I)
_FAST_INLINE = re.compile(r"\\\(((?:[^\\]|\\(?!\())+?)\\\)")  # linear: see math_dom._INLINE_DELIMS
_FAST_DISPLAY = re.compile(r"\\\[((?:[^\\]|\\(?!\[))+?)\\\]")


def _fast_replace(tree: Any, el: Any, tex: str | None, display: bool) -> None:
    tex = " ".join((tex or "").split())
    node = tree.create_text_node(f"$${tex}$$" if display else f"${tex}$")
    parent = el.parent
    if parent is not None:
        parent.replace_child(node, el)


def extract_plain_text_fast(tree: Any) -> str:
    from resiliparse.extract.html2text import extract_plain_text

    return extract_plain_text(tree, preserve_formatting=True, main_content=True, alt_texts=False)


def markup_summary(counts: Counter) -> dict[str, int]:
    return {k: int(v) for k, v in sorted(counts.items())}


_WHOLE_DOCUMENT = re.compile(r"<(?:html|body)[\s>]", re.I)


def extract_fragment(html: str, settings: ExtractSettings | None = None) -> ExtractResult:
    """Math-preserving text of HTML that is all content (a forum post body, an EPUB chapter).

    Same math normalisation as ``extract_html`` but no boilerplate removal: trafilatura is built
    for whole pages and drops short fragments (one-line answers) entirely.
    """
    settings = settings or ExtractSettings()
    _load_extractors()
    with time_limit(settings.timeout_seconds):
        if not html or not html.strip():
            return ExtractResult("", {"extractor": "fragment"})
        root = None
        # A whole document (an EPUB chapter): take its body. Its markup may start late, after an
        # XML declaration, a DOCTYPE with an internal subset or a long comment.
        if _WHOLE_DOCUMENT.search(html, 0, 20_000):
            doc = parse_html(html)
            root = doc.find(".//body") if doc is not None else None
        if root is None:
            try:
                root = lxml_html.fragment_fromstring(html, create_parent="div")
            except (etree.ParserError, ValueError):
                return ExtractResult("", {"extractor": "fragment"})
        counts = normalize_math(root)
        flatten_layout_tables(root)
        from resiliparse.extract.html2text import extract_plain_text

        text = extract_plain_text(
            etree.tostring(root, encoding="unicode", method="html"),
            preserve_formatting=True, main_content=False, alt_texts=False, list_bullets=True,
        )
    return ExtractResult(_tidy(text), {"extractor": "fragment", "math_markup": dict(counts)})
