"""Books and papers: TeX (a file or an arXiv-style tarball), EPUB, plain text and Markdown.

One document per file, and per paper in an arXiv bulk tar (``arXiv_src_2101_001.tar``: one
``.gz`` per paper). TeX keeps its math verbatim (it is already LaTeX); comments are stripped,
``\\input``/``\\include``/``\\import`` are inlined, and the preamble before ``\\begin{document}`` is dropped
(macro setup, as RedPajama's arXiv recipe does). EPUB chapters go through ``extract_fragment``
(the same math normalisation, without boilerplate removal: a chapter is all content).
"""

from __future__ import annotations

import gzip
import io
import os
import posixpath
import re
import tarfile
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote, urldefrag

from lxml import etree

from curation.extract.html import ExtractTimeout, extract_fragment, time_limit
from curation.extract.settings import ExtractSettings
from curation.readers._archive import (
    BOMB_FLOOR,
    UnsafeArchive,
    iter_tar,
    open_zip,
    read_tar,
    read_zip_member,
    safe_member_name,
)
from curation.readers._common import decode_text, doc_row, error_reason
from curation.readers._tex import (
    decode_tex,
    find_main,
    math_counts,
    resolve_inputs,
    split_document,
)
from curation.readers._tex_macros import expand_macros, find_macros

SOURCE = "books"
TEX_SUFFIXES = (".tex", ".ltx", ".latex", ".bbl", ".sty", ".cls", ".def")
TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".rst", ".text")
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")
# A paper in an arXiv bulk tar (arXiv_src_2101_001.tar): ``2101/2101.00001.gz``, a gzipped tarball or
# a gzipped single .tex, or ``2101/2101.00003.pdf`` (no TeX source); old ids as ``0001/math0001001.gz``.
_ARXIV_PAPER = re.compile(r"(?:^|/)((?:\d{4}\.\d{4,5}|[a-z][a-z-]*(?:\.[A-Z]{2})?\d{7})(?:v\d+)?)\.(?:gz|pdf)$")
_NOT_TEX = (b"%PDF", b"%!PS")  # papers submitted as PDF or PostScript
_SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def read_file(path: str, settings: ExtractSettings, counters: Counter) -> Iterator[dict[str, Any]]:
    lower = path.lower()
    try:
        if lower.endswith(TAR_SUFFIXES):
            yield from _archive(path, settings, counters)
        elif lower.endswith(".epub"):
            yield _epub(path, settings, counters)
        elif lower.endswith((".tex", ".ltx", ".latex", ".tex.gz")):
            yield _timed(_tex_file, path, settings)
        elif lower.endswith(TEXT_SUFFIXES):
            yield _text_file(path, settings)
        elif lower.endswith(".gz"):  # arXiv's per-paper source: 2101.00001.gz
            yield from _archive(path, settings, counters)
        else:
            yield doc_row(SOURCE, path, 0, None, meta={"file": path}, reason="unsupported_format")
    except UnsafeArchive as exc:
        yield doc_row(SOURCE, path, 0, None, meta={"file": path}, reason=exc.reason)
    except Exception as exc:  # a reader never raises on bad input
        yield doc_row(SOURCE, path, 0, None, meta={"file": path}, reason=error_reason(exc))


def _timed(fn, path: str, settings: ExtractSettings, *args) -> dict[str, Any]:
    """TeX handling is regex work on attacker-controlled text: the per-document limit covers it."""
    try:
        with time_limit(settings.timeout_seconds):
            return fn(path, settings, *args)
    except ExtractTimeout:
        return doc_row(SOURCE, path, 0, None, meta={"file": path}, reason="extract_timeout")


def _read_capped(path: str, settings: ExtractSettings) -> bytes:
    if path.lower().endswith(".gz"):
        return _gunzip_capped(path, settings)
    with open(path, "rb") as fh:
        return fh.read()


def _finish_tex(path: str, tex: str, meta: dict[str, Any], settings: ExtractSettings) -> dict[str, Any]:
    body, preamble = split_document(tex)
    meta["preamble_dropped"] = preamble is not None
    if preamble is not None:
        # The preamble's simple macros would mean nothing once it is gone (_tex_macros).
        body, meta["macros_expanded"] = expand_macros(body, find_macros(preamble))
    meta.update(math_counts(body))
    text = body.strip()
    reason = None if len(text) >= max(settings.min_chars, 1) else "empty_text"
    return doc_row(SOURCE, path, 0, text or None, meta=meta, reason=reason)


def _tex_file(path: str, settings: ExtractSettings) -> dict[str, Any]:
    data = _read_capped(path, settings)
    return _tex_source(path, settings, data, {"file": path}, os.path.basename(path), _folder_loader(path, settings))


