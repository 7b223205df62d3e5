"""The fastText math classifier at inference: lazy, once per process, scores only (no decisions)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from curation.filter.normalize import MAX_CHARS, normalize

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "assets" / "models" / "math_classifier.ftz"
LABEL_MATH = "__label__math"


class MathClassifier:
    """P(math) per text. Picklable: holds the path; the model loads on first call."""

    _cache: ClassVar[dict[str, Any]] = {}

    def __init__(self, path: str | None = None) -> None:
        self.path = str(path or DEFAULT_MODEL)

    @property
    def name(self) -> str:
        return Path(self.path).stem

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

    def score(self, texts: list[str | None], max_chars: int = MAX_CHARS) -> np.ndarray:
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
