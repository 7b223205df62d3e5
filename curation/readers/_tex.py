"""TeX sources: pick the main file, inline \\input/\\include, strip comments; math stays verbatim."""

from __future__ import annotations

import codecs
import posixpath
import re
from collections.abc import Callable

from curation.readers._common import decode_text

_COMMENT = re.compile(r"(?<!\\)((?:\\\\)*)%.*$", re.M)
# The name may not hold braces or backslashes: ``[^}]+`` let every ``\input{`` without a ``}``
# rescan the rest of the file (O(n^2) on hostile input). ``(?![A-Za-z])`` keeps \includegraphics out.
_INPUT = re.compile(
    r"\\(input|include|subfile)(?![A-Za-z])\s*(?:\{([^{}\\\n]{1,1024})\}|([^\s{}\\]+))"
    # The import package: \import{dir/}{file} (dir from the main file's folder), \subimport (from
    # the importing file's); \input inside the imported file is then relative to that dir.
    r"|\\(sub)?(?:import|inputfrom|includefrom)\*?\s*\{([^{}\\\n]{0,1024})\}\s*\{([^{}\\\n]{1,1024})\}"
)
_VERBATIM_BEGIN = re.compile(r"\\begin\{(verbatim\*?|lstlisting|minted|comment)\}")
_BLANK_RUN = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
_DOCCLASS = re.compile(r"^[ \t]*\\(?:documentclass|documentstyle)\b", re.M)
_BEGIN_DOC = re.compile(r"^[ \t]*\\begin\{document\}", re.M)
_END_DOC = re.compile(r"\\end\{document\}")
_PLAIN_BYE = re.compile(r"\\bye\b")
_DOC_MARK = re.compile(r"^[ \t]*\\(begin|end)\{document\}", re.M)
# Before a real \documentclass come only comments and setup (\RequirePackage, \def,
# filecontents): a sectioning command or another environment means the class is in an example.
_BODY_BEFORE = re.compile(r"\\(?:part|chapter|(?:sub)*section|paragraph)\*?\s*[\[{]|\\begin\{(?!filecontents)")
# inputenc options (and the \inputencoding, ``!TEX encoding`` and Emacs ``coding:`` spellings)
# -> Python codecs. latin1 decodes as cp1252, as browsers do for ISO-8859-1 (its 0x80-0x9F are
# controls, which authors' editors filled with cp1252 quotes and dashes).
# (pattern, lives in a comment): a commented-out \usepackage[..]{inputenc} declares nothing.
_DECLARED = (
    (re.compile(rb"\\usepackage\s*\[([^\]\n]{1,80})\]\s*\{inputenc\}"), False),
    (re.compile(rb"\\inputencoding\s*\{([^}\n]{1,20})\}"), False),
    (re.compile(rb"%\s*!TEX\s+encoding\s*=\s*([\w-]{1,20})", re.I), True),
    (re.compile(rb"-\*-.{0,40}?coding:\s*([\w-]{1,20})"), True),
)
_TEX_CODECS = {
    "latin1": "cp1252", "iso-8859-1": "cp1252", "iso8859-1": "cp1252", "ansinew": "cp1252", "cp1252": "cp1252",
    "latin9": "iso8859-15", "latin-9": "iso8859-15", "iso-8859-15": "iso8859-15", "latin2": "iso8859-2",
    "iso-8859-2": "iso8859-2", "latin3": "iso8859-3", "latin4": "iso8859-4", "latin5": "iso8859-9",
    "latin10": "iso8859-16", "cp1250": "cp1250", "cp1251": "cp1251", "cp1257": "cp1257", "cp437": "cp437",
    "cp850": "cp850", "cp852": "cp852", "cp858": "cp858", "cp865": "cp865", "cp866": "cp866",
    "koi8-r": "koi8_r", "koi8-u": "koi8_u", "applemac": "mac_roman", "macce": "mac_latin2",
    "utf8": "utf-8", "utf-8": "utf-8", "latin-1": "cp1252",
}
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


def outside_verbatim(tex: str, rewrite: Callable[[str], str]) -> str:
    """``tex`` with ``rewrite`` applied to the text between verbatim-like environments, which
    stay as written."""
    out, pos = [], 0
    for start, end in _verbatim_spans(tex):
        out.append(rewrite(tex[pos:start]))
        out.append(tex[start:end])
        pos = end
    out.append(rewrite(tex[pos:]))
    return "".join(out)


def strip_comments(tex: str) -> str:
    """Drop ``%`` comments (not ``\\%``), but leave verbatim-like environments untouched."""
    stripped = outside_verbatim(tex, lambda part: _COMMENT.sub(r"\1", part))
    # Comment-only lines leave blank lines behind: collapse runs so paragraphs stay paragraphs.
    return _BLANK_RUN.sub("\n\n", stripped)


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


