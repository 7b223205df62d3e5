"""List every benchmark hit over the development corpus, and recall on the contaminated set.

    .venv/bin/python bench/decontam_corpus_hits.py [--corpus ../shared/corpus] [--benchmarks DIR]
        [--json hits.json]

The text of each source is taken with a deliberately simple extraction (resiliparse plain text for
HTML, raw TeX for books, title + body text for forum posts, file content for code), so that the
numbers do not depend on the extract stage. Every hit is printed with its source, origin, the
benchmark item and the matched (normalised) snippet, so each can be explained by hand.
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from curation.decontaminate.settings import DecontaminateSettings  # noqa: E402
from curation.decontaminate.stage import build_index  # noqa: E402


def html_text(payload: bytes) -> str:
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.encoding import bytes_to_str, detect_encoding

    return extract_plain_text(bytes_to_str(payload, detect_encoding(payload)), main_content=False)


def warc_docs(path: str) -> Iterator[tuple[str, str]]:
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    with open(path, "rb") as fh:
        for rec in ArchiveIterator(fh, record_types=WarcRecordType.response, parse_http=True):
            ctype = (rec.http_headers.get("Content-Type") or "") if rec.http_headers else ""
            if "html" not in ctype.lower():
                continue
            yield rec.headers.get("WARC-Target-URI") or "", html_text(rec.reader.read())


def book_docs(root: Path) -> Iterator[tuple[str, str]]:
    for path in sorted(root.rglob("*.tex")):
        yield str(path.relative_to(root)), path.read_text(encoding="utf-8", errors="replace")


def forum_docs(root: Path) -> Iterator[tuple[str, str]]:
    from lxml import etree

    for posts in sorted(root.rglob("Posts.xml")):
        for _, row in etree.iterparse(str(posts), tag="row", resolve_entities=False):
            body = row.get("Body") or ""
            text = (row.get("Title") or "") + "\n" + (html_text(body.encode()) if body else "")
            yield f"{posts.parent.name}/{row.get('Id')}", text
            row.clear()


def code_docs(root: Path) -> Iterator[tuple[str, str]]:
    import pyarrow.parquet as pq

    for path in sorted(root.glob("*.parquet")):
        table = pq.read_table(path, columns=["repo_name", "path", "content"])
        for repo, p, content in zip(*(table.column(c).to_pylist() for c in ("repo_name", "path", "content")), strict=True):
            yield f"{path.name}:{repo}/{p}", content or ""


def corpus_docs(corpus: Path) -> Iterator[tuple[str, str, str]]:
    for path in sorted(glob.glob(str(corpus / "web" / "*.warc.gz"))):
        for origin, text in warc_docs(path):
            yield "web", origin, text
    for origin, text in book_docs(corpus / "books"):
        yield "books", origin, text
    for origin, text in forum_docs(corpus / "forums"):
        yield "forums", origin, text
    for origin, text in code_docs(corpus / "code"):
        yield "code", origin, text


def contaminated_eval(index, corpus: Path) -> dict:
    """Recall on the inserted items (benchmark and item both right) and false positives on clean pages."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    labels = {}
    for line in (corpus / "contaminated" / "labels.jsonl").read_text().splitlines():
        d = json.loads(line)
        labels[d["url"]] = d
    found = caught = fp = clean = inserted_ok = 0
    clean_max, dirty_min = 0.0, 1.0
    misses = []
    with open(corpus / "contaminated" / "contaminated.warc.gz", "rb") as fh:
        for rec in ArchiveIterator(fh, record_types=WarcRecordType.response, parse_http=True):
            url = rec.headers.get("WARC-Target-URI")
            lab = labels[url]
            text = html_text(rec.reader.read())
            m = index.match(text)
            best = index.match(text, 0.0)
            if lab["benchmark"] is None:
                clean += 1
                fp += m is not None
                clean_max = max(clean_max, best.coverage if best else 0.0)
                if m:
                    misses.append(("false_positive", url, m.reason))
                continue
            found += 1
            dirty_min = min(dirty_min, best.coverage if best else 0.0)
            ok = m is not None and m.benchmark == lab["benchmark"] and m.item == str(lab["item_idx_field"])
            caught += ok
            if not ok:
                misses.append(("missed", url, lab["benchmark"], lab["item_index"], m and m.reason))
            t = index.match(lab["inserted_text"])
            inserted_ok += t is not None and t.benchmark == lab["benchmark"] and t.item == str(lab["item_idx_field"])
    return {
        "inserted": found,
        "recall_pages": caught / found,
        "recall_inserted_text": inserted_ok / found,
        "clean_pages": clean,
        "false_positives_clean": fp,
        "lowest_coverage_inserted": round(dirty_min, 3),
        "highest_coverage_clean": round(clean_max, 3),
        "problems": misses,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default=str(REPO.parent / "shared" / "corpus"))
    ap.add_argument("--benchmarks", default=None, help="benchmark folder (default: the repo copy)")
    ap.add_argument("--json", default=None, help="write the hit list here")
    ap.add_argument("--near", type=float, default=0.3, help="also list partial matches with this coverage")
    args = ap.parse_args(argv)
    corpus = Path(args.corpus)
    settings = DecontaminateSettings()
    t0 = time.perf_counter()
    index = build_index(settings, args.benchmarks)
    print(f"index: built in {time.perf_counter() - t0:.1f}s {json.dumps(index.stats)}")

    ev = contaminated_eval(index, corpus)
    print(f"contaminated set: {json.dumps({k: v for k, v in ev.items() if k != 'problems'})}")
    for p in ev["problems"]:
        print("  ", p)

    per_source: Counter[str] = Counter()
    hits, near = [], []
    for source, origin, text in corpus_docs(corpus):
        per_source[source] += 1
        m = index.match(text, args.near)
        if m is None:
            continue
        row = {"source": source, "origin": origin, "reason": m.reason, "hits": m.hits,
               "coverage": round(m.coverage, 3), "snippet": m.snippet}
        (hits if m.coverage >= index.min_coverage else near).append(row)
    n = sum(per_source.values())
    print(f"\ndevelopment corpus: {n} documents {dict(per_source)}; {len(hits)} hits "
          f"({100 * len(hits) / max(n, 1):.3f}%)")
    for h in hits:
        print(f"  {h['source']:6} {h['origin'][:70]:70} {h['reason']:32} n={h['hits']:<4} cov={h['coverage']:.2f} {h['snippet'][:100]!r}")
    print(f"\nnear misses (coverage >= {args.near} but below {index.min_coverage}): {len(near)}")
    for h in sorted(near, key=lambda h: -h["coverage"]):
        print(f"  {h['source']:6} {h['origin'][:70]:70} {h['reason']:32} n={h['hits']:<4} cov={h['coverage']:.2f} {h['snippet'][:100]!r}")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"contaminated": ev, "docs": dict(per_source), "hits": hits, "near_misses": near}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
