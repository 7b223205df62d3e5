"""Web reader: synthetic WARCs written here with warcio, the dev crawl and the edge WARCs."""

from __future__ import annotations

import gzip
import io
import itertools
import json
from collections import Counter

import pytest
from conftest import CORPUS, needs_shared
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from curation.extract.html import ExtractResult, extract_fast
from curation.extract.settings import ExtractSettings
from curation.readers.web import read_file

S = ExtractSettings()

KO = "<html><head><meta http-equiv='Content-Type' content='text/html; charset=EUC-KR'><title>문서</title></head><body><main><h1>아파치 웹서버</h1><p>{}</p></main></body></html>"
KO_TEXT = "이 문서는 아파치 웹서버의 설정 방법을 설명합니다. 가상호스트와 모듈을 다룹니다. " * 3
FR_TEXT = "Ce document décrit la configuration du serveur à l'aide des modules énumérés ci-après. " * 3
ZH_TEXT = "本文档介绍如何配置服务器以及常用模块的使用方法。数学公式也应该保留下来。" * 3


def _response(writer, url, body: bytes, content_type: str | None, status: str = "200 OK", extra=None):
    headers = [("Content-Type", content_type)] if content_type else []
    http = StatusAndHeaders(status, headers + (extra or []), protocol="HTTP/1.1")
    rec = writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http,
                                    warc_headers_dict={"WARC-Date": "2024-03-01T12:00:00Z"})
    writer.write_record(rec)
    return rec


