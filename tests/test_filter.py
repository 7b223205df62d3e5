"""The filter stage: reasons for every drop, math-safe quality rules, language, re-thresholding."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from conftest import CORPUS, needs_shared

from curation.filter.language import LanguageIdentifier
from curation.filter.quality import quality_reason, quality_signals
from curation.filter.settings import FilterSettings
from curation.filter.stage import FilterStage, decide_row
from curation.schema import DOC_SCHEMA, docs_to_batch, make_id
from curation.stage import check_accounting

S = FilterSettings()

ENGLISH_MATH = (
    "Let $f(x) = \\frac{1}{1+x^{2}}$ be defined on the real line. We prove that the integral "
    "$$\\int_{-\\infty}^{\\infty} f(x)\\,dx = \\pi$$ by the substitution $x = \\tan\\theta$, so that "
    "$dx = \\sec^{2}\\theta\\,d\\theta$ and $1 + \\tan^{2}\\theta = \\sec^{2}\\theta$. Hence the integrand "
    "becomes $1$ and the limits become $-\\pi/2$ and $\\pi/2$. Theorem 1. For every integer $n \\ge 1$ "
    "the sum $\\sum_{k=1}^{n} k = n(n+1)/2$. Proof. By induction on $n$: the case $n=1$ is clear, and "
    "adding $n+1$ to both sides of the identity for $n$ gives the identity for $n+1$. Corollary. The "
    "derivative of $f$ is $f'(x) = -2x/(1+x^{2})^{2}$, which vanishes only at the origin."
)
ENGLISH_PROSE = (
    "Apache HTTP Server can be configured to serve several websites from one machine. Each virtual "
    "host has its own document root, log files and access rules. To enable the module, edit the main "
    "configuration file, add the directive that loads it, and restart the server so that it reads the "
    "new settings. The documentation describes the options for name-based and address-based hosting, "
    "explains how requests are matched to a host, and lists the common mistakes that lead to the wrong "
    "site being served. Administrators should test the configuration before reloading the service."
)
FRENCH_PROSE = (
    "Le serveur HTTP Apache peut être configuré pour servir plusieurs sites web depuis une seule "
    "machine. Chaque hôte virtuel possède sa propre racine de documents, ses fichiers journaux et ses "
    "règles d'accès. Pour activer le module, modifiez le fichier de configuration principal, ajoutez la "
    "directive qui le charge, puis redémarrez le serveur afin qu'il lise les nouveaux paramètres. La "
    "documentation décrit les options pour l'hébergement par nom et par adresse."
)
CHINESE_MATH = (
    "已知函数 $f(x) = x^{2} - 2x + 3$，求函数在区间 $[0, 3]$ 上的最大值和最小值。解：因为 $f(x) = (x-1)^{2} + 2$，"
    "所以函数的图像是开口向上的抛物线，对称轴为 $x = 1$。当 $x = 1$ 时，函数取得最小值 $2$；当 $x = 3$ 时，"
    "函数取得最大值 $6$。因此最大值为 $6$，最小值为 $2$。"
)
COQ = """Require Import Arith.

Theorem plus_n_O : forall n : nat, n = n + 0.
Proof.
  intros n. induction n as [| n' IHn'].
  - reflexivity.
  - simpl. rewrite <- IHn'. reflexivity.
Qed.

Lemma mult_0_r : forall n : nat, n * 0 = 0.
Proof.
  induction n; simpl; auto.
