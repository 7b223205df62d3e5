"""Filter stage throughput, against datatrove's Gopher filters run on the same documents.

    .venv/bin/python bench/bench_filter.py [--corpus ../shared/corpus] [--limit 2000]

Documents: books chunks, forum posts and code files of the dev corpus (no HTML extraction, so the
numbers are the filter's alone). Baseline: datatrove's GopherRepetitionFilter + GopherQualityFilter
(which only decide; no language id, no classifier), with whitespace word splitting since its
English tokenizer needs spaCy. Single process: numbers are per core.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from classifiers.seeds import book_examples, code_examples, forum_examples  # noqa: E402
from curation.filter.stage import FilterStage  # noqa: E402
from curation.schema import DOC_SCHEMA, docs_to_batch, make_id  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    ap.add_argument("--limit", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=500)
    args = ap.parse_args(argv)
    rows = []
    for gen in (book_examples(args.corpus), forum_examples(args.corpus, per_forum=600), code_examples(args.corpus)):
        for ex in gen:
            src = ex["source"]
            rows.append({"id": make_id(src, ex["origin"]), "source": src, "origin": ex["origin"], "text": ex["text"]})
    rows = rows[: args.limit]
    n = len(rows)
    mb = sum(len(r["text"].encode("utf-8")) for r in rows) / 1e6
    batches = [docs_to_batch(rows[i : i + args.batch], DOC_SCHEMA) for i in range(0, n, args.batch)]
    print(f"{n} documents, {mb:.1f} MB of text")

    import datatrove.pipeline.filters.gopher_quality_filter as gq
    import datatrove.pipeline.filters.gopher_repetition_filter as gr
    from datatrove.data import Document
    from datatrove.pipeline.filters import GopherQualityFilter, GopherRepetitionFilter

    # datatrove's English word tokenizer needs spaCy (not a dependency): split on whitespace.
    gq.split_into_words = gr.split_into_words = lambda text, language: text.split()

    rep, qual = GopherRepetitionFilter(), GopherQualityFilter()
    docs = [Document(text=r["text"], id=r["id"]) for r in rows]
    t0 = time.perf_counter()
    dt_kept = sum(1 for d in docs if rep.filter(d) is True and qual.filter(d) is True)
    t_dt = time.perf_counter() - t0

    stage = FilterStage()
    stage(batches[0].slice(0, 1))  # load the models outside the timing
    t0 = time.perf_counter()
    kept = 0
    for b in batches:
        out = stage(b)
        kept += out.batch.column("reason").null_count
    t_ours = time.perf_counter() - t0

    for name, secs, k in (("datatrove Gopher rep+quality", t_dt, dt_kept), ("filter stage (lid+quality+clf)", t_ours, kept)):
        print(f"{name:32s} {n / secs:8.1f} docs/s/core  {mb / secs:6.2f} MB/s/core  kept {k}/{n}")
    print(f"ratio filter stage / datatrove baseline (throughput): {t_dt / t_ours:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
