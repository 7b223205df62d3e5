"""The report's numbers, section by section, from small pandas frames of grouped counts.

Spark (``curation/spark/report.py``) does the heavy grouping over the corpus and hands each
function here a frame of at most a few thousand rows, so everything below is pure and testable
without a session. Every section is a JSON-able dict; a section that cannot be computed yet (the
stage that fills its column has not run) is ``{"missing": "<why>"}`` so that the report says so
instead of crashing or showing an empty plot.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from curation import SOURCES, STAGES

PIPELINE_STAGES: tuple[str, ...] = tuple(s for s in STAGES if s != "report")
STATUSES: tuple[str, ...] = ("kept", "dropped")
NO_LANG = "(none)"


def ordered(names: Iterable[str], preferred: Iterable[str]) -> list[str]:
    """Names in the pipeline's order first (stages, sources), the rest sorted after them."""
    names = set(names)
    first = [n for n in preferred if n in names]
    return first + sorted(names - set(first))


def missing(why: str) -> dict[str, str]:
    return {"missing": why}


def is_missing(section: Any) -> bool:
    return isinstance(section, dict) and "missing" in section


# --- funnel and reasons (from the run's stats.json) -------------------------------------------


def reason_group(reason: str, keep_argument_for: Iterable[str] = ("contaminated",)) -> str:
    """``near_duplicate_of:<id>`` -> ``near_duplicate_of``; ``contaminated:gsm8k:<item>`` ->
    ``contaminated:gsm8k`` (the first argument names a category worth keeping apart)."""
    prefix, sep, rest = reason.partition(":")
    if not sep:
        return reason
    if prefix in set(keep_argument_for):
        return f"{prefix}:{rest.partition(':')[0]}"
    return prefix


def funnel_section(run_stages: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """Documents in / kept / rejected per stage and source, plus per-stage totals.

    ``accounting_ok`` is false for a stage where in != kept + rejected for some source: the
    pipeline's first invariant, shown in red in the report when broken.
    """
    stages = ordered(run_stages, PIPELINE_STAGES)
    sources = ordered({src for s in stages for src in run_stages[s]}, SOURCES)
    by_stage_source: dict[str, dict[str, dict[str, int]]] = {}
    by_stage: dict[str, dict[str, int]] = {}
    accounting_ok: dict[str, bool] = {}
    for stage in stages:
        per_source = {}
        ok = True
        for src in ordered(run_stages[stage], SOURCES):
            row = run_stages[stage][src]
            counts = {k: int(row.get(k, 0)) for k in ("in", "kept", "rejected")}
            ok &= counts["in"] == counts["kept"] + counts["rejected"]
            per_source[src] = counts
        by_stage_source[stage] = per_source
        by_stage[stage] = {k: sum(c[k] for c in per_source.values()) for k in ("in", "kept", "rejected")}
        accounting_ok[stage] = ok
    return {
        "stages": stages,
        "sources": sources,
        "by_stage": by_stage,
        "by_stage_source": by_stage_source,
        "accounting_ok": accounting_ok,
    }


def reasons_section(
    run_stages: dict[str, dict[str, dict[str, Any]]], keep_argument_for: Iterable[str] = ("contaminated",)
) -> dict[str, Any]:
    """Drop reasons per stage (summed over sources) and per stage and source, grouped by prefix."""
    keep = tuple(keep_argument_for)
    by_stage: dict[str, dict[str, int]] = {}
    by_stage_source: dict[str, dict[str, dict[str, int]]] = {}
    for stage in ordered(run_stages, PIPELINE_STAGES):
        totals: dict[str, int] = {}
        per_source: dict[str, dict[str, int]] = {}
        for src in ordered(run_stages[stage], SOURCES):
            grouped: dict[str, int] = {}
            for reason, n in (run_stages[stage][src].get("reasons") or {}).items():
                key = reason_group(reason, keep)
                grouped[key] = grouped.get(key, 0) + int(n)
                totals[key] = totals.get(key, 0) + int(n)
            if grouped:
                per_source[src] = dict(sorted(grouped.items(), key=lambda kv: (-kv[1], kv[0])))
        if totals:
            by_stage[stage] = dict(sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])))
            by_stage_source[stage] = per_source
    if not by_stage:
        return missing("no stage has rejected a document yet")
    return {"by_stage": by_stage, "by_stage_source": by_stage_source}


