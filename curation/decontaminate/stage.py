"""The decontamination batch stage: reject (or cut) documents that contain benchmark items.

Usable without Spark: give it an index, or a zero-argument loader that returns one (Spark passes
a loader that reads a broadcast variable, so the index is shipped once per executor and not
pickled into every task).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pyarrow as pa

from curation.decontaminate.benchmarks import load_all, resolve_benchmark_dir
from curation.decontaminate.discover import summary
from curation.decontaminate.index import ContaminationIndex, DocMatch, merge_spans
from curation.decontaminate.normalize import tokenize
from curation.decontaminate.settings import DecontaminateSettings
from curation.schema import dumps_meta, loads_meta
from curation.stage import StageOutput, conform, with_column, with_reasons

IndexLoader = Callable[[], ContaminationIndex]
# A line of a long paragraph is cut when at least this many of its tokens matched (10, the
# shortest n-gram rule in use, DeepSeekMath).
SPAN_LINE_MIN_TOKENS = 10


def build_index(settings: DecontaminateSettings, benchmarks_dir: str | None) -> ContaminationIndex:
    # load_all records the specs it infers in the settings it is given: a copy, so that the run's
    # configuration (and the fingerprints of later stages) stays what the user wrote.
    used = settings.model_copy(deep=True)
    skipped: dict[str, str] = {}
    loaded = load_all(
        resolve_benchmark_dir(benchmarks_dir), used, discover_unregistered=settings.discover, skipped=skipped
    )
    index = ContaminationIndex.build(loaded, used)
    # Sets that are in the folder (or registered) but could not be read, and why.
    index.stats["skipped_sets"] = skipped
    # The stats say which sets were read with an inferred (or completed) spec, and how.
    index.stats["inferred_specs"] = {
        name: summary(used.benchmarks[name]) for name in loaded if used.benchmarks[name] != settings.benchmarks.get(name)
    }
    return index


def _match_info(match: DocMatch) -> dict[str, Any]:
    return {
        "benchmark": match.benchmark,
        "item": match.item,
        "hits": match.hits,
        "coverage": round(match.coverage, 3),
        "snippet": match.snippet,
    }


class DecontaminateStage:
    name = "decontaminate"

    def __init__(
        self,
        settings: DecontaminateSettings,
        index: ContaminationIndex | None = None,
        loader: IndexLoader | None = None,
    ) -> None:
        if index is None and loader is None:
            raise ValueError("DecontaminateStage needs an index or a loader")
        self.settings = settings
        self._index = index
        self._loader = loader

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        if self._loader is not None:
            state["_index"] = None  # reloaded from the loader (a broadcast) in the worker
        return state

    @property
    def index(self) -> ContaminationIndex:
        if self._index is None:
            assert self._loader is not None
            self._index = self._loader()
        return self._index

    def remove_spans(self, text: str) -> tuple[str, int, DocMatch | None]:
        """``text`` without the lines matched n-grams cover; (new text, lines removed, residual).

        Tokens are taken line by line here so that each token knows its line; removal repeats
        until no match is left (a removed line can expose nothing new, but an item spread over
        many lines may need more than one pass when spans overlap line ends).
        """
        lines = text.splitlines(keepends=True)
        removed_total = 0
        for _ in range(3):
            tokens: list[str] = []
            line_of: list[int] = []
            for i, line in enumerate(lines):
                toks = tokenize(line)
                tokens.extend(toks)
                line_of.extend([i] * len(toks))
            match = self.index.match_tokens(tokens)
            if match is None:
                return "".join(lines), removed_total, None
            # A line goes when most of it matched, or a whole n-gram's worth of it did: an n-gram
            # across two fields of an item ("...for them? | The discount...") may spill a token
            # or two into the neighbouring line, which must stay.
            matched: Counter[int] = Counter(line_of[t] for a, b in merge_spans(match.spans) for t in range(a, b))
            per_line = Counter(line_of)
            drop = {i for i, k in matched.items() if 2 * k >= per_line[i] or k >= SPAN_LINE_MIN_TOKENS}
            lines = [line for i, line in enumerate(lines) if i not in drop]
            removed_total += len(drop)
        tokens = [t for line in lines for t in tokenize(line)]
        return "".join(lines), removed_total, self.index.match_tokens(tokens)

    def __call__(self, batch: pa.RecordBatch) -> StageOutput:
        docs = conform(batch)
        texts = docs.column("text").to_pylist()
        metas = docs.column("meta").to_pylist()
        reasons: list[str | None] = [None] * docs.num_rows
        new_texts = list(texts)
        num_tokens = docs.column("num_tokens").to_pylist()
        new_metas = list(metas)
        counters: Counter[str] = Counter()
        span_mode = self.settings.mode == "remove-span"
        for row, match in enumerate(self.index.match_many(texts)):
            if match is None:
                continue
            text = texts[row]
            assert text is not None
            info = _match_info(match)
            counters[f"contaminated_docs:{match.benchmark}"] += 1
            if span_mode:
                cut, n_lines, residual = self.remove_spans(text)
                info["removed_lines"] = n_lines
                info["removed_chars"] = len(text) - len(cut)
                if residual is None and len(cut.strip()) >= self.settings.min_chars_after_span:
                    new_texts[row] = cut
                    num_tokens[row] = None  # stale after the cut; the shard stage recounts
                    counters["spans_removed"] += 1
                    counters["span_chars_removed"] += len(text) - len(cut)
                else:
                    reasons[row] = match.reason
            else:
                reasons[row] = match.reason
            meta = loads_meta(metas[row])
            meta["decontaminate"] = info
            new_metas[row] = dumps_meta(meta)
        if span_mode:
            docs = with_column(docs, "text", new_texts)
            docs = with_column(docs, "num_tokens", num_tokens)
        docs = with_column(docs, "meta", new_metas)
        counters["docs_scanned"] += docs.num_rows
        return StageOutput(with_reasons(docs, reasons), counters)
