"""The dedup stage on Spark: reasons, survivors, agreement with the in-process algorithm, CC."""

from __future__ import annotations

from pathlib import Path

import pytest

from curation.config import PipelineConfig
from curation.dedup import synthetic as syn
from curation.dedup.local import near_duplicates
from curation.dedup.settings import DedupSettings
from curation.schema import DOC_SCHEMA, docs_to_batch
from curation.spark.connected_components import connected_components, driver_components
from curation.spark.stage_api import FRAME_SCHEMA, StageContext

FORUM_POST = " ".join(syn.seeded_texts(1, seed=99, words=(220, 220)))
CHINESE = "设函数在闭区间上连续，在开区间内可导，则存在一点使得导数等于函数在两端点的差商。" * 4


def _rows() -> tuple[list[dict], list[syn.Case], list[str]]:
    docs, cases, alone = syn.build(syn.seeded_texts(60, seed=11), n_pairs=40, seed=12)
    rows = [
        dict(id=d["id"], source="books", origin=f"file{i}", text=d["text"], math_score=0.5)
        for i, d in enumerate(docs)
    ]
    base = syn.seeded_texts(3, seed=21)
    rows += [
        # Exact duplicates after case/whitespace folding: the higher math score survives.
        dict(id="ex1", source="web", origin="https://a.org/1", text=base[0], math_score=0.2),
        dict(id="ex2", source="web", origin="https://a.org/2", text=base[0].upper() + "\n", math_score=0.9),
        # The same URL crawled twice: the more recent crawl survives.
        dict(id="url1", source="web", origin="https://www.b.org/x/", text=base[1], date="2024-01-05"),
        dict(id="url2", source="web", origin="http://b.org/x", text=base[2], date="2024-06-01"),
        # A web page that copies a forum post, with a header and footer around it.
        dict(
            id="zz_web",
            source="web",
            origin="https://c.org/p",
            text=syn.HEADERS[0] + "\n" + FORUM_POST + "\n" + syn.FOOTERS[0],
        ),
        dict(id="aa_forum", source="forums", origin="post/1", text=FORUM_POST, math_score=0.1),
        # Chinese near duplicates (character shingles); the higher score wins over the smaller id.
        dict(id="zh1", source="web", origin="https://d.cn/1", text=CHINESE, math_score=0.3),
        dict(
            id="zh2",
            source="web",
            origin="https://d.cn/2",
            text=CHINESE.replace("连续", "连绵", 1),
            math_score=0.8,
        ),
        dict(id="empty1", source="web", origin="https://e.org/1", text=""),
        dict(id="empty2", source="web", origin="https://e.org/2", text=""),
    ]
    return rows, cases, alone


@pytest.fixture(scope="module")
def result(spark, tmp_path_factory):
    from curation.spark.dedup import transform

    rows, cases, alone = _rows()
    df = spark.createDataFrame(docs_to_batch(rows, DOC_SCHEMA).to_pandas()).repartition(3)
    out = tmp_path_factory.mktemp("dedup")
    cfg = PipelineConfig(sources=[{"kind": "web", "paths": ["unused"]}], output=str(out))
    res = transform(spark, df, StageContext(cfg=cfg, stage="dedup", output_dir=out, work_dir=out / "work"))
    got = res.frame.collect()
    return rows, cases, alone, res, got


def test_every_row_once_with_frame_columns(result) -> None:
    rows, _, _, res, got = result
    assert res.frame.columns == FRAME_SCHEMA.names
    assert sorted(r["id"] for r in got) == sorted(r["id"] for r in rows)


def test_reasons_for_exact_url_cross_source_and_chinese(result) -> None:
    *_, got = result
    reason = {r["id"]: r["reason"] for r in got}
    assert reason["ex1"] == "exact_duplicate_of:ex2" and reason["ex2"] is None
    assert reason["url1"] == "url_duplicate_of:url2" and reason["url2"] is None
    assert reason["zz_web"] == "near_duplicate_of:aa_forum" and reason["aa_forum"] is None
    assert reason["zh1"] == "near_duplicate_of:zh2" and reason["zh2"] is None
    # Empty texts have no key and no shingles: nothing to compare, both kept.
    assert reason["empty1"] is None and reason["empty2"] is None


