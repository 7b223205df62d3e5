"""Every reader on the embedded sample (data/sample/, always present: no skip).

Expected values come from the sample's README and from the raw files themselves (the WARC's DOM
through bench/bench_extract.py's independent formula labeller, the Posts.xml rows, the Parquet
columns), never from the readers' own output.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter

import pyarrow.parquet as pq
import pytest
from conftest import REPO, SAMPLE
from lxml import etree

from curation.extract.settings import ExtractSettings
from curation.readers import get_reader

S = ExtractSettings()
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_MOJIBAKE = re.compile(r"Ã[\x80-\xbf©¨§ ]|Â[\xa0-\xbf]|ì[\x80-\x9f]|\ufffd")


def _read(kind: str, path):
    counters: Counter = Counter()
    rows = list(get_reader(kind)(str(path), S, counters))
    return rows, counters


@pytest.fixture(scope="module")
def web():
    return _read("web", SAMPLE / "web" / "sample-web.warc.gz")


def test_web_sample_records_and_reasons(web):
    rows, counters = web
    assert len(rows) == 68  # README: 68 HTTP responses
    for wtype in ("warcinfo", "request", "metadata", "revisit"):
        assert counters[f"warc_skipped:{wtype}"] >= 1, wtype
    reasons = Counter(r["reason"] for r in rows)
    assert reasons["not_html:image/png"] == 1 and reasons["http_status:404"] == 1
    by_url = {r["origin"]: r for r in rows}
    assert by_url["https://maxima.sourceforge.io/docs/manual/maxima_999.html"]["reason"] == "http_status:404"
    # every kept row has text, a stable id and the record's URL
    for r in rows:
        if r["reason"] is None:
            assert r["text"].strip() and r["id"] and r["meta"]["warc_record_id"].startswith("<urn:uuid:")


def test_web_sample_languages_without_mojibake(web):
    rows, _ = web
    kept = {r["origin"]: r for r in rows if r["reason"] is None}
    korean = [r for u, r in kept.items() if "/docs/2.4/ko/" in u]
    chinese = [r for u, r in kept.items() if ".zh-cn." in u or "/zh-cn/" in u]
    french = [r for u, r in kept.items() if "/docs/2.4/fr/" in u]
    assert len(korean) >= 2 and len(chinese) >= 3 and len(french) >= 3
    for r in korean:  # served as EUC-KR
        assert len(_HANGUL.findall(r["text"])) > 50, r["origin"]
    for r in chinese:
        if "debian-reference" in r["origin"]:
            assert len(_CJK.findall(r["text"])) > 100, r["origin"]
    # (/fr/developer/API.html is served in English: "Available Languages: en")
    assert sum(bool(re.search(r"[éèàç]", r["text"])) for r in french) >= 3
    for r in kept.values():
        assert not _MOJIBAKE.search(r["text"]), (r["origin"], _MOJIBAKE.search(r["text"]).group(0))


def test_web_sample_math_retention_against_the_dom(web):
    """The bench's formula labeller (independent of curation/extract) on the sample's pages."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    sys.path.insert(0, str(REPO / "bench"))
    from bench_extract import _squash, dom_formulas, kept

    from curation.extract.charset import decode_html

    rows, _ = web
    text_of = {r["origin"]: r["text"] for r in rows if r["reason"] is None}
    found: Counter = Counter()
    hit: Counter = Counter()
    with open(SAMPLE / "web" / "sample-web.warc.gz", "rb") as fh:
        for rec in ArchiveIterator(fh, record_types=WarcRecordType.response, parse_http=True):
            url = rec.headers.get("WARC-Target-URI")
            if url not in text_of:
                continue
            html, _ = decode_html(rec.reader.read(), rec.http_headers.get("Content-Type"))
            squashed = _squash(text_of[url])
            for kind, spellings in dom_formulas(html):
                found[kind] += 1
                hit[kind] += kept(kind, spellings, squashed)
    assert found["mathjax"] >= 50 and found["img_alt"] >= 50 and found["plain"] >= 50, found
    for kind, n in found.items():
        assert hit[kind] >= 0.95 * n, (kind, hit[kind], n)


