"""``manifest.json``: what a trainer needs to know before opening a shard, and what verify checks.

The manifest has no timestamps or absolute paths, so the same input, config and seed give the
same manifest byte for byte, like the shards it describes.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow as pa

from curation.shard import tokenizer
from curation.shard.settings import ShardSettings

FORMAT = "curation-shards/1"
MANIFEST = "manifest.json"
SHARDS_DIR = "shards"


def schema_description(schema: pa.Schema) -> list[dict[str, str]]:
    return [{"name": f.name, "type": str(f.type)} for f in schema]


def tokenizer_description(settings: ShardSettings) -> dict[str, Any]:
    loaded = tokenizer.load(settings.tokenizer)
    eos_token, eos_id = loaded.eos(settings.eos_token)
    shipped = settings.tokenizer is None
    return {
        "path": "curation/assets/tokenizer/deepseek-v4/tokenizer.json.gz" if shipped else settings.tokenizer,
        "sha256": loaded.sha256,
        "vocab_size": loaded.vocab_size,
        "eos_token": eos_token,
        "eos_id": eos_id,
        "special_tokens_added": False,  # input_ids hold no BOS/EOS; trainers add EOS between documents
    }


def build(
    shards: list[dict[str, Any]],
    settings: ShardSettings,
    schema: pa.Schema,
    mixing_stats: dict[str, Any],
) -> dict[str, Any]:
    """``shards`` are dicts with path, split, rows, tokens, bytes, sha256, row_groups, sources."""
    shards = sorted(shards, key=lambda s: s["path"])
    by_split: dict[str, dict[str, int]] = defaultdict(lambda: {"shards": 0, "rows": 0, "tokens": 0, "bytes": 0})
    by_source: dict[str, dict[str, int]] = defaultdict(lambda: {"rows": 0, "tokens": 0})
    for s in shards:
        agg = by_split[s["split"]]
        agg["shards"] += 1
        for k in ("rows", "tokens", "bytes"):
            agg[k] += s[k]
        for source, mix in s["sources"].items():
            by_source[source]["rows"] += mix["rows"]
            by_source[source]["tokens"] += mix["tokens"]
    return {
        "format": FORMAT,
        "tokenizer": tokenizer_description(settings),
        "config": settings.model_dump(mode="json"),
        "schema": schema_description(schema),
        "mixing": mixing_stats,
        "totals": {
            "shards": len(shards),
            "rows": sum(s["rows"] for s in shards),
            "tokens": sum(s["tokens"] for s in shards),
            "bytes": sum(s["bytes"] for s in shards),
            "splits": dict(sorted(by_split.items())),
            "sources": dict(sorted(by_source.items())),
        },
        "shards": shards,
    }


def write(output_dir: Path, manifest: dict[str, Any]) -> Path:
    path = output_dir / MANIFEST
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def read(output_dir: Path) -> dict[str, Any]:
    return json.loads((output_dir / MANIFEST).read_text(encoding="utf-8"))
