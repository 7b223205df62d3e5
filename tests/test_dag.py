"""The Airflow DAG: it imports, its graph is the designed chain, and dag.test() runs the sample.

Runs inside .venv-airflow (Airflow must not share the pipeline's venv, see
scripts/setup_airflow.sh): ``.venv-airflow/bin/python -m pytest tests/test_dag.py``. The main
test run reaches it through tests/test_dag_in_airflow_venv.py; in .venv this module skips.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
STAGES = ["extract", "filter", "dedup", "decontaminate", "shard", "report"]

if importlib.util.find_spec("airflow") is None:
    pytest.skip("Airflow lives in .venv-airflow (see test_dag_in_airflow_venv.py)", allow_module_level=True)

# Airflow reads its settings when first imported: a throw-away home and metadata DB, the repo's
# dags/ as the bundle dag.test() syncs, no example DAGs, and a Spark connection on local[2]
# given as an environment variable (no DB write needed).
_HOME = tempfile.mkdtemp(prefix="airflow-home-")
os.environ.update(
    {
        "AIRFLOW_HOME": _HOME,
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_HOME}/airflow.db",
        "AIRFLOW_CONN_SPARK_LOCAL2": json.dumps({"conn_type": "spark", "host": "local[2]"}),
    }
)

from airflow.dag_processing.dagbag import DagBag  # noqa: E402
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator  # noqa: E402


@pytest.fixture(scope="module")
def dag():
    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}
    return bag.dags["curation_pipeline"]


def test_dag_imports_without_errors():
    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}
    assert list(bag.dags) == ["curation_pipeline"]


def test_task_graph_is_the_stage_chain(dag):
    assert [t.task_id for t in dag.topological_sort()] == STAGES
    for up, down in itertools.pairwise(STAGES):
        assert dag.get_task(up).downstream_task_ids == {down}
    assert dag.get_task("extract").upstream_task_ids == set()
    assert dag.get_task("report").downstream_task_ids == set()
    for stage in STAGES:
        task = dag.get_task(stage)
        assert isinstance(task, SparkSubmitOperator)
        assert task.application == str(REPO / "jobs" / f"{stage}.py")
        assert task.retries == 2
    assert set(dag.params.keys()) >= {"config", "output", "spark_conn_id"}
    assert dag.max_active_runs == 1


def test_unset_flags_are_dropped():
    sys.path.insert(0, str(REPO / "dags"))
    from curation_pipeline import drop_unset_flags

    args = ["--config", "c.yaml", "--output", "", "--benchmarks", " ", "--force", "False"]
    assert drop_unset_flags(args) == ["--config", "c.yaml"]
    assert drop_unset_flags(["--config", "c.yaml", "--force", "True"]) == ["--config", "c.yaml", "--force"]


def test_spark_submit_on_path_is_the_pipelines_not_airflows(dag):
    env = dag.get_task("extract").env_vars
    found = shutil.which("spark-submit", path=env["PATH"])
    assert found is not None
    assert Path(found).resolve() == (REPO / "scripts" / "spark-submit").resolve()
    assert ".venv-airflow" not in env["SPARK_HOME"]
    assert (Path(env["SPARK_HOME"]) / "jars").is_dir()
    assert Path(env["PYSPARK_PYTHON"]).is_file()


def _jobs_ready() -> bool:
    return all((REPO / "jobs" / f"{s}.py").is_file() for s in STAGES) and (REPO / "configs/sample.yaml").is_file()


@pytest.mark.slow
@pytest.mark.skipif(not _jobs_ready(), reason="jobs/ or configs/sample.yaml not written yet")
def test_dag_test_runs_the_whole_pipeline_on_the_sample(dag, tmp_path):
    migrate = subprocess.run(
        [str(Path(sys.executable).parent / "airflow"), "db", "migrate"], capture_output=True, text=True, env=os.environ
    )
    assert migrate.returncode == 0, migrate.stderr[-2000:]
    for task in dag.tasks:
        task.retries = 0  # fail fast in the test; the graph test above checks the real setting
    out = tmp_path / "out"
    conf = {"output": str(out), "spark_conn_id": "spark_local2"}

    run = dag.test(run_conf=conf)
    assert run.state == "success", {ti.task_id: ti.state for ti in run.get_task_instances()}
    for stage in STAGES[:-1]:
        assert (out / "stages" / stage / "_SUCCESS").is_file(), stage
    assert (out / "report" / "_SUCCESS").is_file()
    stats = json.loads((out / "stats.json").read_text())
    assert stats["stages"]["extract"], "extract counted no source"
    for stage, per_source in stats["stages"].items():
        for src, row in per_source.items():
            assert row["in"] == row["kept"] + row["rejected"], (stage, src)
    report = json.loads((out / "report" / "stats.json").read_text())
    assert report["funnel"]["by_stage_source"]["extract"] == {
        src: {k: row[k] for k in ("in", "kept", "rejected")} for src, row in stats["stages"]["extract"].items()
    }
    assert (out / "report" / "index.html").stat().st_size > 10_000

    # Idempotent: run again with every task but shard marked done; shard finds its marker with
    # the same fingerprint and does not redo the stage.
    marker = (out / "stages" / "shard" / "_SUCCESS").read_text()
    parts = sorted(p.name for p in (out / "stages" / "shard").iterdir())
    again = dag.test(run_conf=conf, mark_success_pattern=r"(?!shard$).*")
    assert again.state == "success"
    assert (out / "stages" / "shard" / "_SUCCESS").read_text() == marker
    assert sorted(p.name for p in (out / "stages" / "shard").iterdir()) == parts
