"""One helper per job: the consolidated pieces agree with the independent computations they replace."""

from __future__ import annotations

import numpy as np
import pytest

from scalarscope._numeric import frozen_array, sigmoid
from scalarscope.geometry import COLLAPSE_BELOW, dimension_collapsed, normalized_spectra, normalized_spectrum


def test_sigmoid_is_the_logistic_function_and_stable():
    x = np.linspace(-30, 30, 601)
    np.testing.assert_allclose(sigmoid(x), 1.0 / (1.0 + np.exp(-x)), rtol=1e-12, atol=1e-15)
    assert sigmoid(np.array([-1e6, 1e6])).tolist() == [0.0, 1.0]  # no overflow warning, exact ends


def test_one_sigmoid_serves_evaluators_scalar_head_and_onnx():
    from scalarscope.evaluators import correlated_evaluators
    from scalarscope.evaluators.scalar_head import predicted_scores

    judge = correlated_evaluators(2, 0.3, seed=1)[0]
    tokens = judge.token_scores("q", "some answer")
    assert judge("q", "some answer") == sigmoid(tokens.sum())
    values = np.random.default_rng(0).standard_normal((3, 4, 2))
    np.testing.assert_array_equal(predicted_scores(values, np.array([4, 2, 0])),
                                  sigmoid(np.stack([values[0].sum(0), values[1, :2].sum(0), np.zeros(2)])))


def test_frozen_array_is_a_read_only_copy():
    source = [1, 2, 3]
    out = frozen_array(source)
    assert out.dtype == np.float64 and not out.flags.writeable
    with pytest.raises(ValueError):
        out[0] = 5


def test_batched_spectra_equal_the_single_spectrum_row_by_row():
    states = np.random.default_rng(3).standard_normal((7, 16 * 4)) * np.array([5.0, 1.0, 0.5, 0.1] * 16)
    batched = normalized_spectra(states, 4)
    for row, state in zip(batched, states, strict=True):
        np.testing.assert_allclose(row, normalized_spectrum(state.reshape(-1, 4)), atol=1e-12)
    assert np.allclose(batched.sum(1), 1.0)


@pytest.mark.parametrize(("dim", "n", "expected"), [(1.2, 20, True), (1.2, 19, False), (0.0, 50, False),
                                                    (COLLAPSE_BELOW, 50, False), (2.5, 50, False)])
def test_the_collapse_rule(dim, n, expected):
    assert dimension_collapsed(dim, n, 20) is expected


def test_history_shows_itself_in_text_and_html():
    from scalarscope.engine import EngineConfig, ScalarScopeEngine
    from scalarscope.governor import GovernorConfig, TokenPool

    config = EngineConfig(batch_size=4, max_new_tokens=8, probe_batch=2, state_probe_size=4, transfer_every=0)
    pool = TokenPool(GovernorConfig(max_tokens_per_cycle=32, max_tokens_total=1))  # every cycle runs out
    engine = ScalarScopeEngine(seed=0, config=config, token_pool=pool)
    assert repr(engine.history) == "History(0 cycles)"
    engine.run(6, progress=False)
    statuses = [r.status for r in engine.history]
    assert statuses[-1] == "budget_exhausted"
    text = repr(engine.history)
    assert text.startswith(f"History(6 cycles [{statuses.count('ok')} ok, {statuses.count('budget_exhausted')} "
                           "budget_exhausted], cycles 0-5; last mean_score nan")
    html = engine.history._repr_html_()
    assert html.count("<tr>") == 5 and "NaN" in html  # the last 5 cycles; exhausted ones: missing


def test_onnx_session_class_has_its_own_name():
    from scalarscope.engine.conscience import Conscience
    from scalarscope.onnx import OnnxConscience
    from scalarscope.onnx import conscience as onnx_conscience

    assert OnnxConscience is not Conscience and not hasattr(onnx_conscience, "Conscience")


def test_one_evaluator_pca_agrees_with_scikit_learn():
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    from scalarscope.evaluators import analyze_scores
    from scalarscope.geometry import layout_from_scores

    scores = np.random.default_rng(2).standard_normal((400, 5)) @ np.triu(np.full((5, 5), 0.6)) + 0.1
    pca = PCA(n_components=5).fit(StandardScaler().fit_transform(scores))
    eigenvalues = pca.explained_variance_ * (400 - 1) / 400
    reference = (pca.components_[:2] * np.sqrt(eigenvalues[:2])[:, None]).T
    report, layout = analyze_scores(scores, list("abcde")), layout_from_scores(scores)
    np.testing.assert_allclose(report.eigenvalues, eigenvalues, atol=1e-10)
    np.testing.assert_allclose(np.abs(report.loadings), np.abs(reference), atol=1e-10)
    np.testing.assert_array_equal(report.loadings, layout.vectors)
    assert (report.loadings.sum(axis=0) >= 0).all()
