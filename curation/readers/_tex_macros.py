"""Expand the author's simple macros in a TeX body, since the preamble that defines them is dropped.

A paper writes ``\\R``, ``\\eps`` or ``\\norm{x}`` after ``\\newcommand{\\R}{\\mathbb{R}}`` in its
preamble; once the preamble is gone (books.py drops it, as RedPajama's arXiv recipe does) those
names mean nothing to a model. RedPajama (Together 2023, arXiv cleaning) expands the macros
without arguments; we do that and also macros with arguments when every argument is a braced
group, which covers ``\\norm{x}`` and ``\\abs{f(x)}``. What we cannot expand safely (optional
arguments, ``\\def`` with delimited parameters, unbalanced braces) stays as written.
"""

from __future__ import annotations

import functools
import re

from curation.readers._tex import outside_verbatim

# \newcommand{\R}{...}, \newcommand\R{...}, \renewcommand*, \providecommand, with [n] arguments.
_NEWCOMMAND = re.compile(
    r"\\(?:re|provide)?newcommand\*?\s*(?:\{\s*\\([A-Za-z]+)\s*\}|\\([A-Za-z]+))\s*(?:\[\s*(\d)\s*\])?\s*(\[)?\s*\{"
)
# \def\R{...} and \def\norm#1{...}: only undelimited parameters #1#2..., nothing between them.
_DEF = re.compile(r"\\def\s*\\([A-Za-z]+)\s*((?:#\d)*)\s*\{")
# \DeclareMathOperator{\Tr}{Tr} -> \operatorname{Tr}
_OPERATOR = re.compile(r"\\DeclareMathOperator(\*?)\s*\{\s*\\([A-Za-z]+)\s*\}\s*\{")
MAX_BODY = 2000  # characters of one definition's body; longer ones are environments or programs
MAX_ARG = 1000  # characters of one argument at a use
MAX_MACROS = 500
# Expansion stops when the text would grow beyond this factor (macros that expand to macros).
MAX_GROWTH = 2.0
MAX_PASSES = 3
# Bodies that program rather than denote (internals with @, assignments, expansion control):
# expanding them into prose helps no reader and can break what follows.
_PROGRAM = re.compile(r"@|##|\\(?:let|def|gdef|edef|xdef|csname|expandafter|relax|makeatletter|global|"
                      r"catcode|futurelet|afterassignment)(?![A-Za-z])")
# Names TeX or LaTeX define: an author's \renewcommand of these changes typesetting, not meaning.
_KEEP = frozenset({"begin", "end", "item", "label", "ref", "cite", "section", "subsection", "caption",
                   "maketitle", "title", "author", "date", "thanks", "footnote", "emph", "textbf", "left",
                   "right", "frac", "sqrt", "input", "include", "def", "newcommand", "renewcommand"})


_BRACE = re.compile(r"\\.|[{}]", re.S)


class Braces:
    """Where each ``{`` of a text closes, found in one pass (escaped braces skipped).

    Scanning forward from every use for its closing brace costs O(uses x length) on hostile input
    (100,000 unclosed ``\\norm{``); the table makes each lookup O(1).
    """

    def __init__(self, text: str) -> None:
        self.close: dict[int, int] = {}
        stack: list[int] = []
        for m in _BRACE.finditer(text):
            c = m.group()
            if c == "{":
                stack.append(m.start())
            elif c == "}" and stack:
                self.close[stack.pop()] = m.end()

    def after(self, open_at: int, limit: int) -> int | None:
        """Index just past the ``}`` closing the ``{`` at ``open_at``, if within ``limit`` chars."""
        end = self.close.get(open_at)
        return end if end is not None and end - open_at <= limit + 2 else None


