"""Bytes to text for web pages: the HTTP header's charset, then the page's ``<meta>``, then detection.

Labels are mapped the way browsers map them (WHATWG Encoding Standard): ``iso-8859-1`` and
``us-ascii`` mean windows-1252, ``euc-kr`` means windows-949, ``gb2312``/``gbk`` mean gb18030.
A declared charset that does not decode the bytes strictly is not trusted (headers lie), and we
fall through to the next source.
"""

from __future__ import annotations

import codecs
import re

# WHATWG label -> the superset browsers actually decode with.
_BROWSER_ALIASES = {
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "windows-1252": "cp1252",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "ksc5601": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "shift_jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "big5": "big5hkscs",
    "iso-8859-9": "cp1254",
    "tis-620": "cp874",
    "utf8": "utf-8",
}

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.I)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.I)
_META_SCAN_BYTES = 4096  # the HTML spec's prescan looks at the first 1024 bytes; be generous


def normalize_label(label: str | None) -> str | None:
    """A Python codec name for a charset label, or None when Python does not know it."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _BROWSER_ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def charset_from_content_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    m = _HEADER_CHARSET.search(content_type)
    return m.group(1) if m else None


def charset_from_meta(data: bytes) -> str | None:
    m = _META_CHARSET.search(data[:_META_SCAN_BYTES])
    return m.group(1).decode("ascii", "ignore") if m else None


def _strict(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def decode_html(data: bytes, content_type: str | None = None, truncated: bool = False) -> tuple[str | None, str]:
    """Return (text, how) with how = ``<codec>:<source>``; text None when nothing decodes it.

    ``truncated`` pages may end in the middle of a multi-byte character, so up to 3 trailing
    bytes are dropped before strict decoding.
    """
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", "replace"), "utf-8:bom"
    body = data
    if truncated:
        for cut in range(0, 4):
            candidate = data[: len(data) - cut] if cut else data
            if _strict(candidate, "utf-8") is not None:
                body = candidate
                break
    for source, label in (("header", charset_from_content_type(content_type)), ("meta", charset_from_meta(data))):
        codec = normalize_label(label)
        if codec:
            text = _strict(body, codec)
            if text is not None and _single_byte(codec) and not body.isascii():
                # A single-byte charset decodes any bytes, so "it decoded" proves nothing: a
                # wrong label (UTF-8 or EUC-KR served as ISO-8859-1) would give mojibake.
                better = _strict(body, "utf-8")
                if better is not None:
                    return better, "utf-8:sniffed"
                if _non_ascii_share(body) >= _MULTIBYTE_SHARE:
                    detected = _detect(body)
                    if detected is not None and not _single_byte(detected[1].split(":")[0]):
                        return detected
            if text is not None:
                return text, f"{codec}:{source}"
    text = _strict(body, "utf-8")
    if text is not None:
        return text, "utf-8:default"
    repaired = _utf8_with_few_errors(body)
    if repaired is not None:
        return repaired, "utf-8:repaired"
    detected = _detect(body)
    if detected is not None:
        return detected
    return None, "undecodable"


# Western text in ISO-8859-x/windows-125x is mostly ASCII (French or German prose: 2-5% bytes
# above 0x7F); CJK and Cyrillic text is mostly not. Above this share a single-byte label is
# checked against detection.
_MULTIBYTE_SHARE = 0.3
# A UTF-8 page with a stray invalid byte (a truncated copy-paste, a byte-level cut) is still
# UTF-8: up to this share of its non-ASCII bytes may be invalid before we stop calling it UTF-8.
_MAX_UTF8_ERROR_SHARE = 0.01
_SINGLE_BYTE_PREFIXES = ("cp125", "iso8859", "latin", "koi8", "mac", "cp437", "cp850", "cp866", "cp874", "tis")


def _single_byte(codec: str) -> bool:
    return codec.startswith(_SINGLE_BYTE_PREFIXES)


def _non_ascii_share(data: bytes) -> float:
    return len(data.translate(None, bytes(range(128)))) / max(len(data), 1)


def _utf8_with_few_errors(data: bytes) -> str | None:
    text = data.decode("utf-8", "replace")
    errors = text.count("\ufffd") - data.count(b"\xef\xbf\xbd")
    non_ascii = len(data.translate(None, bytes(range(128))))
    valid_multibyte = non_ascii - errors
    if errors and valid_multibyte > 0 and errors <= _MAX_UTF8_ERROR_SHARE * non_ascii:
        return text
    return None


def _detect(data: bytes) -> tuple[str, str] | None:
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
    except Exception:
        best = None
    if best is not None and best.encoding:
        return str(best), f"{normalize_label(best.encoding) or best.encoding}:detected"
    return None
