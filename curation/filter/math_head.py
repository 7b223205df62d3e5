"""A logistic-regression head over the fastText score and cheap formula counts (numpy only).

fastText learns the topic; the dev labels count formulas (>= 3 in the main content). The head
combines both: P(math) = sigmoid(w . standardised(features) + b), with the features of
``curation.filter.math_features``. It is stacked (Wolpert 1992): the fastText input is an
*out-of-fold* score when the head is fit (classifiers/evaluate.py and classifiers/train.py), since
in-sample fastText scores are ~0 or ~1 and would teach the head to trust fastText blindly.

Saved as a small JSON beside the model (``math_classifier.head.json``): feature names, feature
version, means, scales, weights and bias. ``MathClassifier`` uses it when the file exists.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from curation.filter.math_features import CJK_TEXT_SHARE, FEATURE_NAMES, FEATURES_VERSION

HEAD_FORMAT = "math-head-logreg/1"


@dataclass
class MathHead:
    names: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    features_version: int = FEATURES_VERSION
    info: dict[str, Any] | None = None

    def decision(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.scale) @ self.weights + self.bias

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        z = np.clip(self.decision(x), -30.0, 30.0)
        return 1.0 / (1.0 + np.exp(-z))

    def to_json(self) -> dict[str, Any]:
        return {"format": HEAD_FORMAT, "features_version": self.features_version,
                "feature_names": list(self.names), "mean": self.mean.tolist(),
                "scale": self.scale.tolist(), "weights": self.weights.tolist(),
                "bias": self.bias, "info": self.info or {}}

    def save(self, path: Path | str) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path | str) -> MathHead:
        d = json.loads(Path(path).read_text(encoding="utf-8"))
        if d.get("format") != HEAD_FORMAT:
            raise ValueError(f"{path}: unknown head format {d.get('format')!r}")
        if d["features_version"] != FEATURES_VERSION or tuple(d["feature_names"]) != FEATURE_NAMES:
            raise ValueError(f"{path}: head was fit on features v{d['features_version']} "
                             f"{d['feature_names']}, this code computes v{FEATURES_VERSION} {list(FEATURE_NAMES)}")
        return cls(tuple(d["feature_names"]), np.array(d["mean"]), np.array(d["scale"]),
                   np.array(d["weights"]), float(d["bias"]), d["features_version"], d.get("info"))


def fit_head(x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None,
             l2: float = 1.0, iters: int = 50, names: tuple[str, ...] = FEATURE_NAMES) -> MathHead:
    """L2-regularised logistic regression by Newton's method (IRLS) on standardised features.

    ``l2`` is the ridge penalty on the weights (not the bias), in units of total sample weight 1
    per example: with a dozen features and thousands of examples it only matters for features
    that are constant or collinear on the training set.
    """
    y = y.astype(np.float64)
    w = np.ones(len(y)) if sample_weight is None else sample_weight.astype(np.float64)
    w = w * (len(y) / w.sum())
    mean = np.average(x, axis=0, weights=w)
    scale = np.sqrt(np.average((x - mean) ** 2, axis=0, weights=w))
    scale[scale < 1e-9] = 1.0
    z = np.hstack([(x - mean) / scale, np.ones((len(y), 1))])
    beta = np.zeros(z.shape[1])
    reg = np.full(z.shape[1], l2)
    reg[-1] = 0.0
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ beta, -30, 30)))
        grad = z.T @ (w * (p - y)) + reg * beta
        hess = (z * (w * p * (1 - p))[:, None]).T @ z + np.diag(reg) + 1e-9 * np.eye(len(beta))
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return MathHead(tuple(names), mean, scale, beta[:-1].copy(), float(beta[-1]))


def with_cjk_fallback(head_prob: np.ndarray, fasttext_prob: np.ndarray, features: np.ndarray) -> np.ndarray:
    """For CJK text, the larger of the head's and fastText's probability.

    The head's formula counts are zeroed for CJK text (Chinese math is mostly written without
    ``$``), so on a one-line Chinese question it sees little but length and scores it lower than
    fastText does (cn_middle_school recall 0.66 with the head alone, 0.73 with fastText alone);
    fastText's character n-grams are the better judge there.
    """
    cjk = features[:, FEATURE_NAMES.index("cjk_share")] >= CJK_TEXT_SHARE
    return np.where(cjk, np.maximum(head_prob, fasttext_prob), head_prob)
