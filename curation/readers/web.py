"""WARC / WARC.gz reader (fastwarc): one row per ``response`` record.

Other record types are counted as ``warc_skipped:<type>``. The HTML-to-text step is one call,
``HtmlToText`` (default: ``curation.extract.html.extract_html``), passed as ``html_to_text`` so the
coarse-to-fine cascade can replace it without touching the record handling here.
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from curation.extract.charset import decode_html
from curation.extract.html import ExtractResult, ExtractTimeout, extract_html
from curation.extract.settings import ExtractSettings
from curation.readers._common import doc_row, error_reason

SOURCE = "web"
HTML_TYPES = {"text/html", "application/xhtml+xml", "application/xml+xhtml", "text/xhtml"}
HtmlToText = Callable[[str, "str | None", ExtractSettings], ExtractResult]


def _sniff_html(body: bytes) -> bool:
    head = body[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<?xml")) or b"<html" in head or b"<body" in head


def _decompress(body: bytes, encoding: str, limit: int) -> bytes | None:
    """Undo a Content-Encoding the crawler kept; None when it fails or would exceed ``limit``."""
    try:
        if encoding in ("gzip", "x-gzip"):
            with gzip.GzipFile(fileobj=io.BytesIO(body)) as fh:
                out = fh.read(limit + 1)
        elif encoding == "deflate":
            d = zlib.decompressobj()
            out = d.decompress(body, limit + 1)
        else:
            return body
    except (OSError, EOFError, zlib.error):
        return None
    return None if len(out) > limit else out


def read_file(
    path: str,
    settings: ExtractSettings,
    counters: Counter,
    html_to_text: HtmlToText | None = None,
) -> Iterator[dict[str, Any]]:
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    html_to_text = html_to_text or extract_html
    name = os.path.basename(path)
    try:
        fh = open(path, "rb")
    except OSError as exc:
        yield doc_row(SOURCE, path, "file", None, meta={"file": path}, reason=error_reason(exc))
        return
    n = 0
    last_pos = 0
    with fh:
        try:
            for rec in ArchiveIterator(fh, parse_http=True, verify_digests=False):
                n += 1
                last_pos = rec.stream_pos
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
        except Exception as exc:  # fastwarc raises on garbage that is not WARC at all
            yield doc_row(SOURCE, path, f"file@{n}", None, meta={"file": path, "records_read": n},
                          reason=error_reason(exc))
            return
    if path.lower().endswith(".gz") and not _gzip_tail_complete(path, last_pos):
        # fastwarc stops quietly when a gzip member is cut off: check the members after the last
        # record it returned, and report the file as truncated.
        counters["warc_truncated_file"] += 1
        yield doc_row(SOURCE, path, f"file@{last_pos}", None, meta={"file": path, "records_read": n},
                      reason="read_error:truncated")
        return
    if n == 0:
        counters["warc_empty_file"] += 1


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
    if mime and mime not in HTML_TYPES:
        return row(None, f"not_html:{mime}"), False
    if not mime and not _sniff_html(body):
        return row(None, "not_html:unknown"), False
    if len(body) > settings.max_html_bytes:
        return row(None, "too_large"), False
    encoding = (http.get("Content-Encoding") or "").strip().lower()
    if (encoding and encoding != "identity" and body[:2] == b"\x1f\x8b") or encoding == "deflate":
        body = _decompress(body, encoding, settings.max_html_bytes)
        if body is None:
            return row(None, "undecodable"), False
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
    except Exception as exc:
        return row(None, f"extract_error:{type(exc).__name__}"), False
    meta.update(result.meta)
    text = result.text
    if len(text.strip()) < max(settings.min_chars, 1):
        return row(text or None, "empty_text"), False
    return row(text, None), False
