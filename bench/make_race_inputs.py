"""Build the race's inputs from the development crawl (issue 9, "The race").

    .venv/bin/python bench/make_race_inputs.py [--corpus ../shared/corpus] [--out /tmp/race_inputs]

Writes under --out:
    dev/        the dev crawl's web WARCs as they are (symlinks: every record kind, every page)
    mix5/       all non-math responses + enough seeded-random math responses that ~5% of pages are
                math, as on a real crawl; written round-robin into two WARCs so both cores work
    scale_x1/, scale_x2/, scale_x4/
                the responses of the first dev WARC (a third of the crawl, so the 4x run stays
                short on a shared machine) once, twice and four times, in 4 files each so both
                cores work at every size: copy k > 0 of a record gets ``?replica=k`` on its URL
                and a new (deterministic) WARC-Record-ID, so the pipeline sees distinct pages
                with the same bodies (for the cost-growth curve)
    mix5_large/ (with --debian-docs, or when race_datatrove.py finds them) the same 5% math share
                on a larger scale: the non-math pages of mix5 plus every HTML page of three
                Debian documentation packages that are not about math (postgresql-doc-15,
                python-django-doc, git-doc; none is in the dev corpus or the classifier's seeds),
                as WARC responses under their sites' URLs, then dev math pages drawn seeded to
                make ~5%; spread over 8 files
    mix5_web/   (with --webgen, or when race_datatrove.py is asked to race it) 5% math where the rest
                is generic web, as on a real crawl: the held-out split of
                classifiers/seeds_web_generic.py (163 saved news, shop and portal pages from three
                packages; never trained on) WEB_COPIES times each under replica URLs, plus as many
                dev math pages (seeded) as make 5%; in 8 files. The dev crawl's non-math pages are
                software manuals, many of math software with site-wide MathJax, which pass the
                gate on markup far more often than the pages of a crawl do
    <name>_x<k>/ (with --replicate name:k, or when race_datatrove.py is asked to race it) every
                page of <name> k times under replica URLs and ids, in 8 files: the 5%-math mix
                at a size where our fixed Spark costs (start-up, per-stage jobs) stop dominating
    inputs.json what each folder holds (pages, math pages, bytes)

The Debian packages are not shipped: ``fetch_debian_docs`` runs ``apt-get download`` and
``dpkg-deb -x`` into --debian-docs (a bench input, fetched once; the pipeline itself never
downloads anything).

Math labels come from corpus/labels/web_labels.jsonl. Deterministic: same corpus, same files.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import uuid
from io import BytesIO
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.warcwriter import WARCWriter

REPO = Path(__file__).resolve().parents[1]
SEED = 20251124
MATH_SHARE = 0.05
SCALE_FILES = 4
# WARC headers carried over to a rewritten record; the rest (id, digests, length) are recomputed.
_KEEP_HEADERS = ("WARC-Date", "WARC-IP-Address", "WARC-Truncated", "WARC-Identified-Payload-Type")


def load_labels(corpus: Path) -> dict[str, dict]:
    with open(corpus / "labels" / "web_labels.jsonl", encoding="utf-8") as fh:
        return {d["warc_record_id"]: d for d in map(json.loads, fh)}


def iter_responses(warcs: list[Path]):
    """(record id, url, http headers, raw body bytes, warc headers) of every response record."""
    for path in warcs:
        with open(path, "rb") as fh:
            for rec in ArchiveIterator(fh):
                if rec.rec_type != "response":
                    continue
                body = rec.raw_stream.read()  # the stored payload bytes, not de-chunked or decoded
                yield (rec.rec_headers.get_header("WARC-Record-ID"), rec.rec_headers.get_header("WARC-Target-URI"),
                       rec.http_headers, body, rec.rec_headers)


def write_record(writer: WARCWriter, url: str, record_id: str, http_headers, body: bytes, warc_headers) -> None:
    headers = {"WARC-Record-ID": record_id}
    for name in _KEEP_HEADERS:
        value = warc_headers.get_header(name)
        if value:
            headers[name] = value
    rec = writer.create_warc_record(url, "response", payload=BytesIO(body), http_headers=http_headers,
                                    warc_headers_dict=headers)
    writer.write_record(rec)


def pick_math_pages(labels: dict[str, dict], n_nonmath: int) -> set[str]:
    """Record ids of the dev math pages, drawn seeded, that make ``MATH_SHARE`` of a mix beside
    ``n_nonmath`` other pages (all of them when there are too few)."""
    math_ids = sorted(i for i, d in labels.items() if d["label"] == "math")
    n_pick = min(len(math_ids), round(MATH_SHARE / (1 - MATH_SHARE) * n_nonmath))
    return set(random.Random(SEED).sample(math_ids, n_pick))


def replica_url(url: str, k: int) -> str:
    return url if k == 0 else f"{url}{'&' if '?' in url else '?'}replica={k}"


def original_url(url: str) -> str:
    """The page a replica URL (``replica_url``) was copied from."""
    return re.sub(r"[?&]replica=\d+$", "", url)


def replica_id(record_id: str, k: int) -> str:
    return record_id if k == 0 else f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{record_id}#{k}')}>"


def _writers(folder: Path, n: int) -> tuple[list, list[WARCWriter]]:
    folder.mkdir(parents=True, exist_ok=True)
    handles = [open(folder / f"part-{i:05d}.warc.gz", "wb") for i in range(n)]
    return handles, [WARCWriter(h, gzip=True) for h in handles]


def build(corpus: Path, out: Path) -> dict:
    warcs = sorted((corpus / "web").glob("*.warc.gz"))
    labels = load_labels(corpus)
    info: dict[str, dict] = {}

    dev = out / "dev"
    dev.mkdir(parents=True, exist_ok=True)
    for w in warcs:
        link = dev / w.name
        if not link.exists():
            link.symlink_to(w)
    n_math = sum(1 for d in labels.values() if d["label"] == "math")
    info["dev"] = {"pages": len(labels), "math_pages": n_math, "bytes": sum(w.stat().st_size for w in warcs)}

    # 5% math: every non-math page, and math pages drawn seeded so that math / all ~= MATH_SHARE.
    picked = pick_math_pages(labels, len(labels) - n_math)
    n_pick = len(picked)
    handles, writers = _writers(out / "mix5", 2)
    n = 0
    for rid, url, http, body, wh in iter_responses(warcs):
        d = labels.get(rid)
        if d is None or (d["label"] == "math" and rid not in picked):
            continue
        write_record(writers[n % 2], url, rid, http, body, wh)
        n += 1
    for h in handles:
        h.close()
    info["mix5"] = {"pages": n, "math_pages": n_pick,
                    "bytes": sum(p.stat().st_size for p in (out / "mix5").glob("*.warc.gz"))}

    # Replicas: copy k of every response of the first WARC, spread over 4 files.
    for factor in (1, 2, 4):
        folder = out / f"scale_x{factor}"
        ids = write_replicas(warcs[:1], folder, factor, SCALE_FILES)
        info[f"scale_x{factor}"] = {"pages": len(ids),
                                    "math_pages": sum(labels.get(r, {}).get("label") == "math" for r in ids),
                                    "bytes": sum(p.stat().st_size for p in folder.glob("*.warc.gz"))}
    (out / "inputs.json").write_text(json.dumps(info, indent=2))
    return info


# Non-math HTML for the large mix: (package, folder inside it, URL prefix).
# None of them is used by the dev corpus or by the classifier's seeds (classifiers/seeds/).
DEBIAN_DOCS = (
    ("postgresql-doc-15", "usr/share/doc/postgresql-doc-15/html", "https://www.postgresql.org/docs/15/"),
    ("python-django-doc", "usr/share/doc/python-django-doc/html", "https://docs.djangoproject.com/en/3.2/"),
    ("git-doc", "usr/share/doc/git-doc", "https://git-scm.com/docs/"),
)
LARGE_FILES = 8


def fetch_debian_docs(dest: Path) -> bool:
    """apt-get download + dpkg-deb -x of DEBIAN_DOCS into dest; False when apt cannot."""
    import subprocess

    if all((dest / folder).is_dir() for _, folder, _ in DEBIAN_DOCS):
        return True
    dest.mkdir(parents=True, exist_ok=True)
    for package, _, _ in DEBIAN_DOCS:
        got = subprocess.run(["apt-get", "download", package], cwd=dest, capture_output=True, text=True)
        debs = sorted(dest.glob(f"{package}_*.deb"))
        if got.returncode != 0 or not debs:
            print(f"make_race_inputs: apt-get download {package} failed: {got.stderr.strip()[:200]}",
                  file=sys.stderr)
            return False
        subprocess.run(["dpkg-deb", "-x", str(debs[-1]), str(dest)], check=True)
    return True


def _html_response_headers(content_type: str = "text/html; charset=utf-8"):
    from warcio.statusandheaders import StatusAndHeaders

    return StatusAndHeaders("200 OK", [("Content-Type", content_type)], protocol="HTTP/1.1")


def build_large_mix(corpus: Path, out: Path, docs: Path) -> dict:
    """mix5 at crawl-like scale: see the module docstring."""
    warcs = sorted((corpus / "web").glob("*.warc.gz"))
    labels = load_labels(corpus)
    extra = []
    for _, folder, prefix in DEBIAN_DOCS:
        root = docs / folder
        for path in sorted(root.rglob("*.html")):
            extra.append((prefix + str(path.relative_to(root)), path.read_bytes()))
    n_nonmath = sum(1 for d in labels.values() if d["label"] != "math") + len(extra)
    picked = pick_math_pages(labels, n_nonmath)
    n_pick = len(picked)
    handles, writers = _writers(out / "mix5_large", LARGE_FILES)
    n = 0
    for rid, url, http, body, wh in iter_responses(warcs):
        d = labels.get(rid)
        if d is None or (d["label"] == "math" and rid not in picked):
            continue
        write_record(writers[n % LARGE_FILES], url, rid, http, body, wh)
        n += 1
    for url, body in extra:
        write_html_page(writers[n % LARGE_FILES], url, body)
        n += 1
    for h in handles:
        h.close()
    return record_info(out, "mix5_large", n, n_pick)


def write_html_page(writer: WARCWriter, url: str, body: bytes, content_type: str = "text/html; charset=utf-8") -> None:
    """A file that has no HTTP response of its own, as a 200 response under ``url``."""
    rec = writer.create_warc_record(
        url, "response", payload=BytesIO(body), http_headers=_html_response_headers(content_type),
        warc_headers_dict={"WARC-Record-ID": f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, url)}>",
                           "WARC-Date": "2024-11-24T00:00:00Z"})
    writer.write_record(rec)


def record_info(out: Path, name: str, pages: int, math_pages: int) -> dict:
    """Add folder ``name``'s counts to inputs.json."""
    info = {"pages": pages, "math_pages": math_pages,
            "bytes": sum(p.stat().st_size for p in (out / name).glob("*.warc.gz"))}
    path = out / "inputs.json"
    all_info = json.loads(path.read_text()) if path.is_file() else {}
    all_info[name] = info
    path.write_text(json.dumps(all_info, indent=2))
    return info