Qed.
"""


def _doc(text: str, source: str = "web", origin: str = "u") -> dict:
    return {"id": make_id(source, origin), "source": source, "origin": origin, "text": text}


def _batch(docs: list[dict]) -> pa.RecordBatch:
    return docs_to_batch(docs, DOC_SCHEMA)


# ---- quality rules (pure, no model) ------------------------------------------------------------


def test_latex_braces_and_display_math_pass_quality_rules():
    # C4's '{' rule or Gopher's word-length/symbol rules would drop this; ours must not.
    sig = quality_signals(ENGLISH_MATH, "web", S)
    assert quality_reason(sig, "web", S) is None


def test_short_document_reason():
    sig = quality_signals("Only a few words here.", "web", S)
    assert quality_reason(sig, "web", S) == "too_short"


def test_forums_have_a_lower_length_floor():
    text = ("A train travels 60 km in 1.5 hours and then stops. What is its average speed over the trip? "
            "The speed is $60/1.5 = 40$ km/h.")
    assert quality_reason(quality_signals(text, "web", S), "web", S) == "too_short"
    assert quality_reason(quality_signals(text, "forums", S), "forums", S) is None


def test_repeated_lines_reason():
    text = "\n".join(["Buy cheap watches now at the best price online today"] * 30 + [ENGLISH_PROSE])
    reason = quality_reason(quality_signals(text, "web", S), "web", S)
    assert reason is not None and reason.startswith("gopher_repetition:")


def test_sure_math_skips_prose_rules_but_not_language():
    """Formulas repeat n-grams and lower lid confidence; a confident math score exempts them."""
    text = "\n".join(["Buy cheap watches now at the best price online today"] * 30 + [ENGLISH_PROSE])
    q = quality_signals(text, "web", S)
    assert decide_row("web", "en", 0.9, q, 0.6, S).startswith("gopher_repetition:")
    assert decide_row("web", "en", 0.9, q, 0.95, S) is None
    assert decide_row("web", "en", 0.3, q, 0.95, S) is None
    assert decide_row("web", "fr", 0.99, q, 0.95, S) == "lang_not_allowed:fr"
    strict = FilterSettings(math_exempt_score=1.0)
    assert decide_row("web", "en", 0.9, q, 0.95, strict).startswith("gopher_repetition:")


def test_bullet_page_reason():
    words = ENGLISH_PROSE.split()
    text = "\n".join(f"- {' '.join(words[i:i + 3])}" for i in range(0, 60, 3))
    reason = quality_reason(quality_signals(text, "web", S), "web", S)
    assert reason == "gopher_quality:bullet_lines"


def test_code_is_not_judged_by_prose_rules():
    # Coq is short on words and repeats 'reflexivity.' lines: prose rules would drop it.
    sig = quality_signals(COQ, "code", S)
    assert quality_reason(sig, "code", S) is None
    assert quality_reason(quality_signals(COQ, "web", S), "web", S) == "too_short"


def test_code_rules_reasons():
    minified = "var a=" + "1," * 2000 + "2;"
    assert quality_reason(quality_signals(minified, "code", S), "code", S) == "code_quality:max_line_length"
    data = "\n".join(["0x00, 0x01, 0x02, 0x03, 0x04, 0x05;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;"] * 20)
    data = data.replace("0", ";").replace("x", ";")
    assert quality_reason(quality_signals(data, "code", S), "code", S) == "code_quality:alnum_frac"


def test_decide_order_and_thresholds():
    q = quality_signals(ENGLISH_MATH, "web", S)
    assert decide_row("web", "fr", 0.99, q, 0.99, S) == "lang_not_allowed:fr"
    assert decide_row("web", "en", 0.2, q, 0.6, S) == "lang_score_below_threshold:en"
    assert decide_row("web", None, None, q, 0.99, S) == "lang_unknown"
    assert decide_row("web", "en", 0.9, q, 0.3, S) == "math_score_below_threshold"
    assert decide_row("web", "en", 0.9, q, 0.7, S) is None
    # per-source threshold override
    s2 = FilterSettings(math_threshold_by_source={"web": 0.8})
    assert decide_row("web", "en", 0.9, q, 0.7, s2) == "math_score_below_threshold"
    # code is exempt from the language rule
    assert decide_row("code", "de", 0.3, quality_signals(COQ, "code", S), 0.9, S) is None
    assert decide_row("web", "en", 0.9, {"n_chars": 0}, 0.9, S) == "empty_text"


# ---- language identification (the real lid.176 model) ----------------------------------------


def test_language_identifier_offline_model():
    langs, scores = LanguageIdentifier().identify([ENGLISH_PROSE, FRENCH_PROSE, CHINESE_MATH, ENGLISH_MATH, ""])
    assert langs[:4] == ["en", "fr", "zh", "en"]
    assert all(s is not None and s >= S.min_lang_score for s in scores[:4])
    assert langs[4] is None and scores[4] is None


# ---- the whole stage (real models) ------------------------------------------------------------


def _run(docs: list[dict], settings: FilterSettings = S):
    batch = _batch(docs)
    out = FilterStage(settings)(batch)
    check_accounting(batch.num_rows, out)
    return out


def test_stage_reasons_and_scores():
    docs = [
        _doc(ENGLISH_MATH, origin="math"),
        _doc(ENGLISH_PROSE, origin="prose"),
        _doc(FRENCH_PROSE, origin="fr"),
        _doc("Too short.", origin="short"),
        _doc(CHINESE_MATH, source="forums", origin="zh"),
        _doc(COQ, source="code", origin="coq"),
        _doc(None, origin="empty"),
    ]
    out = _run(docs)
    rows = {r["origin"]: r for r in out.batch.to_pylist()}
    assert rows["math"]["reason"] is None
    assert rows["prose"]["reason"] == "math_score_below_threshold"
    assert rows["fr"]["reason"] == "lang_not_allowed:fr"
    assert rows["short"]["reason"] == "too_short"
    assert rows["zh"]["reason"] is None and rows["zh"]["lang"] == "zh"
    assert rows["coq"]["reason"] is None
    assert rows["empty"]["reason"] == "empty_text"
    # scores are written on every document, kept or not
    assert rows["math"]["math_score"] > rows["prose"]["math_score"]
    assert json.loads(rows["prose"]["quality"])["n_words"] > 50
    assert out.counters["math_model:math_classifier"] == len(docs)


def test_rethreshold_without_reinference():
    out = _run([_doc(ENGLISH_MATH, origin="a"), _doc(ENGLISH_PROSE, origin="b")])
    scored = out.batch.drop_columns(["reason"])
    # A stricter threshold than any score: both rejected, from the written scores alone.
    strict = FilterStage(FilterSettings(math_threshold=1.0), rescore=False)(scored)
    assert strict.batch.column("reason").to_pylist() == ["math_score_below_threshold"] * 2
    # The scores themselves are untouched.
    assert strict.batch.column("math_score").to_pylist() == scored.column("math_score").to_pylist()


def test_existing_quality_fields_are_kept():
    doc = _doc(ENGLISH_MATH, origin="q")
    doc["quality"] = json.dumps({"extract_math_spans": 12})
    row = _run([doc]).batch.to_pylist()[0]
    q = json.loads(row["quality"])
    assert q["extract_math_spans"] == 12 and q["n_words"] > 50


@pytest.mark.parametrize("bad", ["/nonexistent/model.ftz"])
def test_missing_model_fails_clearly(bad):
    with pytest.raises(FileNotFoundError, match="math classifier model not found"):
        FilterStage(FilterSettings(math_model=bad))(_batch([_doc(ENGLISH_MATH)]))


@needs_shared
def test_worked_solutions_in_forums_are_not_repetition_drops():
    """GSM8K answers repeat phrases and expressions; Gopher's n-gram rules misfire on them."""
    from lxml import etree
    from resiliparse.extract.html2text import extract_plain_text

    posts = []
    for _, el in etree.iterparse(str(CORPUS / "forums" / "math.example" / "Posts.xml"), tag="row",
                                 resolve_entities=False, no_network=True):
        if el.get("PostTypeId") == "2":
            posts.append(extract_plain_text(el.get("Body") or "", preserve_formatting=True))
        el.clear()
        if len(posts) >= 300:
            break
    as_web = [quality_reason(quality_signals(t, "web", S), "web", S) for t in posts]
    as_forum = [quality_reason(quality_signals(t, "forums", S), "forums", S) for t in posts]
    assert sum(1 for r in as_web if r and r.startswith("gopher_repetition:")) >= 10
    assert not any(r and r.startswith("gopher_repetition:") for r in as_forum)


