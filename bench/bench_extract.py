"""Math retention and throughput of HTML extraction on the math pages of ../shared/corpus/web.

    .venv/bin/python bench/bench_extract.py [--corpus DIR] [--limit N] [--kinds mathjax,img_alt]

Method (independent of curation/extract): each page's main content is found and its formulas are
listed with the corpus's labelling rule (corpus/README.md, "Label rule"), each with the LaTeX it
should leave in the text:
  mathml  - every <math>: its application/x-tex annotation, else alttext (HTML-unescaped too:
            some pages double-escape ``<`` in the annotation);
  img_alt - every <img> with class math or inside a .math element: its alt text;
  mathjax - Sphinx span.math/div.math: their text without \\( \\) \\[ \\] delimiters (and without
            a numbered equation's "(1)¶" label); in other text
            (outside pre/code/script) each \\(..\\), \\[..\\], $$..$$ or \\begin{env}..\\end{env};
  katex   - every .katex: its x-tex annotation;
  plain   - GAPDoc span.SimpleMath without TeX and p.center display paragraphs, hevea outermost
            table.display and italic <span>s outside them, Maxima (%iN)/(%oN) session lines with an
            operator: their text (or, equally accepted, the text with <sub>/<sup> as _{}/^{}).
A formula counts as kept when that string, NFC-normalised with all whitespace removed, is a
substring of the extracted text treated the same way; formulas of one or two characters (``x``, ``N``) would
match any prose, so they must appear delimited as math ($x$, \\(x\\), $$x$$, \\[x\\]) except for
plain formulas, which carry no delimiters in any extractor and are matched as they are.
Printed next to each other: ours (extract_html with its default resiliparse main content, the
same with main_content=trafilatura, extract_fast), plain trafilatura (defaults) and
plain resiliparse (main_content=True, defaults), all on the same pages; then documents/s and MB/s
per core (CPU time of this process, so other load on the machine does not distort it).
"""

from __future__ import annotations

import argparse
import html as html_lib
import json
import re
import sys
import time
import unicodedata
from collections import defaultdict
from pathlib import Path

from lxml import html as lxml_html

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from curation.extract.charset import decode_html  # noqa: E402
from curation.extract.html import ExtractTimeout, extract_fast, extract_html  # noqa: E402
from curation.extract.settings import ExtractSettings  # noqa: E402

KINDS = ("mathjax", "mathml", "img_alt", "katex", "plain")
_WS = re.compile(r"\s+")
_TEXT_MATH = re.compile(
    r"\\\((.+?)\\\)|\\\[(.+?)\\\]|\$\$(.+?)\$\$|(\\begin\{(equation|align|gather|multline|eqnarray)\*?\}.+?\\end\{\5\*?\})",
    re.S,
)
_EQ_NUMBER = re.compile(r"^\(\d+(?:\.\d+)*\)\s*¶?\s*")
_MAXIMA_LINE = re.compile(r"^\s*\(%[io]\d+\)(.*)$", re.M)
_OPERATOR = re.compile(r"[-+*/^=<>]")
_VERBATIM = {"pre", "code", "script", "style", "textarea"}


def _cls(el) -> list[str]:
    return (el.get("class") or "").split()


def _text(el) -> str:
    return "".join(el.itertext())


def _subsup_text(el) -> str:
    """Text with <sub>/<sup> written as _{}/^{} (the other accepted spelling of a plain formula)."""
    out = [el.text or ""]
    for child in el:
        if isinstance(child.tag, str) and child.tag.lower() in ("sub", "sup"):
            mark = "^" if child.tag.lower() == "sup" else "_"
            out.append(f"{mark}{{{_subsup_text(child).strip()}}}")
        elif isinstance(child.tag, str):
            out.append(_subsup_text(child))
        out.append(child.tail or "")
    return "".join(out)


def main_content(doc):
    for xp in ('//*[@role="main"]', "//main", '//*[@id="page-content"]', '//*[contains(concat(" ", normalize-space(@class), " "), " body ")]'):
        found = doc.xpath(xp)
        if found:
            return found[0]
    body = doc.find(".//body")
    return body if body is not None else doc


def _in(el, tags: set[str]) -> bool:
    return any(isinstance(a.tag, str) and a.tag.lower() in tags for a in el.iterancestors())


