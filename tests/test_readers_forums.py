"""Forums reader: StackExchange Posts.xml, synthetic and from the corpus."""

from __future__ import annotations

from collections import Counter
from html import escape

from conftest import CORPUS, needs_shared

from curation.extract.settings import ExtractSettings
from curation.readers.forums import read_file

S = ExtractSettings()


def row(**a) -> str:
    return "  <row " + " ".join(f'{k}="{escape(str(v), quote=True)}"' for k, v in a.items()) + " />\r\n"


def posts(rows: str) -> str:
    return '<?xml version="1.0" encoding="utf-8"?>\r\n<posts>\r\n' + rows + "</posts>\r\n"


XML = posts(
    row(Id=1, PostTypeId=1, AcceptedAnswerId=3, CreationDate="2020-01-02T03:04:05.678", Score=7,
        Body="<p>Why is $\\sum_{k=1}^n k = \\frac{n(n+1)}{2}$?</p>", Title="Sum of integers",
        Tags="<algebra><induction>", ContentLicense="CC BY-SA 4.0")
    + row(Id=2, PostTypeId=2, ParentId=1, Score=10, Body="<p>High-score answer by pairing.</p>")
    + row(Id=3, PostTypeId=2, ParentId=1, Score=1, Body="<p>Accepted: induction on $n$.</p>")
    + row(Id=4, PostTypeId=2, ParentId=1, Score=10, Body="<p>Second high-score answer.</p>")
    + row(Id=5, PostTypeId=5, Body="<p>tag wiki</p>")
    + row(Id=6, PostTypeId=2, ParentId=99, Score=1, Body="<p>orphan</p>")
    + row(Id=7, PostTypeId=1, Score=0, Body="", Title="Empty question", Tags="|a|b|")
)


def test_question_with_answers_in_order(tmp_path):
    p = tmp_path / "math.example" / "Posts.xml"
    p.parent.mkdir()
    p.write_text(XML, encoding="utf-8")
    counters: Counter = Counter()
    rows = list(read_file(str(p), S, counters))
    assert [r["origin"] for r in rows] == ["math.example/questions/1", "math.example/questions/7"]
    doc = rows[0]
    assert doc["reason"] is None and doc["date"] == "2020-01-02T03:04:05.678"
    text = doc["text"]
    assert text.startswith("Sum of integers")
    assert "$\\sum_{k=1}^n k = \\frac{n(n+1)}{2}$" in text
    assert text.index("Accepted: induction") < text.index("High-score") < text.index("Second high-score")
    assert doc["meta"]["tags"] == ["algebra", "induction"] and doc["meta"]["score"] == 7
    assert doc["meta"]["license"] == "CC BY-SA 4.0" and doc["meta"]["answer_ids"] == [3, 2, 4]
    assert rows[1]["reason"] == "empty_text" and rows[1]["meta"]["tags"] == ["a", "b"]
    assert counters["forum_skipped:posttype_5"] == 1 and counters["forum_orphan_answers"] == 1


def test_entity_expansion_is_off(tmp_path):
    bomb = ('<?xml version="1.0"?><!DOCTYPE posts [<!ENTITY a "AAAAAAAAAA">'
            '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
            '<!ENTITY ext SYSTEM "file:///etc/passwd">]>'
            '<posts><row Id="1" PostTypeId="1" Title="t &c; &ext;" Body="&lt;p&gt;body &amp;c;&lt;/p&gt;" /></posts>')
    p = tmp_path / "Posts.xml"
    p.write_text(bomb)
    rows = list(read_file(str(p), S, Counter()))
    text = " ".join(r["text"] or "" for r in rows)
    assert "AAAAAAAAAA" not in text and "root:" not in text


def test_truncated_xml_keeps_rows_and_rejects_file(tmp_path):
    p = tmp_path / "Posts.xml"
    p.write_text(XML[: XML.index('Id="4"')], encoding="utf-8")
    rows = list(read_file(str(p), S, Counter()))
    assert rows[0]["origin"].endswith("/questions/1") and rows[0]["reason"] is None
    assert rows[-1]["reason"].startswith("read_error:")


