"""Settings of the shard stage: tokenizer, mixing, shard sizes.

The defaults write shards a trainer can open with no further configuration: the shipped DeepSeek-V4
tokenizer (a bilingual English/Chinese byte-level BPE made for math and code), 1M-token shards,
row groups of at most 1,000 documents, and 0.5% of documents held out for validation.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from curation.settings_base import Settings


class ShardSettings(Settings):
    # Path to a Hugging Face `tokenizers` JSON file (``tokenizer.json`` or ``tokenizer.json.gz``).
    # None means the one shipped in curation/assets/tokenizer/deepseek-v4/. Point this at your
    # model's own tokenizer.json so that num_tokens and input_ids match what the model trains on.
    tokenizer: str | None = None
    # Name of the end-of-document token recorded in the manifest for trainers that pack documents
    # (None: the first special token the tokenizer knows among the usual EOS names).
    eos_token: str | None = None
    # Token budget of one shard. Every shard but the last of each split lands within the budget
    # plus or minus the largest document (documents are never cut), so keep the budget well above
    # the longest document; 1M tokens is a few MB of zstd Parquet. At most 2**30 so that a
    # shard's input_ids fit Arrow's 32-bit list offsets.
    tokens_per_shard: int = Field(default=1_000_000, gt=0, le=2**30)
    # Bounded row groups let a reader stream a shard one group at a time.
    max_rows_per_row_group: int = Field(default=1_000, gt=0)
    # zstd level of the shard files; 3 is zstd's own default (good speed/size trade-off).
    zstd_level: int = Field(default=3, ge=1, le=22)
    # Copies of each source's documents in the mix, e.g. {"books": 2.0, "forums": 1.5, "web": 0.5}.
    # A weight w gives floor(w) copies plus one more with probability frac(w) (decided by a seeded
    # hash of the id, so reruns agree). Upsampling high-quality books and forums a few epochs is
    # common practice (the Pile, Gao et al. 2020, Table 1: 1.5-2.5 epochs for its books sets and 2
    # for Stack Exchange). Missing sources have weight 1.0; 0 drops a source.
    weights: dict[str, float] = Field(default_factory=dict)
    # Stop once the weighted mix reaches this many tokens (None: keep everything). The choice is
    # made on hash buckets, so the result overshoots by at most one bucket (1/65536 of the mix).
    token_target: int | None = Field(default=None, gt=0)
    # Seeds the shuffle, the weight sampling and the validation split.
    seed: int = 20251123
    # Fraction of documents (with all their copies) held out as validation shards. A choice, not
    # a published number: 0.5% of a 100B-token corpus is ~0.5B tokens, ample for a loss curve.
    validation_fraction: float = Field(default=0.005, ge=0.0, lt=1.0)
    # Write a pre-tokenized ``input_ids`` column (list<int32>) beside the text.
    write_input_ids: bool = True

    @field_validator("weights")
    @classmethod
    def _non_negative(cls, weights: dict[str, float]) -> dict[str, float]:
        from curation import SOURCES

        for source, weight in weights.items():
            if source not in SOURCES:
                raise ValueError(f"unknown source {source!r} in weights (known: {', '.join(SOURCES)})")
            if weight < 0:
                raise ValueError(f"weight of {source!r} is negative")
        return weights

    def weight(self, source: str) -> float:
        return self.weights.get(source, 1.0)
