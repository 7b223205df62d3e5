"""Evaluate the math classifier on web pages held out by domain, and on Chinese benchmark questions.

Leave-one-domain-out: for each web site (one Debian documentation package = one host), a model is
trained on every seed except that site's pages and scores that site's pages; the scores of all
folds are pooled. No page is ever scored by a model that saw its site, so the figures say how the
classifier does on sites it has never met, which is the situation on a crawl.

    .venv/bin/python -m classifiers.evaluate --seeds output/classifier/seeds.jsonl \
        [--threshold 0.5] [--corrections classifiers/label_corrections.jsonl] [--dump-errors DIR]

Also scores the shipped model (``--model``) on cmath and cn_middle_school questions (all math:
only recall is defined) as an evaluation of Chinese; those sets are never used for training.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.fasttext_model import load_examples, math_probability, train
from classifiers.metrics import format_report, prf

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "curation" / "assets" / "models" / "math_classifier.ftz"


def leave_one_domain_out(examples: list[dict[str, Any]], quantize: bool = False) -> list[dict[str, Any]]:
    """Score every web page with a model that never saw its domain; returns the web rows + score."""
    web_domains = sorted({e["domain"] for e in examples if e["source"] == "web"})
    scored = []
    for domain in web_domains:
        held = [e for e in examples if e["source"] == "web" and e["domain"] == domain]
        rest = [e for e in examples if not (e["source"] == "web" and e["domain"] == domain)]
        model = train(rest, quantize=quantize)
        scores = math_probability(model, [e["text"] for e in held])
        for e, s in zip(held, scores, strict=True):
            scored.append({**e, "score": float(s)})
        m = prf(np.array([e["label"] == "math" for e in held]), scores, 0.5)
        print(f"fold {domain:28s} n={len(held):4d}  P={m['precision']:.3f} R={m['recall']:.3f}  "
              f"fp={m['fp']} fn={m['fn']}", flush=True)
    return scored


def site_table(scored: list[dict[str, Any]], threshold: float) -> str:
    """Per-site precision/recall of the pooled held-out scores (one row per held-out site)."""
    lines = [f"{'site':28s} {'n':>5s} {'math':>5s} {'P':>6s} {'R':>6s} {'fp':>4s} {'fn':>4s}"]
    for domain in sorted({e["domain"] for e in scored}):
        rows = [e for e in scored if e["domain"] == domain]
        y = np.array([e["label"] == "math" for e in rows])
        m = prf(y, np.array([e["score"] for e in rows]), threshold)
        p = f"{m['precision']:.3f}" if m["tp"] + m["fp"] else "  -  "
        r = f"{m['recall']:.3f}" if y.any() else "  -  "
        lines.append(f"{domain:28s} {len(rows):5d} {int(y.sum()):5d} {p:>6s} {r:>6s} {m['fp']:4d} {m['fn']:4d}")
    return "\n".join(lines)


def best_threshold(y: np.ndarray, score: np.ndarray) -> float:
    """The threshold (grid 0.05..0.95) with the highest F1: one operating point for both goals."""
    grid = np.round(np.arange(0.05, 0.951, 0.05), 2)
    return float(max(grid, key=lambda t: (prf(y, score, float(t))["f1"], -abs(t - 0.5))))


def calibrated_thresholds(scored: list[dict[str, Any]]) -> dict[str, float]:
    """For each held-out site, a threshold chosen on the *other* sites' held-out scores only.

    The held-out site's labels never choose its own threshold. (The other sites' scores come
    from fold models that did train on this site; a fully nested run would cost 8 x 7 trainings.)
    """
    out = {}
    for domain in sorted({e["domain"] for e in scored}):
        rest = [e for e in scored if e["domain"] != domain]
        out[domain] = best_threshold(np.array([e["label"] == "math" for e in rest]),
                                     np.array([e["score"] for e in rest]))
    return out


def load_corrections(path: Path | None) -> dict[str, str]:
    if not path or not path.is_file():
        return {}
    out = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            out[row["origin"]] = row["corrected_label"]
    return out


def chinese_benchmarks(model_path: Path, benchmarks: Path, threshold: float) -> str:
    import fasttext

    model = fasttext.load_model(str(model_path))
    lines = []
    for name in ("cmath", "cn_middle_school"):
        path = benchmarks / name / "test.jsonl"
        if not path.is_file():
            continue
        with open(path, encoding="utf-8") as fh:
            texts = [json.loads(line)["question"] for line in fh]
        s = math_probability(model, texts)
        lines.append(f"{name}: n={len(texts)} recall@{threshold:.2f}={float(np.mean(s >= threshold)):.4f} "
                     f"median_score={float(np.median(s)):.3f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=Path, default=Path("output/classifier/seeds.jsonl"))
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--corrections", type=Path, default=Path(__file__).parent / "label_corrections.jsonl")
    ap.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    ap.add_argument("--benchmarks", type=Path, default=Path("../shared/benchmarks"))
    ap.add_argument("--scores-out", type=Path, default=Path("output/classifier/lodo_scores.jsonl"))
    args = ap.parse_args(argv)

    examples = load_examples(args.seeds)
    scored = leave_one_domain_out(examples)
    args.scores_out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.scores_out, "w", encoding="utf-8") as fh:
        for e in scored:
            fh.write(json.dumps({k: e[k] for k in ("origin", "domain", "label", "markup", "score")}) + "\n")

    score = np.array([e["score"] for e in scored], dtype=np.float32)
    y = np.array([e["label"] == "math" for e in scored])
    print(format_report("web, held out by domain, labels as given", y, score, args.threshold))
    print(site_table(scored, args.threshold))
    # Threshold calibration on training sites only: each site is cut at the threshold the other
    # sites' held-out scores prefer; the shipped default is the one all 8 sites prefer (they are
    # all training sites of the shipped model).
    per_site = calibrated_thresholds(scored)
    cut = np.array([e["score"] >= per_site[e["domain"]] for e in scored])
    m = prf(y, cut.astype(np.float32), 0.5)
    print("== calibrated: per-site thresholds chosen on the other sites: "
          + ", ".join(f"{d}={t:.2f}" for d, t in per_site.items()))
    print(f"precision {m['precision']:.4f}  recall {m['recall']:.4f}  f1 {m['f1']:.4f}  "
          f"(tp {m['tp']} fp {m['fp']} fn {m['fn']} tn {m['tn']})")
    print(f"threshold all training sites prefer (shipped default candidate): {best_threshold(y, score):.2f}")
    corrections = load_corrections(args.corrections)
    if corrections:
        y2 = np.array([corrections.get(e["origin"], e["label"]) == "math" for e in scored])
        changed = int(np.sum(y != y2))
        print(format_report(f"web, held out by domain, labels corrected ({changed} changed)", y2, score,
                            args.threshold))
    if args.model.is_file():
        print("== Chinese benchmark questions (evaluation only), shipped model")
        print(chinese_benchmarks(args.model, args.benchmarks, args.threshold))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
