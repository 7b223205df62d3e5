"""Ordinary-prose negatives for the math classifier (classifiers/seeds/prose/).

Before these, the only negatives were Debian manuals (Apache, Python, Debian Reference), Python
code and the Python FAQ, so everyday English ("The cat sat on the mat.") scored as math: nothing
in training said what ordinary prose looks like. The vendored sample holds chunks of

* the Debian Administrator's Handbook (``debian-handbook``; English and Simplified Chinese
  narrative prose with some commands and configuration lines, i.e. ``key = value`` lines that
  are not equations),
* the Debian history, social contract and constitution (``debian-history``, ``doc-debian``),
* quotations from ``fortunes`` in everyday categories (food, sports, pets, people, love, kids,
  art, work, ...), grouped several to an example so that an example reads like a page.

Build (once; the output is committed, nothing is downloaded at run time):

    apt-get download debian-handbook debian-history doc-debian fortunes
    for f in *.deb; do dpkg-deb -x "$f" pkgroot; done
    .venv/bin/python -m classifiers.seeds_prose --pkgroot pkgroot

Package versions and licences are in classifiers/seeds/prose/README.md.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SEED = 20251123
PROSE_DIR = Path(__file__).resolve().parent / "seeds" / "prose"
PROSE_FILE = PROSE_DIR / "prose_negatives.jsonl.gz"

# Everyday categories only; science/goedel (math jokes) and the offensive ones are left out.
FORTUNE_FILES = ("food", "sports", "pets", "people", "love", "kids", "education", "art", "wisdom",
                 "miscellaneous", "work", "humorists", "news", "law", "medicine", "platitudes")
# Sizes: a few hundred KB gzipped in all (the brief's budget for vendored data).
N_HANDBOOK_EN = 170
N_HANDBOOK_ZH = 90
N_FORTUNE = 140
N_DEBIAN_DOCS = 40


def _chunks(text: str, size: int) -> list[str]:
    out, cur = [], ""
    for para in re.split(r"\n\s*\n", text):
        para = para.strip()
        if not para:
            continue
        if cur and len(cur) + len(para) > size:
            out.append(cur)
            cur = ""
        cur = f"{cur}\n\n{para}" if cur else para
    if cur:
        out.append(cur)
    return [c for c in out if len(c) >= size // 4]


def _html_text(path: Path) -> str:
    from resiliparse.extract.html2text import extract_plain_text

    html = path.read_text(encoding="utf-8", errors="replace")
    return extract_plain_text(html, main_content=True, preserve_formatting=True)


def build(pkgroot: Path, out: Path = PROSE_FILE) -> dict[str, int]:
    rng = random.Random(SEED)
    rows: list[dict[str, Any]] = []

    def take(domain: str, items: list[tuple[str, str]], n: int) -> None:
        rng.shuffle(items)
        for origin, text in items[:n]:
            rows.append({"text": text, "domain": domain, "origin": origin})

    hb = pkgroot / "usr/share/doc/debian-handbook/html"
    for lang, size, n in (("en-US", 2500, N_HANDBOOK_EN), ("zh-CN", 600, N_HANDBOOK_ZH)):
        items = []
        for page in sorted((hb / lang).glob("*.html")):
            for i, c in enumerate(_chunks(_html_text(page), size)):
                items.append((f"debian-handbook/{lang}/{page.name}#{i}", c))
        take(f"debian-handbook-{lang}", items, n)

    items = []
    fortunes = pkgroot / "usr/share/games/fortunes"
    for name in FORTUNE_FILES:
        quotes = [q.strip() for q in (fortunes / name).read_text(encoding="utf-8", errors="replace").split("\n%\n")]
        quotes = [q for q in quotes if q]
        rng.shuffle(quotes)
        cur: list[str] = []
        for q in quotes:
            cur.append(q)
            if sum(map(len, cur)) > 1500:
                items.append((f"fortunes/{name}#{len(items)}", "\n\n".join(cur)))
                cur = []
    take("fortunes", items, N_FORTUNE)

    items = []
    docs = [pkgroot / "usr/share/doc/debian-history/docs/project-history.en.txt.gz",
            pkgroot / "usr/share/doc/debian/social-contract.txt.gz",
            pkgroot / "usr/share/doc/debian/constitution.txt.gz",
            pkgroot / "usr/share/doc/debian/debian-manifesto.gz"]
    for path in docs:
        text = gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace")
        for i, c in enumerate(_chunks(text, 2500)):
            items.append((f"{path.name}#{i}", c))
    take("debian-docs", items, N_DEBIAN_DOCS)

    out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(out, "wt", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["domain"]] = counts.get(row["domain"], 0) + 1
    return counts


def prose_examples(path: Path = PROSE_FILE) -> Iterator[dict[str, Any]]:
    """Seed rows (all ``nonmath``); ``source`` is ``prose`` so that the web folds never hold them out."""
    if not path.is_file():
        return
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            yield {"text": row["text"], "label": "nonmath", "source": "prose",
                   "domain": f"prose:{row['domain']}", "origin": row["origin"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pkgroot", type=Path, required=True, help="dpkg-deb -x tree of the four packages")
    ap.add_argument("--out", type=Path, default=PROSE_FILE)
    args = ap.parse_args(argv)
    counts = build(args.pkgroot, args.out)
    print(json.dumps(counts), f"{args.out} {args.out.stat().st_size / 1e3:.0f} KB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
