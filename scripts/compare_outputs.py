"""Compare two pipeline output folders: same documents (ids and texts) in every stage, same
rejects with the same reasons, same shards, same funnel in stats.json.

    python scripts/compare_outputs.py OUT_A OUT_B      exit 0 when equal, 1 with the differences

Used by scripts/standalone_cluster.sh to show that a cluster run equals a local-mode run. Reads
with pyarrow (no Spark), one column pair at a time, so sample-sized and moderately large outputs
fit; rows are compared as sorted (id, blake2b(text)) pairs, order-insensitive, since partitioning
differs between the two runs.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pyarrow.dataset as ds

STAGES = ("extract", "filter", "dedup", "decontaminate", "shard")


def _digest(text: str | None) -> str:
    return "-" if text is None else hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


def rows(folder: Path, extra: tuple[str, ...] = ()) -> list[tuple]:
    """Sorted (id, text digest, *extra) of every Parquet file under ``folder``."""
    files = sorted(str(p) for p in folder.rglob("*.parquet"))
    if not files:
        return []
    table = ds.dataset(files, format="parquet").to_table(columns=["id", "text", *extra])
    cols = [table.column(c).to_pylist() for c in ("id", "text", *extra)]
    return sorted((i, _digest(t), *rest) for i, t, *rest in zip(*cols, strict=True))


def folders(out: Path) -> dict[str, tuple[Path, tuple[str, ...]]]:
    found: dict[str, tuple[Path, tuple[str, ...]]] = {}
    for stage in STAGES:
        found[f"stages/{stage}"] = (out / "stages" / stage, ())
        found[f"rejects/{stage}"] = (out / "rejects" / stage, ("reason",))
    found["shards"] = (out / "shards", ())
    return found


def funnel(out: Path) -> dict:
    path = out / "stats.json"
    return json.loads(path.read_text())["stages"] if path.is_file() else {}


def compare(a: Path, b: Path) -> list[str]:
    problems = []
    fa, fb = folders(a), folders(b)
    for name, (path_a, extra) in fa.items():
        ra, rb = rows(path_a, extra), rows(fb[name][0], extra)
        if ra != rb:
            only_a = sorted(set(ra) - set(rb))[:3]
            only_b = sorted(set(rb) - set(ra))[:3]
            problems.append(f"{name}: {len(ra)} vs {len(rb)} rows; only in A {only_a}; only in B {only_b}")
        else:
            print(f"  {name:<24} {len(ra):>7} rows equal")
    if funnel(a) != funnel(b):
        problems.append("stats.json: the funnels differ")
    else:
        print(f"  {'stats.json funnel':<24} equal")
    if not any(rows(p, e) for p, e in fa.values()):
        problems.append(f"{a} holds no document at all")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    a, b = Path(argv[0]), Path(argv[1])
    print(f"comparing {a} with {b}")
    problems = compare(a, b)
    for p in problems:
        print(f"DIFFERENT {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
