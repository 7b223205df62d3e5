"""Helpers shared by the readers: row construction and reject rows."""

from __future__ import annotations

from typing import Any

from curation.schema import make_id


def doc_row(
    source: str,
    origin: str,
    offset: int | str,
    text: str | None,
    *,
    date: str | None = None,
    meta: dict[str, Any] | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    return {
        "id": make_id(source, origin, offset),
        "source": source,
        "origin": origin,
        "text": text,
        "date": date,
        "meta": meta or {},
        "reason": reason,
    }


def error_reason(exc: BaseException) -> str:
    return f"read_error:{type(exc).__name__}"


def decode_text(data: bytes) -> tuple[str | None, str]:
    """Plain text files: UTF-8 (with or without BOM), else detection; None when undecodable."""
    from curation.extract.charset import decode_html

    text, how = decode_html(data, None)
    return text, how