def test_7z_archive(tmp_path):
    import py7zr

    src = tmp_path / "Posts.xml"
    src.write_text(XML, encoding="utf-8")
    arc = tmp_path / "math.stackexchange.com.7z"
    with py7zr.SevenZipFile(arc, "w") as z:
        z.write(src, "Posts.xml")
    rows = list(read_file(str(arc), S, Counter()))
    assert rows[0]["origin"] == "math.stackexchange.com/questions/1" and rows[0]["reason"] is None


@needs_shared
def test_python_faq_dump():
    rows = list(read_file(str(CORPUS / "forums" / "python.example" / "Posts.xml"), S, Counter()))
    assert len(rows) == 177 and all(r["reason"] is None for r in rows)
    assert all(r["meta"]["license"] == "PSF-2.0" and r["meta"]["answer_ids"] for r in rows)
    assert sum(">>>" in r["text"] for r in rows) > 10  # code blocks survive as text


def test_7z_dump_larger_than_the_archive_budget_is_read_but_a_bomb_is_not(tmp_path):
    """Posts.xml is unpacked to disk and streamed, so a real site whose Posts.xml exceeds
    max_archive_bytes is read; what refuses a bomb is the ratio to the archive's size."""
    import py7zr

    filler = "".join(row(Id=100 + i, PostTypeId=2, ParentId=1, Score=0, Body=f"<p>Answer number {i} with words.</p>")
                     for i in range(3000))
    src = tmp_path / "Posts.xml"
    src.write_text(posts(XML.split("<posts>\r\n", 1)[1].rsplit("</posts>", 1)[0] + filler), encoding="utf-8")
    arc = tmp_path / "stackoverflow.com-Posts.7z"
    with py7zr.SevenZipFile(arc, "w") as z:
        z.write(src, "Posts.xml")
    small_budget = ExtractSettings(max_archive_bytes=src.stat().st_size // 4)
    assert src.stat().st_size < small_budget.max_compression_ratio * arc.stat().st_size
    rows = list(read_file(str(arc), small_budget, Counter()))
    assert rows[0]["reason"] is None and rows[0]["origin"] == "stackoverflow.com/questions/1"

    bomb_src = tmp_path / "bomb" / "Posts.xml"
    bomb_src.parent.mkdir()
    bomb_src.write_text(posts(row(Id=1, PostTypeId=1, Title="t", Body="<p>" + "a" * 4_000_000 + "</p>")))
    bomb = tmp_path / "bomb.7z"
    with py7zr.SevenZipFile(bomb, "w") as z:
        z.write(bomb_src, "Posts.xml")
    assert bomb_src.stat().st_size > 200 * bomb.stat().st_size
    (rejected,) = read_file(str(bomb), ExtractSettings(max_archive_bytes=1_000_000), Counter())
    assert rejected["reason"] == "archive_too_large"


def test_other_tables_of_a_dump_are_skipped_with_a_counter(tmp_path):
    site = tmp_path / "math.example"
    site.mkdir()
    (site / "Comments.xml").write_text('<?xml version="1.0"?><comments><row Id="1" Text="hi"/></comments>')
    counters: Counter = Counter()
    assert list(read_file(str(site / "Comments.xml"), S, counters)) == []
    assert counters["forum_skipped_table:comments"] == 1


def test_image_only_question_is_kept_for_its_answers(tmp_path):
    xml = posts(
        row(Id=1, PostTypeId=1, Title="Evaluate this integral", Body='<p><img src="https://i.sstatic.net/a.png"></p>')
        + row(Id=2, PostTypeId=2, ParentId=1, Score=3,
              Body="<p>Substitute $u = x^2$, so $du = 2x\\,dx$ and the bounds stay $0$ and $1$. Then "
                   "$\\int_0^1 2x e^{x^2}\\,dx = \\int_0^1 e^u\\,du = e - 1$, since the antiderivative of "
                   "$e^u$ is $e^u$ itself.</p>")
        + row(Id=3, PostTypeId=1, Title="Only a title", Body='<p><img src="b.png"></p>')
    )
    p = tmp_path / "Posts.xml"
    p.write_text(xml, encoding="utf-8")
    rows = {r["origin"].rsplit("/", 1)[1]: r for r in read_file(str(p), S, Counter())}
    assert rows["1"]["reason"] is None and "$u = x^2$" in rows["1"]["text"]
    assert rows["3"]["reason"] == "empty_text"