WEB_COPIES = 20


def build_web_mix(corpus: Path, out: Path, cache: Path, copies: int = WEB_COPIES) -> dict:
    """mix5_web: see the module docstring. The generic pages have no HTTP headers or URLs of
    their own; they get a 200 text/html response under ``https://<package>.example/<file>``."""
    sys.path.insert(0, str(REPO))
    from classifiers.seeds_web_generic import fetch, iter_pages

    fetch(cache)
    generic = [(f"https://{name}.example/{page}", body) for name, page, body in iter_pages(cache, "heldout")]
    picked = pick_math_pages(load_labels(corpus), len(generic) * copies)
    n_pick = len(picked)
    handles, writers = _writers(out / "mix5_web", LARGE_FILES)
    n = 0
    for rid, url, http, body, wh in iter_responses(sorted((corpus / "web").glob("*.warc.gz"))):
        if rid in picked:
            write_record(writers[n % LARGE_FILES], url, rid, http, body, wh)
            n += 1
    for url, body in generic:
        for k in range(copies):
            # No charset: the saved pages are in several (the page's own <meta> says which).
            write_html_page(writers[n % LARGE_FILES], replica_url(url, k), body, "text/html")
            n += 1
    for h in handles:
        h.close()
    return record_info(out, "mix5_web", n, n_pick)


