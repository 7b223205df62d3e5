"""Check shards against their manifest: ``python -m curation.shard.verify OUTPUT_DIR``.

A trainer, or a copy job, runs this before trusting the files: every listed shard must exist with
the listed size and sha256, open as Parquet with the listed schema, and hold the listed rows and
tokens; ``input_ids`` (when present) must match ``num_tokens``; no unlisted shard may sit beside
them; the totals must add up. Exit status 0 when all holds, 1 otherwise (each problem on stderr).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq

from curation.shard import manifest as mf
from curation.shard.layout import sha256_file


def check_shard(
    output_dir: Path, entry: dict[str, Any], schema: list[dict[str, str]], max_group_rows: int | None = None
) -> list[str]:
    path = output_dir / entry["path"]
    name = entry["path"]
    if not path.is_file():
        return [f"{name}: missing"]
    problems = []
    size = path.stat().st_size
    if size != entry["bytes"]:
        problems.append(f"{name}: {size} bytes, manifest says {entry['bytes']}")
    digest = sha256_file(path)
    if digest != entry["sha256"]:
        problems.append(f"{name}: sha256 {digest[:16]}..., manifest says {entry['sha256'][:16]}... (corrupt or replaced)")
    try:
        table = pq.read_table(path)
        meta = pq.ParquetFile(path).metadata
    except Exception as err:  # any decoding error means the file is unusable
        return [*problems, f"{name}: cannot be read as Parquet: {err}"]
    biggest = max((meta.row_group(i).num_rows for i in range(meta.num_row_groups)), default=0)
    if max_group_rows is not None and biggest > max_group_rows:
        problems.append(f"{name}: a row group of {biggest} rows, over max_rows_per_row_group={max_group_rows}")
    found = [{"name": f.name, "type": str(f.type)} for f in table.schema]
    if found != schema:
        expected = {c["name"]: c["type"] for c in schema}
        got = {c["name"]: c["type"] for c in found}
        diff = sorted(n for n in expected.keys() | got.keys() if expected.get(n) != got.get(n))
        detail = ", ".join(f"{n}: {got.get(n, 'absent')} (manifest: {expected.get(n, 'absent')})" for n in diff)
        problems.append(f"{name}: schema differs from the manifest: {detail or 'column order'}")
    if table.num_rows != entry["rows"]:
        problems.append(f"{name}: {table.num_rows} rows, manifest says {entry['rows']}")
    if "num_tokens" in table.column_names:
        tokens = int(pc.sum(table.column("num_tokens")).as_py() or 0)
        if tokens != entry["tokens"]:
            problems.append(f"{name}: {tokens} tokens, manifest says {entry['tokens']}")
        if "input_ids" in table.column_names:
            lengths = pc.list_value_length(table.column("input_ids"))
            if not pc.all(pc.equal(lengths, table.column("num_tokens"))).as_py():
                problems.append(f"{name}: input_ids lengths differ from num_tokens")
    return problems


def verify(output_dir: Path) -> list[str]:
    """Every problem found, as one line each; empty when the shards match the manifest."""
    try:
        doc = mf.read(output_dir)
    except FileNotFoundError:
        return [f"{output_dir / mf.MANIFEST}: missing"]
    except ValueError as err:
        return [f"{output_dir / mf.MANIFEST}: not valid JSON ({err})"]
    if doc.get("format") != mf.FORMAT:
        return [f"manifest format {doc.get('format')!r}, expected {mf.FORMAT!r}"]
    problems: list[str] = []
    shards = doc["shards"]
    for entry in shards:
        problems += check_shard(output_dir, entry, doc["schema"], doc["config"].get("max_rows_per_row_group"))
    listed = {e["path"] for e in shards}
    on_disk = {f"{mf.SHARDS_DIR}/{p.name}" for p in (output_dir / mf.SHARDS_DIR).glob("*.parquet")}
    problems += [f"{p}: on disk but not in the manifest" for p in sorted(on_disk - listed)]
    totals = doc["totals"]
    for key in ("rows", "tokens", "bytes"):
        summed = sum(e[key] for e in shards)
        if summed != totals[key]:
            problems.append(f"totals.{key} is {totals[key]}, the shards add up to {summed}")
    if totals["shards"] != len(shards):
        problems.append(f"totals.shards is {totals['shards']}, the manifest lists {len(shards)}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m curation.shard.verify", description=__doc__.split("\n")[0])
    parser.add_argument("output_dir", type=Path, help="the pipeline's output folder (holds manifest.json)")
    args = parser.parse_args(argv)
    problems = verify(args.output_dir)
    if problems:
        for p in problems:
            print(f"verify: {p}", file=sys.stderr)
        print(f"verify: FAILED, {len(problems)} problem(s) in {args.output_dir}", file=sys.stderr)
        return 1
    doc = mf.read(args.output_dir)
    t = doc["totals"]
    print(f"verify: OK, {t['shards']} shards, {t['rows']} rows, {t['tokens']} tokens, {t['bytes']} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
