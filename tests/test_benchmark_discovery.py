"""Benchmark sets nobody registered: inferred specs, and decontamination against them.

The folders are built in tmp_path from the repo's real benchmark rows (``data/benchmarks``),
re-shaped the way other publishers ship sets: renamed fields, a JSON array, an object of
records, Parquet in a Hugging Face ``data/`` sub-folder, CSV with a header, gzip, train splits
beside the test split. Expected specs are written here by hand from how each folder is built.
Negatives are real text too: other sets' items, the held-out train rows, and the embedded sample's
forum posts (Python FAQ prose, GSM8K *train* problems) and TeX books.
"""

from __future__ import annotations

import csv
import gzip
import json
import logging
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import SAMPLE

from curation.decontaminate.benchmarks import REPO_BENCHMARKS, load_all, load_benchmark, read_rows
from curation.decontaminate.discover import discover_spec
from curation.decontaminate.index import ContaminationIndex
from curation.decontaminate.normalize import tokenize
from curation.decontaminate.settings import BenchmarkSpec, DecontaminateSettings

HEAD = (
    "Notes from the study group. We went through last week's homework and wrote down the problems "
    "that caused the most trouble, so that everybody can try them again before the exam.\n"
)
TAIL = "\nPlease bring your attempts on Thursday; we will compare methods and discuss the mistakes.\n"
HEAD_ZH = "今天的数学课上，老师布置了下面这道练习题，请同学们回家认真完成。\n"
TAIL_ZH = "\n明天上课前交作业，老师会逐一讲评大家的解题思路。\n"
PER_SET = 50  # items embedded per discovered set for the recall measurement
MATH_TYPES = {"abstract_algebra", "college_mathematics", "high_school_mathematics", "elementary_mathematics"}


