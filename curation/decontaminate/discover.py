"""Inferring a ``BenchmarkSpec`` for a benchmark folder nobody registered.

A user (or an evaluator) may drop any evaluation set into the benchmarks folder; skipping it
because it has no entry in ``default_benchmarks()`` would leave the corpus silently contaminated
with it. So its files, text fields, id field and language are guessed from the data:

* data files are searched recursively (Hugging Face layouts keep them in ``data/``); when some
  paths name a test split only those are used (train splits are not evaluation data), plus
  ``valid``/``val`` Lean files (miniF2F ships its statements as ``test.lean`` and ``valid.lean``);
  without a test split, the validation/dev files (never the train files beside them);
* text fields are the sampled fields holding strings (or lists of strings): known
  problem-statement names first, since exact matching of short items uses the first field, then
  known solution and choice names, then any other long, non-metadata string field;
* the id field is the first known id name with unique sampled values;
* the language is Chinese when the problem text is mostly CJK characters (character n-grams);
* a multiple-choice set with many short stems gets no exact matching of short items, like the
  registered ``mmlu_stem``.
"""

from __future__ import annotations

import csv
import itertools
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curation.decontaminate.normalize import CJK_RE, tokenize
from curation.decontaminate.settings import BenchmarkSpec, DecontaminateSettings

log = logging.getLogger(__name__)

DATA_SUFFIXES = (
    ".jsonl", ".json", ".jsonl.gz", ".json.gz", ".parquet", ".csv", ".tsv", ".csv.gz", ".tsv.gz",
    ".lean", ".lean.gz",
)  # fmt: skip
# Files that sit beside the data without being items: documentation and Hugging Face metadata.
_IGNORED_STEMS = ("readme", "license", "licence", "copying", "notice", "citation", "changelog")
_IGNORED_NAMES = frozenset(
    {"dataset_info.json", "dataset_infos.json", "dataset_dict.json", "state.json", "config.json"}
)
# "test" not preceded by a letter: test.jsonl, data/test-00000-of-00001.parquet, testmini.json,
# gsm_test.csv, but not contest.jsonl or latest.json.
_TEST_RE = re.compile(r"(?<![a-z])test")
_VALID_RE = re.compile(r"(?<![a-z])val(?:id(?:ation)?)?(?![a-z])")
# The held-out split of sets that publish no test split (``validation``, ``dev``, ``eval``):
# data/validation-00000-of-00001.parquet, dev.jsonl, but not devices.csv or interval.json.
_HELDOUT_RE = re.compile(r"(?<![a-z])(?:val(?:id(?:ation)?)?|dev|eval(?:uation)?)(?![a-z])")

# Rows read per file (at least ``_MIN_ROWS_PER_FILE`` from each, so every file is checked).
SAMPLE_ROWS = 1000
_MIN_ROWS_PER_FILE = 20

# Known names, matched case-insensitively, in the order they go into ``fields``. The problem
# statement must come first; "body" precedes "question" because where both exist (SVAMP, ASDiv)
# the body is the story and the question its short last sentence ("How many apples are in the
# basket?"), too generic for the exact matching the first field gets.
PROBLEM_NAMES = (
    "problem", "body", "context", "passage", "question", "problem_text", "question_text",
    "statement", "informal_statement", "informal_problem", "nl_statement", "formal_statement",
    "input", "prompt", "query", "instruction", "text", "content", "question_stem", "messages",
    "conversations",
)  # fmt: skip
SOLUTION_NAMES = (
    "solution", "solutions", "rationale", "explanation", "reasoning", "proof", "formal_proof",
    "options", "choices", "answer", "answers", "final_answer", "target", "output", "response",
    "completion", "code", "program", "hint", "steps",
)  # fmt: skip
# Choice columns of multiple-choice tables: A..E (MMLU CSVs), option_a, choice_b, opa (MedMCQA).
_OPTION_RE = re.compile(r"^(?:option|choice|opt|op)?[_ ]?[a-e]$", re.IGNORECASE)
# Fields that hold the choices of a multiple-choice item.
_CHOICE_NAMES = frozenset({"options", "choices"})
ID_NAMES = ("idx", "id", "unique_id", "problem_id", "qid", "task_id", "name")

