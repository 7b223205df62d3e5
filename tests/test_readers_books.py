"""Books reader: TeX files and tarballs, EPUB, text; archive safety."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from collections import Counter

from conftest import CORPUS, needs_shared

from curation.extract.settings import ExtractSettings
from curation.readers.books import read_file

S = ExtractSettings()
MAIN = (r"\documentclass{article}" "\n" r"\newcommand{\R}{\mathbb{R}} % preamble" "\n"
        r"\begin{document}" "\n" r"\section{Intro} % a comment" "\n" r"Costs 5\% more." "\n"
        r"\input{sec/body}" "\n" r"\include{missing}" "\n" r"\end{document}" "\n")
BODY = r"We have \begin{equation} \int_0^1 x^2\,dx = \tfrac13 \end{equation} and $a+b$." "\n"


def _tar(path, members: dict[str, bytes], evil: bool = False):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if evil:
            info = tarfile.TarInfo("link.tex")
            info.type = tarfile.SYMTYPE
            info.linkname = "/etc/passwd"
            tar.addfile(info)


def test_arxiv_tarball_main_inputs_comments(tmp_path):
    p = tmp_path / "paper.tar.gz"
    _tar(p, {"main.tex": MAIN.encode(), "sec/body.tex": BODY.encode(),
             "other.tex": b"\\section{Appendix only}"}, evil=True)
    counters: Counter = Counter()
    (row,) = list(read_file(str(p), S, counters))
    assert row["reason"] is None and row["meta"]["main_file"] == "main.tex"
    text = row["text"]
    assert r"\begin{equation} \int_0^1 x^2\,dx = \tfrac13 \end{equation}" in text
    assert r"Costs 5\% more." in text and "a comment" not in text
    assert r"\newcommand" not in text  # preamble dropped
    assert r"\include{missing}" in text and row["meta"]["inputs_missing"] == 1
    assert counters["tar_members_skipped_unsafe"] == 1  # the symlink is never followed


def test_tarball_with_parent_path_is_rejected(tmp_path):
    p = tmp_path / "paper.tar.gz"
    _tar(p, {"main.tex": MAIN.encode(), "../escape.tex": b"EVIL"})
    (row,) = list(read_file(str(p), S, Counter()))
    assert row["reason"] == "archive_path_escape" and row["text"] is None


def test_tex_file_inputs_sibling_on_disk(tmp_path):
    (tmp_path / "sec").mkdir()
    (tmp_path / "sec" / "body.tex").write_text(BODY)
    (tmp_path / "main.tex").write_text(MAIN)
    (row,) = list(read_file(str(tmp_path / "main.tex"), S, Counter()))
    assert "$a+b$" in row["text"] and row["meta"]["inputs_resolved"] == 1


def _epub(path, chapters: dict[str, str], bomb: bool = False):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("mimetype", "application/epub+zip")
        z.writestr("META-INF/container.xml", '<?xml version="1.0"?><container xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="OEBPS/content.opf"/></rootfiles></container>')
        items = "".join(f'<item id="c{i}" href="{n}" media-type="application/xhtml+xml"/>' for i, n in enumerate(chapters))
        spine = "".join(f'<itemref idref="c{i}"/>' for i in range(len(chapters)))
        z.writestr("OEBPS/content.opf", f'<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Calculus</dc:title><dc:rights>CC BY 4.0</dc:rights></metadata><manifest>{items}</manifest><spine>{spine}</spine></package>')
        for n, body in chapters.items():
            z.writestr("OEBPS/" + n, body)
        if bomb:
            z.writestr("OEBPS/zeros.bin", b"\0" * (20 * 1024 * 1024))


CHAPTER = ('<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml"><body><h1>Chapter @N@</h1>'
           '<p>' + "The derivative measures how a function changes as its input changes. " * 5 +
           'The rule <math xmlns="http://www.w3.org/1998/Math/MathML" alttext="\\frac{d}{dx}x^{n}=nx^{n-1}"><mi>x</mi></math> holds.</p></body></html>')


def test_epub_chapters_in_spine_order_with_math(tmp_path):
    p = tmp_path / "book.epub"
    _epub(p, {"ch2.xhtml": CHAPTER.replace("@N@", "2"), "ch1.xhtml": CHAPTER.replace("@N@", "1")})
    (row,) = list(read_file(str(p), S, Counter()))
    assert row["reason"] is None and row["meta"]["license"] == "CC BY 4.0"
    assert row["text"].index("Chapter 2") < row["text"].index("Chapter 1")
    assert row["text"].count("$\\frac{d}{dx}x^{n}=nx^{n-1}$") == 2


def test_epub_bomb_rejected(tmp_path):
    p = tmp_path / "bomb.epub"
    _epub(p, {"ch1.xhtml": CHAPTER.replace("@N@", "1")}, bomb=True)
    (row,) = list(read_file(str(p), S, Counter()))
    assert row["reason"] == "archive_bomb"


def test_text_markdown_and_garbage(tmp_path):
    (tmp_path / "a.md").write_text("# Title\n\nSince $x>0$, done.\n")
    (tmp_path / "b.tar.gz").write_bytes(b"not a tarball")
    (row,) = list(read_file(str(tmp_path / "a.md"), S, Counter()))
    assert row["reason"] is None and row["meta"]["format"] == "markdown" and "$x>0$" in row["text"]
    (bad,) = list(read_file(str(tmp_path / "b.tar.gz"), S, Counter()))
    assert bad["reason"].startswith("read_error:")


@needs_shared
def test_corpus_books_math_survives():
    labels = [json.loads(line) for line in open(CORPUS / "labels" / "books_labels.jsonl", encoding="utf-8")]
    assert labels
    for d in labels[:20]:
        path = next((CORPUS / "books").rglob(d.get("file", d.get("path", "")).split("/")[-1]), None)
        if path is None:
            continue
        (row,) = list(read_file(str(path), S, Counter()))
        assert row["reason"] is None, (path, row["reason"])
        if d["label"] == "math":
            assert row["meta"]["n_display"] + row["meta"]["n_inline"] >= 10, path