# --- histograms ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bins:
    """Histogram bins: ``n`` equal-width bins over [lo, hi], in log10 space when ``log``.

    Values outside the range fall into the first or last bin, so no document goes uncounted.
    Spark computes the same index with ``index_expr_parts`` (see curation/spark/report.py).
    """

    lo: float
    hi: float
    n: int
    log: bool = False

    def edges(self) -> list[float]:
        step = (self.hi - self.lo) / self.n
        raw = [self.lo + i * step for i in range(self.n + 1)]
        return [round(10**e, 6) if self.log else round(e, 6) for e in raw]

    def index(self, value: float) -> int:
        x = math.log10(max(value, 1e-300)) if self.log else value
        i = math.floor((x - self.lo) / (self.hi - self.lo) * self.n)
        return min(max(i, 0), self.n - 1)


def math_score_bins(n: int) -> Bins:
    return Bins(0.0, 1.0, n)


def length_bins(n: int, log10_max: float) -> Bins:
    # Lengths of 0 and 1 both land in the first bin (log10(1) = 0).
    return Bins(0.0, log10_max, n, log=True)


def histogram_section(
    counts: pd.DataFrame, bins: Bins, column: str, nulls: dict[str, int] | None = None
) -> dict[str, Any]:
    """``counts`` has columns status, source, bucket, count (bucket in [0, bins.n)).

    Returns per status and source the list of bin counts, plus the number of rows where the
    column is null (documents rejected before the stage that fills it).
    """
    nulls = {k: int(v) for k, v in (nulls or {}).items()}
    if counts.empty or int(counts["count"].sum()) == 0:
        return missing(f"no document has a value in column '{column}' yet")
    out: dict[str, dict[str, list[int]]] = {}
    for status in ordered(counts["status"].unique(), STATUSES):
        sub = counts[counts["status"] == status]
        per_source = {}
        for src in ordered(sub["source"].unique(), SOURCES):
            hist = [0] * bins.n
            for bucket, n in sub[sub["source"] == src][["bucket", "count"]].itertuples(index=False):
                hist[int(bucket)] += int(n)
            per_source[src] = hist
        out[status] = per_source
    return {
        "column": column,
        "edges": bins.edges(),
        "log": bins.log,
        "counts": out,
        "nulls": nulls,
    }


# --- languages, dedup clusters, contamination --------------------------------------------------


def languages_section(counts: pd.DataFrame) -> dict[str, Any]:
    """``counts``: status, source, lang (None when unknown), count."""
    if counts.empty:
        return missing("no documents to count languages over")
    counts = counts.assign(lang=counts["lang"].fillna(NO_LANG))
    if set(counts["lang"]) == {NO_LANG}:
        return missing("no document has a language yet (the filter stage sets 'lang')")
    out: dict[str, dict[str, dict[str, int]]] = {}
    for status in ordered(counts["status"].unique(), STATUSES):
        sub = counts[counts["status"] == status]
        out[status] = {}
        for src in ordered(sub["source"].unique(), SOURCES):
            rows = sub[sub["source"] == src].groupby("lang")["count"].sum()
            out[status][src] = {str(k): int(v) for k, v in sorted(rows.items(), key=lambda kv: (-kv[1], kv[0]))}
    totals: dict[str, int] = {}
    for per_source in out.get("kept", {}).values():
        for lang, n in per_source.items():
            totals[lang] = totals.get(lang, 0) + n
    return {"counts": out, "kept_total": dict(sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])))}


def dedup_clusters_section(cluster_sizes: pd.DataFrame | None, extra: dict[str, Any] | None) -> dict[str, Any]:
    """``cluster_sizes``: kind (reason prefix), size (documents in the cluster), clusters.

    Kinds are named as in stats.json (``near_duplicate_of`` -> ``near_duplicate``, as
    ``curation.stats.reason_key`` does).

    A cluster is one survivor plus the documents whose dedup reason names it
    (``near_duplicate_of:<survivor id>``), so size = dropped members + 1.
    """
    if extra is None:
        return missing("the dedup stage has not run")
    if cluster_sizes is None or cluster_sizes.empty:
        return {"sizes": {}, "clusters": 0, "documents_removed": 0}
    by_kind: dict[str, dict[str, int]] = {}
    for kind in sorted(cluster_sizes["kind"].unique()):
        sub = cluster_sizes[cluster_sizes["kind"] == kind].sort_values("size")
        by_kind[str(kind).removesuffix("_of")] = {str(int(s)): int(c) for s, c in sub[["size", "clusters"]].itertuples(index=False)}
    return {
        "sizes": by_kind,
        "clusters": sum(sum(v.values()) for v in by_kind.values()),
        "documents_removed": int(((cluster_sizes["size"] - 1) * cluster_sizes["clusters"]).sum()),
    }


