"""The typed pipeline configuration: YAML in, validated pydantic models out.

Relative paths in a config file are resolved against the folder that holds the file, so a job
started by Airflow from another working directory reads the same inputs. Paths given on the
command line are resolved against the working directory, as users expect of a shell.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator

from curation import SOURCES
from curation.decontaminate.settings import DecontaminateSettings
from curation.dedup.settings import DedupSettings
from curation.extract.settings import ExtractSettings
from curation.filter.settings import FilterSettings
from curation.report.settings import ReportSettings
from curation.settings_base import Settings
from curation.shard.settings import ShardSettings

SourceKind = Literal["web", "books", "forums", "code"]


class ConfigError(Exception):
    """A configuration problem, reported to the user as one line (exit code 2)."""


class SourceSpec(Settings):
    kind: SourceKind
    paths: list[str] = Field(min_length=1)


class SparkSettings(Settings):
    # local[*,4]: all cores, and a failed task is retried up to 4 times. Plain local[*] never
    # retries, so one killed Python worker would fail the whole stage. spark-submit's --master
    # wins over this value.
    master: str = "local[*,4]"
    app_name: str = "math-curation"
    shuffle_partitions: int = Field(default=8, gt=0)
    driver_memory: str = "4g"
    # Extra spark.* settings passed through verbatim.
    conf: dict[str, str] = Field(default_factory=dict)
    # Show Spark's console progress bar on long stages.
    progress_bar: bool = True


class PipelineConfig(Settings):
    sources: list[SourceSpec] = Field(min_length=1)
    output: str
    benchmarks: str | None = None
    spark: SparkSettings = Field(default_factory=SparkSettings)
    extract: ExtractSettings = Field(default_factory=ExtractSettings)
    filter: FilterSettings = Field(default_factory=FilterSettings)
    dedup: DedupSettings = Field(default_factory=DedupSettings)
    decontaminate: DecontaminateSettings = Field(default_factory=DecontaminateSettings)
    shard: ShardSettings = Field(default_factory=ShardSettings)
    report: ReportSettings = Field(default_factory=ReportSettings)

    @field_validator("sources")
    @classmethod
    def _known_kinds(cls, sources: list[SourceSpec]) -> list[SourceSpec]:
        for spec in sources:
            if spec.kind not in SOURCES:
                raise ValueError(f"unknown source kind {spec.kind!r}")
        return sources

    def stage_settings(self, stage: str) -> Settings | None:
        return getattr(self, stage, None)

    def fingerprint(self, stage: str) -> str:
        """Hash of what a stage's output depends on: the inputs and every setting up to it."""
        from curation import STAGES

        upto = STAGES[: STAGES.index(stage) + 1]
        payload = {
            "sources": [s.model_dump() for s in self.sources],
            # The web cascade runs inside extract but is configured with the filter's model.
            "cascade": self.filter.cascade.model_dump(),
            "math_model": self.filter.math_model,
            # A model retrained in place (same path, new weights or head) must redo the stages.
            "math_model_files": _model_digests(self.filter.math_model),
            **{name: self.stage_settings(name).model_dump() for name in upto},
        }
        if "decontaminate" in upto:
            # A set added to (or changed in) the benchmarks folder must redo decontamination:
            # unregistered folders are read too (curation/decontaminate/discover.py).
            payload["benchmarks"] = self.benchmarks
            payload["benchmark_files"] = _benchmark_digests(self.benchmarks)
        blob = json.dumps(payload, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


def _model_digests(path: str | None) -> list[str]:
    """sha256 of the math model and of its head file (when there), by content."""
    from curation.filter.math_classifier import DEFAULT_MODEL, head_path_for

    model = Path(path) if path else DEFAULT_MODEL
    return [_file_digest(str(p)) for p in (model, head_path_for(model)) if p.is_file()]


def _benchmark_digests(folder: str | None) -> list[tuple[str, str]]:
    """(relative path, sha256) of every file under the benchmarks folder (the repo copy when
    None); empty when the folder is missing (the stage reports that itself)."""
    from curation.decontaminate.benchmarks import REPO_BENCHMARKS

    root = Path(folder) if folder else REPO_BENCHMARKS
    if not root.is_dir():
        return []
    files = sorted(p for p in root.rglob("*") if p.is_file() and not any(
        part.startswith(".") for part in p.relative_to(root).parts))
    return [(p.relative_to(root).as_posix(), _file_digest(str(p))) for p in files]


def _file_digest(path: str) -> str:
    st = os.stat(path)
    return _digest_cached(path, st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=4096)
def _digest_cached(path: str, mtime_ns: int, size: int) -> str:
    from curation.shard.layout import sha256_file

    return sha256_file(Path(path))[:16]


def _format_validation_error(err: ValidationError) -> str:
    first = err.errors()[0]
    key = ".".join(str(p) for p in first["loc"]) or "<root>"
    if first["type"] == "extra_forbidden":
        return f"unknown key '{key}'"
    if first["type"] == "missing":
        return f"missing required key '{key}'"
    return f"bad value for '{key}': {first['msg']}"


def _resolve(path: str, base: Path) -> str:
    p = Path(path).expanduser()
    return os.path.normpath(p if p.is_absolute() else (base / p))


def parse_config(data: Any, base_dir: Path) -> PipelineConfig:
    if not isinstance(data, dict):
        raise ConfigError("config must be a YAML mapping at the top level")
    try:
        cfg = PipelineConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_format_validation_error(err)) from None
    for spec in cfg.sources:
        spec.paths = [_resolve(p, base_dir) for p in spec.paths]
    cfg.output = _resolve(cfg.output, base_dir)
    if cfg.benchmarks:
        cfg.benchmarks = _resolve(cfg.benchmarks, base_dir)
    if cfg.filter.math_model:
        cfg.filter.math_model = _resolve(cfg.filter.math_model, base_dir)
    if cfg.shard.tokenizer:
        cfg.shard.tokenizer = _resolve(cfg.shard.tokenizer, base_dir)
    return cfg


def load_config(path: str | Path) -> PipelineConfig:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"config {path} is not valid YAML{where}") from None
    return parse_config(data, path.resolve().parent)
