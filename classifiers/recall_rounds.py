"""Iterative recall rounds, as DeepSeekMath did (Shao et al. 2024, Sec. 2.1).

Start from seeds that contain *no* web page (books, forums, code, Chinese), treat the web crawl
as an unlabelled pool, and per round: train, score the pool, group pages by domain and URL
pattern (host + first path directory), and promote the groups where at least ``--min-frac`` of
the pages score >= ``--threshold`` (DeepSeekMath: "domains where over 10% of pages were
collected"; we use a higher share on a small pool) to the seeds: their high-scoring pages as
positives. Pages from groups where almost nothing scores high become negatives, as a pool of
non-math web text. Retrain; a report per round in ``classifiers/reports/recall_round_<k>.md``,
with recall/precision against the (hidden) labels to show what each round bought.

    .venv/bin/python -m classifiers.recall_rounds --seeds output/classifier/seeds.jsonl --rounds 3
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from classifiers.fasttext_model import load_examples, math_probability, train
from classifiers.metrics import prf, roc_auc

REPORTS = Path(__file__).resolve().parent / "reports"


def url_pattern(url: str) -> str:
    parts = urlsplit(url)
    path = [p for p in parts.path.split("/") if p]
    return f"{parts.netloc}/{path[0] if len(path) > 1 else ''}"


def run_round(k: int, seeds: list[dict[str, Any]], pool: list[dict[str, Any]], threshold: float,
              min_frac: float, max_neg_frac: float) -> tuple[list[dict[str, Any]], str]:
    model = train(seeds)
    scores = math_probability(model, [p["text"] for p in pool])
    y = np.array([p["label"] == "math" for p in pool])
    m = prf(y, scores, 0.5)
    groups: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(pool):
        groups[url_pattern(p["origin"])].append(i)
    promoted, negatives, lines = [], [], []
    for pattern, idx in sorted(groups.items()):
        frac = float(np.mean(scores[idx] >= threshold))
        if frac >= min_frac:
            add = [{**pool[i], "label": "math"} for i in idx if scores[i] >= threshold]
            promoted += add
            lines.append(f"| {pattern} | {len(idx)} | {frac:.2f} | +{len(add)} positives |")
        elif frac <= max_neg_frac:
            add = [{**pool[i], "label": "nonmath"} for i in idx if scores[i] < threshold]
            negatives += add
            lines.append(f"| {pattern} | {len(idx)} | {frac:.2f} | +{len(add)} negatives |")
        else:
            lines.append(f"| {pattern} | {len(idx)} | {frac:.2f} | undecided |")
    report = "\n".join([
        f"# Recall round {k}",
        "",
        f"Seeds: {len(seeds)} examples. Pool: {len(pool)} web pages (labels hidden from training).",
        f"Against the pool's labels at 0.5: precision {m['precision']:.4f}, recall {m['recall']:.4f}, "
        f"F1 {m['f1']:.4f}, ROC-AUC {roc_auc(y, scores):.4f}.",
        "",
        f"Groups (host/first directory); promote when >= {min_frac:.0%} of pages score >= {threshold}, "
        f"take negatives when <= {max_neg_frac:.0%} do:",
        "",
        "| pattern | pages | share high | action |",
        "|---|---|---|---|",
        *lines,
        "",
    ])
    # pages used as seeds leave the pool's candidate list for the next round (not its evaluation)
    return promoted + negatives, report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=Path, default=Path("output/classifier/seeds.jsonl"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threshold", type=float, default=0.7)
    ap.add_argument("--min-frac", type=float, default=0.3)
    ap.add_argument("--max-neg-frac", type=float, default=0.02)
    ap.add_argument("--out", type=Path, default=Path("output/classifier/recall_round_seeds.jsonl"))
    args = ap.parse_args(argv)
    examples = load_examples(args.seeds)
    seeds = [e for e in examples if e["source"] != "web"]
    pool = [e for e in examples if e["source"] == "web"]
    added: list[dict[str, Any]] = []
    REPORTS.mkdir(parents=True, exist_ok=True)
    for k in range(1, args.rounds + 1):
        new, report = run_round(k, seeds + added, pool, args.threshold, args.min_frac, args.max_neg_frac)
        seen = {e["origin"] for e in added}
        added += [e for e in new if e["origin"] not in seen]
        (REPORTS / f"recall_round_{k}.md").write_text(report, encoding="utf-8")
        print(report.splitlines()[2:4])
    with open(args.out, "w", encoding="utf-8") as fh:
        for e in added:
            fh.write(json.dumps({k: v for k, v in e.items() if k != "norm"}, ensure_ascii=False) + "\n")
    print(f"{len(added)} pages promoted to seeds over {args.rounds} rounds -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
