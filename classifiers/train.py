"""Train the shipped math classifier on every seed (quantized fastText) and fit its head.

    .venv/bin/python -m classifiers.seeds --corpus ../shared/corpus     # build the seed set
    .venv/bin/python -m classifiers.train --seeds output/classifier/seeds.jsonl \
        [--extra more_seeds.jsonl ...] [--out curation/assets/models/math_classifier.ftz] [--no-head]

``--extra`` adds seed files in the same JSONL shape (``text``, ``label`` math/nonmath, ``source``,
``domain``, ``origin``), e.g. the pages a recall round promoted (classifiers/recall_rounds.py).

The head (curation/filter/math_head.py) is written beside the model as ``<stem>.head.json``. It is
fit on *out-of-fold* fastText scores: every seed is scored by the leave-one-group-out model of
classifiers/evaluate.py that did not see its group (8 extra trainings, or none when
``output/classifier/fold_scores.npz`` already holds them for these seeds), never by the shipped
model, whose in-sample scores are ~0/1.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from classifiers.evaluate import (
    DEFAULT_MODEL,
    HEAD_L2,
    HEAD_SOURCE_WEIGHTS,
    SCORES_CACHE,
    fit_on,
    get_fold_scores,
)
from classifiers.fasttext_model import PARAMS, load_examples, train
from curation.filter.math_classifier import head_path_for
from curation.filter.math_features import FEATURE_NAMES, count_matrix, scoring_window


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=Path, default=Path("output/classifier/seeds.jsonl"))
    ap.add_argument("--extra", type=Path, nargs="*", default=[])
    ap.add_argument("--out", type=Path, default=DEFAULT_MODEL)
    ap.add_argument("--cache", type=Path, default=SCORES_CACHE)
    ap.add_argument("--no-head", action="store_true", help="ship fastText alone (removes an existing head file)")
    args = ap.parse_args(argv)
    examples = load_examples(args.seeds)
    for extra in args.extra:
        examples += load_examples(extra)
    model = train(examples, quantize=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    model.save_model(str(args.out))
    print(f"trained on {len(examples)} examples; wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")
    head_path = head_path_for(args.out)
    if args.no_head:
        head_path.unlink(missing_ok=True)
        return 0
    # nested=True: the same cache then serves classifiers.evaluate (--reuse-scores) without retraining.
    fs = get_fold_scores(examples, args.cache, reuse=True, nested=True)
    y = np.array([e["label"] == "math" for e in examples])
    sources = np.array([e["source"] for e in examples])
    head = fit_on(count_matrix([scoring_window(e["text"]) for e in examples]), fs.single, y, sources, np.arange(len(examples)))
    head.info = {"seeds": len(examples), "fit_on": "out-of-fold fastText scores (leave-one-group-out, 8 groups)",
                 "l2": HEAD_L2, "weights": {"labels": "1:1", "sources": HEAD_SOURCE_WEIGHTS},
                 "fasttext_params": json.loads(json.dumps(PARAMS))}
    head.save(head_path)
    print(f"wrote {head_path}: " + ", ".join(f"{n} {w:+.2f}" for n, w in zip(FEATURE_NAMES, head.weights, strict=True))
          + f", bias {head.bias:+.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
