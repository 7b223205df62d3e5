"""Expand the configured source globs into the list of files the extract stage reads."""

from __future__ import annotations

import glob
import os
from pathlib import Path

from curation.config import ConfigError, SourceSpec


def _is_uri(path: str) -> bool:
    return "://" in path and not path.startswith("file://")


def expand_sources(sources: list[SourceSpec]) -> list[tuple[str, str]]:
    """Sorted (kind, path) pairs; a glob that matches nothing is a configuration error.

    Directories are walked (hidden files skipped). Sorting makes the file list, and so the task
    layout and the output, the same on every run.
    """
    files: set[tuple[str, str]] = set()
    for spec in sources:
        for pattern in spec.paths:
            if _is_uri(pattern):
                raise ConfigError(
                    f"input {spec.kind}={pattern}: remote URIs are not read directly; mount the "
                    "bucket or copy the files to a shared filesystem"
                )
            pattern = pattern.removeprefix("file://")
            matches = sorted(glob.glob(pattern, recursive=True))
            if not matches:
                raise ConfigError(f"input {spec.kind}={pattern} matches no file")
            for match in matches:
                if os.path.isdir(match):
                    for root, dirs, names in os.walk(match):
                        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                        files.update(
                            (spec.kind, str(Path(root) / n)) for n in names if not n.startswith(".")
                        )
                else:
                    files.add((spec.kind, str(Path(match).resolve())))
    return sorted(files)
