"""TeX sources: pick the main file, inline \\input/\\include, strip comments; math stays verbatim."""

from __future__ import annotations

import posixpath
import re

_COMMENT = re.compile(r"(?<!\\)((?:\\\\)*)%.*$", re.M)
# The name may not hold braces or backslashes: ``[^}]+`` let every ``\input{`` without a ``}``
# rescan the rest of the file (O(n^2) on hostile input). ``(?![A-Za-z])`` keeps \includegraphics out.
_INPUT = re.compile(r"\\(input|include|subfile)(?![A-Za-z])\s*(?:\{([^{}\\\n]{1,1024})\}|([^\s{}\\]+))")
_VERBATIM_BEGIN = re.compile(r"\\begin\{(verbatim\*?|lstlisting|minted|comment)\}")
_BLANK_RUN = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
_DOCCLASS = re.compile(r"^[ \t]*\\(?:documentclass|documentstyle)\b", re.M)
_BEGIN_DOC = re.compile(r"^[ \t]*\\begin\{document\}", re.M)
_END_DOC = re.compile(r"\\end\{document\}")
_PLAIN_BYE = re.compile(r"\\bye\b")
_DISPLAY = re.compile(r"\\begin\{(equation|align|gather|multline|eqnarray|displaymath|math)\*?\}|\\\[|\$\$")
_INLINE = re.compile(r"(?<![\\$])\$(?!\$)[^$]+?(?<!\\)\$|\\\(")


def _verbatim_spans(tex: str) -> list[tuple[int, int]]:
    """(start, end) of each closed verbatim-like environment, found in linear time.

    A regex ``\\begin{env}.*?\\end{env}`` rescans the rest of the file for every unclosed
    ``\\begin`` (O(n^2): 50k unclosed ``\\begin{comment}`` take minutes). Here an environment
    name whose ``\\end`` is missing after some point is never searched for again.
    """
    spans: list[tuple[int, int]] = []
    unclosed: set[str] = set()
    pos = 0
    while True:
        m = _VERBATIM_BEGIN.search(tex, pos)
        if m is None:
            return spans
        env = m.group(1)
        end = -1 if env in unclosed else tex.find(f"\\end{{{env}}}", m.end())
        if end < 0:
            unclosed.add(env)
            pos = m.end()
            continue
        end += len(env) + 6  # len("\\end{}") == 6
        spans.append((m.start(), end))
        pos = end


def strip_comments(tex: str) -> str:
    """Drop ``%`` comments (not ``\\%``), but leave verbatim-like environments untouched."""
    out, pos = [], 0
    for start, end in _verbatim_spans(tex):
        out.append(_COMMENT.sub(r"\1", tex[pos:start]))
        out.append(tex[start:end])
        pos = end
    out.append(_COMMENT.sub(r"\1", tex[pos:]))
    # Comment-only lines leave blank lines behind: collapse runs so paragraphs stay paragraphs.
    return _BLANK_RUN.sub("\n\n", "".join(out))


def find_main(files: dict[str, str]) -> str | None:
    """The file with \\documentclass and \\begin{document}; ties go to the shallowest, largest."""
    cands = [n for n, t in files.items() if _DOCCLASS.search(t) and _BEGIN_DOC.search(t)]
    if not cands:
        cands = [n for n, t in files.items() if _BEGIN_DOC.search(t) or _PLAIN_BYE.search(t)]
    if not cands:
        cands = list(files)
    if not cands:
        return None
    return sorted(cands, key=lambda n: (n.count("/"), -len(files[n]), n))[0]


def resolve_inputs(main: str, files: dict[str, str], max_depth: int) -> tuple[str, dict[str, int]]:
    """Inline \\input/\\include found in ``files`` (names relative to the archive root)."""
    stats = {"inputs_resolved": 0, "inputs_missing": 0}
    base = posixpath.dirname(main)

    def lookup(ref: str) -> str | None:
        ref = ref.strip()
        for cand in (ref, ref + ".tex"):
            for name in (posixpath.normpath(posixpath.join(base, cand)), posixpath.normpath(cand)):
                if name in files:
                    return name
        return None

    def expand(name: str, depth: int, seen: tuple[str, ...]) -> str:
        text = strip_comments(files[name])

        def sub(m: re.Match) -> str:
            ref = m.group(2) or m.group(3)
            target = lookup(ref)
            if target is None or target in seen or depth >= max_depth:
                stats["inputs_missing"] += 1
                return m.group(0)
            stats["inputs_resolved"] += 1
            return expand(target, depth + 1, (*seen, target))

        return _INPUT.sub(sub, text)

    return expand(main, 0, (main,)), stats


def document_body(tex: str) -> tuple[str, bool]:
    """The text between \\begin{document} and \\end{document} (the preamble is macro setup)."""
    b = _BEGIN_DOC.search(tex)
    d = _DOCCLASS.search(tex)
    if not b or not d or d.start() > b.start():  # plain TeX, or \begin{document} in an example
        return tex, False
    e = _END_DOC.search(tex, b.end())
    return tex[b.end() : e.start() if e else len(tex)], True


def math_counts(tex: str) -> dict[str, int]:
    return {"n_display": len(_DISPLAY.findall(tex)), "n_inline": len(_INLINE.findall(tex))}
