"""The uncertainty and the second ceiling of a transfer measurement (numpy only).

* :func:`bootstrap_interval`: percentile 95 % interval of a correlation over resampled probes
  (the probes are the sampling unit; pairs are resampled together), all resamples at once.
* :func:`permutation_p`: two-sided permutation p-value of a correlation against the held-out
  scores shuffled over probes, ``(k + 1) / (B + 1)`` with ``k`` the shuffles at least as strong,
  so it is never 0.
* :func:`best_linear_ceiling`: the correlation of the held-out score with the out-of-fold
  prediction of a least-squares fit (with intercept) from the training evaluators' scores,
  ``FOLDS``-fold cross-validation on contiguous folds. The equal-weight ceiling is one fixed
  predictor from the same scores; this one is the best linear predictor, estimated honestly.

A statistic that cannot be computed (too few probes, a constant side) is NaN.
"""

from __future__ import annotations

import math

import numpy as np

RESAMPLES = 1000  # bootstrap resamples and permutations
FOLDS = 5


def _row_corr(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row pair of ``x`` and ``y`` [B, n]: [B] (NaN where a row is constant)."""
    x = x - x.mean(1, keepdims=True)
    y = y - y.mean(1, keepdims=True)
    denom = np.sqrt((x * x).sum(1) * (y * y).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 1e-24, (x * y).sum(1) / np.where(denom > 0, denom, 1.0), np.nan)


def bootstrap_interval(a: np.ndarray, b: np.ndarray, rng: np.random.Generator, *,
                       resamples: int = RESAMPLES, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval (``level``) of corr(a, b) over ``resamples`` bootstrap resamples of the pairs.

    Resample ``r`` draws ``rng.integers(n, size=(resamples, n))[r]``; its correlation is computed from
    how often each pair was drawn (a [resamples, n] count matrix times the pairs' moments), which
    equals the correlation of the resampled pairs without building them."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    n = len(a)
    if n < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return math.nan, math.nan
    index = rng.integers(n, size=(resamples, n))
    counts = np.bincount((index + n * np.arange(resamples)[:, None]).ravel(), minlength=resamples * n)
    a, b = (a - a.mean()) / a.std(), (b - b.mean()) / b.std()  # conditioning only: correlation is invariant
    sums = counts.reshape(resamples, n).astype(np.float64) @ np.column_stack([a, b, a * a, b * b, a * b]) / n
    mean_a, mean_b, aa, bb, ab = sums.T
    var_a, var_b = aa - mean_a**2, bb - mean_b**2
    with np.errstate(invalid="ignore", divide="ignore"):
        values = (ab - mean_a * mean_b) / np.sqrt(var_a * var_b)
    values = values[np.isfinite(values) & (var_a > 1e-12) & (var_b > 1e-12)]
    if not len(values):
        return math.nan, math.nan
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def permutation_p(a: np.ndarray, b: np.ndarray, rng: np.random.Generator, *, resamples: int = RESAMPLES) -> float:
    """Two-sided permutation p-value of corr(a, b) against ``b`` shuffled, ``(k + 1) / (B + 1)``."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return math.nan
    a, b = a - a.mean(), b - b.mean()
    scale = np.sqrt((a * a).sum() * (b * b).sum())  # unchanged by shuffling b
    observed = abs(a @ b) / scale
    shuffled = rng.permuted(np.broadcast_to(b, (resamples, len(b))), axis=1)
    k = int((np.abs(shuffled @ a) / scale >= observed - 1e-12).sum())
    return (k + 1) / (resamples + 1)


def out_of_fold_predictions(features: np.ndarray, target: np.ndarray, *, folds: int = FOLDS) -> np.ndarray:
    """Least-squares (with intercept) predictions of ``target`` [n] from ``features`` [n, k], each
    probe predicted by the fit on the other folds (contiguous, as scikit-learn's unshuffled KFold)."""
    features, target = np.asarray(features, dtype=np.float64), np.asarray(target, dtype=np.float64)
    n = len(target)
    design = np.column_stack([np.ones(n), features.reshape(n, -1)])
    predictions = np.empty(n)
    sizes = np.full(folds, n // folds) + (np.arange(folds) < n % folds)
    start = 0
    for size in sizes:
        test = np.zeros(n, dtype=bool)
        test[start:start + size] = True
        coef, *_ = np.linalg.lstsq(design[~test], target[~test], rcond=None)
        predictions[test] = design[test] @ coef
        start += size
    return predictions


def best_linear_ceiling(features: np.ndarray, target: np.ndarray, *, folds: int = FOLDS) -> float:
    """corr(out-of-fold least-squares prediction from ``features`` [n, k], ``target`` [n]); NaN when
    there are fewer than two probes per fold or the target is constant."""
    target = np.asarray(target, dtype=np.float64)
    if len(target) < 2 * folds or np.ptp(target) == 0:
        return math.nan
    predicted = out_of_fold_predictions(features, target, folds=folds)
    return float(_row_corr(predicted[None], target[None])[0])
