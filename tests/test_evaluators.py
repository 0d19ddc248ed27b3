"""Synthetic evaluators (exact overlap), the evaluator protocol, overlap analysis vs numpy."""

from __future__ import annotations

import numpy as np
import pytest

from scalarscope.errors import EvaluatorError
from scalarscope.evaluators import (
    analyze_overlap,
    analyze_scores,
    as_evaluator,
    correlated_evaluators,
    score_responses,
)
from scalarscope.student import CharTokenizer


@pytest.mark.parametrize("rho", [0.0, 0.5, 0.9])
def test_overlap_knob_is_exact(rho):
    evaluators = correlated_evaluators(5, rho, seed=11)
    tok = CharTokenizer()
    ids = CharTokenizer().sample_probes(2000, 16, np.random.default_rng(5))
    prompts = np.random.default_rng(1).integers(3, tok.vocab_size, size=(2000, 6))
    seq, _ = evaluators.latent.score_batch(list(evaluators), list(prompts), ids, np.full(2000, 16))
    corr = np.corrcoef(seq.T)
    mean = corr[np.triu_indices(5, 1)].mean()
    assert abs(mean - rho) <= 0.05


def test_token_feedback_sums_to_the_sequence_logit():
    judge = correlated_evaluators(3, 0.4, seed=2)[1]
    for response in ["hello world", "a", "the verdict is clear, 42."]:
        tokens = judge.token_scores("rate this answer:", response)
        assert tokens.shape == (len(response),)
        score = judge("rate this answer:", response)
        assert score == pytest.approx(1 / (1 + np.exp(-tokens.sum())), abs=1e-12)


def test_batched_scores_equal_string_calls():
    evaluators = correlated_evaluators(5, 0.6, seed=4)
    tok = CharTokenizer()
    ids = CharTokenizer().sample_probes(20, 10, np.random.default_rng(1))
    lengths = np.arange(1, 21) % 10 + 1
    responses = tok.decode_batch(ids, lengths)
    prompt = "is the claim correct?"
    table = score_responses(evaluators, [prompt] * 20, responses, prompt_ids=[tok.encode(prompt)] * 20,
                            response_ids=ids, lengths=lengths)
    for i, e in enumerate(evaluators):
        expected = [e(prompt, r) for r in responses]
        np.testing.assert_allclose(table.sequence[:, i], expected, atol=1e-12)


def test_plain_callables_are_wrapped_and_failures_recorded():
    def length_judge(prompt, response):
        return min(len(response) / 10, 1.0)

    def sometimes_nan(prompt, response):
        return float("nan") if "x" in response else 0.5

    table = score_responses([as_evaluator(length_judge), as_evaluator(sometimes_nan)], ["p"] * 3,
                            ["abc", "xyz", "abcdefghijkl"])
    np.testing.assert_allclose(table.sequence[:, 0], [0.3, 0.3, 1.0])
    assert table.valid[:, 1].tolist() == [True, False, True]
    assert table.failures[0][0] == "sometimes_nan"
    with pytest.raises(EvaluatorError, match="needs a name"):
        as_evaluator(lambda p, r: 0.5)
    with pytest.raises(EvaluatorError, match="not callable"):
        as_evaluator(42)


def test_overlap_analysis_matches_numpy():
    scores = np.random.default_rng(0).standard_normal((500, 4)) @ np.array(
        [[1, 0.8, 0.5, 0], [0, 0.6, 0.5, 0.2], [0, 0, 0.7, 0.3], [0, 0, 0, 0.9]])
    report = analyze_scores(scores, list("abcd"))
    corr = np.corrcoef(scores.T)
    eig = np.linalg.eigvalsh(corr)[::-1]
    np.testing.assert_allclose(report.correlation, corr, atol=1e-12)
    assert report.mean_correlation == pytest.approx(corr[np.triu_indices(4, 1)].mean())
    assert report.first_factor_share == pytest.approx(eig[0] / 4)
    assert report.effective_dimension == pytest.approx(eig.sum() ** 2 / (eig**2).sum())
    np.testing.assert_allclose(np.abs(report.loadings[:, 0]), np.abs(np.linalg.eigh(corr)[1][:, -1]) * np.sqrt(eig[0]),
                               atol=1e-9)


def test_overlap_verdicts_follow_the_knob():
    orthogonal = analyze_overlap(correlated_evaluators(5, 0.0, seed=1), n_probes=2000)
    shared = analyze_overlap(correlated_evaluators(5, 0.87, seed=1), n_probes=2000)
    assert abs(orthogonal.mean_correlation) < 0.05 and orthogonal.first_factor_share < 0.3
    assert orthogonal.verdict == "no shared structure"
    assert shared.mean_correlation == pytest.approx(0.87, abs=0.05) and shared.first_factor_share > 0.85
    assert shared.verdict == "shared structure"
