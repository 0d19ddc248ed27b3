"""Participation ratio and the windowed effective dimension of a trajectory (numpy only)."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from scalarscope.errors import check_scalar
from scalarscope.geometry._checks import GeometryInputError, as_matrix, global_scale

_CHUNK = 4096  # windows per batched product: bounds memory at CHUNK * window * d floats
_TINY = 1e-150  # below this, squares of window entries lose precision: rescale those windows


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


def _gram_participation(offsets: np.ndarray, valid: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    gram = np.matmul(offsets, offsets.transpose(0, 2, 1))  # [b, w, w]
    sum_of_squares = np.trace(gram, axis1=1, axis2=2)
    if valid is None:
        row_mean = gram.mean(axis=2)
        centred = gram - row_mean[:, :, None] - row_mean[:, None, :] + row_mean.mean(axis=1)[:, None, None]
    else:  # centre over the valid rows only (H G H with H = I - 1 1^T / count on them)
        weights = valid / valid.sum(axis=1, keepdims=True)
        row_mean = np.einsum("bij,bj->bi", gram, weights)
        total = np.einsum("bi,bi->b", row_mean, weights)
        centred = (gram - row_mean[:, :, None] - row_mean[:, None, :] + total[:, None, None]) * (
            valid[:, :, None] & valid[:, None, :]
        )
    trace = np.trace(centred, axis1=1, axis2=2)
    frobenius = np.square(centred).sum(axis=(1, 2))
    defined = (frobenius > 0.0) & np.isfinite(frobenius) & (trace > 0.0)
    ratio = trace**2 / np.where(defined, frobenius, 1.0)
    return np.where(defined, np.maximum(ratio, 1.0), 0.0), sum_of_squares


def window_participation(offsets: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Participation ratio of the covariance of each window of states: [b, w, d] -> [b].

    ``offsets`` are the window's states minus any one reference state (the covariance does not
    change); ``valid`` [b, w] marks real rows when windows are padded. Works on the w x w Gram
    matrix (tr C ∝ tr HGH, tr C^2 ∝ ||HGH||_F^2), cheaper than the d x d covariance when w < d.
    Returns 0 where the window has fewer than two distinct points, else a value >= 1.
    """
    if valid is not None:
        offsets = offsets * valid[:, :, None]
    result, sum_of_squares = _gram_participation(offsets, valid)
    suspect = np.flatnonzero(sum_of_squares < _TINY**2)  # zero, or so small that squares underflowed
    if suspect.size:  # rare: rescale the windows that are not exactly zero
        peak = np.abs(offsets[suspect]).max(axis=(1, 2), initial=0.0)
        small = suspect[peak > 0.0]
        rescaled = offsets[small] / peak[peak > 0.0][:, None, None]
        result[small] = _gram_participation(rescaled, None if valid is None else valid[small])[0]
    return result


def effective_dimension(states: np.ndarray, window: int = 20) -> np.ndarray:
    """Participation ratio of the covariance of the trailing ``window`` states: [n, d] -> [n].

    Step i uses rows max(0, i-window+1)..i. The value is 0 until the window holds two distinct
    points and >= 1 after. Vectorised over steps with a strided view (no per-step Python loop).
    """
    check_scalar(window, "window", kind=int, min_value=2, hint="The trailing window needs at least 2 states.")
    x = as_matrix(states, "states")
    x = x / global_scale(x)  # the ratio is scale-free; this keeps exploding states finite
    n, d = x.shape
    result = np.zeros(n)
    head = min(n, window - 1)  # the first steps see a partial window: pad and mask them
    if head:
        padded = np.concatenate([np.zeros((window - 1, d)), x[:head]])
        windows = sliding_window_view(padded, window, axis=0).transpose(0, 2, 1)[:head]
        valid = np.arange(head)[:, None] - (window - 1) + np.arange(window)[None, :] >= 0
        result[:head] = window_participation(windows - x[:head, None, :], valid)
    if n >= window:
        windows = sliding_window_view(x, window, axis=0).transpose(0, 2, 1)  # [n - window + 1, window, d]
        for start in range(0, windows.shape[0], _CHUNK):
            stop = min(windows.shape[0], start + _CHUNK)
            newest = x[start + window - 1 : stop + window - 1, None, :]
            # Offsets from the newest row are exact zeros for a window of identical states.
            result[start + window - 1 : stop + window - 1] = window_participation(windows[start:stop] - newest)
    return result


COLLAPSE_BELOW = 1.5  # effective dimension under which a full window counts as collapsed onto ~one axis


def dimension_collapsed(effective_dim: float, n_states: int, window: int) -> bool:
    """The dimension-collapse rule: the trailing ``window`` is full (``n_states >= window``; a window
    of a few states is low-dimensional by construction) and its effective dimension is defined
    (> 0) and under :data:`COLLAPSE_BELOW`."""
    return n_states >= window and 0.0 < effective_dim < COLLAPSE_BELOW
