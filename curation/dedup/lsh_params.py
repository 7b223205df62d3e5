"""Bands x rows for MinHash-LSH from a Jaccard threshold.

The same search as datasketch's ``_optimal_param`` and text-dedup's ``optimal_param``: minimise
the weighted area under the S-curve ``1 - (1 - s^r)^b`` below the threshold (false positives)
and above it (false negatives). Integrated with a fixed 1001-point trapezoid instead of scipy's
``quad``, so the choice is the same wherever numpy is (checked against datasketch in tests).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


def candidate_probability(s: float | np.ndarray, bands: int, rows: int) -> float | np.ndarray:
    """Probability that two documents of Jaccard ``s`` share at least one band."""
    return 1.0 - (1.0 - np.power(s, rows)) ** bands


@lru_cache(maxsize=64)
def optimal_param(
    threshold: float, num_perm: int, false_positive_weight: float = 0.5, false_negative_weight: float = 0.5
) -> tuple[int, int]:
    lo = np.linspace(0.0, threshold, 1001)
    hi = np.linspace(threshold, 1.0, 1001)
    best, opt = float("inf"), (1, 1)
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            fp = np.trapezoid(candidate_probability(lo, b, r), lo)
            fn = np.trapezoid(1.0 - candidate_probability(hi, b, r), hi)
            err = fp * false_positive_weight + fn * false_negative_weight
            if err < best:
                best, opt = err, (b, r)
    return opt
