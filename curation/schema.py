"""The document contract every stage reads and writes (see DESIGN.md, "The data contract").

One Arrow schema for documents; the same schema plus ``reason`` (and ``stage``) for rejects.
Free-form, source-specific facts (license, score, tags, markup counts) go in ``meta`` as JSON so
that the schema stays fixed across sources and Parquet files can be concatenated.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pyarrow as pa

DOC_FIELDS: list[pa.Field] = [
    pa.field("id", pa.string(), nullable=False),
    pa.field("source", pa.string(), nullable=False),
    pa.field("origin", pa.string(), nullable=False),
    pa.field("text", pa.string()),
    pa.field("date", pa.string()),  # ISO-8601 crawl or creation date when known
    pa.field("lang", pa.string()),
    pa.field("lang_score", pa.float32()),
    pa.field("math_score", pa.float32()),
    pa.field("num_tokens", pa.int64()),
    pa.field("quality", pa.string()),  # JSON object of quality signals
    pa.field("meta", pa.string()),  # JSON object of source-specific metadata
]
DOC_SCHEMA = pa.schema(DOC_FIELDS)
DOC_COLUMNS: list[str] = [f.name for f in DOC_FIELDS]

# Output of every stage's Arrow function: documents plus the reason a row was rejected (null
# when kept). Splitting one frame in two keeps "in = kept + rejected" true by construction.
REASON_FIELD = pa.field("reason", pa.string())
STAGE_OUTPUT_SCHEMA = pa.schema([*DOC_FIELDS, REASON_FIELD])

REJECT_SCHEMA = pa.schema([*DOC_FIELDS, pa.field("stage", pa.string()), REASON_FIELD])


def make_id(source: str, origin: str, offset: int | str = 0) -> str:
    """Stable id: the same record gets the same id on every run and every machine."""
    key = f"{source}\x1f{origin}\x1f{offset}".encode("utf-8", "surrogatepass")
    return hashlib.blake2b(key, digest_size=12).hexdigest()


def dumps_meta(meta: dict[str, Any] | None) -> str | None:
    if not meta:
        return None
    return json.dumps(meta, ensure_ascii=False, sort_keys=True, default=str)


def loads_meta(value: str | None) -> dict[str, Any]:
    """A ``meta``/``quality`` JSON object; empty, malformed or non-object values give ``{}``."""
    if not value:
        return {}
    try:
        out = json.loads(value)
    except ValueError:
        return {}
    return out if isinstance(out, dict) else {}


def docs_to_batch(rows: list[dict[str, Any]], schema: pa.Schema = STAGE_OUTPUT_SCHEMA) -> pa.RecordBatch:
    """Build a batch from dicts; missing keys become nulls. ``meta``/``quality`` dicts are JSON-encoded."""
    columns: dict[str, list[Any]] = {name: [] for name in schema.names}
    for row in rows:
        for name in schema.names:
            value = row.get(name)
            if name in ("meta", "quality") and isinstance(value, dict):
                value = dumps_meta(value)
            columns[name].append(value)
    return pa.RecordBatch.from_pydict(columns, schema=schema)


def empty_batch(schema: pa.Schema = STAGE_OUTPUT_SCHEMA) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist([], schema=schema)
