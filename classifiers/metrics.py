"""Binary classification metrics without extra dependencies: P/R/F1, ROC-AUC, calibration."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np


def prf(y: np.ndarray, score: np.ndarray, threshold: float) -> dict[str, float]:
    pred = score >= threshold
    tp = int(np.sum(pred & y))
    fp = int(np.sum(pred & ~y))
    fn = int(np.sum(~pred & y))
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f1, "tp": tp, "fp": fp, "fn": fn,
            "tn": int(np.sum(~pred & ~y)), "n": len(y)}


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Mann-Whitney U form: the chance a random positive outscores a random negative (ties 1/2)."""
    pos, neg = score[y], score[~y]
    if not len(pos) or not len(neg):
        return float("nan")
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    ranks = np.empty(len(order))
    allscores = np.concatenate([pos, neg])[order]
    # average ranks over ties
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and allscores[j + 1] == allscores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    u = ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2
    return float(u / (len(pos) * len(neg)))


def calibration(y: np.ndarray, score: np.ndarray, bins: int = 10) -> list[dict[str, Any]]:
    edges = np.linspace(0.0, 1.0, bins + 1)
    rows = []
    for lo, hi in pairwise(edges):
        sel = (score >= lo) & ((score < hi) if hi < 1.0 else (score <= hi))
        n = int(sel.sum())
        rows.append({"bin": f"{lo:.1f}-{hi:.1f}", "n": n,
                     "mean_score": float(score[sel].mean()) if n else None,
                     "frac_math": float(y[sel].mean()) if n else None})
    return rows


def format_report(name: str, y: np.ndarray, score: np.ndarray, threshold: float) -> str:
    m = prf(y, score, threshold)
    lines = [
        f"== {name} (threshold {threshold:.2f}, n={m['n']}, positives={int(y.sum())})",
        f"precision {m['precision']:.4f}  recall {m['recall']:.4f}  f1 {m['f1']:.4f}  "
        f"roc_auc {roc_auc(y, score):.4f}  (tp {m['tp']} fp {m['fp']} fn {m['fn']} tn {m['tn']})",
        "calibration: bin        n   mean_score  frac_math",
    ]
    for row in calibration(y, score):
        if row["n"]:
            lines.append(f"             {row['bin']}  {row['n']:5d}   {row['mean_score']:.3f}       {row['frac_math']:.3f}")
    return "\n".join(lines)
