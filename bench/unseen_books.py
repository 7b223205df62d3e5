"""How the books path (TeX reader + filter) does on TeX sources of Debian packages the dev corpus
never saw.

    .venv/bin/python bench/unseen_books.py [--per-package 60] [--packages texlive-science-doc ...]
    .venv/bin/python bench/unseen_books.py --dev            # the dev books, against their labels
    .venv/bin/python bench/unseen_books.py --dev --hashes before.json   # text hash per dev file

The held-out corpus is built like the dev corpus (../shared/corpus/README.md, "books/") from
*other* Debian packages: TeX files used byte for byte (decompressed from ``.tex.gz``), each
labelled ``math`` when ``n_display + n_inline >= 20``. This bench rebuilds that setting:

1. fetches each package once with ``apt-get download`` + ``dpkg-deb -x`` into /tmp/unseen_books
   (a bench input, cached; the pipeline itself never downloads), takes a seeded sample of its
   ``.tex`` / ``.tex.gz`` files and copies each, decompressed, alone into a corpus-like folder
   (the corpus holds the sampled files only, not their siblings);
2. labels each file with its own implementation of the README's rule (``label_counts``), written
   from the README and not from the pipeline's ``_tex.math_counts``, so the pipeline is measured
   against an independent count (``--dev`` shows how well it reproduces the dev labels);
3. runs the pipeline's books path: ``books.read_file`` then the filter stage's own
   ``score_batch`` + ``decide_batch`` for source ``books`` (language, quality rules, the math
   classifier at the books threshold);
4. prints per package and overall: files, label-math, reader rejects, filter rejects by reason,
   precision/recall/F1 of "kept" against the label, math retention (label count on our text /
   label count on the file, label-math files) and time per file, then the worst false negatives
   and positives with the reason. Every file's record goes to /tmp/unseen_books/records.jsonl.

Single process.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
import re
import statistics
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from debian_packages import fetch_package  # noqa: E402

from curation.extract.settings import ExtractSettings  # noqa: E402
from curation.filter.language import LanguageIdentifier  # noqa: E402
from curation.filter.math_classifier import MathClassifier  # noqa: E402
from curation.filter.settings import FilterSettings  # noqa: E402
from curation.filter.stage import decide_batch, score_batch  # noqa: E402
from curation.readers.books import read_file  # noqa: E402
from curation.schema import docs_to_batch, loads_meta  # noqa: E402

DATA = Path("/tmp/unseen_books")
DEV = REPO.parent / "shared" / "corpus"
SEED = 20251124
PER_PACKAGE = 60
LABEL_MIN = 20
SOURCE = "books"
# Not the dev corpus's packages (texlive-latex-base-doc, texlive-latex-recommended-doc, pari-doc)
# and not texlive-lang-chinese (its files trained the classifier).
PACKAGES = [
    "texlive-science-doc", "texlive-publishers-doc", "texlive-pstricks-doc", "texlive-humanities-doc",
    "texlive-metapost-doc", "texlive-fonts-extra-doc", "texlive-pictures-doc", "texlive-latex-extra-doc",
]

# --- the label rule, from the README: "n_display (equation-like environments, \[, $$), n_inline
# ($..$, \(); math when n_display + n_inline >= 20". Counted after dropping % comments. The README
# does not list the environments nor say how ``$$`` counts; on the dev books the labels' counts are
# reproduced by the amsmath display environments below (alignat, flalign and split included) and
# by counting every ``$$`` token (two per display), so that is what "equation-like" is taken to be.
_ESCAPED_PCT_OR_COMMENT = re.compile(r"\\[\\%$]|%[^\n]*")
_ENVS = "equation|align|alignat|flalign|gather|multline|eqnarray|displaymath|split"
_DISPLAY_ENV = re.compile(r"\\begin\s*\{(?:" + _ENVS + r")\*?\}")
_DISPLAY_BRACKET = re.compile(r"\\\[")
_DOUBLE_DOLLAR = re.compile(r"\$\$")
_SINGLE_DOLLAR = re.compile(r"\$[^$]+\$")
_PAREN = re.compile(r"\\\(")


def drop_comments(tex: str) -> str:
    r"""Remove ``%`` to end of line; ``\%``, ``\$`` and ``\\`` are kept (masked as two letters)."""
    def keep(m: re.Match) -> str:
        s = m.group(0)
        if s.startswith("%"):
            return ""
        return {"\\\\": "\\\\", "\\%": "PCT", "\\$": "DOL"}[s]  # escaped $ never opens math

    return _ESCAPED_PCT_OR_COMMENT.sub(keep, tex)


def label_counts(tex: str) -> tuple[int, int]:
    """(n_display, n_inline) of the README's rule."""
    s = drop_comments(tex)
    n_display = len(_DISPLAY_ENV.findall(s)) + len(_DISPLAY_BRACKET.findall(s))
    n_display += len(_DOUBLE_DOLLAR.findall(s))
    s = _DOUBLE_DOLLAR.sub(" ", s)
    n_inline = len(_SINGLE_DOLLAR.findall(s)) + len(_PAREN.findall(s))
    return n_display, n_inline


