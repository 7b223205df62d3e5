"""Run only the shard stage (the Airflow task of that name calls this file)."""

import sys

import _bootstrap  # noqa: F401

from curation.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], only_stage="shard", prog="shard.py"))
