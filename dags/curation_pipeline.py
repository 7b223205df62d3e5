"""Airflow DAG: the curation pipeline, one SparkSubmitOperator task per stage, in a chain.

    extract -> filter -> dedup -> decontaminate -> shard -> report

Each task submits ``jobs/<stage>.py --config <params.config> [--output <params.output>]``, which
runs only that stage and reads the previous stage's output. Tasks are idempotent: the runner skips
a stage whose ``_SUCCESS`` marker carries the same configuration fingerprint, so a retry or a
cleared task redoes only unfinished work (pass ``force`` to redo it anyway).

Airflow lives in its own virtual environment (.venv-airflow, see scripts/setup_airflow.sh): the
Spark provider installs ``pyspark-client``, which overwrites the full pyspark's files. The
operator therefore runs the PIPELINE's spark-submit, found through PATH (the provider accepts no
Spark home): ``scripts/`` (whose ``spark-submit`` wrapper sets SPARK_HOME, PYSPARK_PYTHON and the
quiet log4j config) comes first, then the pipeline venv's ``bin/``.

Deploying elsewhere: set CURATION_REPO (the checkout with jobs/ and scripts/) and CURATION_VENV
(the pipeline's virtual environment) in the Airflow workers' environment.
"""

from __future__ import annotations

import itertools
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk import DAG, Param

STAGES: tuple[str, ...] = ("extract", "filter", "dedup", "decontaminate", "shard", "report")

REPO = Path(os.environ.get("CURATION_REPO", Path(__file__).resolve().parents[1]))
VENV = Path(os.environ.get("CURATION_VENV", REPO / ".venv"))
DEFAULT_CONFIG = str(REPO / "configs" / "sample.yaml")
DEFAULT_CONN = "spark_default"


def pipeline_env(venv: Path = VENV, repo: Path = REPO) -> dict[str, str]:
    """Environment for spark-submit: the pipeline's Spark and Python, never Airflow's.

    SPARK_HOME points into the venv's pyspark (pip's pyspark ships bin/ and jars/ there), and
    executors run the venv's Python so they import the same ``curation``.
    """
    site = sorted(venv.glob("lib/python3*/site-packages/pyspark"))
    spark_home = str(site[0]) if site else str(venv / "lib/python3.11/site-packages/pyspark")
    python = str(venv / "bin" / "python")
    path = os.pathsep.join([str(repo / "scripts"), str(venv / "bin"), os.environ.get("PATH", "/usr/bin:/bin")])
    return {
        "PATH": path,
        "SPARK_HOME": spark_home,
        "PYSPARK_PYTHON": python,
        "PYSPARK_DRIVER_PYTHON": python,
        "SPARK_CONF_DIR": str(repo / "conf"),
    }


class StageSubmitOperator(SparkSubmitOperator):
    """SparkSubmitOperator whose Spark connection is a template (so a DAG param can choose it)
    and whose ``--flag ""`` argument pairs are dropped (an empty optional param means "unset")."""

    template_fields = (*SparkSubmitOperator.template_fields, "spark_conn_id")

    def __init__(self, *, spark_conn_id: str, **kwargs: Any) -> None:
        super().__init__(conn_id=spark_conn_id, **kwargs)
        self.spark_conn_id = spark_conn_id

    def execute(self, context: Any) -> None:
        # Rendered by now: hand the chosen connection to the hook the provider builds.
        self._conn_id = self.spark_conn_id
        self._hook = None
        self.application_args = drop_unset_flags(self.application_args or [])
        return super().execute(context)


def drop_unset_flags(args: list[Any]) -> list[str]:
    """``["--config", "a.yaml", "--output", "", "--force", "false"]`` -> ``["--config", "a.yaml"]``.

    A value-less flag is written as ``--force`` followed by "true" or "false" in the template and
    kept bare only when true.
    """
    out: list[str] = []
    i = 0
    while i < len(args):
        flag = str(args[i])
        value = str(args[i + 1]).strip() if i + 1 < len(args) else ""
        if flag in BOOLEAN_FLAGS:
            if value.lower() == "true":
                out.append(flag)
        elif value:
            out += [flag, value]
        i += 2
    return out


BOOLEAN_FLAGS = {"--force"}


def stage_task(stage: str) -> StageSubmitOperator:
    return StageSubmitOperator(
        task_id=stage,
        application=str(REPO / "jobs" / f"{stage}.py"),
        spark_conn_id="{{ params.spark_conn_id }}",
        name=f"curation-{stage}",
        application_args=[
            "--config", "{{ params.config }}",
            "--output", "{{ params.output }}",
            "--benchmarks", "{{ params.benchmarks }}",
            "--force", "{{ params.force }}",
        ],
        env_vars=pipeline_env(),
        # The job files import curation from the checkout (jobs/_bootstrap.py); on a cluster the
        # package reaches executors as a wheel or zip: see docs/cluster.md.
        verbose=False,
    )


with DAG(
    dag_id="curation_pipeline",
    description="Math pretraining corpus: extract, filter, dedup, decontaminate, shard, report",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    # Two runs writing the same output folder would race on its markers.
    max_active_runs=1,
    default_args={
        "owner": "curation",
        # A lost executor or an OOM-killed driver is usually transient; a finished stage is not
        # redone on retry (marker), so retrying is cheap.
        "retries": 2,
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "execution_timeout": timedelta(hours=12),
    },
    params={
        "config": Param(DEFAULT_CONFIG, type="string", description="Pipeline YAML config"),
        "output": Param("", type="string", description="Output folder; empty: the config's"),
        "benchmarks": Param("", type="string", description="Benchmarks folder; empty: the config's"),
        "spark_conn_id": Param(DEFAULT_CONN, type="string", description="Airflow Spark connection id"),
        "force": Param(False, type="boolean", description="Redo stages even when complete"),
    },
    tags=["curation", "spark"],
) as dag:
    tasks = [stage_task(stage) for stage in STAGES]
    for upstream, downstream in itertools.pairwise(tasks):
        upstream >> downstream
