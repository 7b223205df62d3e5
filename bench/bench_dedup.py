"""Benchmark of the dedup stage: MinHash signatures against datasketch and datatrove, and the
whole Spark stage on 1x and 4x input.

    .venv/bin/python bench/bench_dedup.py [--docs 2000] [--stage-docs 2000] [--skip-stage]

Documents are ~3 KB of real text from ../shared/corpus (TeX chunks and forum posts), or seeded
text when the corpus is absent; 1/3 of them get a near-duplicate variant. Throughput per core is
documents over CPU seconds of this process (``time.process_time``), which stays meaningful when
other jobs share the machine; wall time is printed beside it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from curation.dedup import synthetic as syn  # noqa: E402
from curation.dedup.minhash import band_hashes, signatures  # noqa: E402
from curation.dedup.settings import DedupSettings  # noqa: E402
from curation.dedup.shingles import shingle_batch, shingle_hash32, shingles_of  # noqa: E402

CORPUS = REPO.parent / "shared" / "corpus"


def documents(n: int, seed: int = 0) -> list[str]:
    if CORPUS.is_dir():
        pool = syn.corpus_texts(CORPUS, 100_000, seed=seed)
    else:
        pool = syn.seeded_texts(n * 2, seed=seed, words=(450, 550))
    out, buf = [], ""
    for t in pool:  # glue short posts into ~3 KB documents
        buf = (buf + "\n\n" + t) if buf else t
        if len(buf) >= 2800:
            out.append(buf[:3200])
            buf = ""
        if len(out) == n:
            break
    while len(out) < n:  # the corpus ran out: reuse with a suffix so texts stay distinct
        out.append(out[len(out) % max(1, len(out))][:3000] + f" variant {len(out)}")
    return out


def timed(fn: Callable[[], object], repeat: int = 1) -> tuple[float, float]:
    """(best CPU seconds, best wall seconds) over ``repeat`` runs."""
    cpu, wall = [], []
    for _ in range(repeat):
        c, w = time.process_time(), time.perf_counter()
        fn()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    return min(cpu), min(wall)


def report(name: str, n: int, mb: float, cpu: float, wall: float, base: float | None) -> float:
    rate = n / cpu
    ratio = f"  x{rate / base:6.1f} vs datasketch update" if base else ""
    print(f"  {name:42s} {rate:9.0f} docs/s/core  {mb / cpu:6.2f} MB/s/core  (wall {n / wall:8.0f} docs/s){ratio}")
    return rate


def _dt_config(minhash_config: type, hash_config: type, n: int, b: int, r: int) -> object:
    # datatrove's default xxhash config hands str to an xxhash that wants bytes here (TypeError),
    # so the baseline uses its sha1 hash at 64-bit precision.
    return minhash_config(n_grams=n, num_buckets=b, hashes_per_bucket=r, hash_config=hash_config(hash_fc="sha1", precision=64))


def bench_signatures(texts: list[str], s: DedupSettings) -> None:
    from datasketch import MinHash

    mb = sum(len(t.encode()) for t in texts) / 1e6
    n = len(texts)
    print(f"signatures: {n} docs, {mb * 1e6 / n:.0f} bytes/doc, num_perm={s.num_perm}, {s.ngram}-grams, 1 process")
    small = texts[: max(50, n // 10)]
    small_mb = mb * len(small) / n

    # Baselines get their shingles precomputed: only the MinHash work is timed for them.
    sh_bytes = [[sh.encode() for sh in shingles_of(t)] for t in small]

    def ds_update() -> None:
        for shs in sh_bytes:
            m = MinHash(num_perm=s.num_perm, seed=s.seed)
            for sh in shs:
                m.update(sh)

    def ds_batch() -> None:
        for shs in sh_bytes:
            m = MinHash(num_perm=s.num_perm, seed=s.seed)
            m.update_batch(shs)

    def ds_batch_ours_hash() -> None:
        for shs in sh_bytes:
            m = MinHash(num_perm=s.num_perm, seed=s.seed, hashfunc=shingle_hash32)
            m.update_batch(shs)

    print("  (baselines: shingles precomputed, only MinHash timed; ours: from raw text)")
    base = report("datasketch MinHash.update (sha1)", len(small), small_mb, *timed(ds_update), None)
    report("datasketch MinHash.update_batch (sha1)", len(small), small_mb, *timed(ds_batch), base)
    report("datasketch update_batch (our xxh3 hashfunc)", len(small), small_mb, *timed(ds_batch_ours_hash), base)
    try:
        from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature
        from datatrove.utils.hashing import HashConfig

        b, r = s.lsh_params
        try:
            step = MinhashDedupSignature(tempfile.mkdtemp(), _dt_config(MinhashConfig, HashConfig, s.ngram, b, r))
            tokenizer_note = ", sha1-64"
        except ImportError:  # its English tokenizer needs spaCy; split on whitespace instead
            import datatrove.pipeline.dedup.minhash as dtm

            class _Split:
                def word_tokenize(self, text: str) -> list[str]:
                    return text.split()

            orig = dtm.load_word_tokenizer
            dtm.load_word_tokenizer = lambda lang: _Split()
            try:
                step = MinhashDedupSignature(tempfile.mkdtemp(), _dt_config(MinhashConfig, HashConfig, s.ngram, b, r))
            finally:
                dtm.load_word_tokenizer = orig
            tokenizer_note = ", sha1-64, split() (no spaCy)"

        def dt_sig() -> None:
            for t in small:
                step.get_signature(step.get_shingles(t))

        report(f"datatrove signature step{tokenizer_note}", len(small), small_mb, *timed(dt_sig), base)
    except Exception as err:
        print(f"  datatrove signature step skipped: {err!r}")

    arr = pa.array(texts, pa.large_string())
    batches = [arr.slice(i, 1000) for i in range(0, n, 1000)]
    b, r = s.lsh_params
    for hash_name in ("xxh3", "sha1"):

        def ours(h: str = hash_name) -> None:
            for batch in batches:
                band_hashes(signatures(shingle_batch(batch, s.ngram, hash=h), s.num_perm, s.seed), b, r)

        data = batches if hash_name == "xxh3" else batches[:1]
        k = sum(len(x) for x in data)
        if hash_name == "sha1":

            def ours(h: str = hash_name) -> None:
                band_hashes(signatures(shingle_batch(batches[0], s.ngram, hash=h), s.num_perm, s.seed), b, r)

        report(f"ours: numpy batch, {hash_name} shingles (+bands)", k, mb * k / n, *timed(ours, repeat=3), base)
    # Cross-check on a few documents: the signature equals datasketch's.
    sig = signatures(shingle_batch(pa.array(texts[:5])), s.num_perm, s.seed)
    for i in range(5):
        m = MinHash(num_perm=s.num_perm, seed=s.seed, hashfunc=shingle_hash32)
        m.update_batch([sh.encode() for sh in shingles_of(texts[i])])
        assert np.array_equal(m.hashvalues, sig[i]), "signature differs from datasketch"
    print("  signatures equal datasketch's on a sample: yes")


def bench_stage(texts: list[str], factor_list: tuple[int, ...] = (1, 4)) -> None:
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    from curation.config import PipelineConfig
    from curation.schema import DOC_SCHEMA, docs_to_batch
    from curation.spark.dedup import transform
    from curation.spark.stage_api import StageContext

    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    tmp = Path(tempfile.mkdtemp(prefix="bench_dedup_"))
    times = {}
    try:
        # Warm-up (JVM, Python workers) on a small input, so that 1x does not pay it alone.
        for factor in (0, *factor_list):
            # Distinct texts at every scale: 4x is 4x more documents, not copies of 1x.
            base = texts[: len(texts) // 4 * factor] if factor else texts[:100]
            docs, _, _ = syn.build(base, n_pairs=len(base) // 3, seed=100 + factor, prefix=f"f{factor}_")
            rows = [dict(id=d["id"], source="web", origin=f"https://x.org/{d['id']}", text=d["text"]) for d in docs]
            path = tmp / f"in_{factor}"
            path.mkdir(parents=True)
            pq.write_table(pa.Table.from_batches([docs_to_batch(rows, DOC_SCHEMA)]), path / "part.parquet")
            # The Spark path (dedup.driver_max_docs 0), then the same input on the driver
            # (curation/dedup/local.py, whatever its size): the break-even of driver_max_docs.
            for mode, limit in (("spark", 0), ("driver", 10**9)):
                df = spark.read.parquet(str(path))
                cfg = PipelineConfig(sources=[{"kind": "web", "paths": ["unused"]}], output=str(tmp),
                                     dedup={"driver_max_docs": limit})
                out = tmp / f"out_{factor}_{mode}"
                ctx = StageContext(cfg=cfg, stage="dedup", output_dir=out, work_dir=tmp / f"work_{factor}_{mode}",
                                   input_path=path)
                t = time.perf_counter()
                res = transform(spark, df, ctx)
                res.frame.write.mode("overwrite").parquet(str(out))
                times[factor, mode] = time.perf_counter() - t
                n = len(rows)
                if not factor:
                    continue
                dropped = spark.read.parquet(str(out)).where("reason is not null").count()
                print(
                    f"  stage x{factor} {mode:6s}: {n} docs in {times[factor, mode]:.1f} s wall"
                    f" ({n / times[factor, mode]:.0f} docs/s on local[2]), {dropped} dropped,"
                    f" candidate pairs {res.extra_stats.get('candidate_pairs')},"
                    f" verification drops {res.extra_stats.get('verification_dropped_pairs')},"
                    f" clusters {res.extra_stats.get('cluster_sizes')}"
                )
            if factor:
                print(f"  x{factor}: driver / spark time {times[factor, 'driver'] / times[factor, 'spark']:.2f}")
        for mode in ("spark", "driver"):
            if (1, mode) in times and (4, mode) in times:
                ratio = times[4, mode] / times[1, mode]
                print(f"  {mode}: 4x input / 1x input time ratio: {ratio:.2f} (must be <= 5):"
                      f" {'OK' if ratio <= 5 else 'FAIL'}")
    finally:
        spark.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--docs", type=int, default=2000, help="documents for the signature benchmark")
    p.add_argument("--stage-docs", type=int, default=1000, help="distinct texts of the 1x stage input (4x uses 4 times as many)")
    p.add_argument("--skip-stage", action="store_true")
    args = p.parse_args(argv)
    s = DedupSettings()
    print(f"dedup settings: {s.tag} (threshold {s.threshold}, bands x rows {s.lsh_params})")
    texts = documents(args.docs)
    bench_signatures(texts, s)
    if not args.skip_stage:
        print("whole dedup stage (exact + URL + MinHash-LSH + verification + connected components):")
        pool = syn.corpus_texts(CORPUS, 4 * args.stage_docs, seed=5) if CORPUS.is_dir() else []
        if len(pool) < 4 * args.stage_docs:
            pool = syn.seeded_texts(4 * args.stage_docs, seed=5)
        bench_stage(pool)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
