"""How the web extraction, the cascade gate and the math classifier do on documentation packages
that the dev corpus (../shared/corpus) never saw.

    .venv/bin/python bench/unseen_packages.py [--per-package 250] [--packages octave-doc ...] [--all-math]

The held-out corpus is built like the dev corpus from *other* Debian packages: HTML pages used byte
for byte, each labelled ``math`` when its main content holds >= 3 formulas counted by DOM rules
(README "Label rule"). This bench rebuilds that setting on seven packages:

1. fetches each package once with ``apt-get download`` + ``dpkg-deb -x`` into /tmp/unseen (a bench
   input, cached; the pipeline itself never downloads) and takes a seeded sample of its HTML files;
2. labels every page with its own implementation of the label rule (``dom_formulas``), written
   from the README, not from the pipeline's code, so that the pipeline is measured against an
   independent count;
3. runs the pipeline's pieces: ``decode_html`` -> ``CascadeGate.decide`` (the gate) ->
   ``extract_html`` (the text) -> ``MathClassifier.score`` (P(math), kept at >= 0.5);
4. prints per package and overall: gate pass rate and recall, classifier precision/recall/F1 on
   gate-passed pages, end-to-end recall, formula retention (formulas in our text / formulas in the
   DOM, on label-math pages), the worst false negatives and positives, and the markup kinds on the
   false negatives. Every page's record goes to /tmp/unseen/pages.jsonl for later reading.
   ``--all-math`` also labels every HTML file and runs the pipeline on every label-math page (the
   sample holds few of them), for the recall side only (pages_allmath.jsonl).

Single process. Pages over 1 MiB are cut at 1 MiB, as the crawl's payload limit does.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lxml import etree
from lxml import html as lxml_html

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from debian_packages import fetch_package  # noqa: E402

from curation.extract.charset import decode_html  # noqa: E402
from curation.extract.html import ExtractTimeout, extract_html  # noqa: E402
from curation.extract.settings import ExtractSettings  # noqa: E402
from curation.filter.cascade import CascadeGate  # noqa: E402
from curation.filter.math_classifier import MathClassifier  # noqa: E402
from curation.filter.math_features import raw_counts  # noqa: E402
from curation.filter.normalize import MAX_CHARS  # noqa: E402
from curation.filter.settings import FilterSettings  # noqa: E402
from curation.readers.web import is_source_listing  # noqa: E402

DATA = Path("/tmp/unseen")
SEED = 20251124
PER_PACKAGE = 250
MAX_PAYLOAD = 1 << 20  # Common Crawl's 1 MiB payload limit (the dev corpus cut its one long page there)
LABEL_MIN_FORMULAS = 3

# package -> (folder of its HTML inside the unpacked package, plausible public URL of that folder).
PACKAGES: dict[str, tuple[str, str]] = {
    "octave-doc": ("usr/share/doc/octave", "https://docs.octave.org/v7.3.0"),
    "python-mpmath-doc": ("usr/share/doc/python-mpmath-doc/html", "https://mpmath.org/doc/1.2.1"),
    "python-statsmodels-doc": ("usr/share/doc/python-statsmodels-doc/html", "https://www.statsmodels.org/v0.13.5"),
    "libeigen3-doc": ("usr/share/doc/libeigen3-dev/html", "https://eigen.tuxfamily.org/dox"),
    "r-doc-html": ("usr/share/R/doc/manual", "https://cran.r-project.org/doc/manuals/r-release"),
    "python-sklearn-doc": ("usr/share/doc/python-sklearn-doc/html", "https://scikit-learn.org/1.2"),
    "python-pandas-doc": ("usr/share/doc/python-pandas-doc/html", "https://pandas.pydata.org/pandas-docs/version/1.5.3"),
}
# A second round, added once the first was mended (so the first is no longer unseen): other page
# generators (Doxygen formula images, Javadoc, Sphinx with MathJax and imgmath, hand-written HTML)
# and other languages (SageMath's tutorials in de/fr/ja/ru/...).
ROUND_2: dict[str, tuple[str, str]] = {
    "sagemath-doc": ("usr/share/doc/sagemath/html", "https://doc.sagemath.org/html"),
    "python-astropy-doc": ("usr/share/doc/python-astropy-doc/html", "https://docs.astropy.org/en/v5.2.1"),
    "libdune-geometry-doc": ("usr/share/doc/libdune-geometry-doc/doxygen", "https://www.dune-project.org/doxygen/2.9.0"),
    "libcommons-math3-java-doc": ("usr/share/doc/libcommons-math3-java/api",
                                  "https://commons.apache.org/proper/commons-math/javadocs/api-3.6.1"),
    "python-qutip-doc": ("usr/share/doc/python-qutip-doc/html", "https://qutip.org/docs/4.7"),
    "python-skimage-doc": ("usr/share/doc/python-skimage-doc/html", "https://scikit-image.org/docs/0.19.x"),
    "python-nibabel-doc": ("usr/share/doc/python-nibabel-doc/html", "https://nipy.org/nibabel/5.0"),
    "python-pywt-doc": ("usr/share/doc/python-pywt-doc/html", "https://pywavelets.readthedocs.io/en/v1.1.1"),
    "python-cvxopt-doc": ("usr/share/doc/python-cvxopt-doc/html", "https://cvxopt.org/userguide"),
    "euler-doc": ("usr/share/doc/euler-doc", "http://euler.rene-grothmann.de"),
    # XHTML + MathML 2 whose DOCTYPE declares the MathML namespace as an entity.
    "axiom-doc": ("usr/share/doc/axiom-doc/axbook", "http://axiom-developer.org/axiom-website/bookvol0"),
}
# A third round, run once rounds 1 and 2 were mended: number-theory libraries' Sphinx manuals
# (FLINT, Arb, Calcium), Doxygen with formula images (Ipopt, Apophenia, Givaro, code_saturne).
ROUND_3: dict[str, tuple[str, str]] = {
    "libflint-doc": ("usr/share/doc/libflint-dev/html", "https://flintlib.org/doc/2.9"),
    "libflint-arb-doc": ("usr/share/doc/libflint-arb-dev/html", "https://arblib.org/2.23"),
    "libcalcium-doc": ("usr/share/doc/libcalcium-dev/html", "https://fredrikj.net/calcium/0.4"),
    "coinor-libipopt-doc": ("usr/share/doc/coinor-libipopt-doc/html", "https://coin-or.github.io/Ipopt/3.14"),
    "apophenia-doc": ("usr/share/doc/apophenia-doc/html", "https://apophenia.info/1.0"),
    "libgivaro-doc": ("usr/share/doc/libgivaro-dev/givaro-html", "https://casys.gricad-pages.univ-grenoble-alpes.fr/givaro/4.2"),
    "code-saturne-doc": ("usr/share/doc/code-saturne/doxygen", "https://www.code-saturne.org/documentation/7.0/doxygen"),
    "python-skbio-doc": ("usr/share/doc/python-skbio-doc/html", "https://scikit.bio/docs/0.5.8"),
    "bliss-doc": ("usr/share/doc/bliss/html", "https://users.aalto.fi/~tjunttil/bliss/0.77"),
}
# A fourth round, run once rounds 1-3 were mended: math markup and page generators none of the
# earlier rounds had. KaTeX auto-render with ``$``/``$$`` delimiters (Macaulay2's own XHTML
# generator), R Markdown vignettes (knitr + pandoc: span.math with \(..\)/\[..\], often
# self-contained with base64 images and scripts), Haddock's span.mathjax, nbsphinx notebooks
# (MathJax 3 with ``$`` configured), docutils' own math2html (span.formula, the rule counts none),
# MkDocs pages converted from a wiki (math as <em>/<sub>/<sup>), AsciiMath (backquotes) and the
# MathJax 2.7 manual (TeX and MathML shown as examples).
ROUND_4: dict[str, tuple[str, str]] = {
    "macaulay2-common": ("usr/share/doc/Macaulay2", "https://macaulay2.com/doc/Macaulay2-1.21/share/doc/Macaulay2"),
    "r-cran-rstanarm": ("usr/lib/R/site-library/rstanarm/doc", "https://cran.r-project.org/web/packages/rstanarm/vignettes"),
    "r-cran-brms": ("usr/lib/R/site-library/brms/doc", "https://cran.r-project.org/web/packages/brms/vignettes"),
    "r-cran-loo": ("usr/lib/R/site-library/loo/doc", "https://cran.r-project.org/web/packages/loo/vignettes"),
    "libghc-statistics-doc": ("usr/share/doc/libghc-statistics-doc/html",
                              "https://hackage.haskell.org/package/statistics-0.16.1.0/docs"),
    "libghc-math-functions-doc": ("usr/share/doc/libghc-math-functions-doc/html",
                                  "https://hackage.haskell.org/package/math-functions-0.3.4.2/docs"),
    "python-nbsphinx-doc": ("usr/share/doc/python-nbsphinx/html", "https://nbsphinx.readthedocs.io/en/0.8.11"),
    "docutils-doc": ("usr/share/doc/docutils-doc", "https://docutils.sourceforge.io"),
    "nlopt-doc": ("usr/share/doc/nlopt-doc/site", "https://nlopt.readthedocs.io/en/v2.7.1"),
    "libjs-asciimathml": ("usr/share/doc/libjs-asciimathml", "http://www1.chapman.edu/~jipsen/mathml"),
    "libjs-mathjax-doc": ("usr/share/doc/libjs-mathjax-doc/html", "https://docs.mathjax.org/en/v2.7-latest"),
}
# A fifth round, run once rounds 1-4 were mended: the Debian documentation packages with labelled
# math that no earlier round used (engineering and physics manuals, mostly Sphinx, some with
# custom themes and numbered equations; Why3's and Dynare's manuals; R vignettes), plus three
# whose math the label rule does not count (texinfo's MPFR manual, lp_solve's hand-written HTML,
# gnuplot's manual), to measure precision on math-adjacent pages.
ROUND_5: dict[str, tuple[str, str]] = {
    "python-sasmodels-doc": ("usr/share/doc/python-sasmodels-doc/html", "https://www.sasview.org/docs/sasmodels/1.0.6"),
    "python-fluids-doc": ("usr/share/doc/python-fluids-doc/html", "https://fluids.readthedocs.io/en/1.0.22"),
    "ceres-solver-doc": ("usr/share/doc/ceres-solver-doc/html", "http://ceres-solver.org/2.1.0"),
    "python-lmfit-doc": ("usr/share/doc/python3-lmfit/html", "https://lmfit.github.io/lmfit-py/1.1.0"),
    "dynare-doc": ("usr/share/doc/dynare/dynare.html", "https://www.dynare.org/manual/5.3"),
    "xmds2-doc": ("usr/share/doc/xmds2", "http://www.xmds.org/3.1.0"),
    "yade-doc": ("usr/share/doc/yade/html", "https://yade-dem.org/doc/2023.02a"),
    "python-ase-doc": ("usr/share/doc/python-ase-doc/html", "https://wiki.fysik.dtu.dk/ase/3.22.1"),
    "python-sfepy-doc": ("usr/share/doc/python-sfepy-doc/html", "https://sfepy.org/doc/2021.4"),
    "why3-doc-html": ("usr/share/doc/why3-doc-html/html", "https://why3.lri.fr/doc/1.5.1"),
    "r-cran-bayesplot": ("usr/lib/R/site-library/bayesplot/doc", "https://cran.r-project.org/web/packages/bayesplot/vignettes"),
    "r-cran-fitdistrplus": ("usr/lib/R/site-library/fitdistrplus/doc",
                            "https://cran.r-project.org/web/packages/fitdistrplus/vignettes"),
    "libmpfr-doc": ("usr/share/doc/libmpfr-doc/mpfr.html", "https://www.mpfr.org/mpfr-4.2.0/mpfr.html"),
    "lp-solve-doc": ("usr/share/doc/lp-solve-doc", "https://lpsolve.sourceforge.net/5.5"),
    "gnuplot-doc": ("usr/share/doc/gnuplot/htmldocs", "http://www.gnuplot.info/docs_5.4"),
}
ROUNDS = {1: PACKAGES, 2: ROUND_2, 3: ROUND_3, 4: ROUND_4, 5: ROUND_5}
ALL_PACKAGES = {**PACKAGES, **ROUND_2, **ROUND_3, **ROUND_4, **ROUND_5}


# ----------------------------------------------------------------------------------------------
# Fetching and sampling
# ----------------------------------------------------------------------------------------------

def fetch(pkg: str) -> tuple[Path | None, str]:
    """The unpacked package root, downloading and unpacking once; (None, why) when that fails."""
    return fetch_package(pkg, DATA / "debs", DATA / "root" / pkg)


def html_files(root: Path, sub: str) -> list[Path]:
    """Regular *.html/*.htm/*.xhtml files under the package's HTML folder, sorted.

    Symlinks are left out: in these packages they point at another page of the same package
    (pandas' whatsnew.html -> release.html) or at the real copy of the R manuals, which is listed.
    """
    base = root / sub
    if not base.is_dir():
        base = root
    files = [p for p in base.rglob("*") if p.suffix.lower() in (".html", ".htm", ".xhtml") and p.is_file() and not p.is_symlink()]
    return sorted(files)


def sample(files: list[Path], n: int, seed: int) -> list[Path]:
    if len(files) <= n:
        return files
    return sorted(random.Random(seed).sample(files, n))


# ----------------------------------------------------------------------------------------------
# The label rule (README "Label rule"), implemented here from its text
# ----------------------------------------------------------------------------------------------

_SKIP_TEXT = {"pre", "code", "script", "style", "textarea"}
# Order matters: a span found by an earlier pattern is blanked before the next one runs, so that
# ``\[\begin{aligned}..\end{aligned}\]`` or ``$$\begin{align}..$$`` is one formula.
_TEXT_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("tex_dollar2", re.compile(r"\$\$.+?\$\$", re.S)),
    ("tex_bracket", re.compile(r"\\\[.+?\\\]", re.S)),
    ("tex_env", re.compile(r"\\begin\{(equation|align|alignat|gather|multline|eqnarray|displaymath|math)(\*?)\}"
                           r".*?\\end\{\1\2\}", re.S)),
    ("tex_paren", re.compile(r"\\\(.+?\\\)", re.S)),
)
# ``$..$`` pairs, with ``\$`` an escaped dollar (MathJax's processEscapes, KaTeX the same).
_DOLLAR_PAIR = re.compile(r"(?<!\\)\$((?:[^$\\]|\\.)+?)(?<!\\)\$", re.S)
# A config that makes a single ``$`` an inline delimiter: MathJax ``inlineMath: [['$','$'], ..]``
# (v2 tex2jax and v3 tex) or KaTeX auto-render ``{left: "$", right: "$", display: false}``.
_DOLLAR_CONFIG = re.compile(
    r"""inlineMath["']?\s*:\s*\[[^\]]*?\[\s*["']\$["']\s*,\s*["']\$["']\s*\]"""
    r"""|left["']?\s*:\s*["']\$["']\s*,\s*right["']?\s*:\s*["']\$["']""",
    re.S)
_MATH_ENGINE = re.compile(r"mathjax|katex", re.I)
# Kinds as the README names them (``markup``), from the finer kinds counted here.
README_KIND = {"mathml": "mathml", "img_alt": "img_alt", "sphinx_math": "mathjax", "tex_dollar2": "mathjax",
               "tex_bracket": "mathjax", "tex_env": "mathjax", "tex_paren": "mathjax", "katex": "katex",
               "dollar": "katex"}


def _classes(el: etree._Element) -> list[str]:
    return (el.get("class") or "").split()


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1].lower()


def main_content(doc: etree._Element) -> etree._Element:
    for xp in ('//*[@role="main"]', "//main", '//*[@id="page-content"]',
               '//*[contains(concat(" ", normalize-space(@class), " "), " body ")]'):
        found = doc.xpath(xp)
        if found:
            return found[0]
    body = doc.find(".//body")
    return body if body is not None else doc


def dollar_configured(doc: etree._Element) -> bool:
    """The page loads MathJax or KaTeX and configures ``$`` as an inline delimiter."""
    scripts = doc.xpath("//script")
    engine = any(_MATH_ENGINE.search((s.get("src") or "") + (s.get("type") or "") + (s.text or "")) for s in scripts)
    return engine and any(_DOLLAR_CONFIG.search(s.text or "") for s in scripts)


def _element_kind(el: etree._Element) -> str | None:
    """The formula kind of an element that is one formula by itself, else None."""
    tag = _local(el.tag)
    cls = _classes(el)
    if tag == "math":
        return "mathml"
    if "katex" in cls:
        return "katex"
    if tag == "img" and el.get("alt") and ("math" in cls or any("math" in _classes(a) for a in el.iterancestors())):
        return "img_alt"
    if tag in ("span", "div") and "math" in cls and "".join(el.itertext()).strip():
        # Sphinx imgmath's display block is a div.math around an <img alt>: one formula, img_alt.
        imgs = [i for i in el.iter("img") if i.get("alt")]
        return "img_alt" if imgs else "sphinx_math"
    return None


def _free_text(el: etree._Element, out: list[str], counts: Counter) -> None:
    """Collect the text outside pre/code/script and outside formula elements (counted instead)."""
    if isinstance(el.tag, str):
        kind = _element_kind(el)
        if kind:
            counts[kind] += 1
            out.append(" ")
            return
        if _local(el.tag) in _SKIP_TEXT:
            out.append(" ")
            return
        out.append(el.text or "")
        for child in el:
            _free_text(child, out, counts)
            out.append(child.tail or "")
    # Comments and processing instructions: their text is not rendered; the caller adds the tail.


def count_text_formulas(text: str, dollars: bool, counts: Counter) -> None:
    for kind, rx in _TEXT_PATTERNS:
        found = rx.findall(text)
        if found:
            counts[kind] += len(found)
            text = rx.sub(" ", text)
    if dollars:
        n = sum(1 for m in _DOLLAR_PAIR.finditer(text) if m.group(1).strip())
        if n:
            counts["dollar"] += n


def own_decode(data: bytes) -> str:
    """The labeller's own decoding (UTF-8, else the <meta> charset, else Latin-1), independent of
    the pipeline's decode_html."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    m = re.search(rb"""charset=["']?([-\w]+)""", data[:4096], re.I)
    if m:
        try:
            return data.decode(m.group(1).decode("ascii"), "replace")
        except LookupError:
            pass
    return data.decode("latin-1")


def dom_formulas(data: bytes) -> Counter:
    """Formulas in the page's main content, by fine kind (see README_KIND)."""
    text = own_decode(data)
    if text.lstrip().startswith("<?xml"):
        text = text.split("?>", 1)[-1]
    counts: Counter = Counter()
    if not text.strip():
        return counts
    try:
        doc = lxml_html.document_fromstring(text)
    except (etree.ParserError, ValueError):
        return counts
    out: list[str] = []
    _free_text(main_content(doc), out, counts)
    count_text_formulas("".join(out), dollar_configured(doc), counts)
    return counts


def markup_of(counts: Counter) -> str:
    by_kind: Counter = Counter()
    for k, v in counts.items():
        by_kind[README_KIND[k]] += v
    return by_kind.most_common(1)[0][0] if by_kind and sum(by_kind.values()) else "none"


# ----------------------------------------------------------------------------------------------
# The pipeline on one page
# ----------------------------------------------------------------------------------------------

@dataclass
class Page:
    package: str
    path: str
    url: str
    bytes: int
    truncated: bool
    dom_count: int
    dom_kinds: dict[str, int]
    markup: str
    label: bool
    decoded_as: str = ""
    gate_pass: bool = False
    gate_by: str | None = None
    gate_fast_score: float | None = None
    our_count: int = 0
    # Formulas in the first MAX_CHARS characters: the part the classifier reads.
    our_count_head: int = 0
    text_chars: int = 0
    score: float = 0.0
    kept: bool = False
    extract_error: str | None = None
    text_head: str = field(default="", repr=False)


def label_page(pkg: str, rel: str, url: str, data: bytes) -> Page:
    truncated = len(data) > MAX_PAYLOAD
    data = data[:MAX_PAYLOAD]
    kinds = dom_formulas(data)
    n = sum(kinds.values())
    return Page(pkg, rel, url, len(data), truncated, n, dict(kinds), markup_of(kinds), n >= LABEL_MIN_FORMULAS)


def run_pipeline(page: Page, data: bytes, gate: CascadeGate, clf: MathClassifier, threshold: float) -> Page:
    """decode -> gate -> extract -> score, on the same (cut) bytes the label was computed on."""
    html, how = decode_html(data[:MAX_PAYLOAD], None, page.truncated)
    page.decoded_as = how
    if html is None:
        return page
    decision = gate.decide(html)
    page.gate_pass = decision.passed
    page.gate_by = decision.signals.get("passed_by")
    page.gate_fast_score = decision.signals.get("fast_score")
    listing = False
    try:
        result = extract_html(html, page.url)
        text = result.text
        listing = is_source_listing(result.meta, ExtractSettings())  # the web reader's rule
        page.extract_error = "source_listing" if listing else None
    except ExtractTimeout:
        text, page.extract_error = "", "timeout"
    c = raw_counts(text, max_chars=len(text) + 1)
    page.our_count = c["tex_inline"] + c["tex_display"]
    head = raw_counts(text)
    page.our_count_head = head["tex_inline"] + head["tex_display"]
    page.text_chars = len(text)
    page.score = float(clf.score([text])[0])
    page.kept = page.gate_pass and not listing and page.score >= threshold
    page.text_head = " ".join(text[:200].split())
    return page


# ----------------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------------

def _ratio(a: float, b: float) -> str:
    return f"{a / b:.3f}" if b else "  -  "


def prf(pages: list[Page], threshold: float) -> tuple[int, int, int]:
    tp = sum(p.label and p.score >= threshold for p in pages)
    fp = sum((not p.label) and p.score >= threshold for p in pages)
    fn = sum(p.label and p.score < threshold for p in pages)
    return tp, fp, fn


def _prf_cells(tp: int, fp: int, fn: int) -> str:
    prec = tp / (tp + fp) if tp + fp else float("nan")
    rec = tp / (tp + fn) if tp + fn else float("nan")
    f1 = 2 * prec * rec / (prec + rec) if tp else (0.0 if fp + fn else float("nan"))
    return f"{prec:6.3f} {rec:6.3f} {f1:6.3f}"


HEADER = (f"{'package':24} {'pages':>5} {'math':>5} {'gate%':>6} {'gRec':>6} | {'P':>6} {'R':>6} {'F1':>6}"
          f" | {'P_all':>6} {'R_all':>6} {'F1_all':>6} | {'e2eR':>6} {'e2eP':>6} | {'retain':>6} {'ours>=3':>7}")


def summary_row(name: str, pages: list[Page], threshold: float) -> str:
    math_pages = [p for p in pages if p.label]
    passed = [p for p in pages if p.gate_pass]
    kept = [p for p in pages if p.kept]
    tp_e2e = sum(p.label for p in kept)
    dom = sum(p.dom_count for p in math_pages)
    ours = sum(p.our_count for p in math_pages)
    return (f"{name:24} {len(pages):5d} {len(math_pages):5d} {_ratio(len(passed), len(pages)):>6} "
            f"{_ratio(sum(p.gate_pass for p in math_pages), len(math_pages)):>6} | "
            f"{_prf_cells(*prf(passed, threshold))} | {_prf_cells(*prf(pages, threshold))} | "
            f"{_ratio(tp_e2e, len(math_pages)):>6} {_ratio(tp_e2e, len(kept)):>6} | "
            f"{_ratio(ours, dom):>6} {_ratio(sum(p.our_count >= LABEL_MIN_FORMULAS for p in math_pages), len(math_pages)):>7}")


def _page_line(p: Page) -> str:
    why = "" if p.gate_pass else " GATE-REJECT"
    fast = f" fast={p.gate_fast_score:.2f}" if p.gate_fast_score is not None else ""
    return (f"    {p.path}  dom={p.dom_count} {dict(p.dom_kinds)} ours={p.our_count} (first {MAX_CHARS}: "
            f"{p.our_count_head}) chars={p.text_chars} score={p.score:.3f}"
            f" gate={p.gate_by}{fast}{why}\n      {p.url}\n      text: {p.text_head!r}")


def worst(pages: list[Page]) -> tuple[list[Page], list[Page]]:
    fns = sorted((p for p in pages if p.label and not p.kept), key=lambda p: (-p.dom_count, p.score))
    fps = sorted((p for p in pages if not p.label and p.kept), key=lambda p: (-p.score, p.dom_count))
    return fns, fps


def fn_reasons(fns: list[Page]) -> Counter:
    """Why a label-math page was lost: the gate, the extraction, the classifier's reading window,
    or the classifier itself."""
    out: Counter = Counter()
    for p in fns:
        if not p.gate_pass:
            out["gate rejected"] += 1
        elif p.extract_error == "source_listing":
            out["rejected as a source listing"] += 1
        elif p.our_count < LABEL_MIN_FORMULAS:
            out["extraction kept < 3 formulas"] += 1
        elif p.our_count_head < LABEL_MIN_FORMULAS:
            out[f"< 3 formulas in the first {MAX_CHARS} chars the classifier reads"] += 1
        else:
            out["classifier low with >= 3 formulas in its window"] += 1
    return out


def fp_reasons(fps: list[Page]) -> Counter:
    out: Counter = Counter()
    for p in fps:
        if p.our_count >= LABEL_MIN_FORMULAS and p.dom_count < LABEL_MIN_FORMULAS:
            out["our text has >= 3 TeX spans the rule does not count"] += 1
        elif p.dom_count:
            out["1-2 DOM formulas"] += 1
        else:
            out["no formula at all (topic words)"] += 1
    return out


def report(by_pkg: dict[str, list[Page]], threshold: float) -> None:
    everything = [p for pages in by_pkg.values() for p in pages]
    print("\ngate% = gate pass rate; gRec = label-math pages passing the gate; P/R/F1 = classifier at "
          f"{threshold} on gate-passed pages;\nP_all/R_all/F1_all = classifier on all pages (gate ignored); "
          "e2eR/e2eP = gate AND score >= threshold;\nretain = formulas in our text / DOM formulas, on "
          "label-math pages (sum over pages); ours>=3 = share of label-math pages whose text has >= 3.\n")
    print(HEADER)
    for pkg, pages in by_pkg.items():
        print(summary_row(pkg, pages, threshold))
    print(summary_row("ALL", everything, threshold))
    print("\nMarkup (README kinds, by highest count) per package, label-math/all:")
    for pkg, pages in by_pkg.items():
        allk = Counter(p.markup for p in pages)
        mathk = Counter(p.markup for p in pages if p.label)
        print(f"  {pkg:24} " + ", ".join(f"{k} {mathk.get(k, 0)}/{v}" for k, v in allk.most_common()))
    for pkg, pages in by_pkg.items():
        fns, fps = worst(pages)
        print(f"\n=== {pkg}: {len(fns)} false negatives, {len(fps)} false positives (end to end)")
        if fns:
            print("  FN reasons: " + ", ".join(f"{k} {v}" for k, v in fn_reasons(fns).most_common()))
            kinds: Counter = Counter()
            for p in fns:
                kinds.update(k for k, v in p.dom_kinds.items() if v)
            print("  DOM markup kinds on FNs (pages having the kind): "
                  + ", ".join(f"{k} {v}" for k, v in kinds.most_common()))
            print("  worst false negatives:")
            for p in fns[:5]:
                print(_page_line(p))
        if fps:
            print("  FP reasons: " + ", ".join(f"{k} {v}" for k, v in fp_reasons(fps).most_common()))
            print("  worst false positives:")
            for p in fps[:5]:
                print(_page_line(p))


def report_math_only(by_pkg: dict[str, list[Page]], threshold: float) -> None:
    """Recall side only, on every label-math page of each package (sampled or not)."""
    print(f"\n##### Every label-math page of each package (--all-math): recall side only\n"
          f"{'package':24} {'math':>5} {'gRec':>6} {'clfR':>6} {'e2eR':>6} | {'retain':>6} {'ours>=3':>7}")
    everything = [p for pages in by_pkg.values() for p in pages]
    for name, pages in [*by_pkg.items(), ("ALL", everything)]:
        passed = [p for p in pages if p.gate_pass]
        dom = sum(p.dom_count for p in pages)
        ours = sum(p.our_count for p in pages)
        print(f"{name:24} {len(pages):5d} {_ratio(len(passed), len(pages)):>6} "
              f"{_ratio(sum(p.score >= threshold for p in passed), len(passed)):>6} "
              f"{_ratio(sum(p.kept for p in pages), len(pages)):>6} | {_ratio(ours, dom):>6} "
              f"{_ratio(sum(p.our_count >= LABEL_MIN_FORMULAS for p in pages), len(pages)):>7}")
    for pkg, pages in by_pkg.items():
        fns, _ = worst(pages)
        if not fns:
            continue
        kinds: Counter = Counter()
        for p in fns:
            kinds.update(k for k, v in p.dom_kinds.items() if v)
        print(f"\n=== {pkg}: {len(fns)} of {len(pages)} label-math pages lost. Reasons: "
              + ", ".join(f"{k} {v}" for k, v in fn_reasons(fns).most_common())
              + "\n  DOM markup kinds on them: " + ", ".join(f"{k} {v}" for k, v in kinds.most_common()))
        for p in fns[:5]:
            print(_page_line(p))


def _package_pages(pkg: str, per_package: int) -> tuple[list[tuple[str, str, Path]], list[tuple[str, str, Path]]]:
    """(sampled, the rest) as (relative path, URL, file); both empty when the package is missing."""
    root, how = fetch(pkg)
    if root is None:
        print(f"SKIP {pkg}: {how}")
        return [], []
    sub, url_base = ALL_PACKAGES[pkg]
    files = html_files(root, sub)
    chosen = sample(files, per_package, SEED)
    print(f"{pkg}: {how}; {len(files)} HTML files, {len(chosen)} sampled")
    base = root / sub if (root / sub).is_dir() else root

    def row(f: Path) -> tuple[str, str, Path]:
        rel = f.relative_to(base).as_posix()
        return rel, f"{url_base}/{rel}", f

    picked = set(chosen)
    return [row(f) for f in chosen], [row(f) for f in files if f not in picked]


def _write(pages: list[Page], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w") as fh:
        for p in pages:
            fh.write(json.dumps(asdict(p)) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--round", type=int, choices=sorted(ROUNDS), default=1,
                    help="which package set (1: the first seven; 2: eleven more, other generators and languages; "
                         "3: nine more, number theory and Doxygen formula images; "
                         "4: eleven more, KaTeX, R Markdown, Haddock, nbsphinx, docutils, AsciiMath; "
                         "5: fifteen more, engineering and physics Sphinx manuals, Why3, Dynare, texinfo, lp_solve)")
    ap.add_argument("--packages", nargs="*", help="a subset of the round's packages")
    ap.add_argument("--per-package", type=int, default=PER_PACKAGE)
    ap.add_argument("--all-math", action="store_true",
                    help="also label every HTML file and run the pipeline on every label-math page (recall only)")
    ap.add_argument("--out", type=Path, default=DATA / "pages.jsonl")
    args = ap.parse_args(argv)
    packages = args.packages or list(ROUNDS[args.round])
    settings = FilterSettings()
    threshold = settings.math_threshold
    gate, clf = CascadeGate(settings), MathClassifier(settings.math_model)
    by_pkg: dict[str, list[Page]] = {}
    math_by_pkg: dict[str, list[Page]] = {}
    t0 = time.process_time()
    for pkg in packages:
        chosen, rest = _package_pages(pkg, args.per_package)
        if not chosen:
            continue
        pages = []
        for rel, url, f in chosen:
            data = f.read_bytes()
            pages.append(run_pipeline(label_page(pkg, rel, url, data), data, gate, clf, threshold))
        by_pkg[pkg] = pages
        if args.all_math:
            extra = []
            for rel, url, f in rest:
                data = f.read_bytes()
                page = label_page(pkg, rel, url, data)
                if page.label:
                    extra.append(run_pipeline(page, data, gate, clf, threshold))
            math_by_pkg[pkg] = [p for p in pages if p.label] + extra
    n = sum(len(v) for v in by_pkg.values())
    print(f"{n} sampled pages in {time.process_time() - t0:.0f} s CPU")
    _write([p for v in by_pkg.values() for p in v], args.out)
    report(by_pkg, threshold)
    if args.all_math:
        _write([p for v in math_by_pkg.values() for p in v], args.out.with_name(args.out.stem + "_allmath.jsonl"))
        report_math_only(math_by_pkg, threshold)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