def resolve_inputs(main: str, files: dict[str, str], max_depth: int,
                   load: Callable[[str], str | None] | None = None) -> tuple[str, dict[str, int]]:
    """Inline \\input/\\include/\\import found in ``files`` (names relative to the archive root).

    ``load`` reads a name that ``files`` lacks (a file on disk beside a single .tex), so nested
    inputs are found however deep, within ``max_depth``. What cannot be inlined stays as the
    command and counts in ``inputs_missing``.
    """
    stats = {"inputs_resolved": 0, "inputs_missing": 0}
    base = posixpath.dirname(main)

    def lookup(ref: str, dirs: tuple[str, ...]) -> str | None:
        ref = ref.strip()
        for cand in (ref, ref + ".tex"):
            for folder in dict.fromkeys(dirs):
                name = posixpath.normpath(posixpath.join(folder, cand))
                if name in files:
                    return name
                text = load(name) if load else None
                if text is not None:
                    files[name] = text
                    return name
        return None

    def expand(name: str, depth: int, seen: tuple[str, ...], here: str) -> str:
        text = strip_comments(files[name])

        def sub(m: re.Match) -> str:
            if m.group(1):  # \input: from the import dir, else the main file's folder or the root
                target_dir, dirs = here, (here, base, "")
            else:  # \import / \subimport: the dir given, from the main file's or the current one
                first, second = (here, base) if m.group(4) else (base, here)
                target_dir = posixpath.normpath(posixpath.join(first, m.group(5)))
                dirs = (target_dir, posixpath.normpath(posixpath.join(second, m.group(5))))
            target = None if depth >= max_depth else lookup(m.group(2) or m.group(3) or m.group(6), dirs)
            if target is None or target in seen:
                stats["inputs_missing"] += 1
                return m.group(0)
            stats["inputs_resolved"] += 1
            return expand(target, depth + 1, (*seen, target), target_dir)

        return _INPUT.sub(sub, text)

    return expand(main, 0, (main,), base), stats


def _mask_verbatim(tex: str) -> str:
    """``tex`` with closed verbatim-like environments blanked (same length, so offsets hold)."""
    parts, pos = [], 0
    for start, end in _verbatim_spans(tex):
        parts.append(tex[pos:start])
        parts.append(" " * (end - start))
        pos = end
    parts.append(tex[pos:])
    return "".join(parts)


def split_document(tex: str) -> tuple[str, str | None]:
    """(body, preamble): the text between \\begin{document} and its \\end{document}, and what
    precedes it (macro setup), or (tex, None) when the file is no whole document.

    Package manuals show whole example documents, in ``verbatim`` or in listing environments of
    their own (``codeexample``, ``LTXexample``, ...). So the preamble is dropped only when
    ``\\documentclass`` opens the file (no sectioning or environment before it: a manual chapter
    whose first ``\\documentclass`` sits in an example keeps all its text), and the body ends at
    the ``\\end{document}`` that balances its ``\\begin{document}``: an example's own pair,
    each at the start of a line, no longer cuts the manual at the example.
    """
    masked = _mask_verbatim(tex)
    d = _DOCCLASS.search(masked)
    b = _BEGIN_DOC.search(masked, d.end()) if d else None
    if not d or not b or _BODY_BEFORE.search(masked, 0, d.start()):  # plain TeX, a chapter, an example
        return tex, None
    depth, end = 1, None
    for m in _DOC_MARK.finditer(masked, b.end()):
        depth += 1 if m.group(1) == "begin" else -1
        if depth == 0:
            end = m.start()
            break
    if end is not None and _BEGIN_DOC.search(masked, end):
        # Another document starts after it: that \end{document} stood alone in an example (a
        # listing of a file's last lines); the file's own end is its last one.
        end = [m for m in _DOC_MARK.finditer(masked, end) if m.group(1) == "end"][-1].start()
    if end is None:  # unbalanced: the last \end{document} anywhere, else the end of the file
        ends = list(_END_DOC.finditer(masked, b.end()))
        end = ends[-1].start() if ends else len(tex)
    return tex[b.end() : end], masked[: b.start()]


def decode_tex(data: bytes) -> tuple[str | None, str]:
    """TeX bytes to text: UTF-8, else the encoding the file declares, else detection, else Latin-1.

    Non-UTF-8 TeX (latin1, cp1250, koi8-r...) says so in ``\\usepackage[..]{inputenc}``;
    detection guesses from a few accented letters in a sea of ASCII markup and misreads them
    (German latin1 files came out as cp775). TeX is mostly ASCII markup: a file detection
    cannot place is still worth its markup and formulas, so it is read as Latin-1 (every byte
    decodes) unless it holds NUL bytes or is mostly non-ASCII (then it is not text).
    """
    if not data.startswith(codecs.BOM_UTF8):
        try:
            return data.decode("utf-8"), "utf-8:default"
        except UnicodeDecodeError:
            pass
        declared = _declared_codec(data)
        # cp1252 leaves five bytes undefined; ISO-8859-1 itself decodes them (as controls).
        for codec in (declared, "latin-1") if declared == "cp1252" else (declared,):
            if codec:
                try:
                    return data.decode(codec), f"{codec}:declared"
                except UnicodeDecodeError:
                    pass
    text, how = decode_text(data)
    if text is not None:
        return text, how
    if b"\0" not in data and len(data.translate(None, bytes(range(128)))) <= 0.3 * len(data):
        return data.decode("latin-1"), "latin-1:fallback"
    return None, how


# Declarations sit in the preamble or the first lines; a bounded head also bounds the work on a
# hostile file (each match looks back to its line start).
_DECLARATION_HEAD = 64 * 1024


def _declared_codec(data: bytes) -> str | None:
    """The codec of the first encoding declaration (a commented-out ``\\usepackage`` is none)."""
    data = data[:_DECLARATION_HEAD]
    for rx, in_comment in _DECLARED:
        for m in rx.finditer(data):
            line = data[data.rfind(b"\n", 0, m.start()) + 1 : m.start()]
            if not in_comment and b"%" in line.replace(b"\\%", b""):
                continue
            for opt in m.group(1).decode("ascii", "ignore").split(","):
                codec = _TEX_CODECS.get(opt.strip().lower())
                if codec:
                    return codec
    return None


def math_counts(tex: str) -> dict[str, int]:
    return {"n_display": len(_DISPLAY.findall(tex)), "n_inline": len(_INLINE.findall(tex))}
