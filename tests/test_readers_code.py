"""Code reader: The Stack-style Parquet/JSONL, language list and math relevance."""

from __future__ import annotations

import json
from collections import Counter

import pyarrow as pa
import pyarrow.parquet as pq
from conftest import CORPUS, needs_shared

from curation.extract.settings import ExtractSettings
from curation.readers.code import read_file

S = ExtractSettings()
ROWS = [
    {"repo_name": "a/b", "path": "x.py", "language": "Python", "license": "MIT", "content": "import numpy as np\nprint(np.eye(3))\n"},
    {"repo_name": "a/b", "path": "web.py", "language": "Python", "license": "MIT", "content": "import flask\napp = flask.Flask(__name__)\n"},
    {"repo_name": "c/d", "path": "T.lean", "language": "Lean", "license": "Apache-2.0", "content": "theorem t : 1 + 1 = 2 := rfl\n"},
    {"repo_name": "e/f", "path": "m.go", "language": "Go", "license": "BSD", "content": "package main\n"},
    {"repo_name": "g/h", "path": "n.ipynb", "language": "Jupyter Notebook", "license": "MIT",
     "content": json.dumps({"cells": [{"cell_type": "markdown", "source": ["We solve $x^2=2$."]},
                                      {"cell_type": "code", "source": "import sympy\nsympy.solve('x**2-2')"}]})},
    {"repo_name": "g/h", "path": "big.v", "language": "Coq", "license": "MIT", "content": "(* x *)" * 200_000},
]


def test_parquet_languages_relevance_license(tmp_path):
    p = tmp_path / "stack.parquet"
    pq.write_table(pa.Table.from_pylist(ROWS), p)
    rows = list(read_file(str(p), S, Counter()))
    reasons = [r["reason"] for r in rows]
    assert reasons == [None, "not_math_relevant", None, "language_not_kept:go", None, "too_large"]
    assert rows[2]["meta"]["license"] == "Apache-2.0" and rows[2]["origin"] == "c/d/T.lean"
    assert "We solve $x^2=2$." in rows[4]["text"] and "```\nimport sympy" in rows[4]["text"]
    assert len({r["id"] for r in rows}) == len(rows)


def test_jsonl_and_configurable_languages(tmp_path):
    p = tmp_path / "stack.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in ROWS[:4]) + "\n{broken")
    rows = list(read_file(str(p), ExtractSettings(code_languages=["go"]), Counter()))
    assert [r["reason"] for r in rows[:4]] == ["language_not_kept:python"] * 2 + ["language_not_kept:lean", None]
    assert rows[-1]["reason"].startswith("read_error:")


def test_other_layouts_code_or_text_column_and_binary_content(tmp_path):
    """codeparrot/github-code names the column ``code``; raw-blob dumps store bytes."""
    p = tmp_path / "github_code.parquet"
    pq.write_table(pa.Table.from_pylist([
        {"repo_name": "a/b", "path": "x.py", "language": "Python", "code": "import sympy\nsympy.symbols('x')\n"},
        {"repo_name": "a/b", "path": "y.py", "language": "Python", "code": "print('hi')\n"},
    ]), p)
    assert [r["reason"] for r in read_file(str(p), S, Counter())] == [None, "not_math_relevant"]
    blobs = tmp_path / "blobs.parquet"
    pq.write_table(pa.Table.from_pylist([
        {"path": "T.lean", "language": "Lean", "content": b"theorem t : 2 = 2 := rfl\n"},
        {"path": "U.lean", "language": "Lean", "content": b"\xff\xfe not utf-8 \xc3"},
    ]), blobs)
    rows = list(read_file(str(blobs), S, Counter()))
    assert [r["reason"] for r in rows] == [None, "undecodable"]
    assert rows[0]["text"].startswith("theorem t")


def test_parquet_without_a_source_column_is_one_clear_reject(tmp_path):
    p = tmp_path / "ids_only.parquet"
    pq.write_table(pa.Table.from_pylist([{"blob_id": "ab12", "path": "x.py"}] * 3), p)
    rows = list(read_file(str(p), S, Counter()))
    assert len(rows) == 1 and rows[0]["text"] is None
    assert rows[0]["reason"] == "read_error:NoCodeColumn"
    assert "no source-code column" in rows[0]["meta"]["error"] and "blob_id" in rows[0]["meta"]["error"]


@needs_shared
def test_corpus_math_vs_nonmath():
    def kept(name):
        rows = list(read_file(str(CORPUS / "code" / name), S, Counter()))
        return sum(r["reason"] is None for r in rows) / len(rows)

    assert kept("coq-stdlib.parquet") == 1.0
    assert kept("python-sympy.parquet") >= 0.85
    assert kept("python-stdlib.parquet") <= 0.1
