"""The command line every job shares (DESIGN.md, "The interface").

    spark-submit jobs/clean.py --config FILE [--output DIR] [--input KIND=GLOB ...]
        [--benchmarks DIR] [--until STAGE] [--skip STAGE[,STAGE]] [--force]

Usage errors (bad flags, a malformed config, a missing input, an unknown stage) print one line
and exit with code 2 before Spark starts; a failure while running exits with code 1.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from curation import SOURCES, STAGES
from curation.config import ConfigError, PipelineConfig, SourceSpec, load_config

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

log = logging.getLogger("curation")


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse prints usage too; one line is enough
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser(prog: str, only_stage: str | None = None) -> argparse.ArgumentParser:
    what = f"the {only_stage} stage" if only_stage else "every stage"
    parser = _OneLineParser(prog=prog, description=f"Run {what} of the math-corpus pipeline.")
    parser.add_argument("--config", required=True, help="pipeline YAML config")
    parser.add_argument("--output", help="output folder (overrides the config)")
    parser.add_argument("--input", action="append", default=[], metavar="KIND=GLOB",
                        help=f"input files, KIND one of {', '.join(SOURCES)}; repeatable; replaces the config's sources")
    parser.add_argument("--benchmarks", metavar="DIR", help="benchmark folder laid out like shared/benchmarks")
    if only_stage is None:
        parser.add_argument("--until", metavar="STAGE", help=f"stop after this stage ({', '.join(STAGES)})")
    parser.add_argument("--skip", metavar="STAGE[,STAGE]", default="",
                        help="stages that pass their input through unchanged")
    parser.add_argument("--force", action="store_true", help="redo stages even if complete")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


def _stage_names(value: str, flag: str) -> list[str]:
    names = [s.strip() for s in value.split(",") if s.strip()]
    for name in names:
        if name not in STAGES:
            raise ConfigError(f"{flag}: unknown stage '{name}' (expected one of {', '.join(STAGES)})")
    return names


def _parse_inputs(values: list[str]) -> list[SourceSpec]:
    by_kind: dict[str, list[str]] = {}
    for value in values:
        kind, sep, pattern = value.partition("=")
        if not sep or not pattern:
            raise ConfigError(f"--input {value!r}: expected KIND=GLOB")
        if kind not in SOURCES:
            raise ConfigError(f"--input {value!r}: unknown kind '{kind}' (expected one of {', '.join(SOURCES)})")
        by_kind.setdefault(kind, []).append(str(Path(pattern).expanduser().absolute()))
    return [SourceSpec(kind=k, paths=v) for k, v in by_kind.items()]


def resolve(args: argparse.Namespace) -> PipelineConfig:
    """Config file + command-line overrides, validated; raises ConfigError."""
    cfg = load_config(args.config)
    if args.output:
        cfg.output = str(Path(args.output).expanduser().absolute())
    if args.input:
        cfg.sources = _parse_inputs(args.input)
    if args.benchmarks:
        bench = Path(args.benchmarks).expanduser().absolute()
        if not bench.is_dir():
            raise ConfigError(f"--benchmarks {args.benchmarks}: not a folder")
        cfg.benchmarks = str(bench)
    from curation.inputs import expand_sources

    expand_sources(cfg.sources)  # a missing input is a usage error, found before Spark starts
    check_writable(Path(cfg.output))
    return cfg


def check_writable(output: Path) -> None:
    """A read-only or full output folder is found before Spark starts, not after an hour of work."""
    try:
        output.mkdir(parents=True, exist_ok=True)
        probe = output / ".write-probe"
        with open(probe, "wb") as fh:
            fh.write(b"\0" * 4096)
            fh.flush()
            os.fsync(fh.fileno())
        probe.unlink()
    except OSError as err:
        raise ConfigError(f"output folder {output} is not writable: {err.strerror or err}") from None


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    for noisy in ("py4j", "trafilatura", "urllib3", "datatrove"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def main(argv: list[str] | None = None, only_stage: str | None = None, prog: str = "clean.py") -> int:
    parser = build_parser(prog, only_stage)
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    try:
        cfg = resolve(args)
        skip = set(_stage_names(args.skip, "--skip"))
        until = getattr(args, "until", None)
        if until:
            _stage_names(until, "--until")
    except ConfigError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return EXIT_USAGE

    from curation.spark.runner import PipelineError, Runner, RunPlan
    from curation.spark.session import build_session, stop_session

    plan = RunPlan.build(until=until, skip=skip, only=only_stage, force=args.force)
    spark = build_session(cfg.spark)
    try:
        Runner(spark, cfg).run(plan)
    except PipelineError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return EXIT_FAILED
    except ConfigError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        stop_session(spark)
    log.info("done: output in %s", cfg.output)
    return EXIT_OK