def test_tex_books_skip_line_repetition():
    body = "\n".join(f"\\begin{{equation}}\nx_{i} = {i}\n\\end{{equation}}" for i in range(40))
    assert quality_reason(quality_signals(body, "books", S), "books", S) is None


def _datatrove_ngram_signals(ws: list[str]) -> list[int]:
    from datatrove.pipeline.filters.gopher_repetition_filter import (
        find_all_duplicate,
        find_top_duplicate,
        get_n_grams,
    )

    tops = [find_top_duplicate(g) if (g := get_n_grams(ws, k)) else 0 for k in (2, 3, 4)]
    return tops + [find_all_duplicate(ws, k) for k in range(5, 11)]


def _our_ngram_signals(ws: list[str]) -> list[int]:
    from curation.filter.repetition import NgramIndex, dup_ngram_chars, top_ngram_chars

    index = NgramIndex(ws)
    return [top_ngram_chars(index, k) for k in (2, 3, 4)] + [dup_ngram_chars(index, k) for k in range(5, 11)]


def _reference_ngram_signals(ws: list[str]) -> list[int]:
    """datatrove's two algorithms, verbatim in logic, with n-grams as word tuples."""
    from collections import Counter

    out = []
    for n in (2, 3, 4):
        grams = [tuple(ws[i : i + n]) for i in range(len(ws) - n + 1)]
        if not grams:
            out.append(0)
            continue
        top, count = Counter(grams).most_common(1)[0]
        out.append(len(" ".join(top)) * count)
    for n in range(5, 11):
        seen, total, idx = set(), 0, 0
        while idx < len(ws) - n + 1:
            gram = tuple(ws[idx : idx + n])
            if gram in seen:
                total += len("".join(gram))
                idx += n
            else:
                seen.add(gram)
                idx += 1
        out.append(total)
    return out