def contamination_section(counts: pd.DataFrame | None, extra: dict[str, Any] | None) -> dict[str, Any]:
    """``counts``: benchmark, source, count of documents removed as contaminated by it."""
    if counts is None:
        return missing("the decontaminate stage has not run")
    by_benchmark: dict[str, int] = {}
    by_benchmark_source: dict[str, dict[str, int]] = {}
    for bench in sorted(counts["benchmark"].unique()) if not counts.empty else []:
        sub = counts[counts["benchmark"] == bench]
        by_benchmark_source[str(bench)] = {
            str(src): int(sub[sub["source"] == src]["count"].sum()) for src in ordered(sub["source"].unique(), SOURCES)
        }
        by_benchmark[str(bench)] = int(sub["count"].sum())
    checked = benchmarks_checked(extra)
    for bench in checked:
        by_benchmark.setdefault(bench, 0)
    return {
        "by_benchmark": dict(sorted(by_benchmark.items(), key=lambda kv: (-kv[1], kv[0]))),
        "by_benchmark_source": by_benchmark_source,
        "benchmarks_checked": checked,
    }


def benchmarks_checked(extra: dict[str, Any] | None) -> list[str]:
    """Benchmark names the decontaminate stage says it indexed, so a clean one shows as 0.

    Looks at ``benchmarks`` (a list or a dict keyed by name), ``index.benchmarks`` and the keys
    of ``contamination`` (curation/spark/decontaminate.py writes the last two).
    """
    extra = extra or {}
    names: set[str] = set()
    for value in (extra.get("benchmarks"), (extra.get("index") or {}).get("benchmarks"), extra.get("contamination")):
        if isinstance(value, dict):
            names.update(str(k) for k in value)
        elif isinstance(value, list):
            names.update(str(v) for v in value if isinstance(v, str))
    return sorted(names)


# --- samples and stage extras -------------------------------------------------------------------

SAMPLE_FIELDS = ("id", "source", "origin", "stage", "reason", "lang", "math_score", "num_tokens", "text")


def samples_section(kept: pd.DataFrame, dropped: pd.DataFrame) -> dict[str, Any]:
    """Per source, the sampled kept and dropped rows (already chosen and ordered by Spark)."""
    out: dict[str, dict[str, list[dict[str, Any]]]] = {}
    sources = ordered(set(kept.get("source", [])) | set(dropped.get("source", [])), SOURCES)
    for src in sources:
        out[src] = {}
        for status, frame in (("kept", kept), ("dropped", dropped)):
            rows = frame[frame["source"] == src] if not frame.empty else frame
            out[src][status] = [_sample_row(r) for r in rows.to_dict(orient="records")]
    if not out:
        return missing("no documents to sample")
    return out


def _sample_row(row: dict[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for key in SAMPLE_FIELDS:
        value = row.get(key)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            value = None
        elif key == "math_score":
            value = round(float(value), 4)
        elif key == "num_tokens":
            value = int(value)
        clean[key] = value
    return clean


def flatten_numbers(obj: Any, prefix: str = "", limit: int = 200) -> dict[str, float | int]:
    """Numeric leaves of a nested dict as ``a.b.c -> n``, at most ``limit`` of them.

    Used to show each stage's ``stages_extra`` (whatever the stage chose to record) as a table.
    """
    out: dict[str, float | int] = {}

    def walk(value: Any, path: str) -> None:
        if len(out) >= limit:
            return
        if isinstance(value, bool):
            return
        if isinstance(value, int | float) and not (isinstance(value, float) and math.isnan(value)):
            out[path] = value
        elif isinstance(value, dict):
            for k in sorted(value, key=str):
                walk(value[k], f"{path}.{k}" if path else str(k))

    walk(obj, prefix)
    return out