def test_web_contaminated_sample_keeps_inserted_text():
    rows, _ = _read("web", SAMPLE / "web" / "sample-contaminated.warc.gz")
    assert len(rows) == 6 and all(r["reason"] is None for r in rows)  # README: 6 pages
    text_of = {r["origin"]: re.sub(r"\s+", "", r["text"]) for r in rows}
    n = 0
    for line in open(SAMPLE / "labels" / "contaminated.jsonl", encoding="utf-8"):
        label = json.loads(line)
        if not label.get("inserted_text"):
            continue
        n += 1
        needle = re.sub(r"\s+", "", label["inserted_text"])[:60]
        assert needle in text_of[label["url"]], label["url"]
    assert n == 4  # README: 4 of the 6 carry an inserted test item


def test_books_sample():
    rows = {p.name: _read("books", p)[0] for p in sorted((SAMPLE / "books").glob("*.tex"))}
    assert set(rows) == {"testmath.tex", "tutorial-mf.tex", "parskip.tex"}
    (tm,) = rows["testmath.tex"]
    raw = (SAMPLE / "books" / "testmath.tex").read_text(encoding="utf-8")
    assert tm["reason"] is None and tm["meta"]["preamble_dropped"] is True
    assert "\\documentclass" not in tm["text"] and "\\maketitle" in tm["text"]
    for env in ("align", "gather", "multline", "equation"):  # math environments stay verbatim
        assert tm["text"].count(f"\\begin{{{env}") == raw.split("\\begin{document}", 1)[1].count(f"\\begin{{{env}"), env
    (mf,) = rows["tutorial-mf.tex"]
    assert mf["reason"] is None and mf["meta"]["n_inline"] > 100
    assert "Modular Forms" in mf["text"]
    (ps,) = rows["parskip.tex"]
    assert ps["reason"] is None and ps["meta"]["n_display"] == ps["meta"]["n_inline"] == 0


@pytest.mark.parametrize("site,n_questions", [("math.example", 60), ("python.example", 20)])
def test_forums_sample(site, n_questions):
    path = SAMPLE / "forums" / site / "Posts.xml"
    rows, _ = _read("forums", path)
    xml = {int(r.get("Id")): r.attrib for r in etree.parse(str(path)).getroot().iter("row")}
    questions = {i: a for i, a in xml.items() if a.get("PostTypeId") == "1"}
    assert len(rows) == n_questions == len(questions)
    for r in rows:
        assert r["reason"] is None
        q = questions[r["meta"]["question_id"]]
        assert r["origin"] == f"{site}/questions/{q['Id']}"
        assert r["meta"]["score"] == int(q["Score"]) and r["text"].startswith(q["Title"].strip())
        answers = [i for i, a in xml.items() if a.get("ParentId") == q["Id"] and a.get("PostTypeId") == "2"]
        assert sorted(r["meta"]["answer_ids"]) == sorted(answers)
        ids, scores = r["meta"]["answer_ids"], r["meta"]["answer_scores"]
        rest = 0
        if q.get("AcceptedAnswerId"):
            assert ids[0] == int(q["AcceptedAnswerId"]) and "Accepted answer:" in r["text"]
            rest = 1
        assert scores[rest:] == sorted(scores[rest:], reverse=True)
        assert r["meta"]["tags"] == re.findall(r"<([^<>]+)>", q.get("Tags", "")) or q.get("Tags", "").strip("|").split("|")


def test_code_sample():
    path = SAMPLE / "code" / "sample-code.parquet"
    rows, _ = _read("code", path)
    table = pq.read_table(path).to_pylist()
    assert len(rows) == len(table) == 50  # README: 50 files
    for r, src in zip(rows, table, strict=True):
        assert r["meta"]["license"] == src["license"] and r["meta"]["repo_name"] == src["repo_name"]
        if src["language"] == "Coq" or src["repo_name"] == "sympy/sympy":
            assert r["reason"] is None and r["text"] == src["content"], src["path"]
        elif r["reason"] is not None:
            assert r["reason"] == "not_math_relevant"
            assert not re.search(r"^\s*(from|import)\s+(sympy|numpy|scipy|math|cmath|fractions)\b",
                                 src["content"], re.M), src["path"]
    assert Counter(r["reason"] for r in rows)["not_math_relevant"] >= 1  # CPython files without math imports
