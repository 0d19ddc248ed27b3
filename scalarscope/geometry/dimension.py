"""Participation ratio and the windowed effective dimension of a trajectory (numpy only)."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from scalarscope.errors import check_scalar
from scalarscope.geometry._checks import GeometryInputError, as_matrix, global_scale

_CHUNK = 4096  # windows per batched product: bounds memory at CHUNK * window * d floats


def participation_ratio(eigenvalues: np.ndarray) -> float:
    """(sum λ)^2 / sum λ^2 of a spectrum [k]; negative noise is clipped to 0; 0 for an all-zero spectrum.

    Between 1 (one direction) and k (all directions equal).
    """
    values = np.asarray(eigenvalues, dtype=np.float64).ravel()
    if not np.isfinite(values).all():
        raise GeometryInputError(f"eigenvalues must be finite, got {values!r}.")
    values = np.clip(values, 0.0, None)
    peak = values.max(initial=0.0)
    if peak <= 0.0:
        return 0.0
    values = values / peak
    return float(values.sum() ** 2 / np.square(values).sum())


def window_participation(centred: np.ndarray) -> np.ndarray:
    """Participation ratio of the covariance of each centred window: [b, w, d] -> [b].

    Works on the w x w Gram matrix G = X X^T (tr C ∝ tr G, tr C^2 ∝ ||G||_F^2), which is cheaper
    than the d x d covariance when w < d. Rows that are all zero (padding) do not contribute.
    Returns 0 where the window has fewer than two distinct points, else a value >= 1.
    """
    peak = np.abs(centred).max(axis=(1, 2), initial=0.0)
    x = centred / np.where(peak > 0.0, peak, 1.0)[:, None, None]
    gram = np.matmul(x, x.transpose(0, 2, 1))
    trace = np.einsum("bii->b", gram)
    frobenius = np.einsum("bij,bij->b", gram, gram)
    defined = (frobenius > 0.0) & np.isfinite(frobenius)
    ratio = trace**2 / np.where(defined, frobenius, 1.0)
    return np.where(defined, np.maximum(ratio, 1.0), 0.0)


def effective_dimension(states: np.ndarray, window: int = 20) -> np.ndarray:
    """Participation ratio of the covariance of the trailing ``window`` states: [n, d] -> [n].

    Step i uses rows max(0, i-window+1)..i. The value is 0 until the window holds two distinct
    points and >= 1 after. Vectorised over steps with a strided view (no per-step Python loop).
    """
    check_scalar(window, "window", kind=int, min_value=2, hint="The trailing window needs at least 2 states.")
    x = as_matrix(states, "states")
    x = x / global_scale(x)  # the ratio is scale-free; this keeps exploding states finite
    n, d = x.shape
    padded = np.concatenate([np.zeros((window - 1, d)), x])
    windows = sliding_window_view(padded, window, axis=0).transpose(0, 2, 1)  # [n, window, d] view
    offsets = np.arange(window)
    result = np.empty(n)
    for start in range(0, n, _CHUNK):
        stop = min(n, start + _CHUNK)
        steps = np.arange(start, stop)
        valid = (steps[:, None] - (window - 1) + offsets[None, :]) >= 0  # [b, window]
        count = valid.sum(axis=1)
        # Subtract the newest row first (exact), so a window of identical states centres to exactly 0.
        block = (windows[start:stop] - x[start:stop, None, :]) * valid[:, :, None]
        mean = block.sum(axis=1) / count[:, None]
        centred = (block - mean[:, None, :]) * valid[:, :, None]
        result[start:stop] = window_participation(centred)
    return result
