#!/usr/bin/env bash
# Create .venv-airflow: Apache Airflow 3 plus the Spark provider, in its OWN virtual environment.
#
# Why separate: the provider pulls in `pyspark-client`, which installs into the same `pyspark/`
# package folder as the full pyspark wheel and silently overwrites its Python files (measured with
# Airflow 3.3.2). The pipeline keeps its pyspark in .venv; the DAG's SparkSubmitOperator calls
# .venv/bin/spark-submit through PATH, so Airflow itself never imports the pipeline's pyspark.
#
# Usage: bash scripts/setup_airflow.sh            (idempotent: a complete venv is left as it is)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/.venv-airflow"
AIRFLOW_VERSION="3.3.2"
PYTHON="${PYTHON:-python3.11}"

if [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" - "$AIRFLOW_VERSION" <<'PY' 2>/dev/null; then
import sys
from importlib.metadata import version
assert version("apache-airflow") == sys.argv[1]
import airflow.providers.apache.spark.operators.spark_submit  # noqa: F401
import pytest  # noqa: F401
PY
    echo "setup_airflow: $VENV already has apache-airflow $AIRFLOW_VERSION and the Spark provider"
    exit 0
fi

"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# pytest is here so the DAG tests can run inside this environment.
"$VENV/bin/python" -m pip install --quiet \
    "apache-airflow==$AIRFLOW_VERSION" \
    "apache-airflow-providers-apache-spark==6.3.4" \
    "pyyaml" "pytest>=8"
"$VENV/bin/python" -c "import airflow, airflow.providers.apache.spark; print('setup_airflow: airflow', airflow.__version__)"
