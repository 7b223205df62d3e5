"""Shared fixtures: one local Spark session for the whole test run (Delta's test-base habit)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus"
BENCHMARKS = SHARED / "benchmarks"
SAMPLE = REPO / "data" / "sample"

needs_shared = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is absent")


@pytest.fixture(scope="session")
def spark():
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    # Python workers unpickle functions defined in test modules by module name: let them import
    # tests/ the way pytest's rootdir-based import does.
    tests_dir = str(Path(__file__).resolve().parent)
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    os.environ["PYTHONPATH"] = os.pathsep.join([tests_dir, str(REPO), *paths])
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("curation-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "2")
        .config("spark.driver.memory", "2g")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "1000")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def sample_run(spark, tmp_path_factory):
    """The whole pipeline on the embedded sample, once per test session; returns the output folder."""
    from curation.config import load_config
    from curation.spark.runner import Runner, RunPlan

    cfg = load_config(REPO / "configs" / "sample.yaml")
    cfg.output = str(tmp_path_factory.mktemp("sample-run") / "out")
    Runner(spark, cfg).run(RunPlan.build())
    return Path(cfg.output)
