"""Throughput of each reader on ../shared/corpus: documents/s and MB/s per core (CPU time).

    .venv/bin/python bench/bench_readers.py [--corpus DIR] [--web-files N]

The web reader is timed twice: with the quality extractor (extract_html) and with the cheap one
(extract_fast) as the replaceable HTML step; the ratio is the cascade's headroom.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from curation.extract.html import ExtractResult, extract_fast  # noqa: E402
from curation.extract.settings import ExtractSettings  # noqa: E402
from curation.readers import get_reader  # noqa: E402


def _fast(html, url, settings):
    return ExtractResult(extract_fast(html), {"extractor": "fast"})


def run(name: str, kind: str, files: list[Path], **kw) -> tuple[str, int, float, float]:
    reader = get_reader(kind)
    settings, counters = ExtractSettings(), Counter()
    t0 = time.process_time()
    docs = sum(1 for f in files for _ in reader(str(f), settings, counters, **kw))
    cpu = time.process_time() - t0
    mb = sum(f.stat().st_size for f in files) / 1e6
    return name, docs, mb, cpu


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=str(REPO.parent / "shared" / "corpus"))
    ap.add_argument("--web-files", type=int, default=1)
    args = ap.parse_args(argv)
    c = Path(args.corpus)
    web = sorted((c / "web").glob("*.warc.gz"))[: args.web_files]
    results = [
        run("web (extract_html)", "web", web),
        run("web (extract_fast)", "web", web, html_to_text=_fast),
        run("books", "books", sorted(p for p in (c / "books").rglob("*") if p.is_file())),
        run("forums", "forums", sorted((c / "forums").rglob("Posts.xml"))),
        run("code", "code", sorted((c / "code").glob("*.parquet"))),
    ]
    base = results[0][1] / max(results[0][3], 1e-9)
    print(f"{'reader':<20} {'docs':>6} {'MB in':>7} {'docs/s/core':>12} {'MB/s/core':>10} {'x vs web(html)':>15}")
    for name, docs, mb, cpu in results:
        cpu = max(cpu, 1e-9)
        print(f"{name:<20} {docs:>6} {mb:7.1f} {docs / cpu:12.1f} {mb / cpu:10.2f} {docs / cpu / base:15.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