# An unknown string field counts as text from this mean length on (shorter ones are labels,
# answers, codes).
MIN_OTHER_MEAN_CHARS = 30
# Name words that mark metadata, whatever the length of the values.
_METADATA_WORDS = frozenset(
    "id idx uuid url urls link href source license licence level type subject category topic domain "
    "split lang language difficulty grade tag tags file filename path hash date year author dataset "
    "number num index subfield unit".split()
)
# A field's values are labels when fewer than this share of them are distinct.
_MIN_DISTINCT_SHARE = 0.5
# A multiple-choice set gets no exact matching (as the registered mmlu_stem) when at least this
# share of its stems is shorter than the stage's default n-gram: between mathqa's 8% and
# mmlu_stem's 27% (see ``has_short_stems``).
SHORT_STEM_SHARE = 0.15
_STEM_NGRAM: int = DecontaminateSettings.model_fields["ngram"].default
# Chinese when more than this share of the problem text's non-space characters are CJK.
CJK_SHARE_ZH = 0.2


@dataclass
class Discovery:
    """What was inferred for a folder: the spec, or the reason there is none."""

    spec: BenchmarkSpec | None
    reason: str = ""
    keys: set[str] = field(default_factory=set)  # every field name seen in the sampled rows
    sampled_rows: int = 0


@dataclass
class _FieldStats:
    present: int = 0  # rows where the value is not None
    textual: int = 0  # of those, a string or a list of strings
    texts: dict[int, str] = field(default_factory=dict)  # row number -> non-empty text

    def mean_chars(self) -> float:
        return sum(map(len, self.texts.values())) / len(self.texts) if self.texts else 0.0


def discover_spec(folder: Path) -> BenchmarkSpec | None:
    """A spec for the set in ``folder``, or None (the reason is logged) when it has none."""
    found = discover(folder)
    if found.spec is None:
        log.warning("benchmark folder %s: %s; skipped", folder, found.reason)
    return found.spec


def discover(folder: Path) -> Discovery:
    every = data_files(folder)
    files = evaluation_files(every)
    if not files:
        return Discovery(None, f"no data file ({', '.join(DATA_SUFFIXES)}) in it")
    if len(files) < len(every):
        log.info("benchmark folder %s: evaluation files %s (not %s)", folder, files, sorted(set(every) - set(files)))
    problems: dict[str, str] = {}
    rows_by_file = _sample_rows(folder, files, problems)
    if not rows_by_file:
        why = "; ".join(f"{rel}: {p}" for rel, p in problems.items())
        return Discovery(None, f"none of its data files has readable rows ({why})")
    rows = [row for rs in rows_by_file.values() for row in rs]
    keys = {k for row in rows for k in row}
    stats = _field_stats(rows)
    fields = text_fields(stats)
    if not fields:
        return Discovery(
            None, f"no text field in {len(rows)} sampled rows (fields: {sorted(keys)})", keys, len(rows)
        )
    used = [f for f, rs in rows_by_file.items() if any(row.get(k) is not None for row in rs for k in fields)]
    for rel in sorted(rows_by_file.keys() - set(used)):
        log.info("benchmark folder %s: %s holds none of the text fields %s, not read", folder, rel, fields)
    spec = BenchmarkSpec(
        files=used,
        fields=fields,
        id_field=id_field(rows),
        language=language_of(stats[fields[0]].texts.values()),
        # As the registry does for mmlu_stem: stems like "A frameshift mutation is created when"
        # and one-word choices are everyday prose, so exact matching of short items would flag
        # ordinary text; items long enough for an n-gram are still matched.
        short_min_tokens=0 if is_multiple_choice(fields) and has_short_stems(stats[fields[0]].texts.values()) else None,
    )
    return Discovery(spec, "", keys, len(rows))


def is_multiple_choice(fields: list[str]) -> bool:
    """A choices/options field, or choice columns (A..E, option_a, ...) among the text fields."""
    return any(f.lower() in _CHOICE_NAMES for f in fields) or sum(bool(_OPTION_RE.match(f)) for f in fields) >= 2


def has_short_stems(stems: Iterable[str]) -> bool:
    """Whether many stems are too short for an n-gram, so that exact matching would apply to them.

    Measured on the shipped sets: 27% of mmlu_stem's questions are under 13 tokens (registered
    with exact matching off), 8% of mathqa's and 6% of sat_math's (registered with it on).
    """
    lengths = [len(tokenize(s)) for s in stems]
    return bool(lengths) and sum(n < _STEM_NGRAM for n in lengths) >= SHORT_STEM_SHARE * len(lengths)


