"""Throughput of the pipeline, or of one stage, on a given input.

    .venv/bin/python bench/bench_pipeline.py --config configs/sample.yaml [--input web=GLOB ...]
        [--until STAGE | --stage STAGE] [--cores 2] [--repeat 1]

Prints, per stage: documents in, seconds, documents/s and MB/s per core (MB of raw input files
for extract, MB of document text for the others), and the peak resident memory of the driver,
the JVM and the largest Python worker, sampled every 0.2 s. Spark's start-up is timed apart from
the work. Each stage is forced (no resume), so the numbers are for real work.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curation import STAGES
from curation.cli import _parse_inputs, setup_logging
from curation.config import load_config
from curation.inputs import expand_sources


class PeakMemory:
    """Peak RSS of this process, its JVM child, and Spark's Python workers (grandchildren)."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.peaks = {"driver_python": 0, "jvm": 0, "python_worker_max": 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            try:
                self.peaks["driver_python"] = max(self.peaks["driver_python"], me.memory_info().rss)
                for child in me.children(recursive=True):
                    name = " ".join(child.cmdline()[:3])
                    rss = child.memory_info().rss
                    key = "jvm" if "java" in name else "python_worker_max"
                    self.peaks[key] = max(self.peaks[key], rss)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
            time.sleep(self.interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def text_megabytes(spark, folder: Path) -> float:
    from pyspark.sql import functions as F

    row = spark.read.parquet(str(folder)).select(F.sum(F.length("text")).alias("n")).collect()[0]
    return (row["n"] or 0) / 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="configs/sample.yaml")
    ap.add_argument("--input", action="append", default=[])
    ap.add_argument("--until", choices=STAGES, default="shard")
    ap.add_argument("--stage", choices=STAGES, help="time only this stage (upstream runs first, untimed)")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--output", help="scratch output folder (default: a temporary one)")
    args = ap.parse_args()
    setup_logging(False)

    cfg = load_config(args.config)
    if args.input:
        cfg.sources = _parse_inputs(args.input)
    cfg.output = args.output or tempfile.mkdtemp(prefix="bench-pipeline-")
    cfg.spark.master = f"local[{args.cores}]"
    cfg.spark.progress_bar = False
    files = expand_sources(cfg.sources)
    raw_mb = sum(os.path.getsize(p) for _, p in files) / 1e6

    from curation.spark.runner import Runner, RunPlan, read_marker
    from curation.spark.session import build_session

    with PeakMemory() as mem:
        t0 = time.monotonic()
        spark = build_session(cfg.spark)
        spark.range(1).count()  # the JVM and the first Python worker are up
        startup = time.monotonic() - t0
        runner = Runner(spark, cfg)
        until = args.stage or args.until
        timed = [args.stage] if args.stage else list(STAGES[: STAGES.index(until) + 1])
        if args.stage and STAGES.index(args.stage) > 0:
            runner.run(RunPlan.build(until=STAGES[STAGES.index(args.stage) - 1]))
        rows = []
        for stage in timed:
            if stage == "report":
                continue
            runner.run(RunPlan.build(only=stage, force=True))
            info = read_marker(Path(cfg.output), stage)
            up = STAGES[STAGES.index(stage) - 1] if STAGES.index(stage) else None
            mb = raw_mb if up is None else text_megabytes(spark, Path(cfg.output) / "stages" / up)
            secs = info["elapsed_s"]
            rows.append({
                "stage": stage, "docs_in": info["docs_in"], "docs_kept": info["docs_kept"], "seconds": secs,
                "docs_per_s_per_core": info["docs_in"] / secs / args.cores,
                "mb_per_s_per_core": mb / secs / args.cores, "input_mb": mb,
            })
        spark.stop()

    print(f"input: {len(files)} files, {raw_mb:.2f} MB raw; cores: {args.cores}; output: {cfg.output}")
    print(f"spark start-up (not counted below): {startup:.1f} s")
    print(f"{'stage':<14}{'docs in':>9}{'kept':>8}{'seconds':>9}{'docs/s/core':>13}{'MB/s/core':>11}{'input MB':>10}")
    for r in rows:
        print(f"{r['stage']:<14}{r['docs_in']:>9}{r['docs_kept']:>8}{r['seconds']:>9.2f}"
              f"{r['docs_per_s_per_core']:>13.1f}{r['mb_per_s_per_core']:>11.3f}{r['input_mb']:>10.2f}")
    total = sum(r["seconds"] for r in rows)
    if rows:
        print(f"{'all stages':<14}{rows[0]['docs_in']:>9}{rows[-1]['docs_kept']:>8}{total:>9.2f}"
              f"{rows[0]['docs_in'] / total / args.cores:>13.1f}{raw_mb / total / args.cores:>11.3f}{raw_mb:>10.2f}")
    print("peak RSS (MB): " + ", ".join(f"{k} {v / 1e6:.0f}" for k, v in mem.peaks.items()))
    print(json.dumps({"startup_s": startup, "stages": rows, "peak_rss_bytes": mem.peaks}))


if __name__ == "__main__":
    main()
