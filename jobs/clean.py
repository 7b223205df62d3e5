"""Run every stage: ``spark-submit jobs/clean.py --config configs/sample.yaml``."""

import sys

import _bootstrap  # noqa: F401

from curation.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], prog="clean.py"))