def _tex_source(origin: str, settings: ExtractSettings, data: bytes, meta: dict[str, Any], name: str,
                load: Callable[[str], str | None] | None = None) -> dict[str, Any]:
    if data.startswith(_NOT_TEX):  # arXiv's .gz of a paper submitted as PostScript
        return doc_row(SOURCE, origin, 0, None, meta=meta, reason="no_tex_source")
    text, how = decode_tex(data)
    meta.update(format="tex", charset=how)
    if text is None:
        return doc_row(SOURCE, origin, 0, None, meta=meta, reason="undecodable")
    tex, stats = resolve_inputs(name, {name: text}, settings.max_tex_input_depth, load)
    meta.update(stats)
    return _finish_tex(origin, tex, meta, settings)


def _folder_loader(path: str, settings: ExtractSettings) -> Callable[[str], str | None]:
    """Reads the TeX files a .tex on disk inputs, at any depth: from its own folder only (no
    ``..``, absolute path or symlink out of it), within the archive byte budget."""
    folder = os.path.realpath(os.path.dirname(os.path.abspath(path)))
    budget = settings.max_archive_bytes

    def load(name: str) -> str | None:
        nonlocal budget
        rel = safe_member_name(name)
        if rel is None or not rel.lower().endswith(TEX_SUFFIXES) or budget <= 0:
            return None
        full = os.path.realpath(os.path.join(folder, rel))
        if os.path.commonpath((folder, full)) != folder or not os.path.isfile(full):
            return None
        with open(full, "rb") as fh:
            data = fh.read(budget + 1)
        budget -= len(data)
        return decode_tex(data)[0] if budget >= 0 else None

    return load


def _archive(path: str, settings: ExtractSettings, counters: Counter) -> Iterator[dict[str, Any]]:
    """A tarball, or a gzipped single .tex whatever its name: arXiv ships a one-file paper's
    source as a bare gzip (``2101.00001.gz``), and mirrors rename it ``.tar.gz``."""
    if path.lower().endswith(".gz") and not tarfile.is_tarfile(path):
        yield _timed(_tex_file, path, settings)
    else:
        yield from _tar_rows(path, settings, counters)


def _tar_rows(path: str, settings: ExtractSettings, counters: Counter) -> Iterator[dict[str, Any]]:
    """A paper's tarball is one document; an arXiv bulk tar gives one per paper, read one at a time."""
    files: dict[str, bytes] = {}
    skipped = papers = 0
    for name, data, why in iter_tar(path, settings, (*TEX_SUFFIXES, ".gz", ".pdf"), alone=_ARXIV_PAPER.search):
        paper = _ARXIV_PAPER.search(name)
        if paper and data is None:  # a paper too large, or a link: rejected with its reason
            papers += 1
            yield doc_row(SOURCE, f"{path}#{name}", 0, None, reason=why,
                          meta={"file": path, "member": name, "arxiv_id": paper.group(1)})
        elif data is None:
            skipped += 1
        elif paper:
            papers += 1
            yield _bulk_paper(path, name, paper.group(1), data, settings, counters)
        elif name.lower().endswith(TEX_SUFFIXES):
            files[name] = data
    if skipped:
        counters["tar_members_skipped_unsafe"] += skipped
    if files or not papers:  # a paper's tarball (or TeX loose beside a bulk tar's papers)
        yield _timed(_tex_archive, path, settings, files, {"file": path, "unsafe_members": skipped})


def _bulk_paper(path: str, name: str, arxiv_id: str, data: bytes, settings: ExtractSettings,
                counters: Counter) -> dict[str, Any]:
    """One paper of a bulk tar: a broken or hostile paper is rejected alone, the tar goes on."""
    origin = f"{path}#{name}"
    meta: dict[str, Any] = {"file": path, "member": name, "arxiv_id": arxiv_id}
    try:
        if name.lower().endswith(".pdf"):
            return doc_row(SOURCE, origin, 0, None, meta=meta, reason="no_tex_source")
        raw = _gunzip_capped(data, settings)
        if tarfile.is_tarfile(io.BytesIO(raw)):
            files, skipped = read_tar(io.BytesIO(raw), settings, TEX_SUFFIXES)
            if skipped:
                counters["tar_members_skipped_unsafe"] += skipped
            return _timed(_tex_archive, origin, settings, files, {**meta, "unsafe_members": skipped})
        return _timed(_tex_source, origin, settings, raw, meta, posixpath.basename(name)[:-3])
    except UnsafeArchive as exc:
        return doc_row(SOURCE, origin, 0, None, meta=meta, reason=exc.reason)
    except Exception as exc:  # a corrupt paper (bad gzip, broken tar) costs that paper only
        return doc_row(SOURCE, origin, 0, None, meta=meta, reason=error_reason(exc))


def _gunzip_capped(source: str | bytes, settings: ExtractSettings) -> bytes:
    """A gzip file (its path) or a bulk tar's gzip member (its bytes) inflated within the archive
    budget and the compression-ratio cap, so that a tar of small bombs cannot make each paper
    inflate a full budget, nor one small ``.tex.gz`` on disk."""
    size = os.path.getsize(source) if isinstance(source, str) else len(source)
    limit = min(settings.max_archive_bytes, max(BOMB_FLOOR, int(size * settings.max_compression_ratio)))
    opened = gzip.open(source, "rb") if isinstance(source, str) else gzip.GzipFile(fileobj=io.BytesIO(source))
    with opened as fh:
        raw = fh.read(limit + 1)
    if len(raw) > limit:
        raise UnsafeArchive("archive_too_large" if limit == settings.max_archive_bytes else "archive_bomb")
    return raw


