"""Books reader: TeX files and tarballs, EPUB, text; archive safety."""

from __future__ import annotations

import gzip
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


def _epub(path, chapters: dict[str, str], bomb: bool = False, hrefs: list[str] | None = None):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("mimetype", "application/epub+zip")
        z.writestr("META-INF/container.xml", '<?xml version="1.0"?><container xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="OEBPS/content.opf"/></rootfiles></container>')
        items = "".join(f'<item id="c{i}" href="{n}" media-type="application/xhtml+xml"/>' for i, n in enumerate(hrefs or chapters))
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


def test_epub_hrefs_are_urls_and_missing_chapters_show(tmp_path):
    # Manifest hrefs are URLs: percent-encoded names and fragments named real files, and were
    # counted as missing (their chapters silently left out).
    p = tmp_path / "book.epub"
    chapters = {n: CHAPTER.replace("@N@", n[:5]) for n in ("Text/chapter 1.xhtml", "frag.xhtml", "gone.xhtml")}
    _epub(p, chapters, hrefs=["Text/chapter%201.xhtml", "frag.xhtml#start", "absent.xhtml"])
    counters: Counter = Counter()
    (row,) = list(read_file(str(p), S, counters))
    assert "Chapter Text/" in row["text"] and "Chapter frag." in row["text"]
    assert row["meta"]["chapters"] == 2 and row["meta"]["missing_chapters"] == 1
    assert counters["epub_missing_chapter"] == 1


PAPER = "\\documentclass{article}\n\\begin{document}\nPAPER-%s $\\zeta(2)=\\pi^2/6$.\n\\end{document}\n"