def own_decode(data: bytes) -> str:
    """UTF-8, else Latin-1 (every byte decodes): enough for counting ASCII delimiters."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


# --- fetching and sampling ---------------------------------------------------------------------

def fetch(pkg: str) -> Path | None:
    root, how = fetch_package(pkg, DATA / "debs", DATA / "pkgs" / pkg)
    if root is None:
        print(f"# {pkg}: {how}")
    return root


def tex_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()
                  and p.name.lower().endswith((".tex", ".tex.gz")))


def stage_sample(pkg: str, root: Path, n: int) -> list[tuple[Path, str]]:
    """Copy a seeded sample, decompressed, alone into DATA/corpus/<pkg>/; (staged path, source)."""
    files = tex_files(root)
    picked = random.Random(f"{SEED}:{pkg}").sample(files, min(n, len(files)))
    out_root = DATA / "corpus" / pkg
    staged = []
    for src in sorted(picked):
        rel = str(src.relative_to(root))
        dest = out_root / (rel[:-3] if rel.endswith(".gz") else rel)
        if not dest.is_file():
            dest.parent.mkdir(parents=True, exist_ok=True)
            data = gzip.decompress(src.read_bytes()) if src.name.endswith(".gz") else src.read_bytes()
            dest.write_bytes(data)
        staged.append((dest, "/" + rel))
    return staged


# --- running the pipeline ----------------------------------------------------------------------

@dataclass
class Rec:
    package: str
    file: str
    bytes: int
    n_display: int
    n_inline: int
    label: str
    reader_reason: str | None = None
    reader_ms: float = 0.0
    text_chars: int = 0
    text_hash: str | None = None
    out_formulas: int = 0  # label_counts on our text
    preamble_dropped: bool | None = None
    meta: dict = field(default_factory=dict)
    lang: str | None = None
    lang_score: float | None = None
    math_score: float | None = None
    filter_reason: str | None = None

    @property
    def total(self) -> int:
        return self.n_display + self.n_inline

    @property
    def kept(self) -> bool:
        return self.reader_reason is None and self.filter_reason is None


def run_reader(pkg: str, path: Path, settings: ExtractSettings) -> tuple[Rec, dict | None]:
    data = path.read_bytes()
    nd, ni = label_counts(own_decode(data))
    rec = Rec(pkg, str(path), len(data), nd, ni, "math" if nd + ni >= LABEL_MIN else "nonmath")
    t0 = time.perf_counter()
    rows = list(read_file(str(path), settings, Counter()))
    rec.reader_ms = (time.perf_counter() - t0) * 1000
    row = rows[0]
    rec.reader_reason = row["reason"]
    meta = row["meta"] if isinstance(row["meta"], dict) else loads_meta(row["meta"])
    rec.meta = {k: v for k, v in meta.items() if k != "file"}
    rec.preamble_dropped = meta.get("preamble_dropped")
    text = row["text"] or ""
    rec.text_chars = len(text)
    rec.text_hash = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest() if text else None
    rec.out_formulas = sum(label_counts(text))
    return rec, (row if row["reason"] is None else None)


def run_filter(recs: list[Rec], rows: list[dict | None], fs: FilterSettings,
               lid: LanguageIdentifier, clf: MathClassifier) -> float:
    """Score the reader's documents with the filter stage's own functions; returns seconds."""
    idx = [i for i, r in enumerate(rows) if r is not None]
    if not idx:
        return 0.0
    t0 = time.perf_counter()
    batch = score_batch(docs_to_batch([rows[i] for i in idx]), fs, lid, clf)
    reasons = decide_batch(batch, fs)
    cols = {name: batch.column(name).to_pylist() for name in ("lang", "lang_score", "math_score")}
    for j, i in enumerate(idx):
        recs[i].lang, recs[i].lang_score, recs[i].math_score = (cols[c][j] for c in ("lang", "lang_score", "math_score"))
        recs[i].filter_reason = reasons[j]
    return time.perf_counter() - t0


# --- reporting ---------------------------------------------------------------------------------

def prf(recs: list[Rec]) -> tuple[int, int, int]:
    tp = sum(r.kept and r.label == "math" for r in recs)
    fp = sum(r.kept and r.label != "math" for r in recs)
    fn = sum(not r.kept and r.label == "math" for r in recs)
    return tp, fp, fn


def _f(x: float | None) -> str:
    return "  -  " if x is None else f"{x:.3f}"


def summary_row(name: str, recs: list[Rec]) -> str:
    tp, fp, fn = prf(recs)
    p = tp / (tp + fp) if tp + fp else None
    r = tp / (tp + fn) if tp + fn else None
    f1 = 2 * p * r / (p + r) if p and r else None
    n_math = sum(x.label == "math" for x in recs)
    rej = sum(x.reader_reason is not None for x in recs)
    ret = [min(x.out_formulas / x.total, 9.99) for x in recs if x.label == "math" and x.reader_reason is None]
    lm = [x for x in recs if x.label == "math"]
    ret_sum = sum(min(x.out_formulas, x.total) for x in lm) / max(sum(x.total for x in lm), 1)
    ms = [x.reader_ms for x in recs]
    return (f"{name:28s} {len(recs):5d} {n_math:5d} {rej:5d} {sum(x.kept for x in recs):5d} "
            f"{tp:4d} {fp:4d} {fn:4d}  {_f(p)} {_f(r)} {_f(f1)}  "
            f"{_f(statistics.median(ret) if ret else None)} {_f(min(ret) if ret else None)} {_f(ret_sum)}  "
            f"{statistics.mean(ms) if ms else 0:7.1f} {max(ms) if ms else 0:7.1f}")


HEADER = (f"{'package':28s} {'files':>5s} {'math':>5s} {'rrej':>5s} {'kept':>5s} {'tp':>4s} {'fp':>4s} {'fn':>4s}  "
          f"{'prec':>5s} {'rec':>5s} {'f1':>5s}  {'ret50':>5s} {'retmn':>5s} {'retΣ':>5s}  {'ms/f':>7s} {'msmax':>7s}")


def why(r: Rec) -> str:
    """A short diagnosis of a file that was not kept, or was kept against its label."""
    if r.reader_reason:
        return f"reader:{r.reader_reason}"
    parts = []
    ratio = r.text_chars / max(r.bytes, 1)
    if ratio < 0.3:
        parts.append(f"reader kept {ratio:.0%} of bytes")
    if r.label == "math" and r.out_formulas < 0.5 * r.total:
        parts.append(f"formulas {r.out_formulas}/{r.total}")
    if r.filter_reason:
        parts.append(f"filter:{r.filter_reason}")
    parts.append(f"score={_f(r.math_score)} lang={r.lang}:{_f(r.lang_score)}")
    return "; ".join(parts)


def report(recs: list[Rec], show: int) -> None:
    print(HEADER)
    for pkg in sorted({r.package for r in recs}):
        print(summary_row(pkg, [r for r in recs if r.package == pkg]))
    print(summary_row("ALL", recs))
    print("(rrej = reader rejects; ret50/retmn = median/min of label formulas in our text / in the file, "
          "label-math files the reader kept; retΣ = all label formulas of label-math files found in our text; "
          "ms/f = reader time per file)")
    print("reader rejects:", dict(Counter(r.reader_reason for r in recs if r.reader_reason)))
    print("filter rejects:", dict(Counter(r.filter_reason for r in recs if r.filter_reason)))
    print("filter rejects of label-math:",
          dict(Counter(r.filter_reason for r in recs if r.filter_reason and r.label == "math")))
    fns = sorted((r for r in recs if r.label == "math" and not r.kept), key=lambda r: -r.total)
    fps = sorted((r for r in recs if r.label != "math" and r.kept), key=lambda r: -(r.math_score or 0))
    for title, items in (("worst false negatives", fns), ("worst false positives", fps)):
        print(f"\n{title} ({len(items)}):")
        for r in items[:show]:
            print(f"  {r.total:5d} ({r.n_display}+{r.n_inline}) {Path(r.file).name:38s} {r.bytes:8d}B "
                  f"text={r.text_chars:7d} pre={r.preamble_dropped!s:5s} {why(r)}")


def dev_files() -> list[tuple[str, Path, dict]]:
    labels = [json.loads(line) for line in open(DEV / "labels" / "books_labels.jsonl", encoding="utf-8")]
    return [(d["package"], DEV / d["file"], d) for d in labels]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-package", type=int, default=PER_PACKAGE)
    ap.add_argument("--packages", nargs="*", default=PACKAGES)
    ap.add_argument("--dev", action="store_true", help="the dev books instead of unseen packages")
    ap.add_argument("--hashes", help="write {file: text sha1 or reason} here")
    ap.add_argument("--show", type=int, default=12)
    ap.add_argument("--records", default=str(DATA / "records.jsonl"))
    args = ap.parse_args()

    settings = ExtractSettings()
    if args.dev:
        items = [(pkg, p, d) for pkg, p, d in dev_files()]
    else:
        items = []
        for pkg in args.packages:
            root = fetch(pkg)
            if root is not None:
                items.extend((pkg, p, {"source_path": src}) for p, src in stage_sample(pkg, root, args.per_package))
    recs: list[Rec] = []
    rows: list[dict | None] = []
    agree = Counter()
    for pkg, path, info in items:
        rec, row = run_reader(pkg, path, settings)
        recs.append(rec)
        rows.append(row)
        if args.dev:  # how well the bench's own rule reproduces the corpus labels
            agree["label"] += rec.label == info["label"]
            agree["counts"] += (rec.n_display, rec.n_inline) == (info["n_display"], info["n_inline"])
            if rec.label != info["label"] or (rec.n_display, rec.n_inline) != (info["n_display"], info["n_inline"]):
                print(f"# label rule differs on {info['file']}: ours {rec.n_display}+{rec.n_inline}, "
                      f"corpus {info['n_display']}+{info['n_inline']}")
    fs = FilterSettings()
    secs = run_filter(recs, rows, fs, LanguageIdentifier(), MathClassifier(fs.math_model))
    if args.dev:
        print(f"# own label rule vs corpus labels: label {agree['label']}/{len(recs)}, "
              f"exact counts {agree['counts']}/{len(recs)}")
    print(f"# {len(recs)} files, filter scoring {secs:.1f}s, books threshold {fs.threshold_for(SOURCE)}")
    report(recs, args.show)
    out = Path(args.records if not args.dev else str(DATA / "records_dev.jsonl"))
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", encoding="utf-8") as fh:
        for r in recs:
            fh.write(json.dumps(asdict(r), default=str) + "\n")
    if args.hashes:
        Path(args.hashes).write_text(json.dumps({r.file: r.text_hash or r.reader_reason for r in recs}, indent=0))


if __name__ == "__main__":
    main()
