"""Keys of exact and URL dedup, and the per-batch function that computes every key at once.

Exact: xxh3-128 of the text lower-cased with whitespace collapsed (CCNet and Gopher dedup
on normalized text the same way). URL: scheme, ``www.``, default ports, fragments, trailing
slashes, ``index.html`` and tracking parameters do not make two pages different.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash

from curation.dedup.minhash import band_hashes, signatures
from curation.dedup.settings import DedupSettings
from curation.dedup.shingles import shingle_batch

# Query parameters that track the visitor rather than select content.
_TRACKING = ("utm_", "fbclid", "gclid", "mc_cid", "mc_eid", "sessionid", "phpsessid", "sid", "ref")
_INDEX_PAGES = ("index.html", "index.htm", "index.php", "default.aspx")

KEYS_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string()),
        pa.field("text_key", pa.string()),
        pa.field("url_key", pa.string()),
        pa.field("bands", pa.list_(pa.int64())),
    ]
)


def normalize_url(url: str | None) -> str | None:
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return None
    if not host:
        return None
    if host.startswith("www."):
        host = host[4:]
    scheme = parts.scheme.lower()
    if port is not None and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    path = parts.path or "/"
    while "//" in path:
        path = path.replace("//", "/")
    for page in _INDEX_PAGES:
        if path.endswith("/" + page):
            path = path[: -len(page)]
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/")
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not any(k.lower() == t or (t.endswith("_") and k.lower().startswith(t)) for t in _TRACKING)
    ]
    q = urlencode(sorted(query))
    return f"{host}{path}" + (f"?{q}" if q else "")


def text_keys(texts: pa.Array) -> list[str | None]:
    """xxh3-128 of the normalized text; None for empty text (nothing to compare)."""
    h = xxhash.xxh3_128_hexdigest
    out: list[str | None] = []
    for t in pc.utf8_lower(pc.fill_null(texts, "")).to_pylist():
        norm = " ".join(t.split())
        out.append(h(norm.encode("utf-8")) if norm else None)
    return out


def keys_batch(batch: pa.RecordBatch, s: DedupSettings) -> pa.RecordBatch:
    """id, text_key, url_key (web only) and the LSH band keys of every document of a batch."""
    texts = batch.column("text")
    ids = batch.column("id")
    n = batch.num_rows
    exact = text_keys(texts) if s.exact else [None] * n
    if s.url:
        sources = batch.column("source").to_pylist()
        origins = batch.column("origin").to_pylist()
        urls = [normalize_url(o) if src == "web" else None for src, o in zip(sources, origins, strict=True)]
    else:
        urls = [None] * n
    if s.near:
        bands, rows = s.lsh_params
        sb = shingle_batch(texts, s.ngram, s.char_ngram, s.char_token_share, s.hash)
        keys = band_hashes(signatures(sb, s.num_perm, s.seed, s.scheme), bands, rows)
        has = np.diff(sb.offsets) > 0  # a document without tokens has no signature to band
        flat = pa.array(keys.reshape(-1), pa.int64())
        offs = pa.array(np.arange(0, n * bands + 1, bands, dtype=np.int32))
        lists = pa.ListArray.from_arrays(offs, flat, mask=pa.array(~has))
    else:
        lists = pa.nulls(n, pa.list_(pa.int64()))
    return pa.RecordBatch.from_arrays(
        [ids.cast(pa.string()), pa.array(exact, pa.string()), pa.array(urls, pa.string()), lists],
        schema=KEYS_SCHEMA,
    )
