"""The Stack-style code: Parquet or JSON Lines with ``content`` (or ``code``/``text``), ``path``,
``language``, ``repo_name``, ``license``. Keeps the configured languages and, per language, only files that are
about math, in the spirit of AlgebraicStack (Llemma, Azerbayev et al. 2023, section 2 / appendix
A.2): proof assistants and computer-algebra languages are math by nature and kept whole; general
languages must use a numerical / symbolic library.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

from curation.extract.settings import ExtractSettings
from curation.readers._common import doc_row, error_reason

SOURCE = "code"
# Where the file's text is: The Stack and StarCoderData call it ``content``, codeparrot's
# github-code ``code``, many re-uploads ``text``.
CONTENT_COLUMNS = ("content", "code", "text")

# The Stack / GitHub linguist names (case-folded) -> our language keys.
LANGUAGE_ALIASES = {
    "lean": "lean", "lean 4": "lean", "lean4": "lean", "coq": "coq", "rocq": "coq",
    "isabelle": "isabelle", "isabelle root": "isabelle", "agda": "agda", "literate agda": "agda",
    "hol light": "hol light", "hol": "hol light", "metamath": "metamath", "python": "python",
    "julia": "julia", "r": "r", "rmarkdown": "r", "matlab": "matlab", "octave": "octave",
    "mathematica": "mathematica", "wolfram language": "mathematica", "maxima": "maxima",
    "sage": "sage", "sagemath": "sage", "tex": "tex", "latex": "tex", "bibtex": "tex",
    "jupyter notebook": "jupyter", "jupyter": "jupyter", "ipynb": "jupyter",
}
EXTENSIONS = {
    ".lean": "lean", ".v": "coq", ".thy": "isabelle", ".agda": "agda", ".lagda": "agda", ".ml": "hol light",
    ".mm": "metamath", ".py": "python", ".jl": "julia", ".r": "r", ".m": "matlab", ".wl": "mathematica",
    ".nb": "mathematica", ".mac": "maxima", ".wxm": "maxima", ".sage": "sage", ".tex": "tex",
    ".ipynb": "jupyter",
}
# Per-language relevance rules. Languages without a rule are math by nature (proof assistants,
# CAS languages, TeX). The library lists follow AlgebraicStack's "numerical computing" filter.
_PY_LIBS = (r"sympy|numpy|scipy|mpmath|sage|networkx|gmpy2|cvxpy|pulp|statsmodels|"
            r"numba|galgebra|z3|pysmt|fractions|cmath|math")
RELEVANCE: dict[str, re.Pattern] = {
    # ``^[ \t]*``, not ``^\s*``: \s crosses newlines, so a file of blank lines made every line start
    # rescan the rest of the file (O(n^2); 1 MB of newlines took minutes).
    "python": re.compile(rf"^[ \t]*(?:from|import)\s+(?:{_PY_LIBS})\b", re.M),
    "jupyter": re.compile(rf"(?:from|import)\s+(?:{_PY_LIBS})\b|using\s+(?:LinearAlgebra|DifferentialEquations)|\$[^$\n]+\$"),
    "julia": re.compile(r"^[ \t]*(?:using|import)\s+(?:LinearAlgebra|SparseArrays|Statistics|DifferentialEquations|"
                        r"Symbolics|ModelingToolkit|JuMP|Optim|ForwardDiff|Zygote|Distributions|"
                        r"Polynomials|AbstractAlgebra|Nemo|Hecke|Oscar|SpecialFunctions|FFTW|Roots|QuadGK)\b", re.M),
    "r": re.compile(r"\b(?:library|require)\s*\(\s*[\"']?(?:MASS|Matrix|deSolve|pracma|numDeriv|"
                    r"rootSolve|optimx|gmp|Rmpfr|polynom|expm|mvtnorm|stats4|lme4|survival|boot)\b"
                    r"|\b(?:solve|integrate|optim|uniroot|eigen|qr|chol|svd|det|dnorm|pnorm|lm)\s*\("),
    "matlab": re.compile(r"\b(?:syms|solve|ode45|ode23|fzero|fminsearch|integral|eig|inv|det|linsolve|"
                         r"quad|diff|int|limit|taylor|expm|lsqnonlin|fsolve)\s*\("),
    "octave": re.compile(r"\b(?:syms|solve|ode45|lsode|fzero|fminsearch|integral|eig|inv|det|quad|expm|fsolve)\s*\("),
}


class NoCodeColumn(ValueError):
    """A Parquet file with none of CONTENT_COLUMNS (an index of blob ids, another dataset)."""


def canonical_language(language: str | None, path: str | None) -> str | None:
    if language:
        key = LANGUAGE_ALIASES.get(language.strip().lower())
        if key:
            return key
        return language.strip().lower()
    ext = os.path.splitext(path or "")[1].lower()
    return EXTENSIONS.get(ext)


def notebook_text(content: str) -> str | None:
    """Jupyter JSON -> markdown cells as text, code cells fenced; None when not a notebook."""
    try:
        nb = json.loads(content)
    except (ValueError, TypeError):
        return None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        return None
    parts = []
    for cell in nb["cells"]:
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else str(src)
        if not src.strip():
            continue
        parts.append(f"```\n{src.rstrip()}\n```" if cell.get("cell_type") == "code" else src.strip())
    return "\n\n".join(parts)


def read_file(path: str, settings: ExtractSettings, counters: Counter) -> Iterator[dict[str, Any]]:
    keep = {LANGUAGE_ALIASES.get(x.lower(), x.lower()) for x in settings.code_languages}
    name = os.path.basename(path)
    row_index = -1
    try:
        for row_index, rec in enumerate(_rows(path)):
            yield _document(rec, name, path, row_index, keep, settings)
    except Exception as exc:  # bad Parquet footer, truncated gzip, broken JSON line
        yield doc_row(SOURCE, path, f"file@{row_index + 1}", None,
                      meta={"file": path, "rows_read": row_index + 1, "error": str(exc)[:500]},
                      reason=error_reason(exc))


def _rows(path: str) -> Iterator[dict[str, Any]]:
    lower = path.lower()
    if lower.endswith(".parquet"):
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        names = pf.schema_arrow.names
        if not any(c in names for c in CONTENT_COLUMNS):
            # Every row would be "empty": say what is wrong with the file once, and read nothing.
            raise NoCodeColumn(f"no source-code column ({', '.join(CONTENT_COLUMNS)}) among {names[:20]}")
        wanted = [c for c in (*CONTENT_COLUMNS, "path", "language", "repo_name", "license", "licenses",
                              "max_stars_repo_name", "max_stars_repo_path", "lang", "size")
                  if c in names]
        for batch in pf.iter_batches(batch_size=256, columns=wanted):
            yield from batch.to_pylist()
    elif lower.endswith((".jsonl", ".jsonl.gz", ".json.gz", ".ndjson")):
        opener = gzip.open if lower.endswith(".gz") else open
        with opener(path, "rb") as fh:
            for line in io.TextIOWrapper(fh, encoding="utf-8", errors="replace"):
                if line.strip():
                    yield json.loads(line)
    else:
        raise ValueError(f"unsupported code file: {path}")


def _document(rec: dict[str, Any], name: str, path: str, row: int, keep: set[str],
              settings: ExtractSettings) -> dict[str, Any]:
    repo = rec.get("repo_name") or rec.get("max_stars_repo_name") or ""
    fpath = rec.get("path") or rec.get("max_stars_repo_path") or ""
    lic = rec.get("license") if rec.get("license") is not None else rec.get("licenses")
    if isinstance(lic, (list, tuple)):
        lic = ",".join(map(str, lic))
    language = canonical_language(rec.get("language") or rec.get("lang"), fpath)
    origin = f"{repo}/{fpath}" if repo or fpath else f"{name}#{row}"
    offset = f"{name}#{row}"
    meta = {"repo_name": repo, "path": fpath, "language": language, "license": lic, "file": path, "row": row}
    content = next((rec[c] for c in CONTENT_COLUMNS if rec.get(c) is not None), None)
    if isinstance(content, bytes):  # a binary column (raw blobs)
        try:
            content = content.decode("utf-8")
        except UnicodeDecodeError:
            pass

    def out(text: str | None, reason: str | None) -> dict[str, Any]:
        return doc_row(SOURCE, origin, offset, text, meta=meta, reason=reason)

    if not isinstance(content, str):
        return out(None, "undecodable" if content is not None else "empty_text")
    if language not in keep:
        return out(None, f"language_not_kept:{language or 'unknown'}")
    if len(content.encode("utf-8", "surrogatepass")) > settings.max_code_bytes:
        return out(None, "too_large")
    text = content
    if language == "jupyter":
        nb = notebook_text(content)
        if nb is not None:
            text = nb
    if len(text.strip()) < max(settings.min_chars, 1):
        return out(None, "empty_text")
    rule = RELEVANCE.get(language)
    if rule is not None and not rule.search(text):
        return out(text, "not_math_relevant")
    return out(text, None)
