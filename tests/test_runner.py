"""The runner's contract: accounting, markers, resume, fingerprints, skip, upstream checks.

The stages here are small ones defined in the test, so that the expected counts are known
exactly; the real stages are exercised end to end in test_sample_run.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.config import parse_config
from curation.schema import docs_to_batch, make_id
from curation.spark.runner import PipelineError, Runner, RunPlan, read_marker
from curation.spark.stage_api import FRAME_SPARK_SCHEMA, TransformResult, map_batch_stage, to_frame_batch
from curation.stage import StageOutput, with_reasons

# 30 documents: 20 web, 10 books; every third is short; two exact text duplicates.
DOCS = [
    {
        "id": make_id("web" if i < 20 else "books", f"doc-{i}"),
        "source": "web" if i < 20 else "books",
        "origin": f"doc-{i}",
        "text": "x" if i % 3 == 0 else f"document number {i} " * 5,
    }
    for i in range(30)
]
N_SHORT_WEB = len([i for i in range(20) if i % 3 == 0])  # 7
N_SHORT_BOOKS = len([i for i in range(20, 30) if i % 3 == 0])  # 3


def fake_extract(spark, df, ctx):
    batch = docs_to_batch([{**d, "reason": None} for d in DOCS] + [
        {"id": make_id("web", "bad"), "source": "web", "origin": "bad", "reason": "not_html:image/png"}
    ])
    frame = spark.createDataFrame([], FRAME_SPARK_SCHEMA)
    table = pa.Table.from_batches([to_frame_batch(batch)])

    def emit(_):
        yield from table.to_batches()

    frame = spark.range(1).coalesce(1).mapInArrow(emit, FRAME_SPARK_SCHEMA)
    return TransformResult(frame=frame, extra_stats={"files": 1})


class MinLength:
    name = "filter"

    def __call__(self, batch: pa.RecordBatch) -> StageOutput:
        texts = batch.column("text").to_pylist()
        reasons = ["too_short" if len(t or "") < 5 else None for t in texts]
        return StageOutput(with_reasons(batch, reasons))


def fake_filter(spark, df, ctx):
    return TransformResult(frame=map_batch_stage(df, MinLength()))


def make_cfg(tmp_path: Path, **overrides):
    (tmp_path / "in.txt").write_text("x")
    data = {"sources": [{"kind": "web", "paths": [str(tmp_path / "in.txt")]}], "output": str(tmp_path / "out")}
    data.update(overrides)
    return parse_config(data, tmp_path)


TRANSFORMS = {"extract": fake_extract, "filter": fake_filter}


def test_accounting_and_layout(spark, tmp_path):
    cfg = make_cfg(tmp_path)
    Runner(spark, cfg, TRANSFORMS).run(RunPlan.build(until="filter"))
    out = Path(cfg.output)
    stats = json.loads((out / "stats.json").read_text())
    assert stats["stages"]["extract"]["web"] == {"in": 21, "kept": 20, "rejected": 1, "reasons": {"not_html:image/png": 1}}
    assert stats["stages"]["filter"]["web"] == {"in": 20, "kept": 20 - N_SHORT_WEB, "rejected": N_SHORT_WEB,
                                                "reasons": {"too_short": N_SHORT_WEB}}
    assert stats["stages"]["filter"]["books"]["rejected"] == N_SHORT_BOOKS
    assert stats["stages_extra"]["extract"] == {"files": 1}
    kept = pq.read_table(out / "stages" / "filter")
    assert kept.num_rows == 30 - N_SHORT_WEB - N_SHORT_BOOKS
    rejects = pq.read_table(out / "rejects" / "filter")
    assert set(rejects.column("reason").to_pylist()) == {"too_short"}
    assert set(rejects.column("stage").to_pylist()) == {"filter"}
    # kept and rejected ids partition the input ids
    assert set(kept.column("id").to_pylist()) | set(rejects.column("id").to_pylist()) == {d["id"] for d in DOCS}
    assert read_marker(out, "filter")["docs_in"] == 30
    assert not (out / "_work").exists()  # scratch is removed once the stages succeed


def test_rerun_skips_complete_stages_and_config_change_redoes(spark, tmp_path):
    cfg = make_cfg(tmp_path)
    out = Path(cfg.output)
    Runner(spark, cfg, TRANSFORMS).run(RunPlan.build(until="filter"))
    first = {s: read_marker(out, s)["run_id"] for s in ("extract", "filter")}
    summary = Runner(spark, cfg, TRANSFORMS).run(RunPlan.build(until="filter"))
    assert summary == {"extract": "complete", "filter": "complete"}
    assert {s: read_marker(out, s)["run_id"] for s in ("extract", "filter")} == first

    changed = make_cfg(tmp_path, filter={"min_words": 7})
    summary = Runner(spark, changed, TRANSFORMS).run(RunPlan.build(until="filter"))
    assert summary["extract"] == "complete" and summary["filter"] != "complete"
    assert read_marker(out, "filter")["run_id"] != first["filter"]


def test_interrupted_stage_is_redone(spark, tmp_path):
    cfg = make_cfg(tmp_path)
    out = Path(cfg.output)
    Runner(spark, cfg, TRANSFORMS).run(RunPlan.build(until="filter"))
    expected = sorted(pq.read_table(out / "stages" / "filter").column("id").to_pylist())
    # A run killed mid-stage leaves a partial folder and no marker.
    (out / "stages" / "filter" / "_SUCCESS").unlink()
    for part in list((out / "stages" / "filter").glob("*.parquet"))[1:]:
        part.unlink()
    summary = Runner(spark, cfg, TRANSFORMS).run(RunPlan.build(until="filter"))
    assert summary["extract"] == "complete" and summary["filter"] != "complete"
    assert sorted(pq.read_table(out / "stages" / "filter").column("id").to_pylist()) == expected


def test_upstream_redone_invalidates_downstream(spark, tmp_path):
    cfg = make_cfg(tmp_path)
    out = Path(cfg.output)
    Runner(spark, cfg, TRANSFORMS).run(RunPlan.build(until="filter"))
    Runner(spark, cfg, TRANSFORMS).run(RunPlan.build(only="extract", force=True))
    summary = Runner(spark, cfg, TRANSFORMS).run(RunPlan.build(until="filter"))
    assert summary["extract"] == "complete" and summary["filter"] != "complete"
    assert read_marker(out, "filter")["input_run"] == read_marker(out, "extract")["run_id"]


def test_skip_passes_input_through(spark, tmp_path):
    cfg = make_cfg(tmp_path)
    out = Path(cfg.output)
    Runner(spark, cfg, TRANSFORMS).run(RunPlan.build(until="filter", skip={"filter"}))
    stats = json.loads((out / "stats.json").read_text())
    assert stats["stages"]["filter"]["web"] == {"in": 20, "kept": 20, "rejected": 0, "reasons": {}}
    assert read_marker(out, "filter")["skipped"] is True


def test_single_stage_without_upstream_fails_clearly(spark, tmp_path):
    cfg = make_cfg(tmp_path)
    with pytest.raises(PipelineError, match="needs the output of stage extract"):
        Runner(spark, cfg, TRANSFORMS).run(RunPlan.build(only="filter"))


class Exploding:
    name = "filter"

    def __call__(self, batch):
        raise FileNotFoundError("model not found: /nowhere/model.ftz")


def test_stage_failure_is_one_line_with_traceback_file(spark, tmp_path):
    cfg = make_cfg(tmp_path)
    transforms = {**TRANSFORMS, "filter": lambda spark, df, ctx: TransformResult(map_batch_stage(df, Exploding()))}
    with pytest.raises(PipelineError) as exc:
        Runner(spark, cfg, transforms).run(RunPlan.build(until="filter"))
    message = str(exc.value)
    assert "\n" not in message
    assert message.startswith("stage filter failed: FileNotFoundError: model not found: /nowhere/model.ftz")
    log_file = Path(cfg.output) / "logs" / "filter-error.log"
    assert log_file.is_file() and "Traceback" in log_file.read_text()
    assert read_marker(Path(cfg.output), "filter") is None


class DiskFull:
    name = "filter"

    def __call__(self, batch):
        raise OSError(28, "No space left on device")


def test_full_disk_is_named_plainly(spark, tmp_path):
    cfg = make_cfg(tmp_path)
    transforms = {**TRANSFORMS, "filter": lambda spark, df, ctx: TransformResult(map_batch_stage(df, DiskFull()))}
    with pytest.raises(PipelineError) as exc:
        Runner(spark, cfg, transforms).run(RunPlan.build(until="filter"))
    assert str(exc.value).startswith(f"stage filter failed: no space left on device under {cfg.output}")


def test_fingerprint_follows_the_math_model_files_not_only_their_path(tmp_path):
    """Retraining the model (or its head) in place changes what filter writes: the stages from
    extract on (the cascade gate scores with it too) must be redone, so the fingerprint hashes
    the files' content."""
    import shutil

    from curation.filter.math_classifier import DEFAULT_MODEL, head_path_for

    model = tmp_path / "m.ftz"
    shutil.copy(DEFAULT_MODEL, model)
    cfg = parse_config({"sources": [{"kind": "web", "paths": [str(tmp_path)]}], "output": str(tmp_path / "o"),
                        "filter": {"math_model": str(model)}}, tmp_path)
    before = cfg.fingerprint("extract")
    head = head_path_for(model)
    head.write_text("{}")
    with_head = cfg.fingerprint("extract")
    assert with_head != before
    head.write_text('{"changed": 1}')
    assert cfg.fingerprint("extract") != with_head
    assert cfg.fingerprint("extract") == cfg.fingerprint("extract")
