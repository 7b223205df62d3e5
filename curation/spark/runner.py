"""Run stages in order, write each one's output, rejects, stats and marker, and resume.

Layout under the output folder (DESIGN.md, "Output folder"):

    stages/<stage>/part-*.parquet + _SUCCESS   kept documents of each stage
    rejects/<stage>/part-*.parquet             rejected documents with stage and reason
    stats/<stage>.json, stats.json             the funnel per stage and source
    shards/, manifest.json                     written by the shard stage
    report/                                    written by the report stage
    _work/<stage>/                             scratch (checkpoints), removed on success

A stage is complete when its ``_SUCCESS`` marker exists, was made with the same configuration
fingerprint, and consumed the run of the upstream stage that is on disk now. Anything else is
redone; the write is an overwrite, so a run killed halfway leaves nothing that survives a rerun.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import re
import shutil
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from curation import STAGES
from curation.config import ConfigError, PipelineConfig
from curation.schema import DOC_COLUMNS
from curation.spark.stage_api import StageContext, TransformResult, map_batch_stage, spark_schema
from curation.stage import PassThrough
from curation.stats import funnel, merge_stats, reason_key, write_json_atomic

log = logging.getLogger("curation")

MARKER = "_SUCCESS"
DOC_STAGES: tuple[str, ...] = tuple(s for s in STAGES if s != "report")


# Storage failures arrive wrapped in pages of JVM text; name them plainly.
_DISK_ERRORS: tuple[tuple[str, str], ...] = (
    ("No space left on device", "no space left on device"),
    ("Disk quota exceeded", "disk quota exceeded"),
    ("Read-only file system", "read-only file system"),
)


class PipelineError(Exception):
    """A run-time precondition failed (for example an upstream stage is missing)."""


@dataclass
class RunPlan:
    """Which stages this invocation is responsible for, and how."""

    stages: list[str]
    skip: set[str] = field(default_factory=set)
    force: bool = False

    @classmethod
    def build(cls, until: str | None = None, skip: set[str] | None = None, only: str | None = None,
              force: bool = False) -> RunPlan:
        if only:
            return cls([only], skip or set(), force)
        last = STAGES.index(until) + 1 if until else len(STAGES)
        return cls(list(STAGES[:last]), skip or set(), force)


def _marker_path(output: Path, stage: str) -> Path:
    folder = output / ("report" if stage == "report" else f"stages/{stage}")
    return folder / MARKER


def read_marker(output: Path, stage: str) -> dict[str, Any] | None:
    path = _marker_path(output, stage)
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, OSError):
        return None  # a torn marker means the stage is not done


def stage_fingerprint(cfg: PipelineConfig, stage: str, skip: set[str]) -> str:
    skipped_upto = sorted(s for s in skip if STAGES.index(s) <= STAGES.index(stage))
    return f"{cfg.fingerprint(stage)}-skip:{','.join(skipped_upto) or 'none'}"


def _upstream(stage: str) -> str | None:
    idx = STAGES.index(stage)
    return STAGES[idx - 1] if idx > 0 else None


def is_complete(cfg: PipelineConfig, output: Path, stage: str, skip: set[str]) -> bool:
    marker = read_marker(output, stage)
    if not marker or marker.get("fingerprint") != stage_fingerprint(cfg, stage, skip):
        return False
    up = _upstream(stage)
    if up is None:
        return True
    up_marker = read_marker(output, up)
    return bool(up_marker) and marker.get("input_run") == up_marker.get("run_id")


def _load_transform(stage: str):
    return importlib.import_module(f"curation.spark.{stage}").transform


_FUNNEL_SCHEMA = pa.schema([pa.field("source", pa.string()), pa.field("reason_key", pa.string()),
                            pa.field("_counters", pa.string()), pa.field("count", pa.int64())])


def _count_groups(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """One task's rows counted by (source, reason key, counters object)."""
    totals: Counter[tuple[str | None, str | None, str | None]] = Counter()
    for batch in batches:
        reasons = [reason_key(r) if r is not None else None for r in batch.column("reason").to_pylist()]
        totals.update(zip(batch.column("source").to_pylist(), reasons, batch.column("_counters").to_pylist(),
                          strict=True))
    if totals:
        keys = list(totals)
        yield pa.RecordBatch.from_arrays(
            [pa.array([k[0] for k in keys], pa.string()), pa.array([k[1] for k in keys], pa.string()),
             pa.array([k[2] for k in keys], pa.string()), pa.array(list(totals.values()), pa.int64())],
            schema=_FUNNEL_SCHEMA)


