"""The report stage: Spark groups and samples the output folder, ``curation.report`` draws it.

Nothing here collects documents to the driver: the distributions come back as grouped counts (a
few hundred rows), the samples as ``samples_per_source`` rows per source picked with a seeded
hash (Spark turns ``row_number() <= k`` over a window into a per-partition top-k before the
shuffle). Whatever is missing (no stats.json yet, a stage not run, a column still null) becomes a
note in the report instead of an error.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from curation import __version__
from curation.report import sections as S
from curation.report.write import load_run_stats, write_report
from curation.spark.stage_api import StageContext

log = logging.getLogger(__name__)

HIST_COLUMNS = ("math_score", "length_chars", "num_tokens")


def build(spark: SparkSession, ctx: StageContext) -> dict[str, Any]:
    """Write ``<output>/report/index.html`` and ``<output>/report/stats.json``; return the stats."""
    settings = ctx.cfg.report
    out = Path(ctx.output_dir)
    notes: list[str] = []

    stages_present = [s for s in S.PIPELINE_STAGES if _has_parquet(out / "stages" / s)]
    final_stage = stages_present[-1] if stages_present else None
    kept = _docs(spark.read.parquet(str(out / "stages" / final_stage)), final_stage) if final_stage else None
    rejects = _read_rejects(spark, out)
    if final_stage is None:
        notes.append("no stage has written documents yet (stages/<stage>/*.parquet)")

    run_stats = load_run_stats(out)
    if run_stats is None or not run_stats.get("stages"):
        notes.append("stats.json is absent: the funnel is counted from stages/ and rejects/ instead")
        run_stages = _funnel_from_files(spark, out, stages_present, rejects)
        extras: dict[str, Any] = {}
    else:
        run_stages = run_stats["stages"]
        extras = run_stats.get("stages_extra") or {}
    stages_run = set(run_stages) | set(stages_present) | set(rejects)

    report: dict[str, Any] = {
        "title": "Math corpus data-quality report",
        "generated_by": f"curation {__version__}",
        "output": str(out),
        "stages_present": stages_present,
        "final_stage": final_stage,
        "settings": settings.model_dump(),
        "notes": notes,
    }
    report["funnel"] = S.funnel_section(run_stages) if run_stages else S.missing("no stage has run")
    report["reasons"] = S.reasons_section(run_stages, settings.keep_reason_argument_for)

    docs = _all_docs(kept, rejects)
    bins = {
        "math_score": S.math_score_bins(settings.math_score_bins),
        "length_chars": S.length_bins(settings.length_bins, settings.length_log10_max),
        "num_tokens": S.length_bins(settings.length_bins, settings.length_log10_max),
    }
    grouped = _grouped_counts(docs, bins) if docs is not None else None
    for column in HIST_COLUMNS:
        if grouped is None:
            report[column] = S.missing("no documents")
            continue
        rows = grouped[grouped["metric"] == column]
        have = rows[rows["bucket"].notna()].astype({"bucket": int})
        nulls = rows[rows["bucket"].isna()].groupby("status")["count"].sum().to_dict()
        report[column] = S.histogram_section(have[["status", "source", "bucket", "count"]], bins[column], column, nulls)
    if grouped is None:
        report["languages"] = S.missing("no documents")
    else:
        langs = grouped[grouped["metric"] == "lang"].rename(columns={"bucket": "lang"})
        report["languages"] = S.languages_section(langs[["status", "source", "lang", "count"]])

    report["dedup_clusters"] = _dedup_section(rejects.get("dedup"), extras.get("dedup"), "dedup" in stages_run)
    report["contamination"] = _contamination_section(
        rejects.get("decontaminate"), extras.get("decontaminate"), "decontaminate" in stages_run
    )
    report["stages_extra"] = {
        stage: S.flatten_numbers(extras[stage]) for stage in S.ordered(extras, S.PIPELINE_STAGES) if extras[stage]
    }
    report["samples"] = _samples(kept, rejects, settings.samples_per_source, settings.seed, settings.sample_chars)

    for name in ("funnel", "reasons", *HIST_COLUMNS, "languages", "dedup_clusters", "contamination", "samples"):
        if S.is_missing(report[name]):
            notes.append(f"{name}: {report[name]['missing']}")
    write_report(out / "report", report, settings.sample_chars)
    log.info("report: wrote %s (%d plots, %d notes)", out / "report" / "index.html", len(report["plots"]), len(notes))
    return report


# --- reading ------------------------------------------------------------------------------------


def _has_parquet(path: Path) -> bool:
    return path.is_dir() and any(path.rglob("*.parquet"))


def _docs(df: DataFrame, stage: str | None, status: str = "kept") -> DataFrame:
    """The columns the report reads, typed; absent columns (a stage not run yet) become nulls."""
    have = set(df.columns)

    def col(name: str, typ: str) -> Column:
        return (F.col(name).cast(typ) if name in have else F.lit(None).cast(typ)).alias(name)

    stage_col = F.col("stage") if "stage" in have and stage is None else F.lit(stage)
    return df.select(
        col("id", "string"),
        col("source", "string"),
        col("origin", "string"),
        col("text", "string"),
        col("lang", "string"),
        col("math_score", "double"),
        col("num_tokens", "long"),
        stage_col.cast("string").alias("stage"),
        col("reason", "string") if status == "dropped" else F.lit(None).cast("string").alias("reason"),
        F.lit(status).alias("status"),
    )


def _read_rejects(spark: SparkSession, out: Path) -> dict[str, DataFrame]:
    """Rejected rows by stage: ``rejects/<stage>/*.parquet``, or flat ``rejects/*.parquet`` + ``stage``."""
    root = out / "rejects"
    if not root.is_dir():
        return {}
    found: dict[str, DataFrame] = {}
    for stage in S.ordered([p.name for p in root.iterdir() if p.is_dir()], S.PIPELINE_STAGES):
        if _has_parquet(root / stage):
            found[stage] = _docs(spark.read.parquet(str(root / stage)), stage, "dropped")
    flat = sorted(root.glob("*.parquet"))
    if flat and not found:
        df = _docs(spark.read.parquet(*[str(p) for p in flat]), None, "dropped")
        for (stage,) in df.select("stage").distinct().collect():
            found[stage] = df.where(F.col("stage") == stage)
    return found


def _all_docs(kept: DataFrame | None, rejects: dict[str, DataFrame]) -> DataFrame | None:
    frames = [f for f in [kept, *rejects.values()] if f is not None]
    if not frames:
        return None
    union = frames[0]
    for f in frames[1:]:
        union = union.unionByName(f)
    return union


def _funnel_from_files(
    spark: SparkSession, out: Path, stages_present: list[str], rejects: dict[str, DataFrame]
) -> dict[str, dict[str, dict[str, Any]]]:
    """The per-stage funnel rebuilt from the files, used only when stats.json is missing."""
    stages: dict[str, dict[str, dict[str, Any]]] = {}
    for stage in S.ordered(set(stages_present) | set(rejects), S.PIPELINE_STAGES):
        per: dict[str, dict[str, Any]] = {}
        if stage in stages_present:
            for src, n in spark.read.parquet(str(out / "stages" / stage)).groupBy("source").count().collect():
                per.setdefault(src, {"in": 0, "kept": 0, "rejected": 0, "reasons": {}})["kept"] = int(n)
        if stage in rejects:
            for src, reason, n in rejects[stage].groupBy("source", "reason").count().collect():
                row = per.setdefault(src, {"in": 0, "kept": 0, "rejected": 0, "reasons": {}})
                row["rejected"] += int(n)
                row["reasons"][reason or "unknown"] = int(n)
        for row in per.values():
            row["in"] = row["kept"] + row["rejected"]
        stages[stage] = per
    return stages


# --- aggregation --------------------------------------------------------------------------------


def _bucket(value: Column, bins: S.Bins) -> Column:
    """The Spark twin of ``Bins.index``: null stays null (counted as "no value")."""
    x = F.log10(F.greatest(value.cast("double"), F.lit(1e-300))) if bins.log else value.cast("double")
    idx = F.floor((x - F.lit(bins.lo)) / F.lit(bins.hi - bins.lo) * F.lit(bins.n))
    clipped = F.least(F.greatest(idx, F.lit(0)), F.lit(bins.n - 1))
    return F.when(value.isNull(), F.lit(None)).otherwise(clipped.cast("string"))


def _grouped_counts(docs: DataFrame, bins: dict[str, S.Bins]) -> pd.DataFrame:
    """One pass over all documents: (status, source, metric, bucket) -> count.

    Each row is exploded into one (metric, bucket) pair per histogram plus its language, so the
    four distributions cost one scan and one small shuffle instead of four.
    """
    pairs = F.array(
        F.struct(F.lit("math_score").alias("metric"), _bucket(F.col("math_score"), bins["math_score"]).alias("bucket")),
        F.struct(F.lit("length_chars").alias("metric"), _bucket(F.length("text"), bins["length_chars"]).alias("bucket")),
        F.struct(F.lit("num_tokens").alias("metric"), _bucket(F.col("num_tokens"), bins["num_tokens"]).alias("bucket")),
        F.struct(F.lit("lang").alias("metric"), F.col("lang").alias("bucket")),
    )
    grouped = (
        docs.select("status", "source", F.explode(pairs).alias("p"))
        .groupBy("status", "source", F.col("p.metric").alias("metric"), F.col("p.bucket").alias("bucket"))
        .count()
    )
    rows = grouped.collect()
    return pd.DataFrame(
        [r.asDict() for r in rows] or None, columns=["status", "source", "metric", "bucket", "count"]
    ).astype({"bucket": "object"})


def _split_reason(df: DataFrame) -> DataFrame:
    return df.select(
        "source",
        F.substring_index("reason", ":", 1).alias("kind"),
        F.when(F.instr("reason", ":") > 0, F.expr("substring(reason, instr(reason, ':') + 1)")).alias("arg"),
    )


def _dedup_section(rejects: DataFrame | None, extra: dict[str, Any] | None, ran: bool) -> dict[str, Any]:
    """Cluster sizes from dedup reasons ``<kind>:<survivor id>``: size = members dropped + 1."""
    if not ran:
        return S.missing("the dedup stage has not run")
    if rejects is None:
        return S.dedup_clusters_section(None, extra or {})
    # One job: clusters sized per (kind, has survivor id); rows without an id only tell us the
    # reasons name no survivor.
    per_cluster = _split_reason(rejects).groupBy("kind", "arg").count()
    sizes = per_cluster.groupBy("kind", F.col("arg").isNull().alias("no_id"), (F.col("count") + 1).alias("size")).agg(
        F.count("*").alias("clusters")
    )
    rows = [r.asDict() for r in sizes.collect()]
    with_id = [r for r in rows if not r["no_id"]]
    if rows and not with_id:
        return S.missing("dedup reasons do not name the surviving document, so clusters cannot be sized")
    frame = pd.DataFrame(with_id or None, columns=["kind", "size", "clusters"])
    return S.dedup_clusters_section(frame, extra or {})


def _contamination_section(rejects: DataFrame | None, extra: dict[str, Any] | None, ran: bool) -> dict[str, Any]:
    if not ran:
        return S.contamination_section(None, extra)
    frame = pd.DataFrame(columns=["benchmark", "source", "count"])
    if rejects is not None:
        hits = (
            _split_reason(rejects)
            .where(F.col("kind") == "contaminated")
            # contaminated:<benchmark>:<item>: the benchmark is the first argument.
            .groupBy(F.coalesce(F.substring_index("arg", ":", 1), F.lit("unknown")).alias("benchmark"), "source")
            .count()
        )
        rows = [r.asDict() for r in hits.collect()]
        if rows:
            frame = pd.DataFrame(rows, columns=["benchmark", "source", "count"])
    return S.contamination_section(frame, extra)


def _samples(
    kept: DataFrame | None, rejects: dict[str, DataFrame], k: int, seed: int, chars: int
) -> dict[str, Any]:
    """k kept and k dropped documents per source, chosen by a seeded hash of the id.

    The same ids come back on every run and every cluster layout (the hash does not depend on
    partitioning, and ties break on the id). One window query serves both statuses.
    """
    if k == 0:
        return S.missing("samples_per_source is 0")
    docs = _all_docs(kept, rejects)
    cols = list(S.SAMPLE_FIELDS)
    if docs is None:
        return S.missing("no documents to sample")
    order = Window.partitionBy("status", "source").orderBy(F.xxhash64(F.lit(seed), F.col("id")), F.col("id"))
    chosen = (
        docs.withColumn("_rank", F.row_number().over(order))
        .where(F.col("_rank") <= k)
        .withColumn("text", F.substring("text", 1, chars))
        .orderBy("status", "source", "_rank")
        .select("status", *cols)
    )
    frame = pd.DataFrame([r.asDict() for r in chosen.collect()], columns=["status", *cols])
    by_status = {st: frame[frame["status"] == st].drop(columns="status") for st in S.STATUSES}
    return S.samples_section(by_status["kept"], by_status["dropped"])
