"""The report stage: pure section code, then Spark over a hand-made output folder with known counts."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.config import parse_config
from curation.report import sections as S
from curation.schema import DOC_SCHEMA, REJECT_SCHEMA, docs_to_batch
from curation.stats import reason_key

# --- pure functions -----------------------------------------------------------------------------


def test_reason_group_keeps_benchmark_but_not_ids():
    assert S.reason_group("near_duplicate_of:ab12") == "near_duplicate_of"
    assert S.reason_group("contaminated:gsm8k") == "contaminated:gsm8k"
    assert S.reason_group("contaminated:gsm8k:test-17") == "contaminated:gsm8k"
    assert S.reason_group("lang_not_allowed") == "lang_not_allowed"


def test_funnel_flags_broken_accounting():
    f = S.funnel_section(
        {
            "filter": {"web": {"in": 10, "kept": 7, "rejected": 3}, "code": {"in": 5, "kept": 5, "rejected": 0}},
            "extract": {"web": {"in": 12, "kept": 10, "rejected": 1}},
        }
    )
    assert f["stages"] == ["extract", "filter"]  # pipeline order, not dict order
    assert f["sources"] == ["web", "code"]
    assert f["by_stage"]["filter"] == {"in": 15, "kept": 12, "rejected": 3}
    assert f["accounting_ok"] == {"extract": False, "filter": True}


def test_bins_clip_and_log_edges():
    b = S.math_score_bins(20)
    assert [b.index(v) for v in (0.0, 0.049, 0.05, 0.51, 1.0, 1.7, -0.2)] == [0, 0, 1, 10, 19, 19, 0]
    lb = S.length_bins(7, 7.0)
    assert lb.edges() == [1, 10, 100, 1000, 10_000, 100_000, 1_000_000, 10_000_000]
    assert [lb.index(v) for v in (0, 1, 9, 10, 150, 10**9)] == [0, 0, 0, 1, 2, 6]


def test_histogram_section_missing_when_column_empty():
    import pandas as pd

    empty = pd.DataFrame(columns=["status", "source", "bucket", "count"])
    assert S.is_missing(S.histogram_section(empty, S.math_score_bins(4), "math_score", {"kept": 3}))


def test_dedup_section_tells_not_run_from_no_duplicates():
    import pandas as pd

    assert S.is_missing(S.dedup_clusters_section(None, None))
    assert S.dedup_clusters_section(None, {}) == {"sizes": {}, "clusters": 0, "documents_removed": 0}
    sizes = pd.DataFrame({"kind": ["near_duplicate_of", "near_duplicate_of"], "size": [2, 5], "clusters": [3, 1]})
    assert S.dedup_clusters_section(sizes, {}) == {
        "sizes": {"near_duplicate": {"2": 3, "5": 1}}, "clusters": 4, "documents_removed": 7
    }


# --- a hand-made output folder ------------------------------------------------------------------

# Kept documents after the shard stage: (id, source, text length, lang, math_score, num_tokens).
KEPT = [
    ("k-web-1", "web", 50, "en", 0.92, 12),
    ("k-web-2", "web", 500, "en", 0.71, 130),
    ("k-web-3", "web", 5000, "zh", 0.97, 1300),
    ("k-books-1", "books", 20000, "en", 0.88, 5000),
    ("k-books-2", "books", 300, "en", 0.66, 80),
]
# Rejected documents: (id, source, stage, reason, lang, math_score, num_tokens, text length).
REJECTS = [
    ("r-ext-1", "web", "extract", "not_html:image/png", None, None, None, 0),
    ("r-fil-1", "web", "filter", "lang_not_allowed", "fr", 0.12, 40, 200),
    ("r-fil-2", "books", "filter", "math_score_below_threshold", "en", 0.31, 70, 300),
    ("r-fil-3", "web", "filter", "math_score_below_threshold", "en", 0.02, 30, 120),
    ("r-dup-1", "web", "dedup", "near_duplicate_of:k-web-1", "en", 0.91, 12, 52),
    ("r-dup-2", "web", "dedup", "near_duplicate_of:k-web-1", "en", 0.93, 12, 51),
    ("r-dup-3", "books", "dedup", "exact_duplicate_of:k-books-2", "en", 0.66, 80, 300),
    ("r-con-1", "web", "decontaminate", "contaminated:gsm8k:test-3", "en", 0.8, 90, 400),
    ("r-con-2", "books", "decontaminate", "contaminated:gsm8k:test-9", "en", 0.8, 90, 400),
    ("r-con-3", "web", "decontaminate", "contaminated:math:12", "en", 0.85, 95, 420),
]


def _funnel() -> dict:
    """stats.json as the runner writes it, consistent with KEPT and REJECTS above."""
    kept_after = {"web": 3, "books": 2}
    order = ["extract", "filter", "dedup", "decontaminate", "shard"]
    stages = {}
    for i, stage in enumerate(order):
        per = {}
        for src in ("web", "books"):
            rej = [r for r in REJECTS if r[1] == src and r[2] == stage]
            later = [r for r in REJECTS if r[1] == src and r[2] in order[i + 1 :]]
            kept = kept_after[src] + len(later)
            reasons: dict[str, int] = {}
            for r in rej:
                key = reason_key(r[3])  # the runner's key: ids and items dropped
                reasons[key] = reasons.get(key, 0) + 1
            per[src] = {"in": kept + len(rej), "kept": kept, "rejected": len(rej), "reasons": reasons}
        stages[stage] = per
    return stages


def _write_output(root: Path, with_stats: bool = True) -> Path:
    out = root / "out"
    (out / "stages" / "shard").mkdir(parents=True)
    kept_rows = [
        {"id": i, "source": s, "origin": f"o/{i}", "text": "x" * n, "lang": lg, "math_score": m, "num_tokens": t,
         "meta": {"k": 1}}
        for i, s, n, lg, m, t in KEPT
    ]
    pq.write_table(pa.Table.from_batches([docs_to_batch(kept_rows, DOC_SCHEMA)]), out / "stages/shard/part-0.parquet")
    (out / "stages/shard/_SUCCESS").write_text("fp")
    for stage in ("extract", "filter", "dedup", "decontaminate"):
        rows = [
            {"id": i, "source": s, "origin": f"o/{i}", "text": "y" * n, "lang": lg, "math_score": m,
             "num_tokens": t, "stage": st, "reason": why}
            for i, s, st, why, lg, m, t, n in REJECTS
            if st == stage
        ]
        (out / "rejects" / stage).mkdir(parents=True)
        table = pa.Table.from_batches([docs_to_batch(rows, REJECT_SCHEMA)])
        pq.write_table(table, out / "rejects" / stage / "part-0.parquet")
    if with_stats:
        extra = {"dedup": {"exact": {"clusters": 1}, "minhash": {"bands": 14, "rows": 8}},
                 "decontaminate": {"index": {"benchmarks": {"gsm8k": 1319, "math": 5000, "svamp": 300}},
                                   "contamination": {"gsm8k": {"docs": 2}, "math": {"docs": 1}}}}
        (out / "stats.json").write_text(json.dumps({"stages": _funnel(), "stages_extra": extra}))
    return out


def _ctx(out: Path, **report_settings):
    from curation.spark.stage_api import StageContext

    cfg = parse_config(
        {"sources": [{"kind": "web", "paths": ["x.warc.gz"]}], "output": str(out), "report": report_settings}, out
    )
    return StageContext(cfg=cfg, stage="report", output_dir=out, work_dir=out / "_work")


@pytest.fixture(scope="module")
def built(spark, tmp_path_factory):
    from curation.spark.report import build

    out = _write_output(tmp_path_factory.mktemp("report"))
    report = build(spark, _ctx(out, samples_per_source=2, math_score_bins=10, length_bins=7, length_log10_max=7.0))
    return out, report


def test_report_numbers_match_the_written_documents(built):
    out, report = built
    assert report["final_stage"] == "shard"
    assert report["funnel"]["by_stage"]["extract"] == {"in": 15, "kept": 14, "rejected": 1}
    assert report["funnel"]["by_stage"]["shard"] == {"in": 5, "kept": 5, "rejected": 0}
    assert all(report["funnel"]["accounting_ok"].values())
    assert report["reasons"]["by_stage"]["dedup"] == {"near_duplicate": 2, "exact_duplicate": 1}
    assert report["reasons"]["by_stage"]["decontaminate"] == {"contaminated:gsm8k": 2, "contaminated:math": 1}
    # math_score in 10 bins: kept web 0.92, 0.71, 0.97 -> bins 9, 7, 9.
    assert report["math_score"]["counts"]["kept"]["web"] == [0, 0, 0, 0, 0, 0, 0, 1, 0, 2]
    assert report["math_score"]["counts"]["kept"]["books"] == [0, 0, 0, 0, 0, 0, 1, 0, 1, 0]
    # Dropped web with a score: 0.12, 0.02, 0.91, 0.93, 0.8, 0.85; the extract reject has none.
    assert report["math_score"]["counts"]["dropped"]["web"] == [1, 1, 0, 0, 0, 0, 0, 0, 2, 2]
    assert report["math_score"]["nulls"] == {"dropped": 1}
    # Lengths in decades: kept web 50, 500, 5000 -> bins 1, 2, 3.
    assert report["length_chars"]["counts"]["kept"]["web"] == [0, 1, 1, 1, 0, 0, 0]
    assert report["num_tokens"]["counts"]["kept"]["books"] == [0, 1, 0, 1, 0, 0, 0]
    assert report["languages"]["kept_total"] == {"en": 4, "zh": 1}
    assert report["languages"]["counts"]["dropped"]["web"] == {"en": 5, "(none)": 1, "fr": 1}
    assert report["dedup_clusters"]["sizes"] == {"exact_duplicate": {"2": 1}, "near_duplicate": {"3": 1}}
    assert report["dedup_clusters"]["documents_removed"] == 3
    # svamp was checked (stages_extra) and matched nothing: shown with 0.
    assert report["contamination"]["by_benchmark"] == {"gsm8k": 2, "math": 1, "svamp": 0}
    assert report["contamination"]["by_benchmark_source"]["gsm8k"] == {"web": 1, "books": 1}
    assert report["stages_extra"]["dedup"] == {"exact.clusters": 1, "minhash.bands": 14, "minhash.rows": 8}
    assert report["plots"] == list(S_PLOTS)
    assert report["notes"] == []
    on_disk = json.loads((out / "report" / "stats.json").read_text())
    assert on_disk["funnel"] == report["funnel"]


S_PLOTS = ("funnel", "reasons", "math_score", "length_chars", "num_tokens", "languages", "dedup_clusters", "contamination")


def _frames(spark, out: Path):
    from curation.spark.report import _docs, _read_rejects

    return _docs(spark.read.parquet(str(out / "stages" / "shard")), "shard"), _read_rejects(spark, out)


def test_samples_are_seeded_per_source_and_stable(spark, built):
    from curation.spark.report import _samples

    out, report = built
    kept_ids = {i for i, *_ in KEPT}
    dropped_ids = {r[0] for r in REJECTS}
    for src, n_kept, n_dropped in (("web", 3, 7), ("books", 2, 3)):
        kept = [r["id"] for r in report["samples"][src]["kept"]]
        dropped = [r["id"] for r in report["samples"][src]["dropped"]]
        assert len(kept) == min(2, n_kept) and set(kept) <= kept_ids
        assert len(dropped) == min(2, n_dropped) and set(dropped) <= dropped_ids
        assert all(r["reason"] for r in report["samples"][src]["dropped"])
    # Samples alone (the rest of build is tested above): same seed, same draw; other seed, other draw.
    kept_df, rejects = _frames(spark, out)
    again = _samples(kept_df, rejects, 2, 20251123, 600)
    assert again == report["samples"]
    other_seed = {"samples": _samples(kept_df, rejects, 2, 7, 600)}
    picks = lambda rep: [r["id"] for src in rep["samples"].values() for r in src["dropped"]]  # noqa: E731
    # Different seed, different draw (web has 7 dropped docs to choose 2 from).
    assert picks(other_seed) != picks(report)


def test_partial_output_reports_what_is_missing(spark, tmp_path):
    """Only extract has run, its rows have no scores yet, and there is no stats.json."""
    from curation.spark.report import build

    out = tmp_path / "out"
    (out / "stages" / "extract").mkdir(parents=True)
    rows = [{"id": f"e{i}", "source": "web", "origin": f"u{i}", "text": "t" * (10 * i + 1)} for i in range(4)]
    # Written with only four columns: what an early extract could produce.
    pq.write_table(pa.Table.from_pylist(rows), out / "stages" / "extract" / "part-0.parquet")
    report = build(spark, _ctx(out))
    assert report["funnel"]["by_stage"] == {"extract": {"in": 4, "kept": 4, "rejected": 0}}
    for name in ("math_score", "num_tokens", "languages", "dedup_clusters", "contamination", "reasons"):
        assert S.is_missing(report[name]), name
    # Lengths 1, 11, 21, 31 in 24 log bins of width 7/24 decades: bins 0, 3, 4, 5.
    assert report["length_chars"]["counts"]["kept"]["web"][:7] == [1, 0, 0, 1, 1, 1, 0]
    assert any("stats.json is absent" in n for n in report["notes"])
    html = (out / "report" / "index.html").read_text()
    for name in ("math_score", "languages", "dedup_clusters", "contamination"):
        assert f'data-missing="{name}"' in html
    assert report["plots"] == ["funnel", "length_chars"]


# --- the rendered page, in a real headless Chromium ----------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1200,900",
]


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip("Debian's chromium and chromium-driver are not installed (apt-get install -y chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"]:
        opts.add_argument(flag)
    # An explicit driver path: Selenium Manager (which would try to download one) never runs.
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=opts)
    yield driver
    driver.quit()


def _resolve(doc, ptr: str):
    for part in ptr.lstrip("/").split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc


def _numeric_leaves(obj, path=""):
    if isinstance(obj, bool):
        return
    if isinstance(obj, int | float):
        yield path, obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _numeric_leaves(v, f"{path}/{str(k).replace('~', '~0').replace('/', '~1')}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _numeric_leaves(v, f"{path}/{i}")


def test_report_renders_in_chromium_with_every_plot_and_the_stats_numbers(built, browser):
    out, _ = built
    page = out / "report" / "index.html"
    stats = json.loads((out / "report" / "stats.json").read_text())
    html = page.read_text()
    # Self-contained: no external script, stylesheet, image or font.
    assert "<script" not in html and "<link" not in html and 'src="http' not in html and "url(" not in html

    browser.get(page.as_uri())
    assert browser.execute_script("return document.readyState") == "complete"
    assert browser.title == "Math corpus data-quality report"

    # Every plot is an <img> the browser decoded (naturalWidth > 0) and shows.
    for name in S_PLOTS:
        img = browser.find_element("css selector", f'img[data-plot="{name}"]')
        width, height = browser.execute_script(
            "const i = arguments[0]; return i.complete ? [i.naturalWidth, i.naturalHeight] : [0, 0];", img
        )
        assert width > 300 and height > 100, name
        assert img.is_displayed() and img.size["width"] > 300, name
    assert not browser.find_elements("css selector", "[data-missing]")

    # Every number the page shows equals the one in stats.json at its pointer...
    shown = browser.execute_script(
        "return Array.from(document.querySelectorAll('[data-stat]')).map(e => [e.dataset.stat, e.textContent]);"
    )
    seen = set()
    for ptr, text in shown:
        value = _resolve(stats, ptr)
        assert float(text.replace(",", "")) == pytest.approx(value, abs=5e-5), ptr
        seen.add(ptr)
    # ...and every number of these sections of stats.json is shown.
    sections = ("funnel", "reasons", "math_score", "length_chars", "num_tokens", "languages", "dedup_clusters",
                "contamination", "stages_extra")
    expected = {p for name in sections for p, _ in _numeric_leaves(stats[name], f"/{name}")}
    expected -= {p for p in expected if p.startswith(("/math_score/edges", "/length_chars/edges", "/num_tokens/edges"))}
    assert expected - seen == set()
    # The funnel table is visible, not just present: its rendered text holds the numbers.
    cell = browser.find_element("css selector", '[data-stat="/funnel/by_stage/extract/in"]')
    assert cell.is_displayed() and cell.text == "15"

    # The samples shown are the ones in stats.json, in order.
    ids = browser.execute_script(
        "return Array.from(document.querySelectorAll('[data-sample-id]')).map(e => e.dataset.sampleId);"
    )
    assert ids == [r["id"] for src in stats["samples"].values() for st in ("kept", "dropped") for r in src[st]]
    assert len(ids) == 8
