"""Safe archive access for tarballs and zip files (EPUB): no path escapes, no decompression bombs.

Members are read into memory only after their names and declared sizes pass the checks, and
reads are capped at the declared size, so a lying header cannot inflate past the budget.
"""

from __future__ import annotations

import posixpath
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from typing import IO

from curation.extract.settings import ExtractSettings


class UnsafeArchive(Exception):
    """The archive breaks a safety rule; ``reason`` is the stable reject reason."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# Below this many inflated bytes a high compression ratio is no bomb (a page of blank lines).
BOMB_FLOOR = 1024 * 1024


def safe_member_name(name: str) -> str | None:
    """Normalised relative path, or None for absolute paths and ``..`` escapes."""
    name = name.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None
    norm = posixpath.normpath(name)
    if norm == ".." or norm.startswith("../") or norm.startswith("/"):
        return None
    return norm


def read_tar(source: str | IO[bytes], settings: ExtractSettings,
             suffixes: tuple[str, ...]) -> tuple[dict[str, bytes], int]:
    """Regular-file members whose name ends with one of ``suffixes``; returns (files, skipped)."""
    files: dict[str, bytes] = {}
    skipped = 0
    for name, data, _ in iter_tar(source, settings, suffixes):
        if data is None:
            skipped += 1
        else:
            files[name] = data
    return files, skipped


def iter_tar(source: str | IO[bytes], settings: ExtractSettings, suffixes: tuple[str, ...],
             alone: Callable[[str], object] | None = None) -> Iterator[tuple[str, bytes | None, str | None]]:
    """(name, bytes, None) of each regular member whose name ends with one of ``suffixes``, one at
    a time (an arXiv bulk tar is read paper by paper); (name, None, why) for a skipped member.

    ``source`` is a path or a binary file object (a paper's tarball inflated from a bulk tar).
    A member whose name escapes the archive root (``../``, absolute) makes the whole archive
    ``archive_path_escape``: no real arXiv tarball has one, so it is hostile. Links and devices are
    skipped (yielded with None). Every regular member's declared size counts toward the budget,
    read or not: a bomb's one huge member is refused at its header, before anything is inflated.
    Members for which ``alone(name)`` holds (the papers of an arXiv bulk tar, each processed and
    dropped before the next is read) are capped one by one instead: a month of arXiv is larger
    than the budget of one paper.
    """
    total = 0
    opened = tarfile.open(source, "r:*") if isinstance(source, str) else tarfile.open(fileobj=source, mode="r:*")
    with opened as tar:
        for i, info in enumerate(tar):
            if i >= settings.max_archive_members:
                raise UnsafeArchive("archive_too_many_members")
            name = safe_member_name(info.name)
            if name is None:
                raise UnsafeArchive("archive_path_escape")
            if not info.isreg():  # symlinks, hard links, devices: never followed
                yield name, None, "archive_link_member"
                continue
            if alone is not None and alone(name):
                if info.size > settings.max_archive_bytes:
                    yield name, None, "archive_too_large"
                    continue
            else:
                total += info.size
                if total > settings.max_archive_bytes:
                    raise UnsafeArchive("archive_too_large")
            if not name.lower().endswith(suffixes):
                continue
            fh = tar.extractfile(info)
            yield name, (None if fh is None else fh.read(info.size)), (None if fh else "archive_unreadable_member")


def open_zip(path: str, settings: ExtractSettings) -> zipfile.ZipFile:
    """Open a zip (EPUB) after checking member names, total size and compression ratios."""
    zf = zipfile.ZipFile(path)
    infos = zf.infolist()
    if len(infos) > settings.max_archive_members:
        zf.close()
        raise UnsafeArchive("archive_too_many_members")
    total = 0
    for info in infos:
        if safe_member_name(info.filename) is None:
            zf.close()
            raise UnsafeArchive("archive_path_escape")
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > BOMB_FLOOR and ratio > settings.max_compression_ratio:
            zf.close()
            raise UnsafeArchive("archive_bomb")
    if total > settings.max_archive_bytes:
        zf.close()
        raise UnsafeArchive("archive_too_large")
    return zf


def read_zip_member(zf: zipfile.ZipFile, name: str, settings: ExtractSettings) -> bytes:
    info = zf.getinfo(name)
    with zf.open(info) as fh:
        data = fh.read(min(info.file_size, settings.max_archive_bytes) + 1)
    if len(data) > info.file_size:
        raise UnsafeArchive("archive_bomb")  # more bytes than declared: a lying header
    return data
