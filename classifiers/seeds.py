"""Build the labelled seed set for the math classifier from the dev corpus and the Chinese seeds.

Every example is ``{"text", "label", "source", "domain", "origin"}``; ``domain`` is what the
evaluation holds out (a web package, i.e. one site; a book package; a forum; a code source).

    .venv/bin/python -m classifiers.seeds --corpus ../shared/corpus --out output/classifier/seeds.jsonl

Sources (licences in classifiers/MODEL_CARD.md):
* web: every HTML 200 response of ``web/*.warc.gz``, labelled by ``labels/web_labels.jsonl``;
* books: TeX files cut into chunks, labelled per file by ``labels/books_labels.jsonl``;
* forums: GSM8K-train posts (math) and Python-FAQ posts (nonmath);
* code: Coq stdlib, math-classes and SymPy (math), CPython stdlib (nonmath);
* zh: ``classifiers/seeds/zh/`` (files named ``pos_*``/``neg_*``), Chinese TeX documents from
  Debian's texlive-lang-chinese: real Chinese exam questions and math-typesetting chapters as
  positives, other chapters of the same manuals as negatives;
* zh synthetic: Chinese word problems from templates (classifiers/seeds_zh_synthetic.py);
* prose: ordinary English and Chinese prose as negatives (``classifiers/seeds/prose/``, from
  Debian's debian-handbook, debian-history, doc-debian and fortunes; classifiers/seeds_prose.py);
* webgen: generic web pages (news, shops, portals) as negatives, the training split of
  classifiers/seeds_web_generic.py (fetched once from npm and PyPI into ``--webgen-cache``).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from lxml import etree

from classifiers.seeds_prose import prose_examples
from classifiers.seeds_web_generic import DEFAULT_CACHE as WEBGEN_CACHE
from classifiers.seeds_web_generic import generic_examples
from classifiers.seeds_zh_synthetic import synthetic_examples

SEED = 20251123
ZH_DIR = Path(__file__).resolve().parent / "seeds" / "zh"
CHUNK_CHARS = 3000


def html_extractor() -> tuple[str, Callable[[str], str]]:
    """Prefer the project's math-preserving extractor (keeps LaTeX); else resiliparse."""
    try:
        from curation.extract.html import extract_html  # type: ignore[import-not-found]

        def run(html: str) -> str:
            out = extract_html(html)
            return out if isinstance(out, str) else getattr(out, "text", "") or ""

        return "curation.extract.html", run
    except ImportError:
        from resiliparse.extract.html2text import extract_plain_text

        def run(html: str) -> str:
            return extract_plain_text(html, main_content=True, alt_texts=True, preserve_formatting=True)

        return "resiliparse", run


def decode_html(body: bytes, content_type: str | None) -> str:
    """The pipeline's own decoding (HTTP charset, then the page's <meta>, then detection), so the
    seeds are the text the pipeline will score."""
    from curation.extract.charset import decode_html as pipeline_decode

    html, _ = pipeline_decode(body, content_type)
    return html or ""


def iter_warc_html(paths: list[Path]) -> Iterator[tuple[str, str, str]]:
    """(record id, url, html) of each HTML response with status 200."""
    from warcio.archiveiterator import ArchiveIterator

    for path in paths:
        with open(path, "rb") as fh:
            for rec in ArchiveIterator(fh):
                if rec.rec_type != "response" or rec.http_headers is None:
                    continue
                if rec.http_headers.get_statuscode() != "200":
                    continue
                ctype = rec.http_headers.get_header("Content-Type") or ""
                if "html" not in ctype:
                    continue
                body = rec.content_stream().read()
                yield (
                    rec.rec_headers.get_header("WARC-Record-ID"),
                    rec.rec_headers.get_header("WARC-Target-URI"),
                    decode_html(body, ctype),
                )


