"""HTML to text, math kept: the quality path (math normalisation -> trafilatura) and a cheap one.

``extract_html`` is what the web reader, the EPUB reader and the forum reader call; the coarse-to-
fine cascade (curation/filter/cascade.py) calls ``extract_fast`` on every page and decides which
pages deserve ``extract_html``. Both are pure functions of the HTML string.
"""

from __future__ import annotations

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
from curation.extract.math_dom import normalize_math
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


def _load_extractors() -> None:
    """Import trafilatura and resiliparse (lazily, once per process) outside any time limit."""
    import resiliparse.extract.html2text  # noqa: F401
    import trafilatura  # noqa: F401


def parse_html(html: str) -> etree._Element | None:
    if not html or not html.strip():
        return None
    try:
        # lxml refuses str input that carries an XML encoding declaration.
        if html.lstrip().startswith("<?xml"):
            html = html.split("?>", 1)[-1]
        return lxml_html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return None


def _trafilatura(tree: etree._Element, url: str | None) -> str:
    import trafilatura

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
    """The quality path: math to LaTeX in the DOM, then trafilatura's main-content extraction.

    When trafilatura keeps fewer than ``settings.min_math_recall`` of the formulas that the
    normalised main content holds (it sometimes drops formula-only blocks), the text of the
    normalised DOM's main content from resiliparse is used instead and meta records why.
    Raises ExtractTimeout when the time limit runs out.
    """
    settings = settings or ExtractSettings()
    _load_extractors()  # the first call's imports take seconds: not the document's time budget
    with time_limit(settings.timeout_seconds):
        tree = parse_html(html)
        if tree is None:
            return ExtractResult("", {"extractor": "none"})
        counts = normalize_math(tree)
        layout_tables = flatten_layout_tables(tree)
        _keep_math_asides(tree)
        _drop_heading_slug_ids(tree)
        _math_divs_to_paragraphs(tree)
        normalised = etree.tostring(tree, encoding="unicode", method="html")
        text = _trafilatura(tree, url)
        meta: dict[str, Any] = {"extractor": "trafilatura", "math_markup": dict(counts)}
        if layout_tables:
            meta["layout_tables"] = layout_tables
        dom_math = sum(v for k, v in counts.items() if k not in ("sub_sup",) and not k.startswith("mathml_"))
        if dom_math:
            fallback = _resiliparse_text(normalised)
            kept, available = _count_math(text), _count_math(fallback)
            if available and kept < settings.min_math_recall * available and len(fallback) <= 3 * max(len(text), 1):
                text = fallback
                meta["extractor"] = "resiliparse_fallback"
            meta["math_spans"] = _count_math(text)
        if not text.strip():
            # trafilatura found no main content (index pages, fragments): keep resiliparse's text.
            text = _resiliparse_text(normalised)
            meta["extractor"] = "resiliparse_fallback"
    return ExtractResult(_tidy(text), meta)


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
    return _FAST_DISPLAY.sub(lambda m: f"$${m.group(1).strip()}$$", _FAST_INLINE.sub(lambda m: f"${m.group(1).strip()}$", text))


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
        if "<html" in html[:1000].lower():  # a whole document (EPUB chapter): take its body
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
