"""The per-stage funnel (in / kept / rejected by reason, per source) and stats.json.

Each stage writes ``stats/<stage>.json`` when it completes; ``stats.json`` is rebuilt from all of
them, so a resumed run still reports the stages it did not redo.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from curation import STAGES


def reason_key(reason: str) -> str:
    """The stable part of a reason, for counting: ids and item numbers are dropped.

    ``near_duplicate_of:ab12`` -> ``near_duplicate``; ``contaminated:gsm8k:17`` ->
    ``contaminated:gsm8k``; ``lang_not_allowed:fr`` stays as it is (few distinct values).
    """
    head, _, rest = reason.partition(":")
    if head.endswith("_of"):
        return head[: -len("_of")]
    if head == "contaminated" and rest:
        return f"{head}:{rest.partition(':')[0]}"
    return reason


def funnel(rows: Iterable[tuple[str, str | None, int]]) -> dict[str, dict[str, Any]]:
    """Fold (source, reason, count) rows into ``{source: {in, kept, rejected, reasons}}``."""
    out: dict[str, dict[str, Any]] = {}
    for source, reason, count in rows:
        entry = out.setdefault(source, {"in": 0, "kept": 0, "rejected": 0, "reasons": {}})
        entry["in"] += count
        if reason is None:
            entry["kept"] += count
        else:
            entry["rejected"] += count
            key = reason_key(reason)
            entry["reasons"][key] = entry["reasons"].get(key, 0) + count
    for entry in out.values():
        entry["reasons"] = dict(sorted(entry["reasons"].items(), key=lambda kv: (-kv[1], kv[0])))
    return dict(sorted(out.items()))


def write_json_atomic(path: Path, data: Any) -> None:
    """Write via a temporary file and rename, so a killed run never leaves half a JSON file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False, sort_keys=False, default=str)
        fh.write("\n")
    os.replace(tmp, path)


def merge_stats(output_dir: Path) -> dict[str, Any]:
    """Rebuild ``stats.json`` from ``stats/<stage>.json`` in pipeline order."""
    stages: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    runs: dict[str, Any] = {}
    for stage in STAGES:
        path = output_dir / "stats" / f"{stage}.json"
        if not path.is_file():
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        stages[stage] = data.get("funnel", {})
        if data.get("extra"):
            extra[stage] = data["extra"]
        runs[stage] = data.get("run", {})
    merged = {"stages": stages, "stages_extra": extra, "runs": runs}
    write_json_atomic(output_dir / "stats.json", merged)
    return merged
