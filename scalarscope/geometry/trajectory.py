"""The state trajectory: PCA to 2-D, velocity and curvature (numpy only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scalarscope.geometry._checks import as_matrix, global_scale


@dataclass(frozen=True, eq=False)
class Projection:
    """A 2-D PCA of n states of dimension d.

    Attributes:
        coords: [n, 2] centred states projected on the two leading components (state units).
        explained_variance_ratio: [2] share of the total variance along each component (0 if none).
        components: [2, d] unit principal axes (a zero row where the data has no second axis).
        mean: [d] the mean state that was subtracted.
    """

    coords: np.ndarray
    explained_variance_ratio: np.ndarray
    components: np.ndarray
    mean: np.ndarray


def pca_2d(states: np.ndarray) -> Projection:
    """Project ``states`` [n, d] onto its two leading principal components.

    Signs are fixed so that the largest-magnitude loading of each component is positive, which makes
    the result deterministic (scikit-learn's PCA agrees up to a sign per component). Robust to n=1,
    d=1 and constant states: the coordinates are then zero and the ratios zero, never NaN.
    """
    x = as_matrix(states, "states")
    n, d = x.shape
    scale = global_scale(x)
    scaled = x / scale
    mean_scaled = scaled.mean(axis=0)
    centred = scaled - mean_scaled
    # eigh of the d x d scatter matrix: one n*d^2 product, much cheaper than an SVD of the data for
    # n >> d, and accurate for the two leading components that are kept.
    variance, vectors = np.linalg.eigh(centred.T @ centred)
    variance, vt = np.clip(variance[::-1], 0.0, None), vectors[:, ::-1].T
    total = float(variance.sum())
    components = np.zeros((2, d))
    ratio = np.zeros(2)
    kept = min(2, vt.shape[0])
    if total > 0.0:
        components[:kept] = vt[:kept]
        ratio[:kept] = variance[:kept] / total
        components[ratio == 0.0] = 0.0
    signs = np.sign(components[np.arange(2), np.argmax(np.abs(components), axis=1)])
    components *= np.where(signs == 0.0, 1.0, signs)[:, None]
    coords = (centred @ components.T) * scale
    return Projection(coords=coords, explained_variance_ratio=ratio, components=components, mean=mean_scaled * scale)


def velocity(coords: np.ndarray) -> np.ndarray:
    """Step differences of a trajectory: [n, k] -> [n, k], v_0 = 0 and v_i = x_i - x_{i-1}."""
    x = as_matrix(coords, "coords", finite=False)
    steps = np.zeros_like(x)
    steps[1:] = x[1:] - x[:-1]
    return steps


def turning_angle(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Angle between paired vectors [m, k] divided by pi, in [0, 1]; 0 where either is zero.

    Uses 2*atan2(|a-b|, |a+b|) on unit vectors, which stays accurate for tiny and near-reversed
    angles, after scaling by the largest entry so that huge vectors do not overflow.
    """
    scale = np.maximum(np.abs(before).max(axis=1, initial=0.0), np.abs(after).max(axis=1, initial=0.0))
    safe = np.where(scale > 0.0, scale, 1.0)[:, None]
    a, b = before / safe, after / safe
    norm_a = np.sqrt(np.einsum("ij,ij->i", a, a))
    norm_b = np.sqrt(np.einsum("ij,ij->i", b, b))
    defined = (norm_a > 0.0) & (norm_b > 0.0) & np.isfinite(norm_a) & np.isfinite(norm_b)
    unit_a = a / np.where(defined, norm_a, 1.0)[:, None]
    unit_b = b / np.where(defined, norm_b, 1.0)[:, None]
    difference, total = unit_a - unit_b, unit_a + unit_b
    angle = 2.0 * np.arctan2(np.sqrt(np.einsum("ij,ij->i", difference, difference)),
                             np.sqrt(np.einsum("ij,ij->i", total, total)))  # fmt: skip
    return np.where(defined, np.clip(angle / np.pi, 0.0, 1.0), 0.0)


def curvature(coords: np.ndarray) -> np.ndarray:
    """Turning angle between successive velocities, / pi: [n, k] -> [n] in [0, 1].

    curvature[i] is the angle between v_{i-1} and v_i (so a right angle gives 0.5, going straight 0,
    a reversal 1); it is 0 where undefined (the first two steps, or a zero step).
    """
    steps = velocity(coords)
    turning = np.zeros(steps.shape[0])
    if steps.shape[0] > 2:
        turning[2:] = turning_angle(steps[1:-1], steps[2:])
    return turning