def build_warc(path, gz=True):
    with open(path, "wb") as fh:
        w = WARCWriter(fh, gzip=gz)
        w.write_record(w.create_warcinfo_record("t.warc.gz", {"software": "test"}))
        req = w.create_warc_record("http://ko.example/", "request", payload=io.BytesIO(b"GET / HTTP/1.1\r\n\r\n"))
        w.write_record(req)
        _response(w, "http://ko.example/", KO.format(KO_TEXT).encode("euc-kr"), "text/html; charset=EUC-KR")
        # no charset in the header: the page's <meta> must be used
        _response(w, "http://ko2.example/", KO.format(KO_TEXT).encode("euc-kr"), "text/html")
        fr = f"<html><body><main><p>{FR_TEXT}</p></main></body></html>".encode("iso-8859-1")
        _response(w, "http://fr.example/", fr, "text/html; charset=iso-8859-1")
        zh = f"<html><head><meta charset='gb2312'></head><body><main><p>{ZH_TEXT}</p></main></body></html>"
        _response(w, "http://zh.example/", zh.encode("gb2312"), "text/html")
        _response(w, "http://x.example/a.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 50, "image/png")
        _response(w, "http://x.example/missing", b"<html><body>Not Found</body></html>", "text/html", "404 Not Found")
        _response(w, "http://x.example/bad", b"<html><body><p>\xff\xfe\x81\x00\x9f\xfa\xc3\x28</p></body></html>" * 3,
                  "text/html; charset=utf-8")
        _response(w, "http://x.example/big", b"<html><body>" + b"<p>x</p>" * 200 + b"</body></html>", "text/html")
        rv = w.create_revisit_record("http://ko.example/", digest="sha1:AAAA", refers_to_uri="http://ko.example/",
                                     refers_to_date="2024-01-01T00:00:00Z")
        w.write_record(rv)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    path = tmp_path_factory.mktemp("warc") / "t.warc.gz"
    build_warc(path)
    counters: Counter = Counter()
    rows = list(read_file(str(path), ExtractSettings(max_html_bytes=1500), counters))
    return path, rows, counters


def test_synthetic_reasons_and_counters(synthetic):
    _, rows, counters = synthetic
    by_url = {r["origin"]: r for r in rows}
    assert by_url["http://x.example/a.png"]["reason"] == "not_html:image/png"
    assert by_url["http://x.example/missing"]["reason"] == "http_status:404"
    assert by_url["http://x.example/bad"]["reason"] == "binary_body"  # it holds a NUL byte: binary whatever the label says
    assert by_url["http://x.example/big"]["reason"] == "too_large"
    assert counters["warc_skipped:request"] == 1
    assert counters["warc_skipped:warcinfo"] == 1
    assert counters["warc_skipped:revisit"] == 1
    assert len(rows) == 8


def test_charsets_without_mojibake(synthetic):
    _, rows, _ = synthetic
    by_url = {r["origin"]: r for r in rows}
    for url in ("http://ko.example/", "http://ko2.example/"):
        assert by_url[url]["reason"] is None
        assert "아파치 웹서버의 설정 방법" in by_url[url]["text"]
    assert by_url["http://ko2.example/"]["meta"]["charset"].endswith(":meta")
    assert "décrit la configuration du serveur à l'aide" in by_url["http://fr.example/"]["text"]
    assert "本文档介绍如何配置服务器" in by_url["http://zh.example/"]["text"]
    assert by_url["http://ko.example/"]["date"] == "2024-03-01T12:00:00Z"


def test_ids_stable_and_unique(synthetic):
    path, rows, _ = synthetic
    again = list(read_file(str(path), ExtractSettings(max_html_bytes=1500), Counter()))
    assert [r["id"] for r in rows] == [r["id"] for r in again]
    assert len({r["id"] for r in rows}) == len(rows)


def test_truncated_gzip_keeps_records_read_and_rejects_file(synthetic, tmp_path):
    path, rows, _ = synthetic
    data = path.read_bytes()
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    got = list(read_file(str(cut), ExtractSettings(max_html_bytes=1500), Counter()))
    assert got[-1]["reason"] == "read_error:truncated"
    assert 1 <= len(got) - 1 < len(rows)
    assert [r["id"] for r in got[:-1]] == [r["id"] for r in rows[: len(got) - 1]]


def test_not_a_warc_and_missing_file(tmp_path):
    junk = tmp_path / "junk.warc.gz"
    junk.write_bytes(gzip.compress(b"this is not a warc file at all\n" * 10))
    got = list(read_file(str(junk), S, Counter()))
    assert all(r["reason"] for r in got)
    missing = list(read_file(str(tmp_path / "nope.warc.gz"), S, Counter()))
    assert missing[0]["reason"] == "read_error:FileNotFoundError"


def test_html_to_text_is_replaceable(synthetic):
    path, _, _ = synthetic
    calls = []

    def fast(html, url, settings):
        calls.append(url)
        return ExtractResult(extract_fast(html), {"extractor": "fast"})

    rows = list(read_file(str(path), S, Counter(), html_to_text=fast))
    assert len(calls) == 5 and all(r["meta"].get("extractor") == "fast" for r in rows if r["reason"] is None)


def _fast(html, url, settings):
    """Cheap stand-in for the HTML step: these tests are about records, reasons and charsets."""
    from resiliparse.extract.html2text import extract_plain_text

    return ExtractResult(extract_plain_text(html, main_content=False), {"extractor": "plain"})


@needs_shared
def test_dev_crawl_reasons_match_labels():
    warc = CORPUS / "web" / "devcrawl-00000.warc.gz"
    labels = {}
    for line in open(CORPUS / "labels" / "web_labels.jsonl", encoding="utf-8"):
        d = json.loads(line)
        if d["warc_file"] == "web/devcrawl-00000.warc.gz":
            labels[d["warc_record_id"]] = d
    revisits = sum(1 for line in open(CORPUS / "labels" / "web_revisits.jsonl", encoding="utf-8")
                   if "devcrawl-00000" in line)
    counters: Counter = Counter()
    rows = list(read_file(str(warc), S, counters, html_to_text=_fast))
    assert len(rows) == len(labels)
    # request and metadata records come in pairs beside ~5% of responses
    assert counters["warc_skipped:request"] == counters["warc_skipped:metadata"] > 0
    assert counters["warc_skipped:revisit"] == revisits and counters["warc_skipped:warcinfo"] == 1
    for r in rows:
        d = labels[r["meta"]["warc_record_id"]]
        if d["status"] != 200:
            assert r["reason"] == f"http_status:{d['status']}"
        elif not d["is_html"]:
            assert r["reason"].startswith("not_html:")
        elif d["bytes"] < 300:  # meta-refresh stubs (Sphinx redirects) hold no text
            assert r["reason"] == "empty_text"
        else:
            assert r["reason"] is None, (d["url"], r["reason"])
            text = r["text"]
            assert "\ufffd" not in text and "Ã" not in text
            if d["lang"] == "ko":
                assert sum("\uac00" <= ch <= "\ud7a3" for ch in text) > 20, d["url"]
            if d["lang"] == "zh":
                assert sum("\u4e00" <= ch <= "\u9fff" for ch in text) > 20, d["url"]


@needs_shared
@pytest.mark.parametrize("name", sorted(p.name for p in (CORPUS / "web" / "edge").glob("*")) if CORPUS.is_dir() else [])
def test_edge_warcs_never_raise(name):
    counters: Counter = Counter()
    rows = list(read_file(str(CORPUS / "web" / "edge" / name), S, counters, html_to_text=_fast))
    for r in rows:
        assert r["reason"] is None or isinstance(r["reason"], str)
        assert r["reason"] is not None or r["text"]
    if name == "c1_warcinfo.warc":
        assert rows == [] and counters["warc_skipped:warcinfo"] == 1
    if name == "missing-status-text.warc":
        assert rows[0]["reason"] == "bad_http_headers"
    if name == "dupes.warc.gz":
        assert counters["warc_skipped:revisit"] == 9


@needs_shared
def test_real_korean_pages_with_quality_extractor():
    labels = [json.loads(line) for line in open(CORPUS / "labels" / "web_labels.jsonl", encoding="utf-8")]
    ko = {d["warc_record_id"] for d in labels if d["lang"] == "ko" and d["warc_file"].endswith("00000.warc.gz")}
    rows = [r for r in read_file(str(CORPUS / "web" / "devcrawl-00000.warc.gz"), S, Counter(),
                                 html_to_text=lambda h, u, s: _only_ko(h, u, s, ko)) if r["meta"]["warc_record_id"] in ko]
    assert rows and all(r["reason"] is None for r in rows)
    assert all(sum("\uac00" <= ch <= "\ud7a3" for ch in r["text"]) > 20 for r in rows[:5])


def _only_ko(html, url, settings, ko):
    from curation.extract.html import extract_html

    if "/ko/" in (url or ""):
        return extract_html(html, url, settings)
    return ExtractResult("x", {})


# ---- byte ranges: a .warc.gz read in pieces gives exactly the rows of the whole file ----------

def _rows(path, byte_range=None):
    counters: Counter = Counter()
    kwargs = {"byte_range": byte_range} if byte_range else {}
    rows = list(read_file(str(path), S, counters, html_to_text=lambda h, u, s: ExtractResult(h[:40], {}), **kwargs))
    return sorted((r["id"], r["reason"] or "") for r in rows), counters


def _range_files(tmp_path):
    from fixtures_bad_input import http_block, page, warc_record, write_warc_gz

    def good(uri, n):
        return warc_record(uri, http_block(page(uri.rsplit("/", 1)[-1] + " text " * 200)), n=n)

    files = [REPO_SAMPLE / "sample-web.warc.gz"]
    malformed = tmp_path / "malformed.warc.gz"
    write_warc_gz(malformed, [
        good("http://m.example/first", 1),
        warc_record("http://m.example/garbage-http", b"NOT HTTP\r\n\x00\x01\r\n\r\n<html>x</html>", n=2),
        good("http://m.example/third", 3),
        b"WARC/1.0\r\nno header block at all\r\n\r\n",
        *[good(f"http://m.example/after-{i}", 10 + i) for i in range(6)],
    ])
    truncated = tmp_path / "truncated.warc.gz"
    ends = write_warc_gz(truncated, [good(f"http://t.example/{i}", i) for i in range(8)])
    truncated.write_bytes(truncated.read_bytes()[: ends[6] + (ends[7] - ends[6]) // 2])
    return [*files, malformed, truncated]


REPO_SAMPLE = __import__("pathlib").Path(__file__).resolve().parents[1] / "data" / "sample" / "web"


@pytest.mark.parametrize("split", [997, 4096, 65_536])
def test_byte_ranges_read_every_record_once(tmp_path, split):
    """Ranges of any size (cut anywhere, also inside members and inside damage) give the whole
    file's rows and counters: each record is owned by the range its gzip member starts in, the
    malformed parts are reported once, the truncated tail once, by the last range."""
    for path in _range_files(tmp_path):
        whole, whole_counts = _rows(path)
        size = path.stat().st_size
        pieces, piece_counts = [], Counter()
        for start in range(0, size, split):
            rows, counts = _rows(path, (start, min(start + split, size)))
            pieces += rows
            piece_counts.update(counts)
        assert sorted(pieces) == whole, path.name
        assert piece_counts == whole_counts, path.name
        assert len(whole) > 2


def test_plan_tasks_cuts_each_file_into_equal_ranges(tmp_path):
    """Four files of ~1.5 splits each on two cores: eight ranges of nearly equal size, none
    larger than the split, covering each file exactly once (was: 14.7, 9.8 and 4.9 MB tasks)."""
    from curation.spark.extract import MIN_SPLIT_BYTES, plan_tasks

    sizes = [3 * MIN_SPLIT_BYTES - 7, 3 * MIN_SPLIT_BYTES + 11, 3 * MIN_SPLIT_BYTES, 3 * MIN_SPLIT_BYTES + 1]
    files = []
    for i, size in enumerate(sizes):
        path = tmp_path / f"part-{i}.warc.gz"
        path.write_bytes(b"\0" * size)
        files.append(("web", str(path)))
    tasks = plan_tasks(files, parallelism=2)
    split = sum(sizes) // 6
    lengths = []
    for (_, path), size in zip(files, sizes, strict=True):
        ranges = [(a, b if b >= 0 else size) for k, p, a, b in tasks if p == path]
        assert ranges[0][0] == 0 and ranges[-1][1] == size
        assert all(b1 == a2 for (_, b1), (a2, _) in itertools.pairwise(ranges))
        lengths += [b - a for a, b in ranges]
    assert len(tasks) == 8
    assert max(lengths) <= split and max(lengths) - min(lengths) <= 10  # the files differ by 18 B
    small = tmp_path / "small.warc.gz"
    small.write_bytes(b"\0" * (MIN_SPLIT_BYTES - 1))
    assert plan_tasks([("web", str(small))], parallelism=64) == [("web", str(small), 0, -1)]


# A Doxygen source page (Eigen's *_source.html shape) and a Sphinx page with one short example.
_SOURCE_PAGE = ("<html><body><div class='header'><div class='title'>MathFunctions.h</div></div>"
                "<div class='contents'><div class='fragment'>"
                + "".join(f"<div class='line'><span class='lineno'>{i}</span> template&lt;typename Scalar&gt; "
                          f"Scalar pow{i}(const Scalar&amp; x) {{ return x * x; }}</div>" for i in range(60))
                + "</div></div></body></html>")
_PROSE_WITH_CODE = ("<html><body><main><h1>Least squares</h1><p>"
                    + "We minimise the squared residual of the linear model over all coefficients. " * 6
                    + "</p><pre>x = lstsq(A, b)</pre></main></body></html>")


# Macaulay2's manual shape: a paragraph of math, then a long session transcript in <pre>.
_MATH_THEN_SESSION = ("<html><body><h1>resultant</h1><p>Let $F_0,\\ldots,F_n$ be $n+1$ homogeneous "
                      "polynomials in $n+1$ variables $x_0,\\ldots,x_n$ over a ring $K$.</p><pre>"
                      + "".join(f"i{i} : F = {{x^2+3*t*y*z-u*z^2,(t+3*u-1)*x-y}}\no{i} = List\n" for i in range(80))
                      + "</pre></body></html>")


def test_source_listings_are_rejected_but_pages_with_examples_are_kept(tmp_path):
    path = tmp_path / "src.warc.gz"
    with open(path, "wb") as fh:
        w = WARCWriter(fh, gzip=True)
        _response(w, "https://eigen.example/MathFunctions_8h_source.html", _SOURCE_PAGE.encode(), "text/html")
        _response(w, "https://docs.example/lstsq.html", _PROSE_WITH_CODE.encode(), "text/html")
    rows = {r["origin"]: r for r in read_file(str(path), S, Counter())}
    listing = rows["https://eigen.example/MathFunctions_8h_source.html"]
    assert listing["reason"] == "source_listing"
    assert listing["meta"]["code_share"] >= S.max_code_share
    kept = rows["https://docs.example/lstsq.html"]
    assert kept["reason"] is None and "lstsq(A, b)" in kept["text"]
    assert 0 < kept["meta"]["code_share"] < 0.1
    # mostly a transcript, but its prose holds formulas: math, not a listing
    path2 = tmp_path / "session.warc.gz"
    with open(path2, "wb") as fh:
        _response(WARCWriter(fh, gzip=True), "https://m2.example/_resultant.html", _MATH_THEN_SESSION.encode(),
                  "text/html")
    (session,) = read_file(str(path2), S, Counter())
    assert session["meta"]["code_share"] >= S.max_code_share and session["meta"]["prose_formulas"] == 5
    assert session["reason"] is None and "$n+1$ homogeneous" in session["text"]
    assert listing["meta"]["prose_formulas"] == 0
    # max_code_share=1.0 keeps listings
    rows = {r["origin"]: r for r in read_file(str(path), ExtractSettings(max_code_share=1.0), Counter())}
    assert rows["https://eigen.example/MathFunctions_8h_source.html"]["reason"] is None


_PAGE = ("<html><body><main><h1>Sums</h1><p>The sum of the first n integers is "
         "$\\sum_{k=1}^n k = \\frac{n(n+1)}{2}$, which Gauss found as a boy. " + "We check it for small n. " * 8
         + "</p></main></body></html>")


def _chunked(body: bytes, size: int = 0x14b) -> bytes:
    parts = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x; ext=1\r\n" % len(p) + p + b"\r\n" for p in parts) + b"0\r\n\r\n"


def test_transfer_and_content_encodings_the_crawler_kept(tmp_path):
    """WARCs from wget, Heritrix or browsertrix keep chunked bodies and brotli as sent: the chunk
    sizes must not land in the text (nor cut a formula), and brotli is undone like gzip. XHTML
    served as application/xml is a page; a brotli bomb is rejected, not inflated."""
    import brotli

    page = _PAGE.encode()
    xhtml = (b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body><main>'
             + _PAGE.encode()[len("<html><body><main>"):])
    path = tmp_path / "enc.warc.gz"
    with open(path, "wb") as fh:
        w = WARCWriter(fh, gzip=True)
        _response(w, "http://a.example/chunked", _chunked(page), "text/html", extra=[("Transfer-Encoding", "chunked")])
        _response(w, "http://a.example/chunked-gzip", _chunked(gzip.compress(page)), "text/html",
                  extra=[("Transfer-Encoding", "chunked"), ("Content-Encoding", "gzip")])
        _response(w, "http://a.example/br", brotli.compress(page), "text/html", extra=[("Content-Encoding", "br")])
        _response(w, "http://a.example/xhtml", xhtml, "application/xml")
        # Without a Content-Type the markup is sniffed, after the encodings are undone: gzip
        # bytes or a chunk-size line in front of it hid it before.
        _response(w, "http://a.example/untyped-gzip", gzip.compress(page), None, extra=[("Content-Encoding", "gzip")])
        _response(w, "http://a.example/xhtml-br", brotli.compress(xhtml), "application/xml",
                  extra=[("Content-Encoding", "br")])
        _response(w, "http://a.example/untyped-chunked", _chunked(page, size=3), None,
                  extra=[("Transfer-Encoding", "chunked")])
        _response(w, "http://a.example/feed", b"<?xml version='1.0'?><rss><channel/></rss>", "application/xml")
        _response(w, "http://a.example/bomb", brotli.compress(b"<p>" + b"a" * 50_000_000), "text/html",
                  extra=[("Content-Encoding", "br")])
    rows = {r["origin"].rsplit("/", 1)[1]: r for r in read_file(str(path), S, Counter())}
    for name in ("chunked", "chunked-gzip", "br", "xhtml", "untyped-gzip", "xhtml-br", "untyped-chunked"):
        assert rows[name]["reason"] is None, (name, rows[name]["reason"])
        assert "$\\sum_{k=1}^n k = \\frac{n(n+1)}{2}$" in rows[name]["text"], name
        assert "14b" not in rows[name]["text"]
    assert rows["chunked"]["meta"]["transfer_encoding"] == "chunked"
    assert rows["feed"]["reason"] == "not_html:application/xml"
    assert rows["bomb"]["reason"] == "undecodable"
