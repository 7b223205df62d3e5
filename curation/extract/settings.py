from typing import Literal

from pydantic import Field

from curation.settings_base import Settings

# The Stack's language names are mapped to these keys by curation.readers.code (case-folded).
DEFAULT_CODE_LANGUAGES = [
    "lean", "coq", "isabelle", "agda", "hol light", "metamath", "python", "julia", "r",
    "matlab", "octave", "mathematica", "maxima", "sage", "tex", "jupyter",
]


class ExtractSettings(Settings):
    # Pages over this many bytes are rejected before parsing (Common Crawl truncates at 1 MiB;
    # a page of many MB is almost always a data dump or an attack on the parser).
    max_html_bytes: int = Field(default=5 * 1024 * 1024, gt=0)
    # Per-document wall-clock limit for the HTML extractor, in seconds.
    timeout_seconds: float = Field(default=30.0, gt=0)
    # Documents shorter than this after extraction are rejected as "empty_text".
    min_chars: int = Field(default=1, ge=0)
    # The boilerplate remover run on the math-normalised DOM. resiliparse: DCLM (Li et al. 2024,
    # Sec. 4.2, Table 4) measured its text as good as trafilatura's for pretraining, and here it
    # keeps every DOM formula of the dev crawl's math pages at ~4x the speed (bench/bench_extract.py).
    # trafilatura (favor_recall, with the fallback below) is there for those who prefer it.
    main_content: Literal["resiliparse", "trafilatura"] = "resiliparse"
    # With main_content=trafilatura, extract_html falls back to the normalised DOM's resiliparse text when trafilatura keeps
    # fewer than this share of the page's formulas. trafilatura drops formula-bearing blocks
    # (Sphinx footnotes, API entries it takes for link lists: 1 of 39 formulas on SymPy's
    # units/philosophy.html, 9 of 108 on functions/elementary.html); the target is >= 98%
    # of DOM formulas kept per markup kind, so any page below 0.98 is a loss we do not accept.
    min_math_recall: float = Field(default=0.98, ge=0, le=1)
    # A web page whose text is at least this share code blocks (<pre>, Doxygen's div.fragment;
    # extract_html's meta.code_share) is a source listing (Sphinx viewcode's _modules/ pages,
    # Doxygen's *_source.html): the web reader rejects it as "source_listing" (1.0 keeps them).
    # Code comes in through the code source, with its licence and language. On the dev crawl no
    # math page reaches 0.9; on 17 unseen doc packages (bench/unseen_packages.py rounds 1-2) no
    # math page reaches 0.95, and 9 kept non-math pages do (Eigen, QuTiP), while notebooks
    # rendered as pages stay under (statsmodels' examples: <= 0.91). Round 4 found math pages that
    # do reach it: Macaulay2's manual pages are a paragraph of math ($F_0,\ldots,F_n$ ...) then
    # long session transcripts in <pre> (code_share 0.964-0.995). So a page whose text outside
    # code blocks holds at least listing_prose_formulas formulas is not a listing; a viewcode or
    # Doxygen source page has a title and a menu outside its code, no formulas.
    max_code_share: float = Field(default=0.95, gt=0, le=1)
    listing_prose_formulas: int = Field(default=3, ge=1)
    # Archives (arXiv tarballs, EPUB, .7z dumps): refuse to unpack more than this many bytes in
    # total or this many members, and any member whose compression ratio exceeds the limit
    # (zip-bomb defence; real TeX/XHTML compresses 3-10x, bombs 1000x and more).
    max_archive_bytes: int = Field(default=512 * 1024 * 1024, gt=0)
    max_archive_members: int = Field(default=10_000, gt=0)
    max_compression_ratio: float = Field(default=200.0, gt=1)
    # \input / \include nesting depth followed inside a TeX source (cycles are cut as well).
    max_tex_input_depth: int = Field(default=8, ge=0)
    # Code: languages to keep (see DEFAULT_CODE_LANGUAGES; the default list) and files
    # over this size are rejected as "too_large" (The Stack's own near-dedup drops >1 MB files).
    code_languages: list[str] = Field(default_factory=lambda: list(DEFAULT_CODE_LANGUAGES))
    max_code_bytes: int = Field(default=1024 * 1024, gt=0)
