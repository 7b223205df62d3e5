"""Reading benchmark items from a folder laid out like ``../shared/benchmarks``.

One folder per set; JSON Lines or JSON (plain or ``.gz``), Parquet, CSV/TSV with a header row, or
Lean 3 source. Which fields hold the text and which field names the item come from the registry
in ``settings.py``; a folder the registry does not know gets a spec inferred from its data
(``discover.py``), so that a set dropped into the folder is never silently left out.
"""

from __future__ import annotations

import csv
import gzip
import json
import logging
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

from curation.decontaminate.settings import BenchmarkSpec, DecontaminateSettings

log = logging.getLogger(__name__)

# The repo's own copy, so that the project runs without ../shared.
REPO_BENCHMARKS = Path(__file__).resolve().parents[2] / "data" / "benchmarks"

# A Lean 3 theorem's statement: its name, binders and goal, up to the ``:=`` before the proof.
# Bounded (MiniF2F's longest statement is under 1,000 characters): with ``.*?`` every
# ``theorem`` line of a file without ``:=`` rescanned the rest of the file.
_LEAN_THEOREM_RE = re.compile(r"^theorem\s+(\S+)(.{0,20000}?):=", re.DOTALL | re.MULTILINE)


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


def _check_relative(name: str) -> None:
    """Spec files are paths inside the set's folder, sub-folders allowed ("data/test.parquet")."""
    rel = PurePosixPath(name)
    if not name or rel.is_absolute() or ".." in rel.parts:
        raise ValueError(f"benchmark file {name!r} must be a relative path inside the set's folder")


def _find_file(folder: Path, name: str) -> Path | None:
    _check_relative(name)
    for candidate in (folder / name, folder / (name + ".gz")):
        if candidate.is_file():
            return candidate
    return None


def _open_text(path: Path, newline: str | None = None, encoding: str = "utf-8") -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding=encoding, newline=newline)
    return open(path, encoding=encoding, newline=newline)


def _record(row: Any, where: str) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise ValueError(f"{where}: a row must be a JSON object, not {type(row).__name__}")
    return row


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with _open_text(path) as fh:
        for lineno, line in enumerate(fh):
            if line.strip():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as err:
                    raise ValueError(f"{path}:{lineno + 1}: not JSON ({err.msg})") from None
                yield _record(row, f"{path}:{lineno + 1}")


def json_records(data: Any, where: str) -> list[dict[str, Any]]:
    """The rows of a parsed ``.json`` file.

    Published layouts: an array of records (TheoremQA); an object holding one list of records
    beside metadata (``{"version": ..., "data": [...]}``); an object of id -> record (the id goes
    into ``"id"`` when the record has none); a lone record (a JSON Lines file of one line).
    """
    if isinstance(data, list):
        return [_record(row, f"{where}[{i}]") for i, row in enumerate(data)]
    if not isinstance(data, dict):
        raise ValueError(f"{where}: neither a JSON array nor an object of records")
    lists = [k for k, v in data.items() if isinstance(v, list) and v and all(isinstance(r, dict) for r in v)]
    if len(lists) == 1:
        return data[lists[0]]
    if len(lists) > 1:
        raise ValueError(
            f"{where}: several lists of records ({', '.join(lists)}), cannot tell which holds the set"
        )
    if data and all(isinstance(v, dict) for v in data.values()):
        return [v if "id" in v else {"id": k, **v} for k, v in data.items()]
    return [data]


def _read_json(path: Path) -> Iterator[dict[str, Any]]:
    with _open_text(path) as fh:
        text = fh.read()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        # Many sets name their JSON Lines ".json"; their second line is "extra data".
        return _read_jsonl(path)
    return iter(json_records(data, str(path)))


def _read_csv(path: Path, delimiter: str) -> Iterator[dict[str, Any]]:
    # Solutions can exceed the csv module's default 128 KiB field limit.
    csv.field_size_limit(min(sys.maxsize, 1 << 30))
    # utf-8-sig: spreadsheet exports start with a byte-order mark that would stick to the
    # first column's name.
    with _open_text(path, newline="", encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh, delimiter=delimiter):
            # Cells beyond the header land under the key None; they belong to no field.
            yield {k: v for k, v in row.items() if k is not None}


def _read_parquet(path: Path) -> Iterator[dict[str, Any]]:
    import pyarrow.parquet as pq

    # Batch by batch: discovery samples the first rows of files that may be large.
    for batch in pq.ParquetFile(path).iter_batches():
        yield from batch.to_pylist()


