"""Reading the run's statistics and writing ``report/index.html`` + ``report/stats.json``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from curation.report.html import render_html
from curation.report.plots import make_plots


def load_run_stats(output_dir: Path) -> dict[str, Any] | None:
    """The runner's statistics: ``<output>/stats.json``, else the per-stage ``stats/<stage>.json``.

    A per-stage file holds ``{"funnel": {...}, "extra": {...}}`` (curation/stats.py) or just the
    ``{"<source>": {...}}`` funnel of its stage. ``None`` when neither exists.
    """
    single = output_dir / "stats.json"
    if single.is_file():
        data = json.loads(single.read_text(encoding="utf-8"))
        data.setdefault("stages", {})
        data.setdefault("stages_extra", {})
        return data
    folder = output_dir / "stats"
    if not folder.is_dir():
        return None
    merged: dict[str, Any] = {"stages": {}, "stages_extra": {}}
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if "funnel" in data:
            merged["stages"][path.stem] = data["funnel"]
            if data.get("extra"):
                merged["stages_extra"][path.stem] = data["extra"]
        else:
            merged["stages"][path.stem] = data
    return merged


def _atomic_write(path: Path, text: str) -> None:
    # A reader (a browser, the next task) never sees half a file; a rerun replaces it whole.
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_report(report_dir: Path, report: dict[str, Any], sample_chars: int = 600) -> dict[str, Any]:
    """Draw the plots, write stats.json and the self-contained index.html; return the report."""
    report_dir.mkdir(parents=True, exist_ok=True)
    plots = make_plots(report)
    report["plots"] = list(plots)
    _atomic_write(report_dir / "stats.json", json.dumps(report, indent=1, ensure_ascii=False, sort_keys=False))
    _atomic_write(report_dir / "index.html", render_html(report, plots, sample_chars))
    return report