def dom_formulas(html: str) -> list[tuple[str, list[str]]]:
    """(kind, accepted spellings) for every formula in the page's main content."""
    doc = lxml_html.document_fromstring(html.split("?>", 1)[-1] if html.lstrip().startswith("<?xml") else html)
    main = main_content(doc)
    out: list[tuple[str, list[str]]] = []
    claimed: set = set()
    for el in main.iter():
        if not isinstance(el.tag, str):
            continue
        tag = el.tag.lower().rsplit("}", 1)[-1]
        if tag == "math":
            ann = [a for a in el.iter() if isinstance(a.tag, str) and a.tag.lower().endswith("annotation") and "tex" in (a.get("encoding") or "").lower()]
            tex = _text(ann[0]) if ann else (el.get("alttext") or "")
            # Some pages double-escape the annotation (``&amp;lt;``): the DOM text reads ``&lt;``
            # but the LaTeX is ``<``; both spellings count.
            spellings = [tex, html_lib.unescape(tex)] if tex.strip() else [_text(el)]
            out.append(("mathml", spellings))
            claimed.update(el.iter())
        elif "katex" in _cls(el):
            ann = [a for a in el.iter() if isinstance(a.tag, str) and a.tag.lower().endswith("annotation")]
            if ann:
                out.append(("katex", [_text(ann[0])]))
            claimed.update(el.iter())
        elif tag == "img" and el.get("alt") and ("math" in _cls(el) or any("math" in _cls(a) for a in el.iterancestors())):
            out.append(("img_alt", [el.get("alt")]))
        elif tag in ("span", "div") and "math" in _cls(el) and "\\" in _text(el):
            tex = _text(el).strip()
            # Numbered Sphinx equations read "(1)¶\[...\]": the number and permalink are not math.
            m = _TEXT_MATH.fullmatch(tex) or _TEXT_MATH.fullmatch(_EQ_NUMBER.sub("", tex))
            if m:
                tex = next(g for g in m.groups() if g)
            out.append(("mathjax", [tex]))
            claimed.update(el.iter())
        elif ((tag == "span" and "SimpleMath" in _cls(el)) or (tag == "p" and "center" in _cls(el))) \
                and el not in claimed:
            claimed.update(el.iter())
            raw = _text(el)
            if "\\" in raw:
                for m in _TEXT_MATH.finditer(raw):
                    out.append(("mathjax", [next(g for g in m.groups() if g)]))
            elif raw.strip():
                out.append(("plain", [raw, _subsup_text(el)]))
        elif tag == "table" and "display" in _cls(el) and el not in claimed:
            claimed.update(el.iter())
            out.append(("plain", [_text(el), _subsup_text(el)]))
        elif tag == "span" and "italic" in (el.get("style") or "") and el not in claimed:
            claimed.update(el.iter())
            if _text(el).strip():
                out.append(("plain", [_text(el), _subsup_text(el)]))
        elif tag == "pre" and el not in claimed:
            claimed.update(el.iter())
            for m in _MAXIMA_LINE.finditer(_text(el)):
                if _OPERATOR.search(m.group(1)):
                    out.append(("plain", [m.group(1)]))
    # \(..\) etc. in the remaining text, outside pre/code/script and outside claimed elements.
    for el in main.iter():
        if not isinstance(el.tag, str):
            continue
        for piece, owner in ((el.text, el), (el.tail, el.getparent())):
            if not piece or owner is None or owner in claimed or not isinstance(owner.tag, str):
                continue
            if owner.tag.lower() in _VERBATIM or _in(owner, _VERBATIM):
                continue
            if piece is el.tail and el in claimed and el.getparent() in claimed:
                continue
            for m in _TEXT_MATH.finditer(piece):
                out.append(("mathjax", [next(g for g in m.groups() if g)]))
    return out


def _squash(s: str) -> str:
    # NFC first: extractors normalise text (trafilatura turns U+2126 OHM SIGN into U+03A9 OMEGA,
    # its canonical equivalent), which is the same formula.
    return _WS.sub("", unicodedata.normalize("NFC", s))


def kept(kind: str, spellings: list[str], squashed_text: str) -> bool:
    if kind == "plain":  # plain formulas may sit in tables: ignore the extractors' cell separators
        squashed_text = squashed_text.replace("|", "")
    for s in spellings:
        f = _squash(s).replace("|", "") if kind == "plain" else _squash(s)
        if not f:
            continue
        if kind == "plain" or len(f) > 2:
            if f in squashed_text:
                return True
        elif any(w.format(f) in squashed_text for w in ("${}$", "\\({}\\)", "$${}$$", "\\[{}\\]")):
            return True
    return False


def plain_trafilatura(html: str, url: str | None) -> str:
    import trafilatura

    return trafilatura.extract(html, url=url) or ""


def plain_resiliparse(html: str, url: str | None) -> str:
    from resiliparse.extract.html2text import extract_plain_text

    return extract_plain_text(html, main_content=True)


