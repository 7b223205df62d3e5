"""Readers turn one input file into documents.

A reader is ``read_file(path: str, settings: ExtractSettings, counters: Counter[str]) ->
Iterator[dict]``. Each yielded dict has the keys of ``curation.schema.DOC_SCHEMA`` (``meta`` may
be a dict) plus ``reason``: ``None`` for a document, a short stable string for a rejected record
(``not_html:image/png``, ``undecodable``, ...). A reader never raises on bad input: a record it
cannot parse becomes a rejected row, a file it cannot read becomes one rejected row for the file
(``read_error:<kind>``), and events that are not documents (skipped WARC request records) are
counted in ``counters``.
"""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from curation.extract.settings import ExtractSettings

ReaderFn = Callable[[str, ExtractSettings, Counter], Iterator[dict[str, Any]]]

READER_MODULES: dict[str, str] = {
    "web": "curation.readers.web",
    "books": "curation.readers.books",
    "forums": "curation.readers.forums",
    "code": "curation.readers.code",
}


def get_reader(kind: str) -> ReaderFn:
    if kind not in READER_MODULES:
        raise KeyError(f"no reader for source kind {kind!r}")
    return importlib.import_module(READER_MODULES[kind]).read_file
