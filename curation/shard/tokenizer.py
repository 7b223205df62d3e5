"""Token counting with a Hugging Face ``tokenizers`` model that loads from a local file.

The tokenizer is loaded lazily, once per process and path, so a stage that holds only the path
pickles cheaply to Spark executors. ``encode_batch`` runs in Rust; inside a Spark task we keep it
to one thread (``TOKENIZERS_PARALLELISM=false``) because Spark already runs one task per core.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from tokenizers import Tokenizer

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "tokenizer"
DEFAULT_TOKENIZER = ASSETS / "deepseek-v4" / "tokenizer.json.gz"
# Usual names of the end-of-document token, tried in order when the config names none.
EOS_CANDIDATES = ("<｜end▁of▁sentence｜>", "<|endoftext|>", "</s>", "<|end_of_text|>", "<eos>", "<|im_end|>")


class TokenizerError(Exception):
    """The configured tokenizer cannot be loaded or lacks what the stage needs."""


def resolve_path(path: str | None) -> Path:
    return DEFAULT_TOKENIZER if path is None else Path(path).expanduser()


@dataclass(frozen=True)
class LoadedTokenizer:
    tokenizer: Tokenizer
    path: Path
    sha256: str  # of the JSON text (decompressed), so .json and .json.gz of one model agree
    vocab_size: int

    def eos(self, name: str | None = None) -> tuple[str | None, int | None]:
        for candidate in [name] if name else EOS_CANDIDATES:
            token_id = self.tokenizer.token_to_id(candidate)
            if token_id is not None:
                return candidate, token_id
        if name:
            raise TokenizerError(f"eos_token {name!r} is not in the tokenizer {self.path}")
        return None, None


def load(path: str | None = None) -> LoadedTokenizer:
    """Load once per process; ``.json.gz`` is accepted so the shipped model stays small in git."""
    return _load(str(resolve_path(path)))


@lru_cache(maxsize=4)
def _load(resolved: str) -> LoadedTokenizer:
    file = Path(resolved)
    if not file.is_file():
        raise TokenizerError(f"tokenizer file not found: {file}")
    raw = file.read_bytes()
    if file.suffix == ".gz":
        raw = gzip.decompress(raw)
    try:
        tok = Tokenizer.from_str(raw.decode("utf-8"))
    except Exception as err:  # tokenizers raises a bare Exception on malformed JSON
        raise TokenizerError(f"{file} is not a Hugging Face tokenizers JSON file: {err}") from None
    return LoadedTokenizer(tok, file, hashlib.sha256(raw).hexdigest(), tok.get_vocab_size(with_added_tokens=True))


def single_threaded() -> None:
    """One tokenizer thread per Spark task: Spark already fills every core with tasks."""
    os.environ["TOKENIZERS_PARALLELISM"] = "false"


def encode(texts: list[str | None], path: str | None = None) -> list[list[int]]:
    """Token ids of each text without special tokens (the trainer adds EOS between documents)."""
    tok = load(path).tokenizer
    present = [t for t in texts if t]
    encoded = iter(tok.encode_batch_fast(present, add_special_tokens=False)) if present else iter(())
    return [next(encoded).ids if t else [] for t in texts]


def count(texts: list[str | None], path: str | None = None) -> list[int]:
    """Like ``encode`` but only the lengths (no Python lists of ids are built)."""
    tok = load(path).tokenizer
    present = [t for t in texts if t]
    lengths = iter([len(e) for e in tok.encode_batch_fast(present, add_special_tokens=False)] if present else [])
    return [next(lengths) if t else 0 for t in texts]
