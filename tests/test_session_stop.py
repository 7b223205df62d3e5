"""stop_session: the session stops, the accumulator server still closes (a second later, on a
daemon thread), and the process can start a new session. Run in a child process: the test
session's own SparkContext must not be stopped."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = textwrap.dedent("""
    import os, sys, threading, time
    os.environ["PYSPARK_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession
    from curation.spark.session import stop_session

    spark = SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false").getOrCreate()
    sc = spark.sparkContext
    acc = sc.accumulator(0)
    sc.parallelize(range(10), 2).foreach(lambda x: acc.add(x))
    assert acc.value == 45, acc.value
    server = sc._accumulatorServer
    stop_session(spark)
    assert SparkSession.getActiveSession() is None and sc._jsc is None
    deadline = time.time() + 10
    while time.time() < deadline and any(t.name == "accumulator-server-shutdown" for t in threading.enumerate()):
        time.sleep(0.1)
    assert not any(t.name == "accumulator-server-shutdown" for t in threading.enumerate())
    assert server.socket.fileno() == -1  # closed
    spark2 = SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false").getOrCreate()
    acc2 = spark2.sparkContext.accumulator(0)
    spark2.sparkContext.parallelize(range(4), 2).foreach(lambda x: acc2.add(1))
    assert acc2.value == 4
    stop_session(spark2)
    print("ok")
""")


def test_stop_session_closes_the_accumulator_server_and_allows_a_new_session() -> None:
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-3000:]
