"""The Stack-style code: Parquet or JSON Lines (``.jsonl``/``.ndjson``/``.json``, plain, ``.gz`` or
``.zst``) with ``content`` (or ``code``/``text``), ``path``, ``language``, ``repo_name``, ``license``
(The Stack v1/v2 and proof-pile-2 spellings too, see the *_KEYS below). Keeps the configured
languages and, per language, only files that are about math, in the spirit of AlgebraicStack
(Llemma, Azerbayev et al. 2023, section 2 / appendix A.2): proof assistants and computer-algebra
languages are math by nature and kept whole; general languages must use a numerical / symbolic
library.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterator
from typing import IO, Any, NamedTuple

from curation.extract.settings import ExtractSettings
from curation.readers._common import doc_row, error_reason
from curation.text_files import json_lines, open_text

SOURCE = "code"
# Where the file's text is: The Stack and StarCoderData call it ``content``, codeparrot's
# github-code ``code``, many re-uploads ``text``.
CONTENT_COLUMNS = ("content", "code", "text")
# The same facts under each dump's names, first non-empty wins: The Stack v2 / github-code
# (repo_name, path, language, license), v1 and StarCoderData (max_stars_repo_*, lang), the-stack-smol
# (repository_name, licenses), v2's file-level detected_licenses with license_type
# (permissive / no_license) as the last resort.
REPO_KEYS = ("repo_name", "max_stars_repo_name", "repository_name")
PATH_KEYS = ("path", "max_stars_repo_path")
LANGUAGE_KEYS = ("language", "lang")
LICENSE_KEYS = ("license", "licenses", "max_stars_repo_licenses", "detected_licenses", "license_type")
FACT_KEYS = (*REPO_KEYS, *PATH_KEYS, *LANGUAGE_KEYS, *LICENSE_KEYS)

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
# Extensions a non-math language shares (GitHub linguist: .v Verilog and V, .ml OCaml, .mm
# Objective-C++, .m Objective-C, .r Rebol). Without a language column such a file gets
# the math language only when its text reads like it; otherwise its language is unknown, since
# Coq, HOL Light and Metamath skip the relevance rules and a Verilog module would be kept whole.
# Patterns anchor on ``^[ \t]*`` or a literal, never ``\s*`` across lines (see RELEVANCE).
EXTENSION_SIGNATURES: dict[str, re.Pattern] = {
    ".v": re.compile(r"^[ \t]*(?:(?:Theorem|Lemma|Corollary|Proposition|Example|Definition|Fixpoint|Inductive|"
                     r"Record|Notation|Axiom|Parameter|Variables?|Hypothesis|Section|Module|Ltac)\b"
                     r"|(?:From[ \t]+[\w.]+[ \t]+)?Require\b|Proof\.|Qed\.)", re.M),
    ".ml": re.compile(r"\bprove[ \t]*\(|\b[A-Z][A-Z0-9_]*_TAC\b|\bnew_(?:definition|axiom|recursive_definition)\b"),
    ".mm": re.compile(r"\$\(|(?:^|[ \t])\$[cvfeadp=](?=\s|$)", re.M),
    ".m": re.compile(r"^[ \t]*(?:%|function\b)", re.M),
    ".r": re.compile(r"<-|\b(?:library|require|function)[ \t]*\("),
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


class BadRecord(NamedTuple):
    """One JSON line (or array item) that is not a record: rejected alone, the file reading goes on."""

    where: str  # "line@7", "item@3"
    reason: str
    error: str


def canonical_language(language: str | None, path: str | None, content: object = None) -> str | None:
    if language:
        key = LANGUAGE_ALIASES.get(language.strip().lower())
        if key:
            return key
        return language.strip().lower()
    ext = os.path.splitext(path or "")[1].lower()
    signature = EXTENSION_SIGNATURES.get(ext)
    if signature is not None and not (isinstance(content, str) and signature.search(content)):
        return None
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
            if isinstance(rec, BadRecord):
                yield doc_row(SOURCE, path, rec.where, None, reason=rec.reason,
                              meta={"file": path, "at": rec.where, "error": rec.error[:500]})
            else:
                yield _document(rec, name, path, row_index, keep, settings)
    except Exception as exc:  # bad Parquet footer, truncated gzip/zstd, malformed JSON array
        yield doc_row(SOURCE, path, f"file@{row_index + 1}", None,
                      meta={"file": path, "rows_read": row_index + 1, "error": str(exc)[:500]},
                      reason=error_reason(exc))


def _rows(path: str) -> Iterator[dict[str, Any] | BadRecord]:
    lower = path.lower()
    base = lower.removesuffix(".gz").removesuffix(".zst")
    if lower.endswith(".parquet"):
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        names = pf.schema_arrow.names
        if not any(c in names for c in CONTENT_COLUMNS):
            # Every row would be "empty": say what is wrong with the file once, and read nothing.
            raise NoCodeColumn(f"no source-code column ({', '.join(CONTENT_COLUMNS)}) among {names[:20]}")
        wanted = [c for c in (*CONTENT_COLUMNS, *FACT_KEYS, "meta", "size") if c in names]
        for batch in pf.iter_batches(batch_size=256, columns=wanted):
            yield from batch.to_pylist()
    elif base.endswith(".json") and _is_json_array(path):
        yield from _json_array(path)
    elif base.endswith((".jsonl", ".ndjson", ".json")):
        # ``.json`` too: the-stack-smol's data/<lang>/data.json is JSON Lines.
        yield from _json_lines(path)
    else:
        raise ValueError(f"unsupported code file: {path}")


def _open_text(path: str) -> IO[str]:
    # errors="replace": one undecodable byte in a source file must not cost the file.
    return open_text(path, errors="replace")


def _json_lines(path: str) -> Iterator[dict[str, Any] | BadRecord]:
    kinds = {"not_json": "bad_json_line", "not_object": "json_line_not_object"}
    with _open_text(path) as fh:
        for line in json_lines(fh):
            yield line.record if line.problem is None else BadRecord(
                f"line@{line.number}", kinds[line.problem], f"{line.detail}: {line.excerpt}")


def _is_json_array(path: str) -> bool:
    with _open_text(path) as fh:
        return fh.read(4096).lstrip().startswith("[")


def _json_array(path: str) -> Iterator[dict[str, Any] | BadRecord]:
    """A ``.json`` file holding one array of records (read whole: such files are small exports)."""
    with _open_text(path) as fh:
        items = json.load(fh)
    for number, rec in enumerate(items):
        yield rec if isinstance(rec, dict) else BadRecord(
            f"item@{number}", "json_item_not_object", f"{type(rec).__name__}: {str(rec)[:200]}")


def _with_nested_meta(rec: dict[str, Any]) -> dict[str, Any]:
    """proof-pile-2 / AlgebraicStack keep path, repo and language in ``meta`` (a dict or its JSON)."""
    nested = rec.get("meta")
    if isinstance(nested, str):
        try:
            nested = json.loads(nested)
        except ValueError:
            return rec
    if not isinstance(nested, dict):
        return rec
    # Only the facts we read: a ``meta`` key named like a content column must not become the text.
    lifted = {k: nested[k] for k in FACT_KEYS if not rec.get(k) and nested.get(k)}
    return {**rec, **lifted}


def _first(rec: dict[str, Any], keys: tuple[str, ...]) -> Any:
    """The first non-empty value (an empty licence list is no licence)."""
    return next((rec[k] for k in keys if rec.get(k)), None)


def _document(rec: dict[str, Any], name: str, path: str, row: int, keep: set[str],
              settings: ExtractSettings) -> dict[str, Any]:
    rec = _with_nested_meta(rec)
    repo = _first(rec, REPO_KEYS) or ""
    fpath = _first(rec, PATH_KEYS) or ""
    lic = _first(rec, LICENSE_KEYS)
    if isinstance(lic, (list, tuple)):
        lic = ",".join(map(str, lic))
    content = next((rec[c] for c in CONTENT_COLUMNS if rec.get(c) is not None), None)
    if isinstance(content, bytes):  # a binary column (raw blobs)
        try:
            content = content.decode("utf-8")
        except UnicodeDecodeError:
            pass
    language = canonical_language(_first(rec, LANGUAGE_KEYS), fpath, content)
    # The Stack v2 paths start with "/": no "repo//path".
    origin = "/".join(p for p in (repo, fpath.lstrip("/")) if p) or f"{name}#{row}"
    # The full file path, not its basename: shards named alike in two folders (a/train-00000.parquet,
    # b/train-00000.parquet) gave rows without repo/path the same id, and dedup keys on the id.
    offset = f"{path}#{row}"
    meta = {"repo_name": repo, "path": fpath, "language": language, "license": lic, "file": path, "row": row}

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
