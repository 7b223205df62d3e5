"""The whole pipeline on the embedded sample: accounting, layout, and a run killed midway."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curation import SOURCES
from curation.spark.runner import DOC_STAGES

REPO = Path(__file__).resolve().parents[1]


def _by_source(folder: Path) -> Counter:
    if not folder.is_dir() or not any(folder.glob("*.parquet")):
        return Counter()
    return Counter(pq.read_table(folder, columns=["source"]).column("source").to_pylist())


def test_every_stage_and_source_balances(sample_run):
    stats = json.loads((sample_run / "stats.json").read_text())
    assert list(stats["stages"]) == list(DOC_STAGES)
    for stage, per_source in stats["stages"].items():
        assert set(per_source) <= set(SOURCES), stage
        for source, entry in per_source.items():
            assert entry["in"] == entry["kept"] + entry["rejected"], (stage, source)
            assert entry["rejected"] == sum(entry["reasons"].values()), (stage, source)


def test_stats_agree_with_the_parquet_on_disk(sample_run):
    stats = json.loads((sample_run / "stats.json").read_text())
    for stage in DOC_STAGES:
        kept = _by_source(sample_run / "stages" / stage)
        rejected = _by_source(sample_run / "rejects" / stage)
        for source, entry in stats["stages"][stage].items():
            assert kept[source] == entry["kept"], (stage, source)
            assert rejected[source] == entry["rejected"], (stage, source)


def test_each_stage_consumes_the_previous_stages_output(sample_run):
    stats = json.loads((sample_run / "stats.json").read_text())["stages"]
    for up, down in itertools.pairwise(DOC_STAGES):
        for source, entry in stats[up].items():
            if entry["kept"]:
                assert stats[down][source]["in"] == entry["kept"], (up, down, source)


def test_every_source_reaches_extract_and_web_pages_are_rejected_with_reasons(sample_run):
    extract = json.loads((sample_run / "stats.json").read_text())["stages"]["extract"]
    assert set(extract) == set(SOURCES)
    # The sample holds one PNG and one 404 (data/sample/README.md): both must be rejected.
    assert extract["web"]["reasons"].get("not_html:image/png") == 1
    assert extract["web"]["reasons"].get("http_status:404") == 1
    rejects = pq.read_table(sample_run / "rejects" / "extract")
    assert all(rejects.column("reason").to_pylist())


def test_ids_are_unique_and_outputs_exist(sample_run):
    for stage in DOC_STAGES:
        ids = pq.read_table(sample_run / "stages" / stage, columns=["id"]).column("id").to_pylist()
        assert len(ids) == len(set(ids)), stage
        assert (sample_run / "stages" / stage / "_SUCCESS").is_file()
    assert (sample_run / "manifest.json").is_file()
    assert list((sample_run / "shards").glob("*.parquet"))


def _rows(output: Path, stage: str) -> set[tuple[str, str]]:
    table = pq.read_table(output / "stages" / stage, columns=["id", "text"])
    return set(zip(table.column("id").to_pylist(), table.column("text").to_pylist(), strict=True))


def _job(output: Path) -> list[str]:
    return [sys.executable, str(REPO / "jobs" / "clean.py"), "--config", str(REPO / "configs" / "sample.yaml"),
            "--output", str(output), "--until", "shard"]


@pytest.mark.slow
def test_killed_run_resumes_to_identical_output(sample_run, tmp_path):
    """Kill driver, JVM and workers in the middle of the filter stage; the rerun must finish with
    the same rows as the uninterrupted run."""
    out = tmp_path / "out"
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable}
    proc = subprocess.Popen(_job(out), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 900
    while not (out / "_work" / "filter").is_dir():
        assert proc.poll() is None, "the job ended before the filter stage started"
        assert time.monotonic() < deadline, "the filter stage never started"
        time.sleep(0.2)
    time.sleep(1.0)  # inside the stage: model loading or scoring
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "stages" / "filter" / "_SUCCESS").exists(), "killed too late to test resume"
    assert (out / "stages" / "extract" / "_SUCCESS").exists()
    extract_run = json.loads((out / "stages" / "extract" / "_SUCCESS").read_text())["run_id"]

    rerun = subprocess.run(_job(out), env=env, capture_output=True, text=True, timeout=1800)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "stage extract: complete" in rerun.stderr  # resumed, not redone
    assert json.loads((out / "stages" / "extract" / "_SUCCESS").read_text())["run_id"] == extract_run
    for stage in ("extract", "filter", "dedup", "decontaminate", "shard"):
        assert _rows(out, stage) == _rows(sample_run, stage), stage


def _rejects(output: Path) -> list[dict]:
    import pyarrow.dataset as ds

    return ds.dataset(output / "rejects", format="parquet").to_table(
        columns=["id", "origin", "stage", "reason", "meta"]).to_pylist()


def test_gap_chapter_pair_is_one_near_duplicate_cluster(sample_run):
    """data/sample holds GAP's ref/chap17 with math as Unicode text and as MathJax (README)."""
    pair = {"https://www.gap-system.org/Manuals/doc/ref/chap17.html",
            "https://www.gap-system.org/Manuals/doc/ref/chap17_mj.html"}
    dedup_in = pq.read_table(sample_run / "stages" / "filter", columns=["id", "origin"]).to_pylist()
    ids = {r["origin"]: r["id"] for r in dedup_in if r["origin"] in pair}
    assert set(ids) == pair, "both chapters must survive extraction and filtering"
    dropped = [r for r in _rejects(sample_run) if r["stage"] == "dedup" and r["origin"] in pair]
    assert len(dropped) == 1
    survivor = (pair - {dropped[0]["origin"]}).pop()
    assert dropped[0]["reason"] == f"near_duplicate_of:{ids[survivor]}"


def test_no_inserted_benchmark_item_reaches_the_shards(sample_run):
    labels = [json.loads(line) for line in (REPO / "data/sample/labels/contaminated.jsonl").open()]
    dirty = {r["url"]: r for r in labels if r["benchmark"]}
    assert len(dirty) == 4
    shards = pq.read_table(sample_run / "shards", columns=["origin"]).column("origin").to_pylist()
    assert not set(shards) & set(dirty)
    # Those that reach the decontamination stage are caught there, with the right item.
    decon_in = set(pq.read_table(sample_run / "stages" / "dedup", columns=["origin"]).column("origin").to_pylist())
    caught = {r["origin"]: r["reason"] for r in _rejects(sample_run) if r["stage"] == "decontaminate"}
    for url in set(dirty) & decon_in:
        label = dirty[url]
        assert caught.get(url, "").startswith(f"contaminated:{label['benchmark']}:"), url


def test_cascade_rejections_carry_their_signals(sample_run):
    gated = [r for r in _rejects(sample_run) if r["reason"] == "cascade_not_math"]
    assert gated, "the sample's non-math web pages should stop at the gate"
    for row in gated:
        signals = json.loads(row["meta"])["cascade"]
        assert signals["passed_by"] is None and signals["fast_score"] is not None
    # Pages with MathJax markup pass the gate on markup alone (SciPy pages in the sample).
    kept = pq.read_table(sample_run / "stages" / "extract", columns=["origin", "meta"]).to_pylist()
    scipy = [json.loads(r["meta"])["cascade"] for r in kept if "docs.scipy.org" in r["origin"]]
    assert any(s["passed_by"] == "markup" for s in scipy)
