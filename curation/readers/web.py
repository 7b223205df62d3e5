"""WARC / WARC.gz reader (fastwarc): one row per ``response`` record.

Other record types are counted as ``warc_skipped:<type>``. The HTML-to-text step is one call,
``HtmlToText`` (default: ``curation.extract.html.extract_html``), passed as ``html_to_text`` so the
coarse-to-fine cascade can replace it without touching the record handling here.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import brotli  # FastWARC's own dependency: Content-Encoding br

from curation.extract.charset import decode_html
from curation.extract.html import DocumentRejected, ExtractResult, ExtractTimeout, extract_html
from curation.extract.settings import ExtractSettings
from curation.readers._common import doc_row, error_reason

SOURCE = "web"
HTML_TYPES = {"text/html", "application/xhtml+xml", "application/xml+xhtml", "text/xhtml"}
XML_TYPES = {"application/xml", "text/xml"}
HtmlToText = Callable[[str, "str | None", ExtractSettings], ExtractResult]


def _sniff_html(body: bytes) -> bool:
    head = body[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<?xml")) or b"<html" in head or b"<body" in head


def _sniff_xhtml(body: bytes) -> bool:
    head = body[:2048].lower()
    return b"<html" in head and b"http://www.w3.org/1999/xhtml" in head


# Control bytes that never occur in text in any charset a page can declare (tab, LF, FF, CR and
# ESC, which ISO-2022 uses, are allowed). UTF-16/32 text has NULs, so those pages are exempt.
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 27))
_BINARY_MAGIC = (b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"%PDF-", b"PK\x03\x04", b"\x1f\x8b", b"\x7fELF",
                 b"BZh", b"\xfd7zXZ", b"7z\xbc\xaf", b"RIFF", b"\x00\x00\x01\x00", b"OggS", b"ID3", b"wOF")
_SNIFF_BYTES = 8192
# Share of control bytes in the first 8 KiB above which a body is binary, whatever its label says
# (the WHATWG MIME sniffing spec calls a resource binary on a single such byte; 1% leaves room
# for the odd stray control character in real pages).
_MAX_CONTROL_SHARE = 0.01


def _looks_binary(body: bytes, content_type: str) -> bool:
    """A body labelled text/html that is really an image, archive or random bytes."""
    head = body[:_SNIFF_BYTES]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or "utf-16" in content_type.lower() or "utf-32" in content_type.lower():
        return False
    if head.startswith(_BINARY_MAGIC):
        return True
    controls = len(head) - len(head.translate(None, _CONTROL))
    return bool(head) and controls > _MAX_CONTROL_SHARE * len(head)


def _decompress(body: bytes, encoding: str, limit: int) -> bytes | None:
    """Undo a Content-Encoding the crawler kept; None when it fails or would exceed ``limit``."""
    try:
        if encoding in ("gzip", "x-gzip"):
            with gzip.GzipFile(fileobj=io.BytesIO(body)) as fh:
                out = fh.read(limit + 1)
        elif encoding == "deflate":
            d = zlib.decompressobj()
            out = d.decompress(body, limit + 1)
        elif encoding == "br":
            # The output limit bounds memory on a brotli bomb (it is honoured to a buffer's size).
            b = brotli.Decompressor()
            out = b.process(body, output_buffer_limit=limit + 1)
            if not b.is_finished():
                return None
        else:
            return body
    except (OSError, EOFError, zlib.error, brotli.error):
        return None
    return None if len(out) > limit else out


_CHUNK_SIZE_LINE = re.compile(rb"([0-9A-Fa-f]{1,8})[ \t]*(?:;[^\r\n]*)?\r?\n")


def _dechunk(body: bytes) -> bytes | None:
    """The payload of a body kept with ``Transfer-Encoding: chunked`` (RFC 9112, Sec. 7.1).

    Common Crawl stores payloads de-chunked, but WARCs written by wget, Heritrix or browsertrix
    keep the bytes as sent, and the chunk sizes would land in the text. None when the body is
    not chunked after all (no valid size line at the start); a body cut off inside a chunk
    keeps what arrived (the record says WARC-Truncated).
    """
    out = []
    pos = 0
    while True:
        m = _CHUNK_SIZE_LINE.match(body, pos)
        if m is None:
            return b"".join(out) if out else None
        size = int(m.group(1), 16)
        if size == 0:
            return b"".join(out)
        start = m.end()
        out.append(body[start : start + size])
        pos = start + size
        if pos >= len(body):
            return b"".join(out)
        # CRLF after the chunk data
        if body.startswith(b"\r\n", pos):
            pos += 2
        elif body.startswith(b"\n", pos):
            pos += 1


def read_file(
    path: str,
    settings: ExtractSettings,
    counters: Counter,
    html_to_text: HtmlToText | None = None,
    byte_range: tuple[int, int | None] | None = None,
) -> Iterator[dict[str, Any]]:
    """Rows of one WARC file, or of the records whose gzip member starts in ``byte_range``
    (end None: to the end of the file).

    A range [start, end) of a .warc.gz owns the records whose member starts at or after start and
    before end (Common Crawl writes one gzip member per record), so the ranges of a file read each
    record exactly once. File-level checks (truncated tail, empty file) belong to the range that
    reads up to the end of the file, or to the first range.
    """
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    html_to_text = html_to_text or extract_html
    name = os.path.basename(path)
    gz = path.lower().endswith(".gz")
    start, end = byte_range if byte_range and gz else (0, None)
    try:
        fh = open(path, "rb")
    except OSError as exc:
        if start == 0:
            yield doc_row(SOURCE, path, "file", None, meta={"file": path}, reason=error_reason(exc))
        return
    if start > 0:
        first = _next_warc_member(path, start - 1)
        if first is None or (end is not None and first >= end):
            fh.close()
            return  # no record starts in this range
        start = first
    n = 0
    last_pos = start
    resume = start  # where the current pass over the file started
    at_next_range = False  # stopped at a record of the next range (so this one did not reach EOF)
    with fh:
        while True:
            fh.seek(resume)
            yielded_this_pass = False
            try:
                for rec in ArchiveIterator(fh, parse_http=True, verify_digests=False):
                    if end is not None and rec.stream_pos >= end:
                        at_next_range = True
                        break
                    n += 1
                    last_pos = rec.stream_pos
                    yielded_this_pass = True
                    if rec.record_type != WarcRecordType.response:
                        wtype = (rec.headers.get("WARC-Type") or "unknown").lower()
                        counters[f"warc_skipped:{wtype}"] += 1
                        continue
                    row, file_broken = _response(rec, name, settings, counters, html_to_text)
                    if file_broken:
                        counters["warc_truncated_file"] += 1
                        yield doc_row(SOURCE, path, f"file@{rec.stream_pos}", None,
                                      meta={"file": path, "records_read": n - 1}, reason="read_error:truncated")
                        return
                    yield row
                break
            except Exception as exc:  # fastwarc raises on bytes that are not a WARC record
                counters["warc_malformed"] += 1
                reason = "malformed_warc" if isinstance(exc, OSError) else error_reason(exc)
                bad_at = last_pos if yielded_this_pass else resume
                yield doc_row(SOURCE, path, f"file@{bad_at}", None,
                              meta={"file": path, "records_read": n, "error": str(exc)[:200]}, reason=reason)
                # Common Crawl writes one gzip member per record: skip the member the damage is in
                # and go on with the next one that starts a WARC record. Plain WARCs cannot resync.
                nxt = _next_warc_member(path, bad_at) if gz else None
                if nxt is None or (end is not None and nxt >= end):
                    return
                counters["warc_resync"] += 1
                resume = nxt
    if at_next_range:
        return  # the range that reads up to the end of the file checks its tail
    if gz and not _gzip_tail_complete(path, last_pos):
        # fastwarc stops quietly when a gzip member is cut off: check the members after the last
        # record it returned, and report the file as truncated.
        counters["warc_truncated_file"] += 1
        yield doc_row(SOURCE, path, f"file@{last_pos}", None, meta={"file": path, "records_read": n},
                      reason="read_error:truncated")
        return
    if n == 0 and start == 0:
        counters["warc_empty_file"] += 1


_GZIP_MAGIC = b"\x1f\x8b\x08"


def _next_warc_member(path: str, after: int) -> int | None:
    """Offset of the first gzip member after ``after`` that inflates to a WARC header, or None."""
    import mmap

    try:
        with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            pos = after
            while True:
                pos = data.find(_GZIP_MAGIC, pos + 1)
                if pos < 0:
                    return None
                d = zlib.decompressobj(wbits=31)
                try:
                    head = d.decompress(data[pos : pos + 4096], 16)
                except zlib.error:
                    continue
                if head.startswith(b"WARC/"):
                    return pos
    except (OSError, ValueError):
        return None


def _gzip_tail_complete(path: str, offset: int) -> bool:
    """True when every gzip member from ``offset`` to the end of the file is complete."""
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            data = fh.read()
    except OSError:
        return False
    while data:
        d = zlib.decompressobj(wbits=31)
        try:
            pending = data
            while pending and not d.eof:
                d.decompress(pending, 1 << 20)
                pending = d.unconsumed_tail
        except zlib.error:
            return False
        if not d.eof:
            return False
        data = d.unused_data.lstrip(b"\0")
    return True


def is_source_listing(meta: dict[str, Any], settings: ExtractSettings) -> bool:
    """Mostly code blocks, and no formulas in the prose around them (ExtractSettings.max_code_share)."""
    return (settings.max_code_share < 1 and meta.get("code_share", 0.0) >= settings.max_code_share
            and meta.get("prose_formulas", 0) < settings.listing_prose_formulas)


def _response(rec: Any, warc_name: str, settings: ExtractSettings, counters: Counter,
              html_to_text: HtmlToText) -> tuple[dict[str, Any] | None, bool]:
    """Return (row, file_is_truncated)."""
    url = rec.headers.get("WARC-Target-URI") or f"{warc_name}@{rec.stream_pos}"
    record_id = rec.headers.get("WARC-Record-ID") or f"{warc_name}@{rec.stream_pos}"
    date = rec.headers.get("WARC-Date")
    meta: dict[str, Any] = {"url": url, "warc_record_id": record_id, "warc_file": warc_name}
    if rec.headers.get("WARC-Truncated"):
        meta["truncated"] = rec.headers.get("WARC-Truncated")

    def row(text: str | None, reason: str | None) -> dict[str, Any]:
        return doc_row(SOURCE, url, record_id, text, date=date, meta=meta, reason=reason)

    http = rec.http_headers
    if http is None or http.status_code is None:
        return row(None, "bad_http_headers"), False
    declared = rec.content_length
    # Cap what we read: a huge record must not be pulled into memory.
    body = rec.reader.read(settings.max_html_bytes + 1)
    if len(body) <= settings.max_html_bytes and len(body) < declared:
        return None, True  # the file ended inside this record (truncated download)
    status = int(http.status_code)
    meta["http_status"] = status
    content_type = http.get("Content-Type") or ""
    meta["content_type"] = content_type
    if status != 200:
        return row(None, f"http_status:{status}"), False
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime and mime not in HTML_TYPES and mime not in XML_TYPES:
        return row(None, f"not_html:{mime}"), False
    if len(body) > settings.max_html_bytes:
        return row(None, "too_large"), False
    # The body as the server meant it before any sniffing: a chunk-size line or gzip bytes in
    # front of the markup would hide it from the sniffers below.
    if "chunked" in (http.get("Transfer-Encoding") or "").lower():
        body = _dechunk(body) or body
        meta["transfer_encoding"] = "chunked"
    encoding = (http.get("Content-Encoding") or "").strip().lower()
    if (encoding and encoding != "identity" and body[:2] == b"\x1f\x8b") or encoding in ("deflate", "br"):
        body = _decompress(body, encoding, settings.max_html_bytes)
        if body is None:
            return row(None, "undecodable"), False
    # XHTML is often served as generic XML; it is a page when its markup says so.
    if mime in XML_TYPES and not _sniff_xhtml(body):
        return row(None, f"not_html:{mime}"), False
    if not mime and not _sniff_html(body):
        return row(None, "not_html:unknown"), False
    if _looks_binary(body, content_type):
        return row(None, "binary_body"), False
    html, how = decode_html(body, content_type, truncated=bool(meta.get("truncated")))
    meta["charset"] = how
    meta["bytes"] = len(body)
    if html is None:
        return row(None, "undecodable"), False
    try:
        result = html_to_text(html, url, settings)
    except ExtractTimeout:
        counters["extract_timeout"] += 1
        return row(None, "extract_timeout"), False
    except DocumentRejected as rejected:
        meta.update(rejected.meta)
        return row(None, rejected.reason), False
    except Exception as exc:
        return row(None, f"extract_error:{type(exc).__name__}"), False
    meta.update(result.meta)
    text = result.text
    if len(text.strip()) < max(settings.min_chars, 1):
        return row(text or None, "empty_text"), False
    if is_source_listing(result.meta, settings):
        return row(None, "source_listing"), False
    return row(text, None), False
