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
    assert rows[-1]["reason"] == "bad_json_line"


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


LEAN = "theorem t : 1 + 1 = 2 := rfl\n"


def _jsonl(rows: list) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def test_json_lines_bad_lines_are_rejected_alone_and_reading_goes_on(tmp_path):
    """A broken line, a BOM, a non-object line or the .json suffix used to lose the rest of the file."""
    good = [{"path": f"f{i}.lean", "language": "Lean", "content": LEAN} for i in range(4)]
    p = tmp_path / "mixed.jsonl"
    p.write_text("\ufeff" + _jsonl(good[:1]) + '{"content": "theorem t\nnull\n[1, 2]\n' + _jsonl(good[1:]),
                 encoding="utf-8")
    rows = list(read_file(str(p), S, Counter()))
    assert [r["reason"] for r in rows] == \
        [None, "bad_json_line", "json_line_not_object", "json_line_not_object", None, None, None]
    assert [r["meta"]["at"] for r in rows[1:4]] == ["line@2", "line@3", "line@4"]
    assert len({r["id"] for r in rows}) == len(rows)
    smol = tmp_path / "data.json"  # the-stack-smol: JSON Lines under .json
    smol.write_text(_jsonl(good))
    array = tmp_path / "export.json"  # one JSON array of records
    array.write_text(json.dumps([*good, "not a record"], indent=1))
    assert [r["reason"] for r in read_file(str(smol), S, Counter())] == [None] * 4
    assert [r["reason"] for r in read_file(str(array), S, Counter())] == [None] * 4 + ["json_item_not_object"]


def test_proof_pile_nested_meta_and_zstd(tmp_path, monkeypatch):
    """proof-pile-2 / AlgebraicStack: {text, meta: {lang, max_stars_repo_path, ...}}, as .jsonl.zst."""
    recs = [{"text": LEAN, "meta": {"lang": "lean", "max_stars_repo_path": "A.lean", "max_stars_repo_name": "m/l"}},
            {"text": LEAN, "meta": json.dumps({"lang": "lean", "max_stars_repo_path": "B.lean"})}]
    p = tmp_path / "algebraic_stack_lean_0000.jsonl.zst"
    with pa.CompressedOutputStream(str(p), "zstd") as out:
        out.write(_jsonl(recs).encode())
    rows = list(read_file(str(p), S, Counter()))
    assert [r["reason"] for r in rows] == [None, None]
    assert [r["origin"] for r in rows] == ["m/l/A.lean", "B.lean"]
    assert rows[0]["meta"]["language"] == "lean" and rows[0]["text"] == LEAN
    class NoZstd:  # a pyarrow build without the codec (pa.Codec itself is immutable)
        @staticmethod
        def is_available(name: str) -> bool:
            return name != "zstd"

    monkeypatch.setattr(pa, "Codec", NoZstd)
    [row] = read_file(str(p), S, Counter())
    assert row["reason"] == "read_error:ZstdUnavailable" and "zstd codec" in row["meta"]["error"]


def test_stack_v1_v2_licences_and_origin(tmp_path):
    p = tmp_path / "stack.parquet"
    pq.write_table(pa.Table.from_pylist([
        {"lang": "Lean", "max_stars_repo_name": "a/b", "max_stars_repo_path": "A.lean",
         "max_stars_repo_licenses": ["Apache-2.0"], "detected_licenses": None, "license_type": None,
         "repo_name": None, "path": None, "language": None, "content": LEAN},
        {"lang": None, "max_stars_repo_name": None, "max_stars_repo_path": None, "max_stars_repo_licenses": None,
         "detected_licenses": ["MIT", "BSD-3-Clause"], "license_type": "permissive",
         "repo_name": "x/y", "path": "/src/Foo.lean", "language": "Lean", "content": LEAN},
        {"lang": None, "max_stars_repo_name": None, "max_stars_repo_path": None, "max_stars_repo_licenses": None,
         "detected_licenses": [], "license_type": "no_license",
         "repo_name": "x/y", "path": "/src/Bar.lean", "language": "Lean", "content": LEAN},
    ]), p)
    rows = list(read_file(str(p), S, Counter()))
    assert [r["meta"]["license"] for r in rows] == ["Apache-2.0", "MIT,BSD-3-Clause", "no_license"]
    assert [r["origin"] for r in rows] == ["a/b/A.lean", "x/y/src/Foo.lean", "x/y/src/Bar.lean"]


def test_ambiguous_extension_needs_math_content(tmp_path):
    """No language column (StarCoderData): .v/.ml/.mm/.m are also Verilog, OCaml, Objective-C(++)."""
    files = {
        "alu.v": "module alu(input a, output b);\n assign b = ~a;\nendmodule\n",
        "main.ml": "let () = print_endline \"hello\"\n",
        "View.mm": "#import <UIKit/UIKit.h>\n@implementation V\n@end\n",
        "App.m": "#import <Foundation/Foundation.h>\nint main() { return inv(0); }\n",
        "Nat.v": "Require Import Arith.\nLemma l : 1 + 1 = 2.\nProof. reflexivity. Qed.\n",
        "sum.ml": "let SUM_LEMMA = prove\n (`!n. n + 0 = n`,\n  ARITH_TAC);;\n",
        "set.mm": "$( Propositional calculus $)\n  wi $a wff ( ph -> ps ) $.\n",
        "solve.m": "% roots of a quadratic\nx = solve(a*x^2 + b*x + c);\n",
    }
    p = tmp_path / "train-00000.parquet"
    pq.write_table(pa.Table.from_pylist([{"max_stars_repo_path": k, "content": v} for k, v in files.items()]), p)
    settings = ExtractSettings(code_languages=["coq", "hol light", "metamath", "matlab"])
    rows = list(read_file(str(p), settings, Counter()))
    assert [r["meta"]["language"] for r in rows] == [None] * 4 + ["coq", "hol light", "metamath", "matlab"]
    assert [r["reason"] for r in rows] == ["language_not_kept:unknown"] * 4 + [None] * 4


def test_ids_differ_for_same_named_shards_in_two_folders(tmp_path):
    """Rows without repo/path: the id used to hang on the basename and the row number only."""
    ids = []
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        p = tmp_path / folder / "train-00000.parquet"
        pq.write_table(pa.Table.from_pylist([{"language": "Lean", "content": LEAN + f"-- {folder}\n"}]), p)
        [row] = read_file(str(p), S, Counter())
        ids.append(row["id"])
    assert ids[0] != ids[1]
    assert ids[0] == next(read_file(str(tmp_path / "a" / "train-00000.parquet"), S, Counter()))["id"]


@needs_shared
def test_corpus_math_vs_nonmath():
    def kept(name):
        rows = list(read_file(str(CORPUS / "code" / name), S, Counter()))
        return sum(r["reason"] is None for r in rows) / len(rows)

    assert kept("coq-stdlib.parquet") == 1.0
    assert kept("python-sympy.parquet") >= 0.85
    assert kept("python-stdlib.parquet") <= 0.1
