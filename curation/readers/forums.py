"""StackExchange data dumps: ``Posts.xml`` (or the site's ``.7z``) -> one document per question.

A question's document is its title and body, then its answers, the accepted one first and the
rest by score (ties by id). Real dumps are many GB and answers come long after their questions
(ids follow creation time), so rows are streamed with lxml ``iterparse`` (entities and network
off, no DTD) into an on-disk SQLite table, then grouped; memory stays flat.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Iterator
from typing import Any

from lxml import etree

from curation.extract.html import ExtractTimeout, extract_fragment
from curation.extract.settings import ExtractSettings
from curation.readers._archive import UnsafeArchive
from curation.readers._common import doc_row, error_reason

SOURCE = "forums"
_TAGS = re.compile(r"<([^<>]+)>")
_QUESTION, _ANSWER = "1", "2"


def site_name(path: str) -> str:
    """``math.stackexchange.com.7z`` -> ``math.stackexchange.com``; ``x/Posts.xml`` -> ``x``."""
    base = os.path.basename(path)
    if base.lower() == "posts.xml":
        return os.path.basename(os.path.dirname(os.path.abspath(path))) or "posts"
    for suffix in (".7z", ".xml"):
        if base.lower().endswith(suffix):
            base = base[: -len(suffix)]
            break
    # Stack Overflow's dump is split by table: stackoverflow.com-Posts.7z
    return base[: -len("-posts")] if base.lower().endswith("-posts") else base


# Other tables of a dump (Comments.xml, Votes.xml, PostHistory.xml, ...): a site folder given as
# a glob brings them along, and they hold no questions.
_OTHER_TABLES = ("badges", "comments", "posthistory", "postlinks", "tags", "users", "votes")


def other_table(path: str) -> str | None:
    base = os.path.basename(path).lower()
    for table in _OTHER_TABLES:
        if base in (f"{table}.xml", f"{table}.7z") or base.endswith((f"-{table}.7z", f"-{table}.xml")):
            return table
    return None


def parse_tags(raw: str | None) -> list[str]:
    if not raw:
        return []
    if "<" in raw:
        return _TAGS.findall(raw)
    return [t for t in raw.strip("|").split("|") if t]  # newer dumps write |a|b|


def read_file(path: str, settings: ExtractSettings, counters: Counter) -> Iterator[dict[str, Any]]:
    table = other_table(path)
    if table is not None:
        counters[f"forum_skipped_table:{table}"] += 1
        return
    site = site_name(path)
    tmpdir = tempfile.mkdtemp(prefix="forums-")
    try:
        xml_path = path
        if path.lower().endswith(".7z"):
            try:
                xml_path = _extract_posts_7z(path, tmpdir, settings)
            except UnsafeArchive as exc:
                yield doc_row(SOURCE, path, "file", None, meta={"file": path}, reason=exc.reason)
                return
            except Exception as exc:
                yield doc_row(SOURCE, path, "file", None, meta={"file": path}, reason=error_reason(exc))
                return
        db = sqlite3.connect(os.path.join(tmpdir, "posts.sqlite"))
        try:
            error = _load(xml_path, db, counters)
            yield from _documents(db, site, path, settings, counters)
            if error is not None:
                yield doc_row(SOURCE, path, "file", None, meta={"file": path}, reason=error)
        finally:
            db.close()
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def _extract_posts_7z(path: str, tmpdir: str, settings: ExtractSettings) -> str:
    import py7zr

    with py7zr.SevenZipFile(path, mode="r") as archive:
        infos = [i for i in archive.list() if os.path.basename(i.filename).lower() == "posts.xml"]
        if not infos:
            raise UnsafeArchive("no_posts_xml")
        info = infos[0]
        limit = posts_xml_limit(os.path.getsize(path), settings)
        if (info.uncompressed or 0) > limit:
            raise UnsafeArchive("archive_too_large")
        name = info.filename
        if name.startswith("/") or ".." in name.replace("\\", "/").split("/"):
            raise UnsafeArchive("archive_path_escape")
        archive.extract(path=tmpdir, targets=[name])
    out = os.path.join(tmpdir, name)
    if os.path.getsize(out) > limit:
        raise UnsafeArchive("archive_too_large")
    return out


def posts_xml_limit(archive_bytes: int, settings: ExtractSettings) -> int:
    """How large the Posts.xml of a .7z dump may unpack.

    ``max_archive_bytes`` alone would refuse real sites: Posts.xml is unpacked to disk and
    streamed, never held in memory, and the big sites' run to gigabytes (XML packs 5-10x).
    What marks a bomb is the ratio, so the archive may unpack to ``max_compression_ratio`` times
    its own size, and always to ``max_archive_bytes``.
    """
    return max(settings.max_archive_bytes, int(settings.max_compression_ratio * archive_bytes))


def _load(xml_path: str, db: sqlite3.Connection, counters: Counter) -> str | None:
    """Stream rows into SQLite; return a reject reason when the XML ends early or is broken."""
    db.execute(
        "CREATE TABLE posts (id INTEGER PRIMARY KEY, type TEXT, parent INTEGER, accepted INTEGER,"
        " score INTEGER, date TEXT, title TEXT, body TEXT, tags TEXT, license TEXT)"
    )
    batch: list[tuple] = []
    error = None
    try:
        context = etree.iterparse(
            xml_path, events=("start", "end"),
            resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True,
        )
        for event, el in context:
            if event == "start":
                # StackExchange dumps never carry a DOCTYPE. One that does is hostile (billion
                # laughs, XXE): libxml2 would stop at its amplification limit or its refusal to
                # load an external entity, half-way through the file; refuse it whole, up front.
                if el.getparent() is None and el.getroottree().docinfo.internalDTD is not None:
                    error = "xml_dtd_forbidden"
                    break
                continue
            if el.tag != "row":
                continue
            a = el.attrib
            try:
                batch.append((
                    int(a["Id"]), a.get("PostTypeId"), _int(a.get("ParentId")), _int(a.get("AcceptedAnswerId")),
                    _int(a.get("Score")) or 0, a.get("CreationDate"), a.get("Title"), a.get("Body"),
                    a.get("Tags"), a.get("ContentLicense"),
                ))
            except (KeyError, ValueError):
                counters["forum_bad_row"] += 1
            el.clear()
            while el.getprevious() is not None:  # free what iterparse already built
                del el.getparent()[0]
            if len(batch) >= 5000:
                db.executemany("INSERT OR IGNORE INTO posts VALUES (?,?,?,?,?,?,?,?,?,?)", batch)
                batch.clear()
    except etree.XMLSyntaxError as exc:
        error = "read_error:truncated" if "end" in str(exc).lower() or "premature" in str(exc).lower() else error_reason(exc)
    except OSError as exc:
        error = error_reason(exc)
    db.executemany("INSERT OR IGNORE INTO posts VALUES (?,?,?,?,?,?,?,?,?,?)", batch)
    db.execute("CREATE INDEX parent_idx ON posts(parent)")
    db.commit()
    return error


def _int(v: str | None) -> int | None:
    return int(v) if v not in (None, "") else None


def _documents(db: sqlite3.Connection, site: str, path: str, settings: ExtractSettings,
               counters: Counter) -> Iterator[dict[str, Any]]:
    for (ptype, n) in db.execute("SELECT type, count(*) FROM posts WHERE type NOT IN (?, ?) GROUP BY type",
                                 (_QUESTION, _ANSWER)):
        counters[f"forum_skipped:posttype_{ptype}"] += n
    (orphans,) = db.execute(
        "SELECT count(*) FROM posts a WHERE a.type = ? AND NOT EXISTS "
        "(SELECT 1 FROM posts q WHERE q.id = a.parent AND q.type = ?)", (_ANSWER, _QUESTION)
    ).fetchone()
    if orphans:
        counters["forum_orphan_answers"] += orphans
    questions = db.execute(
        "SELECT id, accepted, score, date, title, body, tags, license FROM posts WHERE type = ? ORDER BY id",
        (_QUESTION,),
    )
    cur = db.cursor()
    for qid, accepted, score, date, title, body, tags, license_ in questions:
        origin = f"{site}/questions/{qid}"
        answers = cur.execute(
            "SELECT id, score, body, license FROM posts WHERE type = ? AND parent = ? "
            "ORDER BY (id = ?) DESC, score DESC, id", (_ANSWER, qid, accepted or -1),
        ).fetchall()
        meta: dict[str, Any] = {
            "site": site, "question_id": qid, "score": score, "tags": parse_tags(tags),
            "license": license_, "accepted_answer_id": accepted, "title": title,
            "answer_ids": [a[0] for a in answers], "answer_scores": [a[1] for a in answers], "file": path,
        }
        try:
            parts = [title.strip()] if title else []
            q = extract_fragment(body or "", settings)
            markup: Counter = Counter(q.meta.get("math_markup", {}))
            if q.text:
                parts.append(q.text)
            for aid, _, abody, _ in answers:
                a = extract_fragment(abody or "", settings)
                markup.update(a.meta.get("math_markup", {}))
                if a.text:
                    parts.append(("Accepted answer:\n" if aid == accepted else "Answer:\n") + a.text)
        except ExtractTimeout:
            counters["extract_timeout"] += 1
            yield doc_row(SOURCE, origin, 0, None, date=date, meta=meta, reason="extract_timeout")
            continue
        meta["math_markup"] = dict(markup)
        text = "\n\n".join(parts)
        # A question whose body is only an image (common on math sites: a photo of the exercise)
        # still has its title and answers, which hold the math; with neither body nor answers
        # there is only a title.
        has_body = bool(q.text.strip()) or len(parts) > bool(title)
        reason = None if has_body and len(text) >= max(settings.min_chars, 1) else "empty_text"
        yield doc_row(SOURCE, origin, 0, text or None, date=date, meta=meta, reason=reason)
