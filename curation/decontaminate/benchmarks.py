"""Reading benchmark items from a folder laid out like ``../shared/benchmarks``.

One folder per set; JSON Lines (plain or ``.gz``), Parquet, or Lean 3 source. Which fields hold
the text and which field names the item come from the registry in ``settings.py``.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curation.decontaminate.settings import BenchmarkSpec, DecontaminateSettings

log = logging.getLogger(__name__)

# The repo's own copy, so that the project runs without ../shared.
REPO_BENCHMARKS = Path(__file__).resolve().parents[2] / "data" / "benchmarks"

# A Lean 3 theorem's statement: its name, binders and goal, up to the ``:=`` before the proof.
_LEAN_THEOREM_RE = re.compile(r"^theorem\s+(\S+)(.*?):=", re.DOTALL | re.MULTILINE)


@dataclass(frozen=True)
class BenchmarkItem:
    benchmark: str
    item: str  # the item's idx (or name), else its 0-based position in the set
    texts: dict[str, str]  # field -> text


def resolve_benchmark_dir(path: str | Path | None) -> Path:
    """The folder to read: ``path`` if given, else the repo's ``data/benchmarks``."""
    root = Path(path) if path else REPO_BENCHMARKS
    if not root.is_dir():
        where = "--benchmarks / benchmarks:" if path else "the repo copy"
        raise FileNotFoundError(
            f"benchmark folder not found: {root} ({where}); pass --benchmarks DIR pointing at a "
            "folder with one sub-folder per set, like ../shared/benchmarks"
        )
    return root


def _find_file(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / (name + ".gz")):
        if candidate.is_file():
            return candidate
    return None


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for lineno, line in enumerate(fh):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as err:
                    raise ValueError(f"{path}:{lineno + 1}: not JSON ({err.msg})") from None


def _read_parquet(path: Path) -> Iterator[dict[str, Any]]:
    import pyarrow.parquet as pq

    yield from pq.read_table(path).to_pylist()


def parse_lean_theorems(source: str) -> Iterator[dict[str, Any]]:
    """``{"name", "statement"}`` for every ``theorem`` block of a Lean 3 file."""
    for match in _LEAN_THEOREM_RE.finditer(source):
        name = match.group(1)
        yield {"name": name, "statement": f"theorem {name}{match.group(2)}"}


def _read_lean(path: Path) -> Iterator[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        yield from parse_lean_theorems(fh.read())


def _field_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list | tuple):
        parts = [_field_text(v) for v in value]
        return "\n".join(p for p in parts if p) or None
    return str(value)


def read_rows(path: Path) -> Iterator[dict[str, Any]]:
    name = path.name.removesuffix(".gz")
    if name.endswith(".jsonl") or name.endswith(".json"):
        return _read_jsonl(path)
    if name.endswith(".parquet"):
        return _read_parquet(path)
    if name.endswith(".lean"):
        return _read_lean(path)
    raise ValueError(f"unsupported benchmark file type: {path}")


def load_benchmark(root: Path, name: str, spec: BenchmarkSpec) -> list[BenchmarkItem]:
    folder = root / name
    items: list[BenchmarkItem] = []
    position = 0
    for fname in spec.files:
        path = _find_file(folder, fname)
        if path is None:
            raise FileNotFoundError(f"benchmark {name}: {folder / fname} (or .gz) not found")
        for row in read_rows(path):
            texts = {f: t for f in spec.fields if (t := _field_text(row.get(f)))}
            ident = row.get(spec.id_field) if spec.id_field else None
            item = str(ident) if ident is not None else str(position)
            position += 1
            if texts:
                items.append(BenchmarkItem(name, item.replace(":", "_"), texts))
    if not items:
        raise ValueError(f"benchmark {name}: no item has any of the fields {spec.fields}")
    return items


def load_all(root: Path, settings: DecontaminateSettings) -> dict[str, list[BenchmarkItem]]:
    """Items of every registered set present under ``root``; sets without a folder are skipped."""
    loaded: dict[str, list[BenchmarkItem]] = {}
    for name, spec in sorted(settings.benchmarks.items()):
        if not (root / name).is_dir():
            log.warning("benchmark %s: no folder %s, skipped", name, root / name)
            continue
        loaded[name] = load_benchmark(root, name, spec)
    if not loaded:
        raise FileNotFoundError(f"no registered benchmark set found under {root}")
    return loaded
