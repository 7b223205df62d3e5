"""Pure parts of dedup: datasketch-compatible signatures, LSH parameters, tokens and keys."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from datasketch import MinHash
from datasketch.lsh import _optimal_param

from curation.dedup.keys import normalize_url, text_keys
from curation.dedup.lsh_params import optimal_param
from curation.dedup.minhash import band_hashes, signatures
from curation.dedup.settings import DedupSettings
from curation.dedup.shingles import shingle_batch, shingle_hash32, shingles_of, tokenize_one
from curation.dedup.synthetic import seeded_texts

TEXTS = [
    "The quick brown fox jumps over the lazy dog, again and again; and then it sleeps.",
    "短文本没有空格的中文句子，用于测试字符级别的切分方法。",
    "",
    None,
    "one two",
    "Let $x^2 + y^2 = z^2$ and suppose that x, y, z are positive integers. " * 40,
    *seeded_texts(20, seed=7),
]


@pytest.mark.parametrize("scheme", ["affine32", "legacy"])
@pytest.mark.parametrize("hash_name", ["xxh3", "sha1"])
def test_signatures_equal_datasketch(scheme: str, hash_name: str) -> None:
    sb = shingle_batch(pa.array(TEXTS, pa.string()), hash=hash_name)
    sig = signatures(sb, num_perm=128, seed=1, scheme=scheme)
    for i, text in enumerate(TEXTS):
        # sha1: datasketch's own default hash function; xxh3: ours, passed as hashfunc.
        kwargs = {} if hash_name == "sha1" else {"hashfunc": shingle_hash32}
        m = MinHash(num_perm=128, seed=1, scheme=scheme, **kwargs)
        shingles = shingles_of(text or "")
        if shingles:
            m.update_batch([s.encode("utf-8") for s in shingles])
        assert np.array_equal(m.hashvalues.astype(np.uint64), sig[i].astype(np.uint64)), (
            i,
            scheme,
            hash_name,
        )


def test_signatures_other_seed_and_size_and_long_document() -> None:
    long_text = " ".join(f"w{i}" for i in range(30_000))  # more shingles than one block
    texts = [long_text, TEXTS[0]]
    sig = signatures(shingle_batch(pa.array(texts)), num_perm=64, seed=42)
    for i, text in enumerate(texts):
        m = MinHash(num_perm=64, seed=42, hashfunc=shingle_hash32)
        m.update_batch([s.encode() for s in shingles_of(text)])
        assert np.array_equal(m.hashvalues, sig[i])


def test_estimate_tracks_true_jaccard() -> None:
    a = [f"w{i}" for i in range(1000)]
    b = a[:900] + [f"x{i}" for i in range(100)]  # 896 shared 5-grams of 1096 distinct: J ~ 0.82
    sa, sb_ = set(shingles_of(" ".join(a))), set(shingles_of(" ".join(b)))
    true = len(sa & sb_) / len(sa | sb_)
    sig = signatures(shingle_batch(pa.array([" ".join(a), " ".join(b)])), num_perm=256)
    est = float(np.mean(sig[0] == sig[1]))
    assert abs(est - true) < 0.08  # 3 standard errors of a 256-permutation estimate


def test_lsh_params_match_datasketch_and_tag() -> None:
    for args in [(0.8, 128, 0.1, 0.9), (0.8, 128, 0.5, 0.5), (0.7, 256, 0.5, 0.5)]:
        assert optimal_param(*args) == _optimal_param(*args)
    s = DedupSettings()
    assert s.lsh_params == (14, 9)
    assert s.tag.startswith("5ng_14bs_9hs_128p")
    assert DedupSettings(bands=20, rows=5).lsh_params == (20, 5)
    with pytest.raises(ValueError):
        DedupSettings(bands=20)
    with pytest.raises(ValueError):
        DedupSettings(bands=20, rows=10)  # 200 > 128 permutations


def test_band_keys_equal_only_for_equal_bands() -> None:
    sig = np.array([[1, 2, 3, 4], [1, 2, 3, 5], [9, 2, 3, 4]], dtype=np.uint32)
    keys = band_hashes(sig, bands=2, rows=2)
    assert keys[0, 0] == keys[1, 0] and keys[0, 1] != keys[1, 1]
    assert keys[0, 0] != keys[2, 0] and keys[0, 1] == keys[2, 1]


def test_tokens_words_and_cjk_characters() -> None:
    assert tokenize_one("  Hello, World!! x^2+y_1 = 3.5 ") == ["hello", "world", "x", "2", "y", "1", "3", "5"]
    assert tokenize_one("数学 is 很好，ok。") == ["数", "学", "is", "很", "好", "ok"]
    assert tokenize_one("naïve ΑΒΓ—dash\u00a0nbsp") == ["naïve", "αβγ", "dash", "nbsp"]
    assert tokenize_one("") == [] and tokenize_one(" ,; ") == []
    # Chinese uses character 5-grams; short texts give one shingle of everything.
    assert shingles_of("一二三四五六")[:2] == ["一 二 三 四 五", "二 三 四 五 六"]
    assert shingles_of("one two") == ["one two"]


def test_url_and_text_keys() -> None:
    same = [
        "https://www.Example.com:443/a/b/index.html?utm_source=x&b=2&a=1#frag",
        "http://example.com/a/b/?a=1&b=2",
        "https://example.com//a/b?b=2&a=1",
    ]
    assert len({normalize_url(u) for u in same}) == 1
    assert normalize_url("https://example.com/a/c") != normalize_url(same[0])
    assert normalize_url("https://example.com:8080/a") != normalize_url("https://example.com/a")
    assert normalize_url("not a url") is None and normalize_url(None) is None
    k = text_keys(pa.array(["Hello  World\n", "hello world", "hello world!", "", None]))
    assert k[0] == k[1] and k[2] != k[0] and k[3] is None and k[4] is None
