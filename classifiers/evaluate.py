"""Evaluate the math classifier (fastText, and fastText + head) on web sites held out one at a time.

Leave-one-site-out: for each web site (one Debian documentation package = one host), a model is
trained on every seed except that site's *group* and scores that site's pages; the scores of all
folds are pooled. A group is one web site plus a random eighth of the non-web seeds (books,
forums, code, Chinese, prose; assigned by a hash of the origin), so that every seed also gets an
out-of-fold score. No page is ever scored by a model that saw its site.

The head (curation/filter/math_head.py) is stacked on fastText, and it is nested: the head that
scores site S is fit only on groups T != S, with fastText scores of each T from a model trained
without S *and* T (28 pair models for 8 sites). So neither the fastText model nor the head of
fold S saw S, and the head is fit on held-out-site fastText scores, which is what it meets on a
new site (in-sample fastText scores are ~0/1 and would teach it to trust fastText blindly).

    .venv/bin/python -m classifiers.evaluate --seeds output/classifier/seeds.jsonl \
        [--threshold 0.5] [--corrections classifiers/label_corrections.jsonl] [--reuse-scores]

Also scores the shipped model (``--model``, with its head when the head file exists) on cmath and
cn_middle_school questions (all math: only recall is defined); those sets are never used for
training.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.fasttext_model import (
    PARAMS,
    QUANTIZE,
    TRAIN_CHARS,
    ZH_POSITIVE_REPEAT,
    load_examples,
    probability_of_lines,
    train,
)
from classifiers.metrics import format_report, prf, roc_auc
from curation.filter.math_features import FEATURE_NAMES, count_matrix, scoring_window, with_logit
from curation.filter.math_head import MathHead, fit_head, with_cjk_fallback
from curation.filter.normalize import normalize

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "curation" / "assets" / "models" / "math_classifier.ftz"
SCORES_CACHE = Path("output/classifier/fold_scores.npz")
# The head's fit (chosen on the nested folds, see MODEL_CARD.md): each label weighs half, as in
# fastText's 1:1 balancing (DeepSeekMath); web pages weigh 10x, because the head's main job is
# the web decision (books, forums and code have their own thresholds; the generic web pages of
# seeds_web_generic count as web), and so do the Chinese
# seeds, so that the head keeps Chinese plain-text math (measured: cn_middle_school recall 0.62
# with web x10 alone, 0.74 with Chinese x10 too); a moderate ridge penalty.
HEAD_L2 = 10.0
HEAD_SOURCE_WEIGHTS: dict[str, float] = {"web": 10.0, "webgen": 10.0, "zh": 10.0}


def web_sites(examples: list[dict[str, Any]]) -> list[str]:
    return sorted({e["domain"] for e in examples if e["source"] == "web"})


def assign_groups(examples: list[dict[str, Any]]) -> np.ndarray:
    """A web page's group is its site; any other seed joins a site's group by a hash of its origin."""
    sites = web_sites(examples)
    out = []
    for e in examples:
        if e["source"] == "web":
            out.append(e["domain"])
        else:
            h = int(hashlib.sha1(f"{e['source']}|{e['origin']}".encode()).hexdigest(), 16)
            out.append(sites[h % len(sites)])
    return np.array(out)


def fingerprint(examples: list[dict[str, Any]]) -> str:
    h = hashlib.sha1()
    # "window": fold scores are taken on math_features.scoring_window of each text.
    h.update(json.dumps([PARAMS, QUANTIZE, TRAIN_CHARS, ZH_POSITIVE_REPEAT, "window"]).encode())
    for e in examples:
        h.update(f"{e['source']}|{e['origin']}|{e['label']}|{len(e['text'])}\n".encode())
    return h.hexdigest()


@dataclass
class FoldScores:
    """fastText P(math) of every seed from models that did not see its group."""

    sites: list[str]
    groups: np.ndarray
    single: np.ndarray  # by the model trained without the seed's own group
    pair: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)  # without groups a and b

    def pair_scores(self, a: str, b: str) -> np.ndarray:
        return self.pair[(a, b) if a < b else (b, a)]

    def save(self, path: Path, fp: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {f"pair|{a}|{b}": v for (a, b), v in self.pair.items()}
        np.savez_compressed(path, fingerprint=np.array(fp), sites=np.array(self.sites),
                            groups=self.groups, single=self.single, **arrays)

    @classmethod
    def load(cls, path: Path, fp: str) -> FoldScores | None:
        if not path.is_file():
            return None
        d = np.load(path)
        if str(d["fingerprint"]) != fp:
            return None
        pair = {tuple(k.split("|")[1:]): d[k] for k in d.files if k.startswith("pair|")}
        return cls(list(d["sites"]), d["groups"], d["single"], pair)  # type: ignore[arg-type]


def fold_scores(examples: list[dict[str, Any]], lines: list[str], nested: bool = True) -> FoldScores:
    """Train 8 single-out models (and 28 pair-out models when ``nested``) and score their held-out groups."""
    sites = web_sites(examples)
    groups = assign_groups(examples)
    single = np.full(len(examples), np.nan, dtype=np.float32)
    fs = FoldScores(sites, groups, single)
    for s in sites:
        held = np.flatnonzero(groups == s)
        model = train([e for e, g in zip(examples, groups, strict=True) if g != s])
        single[held] = probability_of_lines(model, [lines[i] for i in held])
        print(f"  fold -{s}: {len(held)} held out", flush=True)
    if nested:
        for i, a in enumerate(sites):
            for b in sites[i + 1:]:
                held = np.flatnonzero((groups == a) | (groups == b))
                model = train([e for e, g in zip(examples, groups, strict=True) if g not in (a, b)])
                out = np.full(len(examples), np.nan, dtype=np.float32)
                out[held] = probability_of_lines(model, [lines[k] for k in held])
                fs.pair[(a, b)] = out
            print(f"  pair folds -{a} done", flush=True)
    return fs


def head_weights(y: np.ndarray, sources: np.ndarray) -> np.ndarray:
    """Each label weighs half in total (DeepSeekMath's 1:1 balance), times HEAD_SOURCE_WEIGHTS."""
    w = np.where(y, 0.5 / max(y.sum(), 1), 0.5 / max((~y).sum(), 1)) * len(y)
    return w * np.array([HEAD_SOURCE_WEIGHTS.get(s, 1.0) for s in sources])


def fit_on(counts: np.ndarray, probs: np.ndarray, y: np.ndarray, sources: np.ndarray, idx: np.ndarray,
           l2: float = HEAD_L2) -> MathHead:
    return fit_head(with_logit(counts[idx], probs[idx]), y[idx], head_weights(y[idx], sources[idx]), l2=l2)


def nested_head_scores(fs: FoldScores, counts: np.ndarray, y: np.ndarray, sources: np.ndarray,
                       l2: float = HEAD_L2) -> tuple[np.ndarray, dict[str, MathHead]]:
    """Head P(math) of every web page, from a head fit without the page's site (see module doc)."""
    out = np.full(len(y), np.nan)
    heads = {}
    for s in fs.sites:
        probs = np.full(len(y), np.nan)
        for t in fs.sites:
            if t != s:
                sel = fs.groups == t
                probs[sel] = fs.pair_scores(s, t)[sel]
        train_idx = np.flatnonzero(fs.groups != s)
        head = fit_on(counts, probs, y, sources, train_idx, l2)
        test_idx = np.flatnonzero((fs.groups == s) & (sources == "web"))
        x = with_logit(counts[test_idx], fs.single[test_idx])
        out[test_idx] = with_cjk_fallback(head.predict_proba(x), fs.single[test_idx], x)
        heads[s] = head
    return out, heads


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


def side_by_side(domains: np.ndarray, y: np.ndarray, scores: dict[str, np.ndarray], threshold: float) -> str:
    """One row per held-out site, P/R/fp/fn of each scorer side by side, then the pooled row."""
    names = list(scores)
    head = f"{'site':28s} {'n':>5s} {'math':>5s} " + " ".join(f"{n + ' P':>10s} {'R':>6s} {'fp':>4s} {'fn':>4s}" for n in names)
    lines = [head]
    for d in [*sorted(set(domains)), "POOLED"]:
        sel = np.ones(len(y), bool) if d == "POOLED" else domains == d
        row = f"{d:28s} {int(sel.sum()):5d} {int(y[sel].sum()):5d} "
        for n in names:
            m = prf(y[sel], scores[n][sel], threshold)
            p = f"{m['precision']:.3f}" if m["tp"] + m["fp"] else "-"
            r = f"{m['recall']:.3f}" if y[sel].any() else "-"
            row += f"{p:>10s} {r:>6s} {m['fp']:4d} {m['fn']:4d} "
        lines.append(row.rstrip())
    return "\n".join(lines)


def best_threshold(y: np.ndarray, score: np.ndarray) -> float:
    """The threshold (grid 0.05..0.95) with the highest F1: one operating point for both goals."""
    grid = np.round(np.arange(0.05, 0.951, 0.05), 2)
    return float(max(grid, key=lambda t: (prf(y, score, float(t))["f1"], -abs(t - 0.5))))


def calibrated_thresholds(scored: list[dict[str, Any]]) -> dict[str, float]:
    """For each held-out site, a threshold chosen on the *other* sites' held-out scores only.

    The held-out site's labels never choose its own threshold. (The other sites' scores come
    from fold models that did train on this site.)
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


# Benchmark questions scored by the shipped model (evaluation only, never trained on): Chinese
# (the issue asks that Chinese math scores as math) and English; (name, field, first n or all).
BENCHMARK_SETS = (("cmath", "question", None), ("cn_middle_school", "question", None),
                  ("math", "problem", 300), ("gsm8k", "question", None))


def benchmark_recall(model_path: Path, benchmarks: Path, threshold: float) -> str:
    """Recall of the shipped model on benchmark questions (all math), fastText alone and with the head."""
    from curation.filter.math_classifier import MathClassifier

    clf = MathClassifier(str(model_path))
    lines = [f"head: {clf.head_path if clf.head() is not None else 'none'}"]
    for name, fld, first in BENCHMARK_SETS:
        path = benchmarks / name / "test.jsonl"
        if not path.is_file():
            continue
        with open(path, encoding="utf-8") as fh:
            texts = [json.loads(line)[fld] for line in fh][:first]
        ft = clf.fasttext_score(texts)
        s = clf.score(texts)
        lines.append(f"{name:17s} n={len(texts):4d}  fastText recall@{threshold:.2f}={float(np.mean(ft >= threshold)):.4f} "
                     f"(median {float(np.median(ft)):.3f})  +head recall@{threshold:.2f}="
                     f"{float(np.mean(s >= threshold)):.4f} (median {float(np.median(s)):.3f})")
    return "\n".join(lines)


def get_fold_scores(examples: list[dict[str, Any]], cache: Path, reuse: bool, nested: bool = True) -> FoldScores:
    fp = fingerprint(examples)
    if reuse:
        fs = FoldScores.load(cache, fp)
        if fs is not None and (fs.pair or not nested):
            print(f"fold scores reused from {cache}")
            return fs
    lines = [normalize(scoring_window(e["text"])) for e in examples]
    fs = fold_scores(examples, lines, nested=nested)
    fs.save(cache, fp)
    return fs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=Path, default=Path("output/classifier/seeds.jsonl"))
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--corrections", type=Path, default=Path(__file__).parent / "label_corrections.jsonl")
    ap.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    ap.add_argument("--benchmarks", type=Path, default=Path("../shared/benchmarks"))
    ap.add_argument("--scores-out", type=Path, default=Path("output/classifier/lodo_scores.jsonl"))
    ap.add_argument("--cache", type=Path, default=SCORES_CACHE)
    ap.add_argument("--reuse-scores", action="store_true",
                    help="reuse the fold scores in --cache when they were computed on the same seeds and parameters")
    args = ap.parse_args(argv)

    examples = load_examples(args.seeds)
    fs = get_fold_scores(examples, args.cache, args.reuse_scores)
    y_all = np.array([e["label"] == "math" for e in examples])
    sources = np.array([e["source"] for e in examples])
    web = sources == "web"
    counts = count_matrix([scoring_window(e["text"]) for e in examples])
    head_all, heads = nested_head_scores(fs, counts, y_all, sources)

    idx = np.flatnonzero(web)
    domains = np.array([examples[i]["domain"] for i in idx])
    y = y_all[idx]
    ft = fs.single[idx].astype(np.float64)
    hd = head_all[idx]
    args.scores_out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.scores_out, "w", encoding="utf-8") as fh:
        for i, a, b in zip(idx, ft, hd, strict=True):
            e = examples[i]
            fh.write(json.dumps({"origin": e["origin"], "domain": e["domain"], "label": e["label"],
                                 "markup": e.get("markup"), "score_fasttext": float(a), "score": float(b)}) + "\n")

    corrections = load_corrections(args.corrections)
    y2 = np.array([corrections.get(examples[i]["origin"], examples[i]["label"]) == "math" for i in idx])
    scorers = {"fastText": ft, "+head": hd}
    print(f"== per held-out site, threshold {args.threshold:.2f}, labels as given")
    print(side_by_side(domains, y, scorers, args.threshold))
    print(f"== per held-out site, labels corrected ({int(np.sum(y != y2))} changed)")
    print(side_by_side(domains, y2, scorers, args.threshold))
    for name, s in scorers.items():
        print(format_report(f"{name}: web, held out by site, labels as given", y, s, args.threshold))
        print(format_report(f"{name}: web, held out by site, labels corrected", y2, s, args.threshold))
    scored = [{"domain": d, "label": "math" if t else "nonmath", "score": float(s)}
              for d, t, s in zip(domains, y, hd, strict=True)]
    per_site = calibrated_thresholds(scored)
    cut = np.array([s >= per_site[d] for d, s in zip(domains, hd, strict=True)])
    m = prf(y, cut.astype(np.float32), 0.5)
    print("== +head, per-site thresholds chosen on the other sites: "
          + ", ".join(f"{d}={t:.2f}" for d, t in per_site.items()))
    print(f"precision {m['precision']:.4f}  recall {m['recall']:.4f}  f1 {m['f1']:.4f}  "
          f"(tp {m['tp']} fp {m['fp']} fn {m['fn']} tn {m['tn']})")
    print("== +head weights per fold (standardised features): "
          + ", ".join(FEATURE_NAMES))
    for s, h in heads.items():
        print(f"{s:28s} " + " ".join(f"{w:+.2f}" for w in h.weights) + f"  bias {h.bias:+.2f}")
    print(f"AUC fastText {roc_auc(y, ft):.4f}  +head {roc_auc(y, hd):.4f}")
    if args.model.is_file():
        print("== benchmark questions (evaluation only), shipped model")
        print(benchmark_recall(args.model, args.benchmarks, args.threshold))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