def _sample_texts() -> list[str]:
    from pathlib import Path

    texts = []
    for tex in sorted((Path(__file__).parents[1] / "data" / "sample" / "books").glob("*.tex")):
        body = tex.read_text(encoding="utf-8", errors="replace")
        texts += [body[i : i + 6000] for i in range(0, len(body), 6000)]
    texts += ["the cat sat on the mat. " * 40, "a b a b a b a b a b a b c", "x y z " * 3 + "q " * 20,
              "数学 是 数学 " * 30, "one", ""]
    return texts


def test_ngram_repetition_equals_gophers_definition_on_real_text():
    """The integer-id n-gram signals equal datatrove's algorithms (top n-gram with ties to the
    first seen; the left-to-right duplicate scan with jumps) on the embedded TeX books cut into
    pages and on made-up repetitive text, n-grams being word sequences."""
    from curation.filter.quality import words

    texts = _sample_texts()
    assert len(texts) > 20
    agree_with_datatrove = 0
    for text in texts:
        ws = words(text)
        ours = _our_ngram_signals(ws)
        assert ours == _reference_ngram_signals(ws), text[:60]
        agree_with_datatrove += ours == _datatrove_ngram_signals(ws)
    # datatrove differs only where two n-grams' words concatenate to the same string (below).
    assert agree_with_datatrove >= 0.5 * len(texts)


def test_line_and_paragraph_duplicates_equal_datatrove_find_duplicates():
    """curation.filter.repetition.find_duplicates, written out to spare the filter stage the
    import of datatrove.pipeline.filters, gives datatrove's numbers."""
    import re

    from datatrove.pipeline.filters.gopher_repetition_filter import (
        find_duplicates as datatrove_find_duplicates,
    )

    from curation.filter.repetition import find_duplicates

    texts = [*_sample_texts(), "a\n\nb\n\na\n\n\nb\nc\nc\nc", "\n".join(["same line"] * 9 + ["other"])]
    nonzero = 0
    for text in texts:
        for items in (re.split(r"\n{2,}", text.strip()), re.split(r"\n+", text)):
            assert find_duplicates(items) == datatrove_find_duplicates(items), text[:60]
            nonzero += find_duplicates(items)[0] > 0
    assert nonzero >= 5  # the comparison covers texts that have duplicates


