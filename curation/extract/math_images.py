"""The LaTeX that a formula image's URL carries, for math images without a usable alt text.

Forum posts and blogs embed formulas as images rendered on the fly by a LaTeX service, and the
TeX is in the URL: ``latex.codecogs.com/gif.latex?\\frac{a}{b}``, WordPress'
``s0.wp.com/latex.php?latex=x%5E2&bg=ffffff``, Google Charts' ``chart?cht=tx&chl=x^2``, GitHub's
``render/math?math=x^2``, Zhihu's ``equation?tex=x^2``, mimeTeX/mathTeX CGIs. Their alt text is
often empty, or the file name.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, unquote, urlsplit

# Services whose TeX is one named query parameter.
_PARAM_SERVICES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?:^|[/.])wp\.com/latex\.php$|/latex\.php$", re.I), "latex"),
    (re.compile(r"chart\.(?:apis\.)?google(?:apis)?\.com/chart$", re.I), "chl"),
    (re.compile(r"/render/math$", re.I), "math"),
    # Zhihu (and sites that copy its markup): <img src="https://www.zhihu.com/equation?tex=..">.
    (re.compile(r"/equation$", re.I), "tex"),
)
# Services whose whole query string is the TeX (codecogs' ``<format>.latex`` / ``.image`` paths,
# mimeTeX and mathTeX CGIs).
_QUERY_SERVICES = re.compile(r"codecogs\.com/|mimetex(?:\.cgi|\.exe)?$|mathtex\.cgi$|/cgi-bin/latex\.cgi$", re.I)
# codecogs writes spaces as ``&space;`` and puts rendering options first: ``\dpi{120}``,
# ``\inline``, ``\bg_white``, ``\bg{white}``, ``\fn_cm``, ``\large``, ``\color{red}``...
_CODECOGS_SPACE = re.compile(r"&space;|&plus;", re.I)
_RENDER_OPTIONS = re.compile(
    r"^\s*(?:\\(?:dpi|bg|fg|color|fn)\{[^{}]{0,20}\}|\\(?:inline|bg_\w+|fn_\w+|dpi\d+|tiny|small|normal|large|Large|LARGE|"
    r"huge|Huge)\b)\s*"
)
_MAX_TEX = 2000


def tex_from_image_url(src: str | None) -> str | None:
    """The TeX a formula-service URL renders, or None when ``src`` is not such a URL."""
    # Percent-encoding at most triples a formula: a longer URL is no formula (and bounds the work).
    if not src or "?" not in src or len(src) > 4 * _MAX_TEX:
        return None
    parts = urlsplit(src.strip())
    where = f"{parts.netloc}{parts.path}"
    for service, param in _PARAM_SERVICES:
        if service.search(where):
            values = parse_qs(parts.query).get(param)
            return _tidy(values[0]) if values else None
    if _QUERY_SERVICES.search(where):
        query = _CODECOGS_SPACE.sub(lambda m: " " if m.group().lower() == "&space;" else "+", parts.query)
        return _tidy(unquote(query))
    return None


_MAX_OPTIONS = 8


def _tidy(tex: str) -> str | None:
    tex = tex.strip()
    for _ in range(_MAX_OPTIONS):  # a few options lead the formula; bounded whatever the URL holds
        stripped = _RENDER_OPTIONS.sub("", tex, count=1)
        if stripped == tex:
            break
        tex = stripped
    tex = tex.strip()
    return tex if 0 < len(tex) <= _MAX_TEX else None