def _tex_archive(origin: str, settings: ExtractSettings, raw: dict[str, bytes], meta: dict[str, Any]) -> dict[str, Any]:
    files: dict[str, str] = {}
    for name, data in raw.items():
        text, _ = decode_tex(data)
        if text is not None:
            files[name] = text
    tex_files = {n: t for n, t in files.items() if n.lower().endswith((".tex", ".ltx", ".latex"))}
    main = find_main(tex_files)
    meta.update(format="tex_archive", members=len(raw))
    if main is None:
        return doc_row(SOURCE, origin, 0, None, meta=meta, reason="no_tex_main")
    meta["main_file"] = main
    tex, stats = resolve_inputs(main, files, settings.max_tex_input_depth)
    meta.update(stats)
    return _finish_tex(origin, tex, meta, settings)


def _text_file(path: str, settings: ExtractSettings) -> dict[str, Any]:
    text, how = decode_text(_read_capped(path, settings))
    fmt = "markdown" if path.lower().endswith((".md", ".markdown")) else "text"
    meta = {"file": path, "format": fmt, "charset": how}
    if text is None:
        return doc_row(SOURCE, path, 0, None, meta=meta, reason="undecodable")
    text = text.replace("\r\n", "\n").strip()
    return doc_row(SOURCE, path, 0, text or None, meta=meta,
                   reason=None if len(text) >= max(settings.min_chars, 1) else "empty_text")


def _package_xml(data: bytes) -> etree._Element:
    """Parse an EPUB's container or package file; refuse any that declares entities.

    The parser never expands entities nor fetches anything (``_SAFE_XML``), but a package file
    that declares entities (billion laughs, XXE) is hostile: EPUB's own files have no use for them.
    """
    try:
        root = etree.fromstring(data, _SAFE_XML)
    except etree.XMLSyntaxError:
        if b"<!ENTITY" in data:  # libxml2 stopped at its entity amplification limit
            raise UnsafeArchive("xml_entities_forbidden") from None
        raise
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise UnsafeArchive("xml_entities_forbidden")
    return root


def _chapter_member(base: str, href: str | None) -> str | None:
    """The zip member a manifest href names: an href is a URL, percent-encoded
    (``chapter%201.xhtml``) and maybe with a fragment (``ch.xhtml#start``)."""
    return safe_member_name(posixpath.join(base, unquote(urldefrag(href or "").url)))


def _epub(path: str, settings: ExtractSettings, counters: Counter) -> dict[str, Any]:
    with open_zip(path, settings) as zf:
        names = set(zf.namelist())
        container = _package_xml(read_zip_member(zf, "META-INF/container.xml", settings))
        rootfile = container.find(".//{*}rootfile")
        opf_name = rootfile.get("full-path") if rootfile is not None else None
        if not opf_name or opf_name not in names:
            raise UnsafeArchive("epub_no_package")
        opf = _package_xml(read_zip_member(zf, opf_name, settings))
        base = posixpath.dirname(opf_name)
        manifest = {item.get("id"): item for item in opf.iterfind(".//{*}manifest/{*}item")}
        spine = [ref.get("idref") for ref in opf.iterfind(".//{*}spine/{*}itemref")]
        title_el = opf.find(".//{*}metadata/{*}title")
        license_el = opf.find(".//{*}metadata/{*}rights")
        chapters: list[str] = []
        markup: Counter = Counter()
        missing = 0
        for idref in spine:
            item = manifest.get(idref)
            href = _chapter_member(base, item.get("href")) if item is not None else None
            if href is None or href not in names:
                counters["epub_missing_chapter"] += 1
                missing += 1
                continue
            html, _ = decode_text(read_zip_member(zf, href, settings))
            if html is None:
                counters["epub_undecodable_chapter"] += 1
                continue
            try:
                result = extract_fragment(html, settings)
            except ExtractTimeout:
                counters["extract_timeout"] += 1
                continue
            markup.update(result.meta.get("math_markup", {}))
            if result.text.strip():
                chapters.append(result.text.strip())
    meta: dict[str, Any] = {"file": path, "format": "epub", "chapters": len(chapters), "missing_chapters": missing,
                            "math_markup": dict(markup)}
    if title_el is not None and title_el.text:
        meta["title"] = title_el.text.strip()
    if license_el is not None and license_el.text:
        meta["license"] = license_el.text.strip()
    text = "\n\n".join(chapters)
    return doc_row(SOURCE, path, 0, text or None, meta=meta,
                   reason=None if len(text) >= max(settings.min_chars, 1) else "empty_text")