def test_near_duplicates_agree_with_in_process_algorithm_and_recall(result) -> None:
    rows, cases, alone, res, got = result
    syn_rows = [r for r in rows if r["source"] == "books"]
    expected, counters = near_duplicates(
        [r["id"] for r in syn_rows], [r["text"] for r in syn_rows], [0.5] * len(syn_rows), DedupSettings()
    )
    reason = {r["id"]: r["reason"] for r in got}
    assert {i: reason[i] for i in expected} == expected
    m = syn.score({i: reason[i] for i in expected}, cases, alone)
    assert m.precision >= 0.95 and m.recall >= 0.9 and m.unrelated_fp_rate <= 0.01, m
    st = res.extra_stats
    assert (st["bands"], st["rows"], st["threshold"]) == (14, 9, 0.8)
    assert st["candidate_pairs"] >= counters["candidate_pairs"]  # plus the hand-made pairs
    n_near = sum(1 for r in got if (r["reason"] or "").startswith("near_duplicate_of:"))
    assert sum((int(k) - 1) * v for k, v in st["cluster_sizes"].items()) == n_near


@pytest.mark.parametrize("on_driver", [False, True])
def test_connected_components_large_small_star(spark, tmp_path: Path, on_driver: bool) -> None:
    # A chain written from the far end, a star, a pair, and a cycle: ids are compared as strings.
    # The distributed large-star/small-star rounds, and union-find on the driver.
    chain = [("e", "d"), ("d", "c"), ("c", "b"), ("b", "a")]
    star = [("s1", "s0"), ("s2", "s0"), ("s0", "s3")]
    cycle = [("x1", "x2"), ("x2", "x3"), ("x3", "x1")]
    edges = spark.createDataFrame(
        chain + star + [("p2", "p1")] + cycle, "src string, dst string"
    ).repartition(2)
    if on_driver:
        got = driver_components(edges)
    else:
        comps, rounds = connected_components(edges, tmp_path)
        got = {r["id"]: r["component"] for r in comps.collect()}
        assert 1 <= rounds <= 10
    expected = {**{n: "a" for n in "abcde"}, **{f"s{i}": "s0" for i in range(4)}, "p1": "p1", "p2": "p1"}
    expected.update({f"x{i}": "x1" for i in (1, 2, 3)})
    assert got == expected


def test_driver_and_distributed_components_agree_on_a_random_graph(spark, tmp_path: Path) -> None:
    """Union-find on the driver and the Spark rounds give the same components (random forest of
    chains, stars and cycles over 600 ids)."""
    import random

    rng = random.Random(7)
    ids = [f"{i:04x}" for i in range(600)]
    edges = [(rng.choice(ids), rng.choice(ids)) for _ in range(450)]
    df = spark.createDataFrame(edges, "src string, dst string")
    dist, _ = connected_components(df, tmp_path / "dist")
    local = driver_components(df)
    assert {r["id"]: r["component"] for r in dist.collect()} == local
    assert len(set(local.values())) > 10


def _tie_rows() -> list[dict]:
    """Survivor-rule corner cases: equal, null and NaN scores; equal, null and empty dates; a URL
    shared by an exact-duplicate loser (which must not take part in the URL vote)."""
    base = syn.seeded_texts(8, seed=31)
    nan = float("nan")
    return [
        dict(id="t_b", source="web", origin="https://t.org/b1", text=base[0], math_score=0.5),
        dict(id="t_a", source="web", origin="https://t.org/a1", text=base[0], math_score=0.5),
        dict(id="t_c", source="web", origin="https://t.org/c1", text=base[0], math_score=None),
        dict(id="n_a", source="books", origin="n1", text=base[1], math_score=0.9),
        dict(id="n_b", source="books", origin="n2", text=base[1], math_score=nan),
        dict(id="n_c", source="books", origin="n3", text=base[1], math_score=None),
        dict(id="u_a", source="web", origin="https://u.org/p", text=base[2], date=None, math_score=0.9),
        dict(id="u_b", source="web", origin="https://u.org/p/", text=base[3], date="2024-01-01", math_score=0.1),
        dict(id="u_c", source="web", origin="http://www.u.org/p", text=base[4], date="2024-01-01", math_score=0.2),
        dict(id="u_d", source="web", origin="https://u.org/p#x", text=base[5], date="", math_score=0.95),
        # v_a loses on its text to v_z; v_z's URL is its own, so v_b keeps the URL of v_a.
        dict(id="v_a", source="web", origin="https://v.org/q", text=base[6], date="2025-01-01", math_score=0.1),
        dict(id="v_z", source="web", origin="https://v.org/other", text=base[6], math_score=0.7),
        dict(id="v_b", source="web", origin="https://v.org/q", text=base[7], date="2020-01-01"),
    ]


