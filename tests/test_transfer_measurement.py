"""Transfer on named distributions with its uncertainty and two ceilings; missing, not zero."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import KFold, cross_val_predict

from scalarscope.engine import EngineConfig, ScalarScopeEngine
from scalarscope.engine import transfer_stats as ts
from scalarscope.errors import ConfigError, MeasurementWarning
from scalarscope.evaluators import as_evaluator, correlated_evaluators
from scalarscope.evaluators.scalar_head import safe_corr
from scalarscope.worlds.default import build_default_world

SMALL = EngineConfig(batch_size=16, transfer_every=0)


@pytest.fixture(scope="module")
def trained():
    engine = build_default_world(overlap=0.87, seed=0, holdout="clarity", config=SMALL)
    engine.run(40, progress=False)
    return engine


# -- the statistics against independent oracles --------------------------------------------------

def test_bootstrap_interval_equals_a_numpy_loop_over_the_same_resamples():
    rng = np.random.default_rng(3)
    a = rng.normal(size=120)
    b = 0.6 * a + rng.normal(size=120)
    low, high = ts.bootstrap_interval(a, b, np.random.default_rng(9), resamples=400)
    index = np.random.default_rng(9).integers(120, size=(400, 120))  # the same draws, resampled pair by pair
    values = [np.corrcoef(a[i], b[i])[0, 1] for i in index]
    assert (low, high) == pytest.approx(tuple(np.percentile(values, [2.5, 97.5])), abs=1e-12)
    assert low < np.corrcoef(a, b)[0, 1] < high


@pytest.mark.parametrize("n", [103, 400])
def test_best_linear_ceiling_equals_sklearn_cross_validated_least_squares(n):
    rng = np.random.default_rng(n)
    features = rng.normal(size=(n, 4))
    target = features @ np.array([1.0, 0.2, 0.0, -0.5]) + rng.normal(size=n)
    oracle = cross_val_predict(LinearRegression(), features, target, cv=KFold(5))
    np.testing.assert_allclose(ts.out_of_fold_predictions(features, target), oracle, atol=1e-10)
    assert ts.best_linear_ceiling(features, target) == pytest.approx(np.corrcoef(oracle, target)[0, 1], abs=1e-12)
    # the best linear predictor beats the equal-weight mean when the weights are unequal
    assert ts.best_linear_ceiling(features, target) > np.corrcoef(features.mean(1), target)[0, 1]


def test_permutation_p_is_small_for_a_real_relation_and_uniform_for_noise():
    rng = np.random.default_rng(0)
    a = rng.normal(size=200)
    assert ts.permutation_p(a, 0.5 * a + rng.normal(size=200), rng) == pytest.approx(1 / 1001)
    p_values = [ts.permutation_p(rng.normal(size=40), rng.normal(size=40), rng, resamples=199) for _ in range(300)]
    assert stats.kstest(p_values, "uniform").pvalue > 0.01
    assert 0.02 < np.mean(np.array(p_values) <= 0.05) < 0.09


# -- missing, not zero ----------------------------------------------------------------------------

def test_safe_corr_of_constant_or_too_few_values_is_nan_with_a_warning():
    with pytest.warns(MeasurementWarning, match="is constant over 5 values"):
        assert math.isnan(safe_corr(np.ones(5), np.arange(5.0)))
    with pytest.warns(MeasurementWarning, match="only 2 finite pair"):
        assert math.isnan(safe_corr([1.0, 2.0, np.nan], [1.0, 3.0, 2.0]))
    a = np.random.default_rng(1).normal(size=(50, 2))
    assert safe_corr(a[:, 0], a[:, 1]) == pytest.approx(np.corrcoef(a[:, 0], a[:, 1])[0, 1], abs=1e-12)


def test_an_untrained_engine_measures_nan_transfer_with_a_warning():
    engine = build_default_world(overlap=0.87, seed=0, holdout="clarity", config=SMALL)
    with pytest.warns(MeasurementWarning, match="holdout transfer .* not measured: the internal evaluator's"):
        measured = engine.holdout_transfer(200)
    assert math.isnan(measured.transfer) and math.isnan(measured.fidelity) and math.isnan(measured.ratio)
    assert math.isnan(measured.ci_low) and math.isnan(measured.p_null)
    assert 0.8 < measured.ceiling < 1.0 and 0.8 < measured.best_ceiling < 1.0  # the judges still agree


def test_a_constant_held_out_judge_gives_nan_transfer_and_ceilings():
    evaluators = [*correlated_evaluators(3, 0.5, seed=0), as_evaluator(lambda prompt, response: 0.5, name="flat")]
    engine = ScalarScopeEngine(evaluators=evaluators, holdout="flat", seed=0, config=SMALL)
    engine.run(3, progress=False)
    with pytest.warns(MeasurementWarning, match="the held-out evaluator's score is constant"):
        measured = engine.holdout_transfer(100)
    for name in ("transfer", "ceiling", "best_ceiling", "ratio", "ci_low", "ci_high", "p_null"):
        assert math.isnan(getattr(measured, name)), name
    assert np.isfinite(measured.fidelity)


def test_the_cli_summary_says_not_measured_instead_of_zero():
    from scalarscope.engine.summary import summary_text
    from scalarscope.governor import GovernorConfig, TokenPool

    pool = TokenPool(GovernorConfig(max_tokens_per_cycle=1))
    engine = ScalarScopeEngine(evaluators=correlated_evaluators(5, 0.87, seed=0), holdout="clarity", seed=0,
                               token_pool=pool, config=SMALL)
    engine.run(3, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the summary reads the warnings itself
        text = summary_text(engine)
    line = next(row for row in text.splitlines() if row.startswith("holdout transfer"))
    assert "not measured (the internal evaluator's prediction" in line and "0.000" not in line
    assert "mean score (training evaluators)" in text and "not measured" in text.splitlines()[1]


# -- named distributions ----------------------------------------------------------------------------

def test_policy_and_text_probes_carry_every_field(trained):
    policy = trained.holdout_transfer(500, probes="policy")
    texts = ["the answer is right.", "it is not clear at all", "a fair point, well made", "no", "yes, because",
             "maybe later?", "this needs more detail", "short", "an excellent, careful reply", "wrong"] * 3
    chosen = trained.holdout_transfer(probes=texts)
    for measured, name, n in ((policy, "policy", 500), (chosen, "texts", 30)):
        assert measured.distribution == name and measured.n == n
        assert measured.ci_low <= measured.transfer <= measured.ci_high
        assert 1 / 1001 <= measured.p_null <= 1.0
        assert -1.0 <= measured.best_ceiling <= 1.0 and np.isfinite(measured.ceiling)
    random = trained.holdout_transfer(500, seed=3)
    assert random.distribution == "random" and random.p_null == pytest.approx(1 / 1001)
    # fixed seed: the same probes and resamples, the same numbers
    assert trained.holdout_transfer(500, probes="policy", seed=4) == trained.holdout_transfer(500, probes="policy",
                                                                                               seed=4)


def test_text_probes_the_tokenizer_cannot_encode_are_refused_by_name(trained):
    with pytest.raises(ConfigError, match=r"probes\[1\] .*cannot be encoded by the student's tokenizer.*'é'"):
        trained.holdout_transfer(probes=["fine", "café", "also fine"])
    with pytest.raises(ConfigError, match="'random', 'policy' or a sequence of response texts"):
        trained.holdout_transfer(probes="natural")
    with pytest.raises(ConfigError, match="at least 3"):
        trained.holdout_transfer(probes=["a", "b"])


def test_the_automatic_measurement_keeps_both_ceilings_and_skips_the_resampling():
    engine = build_default_world(overlap=0.87, seed=0, holdout="clarity",
                                 config=EngineConfig(batch_size=16, transfer_every=10))
    engine.run(11, progress=False)
    first, second = engine.history.transfers
    assert math.isnan(first.transfer) and np.isfinite(first.best_ceiling)  # cycle 0: untrained head
    assert np.isfinite(second.transfer) and np.isfinite(second.best_ceiling)
    assert math.isnan(second.ci_low) and math.isnan(second.p_null)
    assert {"distribution", "best_ceiling", "ci_low", "ci_high", "p_null"} <= set(engine.history.transfer_frame())


@pytest.mark.slow
def test_random_probe_transfer_is_tight_and_beyond_the_null_at_overlap_087():
    """The issue's figure: default world, overlap 0.87, 300 cycles, seed 0 (holdout clarity, 2000 probes)."""
    engine = build_default_world(overlap=0.87, seed=0, holdout="clarity")
    engine.run(300, progress=False)
    measured = engine.holdout_transfer(2000)
    print(f"transfer {measured.transfer:.4f} [{measured.ci_low:.4f}, {measured.ci_high:.4f}], "
          f"p_null {measured.p_null:.4f}, fidelity {measured.fidelity:.4f}, ceiling {measured.ceiling:.4f}, "
          f"best ceiling {measured.best_ceiling:.4f}")
    assert measured.transfer - 0.03 <= measured.ci_low <= measured.transfer <= measured.ci_high <= \
        measured.transfer + 0.03
    assert measured.p_null < 0.01