def write_replicas(warcs: list[Path], folder: Path, factor: int, files: int) -> list[str]:
    """Every response of ``warcs`` ``factor`` times into ``folder`` (round-robin over ``files``
    WARCs; copy k > 0 under replica URL and id); the source record id of each page written."""
    handles, writers = _writers(folder, files)
    written: list[str] = []
    for rid, url, http, body, wh in iter_responses(warcs):
        for k in range(factor):
            write_record(writers[len(written) % files], replica_url(url, k), replica_id(rid, k), http, body, wh)
            written.append(rid)
    for h in handles:
        h.close()
    return written


def build_replicated(out: Path, name: str, factor: int, files: int = 8) -> dict:
    """``<name>_x<factor>``: every response of ``out/name`` ``factor`` times, under replica URLs
    and record ids (bench/race_datatrove.py races it to show per-page rates once fixed costs are
    small). Both pipelines process every copy in full; only dedup sees them as duplicates."""
    src = out / name
    folder = out / f"{name}_x{factor}"
    info_path = out / "inputs.json"
    all_info = json.loads(info_path.read_text()) if info_path.is_file() else {}
    n = len(write_replicas(sorted(src.glob("*.warc.gz")), folder, factor, files))
    base = all_info.get(name, {})
    info = {"pages": n, "math_pages": base.get("math_pages", 0) * factor,
            "bytes": sum(p.stat().st_size for p in folder.glob("*.warc.gz"))}
    all_info[folder.name] = info
    info_path.write_text(json.dumps(all_info, indent=2))
    return info


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default=str(REPO.parent / "shared" / "corpus"))
    ap.add_argument("--out", default="/tmp/race_inputs")
    ap.add_argument("--debian-docs", default=None, metavar="DIR",
                    help="also build mix5_large, fetching the Debian doc packages into DIR if needed")
    ap.add_argument("--webgen", default=None, metavar="DIR",
                    help="also build mix5_web, fetching the generic pages' packages into DIR if needed")
    ap.add_argument("--replicate", action="append", default=[], metavar="NAME:K",
                    help="also build NAME_xK: folder NAME's pages K times (e.g. mix5:8)")
    args = ap.parse_args(argv)
    corpus = Path(args.corpus)
    if not (corpus / "web").is_dir():
        print(f"make_race_inputs: corpus not found at {corpus}", file=sys.stderr)
        return 2
    info = build(corpus, Path(args.out))
    if args.debian_docs:
        docs = Path(args.debian_docs)
        if fetch_debian_docs(docs):
            info["mix5_large"] = build_large_mix(corpus, Path(args.out), docs)
    if args.webgen:
        info["mix5_web"] = build_web_mix(corpus, Path(args.out), Path(args.webgen))
    for spec in args.replicate:
        name, _, k = spec.partition(":")
        info[f"{name}_x{k}"] = build_replicated(Path(args.out), name, int(k))
    for name, d in info.items():
        print(f"{name:<8} {d['pages']:>6} pages, {d['math_pages']:>5} math "
              f"({100 * d['math_pages'] / max(d['pages'], 1):.1f}%), {d['bytes'] / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