def _gz_tar(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_arxiv_per_paper_gz_sources(tmp_path):
    # arXiv ships a paper's source as a bare .gz: a gzipped tarball, or a gzipped single .tex
    # (also seen renamed .tar.gz). Before: unsupported_format and read_error:ReadError.
    (tmp_path / "2101.00001.gz").write_bytes(_gz_tar({"ms.tex": (PAPER % "A").encode()}))
    (tmp_path / "2101.00002.gz").write_bytes(gzip.compress((PAPER % "B").encode()))
    (tmp_path / "2101.00003.tar.gz").write_bytes(gzip.compress((PAPER % "C").encode()))
    for name, tag in (("2101.00001.gz", "A"), ("2101.00002.gz", "B"), ("2101.00003.tar.gz", "C")):
        (row,) = list(read_file(str(tmp_path / name), S, Counter()))
        assert row["reason"] is None and f"PAPER-{tag} $\\zeta(2)" in row["text"], name


def test_arxiv_bulk_tar_gives_one_row_per_paper(tmp_path):
    # arXiv_src_YYMM_NNN.tar holds one .gz per paper (a gzipped tarball or .tex) and .pdf for
    # papers without TeX. Before: the whole tar was one no_tex_main row, every paper lost.
    members = {
        "2101/2101.00001.gz": _gz_tar({"ms.tex": (PAPER % "A").encode()}),
        "2101/2101.00002.gz": gzip.compress((PAPER % "B").encode()),
        "2101/2101.00003.pdf": b"%PDF-1.4 ...",
        "2101/2101.00004.gz": gzip.compress(b"\\0" * (2 * 1024 * 1024)),  # ratio far above the cap
        "2101/2101.00005.gz": b"not gzip",
    }
    p = tmp_path / "arXiv_src_2101_001.tar"
    with tarfile.open(p, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    rows = list(read_file(str(p), S, Counter()))
    assert [r["origin"] for r in rows] == [f"{p}#{n}" for n in members]  # one row per paper, in = kept + rejected
    assert len({r["id"] for r in rows}) == len(members)
    assert [r["reason"] for r in rows] == [None, None, "no_tex_source", "archive_bomb", "read_error:BadGzipFile"]
    assert "PAPER-A" in rows[0]["text"] and "PAPER-B" in rows[1]["text"]
    assert rows[1]["meta"]["arxiv_id"] == "2101.00002"
    # Papers are capped one by one, not summed: a bulk tar larger than the archive budget is read
    # whole, and a single paper over the budget is rejected alone.
    import random

    rng = random.Random(5)
    big = {f"2101/2101.{10 + i:05d}.gz": gzip.compress((PAPER % "".join(rng.choices("abcdefghij", k=9000))).encode())
           for i in range(8)}
    p2 = tmp_path / "arXiv_src_2101_002.tar"
    with tarfile.open(p2, "w") as tar:
        for name, data in {**big, "2101/2101.00099.gz": gzip.compress(b"x" * 200_000)}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    budget = ExtractSettings(max_archive_bytes=3 * max(map(len, big.values())))
    assert sum(map(len, big.values())) > budget.max_archive_bytes
    capped = list(read_file(str(p2), budget, Counter()))
    assert [r["reason"] for r in capped] == [None] * len(big) + ["archive_too_large"]


def test_import_subimport_and_nested_inputs(tmp_path):
    # \import/\subimport were left as literal commands (content lost, inputs_missing 0); on disk,
    # an \input inside an \input'd file in a subfolder was not read.
    main = ("\\documentclass{book}\n\\begin{document}\n\\import{parts/}{p1}\n\\subimport{parts/}{p2}\n"
            "\\import{nowhere/}{p9}\n\\input{chapters/a}\n\\end{document}\n")
    files = {"main.tex": main, "parts/p1.tex": "PART1 $x$.\n\\input{p1b}\n", "parts/p1b.tex": "PART1B $y$.\n",
             "parts/p2.tex": "PART2 $z$.\n", "chapters/a.tex": "CH-A\n\\input{chapters/b}\n",
             "chapters/b.tex": "CH-B $w$.\n"}
    p = tmp_path / "book.tar.gz"
    _tar(p, {n: t.encode() for n, t in files.items()})
    (tmp_path / "disk").mkdir()
    for name, text in files.items():
        (tmp_path / "disk" / name).parent.mkdir(exist_ok=True)
        (tmp_path / "disk" / name).write_text(text)
    for path in (p, tmp_path / "disk" / "main.tex"):
        (row,) = list(read_file(str(path), S, Counter()))
        for part in ("PART1 $x$", "PART1B $y$", "PART2 $z$", "CH-A", "CH-B $w$"):
            assert part in row["text"], (path, part)
        assert row["meta"]["inputs_resolved"] == 5 and row["meta"]["inputs_missing"] == 1, path
        assert "\\import{nowhere/}{p9}" in row["text"]


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


# --- TeX from package manuals (texlive-*-doc shapes the dev corpus lacked) ---------------------

def _read_tex(tmp_path, name: str, data: bytes) -> dict:
    p = tmp_path / name
    p.write_bytes(data)
    (row,) = list(read_file(str(p), S, Counter()))
    return row


# A manual that shows example documents: an indented pair inside its own environment (as
# seminar-doc.tex and repere-doc.tex do), then an example holding only a file's last lines, then a
# complete example (CodeDoc-manual.tex's shape). Text after the real \end{document} is not typeset.
MANUAL = r"""\documentclass{article}
\newcommand{\R}{\mathbb{R}}
\begin{document}
\section{Usage}
\begin{example}
  \documentclass{seminar}
  \begin{document}
  \begin{slide} Hello \end{slide}
  \end{document}
\end{example}
For every $x \in \R$ we have $x^2 \ge 0$.
\begin{example}
\begin{myenv}
\end{document} this line is skipped
\end{myenv}
\end{example}
Hence $\int_0^1 x\,dx = \frac12$.
\begin{example}
\documentclass{codedoc}
\begin{document}
\input{implementation}
\end{document}
\end{example}
Finally $a^2 + b^2 = c^2$.
\end{document}
Notes after the end: $e^{i\pi} = -1$.
"""


def test_example_documents_do_not_end_the_manual(tmp_path):
    row = _read_tex(tmp_path, "manual.tex", MANUAL.encode())
    text = row["text"]
    assert row["meta"]["preamble_dropped"] and r"\newcommand" not in text
    # Before: the body ended at the example's \end{document}, and all three formulas were lost.
    for formula in (r"$x^2 \ge 0$", r"$\int_0^1 x\,dx = \frac12$", r"$a^2 + b^2 = c^2$"):
        assert formula in text
    assert "Notes after the end" not in text


# A manual chapter (no preamble of its own) whose only \documentclass is in a code example, as in
# pgf's pgfmanual-en-drivers.tex: before, the chapter was cut down to the example's body.
CHAPTER_WITH_EXAMPLE = r"""\section{Supported Formats}
When \TeX\ typesets a document, the width $w$ of a box satisfies $w \le \hsize$.
\begin{codeexample}[code only]
% example.tex
\documentclass[dvisvgm]{minimal}
\usepackage{tikz}
\begin{document}
Hello \tikz \fill (0,0) circle[radius=.75ex];
\end{document}
\end{codeexample}
And then run the driver, which scales by $s = 72.27/72$.
"""


def test_chapter_whose_documentclass_is_an_example_keeps_its_text(tmp_path):
    row = _read_tex(tmp_path, "chapter.tex", CHAPTER_WITH_EXAMPLE.encode())
    assert row["meta"]["preamble_dropped"] is False
    assert r"$w \le \hsize$" in row["text"] and "$s = 72.27/72$" in row["text"]


# The header of statistik's sta_mytable.tex (texlive-science-doc; statistik, GPL-2.0-or-later,
# Michael Niedermair), a Latin-1 file that says so; charset detection read it as cp775 ("³ber").
STATISTIK_HEAD = """%%
%% This is file `sta_mytable.tex',
%% generated with the docstrip utility.
%%
%% The original source files were:
%%
%% statistik.dtx  (with options: `stamytable')
%%
%% statistik.sty  -- Statistiken \u00fcber Kapitel erstellen
%% Copyright (C) 2003 Michael Niedermair
%%
%% This program is free software; you can redistribute it and/or modify
%% it under the terms of the GNU General Public License as published by
%% the Free Software Foundation; either version 2 of the License, or
%% (at your option) any later version.
%%
\\documentclass{book}

\\usepackage[latin1]{inputenc}

\\usepackage[textable]{statistik}
\\begin{document}
\\chapter{\u00dcbersicht}
Statistiken \u00fcber Kapitel erstellen, mit $n \\ge 1$ Seiten.
\\end{document}
"""


def test_declared_latin1_is_used(tmp_path):
    row = _read_tex(tmp_path, "sta_mytable.tex", STATISTIK_HEAD.encode("latin-1"))
    assert row["reason"] is None and row["meta"]["charset"].endswith(":declared")
    assert "\\chapter{\u00dcbersicht}" in row["text"] and "Statistiken \u00fcber Kapitel" in row["text"]


def test_commented_out_inputenc_is_no_declaration(tmp_path):
    # pst-uml-exemples.tex (texlive-pstricks-doc) comments out applemac and declares latin1.
    tex = ("\\documentclass[11pt,a4paper,twoside]{article}\n  \\usepackage[T1]{fontenc}\n"
           "  % \\usepackage[applemac]{inputenc}\n  \\usepackage[latin1]{inputenc}\n\\begin{document}\n"
           "\\section{Exemple de diagramme de s\u00e9quences}\nCompil\u00e9 le \\today{} \u00e0 midi.\n\\end{document}\n")
    row = _read_tex(tmp_path, "uml.tex", tex.encode("latin-1"))
    assert "s\u00e9quences" in row["text"] and "Compil\u00e9 le" in row["text"]


def test_single_byte_tex_that_detection_cannot_place_is_read(tmp_path):
    # From pst-solides3d's par-keywords-en.tex (texlive-pstricks-doc; LPPL): its only non-ASCII
    # byte is Latin-1 0xA3, used as a control symbol. Detection gave up: the file (468 formulas)
    # was rejected as undecodable.
    lines = [b"\\section{Alphabetical list of keywords}", b"\\def\\\xa3{\\hphantom{def}}",
             b"\\begin{tabular}{ll}"]
    lines += [b" &\\\xa3=%s&$x_1$ $y_1$ $z_1$ $x_2$ $y_2$ $z_2$ \\~ $u$ $v$&\\\\" % name
              for name in (b"addv3d", b"subv3d", b"vectprod3d", b"milieu3d", b"sympoint3d")]
    lines.append(b"\\end{tabular}")
    row = _read_tex(tmp_path, "par-keywords-en.tex", b"\n".join(lines) + b"\n")
    assert row["reason"] is None and row["meta"]["charset"] == "latin-1:fallback"
    assert "\\\u00a3=addv3d&$x_1$ $y_1$" in row["text"] and row["meta"]["n_inline"] == 40
    # Binary junk with a .tex name stays undecodable.
    junk = _read_tex(tmp_path, "junk.tex", bytes(range(256)) * 40)
    assert junk["reason"] == "undecodable"


def test_pandoc_epub3_with_mathml_keeps_every_formula():
    """A real tool's EPUB (tests/data/README.md): every <math> of the chapters becomes TeX."""
    import re
    from pathlib import Path

    epub = Path(__file__).parent / "data" / "pandoc_testmath.epub"
    with zipfile.ZipFile(epub) as z:
        chapters = [z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("EPUB/text/ch")]
    in_source = sum(len(re.findall(r"<math[\s>]", c)) for c in chapters)
    (doc,) = read_file(str(epub), ExtractSettings(), Counter())
    assert doc["reason"] is None and doc["meta"]["format"] == "epub"
    assert doc["meta"]["math_markup"]["mathml"] == in_source > 400
    assert doc["meta"]["math_markup"]["mathml_annotation"] == in_source  # the TeX, not a conversion
    assert "$\\mathbf{K}(i|i)$" in doc["text"]
    assert "<math" not in doc["text"]


def test_preamble_macros_are_expanded_in_the_body(tmp_path):
    """The preamble goes, so its simple macros are expanded (RedPajama's arXiv recipe expands
    those without arguments; braced arguments are expanded too). What cannot be expanded safely
    stays: an optional argument, an unbraced argument, a recursive definition, and macros
    defined only in a verbatim example."""
    tex = ("\\documentclass{article}\n\\newcommand{\\R}{\\mathbb{R}}\n\\newcommand\\eps{\\varepsilon}\n"
           "\\newcommand{\\norm}[1]{\\left\\|#1\\right\\|}\n\\DeclareMathOperator{\\Tr}{Tr}\n"
           "\\def\\pair#1#2{(#1,#2)}\n\\newcommand{\\opt}[1][x]{#1}\n\\renewcommand{\\x}{\\x'}\n"
           "\\begin{document}\nFor $x\\in\\R^n$ and $\\eps>0$, $\\norm{x}<\\eps$ implies $\\Tr(xx^T)<\\eps^2$; "
           "$\\pair{a}{b}$, $\\opt{y}$, $\\x$, $\\norm x$ and \\Rx.\n"
           "\\begin{verbatim}\n\\newcommand{\\foo}{bar}\n\\end{verbatim}\nThen \\foo.\n\\end{document}\n")
    p = tmp_path / "paper.tex"
    p.write_text(tex)
    (row,) = read_file(str(p), S, Counter())
    text = row["text"]
    assert ("For $x\\in\\mathbb{R}^n$ and $\\varepsilon>0$, $\\left\\|x\\right\\|<\\varepsilon$ implies "
            "$\\operatorname{Tr}(xx^T)<\\varepsilon^2$; $(a,b)$, $\\opt{y}$, $\\x$, $\\norm x$ and \\Rx.") in text
    assert "Then \\foo." in text and row["meta"]["macros_expanded"] == 7


def test_single_tex_gz_bomb_rejected_by_its_compression_ratio(tmp_path):
    """A lone .tex.gz on disk gets the ratio cap a bulk tar's member gets: 2 MiB of one byte
    compresses ~1000:1, far above max_compression_ratio, and is rejected without inflating it all."""
    import os
    from pathlib import Path

    ok = tmp_path / "paper.tex.gz"
    ok.write_bytes(gzip.compress(b"\\documentclass{article}\\begin{document}Let $x^2=1$. " * 40
                                 + b"\\end{document}"))
    bomb = tmp_path / "bomb.tex.gz"
    bomb.write_bytes(gzip.compress(b"%" * (2 << 20)))
    assert os.path.getsize(bomb) * S.max_compression_ratio < 2 << 20
    reasons = {Path(r["origin"]).name: r["reason"] for p in (ok, bomb) for r in read_file(str(p), S, Counter())}
    assert reasons == {"paper.tex.gz": None, "bomb.tex.gz": "archive_bomb"}
