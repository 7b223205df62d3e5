from pydantic import Field

from curation.settings_base import Settings


class ExtractSettings(Settings):
    # Pages over this many bytes are rejected before parsing (Common Crawl truncates at 1 MiB;
    # a page of many MB is almost always a data dump or an attack on the parser).
    max_html_bytes: int = Field(default=5 * 1024 * 1024, gt=0)
    # Per-document wall-clock limit for the HTML extractor, in seconds.
    timeout_seconds: float = Field(default=30.0, gt=0)
    # Documents shorter than this after extraction are rejected as "empty_text".
    min_chars: int = Field(default=1, ge=0)
