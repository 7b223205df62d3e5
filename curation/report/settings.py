from pydantic import Field

from curation.settings_base import Settings


class ReportSettings(Settings):
    # Random kept and dropped documents shown per source (seeded, so reruns show the same ones).
    samples_per_source: int = Field(default=5, ge=0)
    seed: int = 20251123
    # Sample texts are cut to this many characters in the HTML (the ids lead to the full rows).
    sample_chars: int = Field(default=600, gt=0)
    # math_score is a probability: equal-width bins over [0, 1].
    math_score_bins: int = Field(default=20, gt=0)
    # Lengths and token counts span orders of magnitude: log10-spaced bins from 1 to 10**max.
    length_bins: int = Field(default=24, gt=0)
    length_log10_max: float = Field(default=7.0, gt=0)
    # Reasons carrying an argument ("near_duplicate_of:<id>") are grouped by the part before ':'
    # in the drop-reason table, except these prefixes whose argument names a category worth
    # keeping apart (the benchmark in "contaminated:gsm8k").
    keep_reason_argument_for: list[str] = Field(default_factory=lambda: ["contaminated"])
