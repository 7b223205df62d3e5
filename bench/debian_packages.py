"""Debian packages as bench inputs: downloaded once with ``apt-get download`` and unpacked with
``dpkg-deb -x`` into a cache folder. Only the benches fetch; the pipeline never downloads."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

_MARKER = ".unpacked"


def fetch_package(pkg: str, debs_dir: Path, root: Path) -> tuple[Path | None, str]:
    """``root`` holding the unpacked package and how it got there, or (None, why it failed)."""
    if (root / _MARKER).is_file():
        return root, "cached"
    debs_dir.mkdir(parents=True, exist_ok=True)
    debs = sorted(debs_dir.glob(f"{pkg}_*.deb"))
    if not debs:
        run = subprocess.run(["apt-get", "download", pkg], cwd=debs_dir, capture_output=True, text=True)
        debs = sorted(debs_dir.glob(f"{pkg}_*.deb"))
        if run.returncode != 0 or not debs:
            return None, f"apt-get download failed: {(run.stderr or run.stdout).strip()[-300:]}"
    # A half-unpacked folder (an interrupted run) is redone from the cached .deb.
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    run = subprocess.run(["dpkg-deb", "-x", str(debs[-1]), str(root)], capture_output=True, text=True)
    if run.returncode != 0:
        return None, f"dpkg-deb -x failed: {run.stderr.strip()[-300:]}"
    (root / _MARKER).write_text(debs[-1].name)
    return root, f"fetched {debs[-1].name}"
