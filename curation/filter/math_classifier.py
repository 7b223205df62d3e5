"""The math classifier at inference: lazy, once per process, scores only (no decisions).

``score`` is fastText's P(math), passed through the logistic head of
``curation.filter.math_head`` when a head file sits beside the model
(``math_classifier.head.json`` for ``math_classifier.ftz``): the head adds cheap formula counts
that a bag of words cannot make (see curation/filter/math_features.py and
classifiers/MODEL_CARD.md). Without the head file the score is fastText's probability.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from curation.filter.math_features import feature_matrix, scoring_window
from curation.filter.math_head import MathHead, with_cjk_fallback
from curation.filter.normalize import MAX_CHARS, normalize

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "assets" / "models" / "math_classifier.ftz"
LABEL_MATH = "__label__math"


def head_path_for(model_path: str | Path) -> Path:
    p = Path(model_path)
    return p.with_name(f"{p.stem}.head.json")


class MathClassifier:
    """P(math) per text. Picklable: holds the path; the model and head load on first call."""

    _cache: ClassVar[dict[str, Any]] = {}
    _heads: ClassVar[dict[str, MathHead | None]] = {}

    def __init__(self, path: str | None = None, use_head: bool = True) -> None:
        self.path = str(path or DEFAULT_MODEL)
        self.use_head = use_head

    @property
    def name(self) -> str:
        # The model's stem also names its head (``<stem>.head.json``); stats counters use it.
        return Path(self.path).stem

    @property
    def head_path(self) -> Path:
        return head_path_for(self.path)

    def _model(self) -> Any:
        if self.path not in self._cache:
            import fasttext

            if not Path(self.path).is_file():
                raise FileNotFoundError(f"math classifier model not found: {self.path}")
            model = fasttext.load_model(self.path)
            if LABEL_MATH not in model.get_labels():
                raise ValueError(f"{self.path} has labels {model.get_labels()}, expected {LABEL_MATH}")
            self._cache[self.path] = model
        return self._cache[self.path]

    def head(self) -> MathHead | None:
        if not self.use_head:
            return None
        key = str(self.head_path)
        if key not in self._heads:
            self._heads[key] = MathHead.load(key) if Path(key).is_file() else None
        return self._heads[key]

    def fasttext_score(self, texts: list[str | None], max_chars: int = MAX_CHARS) -> np.ndarray:
        model = self._model()
        lines = [normalize(t, max_chars) for t in texts]
        out = np.zeros(len(lines), dtype=np.float32)
        idx = [i for i, line in enumerate(lines) if line]
        if not idx:
            return out
        labels, probs = model.predict([lines[i] for i in idx], k=2)
        for i, labs, ps in zip(idx, labels, probs, strict=True):
            for lab, p in zip(labs, ps, strict=True):
                if lab == LABEL_MATH:
                    out[i] = min(float(p), 1.0)
        return out

    def score(self, texts: list[str | None], max_chars: int = MAX_CHARS) -> np.ndarray:
        # fastText and the head read the same window: the head of the text, or a later part that
        # holds more formulas (math_features.scoring_window).
        texts = [scoring_window(t, max_chars) if t else t for t in texts]
        probs = self.fasttext_score(texts, max_chars)
        head = self.head()
        if head is None:
            return probs
        feats = feature_matrix(texts, probs, max_chars)
        out = with_cjk_fallback(head.predict_proba(feats), probs, feats).astype(np.float32)
        # An empty text has no evidence either way: it stays 0, as without the head.
        empty = np.array([not (t and t.strip()) for t in texts], dtype=bool)
        out[empty] = 0.0
        return out
