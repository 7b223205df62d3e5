"""Flatten layout tables before trafilatura sees them.

Hevea (giac), texinfo and old hand-written pages lay out display math and code listings as
single-row or nested tables; trafilatura drops such tables (measured: every Xcas input/output pair
of the giac manual disappeared). A table that is nested in another one, has a single row, or is
marked as a display by class is not tabular data, so it becomes one paragraph of its text. Real
data tables (two or more rows, not nested) are left to trafilatura's table handling.
"""

from __future__ import annotations

import re

from lxml import etree

_LAYOUT_CLASS = re.compile(r"(^|\s)(display|dcenter|lstframe|lstlisting|equation|eqn|math)(\s|$)", re.I)
_WS = re.compile(r"[ \t\r\f\v\u00a0\u2000-\u200b]+")


def _rows(table: etree._Element) -> list[etree._Element]:
    return [r for r in table.iter("tr") if _owner(r) is table]


def _owner(el: etree._Element) -> etree._Element | None:
    for anc in el.iterancestors("table"):
        return anc
    return None


def _cell_text(cell: etree._Element) -> str:
    return _WS.sub(" ", "".join(cell.itertext())).strip()


def flatten_layout_tables(root: etree._Element) -> int:
    """Replace layout tables by paragraphs of their text (innermost first); return how many."""
    tables = list(root.iter("table"))
    n = 0
    for table in reversed(tables):
        parent = table.getparent()
        if parent is None:
            continue
        nested = _owner(table) is not None
        rows = _rows(table)
        if not (nested or len(rows) <= 1 or _LAYOUT_CLASS.search(table.get("class") or "")):
            continue
        lines = []
        for row in rows or [table]:
            cells = [c for c in row if isinstance(c.tag, str) and c.tag.lower() in ("td", "th")] or [row]
            line = " ".join(t for t in (_cell_text(c) for c in cells) if t)
            if line:
                lines.append(line)
        new = etree.Element("p")
        new.text = " ".join(lines) if nested else "\n".join(lines)
        new.tail = table.tail
        parent.replace(table, new)
        n += 1
    return n