def test_driver_dedup_gives_the_spark_paths_reasons_and_stats(spark, tmp_path: Path) -> None:
    """The same input folder through the Spark path and the driver path (dedup.driver_max_docs):
    identical reasons for every document and identical statistics."""
    from curation.spark.dedup import transform

    rows, _, _ = _rows()
    rows += _tie_rows()
    # Written with pyarrow, in three files: Spark's pandas conversion would turn NaN into null.
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "stages" / "filter"
    folder.mkdir(parents=True)
    table = pa.Table.from_batches([docs_to_batch(rows, DOC_SCHEMA)])
    for i in range(3):
        pq.write_table(table.slice(i * 40, 40 if i < 2 else None), folder / f"{i}.parquet")
    cfg = PipelineConfig(sources=[{"kind": "web", "paths": ["unused"]}], output=str(tmp_path))
    got = {}
    for mode, path in (("spark", None), ("driver", folder)):
        ctx = StageContext(cfg=cfg, stage="dedup", output_dir=tmp_path, work_dir=tmp_path / mode, input_path=path)
        res = transform(spark, spark.read.parquet(str(folder)), ctx)
        got[mode] = ({r["id"]: r["reason"] for r in res.frame.collect()}, res.extra_stats)
    (spark_reasons, spark_stats), (driver_reasons, driver_stats) = got["spark"], got["driver"]
    assert driver_stats.pop("on_driver") is True and "on_driver" not in spark_stats
    assert driver_reasons == spark_reasons
    assert driver_stats == spark_stats
    # The corner cases resolve as the rules say (and both paths agree on them, above).
    assert driver_reasons["t_b"] == "exact_duplicate_of:t_a" and driver_reasons["t_c"] == "exact_duplicate_of:t_a"
    assert driver_reasons["n_a"] == "exact_duplicate_of:n_b"  # Spark sorts NaN above every number
    # Same date: the higher score; an empty date sorts below every date, a null one below it.
    assert driver_reasons["u_c"] is None and driver_reasons["u_b"] == "url_duplicate_of:u_c"
    assert driver_reasons["u_a"] == "url_duplicate_of:u_c" and driver_reasons["u_d"] == "url_duplicate_of:u_c"
    assert driver_reasons["v_a"] == "exact_duplicate_of:v_z" and driver_reasons["v_b"] is None
    assert sum((r or "").startswith("near_duplicate_of:") for r in driver_reasons.values()) >= 10


def test_driver_dedup_only_below_its_limit(spark, tmp_path: Path) -> None:
    from curation.spark.dedup import _driver_docs

    folder = tmp_path / "in"
    spark.createDataFrame([(str(i),) for i in range(30)], "id string").repartition(2).write.parquet(str(folder))
    assert _driver_docs(folder, 30) == 30
    assert _driver_docs(folder, 29) is None
    assert _driver_docs(folder, 0) is None  # 0 turns the driver path off
    assert _driver_docs(None, 100) is None and _driver_docs(tmp_path / "missing", 100) is None


def test_driver_dedup_of_an_empty_input_reports_the_spark_paths_zero_stats(spark, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from curation.spark.dedup import transform

    folder = tmp_path / "stages" / "filter"
    folder.mkdir(parents=True)
    pq.write_table(DOC_SCHEMA.empty_table(), folder / "part-00000.parquet")
    cfg = PipelineConfig(sources=[{"kind": "web", "paths": ["unused"]}], output=str(tmp_path))
    got = {}
    for mode, path in (("spark", None), ("driver", folder)):
        ctx = StageContext(cfg=cfg, stage="dedup", output_dir=tmp_path, work_dir=tmp_path / mode, input_path=path)
        res = transform(spark, spark.read.schema(spark.read.parquet(str(folder)).schema).parquet(str(folder)), ctx)
        assert res.frame.collect() == []
        got[mode] = res.extra_stats
    assert got["driver"].pop("on_driver") is True
    assert got["driver"] == got["spark"]
    assert got["driver"]["candidate_pairs"] == 0 and got["driver"]["verification_dropped_pairs"] == 0
