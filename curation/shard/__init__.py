"""Sharding: token counts, the seeded mix, token-budgeted Parquet shards, manifest and verify.

Modules: ``tokenizer`` (offline HF tokenizer, loaded once per process), ``mixing`` (seeded
per-document decisions: copies, order, split, token-target cut), ``stage`` (the batch functions
the Spark stage maps), ``layout`` (shard schema, packing, deterministic shard files),
``manifest`` and ``verify`` (``python -m curation.shard.verify OUTPUT_DIR``). The Spark wiring
is ``curation/spark/shard.py``.
"""