# ---- files ---------------------------------------------------------------------------------------


def data_files(folder: Path) -> list[str]:
    """Readable-looking data files under ``folder``, as sorted paths relative to it."""
    out: list[str] = []
    for path in folder.rglob("*"):
        rel = path.relative_to(folder)
        # Hidden and private folders (.git, .cache of the Hugging Face client, __pycache__).
        if any(part.startswith((".", "_")) for part in rel.parts) or not path.is_file():
            continue
        name = path.name.lower()
        if not name.endswith(DATA_SUFFIXES) or name in _IGNORED_NAMES or name.startswith(_IGNORED_STEMS):
            continue
        out.append(rel.as_posix())
    return sorted(out)


def is_test_file(rel: str) -> bool:
    return bool(_TEST_RE.search(rel.lower()))


def _is_lean_valid_file(rel: str) -> bool:
    low = rel.lower()
    return low.removesuffix(".gz").endswith(".lean") and bool(_VALID_RE.search(low))


def evaluation_files(files: list[str]) -> list[str]:
    """The test-split files when some path names one (and valid Lean files), else the
    validation/dev files when some path names one, else all files."""
    if any(is_test_file(f) for f in files):
        return [f for f in files if is_test_file(f) or _is_lean_valid_file(f)]
    heldout = [f for f in files if _HELDOUT_RE.search(f.lower())]
    return heldout or files


def evaluation_split(names: list[str]) -> str | None:
    """Of split names (the keys of ``{"train": [...], "test": [...]}``), the one holding the set."""
    for pattern in (_TEST_RE, _HELDOUT_RE):
        found = [n for n in names if pattern.search(n.lower())]
        if len(found) == 1:
            return found[0]
    return None


