from pydantic import Field

from curation.settings_base import Settings


class FilterSettings(Settings):
    languages: list[str] = Field(default_factory=lambda: ["en", "zh"])
    # fastText lid.176 probability below which the language is treated as unknown.
    min_lang_score: float = Field(default=0.5, ge=0.0, le=1.0)
    # Gopher (Rae et al. 2021, Table A1) keeps documents of 50-100,000 words.
    min_words: int = Field(default=50, ge=0)
    max_words: int = Field(default=100_000, gt=0)
