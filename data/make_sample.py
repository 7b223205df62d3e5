"""Rebuild the embedded sample in data/sample/ from the development corpus (../shared/corpus).

Seeded, so the same corpus gives the same files. Run from the repo root:

    .venv/bin/python data/make_sample.py --corpus ../shared/corpus --out data/sample

The sample is what the default job runs on a fresh clone, so it must exercise every source and
every stage: math and non-math web pages (MathJax, MathML, img-alt LaTeX, plain), Chinese and
EUC-KR pages, a non-HTML response, a 404, request/revisit records, a GAP near-duplicate pair, an
exact-duplicate translation page, pages carrying benchmark test items, TeX, forum posts and code.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import shutil
from collections import defaultdict
from pathlib import Path

import pyarrow.parquet as pq
from warcio.archiveiterator import ArchiveIterator
from warcio.warcwriter import WARCWriter

SEED = 20251123

# (package, label, markup) -> how many responses to draw.
WEB_QUOTAS: dict[tuple[str, str, str], int] = {
    ("python-scipy-doc", "math", "mathjax"): 14,
    ("python-scipy-doc", "nonmath", "none"): 5,
    ("python-sympy-doc", "math", "img_alt"): 8,
    ("python-sympy-doc", "nonmath", "none"): 3,
    ("giac-doc", "math", "mathml"): 2,
    ("giac-doc", "math", "plain"): 4,
    ("maxima-doc", "math", "plain"): 4,
    ("maxima-doc", "nonmath", "none"): 3,
    ("apache2-doc", "nonmath", "none"): 10,
    ("python3.11-doc", "nonmath", "none"): 6,
    ("debian-reference-zh-cn", "nonmath", "none"): 4,
}
MAX_PAGE_BYTES = 120_000  # keep the sample small: skip the rare huge pages


def _records(path: Path):
    with open(path, "rb") as fh:
        yield from ArchiveIterator(fh)


def pick_web(corpus: Path, rng: random.Random) -> tuple[set[str], set[str]]:
    labels = [json.loads(line) for line in open(corpus / "labels/web_labels.jsonl", encoding="utf-8")]
    by_key: dict[tuple, list[dict]] = defaultdict(list)
    for row in labels:
        if row["bytes"] <= MAX_PAGE_BYTES:
            by_key[(row["package"], row["label"], row["markup"])].append(row)
    chosen: list[dict] = []
    for key, n in WEB_QUOTAS.items():
        pool = sorted(by_key.get(key, []), key=lambda r: r["url"])
        chosen += rng.sample(pool, min(n, len(pool)))
    # One GAP near-duplicate pair, one Korean (EUC-KR) page, one exact duplicate and its original,
    # one non-HTML response and one 404: the cases a reader and dedup must handle.
    # The pair must be math in both spellings, or the filter drops it before dedup sees it.
    gap = sorted((r for r in labels if r["near_dup_group"] and r["bytes"] <= MAX_PAGE_BYTES), key=lambda r: r["url"])
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in gap:
        groups[r["near_dup_group"]].append(r)
    group = next(g for g, rows in sorted(groups.items())
                 if len(rows) == 2 and all(r["label"] == "math" for r in rows) and 4_000 < rows[0]["bytes"] < 40_000)
    chosen += groups[group]
    chosen.append(next(r for r in labels if r["http_charset"] == "EUC-KR" and r["bytes"] <= MAX_PAGE_BYTES))
    dup = next(r for r in sorted(labels, key=lambda r: r["url"]) if r["exact_dup_of"])
    chosen += [dup, next(r for r in labels if r["url"] == dup["exact_dup_of"])]
    chosen.append(next(r for r in labels if not r["is_html"]))
    chosen.append(next(r for r in labels if r["status"] == 404))
    ids = {r["warc_record_id"] for r in chosen}
    urls = {r["url"] for r in chosen}
    return ids, urls


def write_web(corpus: Path, out: Path, rng: random.Random) -> int:
    ids, urls = pick_web(corpus, rng)
    revisit_urls = {json.loads(line)["url"] for line in open(corpus / "labels/web_revisits.jsonl")}
    target = out / "web" / "sample-web.warc.gz"
    target.parent.mkdir(parents=True, exist_ok=True)
    n = revisits = 0
    with open(target, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for warc in sorted((corpus / "web").glob("*.warc.gz")):
            for rec in _records(warc):
                rid = rec.rec_headers.get_header("WARC-Record-ID")
                uri = rec.rec_headers.get_header("WARC-Target-URI")
                keep = rid in ids or (rec.rec_type == "warcinfo" and n == 0)
                # Request/metadata records of chosen pages, and revisits of any chosen URL.
                keep = keep or (rec.rec_type in ("request", "metadata", "revisit") and uri in urls)
                if not keep and rec.rec_type == "revisit" and uri in revisit_urls and revisits < 3:
                    keep, revisits = True, revisits + 1
                if keep:
                    writer.write_record(rec)
                    n += 1
    return n


def write_contaminated(corpus: Path, out: Path, rng: random.Random) -> int:
    labels = [json.loads(line) for line in open(corpus / "contaminated/labels.jsonl", encoding="utf-8")]
    dirty = sorted((r for r in labels if r["benchmark"]), key=lambda r: r["url"])
    clean = sorted((r for r in labels if not r["benchmark"]), key=lambda r: r["url"])
    chosen = rng.sample(dirty, 4) + rng.sample(clean, 2)
    ids = {r["warc_record_id"] for r in chosen}
    target = out / "web" / "sample-contaminated.warc.gz"
    with open(target, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for rec in _records(corpus / "contaminated/contaminated.warc.gz"):
            if rec.rec_headers.get_header("WARC-Record-ID") in ids:
                writer.write_record(rec)
    (out / "labels").mkdir(exist_ok=True)
    with open(out / "labels" / "contaminated.jsonl", "w", encoding="utf-8") as fh:
        for row in sorted(chosen, key=lambda r: r["url"]):
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return len(ids)


def write_books(corpus: Path, out: Path) -> list[str]:
    picks = [
        "texlive-latex-base-doc/latex/amsmath/testmath.tex",  # math: the amsmath test document
        "pari-doc/tutorial-mf.tex",  # math, plain TeX
        "texlive-latex-recommended-doc/latex/parskip/parskip.tex",  # tiny, non-math
    ]
    for rel in picks:
        dest = out / "books" / Path(rel).name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(corpus / "books" / rel, dest)
    return picks


def write_forum(src: Path, dest: Path, n_questions: int, rng: random.Random) -> int:
    """Copy n questions (and all their answers) from a Posts.xml, keeping the dump's format."""
    from lxml import etree

    parser_kw = {"resolve_entities": False, "no_network": True, "huge_tree": False}
    questions, answers = [], defaultdict(list)
    for _, el in etree.iterparse(str(src), events=("end",), tag="row", **parser_kw):
        attrs = dict(el.attrib)
        if attrs.get("PostTypeId") == "1":
            questions.append(attrs)
        elif attrs.get("PostTypeId") == "2":
            answers[attrs["ParentId"]].append(attrs)
        el.clear()
    picked = sorted(rng.sample(questions, n_questions), key=lambda q: int(q["Id"]))
    root = etree.Element("posts")
    for q in picked:
        etree.SubElement(root, "row", q)
        for a in answers[q["Id"]]:
            etree.SubElement(root, "row", a)
    dest.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    etree.ElementTree(root).write(buf, xml_declaration=True, encoding="utf-8", pretty_print=True)
    dest.write_bytes(buf.getvalue().replace(b"\n", b"\r\n"))
    return len(picked)