def test_ngram_identity_is_the_word_sequence():
    """datatrove joins a find_all_duplicate n-gram's words without a separator, so "ab c" repeats
    "a bc"; Gopher's n-grams are word sequences, and so are ours."""
    ws = ["ab", "c", "d", "e", "f", "a", "bc", "d", "e", "f"]
    assert _datatrove_ngram_signals(ws)[3] > 0  # datatrove's 5-gram duplicate count
    assert _our_ngram_signals(ws)[3] == 0


def test_word_count_skips_symbol_only_words_as_gopher_does():
    """n_words counts the words (CJK characters one by one) holding a letter or digit."""
    import random

    from curation.filter.quality import quality_signals, words

    rng = random.Random(7)
    alphabet = " \n_!?・゛ー中文a1²½…—-$\\{}()ⅣⅫ٣\u3000\u00a0"
    texts = ["x = 1 + 2 ; -- ... a_b _ __ 中文、。・ー", "・ ー !! 。"]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30))) for _ in range(3000)]
    settings = FilterSettings()
    for text in texts:
        expected = sum(1 for w in words(text) if any(c.isalnum() for c in w))
        assert quality_signals(text, "web", settings)["n_words"] == expected, text
    assert quality_signals(texts[0], "web", settings)["n_words"] == 7  # x 1 2 a_b 中 文 ー


# ---- TeX books: a math document has formulas (min_tex_formulas) --------------------------------

_MANUAL_PROSE = ("This package draws the symbols used in circuit diagrams. Load it in the preamble and "
                 "use the commands below inside a picture environment; every command takes the "
                 "position of the symbol and an optional label. ")


def _tex_book(tmp_path, name: str, n_formulas: int) -> dict:
    from collections import Counter

    from curation.extract.settings import ExtractSettings
    from curation.readers.books import read_file

    body = "\n\n".join(f"{_MANUAL_PROSE} The resistor at $x_{{{i}}} = {i}$ is drawn first." for i in range(n_formulas))
    path = tmp_path / name
    path.write_text("\\documentclass{article}\n\\begin{document}\n" + body + "\n\\end{document}\n")
    (doc,) = read_file(str(path), ExtractSettings(), Counter())
    return doc


def test_tex_books_need_min_tex_formulas_even_when_the_classifier_is_sure(tmp_path):
    few, many = _tex_book(tmp_path, "manual.tex", 12), _tex_book(tmp_path, "notes.tex", 25)
    assert (few["meta"]["n_inline"], many["meta"]["n_inline"]) == (12, 25)
    plain = _doc(ENGLISH_MATH.replace("$", "") * 2, source="books", origin="plain.txt")
    plain["meta"] = {"format": "txt"}
    rows = {r["origin"]: r for r in _run([few, many, plain]).batch.to_pylist()}
    assert rows[few["origin"]]["reason"] == "too_few_formulas"
    assert json.loads(rows[few["origin"]]["quality"])["tex_formulas"] == 12
    assert rows[many["origin"]]["reason"] != "too_few_formulas"
    # plain text marks no formula: the count says nothing there
    assert "tex_formulas" not in json.loads(rows["plain.txt"]["quality"])
    assert rows["plain.txt"]["reason"] != "too_few_formulas"
    # 0 turns the rule off
    off = {r["origin"]: r for r in _run([few], FilterSettings(min_tex_formulas=0)).batch.to_pylist()}
    assert off[few["origin"]]["reason"] != "too_few_formulas"


def test_non_symbol_word_count_equals_a_per_word_test():
    """Gopher counts words that are not pure punctuation; the one-regex count over the joined
    words must equal testing each word for a letter or digit (str.isalnum on any character)."""
    from curation.filter.quality import words

    texts = ["Let $x^2 + y_1 = 3$ -- see (1) ... and __init__ or _ or --> 5% ;",
             "函数 f(x)=x²，求 f(2)。・ 「答」 — ok", "", "   \n\n", "a\u00a0b … ← → ∑ ≤ 10"]
    for text in texts:
        expected = sum(any(c.isalnum() for c in w) for w in words(text))
        assert quality_signals(text, "web", FilterSettings())["n_words"] == expected, text
