"""Compressed text files and JSON Lines with bad lines (curation/text_files.py)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa
import pytest

from curation.text_files import json_lines, open_text

LINES = '\ufeff{"a": 1}\n\n[1, 2]\n{"a": \n"text"\n{"b": "é"}\n'


@pytest.mark.parametrize("suffix", ["jsonl", "jsonl.gz", "JSONL.ZST"])
def test_open_text_reads_plain_gzip_and_zstd_and_drops_the_bom(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"set.{suffix}"
    data = LINES.encode("utf-8")
    if suffix.endswith("gz"):
        path.write_bytes(gzip.compress(data))
    elif suffix.lower().endswith("zst"):
        with pa.CompressedOutputStream(str(path), "zstd") as out:
            out.write(data)
    else:
        path.write_bytes(data)
    with open_text(path) as fh:
        got = list(json_lines(fh))
    assert [(ln.number, ln.record, ln.problem) for ln in got] == [
        (1, {"a": 1}, None),  # the byte-order mark is gone
        (3, None, "not_object"),
        (4, None, "not_json"),
        (5, None, "not_object"),
        (6, {"b": "é"}, None),
    ]
    assert got[1].detail == "a JSON list" and got[1].excerpt == "[1, 2]"
    assert got[2].detail == "Expecting value" and got[3].detail == "a JSON str"


def test_open_text_errors_setting(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(b"ok \xff\n")
    with open_text(path, errors="replace") as fh:
        assert fh.read() == "ok \ufffd\n"
    with open_text(path) as fh, pytest.raises(UnicodeDecodeError):
        fh.read()
