"""The cluster-vs-local comparison, and (opt-in) the real standalone-cluster run.

The full run starts a master and two workers and runs the pipeline twice, which takes minutes on
two cores, so it runs only with CURATION_STANDALONE_TEST=1 (its output goes in the issue note);
the comparison it relies on is tested here on folders written by the test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

from compare_outputs import compare  # noqa: E402


def _write(out: Path, stage_rows: dict[str, list[tuple[str, str]]], rejects: dict[str, list[tuple[str, str, str]]]):
    for stage, rows in stage_rows.items():
        (out / "stages" / stage).mkdir(parents=True, exist_ok=True)
        # Split over two files, as two partitions would be.
        half = len(rows) // 2
        for i, part in enumerate((rows[:half], rows[half:])):
            table = pa.table({"id": [r[0] for r in part], "text": [r[1] for r in part]})
            pq.write_table(table, out / "stages" / stage / f"part-{i}.parquet")
    for stage, rows in rejects.items():
        (out / "rejects" / stage).mkdir(parents=True, exist_ok=True)
        table = pa.table({"id": [r[0] for r in rows], "text": [r[1] for r in rows], "reason": [r[2] for r in rows]})
        pq.write_table(table, out / "rejects" / stage / "part-0.parquet")


DOCS = [("a", "alpha $x^2$"), ("b", "beta"), ("c", "gamma 数学"), ("d", "delta")]


def test_equal_outputs_in_other_partitioning_compare_equal(tmp_path):
    _write(tmp_path / "A", {"extract": DOCS}, {"filter": [("e", "short", "too_few_words")]})
    _write(tmp_path / "B", {"extract": DOCS[::-1]}, {"filter": [("e", "short", "too_few_words")]})
    assert compare(tmp_path / "A", tmp_path / "B") == []


@pytest.mark.parametrize(
    "other_docs, other_reason",
    [
        (DOCS[:3], "too_few_words"),  # a document lost
        ([*DOCS[:3], ("d", "delta!")], "too_few_words"),  # same id, different text
        (DOCS, "lang_not_allowed"),  # same reject, different reason
    ],
)
def test_differences_are_reported(tmp_path, other_docs, other_reason):
    _write(tmp_path / "A", {"extract": DOCS}, {"filter": [("e", "short", "too_few_words")]})
    _write(tmp_path / "B", {"extract": other_docs}, {"filter": [("e", "short", other_reason)]})
    problems = compare(tmp_path / "A", tmp_path / "B")
    assert len(problems) == 1
    assert problems[0].startswith("stages/extract" if other_reason == "too_few_words" else "rejects/filter")


def test_empty_outputs_are_not_equal_by_accident(tmp_path):
    (tmp_path / "A").mkdir()
    (tmp_path / "B").mkdir()
    assert compare(tmp_path / "A", tmp_path / "B") == [f"{tmp_path / 'A'} holds no document at all"]


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("CURATION_STANDALONE_TEST") != "1", reason="set CURATION_STANDALONE_TEST=1")
def test_standalone_cluster_output_equals_local_mode():
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "standalone_cluster.sh")], cwd=REPO, capture_output=True, text=True, timeout=3000
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "OK: the standalone-cluster output equals the local-mode output" in proc.stderr
