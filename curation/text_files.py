"""Opening text files that may be compressed, and reading JSON Lines one object at a time.

Shared by the code reader (The Stack-style JSONL dumps) and the benchmark loader (JSONL test
sets): both meet the same files in the wild, gzip or zstd compressed, saved with a byte-order
mark, with a truncated or hand-edited line in the middle.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any


class ZstdUnavailable(RuntimeError):
    """pyarrow was built without its zstd codec, so a ``.zst`` file cannot be read."""


def open_text(path: str | Path, *, encoding: str = "utf-8-sig", errors: str = "strict",
              newline: str | None = None) -> IO[str]:
    """The text of a plain, gzip (``.gz``) or zstd (``.zst``) file.

    ``utf-8-sig`` by default: files saved by Windows editors and spreadsheet exports start with a
    byte-order mark, which ``json.loads`` refuses and which would stick to a CSV's first column
    name; without a mark it reads as plain UTF-8.
    """
    lower = str(path).lower()
    if lower.endswith(".zst"):
        import pyarrow as pa

        # pyarrow's codec, not the ``zstandard`` package: pyarrow is a dependency already.
        if not pa.Codec.is_available("zstd"):
            raise ZstdUnavailable(f"pyarrow {pa.__version__} was built without the zstd codec: {path}")
        raw: IO[bytes] = pa.input_stream(str(path), compression="zstd")
    elif lower.endswith(".gz"):
        raw = gzip.open(path, "rb")
    else:
        raw = open(path, "rb")
    return io.TextIOWrapper(raw, encoding=encoding, errors=errors, newline=newline)


@dataclass(frozen=True)
class JsonLine:
    """One non-blank line of a JSON Lines file: its object, or why it has none."""

    number: int
    record: dict[str, Any] | None
    # "not_json" (a truncated or hand-edited line) or "not_object" (a JSON array, string...).
    problem: str | None = None
    # The parser's message ("Expecting value"), or what the line holds instead ("a JSON list").
    detail: str = ""
    # The line's first 200 characters, for an error message.
    excerpt: str = ""


def json_lines(fh: IO[str]) -> Iterator[JsonLine]:
    """Every non-blank line of ``fh``; a bad line costs only itself."""
    for number, line in enumerate(fh, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError as exc:
            yield JsonLine(number, None, "not_json", getattr(exc, "msg", str(exc)), line[:200].strip())
            continue
        if isinstance(rec, dict):
            yield JsonLine(number, rec)
        else:
            yield JsonLine(number, None, "not_object", f"a JSON {type(rec).__name__}", line[:200].strip())