def _funnel_and_counters(frame: DataFrame) -> tuple[dict[str, dict[str, Any]], dict[str, int]]:
    """The per-source funnel and the summed counters of a stage frame, from one narrow pass.

    Document rows have ``_counters`` null and counter rows have every document column null, so
    counting rows by (source, reason key, ``_counters``) separates them: the funnel is read off the
    groups with a null ``_counters``, and each distinct counters object counts ``count`` times.
    Each task counts its own rows in Python (``curation.stats.reason_key``) and the driver adds the
    small tables up: one job without a shuffle, where a ``groupBy`` ran a map job and a result
    job, and the first of a run paid ~0.8 s of shuffle warm-up.
    """
    groups: Counter[tuple[str | None, str | None, str | None]] = Counter()
    for r in frame.select("source", "reason", "_counters").mapInArrow(_count_groups, spark_schema(_FUNNEL_SCHEMA)).collect():
        groups[(r["source"], r["reason_key"], r["_counters"])] += r["count"]
    stage_funnel = funnel((src, key, n) for (src, key, ctr), n in groups.items() if ctr is None)
    counters: dict[str, int] = {}
    for (_, _, ctr), n in groups.items():
        if ctr is not None:
            for key, value in json.loads(ctr).items():
                counters[key] = counters.get(key, 0) + int(value) * n
    return stage_funnel, counters


