"""Decontamination without Spark: normalisation, the registry, the index, the batch stage.

Items are read from the repo's ``data/benchmarks`` (so these run without ../shared); expected
reasons are written here by hand from the benchmark files, never taken from the output.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
from conftest import BENCHMARKS, REPO, needs_shared

from curation.decontaminate.benchmarks import (
    REPO_BENCHMARKS,
    load_all,
    load_benchmark,
    parse_lean_theorems,
    resolve_benchmark_dir,
)
from curation.decontaminate.index import ContaminationIndex
from curation.decontaminate.normalize import tokenize
from curation.decontaminate.settings import BenchmarkSpec, DecontaminateSettings
from curation.decontaminate.stage import DecontaminateStage
from curation.schema import docs_to_batch, loads_meta
from curation.stage import conform

FILLER = (
    "The reference manual describes the options of the solver in detail. Each option has a "
    "default that suits most problems, and the examples below show how to change them.\n"
)

# MATH test idx 3438, a short problem (10 tokens) matched exactly.
MATH_3438 = "Find the greatest common divisor of $10! + 2$ and $11! + 8$."
# GSM8K test idx 5.
GSM8K_5 = (
    "Kylar went to the store to buy glasses for his new apartment. One glass costs $5, but every "
    "second glass costs only 60% of the price. Kylar wants to buy 16 glasses. How much does he need "
    "to pay for them?"
)
# cmath line 5.
CMATH_5 = "妈妈和小丽在家包饺子，妈妈包了15个，丽丽包了3个。丽丽还要包几个饺子才与妈妈一样多？"


@pytest.fixture(scope="module")
def settings() -> DecontaminateSettings:
    return DecontaminateSettings()


@pytest.fixture(scope="module")
def index(settings: DecontaminateSettings) -> ContaminationIndex:
    """Every registered set, as a real run loads them."""
    return ContaminationIndex.build(load_all(resolve_benchmark_dir(None), settings), settings)


# ---- normalisation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "variant",
    [r"\frac {1}{2}", r"\frac{1}{2}", r"\frac12", r"\dfrac{1}{2}", r"$\frac 1 2$", r"\( \frac{1} {2} \)"],
)
def test_fraction_spellings_share_tokens(variant: str) -> None:
    assert tokenize(variant) == ["frac", "1", "2"]


def test_case_whitespace_punctuation_nfkc_and_dollars() -> None:
    a = tokenize("IF $(2x + 3y)^2 = 4$ AND  $xy = -5$,\tWHAT is the value?")
    b = tokenize("if $(2x+3y)^2=4$ and $xy=-5$, what is the value")
    assert a == b == ["if", "2x", "3y", "2", "4", "and", "xy", "5", "what", "is", "the", "value"]
    assert tokenize("ＡＢＣ １２３") == ["abc", "123"]  # full-width forms fold under NFKC
    assert tokenize(r"\left( x \right) \leq 3 \cdot 4") == tokenize("(x) \\le 3 * 4")


def test_gsm8k_calculator_annotations_are_dropped() -> None:
    assert tokenize("16 - 3 - 4 = <<16-3-4=9>>9 duck eggs") == ["16", "3", "4", "9", "duck", "eggs"]


def test_chinese_is_split_into_characters() -> None:
    assert tokenize("看了90页，还剩") == ["看", "了", "90", "页", "还", "剩"]


# ---- registry and loading ----------------------------------------------------------------------


def test_registry_covers_every_shipped_set(settings: DecontaminateSettings) -> None:
    shipped = {p.name for p in REPO_BENCHMARKS.iterdir() if p.is_dir()}
    assert shipped == set(settings.benchmarks)
    assert settings.benchmarks["cmath"].language == "zh"
    assert settings.ngram_for(settings.benchmarks["cmath"]) == settings.ngram_zh
    for name in shipped:  # provenance travels with the data
        assert (REPO_BENCHMARKS / "README.md").is_file(), name


@needs_shared
def test_repo_copy_equals_shared_benchmarks(settings: DecontaminateSettings) -> None:
    assert {p.name for p in BENCHMARKS.iterdir() if p.is_dir()} == set(settings.benchmarks)
    for name, spec in settings.benchmarks.items():
        assert load_benchmark(BENCHMARKS, name, spec) == load_benchmark(REPO_BENCHMARKS, name, spec), name


def test_loader_reads_plain_and_gzipped_jsonl(tmp_path: Path) -> None:
    (tmp_path / "gsm8k").mkdir()
    with gzip.open(REPO_BENCHMARKS / "gsm8k" / "test.jsonl.gz", "rt", encoding="utf-8") as fh:
        (tmp_path / "gsm8k" / "test.jsonl").write_text(fh.read(), encoding="utf-8")
    spec = DecontaminateSettings().benchmarks["gsm8k"]
    plain = load_benchmark(tmp_path, "gsm8k", spec)
    assert plain == load_benchmark(REPO_BENCHMARKS, "gsm8k", spec)
    assert len(plain) == 1319 and plain[5].item == "5" and plain[5].texts["question"] == GSM8K_5


def test_list_fields_and_positional_ids(tmp_path: Path) -> None:
    (tmp_path / "toy").mkdir()
    rows = [{"q": "first"}, {"q": "second", "choices": ["alpha", "beta"]}]
    (tmp_path / "toy" / "test.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    items = load_benchmark(tmp_path, "toy", BenchmarkSpec(fields=["q", "choices"]))
    assert [i.item for i in items] == ["0", "1"]
    assert items[1].texts == {"q": "second", "choices": "alpha\nbeta"}


def test_missing_folder_message_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="benchmark folder not found"):
        resolve_benchmark_dir(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="no registered benchmark set"):
        load_all(tmp_path, DecontaminateSettings())


def test_benchmark_names_cannot_break_reasons() -> None:
    with pytest.raises(ValueError, match="contain no ':'"):
        DecontaminateSettings(benchmarks={"a:b": BenchmarkSpec()})


def test_lean_theorems_are_parsed_without_helper_lemmas() -> None:
    for split in ("test", "valid"):
        with open(REPO_BENCHMARKS / "minif2f" / f"{split}.lean", encoding="utf-8") as fh:
            theorems = list(parse_lean_theorems(fh.read()))
        assert len(theorems) == 244  # miniF2F: 244 test + 244 valid
    assert theorems[0]["statement"].startswith("theorem ")
    assert ":=" not in theorems[0]["statement"]


# ---- matching ----------------------------------------------------------------------------------


def test_inserted_gsm8k_question_is_found_with_its_idx(index: ContaminationIndex) -> None:
    m = index.match(FILLER + GSM8K_5 + "\n" + FILLER)
    assert m is not None and m.reason == "contaminated:gsm8k:5"


def test_reformatted_item_is_found(index: ContaminationIndex) -> None:
    text = GSM8K_5.upper().replace(" ", "  \n ").replace("$5", "\\$5")
    m = index.match(FILLER + text)
    assert m is not None and m.reason == "contaminated:gsm8k:5"


def test_short_item_is_matched_exactly_but_not_its_fragments(index: ContaminationIndex) -> None:
    m = index.match(FILLER + r"Find the greatest  common divisor of $10!+2$ and $11! + 8$ ." + FILLER)
    assert m is not None and m.reason == "contaminated:math:3438"
    assert index.match(FILLER + "Find the greatest common divisor of $10! + 2$ and $12$.") is None


def test_templated_rewrite_with_other_numbers_is_not_contamination(index: ContaminationIndex) -> None:
    # The GSM8K train split reuses test stories with other names and numbers: not the item.
    rewrite = GSM8K_5.replace("Kylar", "Mira").replace("$5", "$7").replace("60%", "40%").replace("16", "12")
    assert index.match(FILLER + rewrite) is None


def test_chinese_item_is_found_and_boilerplate_is_not(index: ContaminationIndex) -> None:
    m = index.match("今天我们练习应用题。" + CMATH_5 + "请写出算式。")
    assert m is not None and m.reason == "contaminated:cmath:5"
    # Exam boilerplate shared by many cn_middle_school items is no item.
    assert index.match("下列四个数中，最小的数是多少？请说明理由，并比较它们的大小。") is None


def test_lean_statement_is_found_with_another_layout_and_proof(index: ContaminationIndex) -> None:
    lean = (
        "theorem mathd_algebra_478 (b h v : ℝ) (h₀ : 0 < b ∧ 0 < h ∧ 0 < v)\n"
        "    (h₁ : v = 1 / 3 * (b * h)) (h₂ : b = 30) (h₃ : h = 13 / 2) : v = 65 := by\n"
        "  subst h₂ h₃; linarith\n"
    )
    m = index.match(lean)
    assert m is not None and m.reason == "contaminated:minif2f:mathd_algebra_478"


def test_index_reports_memory(index: ContaminationIndex) -> None:
    assert index.stats["items"] > 20000
    assert 1_000_000 < index.stats["memory_bytes"] < 500_000_000
    assert index.stats["pickled_bytes"] > 0


# ---- the batch stage ---------------------------------------------------------------------------


def _batch(texts: list[str]):
    rows = [{"id": f"d{i}", "source": "web", "origin": f"u{i}", "text": t, "meta": {"k": i}} for i, t in enumerate(texts)]
    return conform(docs_to_batch(rows))


def test_stage_rejects_with_reason_and_keeps_clean_rows(index: ContaminationIndex, settings: DecontaminateSettings) -> None:
    stage = DecontaminateStage(settings, index=index)
    out = stage(_batch([FILLER * 3, FILLER + GSM8K_5, "", FILLER + MATH_3438]))
    assert out.batch.num_rows == 4
    assert out.batch.column("reason").to_pylist() == [
        None, "contaminated:gsm8k:5", None, "contaminated:math:3438",
    ]
    meta = loads_meta(out.batch.column("meta")[1].as_py())
    assert meta["k"] == 1 and meta["decontaminate"]["benchmark"] == "gsm8k"
    assert "kylar" in meta["decontaminate"]["snippet"]
    assert out.counters["contaminated_docs:gsm8k"] == 1 and out.counters["docs_scanned"] == 4


def test_span_mode_cuts_the_item_and_keeps_the_page(index: ContaminationIndex) -> None:
    settings = DecontaminateSettings(mode="remove-span", min_chars_after_span=100)
    stage = DecontaminateStage(settings, index=index)
    page = FILLER * 2 + GSM8K_5 + "\n" + FILLER * 2
    out = stage(_batch([page, GSM8K_5]))
    assert out.batch.column("reason").to_pylist() == [None, "contaminated:gsm8k:5"]
    assert out.batch.column("text")[0].as_py() == FILLER * 4
    assert out.counters["spans_removed"] == 1


def test_stage_pickles_without_the_index_when_given_a_loader(settings: DecontaminateSettings) -> None:
    import pickle

    stage = DecontaminateStage(settings, loader=_tiny_index)
    assert stage(_batch([GSM8K_5])).batch.column("reason").to_pylist() == ["contaminated:gsm8k:5"]
    clone = pickle.loads(pickle.dumps(stage))
    assert clone._index is None
    assert clone(_batch([GSM8K_5])).batch.column("reason").to_pylist() == ["contaminated:gsm8k:5"]


def _tiny_index() -> ContaminationIndex:
    s = DecontaminateSettings(benchmarks={"gsm8k": DecontaminateSettings().benchmarks["gsm8k"]})
    return ContaminationIndex.build(load_all(REPO_BENCHMARKS, s), s)


def test_benchmarks_dir_flag_reads_a_copied_folder(tmp_path: Path) -> None:
    shutil.copytree(REPO_BENCHMARKS / "math", tmp_path / "math")
    items = load_all(tmp_path, DecontaminateSettings())  # other sets absent: skipped
    assert list(items) == ["math"] and len(items["math"]) == 5000
    assert REPO in REPO_BENCHMARKS.parents


# ---- the development corpus (../shared) ----------------------------------------------------------


def _html_text(payload: bytes) -> str:
    """A plain, honest extraction for these tests (the extract stage is tested elsewhere)."""
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.encoding import bytes_to_str, detect_encoding

    return extract_plain_text(bytes_to_str(payload, detect_encoding(payload)), main_content=False)


@needs_shared
def test_contaminated_pages_recall_and_clean_pages(index: ContaminationIndex) -> None:
    from conftest import CORPUS
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    folder = CORPUS / "contaminated"
    labels = {}
    for line in (folder / "labels.jsonl").read_text(encoding="utf-8").splitlines():
        d = json.loads(line)
        labels[d["url"]] = d
    inserted = caught = caught_text = clean = false_pos = 0
    with open(folder / "contaminated.warc.gz", "rb") as fh:
        for rec in ArchiveIterator(fh, record_types=WarcRecordType.response, parse_http=True):
            lab = labels[rec.headers.get("WARC-Target-URI")]
            m = index.match(_html_text(rec.reader.read()))
            if lab["benchmark"] is None:
                clean += 1
                false_pos += m is not None
                continue
            inserted += 1
            want = f"contaminated:{lab['benchmark']}:{lab['item_idx_field']}"
            caught += m is not None and m.reason == want
            t = index.match(lab["inserted_text"])
            caught_text += t is not None and t.reason == want
    assert (inserted, clean) == (40, 40)
    assert caught / inserted >= 0.98 and caught_text / inserted >= 0.98
    assert false_pos == 0


@needs_shared
def test_gsm8k_train_forum_posts_do_not_match_the_test_split(index: ContaminationIndex) -> None:
    """The forum dump holds the 7473 GSM8K *train* problems; none is a test item (nor ASDiv's...)."""
    from conftest import CORPUS
    from lxml import etree, html

    posts = n = 0
    flagged = []
    for _, row in etree.iterparse(str(CORPUS / "forums" / "math.example" / "Posts.xml"), tag="row"):
        body = row.get("Body") or ""
        text = (row.get("Title") or "") + "\n" + (html.fromstring(body).text_content() if body.strip() else "")
        posts += 1
        m = index.match(text)
        if m is not None:
            flagged.append((row.get("Id"), m.reason))
        n += 1
        row.clear()
    assert posts > 14000
    assert flagged == []


def test_batch_prefilter_agrees_with_per_document_matching(index: ContaminationIndex) -> None:
    texts = [FILLER, FILLER + GSM8K_5, None, "练习：" + CMATH_5, GSM8K_5 + FILLER + MATH_3438, "", FILLER * 40]
    many = index.match_many(texts, chunk_chars=600)  # small chunks: windows must not cross texts
    assert [m.reason if m else None for m in many] == [
        None, "contaminated:gsm8k:5", None, "contaminated:cmath:5", "contaminated:gsm8k:5", None, None,
    ]
    # The tail of one text and the head of the next never make a window together.
    half = len(GSM8K_5) // 2
    assert index.match_many([GSM8K_5[:half], GSM8K_5[half:]]) == [None, None]


# ---- number separators and Lean 4 ----------------------------------------------------------------


def test_thousands_separators_normalise_alike_but_lists_do_not() -> None:
    assert tokenize("He pays $80,000 in 2,019 and 1{,}234{,}567.5 later") == tokenize(
        "He pays $80000 in 2019 and 1234567.5 later"
    )
    assert tokenize("the sets 1, 2, 3 and (1,2) and 12,34") == ["the", "sets", "1", "2", "3", "and", "1", "2", "and", "12", "34"]
    assert tokenize("1,000, 2,000") == ["1000", "2000"]


def test_gsm8k_items_are_found_with_or_without_thousands_separators(index: ContaminationIndex) -> None:
    """The probe: with the commas dropped only 14/30 gsm8k questions were found (their numbers
    "80,000" and "80000" did not agree); separators added to 4+-digit numbers, 54/77."""
    import re

    with gzip.open(REPO_BENCHMARKS / "gsm8k" / "test.jsonl.gz", "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    with_commas = [r for r in rows if re.search(r"\d,\d{3}", r["question"])]
    dropped = [(r["idx"], re.sub(r"(\d),(\d{3})", r"\1\2", r["question"])) for r in with_commas]
    long_numbers = [r for r in rows if re.search(r"(?<![\d,.])\d{4,}(?![\d,.])", r["question"])]

    def commas(m: re.Match[str]) -> str:
        head, rest = m.group(1), m.group(2)
        return head + "".join("," + rest[i : i + 3] for i in range(0, len(rest), 3))

    added = [
        (r["idx"], re.sub(r"(?<![\d,.])(\d{1,3})((?:\d{3})+)(?![\d,.])", commas, r["question"])) for r in long_numbers
    ]
    assert len(dropped) >= 25 and len(added) >= 70
    for variants in (dropped, added):
        found = [index.match(FILLER + q + "\n" + FILLER) for _, q in variants]
        right = sum(m is not None and m.reason == f"contaminated:gsm8k:{i}" for (i, _), m in zip(variants, found, strict=True))
        assert right == len(variants), [q for (_, q), m in zip(variants, found, strict=True) if m is None]


def test_gsm8k_items_are_found_with_small_numbers_spelled_out_or_decimal_zeros_dropped(
    index: ContaminationIndex,
) -> None:
    """The probe: with small numbers written as words ("5 apples" -> "five apples") 82 of 239 gsm8k
    questions were found, with "$3.50" written "$3.5" 10 of 19; both are the same numbers."""
    import re

    words = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen " \
            "seventeen eighteen nineteen twenty".split()
    with gzip.open(REPO_BENCHMARKS / "gsm8k" / "test.jsonl.gz", "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh][:400]
    small = re.compile(r"(?<![\d.,$])\b(\d{1,2})\b(?![\d.,])")
    spelled = [(r["idx"], small.sub(lambda m: words[int(m.group(1))] if int(m.group(1)) <= 20 else m.group(1),
                                    r["question"])) for r in rows if small.search(r["question"])]
    spelled = [(i, q) for i, q in spelled if any(f" {w} " in f" {q} " for w in words)]
    decimals = [(r["idx"], re.sub(r"(\d)\.(\d)0\b", r"\1.\2", r["question"]))
                for r in rows if re.search(r"\d\.\d0\b", r["question"])]
    assert len(spelled) >= 100 and len(decimals) >= 5
    for variants, floor in ((spelled, 0.98), (decimals, 1.0)):
        found = [index.match(FILLER + q + "\n" + FILLER) for _, q in variants]
        right = sum(m is not None and m.reason == f"contaminated:gsm8k:{i}" for (i, _), m in zip(variants, found, strict=True))
        assert right >= floor * len(variants), (right, len(variants))


def test_number_words_and_digits_are_one_token_but_words_containing_them_are_not() -> None:
    from curation.decontaminate.normalize import canonical_text, token_hash, token_hashes

    assert token_hash("five") == token_hash("5") and token_hash("twenty") == token_hash("20")
    assert list(token_hashes("someone often bones")) == [token_hash(w) for w in ("someone", "often", "bones")]
    assert token_hash("someone") != token_hash("some1")
    assert canonical_text("3.50 and 10.00 and 1.05 and 100 and 0.5") == "3.5 and 10 and 1.05 and 100 and 0.5"


LEAN4 = """import Mathlib

open BigOperators Real Nat

/-- The volume of a cone is given by the formula $V = \\frac{1}{3}Bh$, where $B$ is the area of the
base and $h$ is the height. The area of the base of a cone is 30 square units, and its height is
6.5 units. Show that the volume is 65.-/
theorem mathd_algebra_478 (b h v : ℝ) (h₀ : 0 < b ∧ 0 < h ∧ 0 < v) (h₁ : v = 1 / 3 * (b * h))
    (h₂ : b = 30) (h₃ : h = 13 / 2) : v = 65 := by
  sorry

@[simp]
lemma imo_1959_p1 (n : ℕ) (h₀ : 0 < n) : Nat.gcd (21 * n + 4) (14 * n + 3) = 1 := by
  sorry

private theorem aime_1983_p1 (x y z w : ℕ) (ht : 1 < x ∧ 1 < y ∧ 1 < z) (hw : 0 ≤ w)
    (h0 : Real.log w / Real.log x = 24) : Real.log w / Real.log z = 60 := by
  sorry

protected theorem mathd_algebra_let (f : ℝ → ℝ) (h₀ : ∀ x, f x = let y := x + 1; y * y) :
    f 2 = 9 := by
  sorry

theorem top_level_let : let k := 5; k + k = 10 :=
  rfl

lemma helper (n : ℕ) : n + 0 = n := by simp

theorem uses_helper (n : ℕ) : n + 0 + 0 = n := by
  rw [helper, helper]
"""


def test_lean4_lemmas_modifiers_let_statements_and_docstrings() -> None:
    rows = {r["name"]: r for r in parse_lean_theorems(LEAN4)}
    assert list(rows) == ["mathd_algebra_478", "imo_1959_p1", "aime_1983_p1", "mathd_algebra_let", "top_level_let", "uses_helper"]
    assert rows["imo_1959_p1"]["statement"].startswith("lemma imo_1959_p1 (n : ℕ)")
    assert rows["aime_1983_p1"]["statement"].endswith("Real.log w / Real.log z = 60")
    assert rows["mathd_algebra_let"]["statement"].endswith("(h₀ : ∀ x, f x = let y := x + 1; y * y) :\n    f 2 = 9")
    assert rows["top_level_let"]["statement"] == "theorem top_level_let : let k := 5; k + k = 10"
    assert rows["mathd_algebra_478"]["informal_statement"].startswith("The volume of a cone is given")
    assert "informal_statement" not in rows["imo_1959_p1"]


def test_lean4_docstring_is_indexed_as_the_informal_statement(tmp_path: Path) -> None:
    (tmp_path / "lean4").mkdir()
    (tmp_path / "lean4" / "test.lean").write_text(LEAN4, encoding="utf-8")
    settings = DecontaminateSettings(benchmarks={})
    index = ContaminationIndex.build(load_all(tmp_path, settings), settings)
    assert settings.benchmarks["lean4"].fields == ["statement", "informal_statement"]
    doc = LEAN4.split("/-- ")[1].split("-/")[0]
    m = index.match(FILLER + doc + FILLER)
    assert m is not None and m.reason == "contaminated:lean4:mathd_algebra_478"
    m = index.match("lemma imo_1959_p1 (n : ℕ) (h₀ : 0 < n) : Nat.gcd (21 * n + 4) (14 * n + 3) = 1 := by\n  omega\n")
    assert m is not None and m.reason == "contaminated:lean4:imo_1959_p1"
