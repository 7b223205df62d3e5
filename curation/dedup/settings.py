"""Settings of the dedup stage: exact, URL and MinHash-LSH near-duplicate removal.

Bands and rows are derived from the threshold once (``lsh_params``), the way text-dedup's
``optimal_param`` and datasketch's ``MinHashLSH`` do, and printed in folder names the way
datatrove's ``MinhashConfig`` prints ``5ng_14bs_8hs``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from curation.settings_base import Settings


class DedupSettings(Settings):
    # Exact duplicates on normalized text (case folded, whitespace collapsed).
    exact: bool = True
    # URL duplicates (web only) on normalized URLs; the most recent crawl survives.
    url: bool = True
    # MinHash-LSH near duplicates.
    near: bool = True

    # Jaccard similarity of word 5-gram sets above which two documents are near duplicates.
    # 0.8 follows Lee et al. 2022 ("Deduplicating Training Data Makes Language Models Better",
    # Sec. 4.2: MinHash, 5-grams, threshold 0.8), also the default of text-dedup and of
    # DeepSeekMath/MegaMath's web dedup.
    threshold: float = Field(default=0.8, gt=0.0, lt=1.0)
    # 128 permutations is datasketch's default; Lee et al. use 9000 x ... for a full crawl, but
    # with exact Jaccard verification the signature only has to find candidates.
    num_perm: int = Field(default=128, ge=2, le=1024)
    # Word n-gram size of shingles (Lee et al. 2022 and datatrove's MinhashConfig: 5).
    ngram: int = Field(default=5, ge=1, le=32)
    # Text without spaces (Chinese, Japanese) is split into characters, each a token; a document
    # whose tokens are mostly such characters uses this (longer) n-gram size instead, so that a
    # shingle covers about as much text as 5 English words (Chinese words average ~1.5
    # characters: 5 x 1.5 ~ 7-8; we use 5 like text-dedup's character shingles to stay sensitive
    # to short edits).
    char_ngram: int = Field(default=5, ge=1, le=32)
    # Share of single-character (CJK) tokens above which a document uses ``char_ngram``.
    char_token_share: float = Field(default=0.5, ge=0.0, le=1.0)
    seed: int = 1  # datasketch's default seed: signatures equal datasketch's MinHash(seed=1)
    # datasketch 2.0 permutation scheme: "affine32" (its default since 2.0) or "legacy"
    # ((a*h+b) mod 2^61-1, 32 bits kept; what text-dedup and datatrove use).
    scheme: Literal["affine32", "legacy"] = "affine32"
    # Shingle hash: "xxh3" hashes each token once and combines the n token hashes with numpy
    # (fast); "sha1" is datasketch's default ``sha1_hash32`` over the UTF-8 shingle (slow,
    # bit-compatible with ``datasketch.MinHash()`` out of the box).
    hash: Literal["xxh3", "sha1"] = "xxh3"
    # Weights of false positives and false negatives when deriving bands x rows from the
    # threshold (datasketch/text-dedup ``optimal_param``; they default to 0.5/0.5). We weigh
    # misses 9:1 because candidates are verified with the exact Jaccard afterwards: with 128
    # permutations this gives 14 bands x 9 rows and P(candidate | J=0.8) = 0.87 instead of 0.40.
    false_positive_weight: float = Field(default=0.1, ge=0.0)
    false_negative_weight: float = Field(default=0.9, ge=0.0)
    # Explicit bands x rows, bypassing the derivation.
    bands: int | None = Field(default=None, ge=1)
    rows: int | None = Field(default=None, ge=1)
    # Recompute the exact shingle Jaccard of every candidate edge and drop edges below the
    # threshold (NeMo Curator's "false positive check").
    verify: bool = True
    # Connected components: checkpoint every this many large-star/small-star rounds (cuts the
    # lineage), and stop with an error after max_cc_rounds (the algorithm needs O(log^2 n)).
    checkpoint_every: int = Field(default=1, ge=1)
    max_cc_rounds: int = Field(default=40, ge=1)
    # Edge sets up to this size are solved on the driver by union-find (same components, no
    # per-round job overhead; 2M string pairs take ~200 MB of driver memory). 0: always on Spark.
    driver_cc_max_edges: int = Field(default=2_000_000, ge=0)
    # An input of at most this many documents is deduplicated on the driver in one process
    # (curation/dedup/local.py: the same keys and survivor rules), read from the previous stage's
    # Parquet with pyarrow. The Spark path's ~10 jobs (keys, windows, edges, verification,
    # components, each with its Parquet intermediate) cost ~3 s of scheduling: on local[2],
    # 2,000 documents of ~3 KB took 3.3 s on Spark and 0.5 s on the driver, 8,000 took 4.8 and
    # 1.8 s (bench/bench_dedup.py). 20,000 documents hold ~200 MB of text on the driver; a
    # larger input gains from a cluster's cores. 0: always on Spark.
    driver_max_docs: int = Field(default=20_000, ge=0)

    @model_validator(mode="after")
    def _bands_and_rows(self) -> DedupSettings:
        if (self.bands is None) != (self.rows is None):
            raise ValueError("give both dedup.bands and dedup.rows, or neither")
        if self.bands is not None and self.rows is not None and self.bands * self.rows > self.num_perm:
            raise ValueError(
                f"dedup.bands x dedup.rows = {self.bands * self.rows} > num_perm {self.num_perm}"
            )
        return self

    @property
    def lsh_params(self) -> tuple[int, int]:
        """(bands, rows) derived from the threshold unless given (memoized in ``optimal_param``)."""
        if self.bands is not None and self.rows is not None:
            return self.bands, self.rows
        from curation.dedup.lsh_params import optimal_param

        return optimal_param(
            self.threshold, self.num_perm, self.false_positive_weight, self.false_negative_weight
        )

    @property
    def tag(self) -> str:
        """Folder-name form, like datatrove's ``5ng_14bs_8hs``."""
        b, r = self.lsh_params
        return f"{self.ngram}ng_{b}bs_{r}hs_{self.num_perm}p_{self.scheme}_{self.hash}_s{self.seed}"
