"""Throughput of the decontamination stage with every benchmark set loaded.

    .venv/bin/python bench/bench_decontaminate.py [--corpus ../shared/corpus] [--docs 4000]

Runs in one process (one core). Documents are development-corpus texts (web pages through a plain
resiliparse extraction, forum posts, code files), cycled up to ``--docs``. The baseline, timed in
the same run, is the classic lm-eval-harness scan: lower-case, split on whitespace, look every
13-gram up in a Python set of benchmark 13-grams (no normalisation, no Chinese, no exact rule).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from decontam_corpus_hits import code_docs, forum_docs, warc_docs  # noqa: E402

from curation.decontaminate.benchmarks import load_all, resolve_benchmark_dir  # noqa: E402
from curation.decontaminate.settings import DecontaminateSettings  # noqa: E402
from curation.decontaminate.stage import DecontaminateStage, build_index  # noqa: E402
from curation.schema import docs_to_batch  # noqa: E402
from curation.stage import conform  # noqa: E402


def sample_texts(corpus: Path, n: int) -> list[str]:
    web = [t for _, t in itertools.islice(warc_docs(str(corpus / "web" / "devcrawl-00000.warc.gz")), n // 2)]
    forums = [t for _, t in itertools.islice(forum_docs(corpus / "forums"), n // 3)]
    code = [t for _, t in itertools.islice(code_docs(corpus / "code"), n // 6)]
    pool = [t for t in web + forums + code if t]
    return list(itertools.islice(itertools.cycle(pool), n))


def baseline_scan(texts: list[str], grams: set[tuple[str, ...]], n: int = 13) -> int:
    dirty = 0
    for text in texts:
        words = text.lower().split()
        dirty += any(tuple(words[i : i + n]) in grams for i in range(len(words) - n + 1))
    return dirty


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default=str(REPO.parent / "shared" / "corpus"))
    ap.add_argument("--benchmarks", default=None)
    ap.add_argument("--docs", type=int, default=4000)
    ap.add_argument("--batch", type=int, default=1000)
    args = ap.parse_args(argv)

    settings = DecontaminateSettings()
    t0 = time.perf_counter()
    index = build_index(settings, args.benchmarks)
    build_s = time.perf_counter() - t0
    print(f"index: {build_s:.1f}s to build; {json.dumps(index.stats)}")
    print(f"index memory: {index.stats['memory_bytes'] / 2**20:.1f} MiB in memory, "
          f"{index.stats['pickled_bytes'] / 2**20:.1f} MiB pickled (broadcast)")

    texts = sample_texts(Path(args.corpus), args.docs)
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    print(f"documents: {len(texts)}, {mb:.1f} MB, mean {1e6 * mb / len(texts):.0f} bytes")
    batches = [conform(docs_to_batch([{"id": str(i), "source": "web", "origin": str(i), "text": t}
                                      for i, t in enumerate(texts[s : s + args.batch])]))
               for s in range(0, len(texts), args.batch)]

    stage = DecontaminateStage(settings, index=index)
    stage(batches[0])  # warm-up: grows the power tables once
    cpu0, t0 = time.process_time(), time.perf_counter()
    dirty = sum(sum(r is not None for r in stage(b).batch.column("reason").to_pylist()) for b in batches)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - t0

    grams: set[tuple[str, ...]] = set()
    for items in load_all(resolve_benchmark_dir(args.benchmarks), settings).values():
        for it in items:
            words = " ".join(it.texts.values()).lower().split()
            grams.update(tuple(words[i : i + 13]) for i in range(len(words) - 12))
    bcpu0 = time.process_time()
    base_dirty = baseline_scan(texts, grams)
    bcpu = time.process_time() - bcpu0

    print(f"load average: {os.getloadavg()[0]:.1f} (the machine is shared; CPU time is used per core)")
    print(f"decontaminate: {len(texts) / cpu:,.0f} docs/s per core, {mb / cpu:.2f} MB/s per core "
          f"(cpu {cpu:.2f}s, wall {wall:.2f}s), {dirty} contaminated")
    print(f"baseline (lower+split 13-gram set): {len(texts) / bcpu:,.0f} docs/s per core, {mb / bcpu:.2f} MB/s "
          f"per core, {base_dirty} contaminated")
    print(f"ratio decontaminate / baseline: {bcpu / cpu:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