def web_examples(corpus: Path, extract: Callable[[str], str]) -> Iterator[dict[str, Any]]:
    labels = {}
    with open(corpus / "labels" / "web_labels.jsonl", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            labels[row["warc_record_id"]] = row
    for rid, url, html in iter_warc_html(sorted((corpus / "web").glob("*.warc.gz"))):
        row = labels.get(rid)
        if row is None:
            continue
        text = extract(html)
        if not text.strip():
            continue
        yield {"text": text, "label": row["label"], "source": "web", "domain": row["package"],
               "origin": url, "markup": row["markup"], "html_bytes": len(html)}


def chunks(text: str, size: int = CHUNK_CHARS) -> list[str]:
    """Paragraph-aligned chunks of about ``size`` characters (a book is many training examples)."""
    out, cur = [], ""
    for para in re.split(r"\n\s*\n", text):
        if cur and len(cur) + len(para) > size:
            out.append(cur)
            cur = ""
        cur = f"{cur}\n\n{para}" if cur else para
    if cur.strip():
        out.append(cur)
    return [c for c in out if len(c.strip()) > min(200, size // 4)]


def book_examples(corpus: Path, max_chunks: int = 40) -> Iterator[dict[str, Any]]:
    rng = random.Random(SEED)
    with open(corpus / "labels" / "books_labels.jsonl", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            text = (corpus / row["file"]).read_text(encoding="utf-8", errors="replace")
            parts = chunks(text)
            rng.shuffle(parts)
            for i, part in enumerate(parts[:max_chunks]):
                yield {"text": part, "label": row["label"], "source": "books",
                       "domain": row["package"], "origin": f"{row['file']}#{i}"}


def forum_examples(corpus: Path, per_forum: int = 1500) -> Iterator[dict[str, Any]]:
    from resiliparse.extract.html2text import extract_plain_text

    rng = random.Random(SEED)
    for forum, label in (("math.example", "math"), ("python.example", "nonmath")):
        rows = []
        for _, el in etree.iterparse(str(corpus / "forums" / forum / "Posts.xml"), tag="row",
                                     resolve_entities=False, no_network=True):
            body = extract_plain_text(el.get("Body") or "", preserve_formatting=True)
            rows.append((el.get("Id"), f"{el.get('Title') or ''}\n\n{body}".strip()))
            el.clear()
        rng.shuffle(rows)
        for pid, text in rows[:per_forum]:
            yield {"text": text, "label": label, "source": "forums", "domain": forum,
                   "origin": f"{forum}/{pid}"}


def code_examples(corpus: Path) -> Iterator[dict[str, Any]]:
    labels = {}
    with open(corpus / "labels" / "code_labels.jsonl", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            labels[(Path(row["file"]).name, row["row"])] = row["label"]
    for path in sorted((corpus / "code").glob("*.parquet")):
        table = pq.read_table(path, columns=["path", "content"])
        for i, (p, content) in enumerate(zip(table["path"].to_pylist(), table["content"].to_pylist(), strict=True)):
            yield {"text": content, "label": labels[(path.name, i)], "source": "code",
                   "domain": path.stem, "origin": f"{path.stem}/{p}"}


def zh_examples(zh_dir: Path = ZH_DIR) -> Iterator[dict[str, Any]]:
    for path in sorted(zh_dir.glob("*.tex.gz")):
        label = "math" if path.name.startswith("pos_") else "nonmath"
        text = gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace")
        # Exam papers hold one problem per ``question``/``problem`` block: one example each.
        parts = re.split(r"\\begin\{(?:question|problem)\}", text)
        if len(parts) > 5:
            parts = [p.split("\\end{", 1)[0] if "\\end{choices}" not in p else p for p in parts[1:]]
            parts = [p for p in parts if len(p.strip()) > 20]
        else:
            # Short chunks: questions are short, and long negatives against short positives
            # would teach the model that common Chinese characters mean "not math".
            parts = chunks(text, 400)
        domain = path.name.split("_")[1]
        for i, part in enumerate(parts):
            yield {"text": part, "label": label, "source": "zh", "domain": f"zh:{domain}",
                   "origin": f"{path.name}#{i}"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=Path("../shared/corpus"))
    ap.add_argument("--out", type=Path, default=Path("output/classifier/seeds.jsonl"))
    ap.add_argument("--webgen-cache", type=Path, default=WEBGEN_CACHE,
                    help="where classifiers.seeds_web_generic --fetch put its package tarballs")
    args = ap.parse_args(argv)
    name, extract = html_extractor()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    counts: Counter[tuple[str, str]] = Counter()
    with open(args.out, "w", encoding="utf-8") as out:
        for gen in (web_examples(args.corpus, extract), book_examples(args.corpus),
                    forum_examples(args.corpus), code_examples(args.corpus), zh_examples(),
                    synthetic_examples(), prose_examples(),
                    generic_examples(extract, args.webgen_cache, "train")):
            for ex in gen:
                counts[(ex["source"], ex["label"])] += 1
                out.write(json.dumps(ex, ensure_ascii=False) + "\n")
    print(f"web extractor: {name}")
    for (source, label), n in sorted(counts.items()):
        print(f"{source:7s} {label:8s} {n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
