"""The shard stage's pure batch functions: count tokens, then decide which documents are mixed in.

Scores first, decisions after: ``TokenizeStage`` writes ``num_tokens`` on every document and
rejects only what the weights alone rule out; the token-target cut needs the whole corpus's
histogram, so ``apply_cutoff`` makes that decision in a second, cheap pass.
"""

from __future__ import annotations

from collections import Counter

import pyarrow as pa

from curation.schema import DOC_SCHEMA
from curation.shard import mixing, tokenizer
from curation.shard.settings import ShardSettings
from curation.stage import StageOutput, conform, with_column, with_reasons

EMPTY = "empty_after_tokenization"
NOT_SAMPLED_WEIGHT = "not_sampled:source_weight"
NOT_SAMPLED_TARGET = "not_sampled:token_target"


class TokenizeStage:
    """Fills ``num_tokens``; rejects empty documents and those whose source weight gave 0 copies."""

    name = "shard"

    def __init__(self, settings: ShardSettings) -> None:
        self.settings = settings

    def __call__(self, batch: pa.RecordBatch) -> StageOutput:
        tokenizer.single_threaded()
        docs = conform(batch, DOC_SCHEMA)
        texts = docs.column("text").to_pylist()
        counts = tokenizer.count(texts, self.settings.tokenizer)
        docs = with_column(docs, "num_tokens", pa.array(counts, type=pa.int64()))
        reasons: list[str | None] = []
        counters: Counter[str] = Counter()
        for doc_id, source, n in zip(
            docs.column("id").to_pylist(), docs.column("source").to_pylist(), counts, strict=True
        ):
            if n == 0:
                reasons.append(EMPTY)
            elif mixing.n_copies(doc_id, self.settings.weight(source), self.settings.seed) == 0:
                reasons.append(NOT_SAMPLED_WEIGHT)
            else:
                reasons.append(None)
        counters["tokens_counted"] += sum(counts)
        return StageOutput(with_reasons(docs, reasons), counters)


def bucket_histogram(batch: pa.RecordBatch, settings: ShardSettings) -> dict[int, int]:
    """Tokens per order-key bucket over every copy of the kept documents of ``batch``."""
    hist: Counter[int] = Counter()
    for doc_id, source, n in zip(
        batch.column("id").to_pylist(),
        batch.column("source").to_pylist(),
        batch.column("num_tokens").to_pylist(),
        strict=True,
    ):
        for _, key in mixing.selected_copies(doc_id, source, settings, None):
            hist[mixing.bucket(key)] += n
    return dict(hist)


def apply_cutoff(reasons: list[str | None], ids: list[str | None], sources: list[str | None],
                 settings: ShardSettings, cutoff_bucket: int | None) -> list[str | None]:
    """Reject kept documents none of whose copies falls inside the token target."""
    if cutoff_bucket is None:
        return reasons
    out = []
    for reason, doc_id, source in zip(reasons, ids, sources, strict=True):
        if reason is None and doc_id is not None and not mixing.selected_copies(
            doc_id, source, settings, cutoff_bucket
        ):
            reason = NOT_SAMPLED_TARGET
        out.append(reason)
    return out