def _rows(name: str) -> list[dict[str, Any]]:
    with gzip.open(REPO_BENCHMARKS / name / "test.jsonl.gz", "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def _write_parquet(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)


def _aqua_options(mathqa: str) -> list[str]:
    """MathQA's "a ) 12 , b ) 16 , ..." as AQuA's ["A)12", "B)16", ...]."""
    return [f"{o[0].upper()}){o[3:].strip()}" for o in re.split(r" , (?=[a-e] \) )", mathqa)]


def _build_sets(root: Path) -> dict[str, list[tuple[str, str]]]:
    """The unregistered sets under ``root``; per set, every test item as (the id it must be
    reported under, its text as a web page would copy it)."""
    sets: dict[str, list[tuple[str, str]]] = {}

    # TheoremQA-like: a JSON array with capitalised names and string ids (OlympiadBench rows).
    ob = _rows("olympiadbench")
    rows = [
        {
            "id": f"ob-{r['id']}",
            "Question": r["question"],
            "Answer": r["final_answer"][0],
            "Answer_type": r["answer_type"],
            "Picture": None,
            "subfield": r["subfield"],
        }
        for r in ob
    ]
    (root / "theoremqa").mkdir()
    (root / "theoremqa" / "test.json").write_text(json.dumps(rows), encoding="utf-8")
    sets["theoremqa"] = [(r["id"], r["Question"]) for r in rows]

    # GSM-Hard-like: input/target, no id, with a train split that must not be read.
    gsm = _rows("gsm8k")
    shaped = [{"input": r["question"], "target": r["answer"]} for r in gsm]
    _write_jsonl(root / "gsm_hard" / "test.jsonl", shaped[:1000])
    _write_jsonl(root / "gsm_hard" / "train.jsonl", shaped[1000:])
    sets["gsm_hard"] = [(str(i), r["input"]) for i, r in enumerate(shaped[:1000])]

    # AQuA-like Parquet (MathQA rows): question, a list of options, rationale, the correct letter.
    rows = [
        {
            "question": r["problem"],
            "options": _aqua_options(r["options"]),
            "rationale": r["rationale"],
            "correct": r["correct"].upper(),
        }
        for r in _rows("mathqa")
    ]
    _write_parquet(root / "aqua" / "test.parquet", rows)
    sets["aqua"] = [(str(i), r["question"]) for i, r in enumerate(rows)]

    # MGSM-zh-like Hugging Face layout (CMATH rows): data/{test,train}-00000-of-00001.parquet.
    cm = [{"question": r["question"], "answer_number": r["answer"]} for r in _rows("cmath")]
    _write_parquet(root / "mgsm_zh" / "data" / "test-00000-of-00001.parquet", cm[:400])
    _write_parquet(root / "mgsm_zh" / "data" / "train-00000-of-00001.parquet", cm[400:])
    sets["mgsm_zh"] = [(str(i), r["question"]) for i, r in enumerate(cm[:400])]

    # MMLU-like CSV with a header (the math subjects of mmlu_stem): question, A-D, answer letter.
    mmlu = [r for r in _rows("mmlu_stem") if r["type"] in MATH_TYPES]
    (root / "mmlu_algebra").mkdir()
    with open(root / "mmlu_algebra" / "test.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, ["question", "A", "B", "C", "D", "answer"])
        writer.writeheader()
        for r in mmlu:
            writer.writerow(
                {
                    "question": r["question"],
                    **dict(zip("ABCD", r["choices"], strict=True)),
                    "answer": "ABCD"[r["answer"]],
                }
            )
    # A multiple-choice item is copied with its choices.
    sets["mmlu_algebra"] = [
        (
            str(i),
            r["question"] + "\n" + "\n".join(f"{k}. {c}" for k, c in zip("ABCD", r["choices"], strict=True)),
        )
        for i, r in enumerate(mmlu)
    ]

    # OCW-like gzipped JSON object of id -> record (the ids become the "id" field).
    records = {
        f"ocw-{r['idx']}": {"problem": r["problem"], "solution": r["solution"], "type": r["type"]}
        for r in _rows("ocw")
    }
    (root / "ocw_courses").mkdir()
    with gzip.open(root / "ocw_courses" / "test.json.gz", "wt", encoding="utf-8") as fh:
        json.dump(records, fh)
    sets["ocw_courses"] = [(k, r["problem"]) for k, r in records.items()]

    # An object holding one list of records beside metadata (MATH-500 rows, their unique_id).
    m5 = _rows("math500")
    (root / "competition").mkdir()
    (root / "competition" / "test.json").write_text(
        json.dumps({"version": "1.0", "data": m5}), encoding="utf-8"
    )
    (root / "competition" / "README.md").write_text("# MATH-500\n", encoding="utf-8")
    sets["competition"] = [(r["unique_id"], r["problem"]) for r in m5]
    return sets


EXPECTED = {
    "theoremqa": (["test.json"], ["Question", "Answer"], "id", "en"),
    "gsm_hard": (["test.jsonl"], ["input", "target"], None, "en"),
    "aqua": (["test.parquet"], ["question", "rationale", "options"], None, "en"),
    "mgsm_zh": (["data/test-00000-of-00001.parquet"], ["question"], None, "zh"),
    "mmlu_algebra": (["test.csv"], ["question", "A", "B", "C", "D", "answer"], None, "en"),
    "ocw_courses": (["test.json.gz"], ["problem", "solution"], "id", "en"),
    "competition": (["test.json"], ["problem", "solution", "answer"], "unique_id", "en"),
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[tuple[str, str]]]]:
    root = tmp_path_factory.mktemp("benchmarks")
    return root, _build_sets(root)


@pytest.fixture(scope="module")
def discovered(built) -> tuple[DecontaminateSettings, dict, ContaminationIndex]:
    """The index a run builds on that folder: default registry, no entry for any of its sets."""
    root, _ = built
    settings = DecontaminateSettings()
    items = load_all(root, settings)
    return settings, items, ContaminationIndex.build(items, settings)


# ---- reading -------------------------------------------------------------------------------------


def test_json_layouts_csv_and_tsv_are_read(tmp_path: Path) -> None:
    recs = [{"q": "first", "n": 1}, {"q": "second", "n": 2}]
    (tmp_path / "array.json").write_text(json.dumps(recs))
    (tmp_path / "wrapped.json").write_text(json.dumps({"version": 2, "data": recs}))
    (tmp_path / "by_id.json").write_text(
        json.dumps({"a1": {"q": "first"}, "a2": {"q": "second", "id": "own"}})
    )
    (tmp_path / "lines.json").write_text("\n".join(json.dumps(r) for r in recs))
    (tmp_path / "one_line.json").write_text(json.dumps(recs[0]))
    (tmp_path / "t.csv").write_text('\ufeffq,n\n"first, with comma",1\n"multi\nline",2\n', encoding="utf-8")
    (tmp_path / "t.tsv").write_text("q\tn\nfirst\t1\n")
    assert list(read_rows(tmp_path / "array.json")) == recs
    assert list(read_rows(tmp_path / "wrapped.json")) == recs
    assert list(read_rows(tmp_path / "by_id.json")) == [
        {"id": "a1", "q": "first"},
        {"q": "second", "id": "own"},
    ]
    assert list(read_rows(tmp_path / "lines.json")) == recs
    assert list(read_rows(tmp_path / "one_line.json")) == [recs[0]]
    assert list(read_rows(tmp_path / "t.csv")) == [
        {"q": "first, with comma", "n": "1"},
        {"q": "multi\nline", "n": "2"},
    ]
    assert list(read_rows(tmp_path / "t.tsv")) == [{"q": "first", "n": "1"}]
    # An object of splits: the test list (else the validation/dev one), never the train list.
    train = [{"q": "a train problem"}]
    (tmp_path / "splits.json").write_text(json.dumps({"train": train, "test": recs}))
    (tmp_path / "dev.json").write_text(json.dumps({"train": train, "dev": recs}))
    assert list(read_rows(tmp_path / "splits.json")) == recs
    assert list(read_rows(tmp_path / "dev.json")) == recs
    (tmp_path / "two.json").write_text(json.dumps({"easy": recs, "hard": recs}))
    with pytest.raises(ValueError, match="several lists of records"):
        list(read_rows(tmp_path / "two.json"))


def test_spec_files_may_sit_in_sub_folders_but_not_outside(tmp_path: Path) -> None:
    rows = _rows("amc23")
    _write_parquet(tmp_path / "amc" / "data" / "test-00000-of-00001.parquet", rows)
    spec = BenchmarkSpec(files=["data/test-00000-of-00001.parquet"], fields=["problem"], id_field="id")
    items = load_benchmark(tmp_path, "amc", spec)
    assert (
        len(items) == 40
        and items[3].item == str(rows[3]["id"])
        and items[3].texts["problem"] == rows[3]["problem"]
    )
    with pytest.raises(ValueError, match="relative path inside"):
        load_benchmark(tmp_path, "amc", BenchmarkSpec(files=["../amc/data/test-00000-of-00001.parquet"]))


# ---- inference -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_inferred_spec(built, name: str) -> None:
    root, _ = built
    spec = discover_spec(root / name)
    assert spec is not None
    assert (spec.files, spec.fields, spec.id_field, spec.language) == EXPECTED[name]


def test_inference_agrees_with_the_registry_on_the_shipped_sets() -> None:
    """On the 18 real layouts, discovery finds the registry's problem field first, all its
    fields, its language, and its id field where the registry names one."""
    for name, reg in DecontaminateSettings().benchmarks.items():
        spec = discover_spec(REPO_BENCHMARKS / name)
        assert spec is not None, name
        assert spec.fields[0] == reg.fields[0], (name, spec.fields)
        assert set(reg.fields) <= set(spec.fields), (name, spec.fields)
        assert spec.language == reg.language, name
        assert reg.id_field in (None, spec.id_field), (name, spec.id_field)
        assert [f.removesuffix(".gz") for f in spec.files] == [f.removesuffix(".gz") for f in reg.files], name


def test_load_all_reads_every_unregistered_folder(built, caplog: pytest.LogCaptureFixture) -> None:
    root, sets = built
    settings = DecontaminateSettings()
    with caplog.at_level(logging.INFO, logger="curation.decontaminate"):
        items = load_all(root, settings)
    assert sorted(items) == sorted(EXPECTED)
    for name, item_list in items.items():
        assert len(item_list) == len(sets[name]), name  # the train splits were not read
        assert [i.item for i in item_list] == [k for k, _ in sets[name]], name
        spec = settings.benchmarks[name]  # recorded for the index
        assert (spec.files, spec.fields, spec.id_field, spec.language) == EXPECTED[name]
        assert any(f"benchmark {name}: not registered" in r.getMessage() for r in caplog.records), name
    ocw = {i.item: i for i in items["ocw_courses"]}
    assert ocw["ocw-0"].texts["problem"].startswith("Each of the two Magellan telescopes")


# ---- decontamination against the discovered sets -------------------------------------------------


def _spread(pairs: list, k: int) -> list:
    step = max(1, len(pairs) // k)
    return pairs[::step][:k]


# Where each discovered set's rows come from: the registered set and its hand-written spec.
ORIGIN = {
    "theoremqa": "olympiadbench",
    "gsm_hard": "gsm8k",
    "aqua": "mathqa",
    "mgsm_zh": "cmath",
    "mmlu_algebra": "mmlu_stem",
    "ocw_courses": "ocw",
    "competition": "math500",
}


def _embedded(sets: dict[str, list[tuple[str, str]]]) -> list[tuple[str, str, str]]:
    """(set, item id, page) for ``PER_SET`` items spread over each set, inside prose."""
    out = []
    for name, pairs in sorted(sets.items()):
        head, tail = (HEAD_ZH, TAIL_ZH) if EXPECTED[name][3] == "zh" else (HEAD, TAIL)
        out += [(name, item, head + text + tail) for item, text in _spread(pairs, PER_SET)]
    return out


def test_items_of_discovered_sets_are_found(built, discovered) -> None:
    root, sets = built
    _, _, index = discovered
    pages = _embedded(sets)
    matches = [index.match(page) for _, _, page in pages]
    flagged = sum(m is not None for m in matches)
    named = [
        m is not None and m.reason == f"contaminated:{name}:{item}"
        for (name, item, _), m in zip(pages, matches, strict=True)
    ]
    per_set = {
        name: sum(ok for (n, _, _), ok in zip(pages, named, strict=True) if n == name) / PER_SET
        for name in sets
    }
    misses = [
        f"{n}:{i} -> {m.reason if m else None}"
        for (n, i, _), m, ok in zip(pages, matches, named, strict=True)
        if not ok
    ]

    # The same pages against the registered originals with their hand-written specs: what a
    # registry entry would have caught. The misses above are items too short for any n-gram
    # ("9.009 / 1.001") or choices whose labels break every 13-gram: those miss here as well.
    reg = DecontaminateSettings(
        benchmarks={o: DecontaminateSettings().benchmarks[o] for o in ORIGIN.values()}
    )
    baseline = ContaminationIndex.build(
        {o: load_benchmark(REPO_BENCHMARKS, o, reg.benchmarks[o]) for o in ORIGIN.values()}, reg
    )
    registered_hits = [baseline.match(page) is not None for _, _, page in pages]
    registered = sum(registered_hits)
    registered_per_set = {
        name: sum(hit for (n, _, _), hit in zip(pages, registered_hits, strict=True) if n == name) / PER_SET
        for name in sets
    }

    print(
        f"recall: flagged {flagged}/{len(pages)} = {flagged / len(pages):.3f}, "
        f"with the right set and item {sum(named)}/{len(pages)} = {sum(named) / len(pages):.3f}; "
        f"registered originals flag {registered}/{len(pages)}; per set {per_set}; "
        f"registered per set {registered_per_set}; misses {misses}"
    )
    assert len(pages) == PER_SET * len(EXPECTED)
    # Multiple-choice sets with short stems get no exact matching, like the registered mmlu_stem:
    # their stems under 13 tokens are given up for precision, by the registry as by discovery.
    no_exact = {n for n in sets if (root / n).is_dir() and discover_spec(root / n).short_min_tokens == 0}
    assert no_exact == {"mmlu_algebra"}
    rest = [ok for (n, _, _), ok in zip(pages, named, strict=True) if n not in no_exact]
    assert sum(rest) / len(rest) >= 0.95, misses
    assert min(v for n, v in per_set.items() if n not in no_exact) >= 0.85, per_set
    assert all(per_set[n] >= registered_per_set[n] for n in no_exact), (per_set, registered_per_set)
    assert flagged >= registered  # inference loses nothing against the hand-written registry


def _forum_texts(name: str) -> list[str]:
    from lxml import etree, html

    out = []
    for _, row in etree.iterparse(str(SAMPLE / "forums" / name / "Posts.xml"), tag="row"):
        body = row.get("Body") or ""
        out.append(
            (row.get("Title") or "") + "\n" + (html.fromstring(body).text_content() if body.strip() else "")
        )
        row.clear()
    return out


def _tex_paragraphs() -> list[str]:
    paras: list[str] = []
    for path in sorted((SAMPLE / "books").glob("*.tex")):
        paras += [p for p in path.read_text(encoding="utf-8", errors="replace").split("\n\n") if len(p) > 200]
    return paras


def _clean_docs(items: dict[str, list]) -> dict[str, list[str]]:
    """Text that holds none of the discovered sets' items, in prose.

    Other sets share some problems word for word (MMLU high-school math copies MATH's "The
    symbol $5!$ means ..."; MATH-500 is part of MATH): a problem whose tokens equal a text field
    of a discovered item is contamination, not a negative, and is left out.
    """
    in_sets = {tuple(tokenize(t)) for its in items.values() for it in its for t in it.texts.values()}

    def clean(texts: list[str], k: int = PER_SET) -> list[str]:
        return _spread([t for t in texts if tuple(tokenize(t)) not in in_sets], k)

    gsm_train = [r["question"] for r in _rows("gsm8k")[1000:]]  # the held-out train.jsonl rows
    cmath_train = [r["question"] for r in _rows("cmath")[400:]]  # the train parquet rows
    return {
        "math": [HEAD + t + TAIL for t in clean([r["problem"] for r in _rows("math")])],
        "college_math": [HEAD + t + TAIL for t in clean([r["question"] for r in _rows("college_math")])],
        "gaokao2023en": [HEAD + t + TAIL for t in clean([r["question"] for r in _rows("gaokao2023en")])],
        "svamp": [HEAD + t + TAIL for t in clean([r["Body"] + " " + r["Question"] for r in _rows("svamp")])],
        "gsm_hard/train.jsonl": [HEAD + t + TAIL for t in clean(gsm_train)],
        "mgsm_zh/train": [HEAD_ZH + t + TAIL_ZH for t in clean(cmath_train)],
        "cn_middle_school": [
            HEAD_ZH + t + TAIL_ZH for t in clean([r["question"] for r in _rows("cn_middle_school")])
        ],
        "forum gsm8k-train posts": _forum_texts("math.example"),
        "forum python FAQ": _forum_texts("python.example"),
        "tex books": _tex_paragraphs(),
    }


def test_clean_math_text_and_prose_are_not_flagged(discovered) -> None:
    _, items, index = discovered
    docs = _clean_docs(items)
    flagged = {
        source: [(i, m.reason, m.snippet) for i, t in enumerate(texts) if (m := index.match(t)) is not None]
        for source, texts in docs.items()
    }
    n = sum(map(len, docs.values()))
    fp = sum(map(len, flagged.values()))
    print(f"clean documents {n}, flagged {fp}: {flagged}")
    assert n >= 500
    assert all(len(texts) >= 20 for texts in docs.values()), {k: len(v) for k, v in docs.items()}
    assert fp == 0, flagged


# ---- a registered set in another shape, and folders without data ---------------------------------


def test_registered_set_shipped_as_parquet_still_loads(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _write_parquet(tmp_path / "gsm8k" / "test.parquet", _rows("gsm8k"))
    settings = DecontaminateSettings()
    with caplog.at_level(logging.WARNING, logger="curation.decontaminate"):
        items = load_all(tmp_path, settings)
    assert list(items) == ["gsm8k"]
    reference = load_benchmark(REPO_BENCHMARKS, "gsm8k", DecontaminateSettings().benchmarks["gsm8k"])
    assert items["gsm8k"] == reference  # same items, ids and fields as the registered JSON Lines
    spec = settings.benchmarks["gsm8k"]
    assert (spec.files, spec.fields, spec.id_field) == (["test.parquet"], ["question", "answer"], "idx")
    assert any("test.jsonl" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)


def test_registered_set_with_other_field_names_takes_the_discovered_ones(tmp_path: Path) -> None:
    rows = [{"Problem": r["problem"], "Solution": r["solution"], "Level": r["level"]} for r in _rows("math")]
    _write_parquet(tmp_path / "math" / "test.parquet", rows)
    settings = DecontaminateSettings()
    items = load_all(tmp_path, settings)
    assert settings.benchmarks["math"].fields == ["Problem", "Solution"]
    assert settings.benchmarks["math"].id_field is None and settings.benchmarks["math"].exact_fields is None
    assert len(items["math"]) == 5000 and items["math"][7].texts["Problem"] == rows[7]["Problem"]


def test_folders_without_data_are_skipped_with_a_reason(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "README.md").write_text("# nothing here yet\n")
    (tmp_path / "notes" / "LICENSE").write_text("MIT\n")
    (tmp_path / "scores").mkdir()
    (tmp_path / "scores" / "test.csv").write_text("model,accuracy\nm1,0.5\nm2,0.7\n")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "test.parquet").write_bytes(b"not parquet at all")
    (tmp_path / "math").mkdir()  # a registered set whose folder is empty
    with (
        caplog.at_level(logging.INFO, logger="curation.decontaminate"),
        pytest.raises(FileNotFoundError, match="no registered benchmark set found"),
    ):
        load_all(tmp_path, DecontaminateSettings())
    messages = "\n".join(r.getMessage() for r in caplog.records)
    assert f"{tmp_path / 'notes'}: no data file" in messages
    assert f"{tmp_path / 'scores'}: no text field" in messages
    assert (
        "test.parquet is not readable" in messages
        and f"{tmp_path / 'broken'}: none of its data files" in messages
    )
    assert "benchmark math: none of ['test.jsonl']" in messages
    # With one real set beside them, the stage goes on with that set; hidden folders (the Hugging
    # Face client's .cache) and names that would break reasons are not sets.
    _write_jsonl(tmp_path / "extra" / "test.jsonl", _rows("amc23"))
    _write_jsonl(tmp_path / ".cache" / "test.jsonl", _rows("aime24"))
    _write_jsonl(tmp_path / "a:b" / "test.jsonl", _rows("aime24"))
    settings = DecontaminateSettings()
    items = load_all(tmp_path, settings)
    assert list(items) == ["extra"] and len(items["extra"]) == 40
    assert (
        settings.benchmarks["extra"].fields == ["problem"] and settings.benchmarks["extra"].id_field == "id"
    )


def test_a_partial_registry_picks_up_the_other_folders_unless_told_not_to() -> None:
    only_gsm8k = {"gsm8k": DecontaminateSettings().benchmarks["gsm8k"]}
    settings = DecontaminateSettings(benchmarks=dict(only_gsm8k))
    everything = load_all(REPO_BENCHMARKS, settings)
    assert set(everything) == {p.name for p in REPO_BENCHMARKS.iterdir() if p.is_dir()}
    assert settings.benchmarks["cmath"].language == "zh" and settings.benchmarks["minif2f"].fields == [
        "statement"
    ]
    assert list(
        load_all(
            REPO_BENCHMARKS, DecontaminateSettings(benchmarks=dict(only_gsm8k)), discover_unregistered=False
        )
    ) == ["gsm8k"]


def test_build_index_keeps_the_settings_and_reports_inferred_specs(tmp_path: Path) -> None:
    """The stage's index reads an unregistered set, names its inferred spec in the stats, and
    leaves the run's settings as written (later stages' fingerprints hash them)."""
    from curation.decontaminate.stage import build_index

    _write_jsonl(tmp_path / "gsm8k" / "test.jsonl", _rows("gsm8k")[:30])
    _write_jsonl(tmp_path / "extra" / "test.jsonl", [{"id": f"e{i}", "problem": r["problem"]}
                                                     for i, r in enumerate(_rows("math")[:20])])
    settings = DecontaminateSettings()
    before = settings.model_dump()
    index = build_index(settings, str(tmp_path))
    assert settings.model_dump() == before
    assert index.stats["benchmarks"] == {"extra": 20, "gsm8k": 30}
    assert index.stats["inferred_specs"] == {
        "extra": {"files": ["test.jsonl"], "fields": ["problem"], "id_field": "id", "language": "en"}}
    off = build_index(settings.model_copy(update={"discover": False}), str(tmp_path))
    assert off.stats["benchmarks"] == {"gsm8k": 30} and off.stats["inferred_specs"] == {}


def test_adding_a_benchmark_folder_redoes_decontamination_not_extraction(tmp_path: Path) -> None:
    from curation.config import parse_config

    bench = tmp_path / "bench"
    _write_jsonl(bench / "gsm8k" / "test.jsonl", _rows("gsm8k")[:5])
    cfg = parse_config({"sources": [{"kind": "web", "paths": [str(tmp_path)]}], "output": str(tmp_path / "o"),
                        "benchmarks": str(bench)}, tmp_path)
    before = {stage: cfg.fingerprint(stage) for stage in ("extract", "dedup", "decontaminate", "shard")}
    _write_jsonl(bench / "new_set" / "test.jsonl", [{"question": "What is the sum of the first ten odd numbers?"}])
    after = {stage: cfg.fingerprint(stage) for stage in before}
    assert after["extract"] == before["extract"] and after["dedup"] == before["dedup"]
    assert after["decontaminate"] != before["decontaminate"] and after["shard"] != before["shard"]


# ---- layouts that used to load without matching, or not load at all -----------------------------


def _pages_found(index: ContaminationIndex, name: str, pairs: list[tuple[str, str]]) -> float:
    """Share of (id, text) pairs found, inside prose, under their own set and id."""
    hits = [index.match(HEAD + text + TAIL) for _, text in pairs]
    return sum(m is not None and m.reason == f"contaminated:{name}:{i}" for (i, _), m in zip(pairs, hits, strict=True)) / len(pairs)


def _long_problems(k: int, skip: int = 0) -> list[dict[str, Any]]:
    """MATH-500 rows whose problem holds an n-gram (the short ones are a matter of exact matching)."""
    return [r for r in _rows("math500") if len(tokenize(r["problem"])) >= 20][skip : skip + k]


def _index_of(root: Path) -> tuple[DecontaminateSettings, dict, ContaminationIndex]:
    settings = DecontaminateSettings(benchmarks={})
    items = load_all(root, settings)
    return settings, items, ContaminationIndex.build(items, settings)


def test_chat_transcripts_are_read_as_their_user_turns(tmp_path: Path) -> None:
    """A prompt stored as a chat list was not text: the set loaded on its short answer alone and
    matched nothing (0/8 in the probe)."""
    m5, other = _long_problems(40), _long_problems(40, skip=40)
    _write_jsonl(tmp_path / "chat_prompt" / "test.jsonl", [
        {"id": f"p{i}", "prompt": [{"role": "user", "content": r["problem"]}], "answer": r["answer"]}
        for i, r in enumerate(other)
    ])
    _write_jsonl(tmp_path / "chat_messages" / "test.jsonl", [
        {"messages": [{"role": "system", "content": "You are a helpful assistant."},
                      {"role": "user", "content": r["problem"]},
                      {"role": "assistant", "content": r["solution"]}]}
        for r in m5
    ])
    _write_jsonl(tmp_path / "sharegpt" / "test.jsonl", [
        {"id": f"s{i}", "conversations": [{"from": "human", "value": r["problem"]}, {"from": "gpt", "value": r["solution"]}]}
        for i, r in enumerate(other)
    ])
    settings, items, index = _index_of(tmp_path)
    assert settings.benchmarks["chat_prompt"].fields[0] == "prompt"
    assert settings.benchmarks["chat_messages"].fields == ["messages"]
    assert settings.benchmarks["sharegpt"].fields == ["conversations"]
    # The user turns only: the system prompt and the assistant's solution are not the problem.
    assert items["chat_messages"][3].texts == {"messages": m5[3]["problem"]}
    assert _pages_found(index, "chat_prompt", [(f"p{i}", r["problem"]) for i, r in enumerate(other)]) == 1.0
    assert _pages_found(index, "chat_messages", [(str(i), r["problem"]) for i, r in enumerate(m5)]) == 1.0
    assert _pages_found(index, "sharegpt", [(f"s{i}", r["problem"]) for i, r in enumerate(other)]) == 0.0  # owned by chat_prompt
    assert len(items["sharegpt"]) == 40


def test_a_set_whose_items_can_never_match_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from curation.decontaminate.stage import build_index

    _write_jsonl(tmp_path / "gsm8k" / "test.jsonl", _rows("gsm8k")[:10])
    # Five tokens or fewer each: under the 13-token n-gram and the 6-token exact minimum.
    _write_jsonl(tmp_path / "tiny" / "test.jsonl", [
        {"id": i, "question": q} for i, q in enumerate(["Compute $7 \\cdot 8$.", "Simplify $\\sqrt{50}$.", "Factor $x^2-9$."])
    ])
    with caplog.at_level(logging.WARNING, logger="curation.decontaminate"):
        index = build_index(DecontaminateSettings(), str(tmp_path))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(w.startswith("benchmark tiny: no item can ever be matched") and "6 tokens" in w for w in warnings), warnings
    assert list(index.stats["unmatchable_sets"]) == ["tiny"]
    assert index.stats["unmatchable_items"]["tiny"] == 3 and "gsm8k" not in index.stats["unmatchable_items"]


def test_malformed_lines_boms_and_empty_files_cost_only_themselves(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from curation.decontaminate.stage import build_index

    gsm = _rows("gsm8k")
    lines = [json.dumps(r) for r in gsm[:1300]]
    lines[4] = '{"idx": 4, "question": "bad \\escape"}'  # inside discovery's sample
    lines[1200] = '{"idx": 1200, "question": "a raw\ttab and a control \x01 char"'  # beyond it, cut off
    lines[700] = "[1, 2, 3]"  # JSON, but no record
    (tmp_path / "gsm_copy").mkdir()
    (tmp_path / "gsm_copy" / "test.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    m5 = _rows("math500")[:30]
    (tmp_path / "bom_lines").mkdir()
    (tmp_path / "bom_lines" / "test.jsonl").write_text(
        "\ufeff" + "".join(json.dumps({"id": f"b{i}", "problem": r["problem"]}) + "\n" for i, r in enumerate(m5)),
        encoding="utf-8",
    )
    (tmp_path / "bom_array").mkdir()
    (tmp_path / "bom_array" / "test.json").write_text(
        "\ufeff" + json.dumps([{"id": f"a{i}", "question": r["question"]} for i, r in enumerate(_rows("aime24"))]),
        encoding="utf-8",
    )
    # A registered set whose file is empty: warned about and skipped, the run goes on.
    (tmp_path / "math").mkdir()
    (tmp_path / "math" / "test.jsonl").write_text("", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="curation.decontaminate"):
        index = build_index(DecontaminateSettings(), str(tmp_path))
    assert index.stats["benchmarks"] == {"bom_array": 30, "bom_lines": 30, "gsm_copy": 1297}
    assert "math" in index.stats["skipped_sets"]
    messages = "\n".join(r.getMessage() for r in caplog.records)
    assert "test.jsonl: 3 malformed row(s) skipped (line 5: not JSON" in messages
    assert "benchmark math: not read" in messages
    found = _pages_found(index, "gsm_copy", [(str(i), gsm[i]["question"]) for i in range(1201, 1300)])
    assert found == 1.0


def test_without_a_test_split_the_validation_files_are_used_never_train(tmp_path: Path) -> None:
    """train + validation (or dev) and no test: the train rows were indexed too, so every train
    problem copied into a page was flagged (6/6 in the probe)."""
    gsm = _rows("gsm8k")
    train, held = gsm[200:260], gsm[:60]
    _write_jsonl(tmp_path / "val_jsonl" / "train.jsonl", train)
    _write_jsonl(tmp_path / "val_jsonl" / "validation.jsonl", held[:30])
    _write_parquet(tmp_path / "dev_hf" / "data" / "train-00000-of-00001.parquet", train)
    _write_parquet(tmp_path / "dev_hf" / "data" / "dev-00000-of-00001.parquet", held[30:])
    assert discover_spec(tmp_path / "val_jsonl").files == ["validation.jsonl"]
    assert discover_spec(tmp_path / "dev_hf").files == ["data/dev-00000-of-00001.parquet"]
    _, _, index = _index_of(tmp_path)
    assert _pages_found(index, "val_jsonl", [(str(r["idx"]), r["question"]) for r in held[:30]]) == 1.0
    assert _pages_found(index, "dev_hf", [(str(r["idx"]), r["question"]) for r in held[30:]]) == 1.0
    assert sum(index.match(HEAD + r["question"] + TAIL) is not None for r in train) == 0


# Ordinary sentences that hold a short, generic MMLU stem ("Why would a ping sweep be used?").
ORDINARY_WITH_MMLU_STEMS = [
    "Lecture notes, week 4. Magnetic flux has the unit of weber, and the tesla is one weber per square metre.",
    "From the hobby forum: a motor and a generator are basically the same machine run in opposite directions.",
    "Public health leaflet. Radon is a health hazard because it is a radioactive gas that collects in basements.",
    "Chemistry lab handout: an ester is made by reacting an alcohol with a carboxylic acid under acid catalysis.",
    "Network admin FAQ: why would a ping sweep be used? To find which hosts on a subnet are alive.",
    "Quiz review. Which of the following is true? Read every option before you answer, then pick one.",
]


def test_a_discovered_multiple_choice_set_gets_no_exact_matching(tmp_path: Path) -> None:
    """Like the registered mmlu_stem: the same rows dropped in unregistered flagged all six."""
    _write_jsonl(tmp_path / "mmlu_copy" / "test.jsonl", _rows("mmlu_stem"))
    settings, items, index = _index_of(tmp_path)
    assert settings.benchmarks["mmlu_copy"].short_min_tokens == 0 and index.stats["exact_sequences"] == 0
    assert [t for t in ORDINARY_WITH_MMLU_STEMS if index.match(t)] == []
    # Items long enough for n-grams are still found.
    long_items = [(i.item, "\n".join(i.texts.values())) for i in items["mmlu_copy"][:300] if len(tokenize(i.texts["question"])) >= 20]
    assert len(long_items) >= 100 and _pages_found(index, "mmlu_copy", long_items) >= 0.95


def test_tsv_is_read_without_quoting_and_a_cp1252_csv_with_a_fallback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    m5 = _long_problems(20)
    problems = [r["problem"].replace("\n", " ").replace("\t", " ") for r in m5]
    problems[2] = '" marks inches: a pizza of diameter 12 inches is cut into 8 equal slices. Find the area of one slice.'
    (tmp_path / "tsv_quote").mkdir()
    (tmp_path / "tsv_quote" / "test.tsv").write_text(
        "id\tquestion\n" + "".join(f"q{i}\t{p}\n" for i, p in enumerate(problems)), encoding="utf-8"
    )
    latin = ["Résoudre l'équation $2x + 5 = 17$ et donner la valeur de $x$ sous forme de fraction irréductible, "
             f"exercice numéro {i} du chapitre sur les équations du premier degré." for i in range(10)]
    (tmp_path / "csv_cp1252").mkdir()
    (tmp_path / "csv_cp1252" / "test.csv").write_bytes(
        ("id,problem\n" + "".join(f'c{i},"{t}"\n' for i, t in enumerate(latin))).encode("cp1252")
    )
    with caplog.at_level(logging.WARNING, logger="curation.decontaminate"):
        _, items, index = _index_of(tmp_path)
    assert [i.texts["question"] for i in items["tsv_quote"]] == problems
    assert [i.texts["problem"] for i in items["csv_cp1252"]] == latin
    assert any("not UTF-8" in r.getMessage() and "cp1252" in r.getMessage() for r in caplog.records)
    assert _pages_found(index, "tsv_quote", [(f"q{i}", p) for i, p in enumerate(problems)]) == 1.0


def test_nested_question_layouts_and_split_objects(tmp_path: Path) -> None:
    """ARC/OpenBookQA keep the stem and choices inside "question"; HF OpenBookQA has
    question_stem and {"text": [...], "label": [...]} choices; a JSON object of splits."""
    mq = [r for r in _rows("mmlu_stem") if len(tokenize(r["question"])) >= 20][:30]
    arc = [
        {"id": f"arc{i}", "question": {"stem": r["question"], "choices": [{"text": c, "label": "ABCD"[k]} for k, c in enumerate(r["choices"])]}, "answerKey": "A"}
        for i, r in enumerate(mq)
    ]
    _write_jsonl(tmp_path / "arc" / "test.jsonl", arc)
    obqa = [{"id": f"ob{i}", "question_stem": r["question"], "choices": {"text": r["choices"], "label": list("ABCD")}} for i, r in enumerate(mq)]
    _write_parquet(tmp_path / "obqa" / "test.parquet", obqa)
    nested = [{"id": f"n{i}", "question": {"question_stem": r["question"], "choices": {"text": r["choices"], "label": list("ABCD")}}} for i, r in enumerate(mq)]
    (tmp_path / "obqa_nested").mkdir()
    (tmp_path / "obqa_nested" / "test.json").write_text(json.dumps(nested))
    m5 = _long_problems(140)
    (tmp_path / "splits").mkdir()
    (tmp_path / "splits" / "data.json").write_text(json.dumps({
        "train": [{"id": f"t{i}", "problem": r["problem"]} for i, r in enumerate(m5[100:140])],
        "test": [{"id": f"e{i}", "problem": r["problem"]} for i, r in enumerate(m5[:40])],
    }))
    settings, items, index = _index_of(tmp_path)
    assert settings.benchmarks["arc"].fields == ["question", "choices"]
    assert settings.benchmarks["obqa"].fields == ["question_stem", "choices"]
    assert items["obqa_nested"][0].texts == {"question": mq[0]["question"], "choices": "\n".join(mq[0]["choices"])}
    assert items["arc"][0].texts == {"question": mq[0]["question"], "choices": "\n".join(mq[0]["choices"])}
    assert [i.item for i in items["splits"]] == [f"e{i}" for i in range(40)]
    assert _pages_found(index, "arc", [(f"arc{i}", r["question"] + "\n" + "\n".join(r["choices"])) for i, r in enumerate(mq)]) >= 0.95
    assert _pages_found(index, "splits", [(f"e{i}", r["problem"]) for i, r in enumerate(m5[:40])]) == 1.0
    assert sum(index.match(HEAD + r["problem"] + TAIL) is not None for r in m5[100:140]) == 0


def test_csv_without_a_header_row_keeps_its_first_item(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Bare CSV/TSV files (MMLU's original release, many "question<TAB>answer" sets) have no header:
    the first item became the field names, and was lost or made the set unreadable."""
    m5 = _long_problems(20)
    problems = [r["problem"].replace("\n", " ").replace("\t", " ") for r in m5]
    (tmp_path / "bare").mkdir()
    (tmp_path / "bare" / "test.tsv").write_text("".join(f"{p}\t{i * 7}\n" for i, p in enumerate(problems)),
                                                encoding="utf-8")
    others = [r["problem"].replace("\n", " ").replace("\t", " ") for r in _long_problems(20, skip=20)]
    (tmp_path / "with_header").mkdir()
    (tmp_path / "with_header" / "test.tsv").write_text(
        "question\tanswer\n" + "".join(f"{p}\t{i}\n" for i, p in enumerate(others)), encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="curation.decontaminate"):
        _, items, index = _index_of(tmp_path)
    assert [i.texts["column_1"] for i in items["bare"]] == problems
    assert [i.texts["question"] for i in items["with_header"]] == others
    assert any("reads as data" in r.getMessage() for r in caplog.records)
    assert _pages_found(index, "bare", [(i.item, p) for i, p in zip(items["bare"], problems, strict=True)]) == 1.0
