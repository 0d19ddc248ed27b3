"""Geometry against independent oracles: scikit-learn PCA, numpy eigvalsh, naive loops."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.decomposition import PCA

from scalarscope.errors import ConfigError
from scalarscope.geometry import (
    ANISOTROPY_CAP,
    GeometryInputError,
    GeometryTracker,
    anisotropy,
    curvature,
    effective_dimension,
    layout_from_scores,
    normalized_spectrum,
    participation_ratio,
    pca_2d,
    velocity,
)


def _naive_effective_dimension(states: np.ndarray, window: int) -> np.ndarray:
    out = np.zeros(len(states))
    for i in range(len(states)):
        block = states[max(0, i - window + 1) : i + 1]
        if len(block) < 2:
            continue
        eig = np.linalg.eigvalsh(np.atleast_2d(np.cov(block, rowvar=False)))
        out[i] = participation_ratio(eig) if np.abs(eig).max() > 1e-12 else 0.0
    return out


def _overlap_scores(overlap: float, m: int = 4000, n: int = 5, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shared = rng.standard_normal((m, 1))
    own = rng.standard_normal((m, n))
    return np.sqrt(overlap) * shared + np.sqrt(1.0 - overlap) * own


def test_pca_2d_matches_sklearn_up_to_sign():
    rng = np.random.default_rng(1)
    states = rng.standard_normal((300, 12)) @ rng.standard_normal((12, 12)) + 3.0
    ours = pca_2d(states)
    oracle = PCA(n_components=2).fit(states)
    np.testing.assert_allclose(ours.explained_variance_ratio, oracle.explained_variance_ratio_, rtol=1e-10)
    reference = oracle.transform(states)
    for k in range(2):
        sign = np.sign(ours.coords[:, k] @ reference[:, k])
        np.testing.assert_allclose(ours.coords[:, k], sign * reference[:, k], atol=1e-9)
        np.testing.assert_allclose(ours.components[k], sign * oracle.components_[k], atol=1e-10)
    np.testing.assert_allclose(ours.mean, oracle.mean_, atol=1e-12)


@pytest.mark.parametrize("states", [np.ones((1, 5)), np.full((40, 3), 7.0), np.arange(6.0)[:, None], np.ones((1, 1))])
def test_pca_2d_degenerate_inputs_have_no_nan(states):
    projection = pca_2d(states)
    assert projection.coords.shape == (len(states), 2)
    assert projection.components.shape == (2, states.shape[1])
    for array in (projection.coords, projection.explained_variance_ratio, projection.components):
        assert np.isfinite(array).all()
    if np.ptp(states) == 0:
        assert not projection.coords.any() and not projection.explained_variance_ratio.any()


def test_pca_2d_survives_huge_values_and_rejects_nan():
    states = np.random.default_rng(2).standard_normal((50, 4)) * 1e300
    assert np.isfinite(pca_2d(states).coords).all()
    with pytest.raises(GeometryInputError, match=r"non-finite value at \[0, 1\]"):
        pca_2d(np.array([[0.0, np.nan], [1.0, 2.0]]))
    with pytest.raises(GeometryInputError, match="2-D array"):
        pca_2d(np.arange(5.0))


def test_velocity_and_curvature_of_known_polylines():
    square = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    np.testing.assert_allclose(velocity(square), [[0, 0], [1, 0], [0, 1], [-1, 0]])
    np.testing.assert_allclose(curvature(square), [0.0, 0.0, 0.5, 0.5])
    straight = np.column_stack([np.arange(6.0), 2 * np.arange(6.0)])
    np.testing.assert_allclose(curvature(straight), 0.0, atol=1e-12)
    reversal = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]])
    np.testing.assert_allclose(curvature(reversal), [0.0, 0.0, 1.0])
    pause = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    np.testing.assert_allclose(curvature(pause), 0.0)  # a zero step leaves the angle undefined -> 0
    assert curvature(np.zeros((1, 2))).tolist() == [0.0]


def test_curvature_matches_arccos_in_higher_dimensions():
    coords = np.random.default_rng(3).standard_normal((200, 7))
    steps = np.diff(coords, axis=0)
    cos = np.einsum("ij,ij->i", steps[:-1], steps[1:]) / (
        np.linalg.norm(steps[:-1], axis=1) * np.linalg.norm(steps[1:], axis=1)
    )
    np.testing.assert_allclose(curvature(coords)[2:], np.arccos(np.clip(cos, -1, 1)) / np.pi, atol=1e-9)


def test_participation_ratio():
    assert participation_ratio([1.0, 0.0, 0.0]) == pytest.approx(1.0)
    assert participation_ratio([2.0, 2.0, 2.0, 2.0]) == pytest.approx(4.0)
    assert participation_ratio([0.0, 0.0]) == 0.0
    values = np.array([5.0, 3.0, 1.0, 0.5])
    assert participation_ratio(values) == pytest.approx(values.sum() ** 2 / (values**2).sum())
    assert participation_ratio([1e300, 1e300]) == pytest.approx(2.0)


def test_effective_dimension_matches_naive_windows():
    rng = np.random.default_rng(4)
    states = np.cumsum(rng.standard_normal((120, 6)), axis=0)
    states[50:60] = states[49]  # a pause: constant window parts
    fast = effective_dimension(states, window=8)
    np.testing.assert_allclose(fast, _naive_effective_dimension(states, 8), rtol=1e-8, atol=1e-10)
    assert fast[0] == 0.0 and (fast[1:][fast[1:] > 0] >= 1.0).all()
    assert effective_dimension(np.ones((5, 3))).tolist() == [0.0] * 5
    with pytest.raises(ConfigError, match="window"):
        effective_dimension(states, window=1)


def test_effective_dimension_is_fast_for_long_runs():
    states = np.random.default_rng(5).standard_normal((50_000, 55))
    result = effective_dimension(states, window=20)  # benchmarks/bench_checks.py times it
    assert result.shape == (50_000,) and (result[1:] >= 1.0).all()


def test_normalized_spectrum_matches_eigvalsh_of_cov():
    samples = np.random.default_rng(6).standard_normal((500, 5)) @ np.diag([3.0, 2.0, 1.0, 0.5, 0.1])
    expected = np.sort(np.linalg.eigvalsh(np.cov(samples, rowvar=False)))[::-1]
    np.testing.assert_allclose(normalized_spectrum(samples), expected / expected.sum(), rtol=1e-10)
    assert normalized_spectrum(samples, top=2).sum() == pytest.approx(1.0)
    assert normalized_spectrum(np.ones((10, 3))).tolist() == [0.0, 0.0, 0.0]
    assert normalized_spectrum(np.ones((1, 4))).tolist() == [0.0] * 4
    with_nan = samples.copy()
    with_nan[3, 2] = np.nan
    np.testing.assert_allclose(normalized_spectrum(with_nan), normalized_spectrum(np.delete(samples, 3, axis=0)))


def test_anisotropy_is_finite_and_bounded():
    assert anisotropy([0.35, 0.28, 0.2, 0.12, 0.05]) == pytest.approx(1.25)
    assert anisotropy([1.0, 0.0]) == ANISOTROPY_CAP
    assert anisotropy([0.0, 0.0]) == 1.0
    assert anisotropy([0.5, 0.5]) == 1.0
    assert anisotropy([np.nan, 0.2]) == ANISOTROPY_CAP
    np.testing.assert_allclose(anisotropy(np.array([[0.6, 0.3], [0.9, 0.1]])), [2.0, 9.0])


def test_evaluator_layout_collapses_at_high_overlap_and_spreads_at_zero():
    shared = layout_from_scores(_overlap_scores(0.9))
    assert shared.first_factor_share > 0.85
    angles = np.arctan2(shared.vectors[:, 1], shared.vectors[:, 0])
    assert np.abs(angles).max() < 0.3 and (shared.vectors[:, 0] > 0.9).all()
    orthogonal = layout_from_scores(_overlap_scores(0.0))
    assert orthogonal.first_factor_share < 0.3
    assert np.ptp(np.arctan2(orthogonal.vectors[:, 1], orthogonal.vectors[:, 0])) > 1.0


def test_evaluator_layout_places_heads_in_the_same_frame():
    scores = _overlap_scores(0.5, seed=7)
    heads = scores[:, :2] + 0.01 * np.random.default_rng(8).standard_normal((len(scores), 2))
    layout = layout_from_scores(scores, heads, names=list("abcde"), head_names=["h0", "h1"])
    np.testing.assert_allclose(layout.head_vectors, layout.vectors[:2], atol=0.01)
    corr = np.corrcoef(scores, rowvar=False)
    eig = np.sort(np.linalg.eigvalsh(corr))[::-1]
    np.testing.assert_allclose(layout.explained_variance_ratio, eig[:2] / eig.sum(), rtol=1e-10)
    assert layout.names == tuple("abcde") and layout.head_names == ("h0", "h1")
    single = layout_from_scores(scores[:, :1])
    assert single.vectors.shape == (1, 2) and np.isfinite(single.vectors).all()


def test_tracker_matches_batch_functions():
    states = np.cumsum(np.random.default_rng(9).standard_normal((150, 5)), axis=0)
    tracker = GeometryTracker(window=10)
    frames = [tracker.update(state) for state in states]
    np.testing.assert_allclose([f.velocity for f in frames], velocity(states), atol=1e-12)
    np.testing.assert_allclose([f.speed for f in frames], np.linalg.norm(velocity(states), axis=1))
    np.testing.assert_allclose([f.curvature for f in frames], curvature(states), atol=1e-12)
    np.testing.assert_allclose([f.effective_dim for f in frames], effective_dimension(states, 10), rtol=1e-9)
    np.testing.assert_array_equal(tracker.states, states)
    assert len(tracker) == 150 and frames[-1].cycle == 149
    with pytest.raises(GeometryInputError, match="5"):
        tracker.update(np.zeros(3))


def test_geometry_and_export_import_neither_torch_nor_pandas():
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys, scalarscope.geometry, scalarscope.export, scalarscope.export.cli_validate;"
        "print(sorted(m for m in ('torch', 'pandas', 'sklearn', 'plotly', 'ipywidgets') if m in sys.modules))"
    )
    repo = str(Path(__file__).resolve().parents[1])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=repo, check=True,
                         env={"PYTHONPATH": repo, "PATH": "/usr/bin:/bin"})  # fmt: skip
    assert out.stdout.strip() == "[]"