def test_the_distributions_section_reads_both_distributions_and_the_product_rule():
    import pandas as pd

    from scalarscope.reports.distributions import distributions_section

    rng = np.random.default_rng(0)
    rows = []
    for overlap, level in ((0.0, 0.0), (0.87, 0.9)):
        for seed in range(5):
            fidelity, ceiling = 0.98 + 0.01 * rng.random(), level + 0.01 * rng.random()
            rows.append({"overlap": overlap, "seed": seed, "holdout": f"e{seed}", "mean_correlation": overlap,
                         "transfer": fidelity * ceiling + 0.001 * seed, "fidelity": fidelity, "ceiling": ceiling,
                         "best_ceiling": ceiling, "transfer_ci_low": 0.0, "transfer_ci_high": 0.02,
                         "transfer_p_null": 0.001, "policy_transfer": -0.5 if overlap == 0 else 0.8,
                         "policy_ci_low": -0.6, "policy_ci_high": 0.9, "policy_p_null": 0.5,
                         "policy_fidelity": 0.5, "policy_ceiling": 0.4, "policy_best_ceiling": 0.45})
    df = pd.DataFrame(rows)
    text = distributions_section(df, probes=2000)
    runs = df[df.ceiling >= 0.1]
    gap = (runs.transfer - runs.fidelity * runs.ceiling).abs()
    assert f"is {gap.mean():.4f} on average (largest {gap.max():.4f})" in text
    assert "**Path A on random probes (overlap 0, 5 runs): holds.**" in text
    assert "**Path A on policy samples (overlap 0, 5 runs): does not hold.**" in text  # |-0.5| > 0.1
    assert "| 0.87 | policy samples | 5 | 0, 1, 2, 3, 4 | 0.800 ± 0.000 |" in text
    assert "- Overlap 0, random probes: 5 of 5 runs' transfers are beyond the permutation null" in text
    assert "- Overlap 0.87, policy samples: 0 of 5 runs' transfers are beyond" in text