def find_macros(tex: str) -> dict[str, tuple[int, str]]:
    """name -> (number of arguments, body) for the simple definitions in ``tex``; later ones win."""
    macros: dict[str, tuple[int, str]] = {}
    braces = Braces(tex)
    for rx in (_NEWCOMMAND, _DEF, _OPERATOR):
        for m in rx.finditer(tex):
            close = braces.after(m.end() - 1, MAX_BODY)
            if close is None:
                continue
            body = tex[m.end() : close - 1]
            if rx is _NEWCOMMAND:
                name, n_args = m.group(1) or m.group(2), int(m.group(3) or 0)
                if m.group(4):  # an optional argument's default: not a plain substitution
                    continue
            elif rx is _DEF:
                name, n_args = m.group(1), len(m.group(2)) // 2
                if m.group(2) != "".join(f"#{i}" for i in range(1, n_args + 1)):
                    continue
            else:
                name, n_args = m.group(2), 0
                body = f"\\operatorname{m.group(1)}{{{body}}}"
            if name in _KEEP or _PROGRAM.search(body) or _uses_itself(body, name):
                continue
            macros[name] = (n_args, body.strip())
            if len(macros) >= MAX_MACROS:
                return macros
    return macros


def _uses_itself(body: str, name: str) -> bool:
    """A recursive definition (``\\renewcommand{\\x}{\\x'}``) is never expanded."""
    return re.search(rf"\\{re.escape(name)}(?![A-Za-z])", body) is not None


def expand_macros(body: str, macros: dict[str, tuple[int, str]]) -> tuple[str, int]:
    """``body`` with the uses of ``macros`` replaced, outside verbatim-like environments (a
    manual's code examples stay as written); (text, number of uses expanded)."""
    if not macros:
        return body, 0
    names = sorted(macros, key=len, reverse=True)
    use = re.compile(r"\\(" + "|".join(map(re.escape, names)) + r")(?![A-Za-z])")
    expanded = 0

    def rewrite(part: str) -> str:
        nonlocal expanded
        text, n = _expand(part, use, macros)
        expanded += n
        return text

    return outside_verbatim(body, rewrite), expanded


def _expand(body: str, use: re.Pattern, macros: dict[str, tuple[int, str]]) -> tuple[str, int]:
    budget = int(MAX_GROWTH * len(body)) + 1000
    total = 0
    for _ in range(MAX_PASSES):
        text, count = _one_pass(body, use, macros, budget)
        if count == 0 or text is None:
            break
        body, total = text, total + count
    return body, total


# A parameter, and the control word right before it if any: TeX tokenised the body before the
# argument went in, so ``\\textbackslash#1`` with ``foo`` is ``\\textbackslash foo``, not a
# new control word ``\\textbackslashfoo``.
_PARAM = re.compile(r"(\\[A-Za-z]+)?#(\d)")


def _argument(p: re.Match, args: list[str]) -> str:
    n = int(p.group(2))
    arg = args[n - 1] if 0 < n <= len(args) else f"#{n}"
    word = p.group(1) or ""
    return word + (" " if word and arg[:1].isalpha() else "") + arg


def _one_pass(body: str, use: re.Pattern, macros: dict[str, tuple[int, str]], budget: int) -> tuple[str | None, int]:
    out: list[str] = []
    pos = count = size = 0
    braces = Braces(body)
    for m in use.finditer(body):
        if m.start() < pos:
            continue  # inside an argument already consumed
        n_args, template = macros[m.group(1)]
        end, args = m.end(), []
        for _ in range(n_args):
            while end < len(body) and body[end] in " \t":
                end += 1
            close = braces.after(end, MAX_ARG) if end < len(body) and body[end] == "{" else None
            if close is None:
                break
            args.append(body[end + 1 : close - 1])
            end = close
        if len(args) < n_args:
            continue  # an argument that is not a braced group: leave the use as written
        text = _PARAM.sub(functools.partial(_argument, args=args), template) if n_args else template
        out.append(body[pos : m.start()])
        out.append(text)
        size += len(text)
        if size > budget:
            return None, 0
        pos = end
        count += 1
    out.append(body[pos:])
    return "".join(out), count
