"""Eigenvalue spectra of evaluator scores and their anisotropy (numpy only)."""

from __future__ import annotations

import numpy as np

from scalarscope.errors import check_scalar
from scalarscope.geometry._checks import as_matrix, global_scale

ANISOTROPY_CAP = 1000.0
"""Upper bound of :func:`anisotropy`, reached when λ2 is (numerically) zero."""


def normalized_spectrum(samples: np.ndarray, top: int = 5) -> np.ndarray:
    """Eigenvalues of the covariance of the columns of ``samples`` [m, k], normalised: -> [min(top, k)].

    The eigenvalues are clipped at 0, sorted descending, the leading ``top`` kept and divided by
    their sum, so the result sums to 1 (with k <= top, as for the five default evaluators, these are
    exact shares of the total variance). Rows holding a non-finite value are dropped. When fewer
    than two rows remain or the columns do not vary, the result is all zeros: a degenerate spectrum
    is reported as such, and the exporter decides how to write it.
    """
    check_scalar(top, "top", kind=int, min_value=1)
    x = as_matrix(samples, "samples", finite=False)
    x = x[np.isfinite(x).all(axis=1)]
    size = min(top, x.shape[1])
    if x.shape[0] < 2:
        return np.zeros(size)
    x = x / global_scale(x)
    centred = x - x.mean(axis=0)
    covariance = centred.T @ centred / (x.shape[0] - 1)
    eigenvalues = np.clip(np.linalg.eigvalsh(covariance), 0.0, None)[::-1][:size]
    total = eigenvalues.sum()
    return eigenvalues / total if total > 0.0 else np.zeros(size)


def normalized_spectra(states: np.ndarray, n_heads: int, top: int = 5) -> np.ndarray:
    """:func:`normalized_spectrum` of every state at once: ``states`` [n, S * H], each reshaped to
    [S, H] samples of ``n_heads`` columns -> [n, min(top, H)] (vectorised; one ``eigvalsh`` call).

    Equal to ``normalized_spectrum(state.reshape(-1, n_heads), top)`` row by row for finite states;
    a state holding a non-finite value gives a non-finite row (the exporter marks it degenerate).
    """
    check_scalar(n_heads, "n_heads", kind=int, min_value=1)
    check_scalar(top, "top", kind=int, min_value=1)
    x = np.asarray(states, dtype=np.float64).reshape(len(states), -1, n_heads)
    x = x - x.mean(axis=1, keepdims=True)
    cov = np.einsum("nsh,nsk->nhk", x, x) / max(x.shape[1] - 1, 1)
    eig = np.clip(np.linalg.eigvalsh(cov), 0.0, None)[:, ::-1][:, :top]
    total = eig.sum(axis=1, keepdims=True)
    return np.divide(eig, total, out=np.zeros_like(eig), where=total > 0)


def anisotropy(spectrum: np.ndarray) -> float | np.ndarray:
    """λ1/λ2 of a spectrum [k] (or of each row of [n, k]), a finite number in [1, ANISOTROPY_CAP].

    This is the ratio the viewer's own samples write (0.35/0.28 -> 1.25). It is 1 for an all-zero or
    uniform spectrum and ANISOTROPY_CAP when λ2 is zero (or below λ1/ANISOTROPY_CAP). Values are
    sorted descending first; negative and non-finite entries count as 0.
    """
    values = np.asarray(spectrum, dtype=np.float64)
    rows = np.atleast_2d(values)
    rows = np.sort(np.where(np.isfinite(rows), np.clip(rows, 0.0, None), 0.0), axis=1)[:, ::-1]
    first = rows[:, 0]
    second = rows[:, 1] if rows.shape[1] > 1 else np.zeros(rows.shape[0])
    ratio = np.where(second * ANISOTROPY_CAP > first, first / np.where(second > 0.0, second, 1.0), ANISOTROPY_CAP)
    ratio = np.where(first > 0.0, np.clip(ratio, 1.0, ANISOTROPY_CAP), 1.0)
    return float(ratio[0]) if values.ndim <= 1 else ratio
