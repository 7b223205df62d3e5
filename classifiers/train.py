"""Train the shipped math classifier on every seed and quantize it.

    .venv/bin/python -m classifiers.seeds --corpus ../shared/corpus     # build the seed set
    .venv/bin/python -m classifiers.train --seeds output/classifier/seeds.jsonl \
        [--extra more_seeds.jsonl ...] [--out curation/assets/models/math_classifier.ftz]

``--extra`` adds seed files in the same JSONL shape (``text``, ``label`` math/nonmath, ``source``,
``domain``, ``origin``), e.g. the pages a recall round promoted (classifiers/recall_rounds.py).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from classifiers.evaluate import DEFAULT_MODEL
from classifiers.fasttext_model import load_examples, train


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=Path, default=Path("output/classifier/seeds.jsonl"))
    ap.add_argument("--extra", type=Path, nargs="*", default=[])
    ap.add_argument("--out", type=Path, default=DEFAULT_MODEL)
    args = ap.parse_args(argv)
    examples = load_examples(args.seeds)
    for extra in args.extra:
        examples += load_examples(extra)
    model = train(examples, quantize=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    model.save_model(str(args.out))
    print(f"trained on {len(examples)} examples; wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