class Runner:
    def __init__(self, spark: SparkSession, cfg: PipelineConfig, transforms: dict[str, Any] | None = None):
        self.spark = spark
        self.cfg = cfg
        self.output = Path(cfg.output)
        # Tests may swap a stage's transform; production loads curation.spark.<stage>.transform.
        self._transforms = transforms or {}
        # Schema of the kept rows each stage wrote in this process. Reading them back with it
        # skips Parquet schema inference, which is a Spark job of its own (one per read).
        self._written: dict[str, StructType] = {}

    def transform_for(self, stage: str):
        return self._transforms.get(stage) or _load_transform(stage)

    # -- orchestration ------------------------------------------------------------------------

    def run(self, plan: RunPlan) -> dict[str, Any]:
        self.output.mkdir(parents=True, exist_ok=True)
        summary: dict[str, Any] = {}
        for stage in plan.stages:
            if stage == "report":
                summary[stage] = self._run_report(plan)
                continue
            fp = stage_fingerprint(self.cfg, stage, plan.skip)
            if not plan.force and is_complete(self.cfg, self.output, stage, plan.skip):
                log.info("stage %s: complete (fingerprint %s), skipping", stage, fp)
                summary[stage] = "complete"
                continue
            self._check_upstream(stage, plan)
            try:
                summary[stage] = self._run_stage(stage, fp, skipped=stage in plan.skip)
            except (PipelineError, ConfigError):
                raise
            except Exception as err:
                raise PipelineError(self._failure_message(stage, err)) from err
        merge_stats(self.output)
        with contextlib.suppress(OSError):  # scratch of finished stages is gone; drop the parent
            (self.output / "_work").rmdir()
        return summary

    def _failure_message(self, stage: str, err: BaseException) -> str:
        """One line for the user; the whole traceback (Spark's runs to pages) goes to a file."""
        text = str(err)
        disk = next((msg for pattern, msg in _DISK_ERRORS if pattern in text), None)
        path = self.output / "logs" / f"{stage}-error.log"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(traceback.format_exception(err)), encoding="utf-8")
            where = f"traceback in {path}"
        except OSError:  # the disk that failed the stage may refuse the log too
            where = "no traceback written: the output folder is not writable"
        if disk:
            return f"stage {stage} failed: {disk} under {self.output} ({where})"
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        # A Python worker's error ends with "ExceptionType: message"; Spark wraps it in JVM text.
        last = next((ln for ln in reversed(lines) if re.match(r"^[A-Za-z_.]+(Error|Exception)\b", ln)),
                    lines[-1] if lines else type(err).__name__)
        if not re.match(r"^[A-Za-z_.]+(Error|Exception)\b", last):
            last = f"{type(err).__name__}: {last}"
        return f"stage {stage} failed: {last[:500]} ({where})"

    def _check_upstream(self, stage: str, plan: RunPlan) -> None:
        up = _upstream(stage)
        if up is None:
            return
        if not is_complete(self.cfg, self.output, up, plan.skip):
            raise PipelineError(
                f"stage {stage} needs the output of stage {up}, which is missing or was made with "
                f"another configuration under {self.output}; run {up} first"
            )

    # -- one document stage -------------------------------------------------------------------

    def _read_kept(self, stage: str) -> DataFrame:
        reader = self.spark.read
        if stage in self._written:
            reader = reader.schema(self._written[stage])
        return reader.parquet(str(self.output / "stages" / stage))

    def _input(self, stage: str) -> DataFrame | None:
        up = _upstream(stage)
        if up is None:
            return None
        return self._read_kept(up)

    def _run_stage(self, stage: str, fingerprint: str, skipped: bool) -> dict[str, Any]:
        started = time.monotonic()
        stage_dir = self.output / "stages" / stage
        work_dir = self.output / "_work" / stage
        _marker_path(self.output, stage).unlink(missing_ok=True)
        shutil.rmtree(work_dir, ignore_errors=True)
        work_dir.mkdir(parents=True, exist_ok=True)
        up = _upstream(stage)
        ctx = StageContext(cfg=self.cfg, stage=stage, output_dir=self.output, work_dir=work_dir,
                           input_path=self.output / "stages" / up if up else None)
        self.spark.sparkContext.setJobGroup(stage, f"stage {stage}")
        log.info("stage %s: started%s", stage, " (skipped: passing input through)" if skipped else "")

        df = self._input(stage)
        if skipped:
            if df is None:
                raise PipelineError("the extract stage cannot be skipped: every other stage reads its output")
            result = TransformResult(frame=map_batch_stage(df, PassThrough(stage)))
        else:
            result = self.transform_for(stage)(self.spark, df, ctx)

        # Persisted because the frame is read three times (kept rows, rejects, one aggregate) and
        # recomputing it would re-run extraction or model inference. DISK_ONLY: corpus-sized.
        frame = result.frame if result.frame.is_cached else result.frame.persist(StorageLevel.DISK_ONLY)
        docs = frame.where(F.col("_counters").isNull())
        kept = docs.where(F.col("reason").isNull()).select(*DOC_COLUMNS)
        self._written.pop(stage, None)
        kept.write.mode("overwrite").parquet(str(stage_dir))
        self._written[stage] = kept.schema
        log.info("stage %s: kept rows written (%.1f s)", stage, time.monotonic() - started)
        rejected = docs.where(F.col("reason").isNotNull()).select(
            *DOC_COLUMNS, F.lit(stage).alias("stage"), "reason"
        )
        rejected.write.mode("overwrite").parquet(str(self.output / "rejects" / stage))
        log.info("stage %s: rejects written (%.1f s)", stage, time.monotonic() - started)

        stage_funnel, counters = _funnel_and_counters(frame)
        extra = dict(result.extra_stats)
        if counters:
            extra["counters"] = dict(sorted(counters.items()))
        if result.finalize is not None:
            extra.update(result.finalize(self._read_kept(stage)) or {})
        frame.unpersist()

        elapsed = time.monotonic() - started
        n_in = sum(e["in"] for e in stage_funnel.values())
        n_kept = sum(e["kept"] for e in stage_funnel.values())
        run_info = {
            "run_id": uuid.uuid4().hex,
            "fingerprint": fingerprint,
            "input_run": (read_marker(self.output, _upstream(stage)) or {}).get("run_id") if _upstream(stage) else None,
            "skipped": skipped,
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "elapsed_s": round(elapsed, 3),
            "docs_in": n_in,
            "docs_kept": n_kept,
            "docs_per_s": round(n_in / elapsed, 2) if elapsed > 0 else None,
        }
        write_json_atomic(self.output / "stats" / f"{stage}.json",
                          {"funnel": stage_funnel, "extra": extra, "run": run_info})
        merge_stats(self.output)
        shutil.rmtree(work_dir, ignore_errors=True)
        write_json_atomic(_marker_path(self.output, stage), run_info)  # last: the stage is done
        log.info(
            "stage %s: %d in, %d kept, %d rejected, %.1f docs/s, %.1f s",
            stage, n_in, n_kept, n_in - n_kept, run_info["docs_per_s"] or 0.0, elapsed,
        )
        return run_info

    # -- the report ---------------------------------------------------------------------------

    def _run_report(self, plan: RunPlan) -> dict[str, Any] | str:
        if "report" in plan.skip:
            log.info("stage report: skipped")
            return "skipped"
        fp = stage_fingerprint(self.cfg, "report", plan.skip)
        if not plan.force and is_complete(self.cfg, self.output, "report", plan.skip):
            log.info("stage report: complete, skipping")
            return "complete"
        self._check_upstream("report", plan)
        started = time.monotonic()
        merge_stats(self.output)
        work_dir = self.output / "_work" / "report"
        work_dir.mkdir(parents=True, exist_ok=True)
        ctx = StageContext(cfg=self.cfg, stage="report", output_dir=self.output, work_dir=work_dir)
        build = self._transforms.get("report") or importlib.import_module("curation.spark.report").build
        info = build(self.spark, ctx) or {}
        shutil.rmtree(work_dir, ignore_errors=True)
        run_info = {
            "run_id": uuid.uuid4().hex,
            "fingerprint": fp,
            "input_run": (read_marker(self.output, "shard") or {}).get("run_id"),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "elapsed_s": round(time.monotonic() - started, 3),
            **{k: v for k, v in info.items() if isinstance(v, str | int | float)},
        }
        write_json_atomic(_marker_path(self.output, "report"), run_info)
        log.info("stage report: written to %s in %.1f s", self.output / "report", run_info["elapsed_s"])
        return run_info
