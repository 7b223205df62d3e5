"""Hostile and broken input through the real extract stage (issue 9, "Bad input").

One Runner run (the shared ``spark`` fixture, ``--until extract``) reads every bad file at once;
a second, tiny run checks that the per-document time limit (SIGALRM) fires inside a Spark Python
worker. For each bad input the test asserts: the job finishes, the bad record is rejected with
its reason (or, where the input is recoverable, such as a mislabelled charset, kept with the
right text), nothing is written outside the output folder (no ``../`` escape lands anywhere), no
network connection is attempted (a local socket server records connections) and no local file
named by an external entity is read; ``in == kept + rejected`` holds in stats.json.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import REPO
from fixtures_bad_input import (
    ConnectionRecorder,
    billion_laughs_dtd,
    epub,
    http_block,
    opf,
    page,
    random_bytes,
    tar_gz,
    tar_gz_zero_member,
    warc_record,
    write_warc_gz,
    xxe_dtd,
)

from curation.config import parse_config
from curation.spark.runner import Runner, RunPlan

SECRET = "SECRET-CANARY-4f1c9e"  # content of a local file that external entities point at
ESCAPE = "ESCAPED-CANARY"  # prefix of every member name that tries to leave the archive
MB = 1024 * 1024
CHAPTER = '<html xmlns="http://www.w3.org/1999/xhtml"><body><p>Chapter with $x^2$ and text.</p></body></html>'
TEX = "\\documentclass{article}\n\\begin{document}\nWe prove $a^2+b^2=c^2$ here.\n\\end{document}\n"


def _good(uri: str, n: int, title: str | None = None) -> bytes:
    return warc_record(uri, http_block(page(title or uri.rsplit("/", 1)[-1])), n=n)


def _posts_xml(doctype: str, body_entity: str = "") -> str:
    return (f'<?xml version="1.0" encoding="utf-8"?>\n{doctype}\n<posts>\n'
            f'<row Id="1" PostTypeId="1" Score="3" Title="Question {body_entity}" '
            f'Body="&lt;p&gt;Is \\(x^2 \\ge 0\\)? {body_entity}&lt;/p&gt;" />\n'
            '<row Id="2" PostTypeId="2" ParentId="1" Score="1" Body="&lt;p&gt;Yes.&lt;/p&gt;" />\n</posts>\n')


def _build_inputs(root: Path, inp: Path, net_url: str) -> dict[str, Path]:
    """Write every bad input; returns the paths the assertions refer to."""
    secret = root / "secret.txt"
    secret.write_text(SECRET + "\n")
    web, books, forums, code = (inp / d for d in ("web", "books", "forums", "code"))
    for d in (web, books, forums, code):
        d.mkdir(parents=True)
    p: dict[str, Path] = {"secret": secret}

    # -- web: truncated gzip WARC (cut inside the third record's gzip member) -------------------
    recs = [_good(f"http://trunc.example/{i}", i, f"truncated file page {i} " + "padding " * 300) for i in range(3)]
    p["truncated"] = web / "truncated.warc.gz"
    ends = write_warc_gz(p["truncated"], recs)
    data = p["truncated"].read_bytes()
    p["truncated"].write_bytes(data[: ends[1] + (ends[2] - ends[1]) // 2])

    # -- web: malformed records (garbage HTTP head, then a non-numeric Content-Length) ---------
    def malformed(host: str, n: int) -> list[bytes]:
        return [
            _good(f"http://{host}/first", n),
            warc_record(f"http://{host}/garbage-http", b"NOT HTTP AT ALL\r\n\x00\x01\x02\r\n\r\n<html>x</html>", n=n + 1),
            _good(f"http://{host}/third", n + 2),
            warc_record(f"http://{host}/bad-length", http_block(page("x")), n=n + 3, content_length="abc"),
            _good(f"http://{host}/after-bad-length", n + 4),
            b"WARC/1.0\r\nthis is no header block at all\r\n\r\n",
            _good(f"http://{host}/after-junk", n + 5),
        ]

    p["malformed"] = web / "malformed.warc"
    p["malformed"].write_bytes(b"".join(malformed("malformed.example", 10)))
    p["malformed_gz"] = web / "malformed.warc.gz"
    write_warc_gz(p["malformed_gz"], malformed("malformed-gz.example", 40))
    p["notwarc"] = web / "notwarc.warc.gz"
    p["notwarc"].write_bytes(b"this is a text file that someone named .warc.gz\n" * 20)

    # -- web: a 50 MB page, binary bodies labelled text/html, charsets -------------------------
    big = b"<html><body>" + b"<p>a line of a very long page</p>\n" * (50 * MB // 34 + 1) + b"</body></html>"
    assert len(big) > 50 * MB - 1024
    png = b"\x89PNG\r\n\x1a\n" + random_bytes(4000, seed=1)
    import gzip
    zh = "数学是研究数量、结构以及空间等概念的一门学科。我们来解一个方程。"
    ko = "수학은 수, 양, 구조, 공간을 연구하는 학문이다. 방정식을 풀어 봅시다."
    fr = "Les mathématiques étudient les nombres, les structures et l'espace, à vrai dire."
    zh_bytes = page("zh", f"<p>{zh * 10}</p>")
    cut = zh_bytes.index("数".encode()) + 1  # inside a three-byte character
    invalid_utf8 = zh_bytes[:cut] + b"\xff" + zh_bytes[cut:]
    write_warc_gz(web / "odd-bodies.warc.gz", [
        warc_record("http://big.example/50mb", http_block(big), n=20),
        warc_record("http://bin.example/random", http_block(random_bytes(64 * 1024)), n=21),
        warc_record("http://bin.example/png", http_block(png), n=22),
        warc_record("http://bin.example/gzip", http_block(gzip.compress(page("gz"), mtime=0)), n=23),
        warc_record("http://cs.example/invalid-utf8", http_block(invalid_utf8, "text/html; charset=utf-8"), n=24),
        warc_record("http://cs.example/euckr-as-latin1",
                    http_block(f"<html><body><main><p>{ko * 8}</p></main></body></html>".encode("euc-kr"),
                               "text/html; charset=iso-8859-1"), n=25),
        warc_record("http://cs.example/cp1252-as-utf8",
                    http_block(f"<html><body><main><p>{fr * 8}</p></main></body></html>".encode("cp1252"),
                               "text/html; charset=utf-8"), n=26),
        warc_record("http://cs.example/utf8-as-latin1",
                    http_block(f"<html><body><main><p>{fr * 8}</p></main></body></html>".encode(),
                               "text/html; charset=iso-8859-1"), n=27),
        warc_record("http://cs.example/unknown-label",
                    http_block(page("label", f"<p>{fr}</p>"), "text/html; charset=x-no-such-charset"), n=28),
    ])

    # -- web: regex bait and pages pointing at the network / local files -----------------------
    hostile_dtd = xxe_dtd("html", secret, net_url)
    write_warc_gz(web / "hostile.warc.gz", [
        warc_record("http://re.example/inline-openers",
                    http_block(page("openers", "<p>" + "\\(" * 150_000 + "</p>")), n=30),
        warc_record("http://re.example/display-openers",
                    http_block(page("openers", "<p>" + "\\[" * 150_000 + "</p>")), n=31),
        # a formula-image URL of a million rendering options; a DOCTYPE subset that never closes
        warc_record("http://re.example/codecogs-options", http_block(page(
            "options", '<p>See <img src="https://latex.codecogs.com/gif.latex?' + "\\inline&space;" * 150_000
            + 'x" alt=""/> here, in a paragraph of prose long enough to be kept as content.</p>')), n=33),
        warc_record("http://re.example/doctype-subset", http_block(
            ("<!DOCTYPE html [" + "<!ENTITY a 'b'>" * 100_000 + "\n<html><body><main><p>"
             + "An ordinary paragraph of prose that an extractor keeps as content. " * 4
             + "</p></main></body></html>").encode()), n=34),
        warc_record("http://net.example/xxe", http_block(
            (f'<?xml version="1.0"?>\n<?xml-stylesheet href="{net_url}style.xsl"?>\n{hostile_dtd}\n'
             f'<html><head><link rel="stylesheet" href="{net_url}a.css"/><script src="{net_url}a.js"></script>'
             f'</head><body><main><p>File: &xfile; Net: &xnet; and an ordinary paragraph of prose that an '
             f'extractor keeps as content, with the formula \\(e^{{i\\pi}}+1=0\\).</p>'
             f'<img src="{net_url}i.png" alt="x^2" class="math"/><iframe src="{net_url}f"></iframe>'
             f'<object data="{net_url}o"></object></main></body></html>').encode(), "application/xhtml+xml"), n=32),
    ])

    # -- books: archives with ../ and absolute paths, bombs, XML entities, regex bait ----------
    tar_gz(books / "escape.tar.gz", {"main.tex": TEX.encode(), f"../../{ESCAPE}-tar.tex": b"EVIL"})
    tar_gz(books / "absolute.tar.gz", {"main.tex": TEX.encode(), f"{root}/{ESCAPE}-abs.tex": b"EVIL"})
    tar_gz_zero_member(books / "bomb.tar.gz", "main.tex", 32 * MB)  # the run's budget is 16 MB
    epub(books / "escape.epub", {"OEBPS/content.opf": opf(["c.xhtml", f"../../{ESCAPE}-epub.xhtml"]),
                                 "OEBPS/c.xhtml": CHAPTER, f"../../{ESCAPE}-epub.xhtml": CHAPTER})
    epub(books / "bomb.epub", {"OEBPS/content.opf": opf(["c.xhtml"]),
                               "OEBPS/c.xhtml": "<html><body><p>" + "a" * (8 * MB) + "</p></body></html>"})
    epub(books / "laughs.epub", {"OEBPS/content.opf": opf(["c.xhtml"], title="&l9;",
                                                          doctype=billion_laughs_dtd("package")),
                                 "OEBPS/c.xhtml": CHAPTER})
    container_xxe = ('<?xml version="1.0"?>\n' + xxe_dtd("container", secret, net_url) +
                     '\n<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
                     '<rootfiles><rootfile full-path="OEBPS/content.opf&xfile;&xnet;"/></rootfiles></container>')
    epub(books / "xxe.epub", {"OEBPS/content.opf": opf(["c.xhtml"]), "OEBPS/c.xhtml": CHAPTER},
         container=container_xxe)
    (books / "regex.tex").write_text(
        TEX.replace("here.", "here.\n" + "\\begin{comment}" * 40_000 + "\n" + "\\input{" * 40_000))
    # not UTF-8 (so its encoding declarations are read), with 100,000 of them on one line
    (books / "encodings.tex").write_bytes(
        TEX.replace("here.", "here. \xe9\n").encode("latin-1") + b"%" + b"\\inputencoding{zz}" * 100_000 + b"\n")
    (books / "sneaky.tex").write_text(
        TEX.replace("here.", f"here.\n\\input{{../../../secret.txt}}\n\\input{{{secret}}}\n"))

    # -- forums: entity bomb and external entities in Posts.xml --------------------------------
    for name, doctype, ref in (("laughs", billion_laughs_dtd("posts"), "&l9;"),
                               ("xxe", xxe_dtd("posts", secret, net_url), "&xfile; &xnet;")):
        (forums / name).mkdir()
        (forums / name / "Posts.xml").write_text(_posts_xml(doctype, ref))
    import py7zr

    with py7zr.SevenZipFile(forums / "bomb.stackexchange.com.7z", "w") as z:  # 17 MB of blanks: 3 KB
        z.writestr(b"<posts>" + b" " * (17 * MB) + b"</posts>", "Posts.xml")
    (forums / "regex").mkdir()
    (forums / "regex" / "Posts.xml").write_text(_posts_xml("", "\\(" * 100_000))

    # -- code: regex bait for the per-language relevance rules --------------------------------
    pq.write_table(pa.table({
        # Blank lines, then one statement: ``^\s*import`` tried every line start against all the
        # newlines after it (O(n^2)).
        "content": ["\n" * (MB - 16) + "x = 1\n", " \n" * (MB // 2 - 16) + "y = 2\n",
                    "import sympy\nx = sympy.Symbol('x')\n"],
        "path": ["blank.py", "blank.jl", "ok.py"],
        "language": ["Python", "Julia", "Python"],
        "repo_name": ["r/a", "r/b", "r/c"],
        "license": ["mit", "mit", "mit"],
    }), code / "regex.parquet")
    return p


def _files(root: Path) -> set[str]:
    return {str(Path(d, f).relative_to(root)) for d, _, fs in os.walk(root) for f in fs}


def _escaped_anywhere(places: list[Path], depth: int = 3) -> list[str]:
    """Files whose name starts with ESCAPE under any of ``places`` (walked ``depth`` levels)."""
    found = []
    for place in places:
        base = len(place.parts)
        for d, dirs, files in os.walk(place):
            if len(Path(d).parts) - base >= depth:
                dirs[:] = []
            found += [os.path.join(d, f) for f in files if f.startswith(ESCAPE)]
    return found


@pytest.fixture(scope="module")
def listener():
    rec = ConnectionRecorder()
    yield rec
    rec.close()


@pytest.fixture(scope="module")
def bad_run(spark, tmp_path_factory, listener):
    root = tmp_path_factory.mktemp("bad-input")
    inp = root / "in" / "a" / "b"  # deep, so that ../../ escapes would land inside root
    paths = _build_inputs(root, inp, listener.url)
    before = _files(root)
    cfg = parse_config({
        "sources": [{"kind": "web", "paths": [str(inp / "web")]},
                    {"kind": "books", "paths": [str(inp / "books")]},
                    {"kind": "forums", "paths": [str(inp / "forums" / "*" / "Posts.xml"),
                                                 str(inp / "forums" / "*.7z")]},
                    {"kind": "code", "paths": [str(inp / "code")]}],
        "output": str(root / "out"),
        "extract": {"max_archive_bytes": 16 * MB},
        # These pages test decoding and extraction, not the math gate in front of it.
        "filter": {"cascade": {"enabled": False}},
    }, root)
    started = time.monotonic()
    Runner(spark, cfg).run(RunPlan.build(until="extract"))
    elapsed = time.monotonic() - started
    out = root / "out"
    kept = pq.read_table(out / "stages" / "extract").to_pylist()
    rejected = pq.read_table(out / "rejects" / "extract").to_pylist()
    stats = json.loads((out / "stats.json").read_text())
    return {"root": root, "inp": inp, "out": out, "paths": paths, "before": before, "after": _files(root),
            "kept": kept, "rejected": rejected, "stats": stats, "elapsed": elapsed}


def _outcome(run, origin: str) -> tuple[str, dict]:
    """('kept', row) or (reason, row) for the one row with this origin."""
    rows = [("kept", r) for r in run["kept"] if r["origin"] == origin]
    rows += [(r["reason"], r) for r in run["rejected"] if r["origin"] == origin]
    assert len(rows) == 1, f"{origin}: {[(o, r['origin']) for o, r in rows]}"
    return rows[0]


def _file_reason(run, path: Path) -> str:
    reasons = [r["reason"] for r in run["rejected"] if r["origin"] == str(path)]
    assert len(reasons) == 1, f"{path}: {reasons}"
    return reasons[0]


# ---- web ------------------------------------------------------------------------------------

def test_truncated_gzip_warc(bad_run):
    assert _file_reason(bad_run, bad_run["paths"]["truncated"]) == "read_error:truncated"
    assert _outcome(bad_run, "http://trunc.example/0")[0] == "kept"
    assert _outcome(bad_run, "http://trunc.example/1")[0] == "kept"


def test_malformed_warc_records(bad_run):
    for host in ("malformed.example", "malformed-gz.example"):
        assert _outcome(bad_run, f"http://{host}/first")[0] == "kept"
        assert _outcome(bad_run, f"http://{host}/garbage-http")[0] == "bad_http_headers"
        assert _outcome(bad_run, f"http://{host}/third")[0] == "kept"
        assert _outcome(bad_run, f"http://{host}/bad-length")[0] == "bad_http_headers"
    # A non-numeric Content-Length breaks the framing. In a plain WARC the rest of the file is
    # lost: the file is rejected as malformed once (with the number of records read in meta).
    reasons = [r["reason"] for r in bad_run["rejected"] if r["origin"] == str(bad_run["paths"]["malformed"])]
    assert reasons == ["malformed_warc"]
    assert not [r for r in bad_run["kept"] if r["origin"].startswith("http://malformed.example/after")]
    # In a WARC.gz (one gzip member per record, as Common Crawl writes) the reader resyncs at the
    # next member: each damaged spot is one malformed_warc reject, and the records after it survive.
    reasons = [r["reason"] for r in bad_run["rejected"] if r["origin"] == str(bad_run["paths"]["malformed_gz"])]
    assert reasons == ["malformed_warc"]
    assert _outcome(bad_run, "http://malformed-gz.example/after-bad-length")[0] == "kept"
    # a record whose header block is junk has no WARC-Type: skipped and counted, not a document
    assert _outcome(bad_run, "http://malformed-gz.example/after-junk")[0] == "kept"
    counters = bad_run["stats"]["stages_extra"]["extract"]["counters"]
    assert counters["warc_resync"] == 1 and counters["warc_skipped:unknown"] >= 1
    assert _file_reason(bad_run, bad_run["paths"]["notwarc"]) == "malformed_warc"


def test_50mb_page_is_rejected_unparsed(bad_run):
    assert _outcome(bad_run, "http://big.example/50mb")[0] == "too_large"


def test_binary_bodies_labelled_html(bad_run):
    for name in ("random", "png", "gzip"):
        assert _outcome(bad_run, f"http://bin.example/{name}")[0] == "binary_body", name


def test_invalid_utf8_and_wrong_charset_labels(bad_run):
    texts = {}
    for name in ("invalid-utf8", "euckr-as-latin1", "cp1252-as-utf8", "utf8-as-latin1", "unknown-label"):
        outcome, row = _outcome(bad_run, f"http://cs.example/{name}")
        assert outcome == "kept", (name, outcome)
        texts[name] = row["text"]
        assert not any(m in row["text"] for m in ("Ã", "Â", "ì", "ë", "\x8e")), (name, row["text"][:80])
    assert "我们来解一个方程" in texts["invalid-utf8"]
    assert json.loads(_outcome(bad_run, "http://cs.example/invalid-utf8")[1]["meta"])["charset"] == "utf-8:repaired"
    assert "방정식을 풀어 봅시다" in texts["euckr-as-latin1"]
    assert "Les mathématiques étudient" in texts["cp1252-as-utf8"]
    assert "Les mathématiques étudient" in texts["utf8-as-latin1"]
    assert "Les mathématiques étudient" in texts["unknown-label"]


def test_regex_bait_pages_finish_within_the_time_limit(bad_run):
    for name in ("inline-openers", "display-openers", "codecogs-options", "doctype-subset"):
        outcome, _row = _outcome(bad_run, f"http://re.example/{name}")
        assert outcome == "kept", (name, outcome)  # extract_timeout here would mean O(n^2) again


def test_external_entities_and_remote_references_in_html(bad_run, listener):
    outcome, row = _outcome(bad_run, "http://net.example/xxe")
    assert outcome == "kept"
    assert "$e^{i\\pi}+1=0$" in row["text"] and SECRET not in row["text"]
    assert listener.connections == []


# ---- books ----------------------------------------------------------------------------------

def test_archives_with_escaping_paths(bad_run):
    books = bad_run["inp"] / "books"
    for name in ("escape.tar.gz", "absolute.tar.gz", "escape.epub"):
        assert _file_reason(bad_run, books / name) == "archive_path_escape", name


def test_decompression_bombs(bad_run):
    books = bad_run["inp"] / "books"
    assert _file_reason(bad_run, books / "bomb.tar.gz") == "archive_too_large"
    assert _file_reason(bad_run, books / "bomb.epub") == "archive_bomb"
    assert _file_reason(bad_run, bad_run["inp"] / "forums" / "bomb.stackexchange.com.7z") == "archive_too_large"


def test_epub_with_entity_bomb_or_external_entities(bad_run, listener):
    books = bad_run["inp"] / "books"
    assert _file_reason(bad_run, books / "laughs.epub") == "xml_entities_forbidden"
    assert _file_reason(bad_run, books / "xxe.epub") == "xml_entities_forbidden"
    assert listener.connections == []


def test_tex_regex_bait_and_input_outside_its_folder(bad_run):
    books = bad_run["inp"] / "books"
    outcome, row = _outcome(bad_run, str(books / "regex.tex"))
    assert outcome == "kept" and "$a^2+b^2=c^2$" in row["text"]  # not extract_timeout
    outcome, row = _outcome(bad_run, str(books / "encodings.tex"))
    assert outcome == "kept" and "$a^2+b^2=c^2$" in row["text"]  # the declaration scan is bounded
    outcome, row = _outcome(bad_run, str(books / "sneaky.tex"))
    assert outcome == "kept" and SECRET not in row["text"]
    assert json.loads(row["meta"])["inputs_resolved"] == 0


# ---- forums and code ------------------------------------------------------------------------

def test_posts_xml_with_entity_bomb_or_external_entities(bad_run, listener):
    forums = bad_run["inp"] / "forums"
    assert _file_reason(bad_run, forums / "laughs" / "Posts.xml") == "xml_dtd_forbidden"
    assert _file_reason(bad_run, forums / "xxe" / "Posts.xml") == "xml_dtd_forbidden"
    assert not [r for r in bad_run["kept"] if r["origin"].startswith(("laughs/", "xxe/"))]
    assert listener.connections == []


def test_forum_post_regex_bait(bad_run):
    outcome, row = _outcome(bad_run, "regex/questions/1")
    assert outcome == "kept" and "Yes." in row["text"]


def test_code_regex_bait(bad_run):
    assert _outcome(bad_run, "r/a/blank.py")[0] == "not_math_relevant"
    assert _outcome(bad_run, "r/b/blank.jl")[0] == "not_math_relevant"
    assert _outcome(bad_run, "r/c/ok.py")[0] == "kept"


# ---- the whole run --------------------------------------------------------------------------

def test_every_source_accounts_in_equals_kept_plus_rejected(bad_run):
    funnel = bad_run["stats"]["stages"]["extract"]
    assert set(funnel) == {"web", "books", "forums", "code"}
    for source, entry in funnel.items():
        assert entry["in"] == entry["kept"] + entry["rejected"], source
        assert entry["kept"] == sum(r["source"] == source for r in bad_run["kept"]), source
        assert entry["rejected"] == sum(r["source"] == source for r in bad_run["rejected"]), source


def test_nothing_written_outside_the_output_folder(bad_run):
    new = {f for f in bad_run["after"] - bad_run["before"] if not f.startswith("out" + os.sep)}
    assert new == set()
    root = bad_run["root"]
    places = [root.parent, REPO, Path.cwd(), Path(tempfile.gettempdir()), Path("/").joinpath(*root.parts[1:2])]
    assert _escaped_anywhere(places) == []


def test_no_secret_leaks_and_no_network(bad_run, listener):
    for row in bad_run["kept"] + bad_run["rejected"]:
        assert SECRET not in (row["text"] or "") and SECRET not in (row["meta"] or ""), row["origin"]
    assert listener.connections == []


# ---- the per-document time limit inside a Spark worker --------------------------------------

def test_time_limit_fires_inside_a_spark_python_worker(spark, tmp_path):
    """A 3.6 MB page needs about a second of extraction (minutes with trafilatura); with a 0.1 s
    limit it is rejected, the small page next to it (a few ms) is kept, and the job goes on
    (SIGALRM works in the worker)."""
    (tmp_path / "in").mkdir()
    para = "<p>Let \\(x_{%d}\\) be a prime, with <b>bold</b> words and ordinary prose around it.</p>\n"
    slow = page("slow", "".join(para % i for i in range(40_000)))
    assert len(slow) > 3 * MB
    write_warc_gz(tmp_path / "in" / "slow.warc.gz", [
        _good("http://time.example/small", 1),
        warc_record("http://time.example/slow", http_block(slow), n=2),
    ])
    cfg = parse_config({"sources": [{"kind": "web", "paths": [str(tmp_path / "in")]}],
                        "output": str(tmp_path / "out"), "extract": {"timeout_seconds": 0.1},
                        "filter": {"cascade": {"enabled": False}}}, tmp_path)
    started = time.monotonic()
    Runner(spark, cfg).run(RunPlan.build(until="extract"))
    run = {"kept": pq.read_table(tmp_path / "out" / "stages" / "extract").to_pylist(),
           "rejected": pq.read_table(tmp_path / "out" / "rejects" / "extract").to_pylist()}
    assert _outcome(run, "http://time.example/slow")[0] == "extract_timeout"
    assert _outcome(run, "http://time.example/small")[0] == "kept"
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["stages_extra"]["extract"]["counters"]["extract_timeout"] == 1
    assert stats["stages"]["extract"]["web"] == {"in": 2, "kept": 1, "rejected": 1, "reasons": {"extract_timeout": 1}}
    assert time.monotonic() - started < 120  # the slow page alone needs minutes without the limit
