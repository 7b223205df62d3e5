"""Fewer Spark jobs per stage (issue 9), and the bookkeeping that must not change with them.

The runner folds the funnel and the counter rows into one aggregation, and dedup reads candidate
counts from Parquet footers, collects the scored edges once and sizes driver-solved components
without Spark. Each test compares those numbers with a direct count of what was written (kept and
rejected Parquet), or with the distributed path, on a small real Spark run.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curation.config import parse_config
from curation.dedup import synthetic as syn
from curation.schema import docs_to_batch
from curation.spark.dedup import _parquet_rows
from curation.spark.runner import Runner, RunPlan
from curation.spark.stage_api import FRAME_SPARK_SCHEMA, TransformResult, counters_batch, to_frame_batch
from curation.stats import reason_key

N_PARTS = 3
EXTRA_REASONS = ["not_html:image/png", "lang_not_allowed:fr", "contaminated:gsm8k:17", "contaminated:math:4"]


def _docs() -> list[dict]:
    """Web and book pages with exact, URL and near duplicates (clusters of 2 and 3) and unrelated
    pages; candidate pairs below the Jaccard threshold come from syn.build's edit rates."""
    texts = syn.seeded_texts(24, seed=31)
    pairs, _, _ = syn.build(texts, n_pairs=12, seed=32)
    rows = [
        dict(id=d["id"], source="books" if i % 2 else "web", origin=f"https://p.org/{i}", text=d["text"],
             math_score=0.1 * (i % 7), date="2024-01-01")
        for i, d in enumerate(pairs)
    ]
    base = syn.seeded_texts(4, seed=33, words=(200, 200))
    words = base[0].split()
    rows += [
        # A cluster of three: the base, its last word changed, its first word changed.
        dict(id="tri0", source="web", origin="https://t.org/0", text=base[0], math_score=0.3),
        dict(id="tri1", source="web", origin="https://t.org/1", text=" ".join([*words[:-1], "zzq"]), math_score=0.9),
        dict(id="tri2", source="books", origin="b/2", text=" ".join(["qqz", *words[1:]]), math_score=0.5),
        # Exact duplicates after case folding.
        dict(id="ex1", source="web", origin="https://x.org/1", text=base[1], math_score=0.2),
        dict(id="ex2", source="web", origin="https://x.org/2", text=base[1].upper(), math_score=0.8),
        # One URL crawled twice: the later crawl survives.
        dict(id="u1", source="web", origin="https://www.u.org/a/", text=base[2], date="2024-01-05"),
        dict(id="u2", source="web", origin="http://u.org/a", text=base[3], date="2024-06-01"),
    ]
    return rows


def _extract_for(docs: list[dict]):
    """A fake extract: N_PARTS partitions, each with its share of the documents, a few rejects with
    id-carrying reasons, and one counter row; the counter rows are identical across partitions."""
    parts = [docs[i::N_PARTS] for i in range(N_PARTS)]

    def transform(spark, df, ctx):
        def emit(it):
            for batch in it:
                for part in batch.column("id").to_pylist():
                    rejects = [dict(id=f"rej{part}-{j}", source="web", origin=f"r/{part}/{j}", reason=r)
                               for j, r in enumerate(EXTRA_REASONS)]
                    yield to_frame_batch(docs_to_batch([{**d, "reason": None} for d in parts[part]] + rejects))
                    yield counters_batch(Counter({"batches": 1, "records": 5}))

        frame = spark.range(0, N_PARTS, 1, N_PARTS).mapInArrow(emit, FRAME_SPARK_SCHEMA)
        return TransformResult(frame=frame, extra_stats={"files": N_PARTS})

    return transform


def _cfg(tmp_path: Path, name: str, **dedup):
    (tmp_path / "in.txt").write_text("x")
    data = {"sources": [{"kind": "web", "paths": [str(tmp_path / "in.txt")]}],
            "output": str(tmp_path / name), "dedup": dedup}
    return parse_config(data, tmp_path)


def _jobs_by_stage(spark, stages: list[str]) -> dict[str, set[int]]:
    # Job starts reach the status store through the listener bus; drain it before reading.
    spark.sparkContext._jsc.sc().listenerBus().waitUntilEmpty()
    tracker = spark.sparkContext.statusTracker()
    return {s: set(tracker.getJobIdsForGroup(s)) for s in stages}


def _run(spark, cfg) -> tuple[Path, dict[str, int]]:
    stages = ["extract", "filter", "dedup"]
    before = _jobs_by_stage(spark, stages)
    Runner(spark, cfg, {"extract": _extract_for(_docs())}).run(RunPlan.build(until="dedup", skip={"filter"}))
    after = _jobs_by_stage(spark, stages)
    return Path(cfg.output), {s: len(after[s] - before[s]) for s in stages}


def _written_funnel(out: Path, stage: str) -> dict[str, dict]:
    """The funnel recounted from the Parquet the stage wrote: in = kept + rejected per source."""
    kept = pq.read_table(out / "stages" / stage).column("source").to_pylist()
    rej = pq.read_table(out / "rejects" / stage, columns=["source", "reason"]).to_pylist()
    funnel: dict[str, dict] = {}
    for src in kept:
        e = funnel.setdefault(src, {"in": 0, "kept": 0, "rejected": 0, "reasons": Counter()})
        e["in"] += 1
        e["kept"] += 1
    for r in rej:
        e = funnel.setdefault(r["source"], {"in": 0, "kept": 0, "rejected": 0, "reasons": Counter()})
        e["in"] += 1
        e["rejected"] += 1
        e["reasons"][reason_key(r["reason"])] += 1
    return {src: {**e, "reasons": dict(e["reasons"])} for src, e in funnel.items()}


