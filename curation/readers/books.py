"""Books and papers: TeX (a file or an arXiv-style tarball), EPUB, plain text and Markdown.

One document per file. TeX keeps its math verbatim (it is already LaTeX); comments are stripped,
``\\input``/``\\include`` are inlined, and the preamble before ``\\begin{document}`` is dropped
(macro setup, as RedPajama's arXiv recipe does). EPUB chapters go through ``extract_fragment``
(the same math normalisation, without boilerplate removal: a chapter is all content).
"""

from __future__ import annotations

import gzip
import os
import posixpath
from collections import Counter
from collections.abc import Iterator
from typing import Any

from lxml import etree

from curation.extract.html import ExtractTimeout, extract_fragment, time_limit
from curation.extract.settings import ExtractSettings
from curation.readers._archive import UnsafeArchive, open_zip, read_tar, read_zip_member, safe_member_name
from curation.readers._common import decode_text, doc_row, error_reason
from curation.readers._tex import (
    decode_tex,
    document_body,
    find_main,
    math_counts,
    resolve_inputs,
    strip_comments,
)

SOURCE = "books"
TEX_SUFFIXES = (".tex", ".ltx", ".latex", ".bbl", ".sty", ".cls", ".def")
TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".rst", ".text")
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")
_SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def read_file(path: str, settings: ExtractSettings, counters: Counter) -> Iterator[dict[str, Any]]:
    lower = path.lower()
    try:
        if lower.endswith(TAR_SUFFIXES):
            yield _timed(_tarball, path, settings, counters)
        elif lower.endswith(".epub"):
            yield _epub(path, settings, counters)
        elif lower.endswith((".tex", ".ltx", ".latex", ".tex.gz")):
            yield _timed(_tex_file, path, settings)
        elif lower.endswith(TEXT_SUFFIXES):
            yield _text_file(path, settings)
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
        with gzip.open(path, "rb") as fh:
            data = fh.read(settings.max_archive_bytes + 1)
        if len(data) > settings.max_archive_bytes:
            raise UnsafeArchive("archive_too_large")
        return data
    with open(path, "rb") as fh:
        return fh.read()


def _finish_tex(path: str, tex: str, meta: dict[str, Any], settings: ExtractSettings) -> dict[str, Any]:
    body, had_doc = document_body(tex)
    meta["preamble_dropped"] = had_doc
    meta.update(math_counts(body))
    text = body.strip()
    reason = None if len(text) >= max(settings.min_chars, 1) else "empty_text"
    return doc_row(SOURCE, path, 0, text or None, meta=meta, reason=reason)


def _tex_file(path: str, settings: ExtractSettings) -> dict[str, Any]:
    text, how = decode_tex(_read_capped(path, settings))
    meta: dict[str, Any] = {"file": path, "format": "tex", "charset": how}
    if text is None:
        return doc_row(SOURCE, path, 0, None, meta=meta, reason="undecodable")
    # \input of sibling files on disk, never outside the file's own folder.
    name = os.path.basename(path)
    files = {name: text}
    folder = os.path.dirname(os.path.abspath(path))
    for ref in _sibling_refs(text):
        target = safe_member_name(ref if ref.endswith(".tex") else ref + ".tex")
        full = os.path.join(folder, target) if target else None
        if full and os.path.isfile(full) and target not in files:
            with open(full, "rb") as fh:
                sub, _ = decode_tex(fh.read())
            if sub is not None:
                files[target] = sub
    tex, stats = resolve_inputs(name, files, settings.max_tex_input_depth)
    meta.update(stats)
    return _finish_tex(path, tex, meta, settings)


def _sibling_refs(text: str) -> list[str]:
    from curation.readers._tex import _INPUT

    return [m.group(2) or m.group(3) for m in _INPUT.finditer(strip_comments(text))]


def _tarball(path: str, settings: ExtractSettings, counters: Counter) -> dict[str, Any]:
    raw, skipped = read_tar(path, settings, TEX_SUFFIXES)
    if skipped:
        counters["tar_members_skipped_unsafe"] += skipped
    files: dict[str, str] = {}
    for name, data in raw.items():
        text, _ = decode_tex(data)
        if text is not None:
            files[name] = text
    tex_files = {n: t for n, t in files.items() if n.lower().endswith((".tex", ".ltx", ".latex"))}
    main = find_main(tex_files)
    meta: dict[str, Any] = {"file": path, "format": "tex_archive", "members": len(raw), "unsafe_members": skipped}
    if main is None:
        return doc_row(SOURCE, path, 0, None, meta=meta, reason="no_tex_main")
    meta["main_file"] = main
    tex, stats = resolve_inputs(main, files, settings.max_tex_input_depth)
    meta.update(stats)
    return _finish_tex(path, tex, meta, settings)


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
        for idref in spine:
            item = manifest.get(idref)
            if item is None:
                continue
            href = safe_member_name(posixpath.join(base, item.get("href") or ""))
            if href is None or href not in names:
                counters["epub_missing_chapter"] += 1
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
    meta: dict[str, Any] = {"file": path, "format": "epub", "chapters": len(chapters), "math_markup": dict(markup)}
    if title_el is not None and title_el.text:
        meta["title"] = title_el.text.strip()
    if license_el is not None and license_el.text:
        meta["license"] = license_el.text.strip()
    text = "\n\n".join(chapters)
    return doc_row(SOURCE, path, 0, text or None, meta=meta,
                   reason=None if len(text) >= max(settings.min_chars, 1) else "empty_text")