def write_code(corpus: Path, out: Path, rng: random.Random) -> int:
    import pyarrow as pa

    tables = []
    for name, n in (("coq-stdlib", 15), ("coq-math-classes", 10), ("python-sympy", 15), ("python-stdlib", 10)):
        table = pq.read_table(corpus / "code" / f"{name}.parquet")
        small = [i for i in range(table.num_rows) if table["size"][i].as_py() <= 20_000]
        rows = sorted(rng.sample(small, min(n, len(small))))
        tables.append(table.take(rows))
    merged = pa.concat_tables(tables)
    dest = out / "code" / "sample-code.parquet"
    dest.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(merged, dest, compression="zstd")
    return merged.num_rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=Path("../shared/corpus"))
    ap.add_argument("--out", type=Path, default=Path("data/sample"))
    args = ap.parse_args()
    rng = random.Random(SEED)
    for sub in ("web", "books", "forums", "code", "labels"):
        shutil.rmtree(args.out / sub, ignore_errors=True)
    print("web records:", write_web(args.corpus, args.out, rng))
    print("contaminated pages:", write_contaminated(args.corpus, args.out, rng))
    print("books:", write_books(args.corpus, args.out))
    forums = args.corpus / "forums"
    print("math questions:", write_forum(forums / "math.example/Posts.xml", args.out / "forums/math.example/Posts.xml", 60, rng))
    print("python questions:", write_forum(forums / "python.example/Posts.xml", args.out / "forums/python.example/Posts.xml", 20, rng))
    print("code rows:", write_code(args.corpus, args.out, rng))


if __name__ == "__main__":
    main()