def _rows(out: Path, kind: str, stage: str) -> list[tuple]:
    t = pq.read_table(out / kind / stage)
    reasons = t.column("reason").to_pylist() if "reason" in t.column_names else [None] * t.num_rows
    return sorted(zip(t.column("id").to_pylist(), reasons, t.column("text").to_pylist(), strict=True),
                  key=repr)


@pytest.fixture(scope="module")
def runs(spark, tmp_path_factory):
    """The same input through dedup on the driver (the default below dedup.driver_max_docs), the
    Spark path with components on the driver (driver_max_docs 0), and the fully distributed one
    (both limits 0)."""
    tmp = tmp_path_factory.mktemp("runner-jobs")
    driver = _run(spark, _cfg(tmp, "driver"))
    distributed = _run(spark, _cfg(tmp, "distributed", driver_max_docs=0, driver_cc_max_edges=0))
    driver_cc = _run(spark, _cfg(tmp, "driver_cc", driver_max_docs=0))
    return driver, distributed, driver_cc


def test_funnel_and_counters_equal_a_count_of_the_written_rows(runs) -> None:
    (out, _), *_ = runs
    n_docs = len(_docs())
    for stage in ("extract", "filter", "dedup"):
        stats = json.loads((out / "stats" / f"{stage}.json").read_text())
        funnel = {src: {**e, "reasons": dict(e["reasons"])} for src, e in stats["funnel"].items()}
        assert funnel == _written_funnel(out, stage), stage
        assert stats["run"]["docs_in"] == sum(e["in"] for e in funnel.values())
    extract = json.loads((out / "stats" / "extract.json").read_text())
    assert extract["funnel"]["web"]["reasons"]["contaminated:gsm8k"] == N_PARTS
    assert sum(e["in"] for e in extract["funnel"].values()) == n_docs + N_PARTS * len(EXTRA_REASONS)
    # Three identical counter rows (one per partition) count three times, not once.
    assert extract["extra"] == {"files": N_PARTS, "counters": {"batches": N_PARTS, "records": 5 * N_PARTS}}


def test_dedup_stats_match_the_rejects(runs) -> None:
    (out, _), *_ = runs
    extra = json.loads((out / "stats" / "dedup.json").read_text())["extra"]
    reasons = pq.read_table(out / "rejects" / "dedup", columns=["reason"]).column("reason").to_pylist()
    by_reason = Counter(r.split(":", 1)[0] for r in reasons)
    assert by_reason["exact_duplicate_of"] == 1 and by_reason["url_duplicate_of"] == 1
    # Every component member but its survivor is rejected as near_duplicate_of:<survivor>.
    members = Counter(r.split(":", 1)[1] for r in reasons if r.startswith("near_duplicate_of:"))
    histogram = Counter(n + 1 for n in members.values())
    assert extra["cluster_sizes"] == {str(k): v for k, v in sorted(histogram.items())}
    assert extra["cluster_sizes"].get("3") == 1  # the hand-made triangle
    assert extra["cc_rounds"] == 0
    # Candidates = verified + dropped; syn.build's low edit rates give pairs on both sides.
    assert extra["candidate_pairs"] > extra["verification_dropped_pairs"] > 0
    assert extra["candidate_pairs"] >= sum(members.values())


def test_driver_and_distributed_dedup_write_the_same_rows(runs) -> None:
    (a, _), (b, _), (c, _) = runs
    for kind in ("stages", "rejects"):
        assert _rows(a, kind, "dedup") == _rows(b, kind, "dedup") == _rows(c, kind, "dedup"), kind
    ea, eb, ec = (json.loads((o / "stats" / "dedup.json").read_text()) for o in (a, b, c))
    assert ea["funnel"] == eb["funnel"] == ec["funnel"]
    assert eb["extra"]["cc_rounds"] >= 1 and ec["extra"]["cc_rounds"] == 0
    assert ea["extra"].pop("on_driver") is True

    def same(extra: dict) -> dict:
        return {k: v for k, v in extra.items() if k != "cc_rounds"}

    assert same(ea["extra"]) == same(eb["extra"]) == same(ec["extra"])


def test_jobs_per_stage(runs) -> None:
    """Job counts on Spark 4 with AQE: a guard against an added count() or collect(). The runner
    runs 3 jobs after a transform (kept write, rejects write, and the funnel's one narrow pass;
    a groupBy there ran two, a map job and a result job); extract and the skipped filter add
    none, and neither does dedup on the driver. The Spark path with components on the driver
    adds 01_keys (1), 02_edges (5: two survivor windows, the bucket window, distinct, write),
    03_verified (3), the scored-edge collect (1), 05_components (1) and the frame's exchanges;
    it ran 36-50 jobs before issue 9 on the race inputs."""
    (_, jobs), _, (_, jobs_cc) = runs
    assert jobs["extract"] == 3
    assert jobs["filter"] == 3
    assert jobs["dedup"] == 3
    assert jobs_cc["dedup"] <= 21


def test_parquet_rows_counts_what_spark_wrote(spark, tmp_path: Path) -> None:
    df = spark.range(0, 1234, 1, 5).selectExpr("cast(id as string) as src")
    df.write.parquet(str(tmp_path / "p"))
    assert _parquet_rows(tmp_path / "p") == 1234 == spark.read.parquet(str(tmp_path / "p")).count()
    empty = spark.range(0).selectExpr("cast(id as string) as src")
    empty.write.parquet(str(tmp_path / "e"))
    assert _parquet_rows(tmp_path / "e") == 0