def parse_lean_theorems(source: str) -> Iterator[dict[str, Any]]:
    """``{"name", "statement"}`` for every ``theorem`` block of a Lean 3 file."""
    for match in _LEAN_THEOREM_RE.finditer(source):
        name = match.group(1)
        yield {"name": name, "statement": f"theorem {name}{match.group(2)}"}


def _read_lean(path: Path) -> Iterator[dict[str, Any]]:
    with _open_text(path) as fh:
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
    if name.endswith(".jsonl"):
        return _read_jsonl(path)
    if name.endswith(".json"):
        return _read_json(path)
    if name.endswith(".parquet"):
        return _read_parquet(path)
    if name.endswith(".csv") or name.endswith(".tsv"):
        return _read_csv(path, "\t" if name.endswith(".tsv") else ",")
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


def _fallback_spec(folder: Path, name: str, spec: BenchmarkSpec) -> BenchmarkSpec | None:
    """A registered spec whose files are not all there, completed with the files found instead.

    The registered fields (and id) stay when the rows have the problem field; otherwise the
    discovered ones are taken. None when the folder holds no usable data at all.
    """
    from curation.decontaminate.discover import describe, discover

    present = [f for f in spec.files if _find_file(folder, f) is not None]
    missing = [f for f in spec.files if f not in present]
    found = discover(folder)
    if found.spec is None:
        if present:
            log.warning("benchmark %s: %s (or .gz) not found, reading %s", name, missing, present)
            return spec.model_copy(update={"files": present})
        log.warning(
            "benchmark %s: none of %s (or .gz) in %s and %s; skipped", name, spec.files, folder, found.reason
        )
        return None
    have = {_find_file(folder, f) for f in present}
    files = present + [f for f in found.spec.files if _find_file(folder, f) not in have]
    update: dict[str, object] = {"files": files}
    if spec.fields[0] not in found.keys:
        # Other names: the registered exact_fields name fields that are not there either.
        update.update(fields=found.spec.fields, id_field=found.spec.id_field, exact_fields=None)
    else:
        update["fields"] = [f for f in spec.fields if f in found.keys]
        if spec.id_field is not None and spec.id_field not in found.keys:
            update["id_field"] = found.spec.id_field
        if spec.exact_fields is not None:
            update["exact_fields"] = [f for f in spec.exact_fields if f in found.keys]
    fallback = spec.model_copy(update=update)
    log.warning(
        "benchmark %s: %s (or .gz) not found in %s; reading what is there instead: %s",
        name,
        missing,
        folder,
        describe(fallback),
    )
    return fallback


def _unregistered_folders(root: Path, registered: set[str]) -> list[Path]:
    out: list[Path] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        name = folder.name
        if name in registered or name.startswith((".", "_")):  # .cache, __pycache__
            continue
        if ":" in name:  # the name goes into reasons "contaminated:<set>:<item>"
            log.warning("benchmark folder %s: a set name cannot contain ':'; skipped", folder)
            continue
        out.append(folder)
    return out


def load_all(
    root: Path, settings: DecontaminateSettings, discover_unregistered: bool = True
) -> dict[str, list[BenchmarkItem]]:
    """Items of every set under ``root``: registered sets by their spec, other folders by an
    inferred one (``discover.py``) unless ``discover_unregistered`` is False. Registered sets
    without a folder are skipped.

    Inferred specs, and registered ones completed with other files, are written into
    ``settings.benchmarks``: the index reads each set's fields and n-gram length from there.
    """
    from curation.decontaminate.discover import describe, discover_spec

    loaded: dict[str, list[BenchmarkItem]] = {}
    for name, spec in sorted(settings.benchmarks.items()):
        folder = root / name
        if not folder.is_dir():
            log.warning("benchmark %s: no folder %s, skipped", name, folder)
            continue
        if any(_find_file(folder, f) is None for f in spec.files):
            fallback = _fallback_spec(folder, name, spec)
            if fallback is None:
                continue
            spec = settings.benchmarks[name] = fallback
        loaded[name] = load_benchmark(root, name, spec)
    unregistered = _unregistered_folders(root, set(settings.benchmarks)) if discover_unregistered else []
    for folder in unregistered:
        found = discover_spec(folder)  # logs why when None
        if found is None:
            continue
        settings.benchmarks[folder.name] = found
        loaded[folder.name] = load_benchmark(root, folder.name, found)
        log.info(
            "benchmark %s: not registered, %d items read with an inferred spec %s",
            folder.name,
            len(loaded[folder.name]),
            describe(found),
        )
    if not loaded:
        raise FileNotFoundError(
            f"no registered benchmark set found under {root}, and no other sub-folder holds a readable set"
        )
    return dict(sorted(loaded.items()))
