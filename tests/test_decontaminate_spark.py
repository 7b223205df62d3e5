"""The decontaminate stage on Spark: broadcast index, reasons, counters, the contamination table."""

from __future__ import annotations

import json

import pytest
from conftest import REPO

from curation.config import parse_config
from curation.schema import DOC_SCHEMA, docs_to_batch, loads_meta

GSM8K_5 = (
    "Kylar went to the store to buy glasses for his new apartment. One glass costs $5, but every "
    "second glass costs only 60% of the price. Kylar wants to buy 16 glasses. How much does he need "
    "to pay for them?"
)
CMATH_5 = "妈妈和小丽在家包饺子，妈妈包了15个，丽丽包了3个。丽丽还要包几个饺子才与妈妈一样多？"
FILLER = "The manual explains each option of the solver and gives a default for each one of them.\n" * 3


def _run(spark, tmp_path, mode: str, benchmarks: str | None):
    from curation.spark.decontaminate import transform
    from curation.spark.stage_api import StageContext

    rows = [
        {"id": "clean", "source": "web", "origin": "u0", "text": FILLER},
        {"id": "gsm", "source": "forums", "origin": "u1", "text": FILLER + GSM8K_5 + "\n" + FILLER},
        {"id": "zh", "source": "web", "origin": "u2", "text": "练习：" + CMATH_5},
        {"id": "none", "source": "books", "origin": "u3", "text": None},
    ]
    df = spark.createDataFrame(docs_to_batch(rows, DOC_SCHEMA).to_pandas()).repartition(2)
    # Only the two registered sets (discover off): the other folders would be read with inferred
    # specs otherwise (tests/test_benchmark_discovery.py).
    decon = {"mode": mode, "min_chars_after_span": 50, "discover": False,
             "benchmarks": {"gsm8k": {"fields": ["question", "answer"], "id_field": "idx"},
                            "cmath": {"fields": ["question"], "language": "zh"}}}
    data = {"sources": [{"kind": "web", "paths": ["unused"]}], "output": str(tmp_path), "decontaminate": decon}
    if benchmarks:
        data["benchmarks"] = benchmarks
    cfg = parse_config(data, tmp_path)
    res = transform(spark, df, StageContext(cfg=cfg, stage="decontaminate", output_dir=tmp_path, work_dir=tmp_path / "w"))
    got = res.frame.collect()
    return res, got


def test_spark_remove_document(spark, tmp_path) -> None:
    res, got = _run(spark, tmp_path, "remove-document", str(REPO / "data" / "benchmarks"))
    docs = {r["id"]: r for r in got if r["id"] is not None}
    assert {k: r["reason"] for k, r in docs.items()} == {
        "clean": None, "gsm": "contaminated:gsm8k:5", "zh": "contaminated:cmath:5", "none": None,
    }
    counters: dict[str, int] = {}
    for r in got:
        if r["_counters"]:
            for k, v in json.loads(r["_counters"]).items():
                counters[k] = counters.get(k, 0) + v
    assert counters["docs_scanned"] == 4
    assert counters["contaminated_docs:gsm8k"] == 1 and counters["contaminated_docs:cmath"] == 1
    table = res.extra_stats["contamination"]
    assert set(table) == {"cmath", "gsm8k"}
    assert table["gsm8k"]["docs"] == 1 and table["gsm8k"]["examples"][0]["origin"] == "u1"
    assert "kylar" in table["gsm8k"]["examples"][0]["snippet"]
    assert res.extra_stats["index"]["items"] == 1319 + 600
    assert res.extra_stats["index"]["memory_bytes"] > 0


def test_spark_remove_span_with_default_benchmark_folder(spark, tmp_path) -> None:
    res, got = _run(spark, tmp_path, "remove-span", None)  # None: the repo's data/benchmarks
    docs = {r["id"]: r for r in got if r["id"] is not None}
    assert docs["gsm"]["reason"] is None
    assert docs["gsm"]["text"] == FILLER * 2
    assert loads_meta(docs["gsm"]["meta"])["decontaminate"]["item"] == "5"
    assert docs["zh"]["reason"] == "contaminated:cmath:5"  # nothing left after the cut
    assert res.extra_stats["contamination"]["gsm8k"]["span_cut_docs"] == 1


def test_missing_benchmark_folder_fails_on_the_driver(spark, tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="benchmark folder not found"):
        _run(spark, tmp_path, "remove-document", str(tmp_path / "absent"))