def load_pages(corpus: Path, limit: int | None, kinds: set[str]):
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    labels = {}
    for line in open(corpus / "labels" / "web_labels.jsonl", encoding="utf-8"):
        d = json.loads(line)
        if d["label"] == "math" and d["markup"] in kinds:
            labels[d["warc_record_id"]] = d
    pages = []
    for warc in sorted((corpus / "web").glob("*.warc.gz")):
        with open(warc, "rb") as fh:
            for rec in ArchiveIterator(fh, record_types=WarcRecordType.response, parse_http=True):
                d = labels.get(rec.record_id)
                if d is None:
                    continue
                body = rec.reader.read()
                text, _ = decode_html(body, rec.http_headers.get("Content-Type"), truncated=d["truncated"])
                pages.append((d, body, text))
                if limit and len(pages) >= limit:
                    return pages
    return pages


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", default=str(REPO.parent / "shared" / "corpus"))
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--show-misses", type=int, default=0, help="print up to N missed formulas of ours")
    # Wall-clock limit per page for ours: generous, since a loaded machine stretches wall time and
    # the bench measures retention (a page that times out counts as kept nothing, and is listed).
    ap.add_argument("--timeout", type=float, default=600.0)
    args = ap.parse_args(argv)
    corpus = Path(args.corpus)
    if not (corpus / "web").is_dir():
        print(f"corpus not found at {corpus}", file=sys.stderr)
        return 2
    pages = load_pages(corpus, args.limit, set(args.kinds.split(",")))
    settings = ExtractSettings(timeout_seconds=args.timeout)
    traf_settings = settings.model_copy(update={"main_content": "trafilatura"})
    extractors = {
        "ours": lambda h, u: extract_html(h, u, settings).text,
        "ours_traf": lambda h, u: extract_html(h, u, traf_settings).text,
        "ours_fast": lambda h, u: extract_fast(h),
        "trafilatura": plain_trafilatura,
        "resiliparse": plain_resiliparse,
    }
    found: dict[str, int] = defaultdict(int)
    hits: dict[tuple[str, str], int] = defaultdict(int)
    cpu: dict[str, float] = defaultdict(float)
    label_total: dict[str, int] = defaultdict(int)
    total_bytes = sum(len(b) for _, b, _ in pages)
    misses_shown = 0
    for i, (d, _, html) in enumerate(pages):
        if i % 200 == 0:
            print(f"... page {i}/{len(pages)}", file=sys.stderr, flush=True)
        formulas = dom_formulas(html)
        label_total[d["markup"]] += d["n_formulas"]
        for kind, _ in formulas:
            found[kind] += 1
        for name, fn in extractors.items():
            t0 = time.process_time()
            try:
                text = fn(html, d["url"])
            except ExtractTimeout:
                text = ""
                print(f"TIMEOUT {name} {d['url']}", file=sys.stderr)
            cpu[name] += time.process_time() - t0
            sq = _squash(text)
            for kind, spellings in formulas:
                if kept(kind, spellings, sq):
                    hits[(name, kind)] += 1
                elif name == "ours" and misses_shown < args.show_misses:
                    misses_shown += 1
                    print(f"MISS {kind} {d['url']}: {spellings[0][:100]!r}")
    print(f"pages: {len(pages)} math pages, {total_bytes / 1e6:.1f} MB")
    print(f"formulas per kind (DOM, this script) vs labels' n_formulas by page markup: "
          f"{dict(found)} vs {dict(label_total)}")
    print()
    header = f"{'kind':<8} {'formulas':>9} " + " ".join(f"{n:>12}" for n in extractors)
    print("share of DOM formulas whose LaTeX appears in the extracted text")
    print(header)
    grand = defaultdict(int)
    for kind in KINDS:
        n = found.get(kind, 0)
        cells = []
        for name in extractors:
            grand[name] += hits[(name, kind)]
            cells.append(f"{100 * hits[(name, kind)] / n:11.1f}%" if n else f"{'-':>12}")
        print(f"{kind:<8} {n:>9} " + " ".join(cells))
    n_all = sum(found.values())
    print(f"{'all':<8} {n_all:>9} " + " ".join(f"{100 * grand[name] / max(n_all, 1):11.1f}%" for name in extractors))
    print()
    print("throughput per core (CPU seconds of this process)")
    base = cpu["trafilatura"]
    for name in extractors:
        s = max(cpu[name], 1e-9)
        print(f"{name:<12} {len(pages) / s:9.1f} docs/s {total_bytes / 1e6 / s:8.2f} MB/s   "
              f"x{base / s:5.2f} vs plain trafilatura")
    return 0


if __name__ == "__main__":
    sys.exit(main())