def _sample_rows(
    folder: Path, files: list[str], problems: dict[str, str]
) -> dict[str, list[dict[str, Any]]]:
    """Up to ``SAMPLE_ROWS`` rows spread over the files; unreadable or empty files are dropped,
    and ``problems`` says why."""
    from curation.decontaminate.benchmarks import read_rows  # benchmarks.py imports this module

    per_file = max(_MIN_ROWS_PER_FILE, SAMPLE_ROWS // len(files))
    out: dict[str, list[dict[str, Any]]] = {}
    for rel in files:
        try:
            # quiet: malformed rows are reported once, when the set is read in full.
            rows = list(itertools.islice(read_rows(folder / rel, quiet=True), per_file))
        except (OSError, ValueError, TypeError, csv.Error) as err:
            log.warning("benchmark folder %s: %s is not readable (%s), not read", folder, rel, err)
            problems[rel] = f"not readable ({err})"
            continue
        if rows:
            out[rel] = rows
        else:
            log.warning("benchmark folder %s: %s holds no rows (empty, or no line is a record), not read", folder, rel)
            problems[rel] = "no rows"
    return out


# ---- fields --------------------------------------------------------------------------------------


def _text_value(value: Any) -> str | None:
    """The text of a string or of a list of strings (Nones allowed); None for anything else."""
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        parts = [v for v in value if v is not None]
        if parts and all(isinstance(v, str) for v in parts):
            return "\n".join(parts)
        return "" if not parts else None
    return None


def _field_stats(rows: list[dict[str, Any]]) -> dict[str, _FieldStats]:
    stats: dict[str, _FieldStats] = {}
    for i, row in enumerate(rows):
        for key, value in row.items():
            if not isinstance(key, str) or value is None:
                continue
            st = stats.setdefault(key, _FieldStats())
            st.present += 1
            text = _text_value(value)
            if text is not None:
                st.textual += 1
                if text.strip():
                    st.texts[i] = text
    return stats


def _is_textual(st: _FieldStats) -> bool:
    # Most values strings (a few numbers in a string column still count), at least one non-empty.
    return bool(st.texts) and st.textual >= 0.8 * st.present


def _name_words(name: str) -> set[str]:
    """``questionNumber`` / ``data_source`` -> {"question", "number"} / {"data", "source"}."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return {w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w}


def is_metadata(name: str, st: _FieldStats) -> bool:
    """Ids, urls, paths, levels, types, subjects: no problem text, whatever their length."""
    if _name_words(name) & _METADATA_WORDS:
        return True
    values = list(st.texts.values())
    if len(values) >= 5 and len(set(values)) < _MIN_DISTINCT_SHARE * len(values):
        return True  # repetitive labels ("college_math.algebra", one license string)
    urls = sum(v.lstrip().startswith(("http://", "https://", "www.")) for v in values)
    # One word without spaces or CJK: an identifier or a path, not a sentence.
    tokens = sum(not any(c.isspace() for c in v.strip()) and not CJK_RE.search(v) for v in values)
    return 2 * urls >= len(values) or 2 * tokens >= len(values)


def _by_known_names(stats: dict[str, _FieldStats], names: tuple[str, ...]) -> list[str]:
    rank = {n: i for i, n in enumerate(names)}
    keys = [k for k in stats if k.lower() in rank and _is_textual(stats[k])]
    return sorted(keys, key=lambda k: rank[k.lower()])  # stable: "question" before "Question"


def text_fields(stats: dict[str, _FieldStats]) -> list[str]:
    """Text fields in matching order: problem statement, solutions and choices, other text."""
    problems = _by_known_names(stats, PROBLEM_NAMES)
    # The first field must be there in most rows: a sparse "context" (OlympiadBench) goes after
    # the question, or items without it would get no exact matching at all.
    most = max((len(stats[k].texts) for k in problems), default=0)
    problems.sort(key=lambda k: 2 * len(stats[k].texts) < most)
    solutions = _by_known_names(stats, SOLUTION_NAMES)
    options = [k for k in stats if _OPTION_RE.match(k) and _is_textual(stats[k]) and k not in solutions]
    if len(options) >= 2:  # one column named "a" or "B" is no choice list
        # Choice columns go where "options" would: after the solution, before the answer.
        at = sum(SOLUTION_NAMES.index(k.lower()) < SOLUTION_NAMES.index("options") for k in solutions)
        solutions[at:at] = options
    known = set(problems) | set(solutions)
    others = [
        k
        for k, st in stats.items()
        if k not in known
        and _is_textual(st)
        and st.mean_chars() >= MIN_OTHER_MEAN_CHARS
        and not is_metadata(k, st)
    ]
    # Without a known problem name, a long unknown field is the likelier statement: a short
    # solution first would be matched exactly and flag generic phrases ("The answer is 5.").
    ordered = problems + solutions + others if problems else others + solutions
    return _drop_copies(ordered, stats)


def _drop_copies(fields: list[str], stats: dict[str, _FieldStats]) -> list[str]:
    """Fields that repeat an earlier one row by row (AMC23's ``question`` is its ``problem``)."""
    kept: list[str] = []
    for f in fields:
        texts = stats[f].texts
        if not any(stats[k].texts == texts for k in kept):
            kept.append(f)
    return kept


def id_field(rows: list[dict[str, Any]]) -> str | None:
    """First known id name present in every sampled row with unique values there."""
    keys = list(dict.fromkeys(k for row in rows for k in row if isinstance(k, str)))
    for wanted in ID_NAMES:
        for key in (k for k in keys if k.lower() == wanted):
            values = [row.get(key) for row in rows]
            if any(v is None or isinstance(v, dict | list) for v in values):
                continue
            if len({str(v) for v in values}) == len(values):
                return key
    return None


def language_of(texts: Iterable[str]) -> str:
    chars = cjk = 0
    for text in texts:
        chars += sum(not c.isspace() for c in text)
        cjk += len(CJK_RE.findall(text))
    return "zh" if chars and cjk > CJK_SHARE_ZH * chars else "en"


def summary(spec: BenchmarkSpec) -> dict[str, Any]:
    """What inference decides: files, fields, id field and language, and exact matching when it
    is switched off (the stats list it too)."""
    out: dict[str, Any] = {"files": spec.files, "fields": spec.fields, "id_field": spec.id_field, "language": spec.language}
    if spec.short_min_tokens is not None:
        out["short_min_tokens"] = spec.short_min_tokens
    return out


def describe(spec: BenchmarkSpec) -> str:
    """One line for the log: what was inferred."""
    return json.dumps(summary(spec), ensure_ascii=False)
