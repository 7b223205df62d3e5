"""Reading benchmark items from a folder laid out like ``../shared/benchmarks``.

One folder per set; JSON Lines or JSON (plain or ``.gz``), Parquet, CSV/TSV with a header row, or
Lean 3/4 source. Rows are made plain as they are read (``plain_row``): chat transcripts become
their user turns, ARC/OpenBookQA ``{"stem", "choices"}`` questions their stem and choice texts. A
malformed line is skipped with a counted warning; it never costs the rest of the set. Which fields hold the text and which field names the item come from the registry
in ``settings.py``; a folder the registry does not know gets a spec inferred from its data
(``discover.py``), so that a set dropped into the folder is never silently left out.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import json
import logging
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from curation.decontaminate.settings import BenchmarkSpec, DecontaminateSettings
from curation.text_files import json_lines, open_text

log = logging.getLogger(__name__)

# The repo's own copy, so that the project runs without ../shared.
REPO_BENCHMARKS = Path(__file__).resolve().parents[2] / "data" / "benchmarks"

# A Lean declaration that is a benchmark item: Lean 3/4 ``theorem``, and ``lemma`` (Mathlib's
# synonym; Lean 4 ports of miniF2F use it for items), after attributes and modifiers
# (``@[simp]``, ``private``, ``protected``). Group 1: the keyword; group 2: the name.
_LEAN_DECL_RE = re.compile(
    r"^(?:@\[[^\]\n]*\]\s*)*(?:(?:private|protected|noncomputable|nonrec)\s+)*(theorem|lemma)\s+(\S+)",
    re.DOTALL | re.MULTILINE,
)
# Where the next top-level command starts: a statement never runs past it.
_LEAN_NEXT_RE = re.compile(
    r"^(?:/--|@\[|(?:private |protected |noncomputable )*(?:theorem|lemma|def|example|instance|"
    r"structure|class|inductive|abbrev|namespace|section|end|open|variable|universe|set_option|"
    r"#eval|#check)\b)",
    re.MULTILINE,
)
# Bounded (MiniF2F's longest statement is under 1,000 characters): an unbounded search let every
# declaration of a file without ``:=`` rescan the rest of the file.
_LEAN_MAX_STATEMENT = 20000
_LEAN_OPEN = "([{⟨⦃"
_LEAN_CLOSE = ")]}⟩⦄"
# A ``:=`` inside the statement that binds a name (``let y := x + 1; ...``) is not the proof's.
_LEAN_BINDER_RE = re.compile(r"(?<![\w.'])(?:let|have|set)\s")
_LEAN_PROOF_START_RE = re.compile(r"\s*(?:by|begin)(?![\w'])")


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


def _warn_skipped(path: Path, problems: list[str], quiet: bool) -> None:
    """One warning per file, counted: a set loses its bad rows, never the others."""
    if problems and not quiet:
        more = f"; {len(problems) - 3} more" if len(problems) > 3 else ""
        log.warning("%s: %d malformed row(s) skipped (%s%s)", path, len(problems), "; ".join(problems[:3]), more)


def _read_jsonl(path: Path, quiet: bool = False) -> Iterator[dict[str, Any]]:
    problems: list[str] = []
    with open_text(path) as fh:
        for line in json_lines(fh):
            if line.problem == "not_json":
                problems.append(f"line {line.number}: not JSON ({line.detail})")
            elif line.problem is not None:
                problems.append(f"line {line.number}: {line.detail}, not an object")
            else:
                yield line.record
    _warn_skipped(path, problems, quiet)  # reached only when the file was read to its end


def _split_list(data: dict[str, Any], lists: list[str], where: str) -> str:
    """The list of a ``{"train": [...], "test": [...]}`` file that holds the evaluation split."""
    from curation.decontaminate.discover import evaluation_split

    chosen = evaluation_split(lists)
    if chosen is None:
        raise ValueError(
            f"{where}: several lists of records ({', '.join(lists)}), cannot tell which holds the set"
        )
    log.info("%s: lists %s; reading %r", where, lists, chosen)
    return chosen


def json_records(data: Any, where: str, quiet: bool = False) -> list[dict[str, Any]]:
    """The rows of a parsed ``.json`` file.

    Published layouts: an array of records (TheoremQA); an object holding one list of records
    beside metadata (``{"version": ..., "data": [...]}``); an object of splits
    (``{"train": [...], "test": [...]}``: the test list, else the validation/dev one); an object of
    id -> record (the id goes into ``"id"`` when the record has none); a lone record (a JSON
    Lines file of one line). Elements that are not objects are skipped with a warning.
    """
    if isinstance(data, dict):
        lists = [k for k, v in data.items() if isinstance(v, list) and v and any(isinstance(r, dict) for r in v)]
        if len(lists) > 1:
            data = data[_split_list(data, lists, where)]
        elif len(lists) == 1:
            data = data[lists[0]]
        elif data and all(isinstance(v, dict) for v in data.values()):
            return [v if "id" in v else {"id": k, **v} for k, v in data.items()]
        else:
            return [data]
    if not isinstance(data, list):
        raise ValueError(f"{where}: neither a JSON array nor an object of records")
    problems = [f"[{i}]: a JSON {type(r).__name__}, not an object" for i, r in enumerate(data) if not isinstance(r, dict)]
    _warn_skipped(Path(where), problems, quiet)
    return [r for r in data if isinstance(r, dict)]


def _first_line_is_object(text: str) -> bool:
    line = next((ln for ln in text.splitlines() if ln.strip()), "")
    try:
        return isinstance(json.loads(line), dict)
    except json.JSONDecodeError:
        return False


def _read_json(path: Path, quiet: bool = False) -> Iterator[dict[str, Any]]:
    with open_text(path) as fh:
        text = fh.read()
    if not text.strip():
        return iter(())
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        # Many sets name their JSON Lines ".json"; their second line is "extra data". Read line by
        # line, a bad line costing only itself; a broken JSON document is an error.
        if _first_line_is_object(text):
            return _read_jsonl(path, quiet)
        raise ValueError(f"{path}:{err.lineno}: not JSON ({err.msg})") from None
    return iter(json_records(data, str(path), quiet))


# Windows spreadsheet exports ("CSV" in Excel) are cp1252; latin-1 decodes any byte, the last
# resort for the five bytes cp1252 leaves undefined.
_CSV_FALLBACK_ENCODINGS = ("cp1252", "latin-1")


def _decode_table(path: Path, quiet: bool) -> str:
    with gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb") as fh:
        raw = fh.read()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        for encoding in _CSV_FALLBACK_ENCODINGS:
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError:
                continue
            if not quiet:
                log.warning("%s: not UTF-8 (%s at byte %d); decoded as %s", path, err.reason, err.start, encoding)
            return text
        raise  # unreachable: latin-1 decodes every byte


def _read_csv(path: Path, delimiter: str, quiet: bool = False) -> Iterator[dict[str, Any]]:
    # Solutions can exceed the csv module's default 128 KiB field limit.
    csv.field_size_limit(min(sys.maxsize, 1 << 30))
    # TSV eval sets are written unquoted: with quote processing, a problem that starts with an
    # inch mark or a ditto (") swallows the following rows into one field until the next quote.
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    rows = csv.reader(io.StringIO(_decode_table(path, quiet), newline=""), delimiter=delimiter, quoting=quoting)
    first = next(rows, None)
    if first is None:
        return
    if _is_data_row(first):
        # No header (many eval sets ship bare "question<TAB>answer" files): the first row is an
        # item, and the columns get positional names for discovery to judge by their values.
        if not quiet:
            log.warning("%s: the first row reads as data, not a header; columns named column_1..", path)
        names = [f"column_{i}" for i in range(1, len(first) + 1)]
        rows = itertools.chain([first], rows)
    else:
        names = first
    for values in rows:
        # Cells beyond the header belong to no field; missing ones are empty.
        yield dict(zip(names, values, strict=False))


# A header cell is a name: short, without sentence punctuation followed by a space.
_MAX_HEADER_CELL = 40
_SENTENCE = re.compile(r"[.?!,;:]\s|\?$|\$")


def _is_data_row(cells: list[str]) -> bool:
    """True when a CSV's first row is an item rather than column names: a long cell, a sentence,
    a question, TeX, or a cell that is a number."""
    return any(len(c) > _MAX_HEADER_CELL or _SENTENCE.search(c) or c.strip().lstrip("-").replace(".", "", 1).isdigit()
               for c in cells if c.strip())


def _read_parquet(path: Path) -> Iterator[dict[str, Any]]:
    import pyarrow.parquet as pq

    # Batch by batch: discovery samples the first rows of files that may be large.
    for batch in pq.ParquetFile(path).iter_batches():
        yield from batch.to_pylist()


# ---- Lean ----------------------------------------------------------------------------------------


def _lean_docstring(source: str, decl_start: int) -> str | None:
    """The ``/-- ... -/`` right before a declaration (only whitespace between), stripped."""
    before = source[max(0, decl_start - _LEAN_MAX_STATEMENT) : decl_start].rstrip()
    if not before.endswith("-/"):
        return None
    start = before.rfind("/--")
    if start < 0 or "-/" in before[start + 3 : -2]:
        return None
    return before[start + 3 : -2].strip() or None


def _lean_proof_start(source: str, pos: int, end: int) -> int | None:
    """Where the ``:=`` that starts the proof is, scanning ``source[pos:end]``.

    Only ``:=`` outside brackets counts (``(h : ∀ x, f x = let y := x + 1; y * y)``); of those,
    the first followed by ``by``/``begin``, else the first that does not close a ``let``/``have``
    binder written in the statement itself.
    """
    depth = 0
    i = pos
    candidates: list[int] = []
    while i < end:
        if source.startswith("--", i):
            i = source.find("\n", i)
            i = end if i < 0 else i
            continue
        if source.startswith("/-", i):
            j = source.find("-/", i + 2)
            i = end if j < 0 else j + 2
            continue
        c = source[i]
        if c in _LEAN_OPEN:
            depth += 1
        elif c in _LEAN_CLOSE:
            depth = max(0, depth - 1)
        elif depth == 0 and source.startswith(":=", i):
            if _LEAN_PROOF_START_RE.match(source, i + 2):
                return i
            candidates.append(i)
            i += 2
            continue
        i += 1
    previous = pos
    for c in candidates:
        if not _LEAN_BINDER_RE.search(source, previous, c):
            return c
        previous = c + 2
    return None


def _is_helper(source: str, name: str) -> bool:
    """A lemma the file uses elsewhere (miniF2F's ``sum_pairs``) is a helper, not an item."""
    uses = re.findall(rf"(?<![\w.']){re.escape(name)}(?![\w'])", source)
    return len(uses) > 1


def parse_lean_theorems(source: str) -> Iterator[dict[str, Any]]:
    """``{"name", "statement"}`` for every ``theorem`` or ``lemma`` of a Lean 3/4 file.

    The statement runs from the keyword (modifiers and attributes dropped) to the ``:=`` of the
    proof; a docstring right before it goes into ``"informal_statement"``. Lemmas that another
    declaration uses are helpers and skipped.
    """
    for match in _LEAN_DECL_RE.finditer(source):
        keyword, name = match.group(1), match.group(2)
        if keyword == "lemma" and _is_helper(source, name):
            continue
        nxt = _LEAN_NEXT_RE.search(source, match.end())
        end = min(nxt.start() if nxt else len(source), match.end() + _LEAN_MAX_STATEMENT)
        proof = _lean_proof_start(source, match.end(), end)
        if proof is None:
            log.debug("Lean %s %s: no ':=' before the next declaration, not read", keyword, name)
            continue
        row = {"name": name, "statement": f"{keyword} {name}{source[match.end() : proof].rstrip()}"}
        if (doc := _lean_docstring(source, match.start())) is not None:
            row["informal_statement"] = doc
        yield row


def _read_lean(path: Path) -> Iterator[dict[str, Any]]:
    with open_text(path) as fh:
        yield from parse_lean_theorems(fh.read())


# ---- plain rows ----------------------------------------------------------------------------------

# Roles of the turns that hold the problem: OpenAI/Hugging Face chat templates ("user") and
# ShareGPT ("human").
_USER_ROLES = frozenset({"user", "human"})
_STEM_KEYS = ("stem", "question_stem")


def _message_text(content: Any) -> str:
    if isinstance(content, list):  # OpenAI content parts: [{"type": "text", "text": ...}]
        return "\n".join(p.get("text") or "" if isinstance(p, dict) else str(p) for p in content)
    return "" if content is None else str(content)


def chat_user_text(value: Any) -> str | None:
    """The user turns of a chat transcript, joined; None when ``value`` is not a transcript.

    ``[{"role": "user", "content": ...}, ...]`` or ShareGPT's ``[{"from": "human", "value": ...}]``.
    """
    if not isinstance(value, list) or not value:
        return None
    turns: list[str] = []
    for message in value:
        if not isinstance(message, dict):
            return None
        role = message.get("role", message.get("from"))
        if not isinstance(role, str) or not ("content" in message or "value" in message):
            return None
        if role.lower() in _USER_ROLES:
            turns.append(_message_text(message.get("content", message.get("value"))))
    return "\n".join(t for t in turns if t.strip())


def choice_texts(value: Any) -> list[str] | None:
    """Choice texts of ARC's ``[{"text", "label"}]`` or Hugging Face's ``{"text": [], "label": []}``."""
    if isinstance(value, dict) and isinstance(value.get("text"), list):
        return [str(t) for t in value["text"] if t is not None]
    if isinstance(value, list) and value and all(isinstance(c, dict) and "text" in c for c in value):
        return [str(c["text"]) for c in value if c["text"] is not None]
    return None


def plain_row(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with nested layouts made plain text, so that discovery and the fields see text.

    A chat transcript becomes its user turns; ``{"stem": ..., "choices": [...]}`` (ARC,
    OpenBookQA; ``question_stem`` in some exports) becomes the stem, its choices going to
    ``"choices"`` unless the row has one; structured choices become their texts.
    """
    out: dict[str, Any] = {}
    nested_choices: list[str] | None = None
    for key, value in row.items():
        stem = next((value[k] for k in _STEM_KEYS if isinstance(value.get(k), str)), None) if isinstance(value, dict) else None
        if stem is not None:
            out[key] = stem
            nested_choices = choice_texts(value.get("choices"))
        elif (chat := chat_user_text(value)) is not None:
            out[key] = chat
        elif (choices := choice_texts(value)) is not None:
            out[key] = choices
        else:
            out[key] = value
    if nested_choices is not None and "choices" not in out:
        out["choices"] = nested_choices
    return out


def _field_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list | tuple):
        parts = [_field_text(v) for v in value]
        return "\n".join(p for p in parts if p) or None
    return str(value)


def _raw_rows(path: Path, quiet: bool) -> Iterator[dict[str, Any]]:
    name = path.name.removesuffix(".gz")
    if name.endswith(".jsonl"):
        return _read_jsonl(path, quiet)
    if name.endswith(".json"):
        return _read_json(path, quiet)
    if name.endswith(".parquet"):
        return _read_parquet(path)
    if name.endswith(".csv") or name.endswith(".tsv"):
        return _read_csv(path, "\t" if name.endswith(".tsv") else ",", quiet)
    if name.endswith(".lean"):
        return _read_lean(path)
    raise ValueError(f"unsupported benchmark file type: {path}")


def read_rows(path: Path, quiet: bool = False) -> Iterator[dict[str, Any]]:
    """The rows of a data file, made plain (``plain_row``). Malformed rows are skipped with one
    counted warning per file (``quiet``: none, for discovery's sample, read again in full later)."""
    return map(plain_row, _raw_rows(path, quiet))


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


# What can go wrong reading one set (pyarrow's errors derive from these too).
_READ_ERRORS = (OSError, ValueError, TypeError, csv.Error)


def _load_or_skip(root: Path, name: str, spec: BenchmarkSpec, skipped: dict[str, str]) -> list[BenchmarkItem] | None:
    """``load_benchmark``, or None with a warning when the set cannot be read (an empty or broken
    file): one bad set never aborts the run, and ``skipped`` says why it is missing."""
    try:
        return load_benchmark(root, name, spec)
    except _READ_ERRORS as err:
        log.warning("benchmark %s: not read (%s); skipped", name, err)
        skipped[name] = str(err)
        return None


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
    root: Path,
    settings: DecontaminateSettings,
    discover_unregistered: bool = True,
    skipped: dict[str, str] | None = None,
) -> dict[str, list[BenchmarkItem]]:
    """Items of every set under ``root``: registered sets by their spec, other folders by an
    inferred one (``discover.py``) unless ``discover_unregistered`` is False. Registered sets
    without a folder, and sets that cannot be read, are skipped with a warning; ``skipped``
    (when given) receives their names and reasons, for the stage's stats.

    Inferred specs, and registered ones completed with other files, are written into
    ``settings.benchmarks``: the index reads each set's fields and n-gram length from there.
    """
    from curation.decontaminate.discover import describe, discover

    skipped = {} if skipped is None else skipped
    loaded: dict[str, list[BenchmarkItem]] = {}
    for name, spec in sorted(settings.benchmarks.items()):
        folder = root / name
        if not folder.is_dir():
            log.warning("benchmark %s: no folder %s, skipped", name, folder)
            continue
        if any(_find_file(folder, f) is None for f in spec.files):
            fallback = _fallback_spec(folder, name, spec)
            if fallback is None:
                skipped[name] = f"none of {spec.files} in {folder}"
                continue
            spec = settings.benchmarks[name] = fallback
        if (items := _load_or_skip(root, name, spec, skipped)) is not None:
            loaded[name] = items
    unregistered = _unregistered_folders(root, set(settings.benchmarks)) if discover_unregistered else []
    for folder in unregistered:
        found = discover(folder)
        if found.spec is None:
            log.warning("benchmark folder %s: %s; skipped", folder, found.reason)
            skipped[folder.name] = found.reason
            continue
        items = _load_or_skip(root, folder.name, found.spec, skipped)
        if items is None:
            continue
        settings.benchmarks[folder.name] = found.spec
        loaded[folder.name] = items
        log.info(
            "benchmark %s: not registered, %d items read with an inferred spec %s",
            folder.name,
            len(loaded[folder.name]),
            describe(found.spec),
        )
    if not loaded:
        raise FileNotFoundError(
            f"no registered benchmark set found under {root}, and no other sub-folder holds a readable set"
        )
    return dict(sorted(loaded.items()))
