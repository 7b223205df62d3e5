#!/usr/bin/env bash
# Run the pipeline on a real Spark standalone cluster on this machine and check that its output
# equals a local-mode run of the same job and config.
#
#   scripts/standalone_cluster.sh [CONFIG] [JOB]      defaults: configs/sample.yaml jobs/clean.py
#
# Starts a master on spark://localhost:$MASTER_PORT (7077) and two workers (1 core, 2g each) with
# `spark-class` (pip's pyspark ships no sbin/start-master.sh), submits JOB to it, runs the same job
# with --master local[2], compares the two output folders (same ids and texts in every stage,
# same rejects and reasons, same shards; scripts/compare_outputs.py), and stops the cluster on
# exit, whatever happened. Exit code 0 only when the outputs are equal.
#
# Environment: WORK (scratch folder, default a new temp dir; kept when KEEP_WORK=1),
# MASTER_PORT (7077), CURATION_VENV (the pipeline's venv, default .venv).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CONFIG="${1:-$REPO/configs/sample.yaml}"
JOB="${2:-$REPO/jobs/clean.py}"
VENV="${CURATION_VENV:-$REPO/.venv}"
MASTER_PORT="${MASTER_PORT:-7077}"
MASTER="spark://localhost:$MASTER_PORT"
WORK="${WORK:-$(mktemp -d -t curation-standalone-XXXXXX)}"
mkdir -p "$WORK"

export SPARK_HOME="$VENV/lib/python3.11/site-packages/pyspark"
export PYSPARK_PYTHON="$VENV/bin/python"
export PYSPARK_DRIVER_PYTHON="$VENV/bin/python"
# Daemons and submits write their logs and scratch under WORK, not into the venv.
export SPARK_LOG_DIR="$WORK/logs" SPARK_LOCAL_DIRS="$WORK/local"
# Everything stays on the loopback interface: nothing of this test cluster is reachable from outside.
export SPARK_LOCAL_IP=127.0.0.1
mkdir -p "$SPARK_LOG_DIR" "$SPARK_LOCAL_DIRS"

say() { echo "standalone: $*" >&2; }

PIDS=()
cleanup() {
    local code=$?
    # Stop only the daemons this script started, by pid: workers first, then the master.
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        kill "${PIDS[i]}" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$pid" 2>/dev/null || true
    done
    [[ ${#PIDS[@]} -gt 0 ]] && say "cluster stopped"
    if [[ "${KEEP_WORK:-0}" != 1 && $code == 0 ]]; then rm -rf "$WORK"; else say "work folder kept: $WORK"; fi
    exit "$code"
}
trap cleanup EXIT INT TERM

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
    local limit=$1 what=$2; shift 2
    for _ in $(seq $((limit * 2))); do
        if "$@"; then return 0; fi
        sleep 0.5
    done
    say "timed out after ${limit}s waiting for $what"; return 1
}

if port_open "$MASTER_PORT"; then
    say "port $MASTER_PORT is already in use; set MASTER_PORT to a free port"; exit 2
fi

# --- the cluster ---------------------------------------------------------------------------------
# Web UIs on port 0 (any free port): several people may share this machine. The daemons log at
# Spark's default INFO level (no SPARK_CONF_DIR): the checks below read their registration lines.
daemon() { exec env -u SPARK_CONF_DIR "$SPARK_HOME/bin/spark-class" "$@"; }
daemon org.apache.spark.deploy.master.Master \
    --host localhost --port "$MASTER_PORT" --webui-port 0 >"$SPARK_LOG_DIR/master.log" 2>&1 &
PIDS+=($!)
wait_for 120 "the master on $MASTER" port_open "$MASTER_PORT"
say "master up at $MASTER (pid ${PIDS[0]})"

for n in 1 2; do
    daemon org.apache.spark.deploy.worker.Worker \
        --cores 1 --memory 2g --webui-port 0 --work-dir "$WORK/worker-$n" "$MASTER" \
        >"$SPARK_LOG_DIR/worker-$n.log" 2>&1 &
    PIDS+=($!)
done
registered() { [[ $(grep -c "Registering worker" "$SPARK_LOG_DIR/master.log" || true) -ge 2 ]]; }
wait_for 180 "two workers to register" registered
say "2 workers registered (1 core, 2g each)"

# --- the same job, on the cluster and in local mode ----------------------------------------------
submit() {  # submit MASTER OUTPUT
    local master=$1 out=$2 started=$SECONDS
    # Executors get 1 core and 1g each (a 2g worker also hosts the Python workers' memory).
    "$REPO/scripts/spark-submit" --master "$master" \
        --conf spark.executor.cores=1 --conf spark.executor.memory=1g --conf spark.cores.max=2 \
        --conf spark.ui.showConsoleProgress=false \
        "$JOB" --config "$CONFIG" --output "$out" --force
    say "$master run finished in $((SECONDS - started)) s -> $out"
}

submit "$MASTER" "$WORK/out-cluster"
launched() { grep -c "Asked to launch executor" "$SPARK_LOG_DIR/worker-$1.log" || true; }
say "executors launched: worker 1: $(launched 1), worker 2: $(launched 2)"
[[ $(launched 1) -ge 1 && $(launched 2) -ge 1 ]] || { say "the job did not run on both workers"; exit 1; }

submit "local[2]" "$WORK/out-local"

"$VENV/bin/python" "$REPO/scripts/compare_outputs.py" "$WORK/out-local" "$WORK/out-cluster"
say "OK: the standalone-cluster output equals the local-mode output"
