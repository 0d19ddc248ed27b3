"""Holdout transfer protocol, its recording over training, and the conscience score."""

from __future__ import annotations

import numpy as np
import pytest

from scalarscope.engine import EngineConfig, ScalarScopeEngine
from scalarscope.engine.conscience import TIERS, conscience
from scalarscope.engine.records import History
from scalarscope.evaluators import correlated_evaluators


@pytest.fixture(scope="module")
def trained():
    engine = ScalarScopeEngine(evaluators=correlated_evaluators(5, 0.87, seed=2), holdout="clarity", seed=2,
                               config=EngineConfig(transfer_every=40, transfer_probes=400))
    engine.run(160, progress=False)
    return engine


def test_transfer_is_recorded_every_k_cycles_and_rises(trained):
    transfers = trained.history.transfers
    assert [t.cycle for t in transfers] == [0, 40, 80, 120]
    assert np.isnan(transfers[0].transfer)  # cycle 0: an untrained head predicts one value: not measured, not 0
    assert transfers[-1].transfer > 0.8 and all(t.distribution == "random" for t in transfers)
    frame = trained.history.transfer_frame()
    assert list(frame.cycle) == [0, 40, 80, 120]


def test_ceiling_equals_numpy_on_the_evaluators_own_scores(trained):
    measured = trained.holdout_transfer(n=1500, seed=5)
    # recompute the ceiling independently from the evaluators, on the same probe responses
    rng = np.random.default_rng([5, 4])
    tok = trained.tokenizer
    ids = tok.sample_probes(1500, trained.config.probe_length, rng)
    prompt_index = rng.integers(len(trained.prompts), size=1500)
    responses = tok.decode_batch(ids, np.full(1500, ids.shape[1]))
    scores = np.array([[e(trained.prompts[p], r) for e in trained.evaluators]
                       for p, r in zip(prompt_index, responses, strict=True)])
    ceiling = np.corrcoef(scores[:, :4].mean(1), scores[:, 4])[0, 1]
    assert measured.ceiling == pytest.approx(ceiling, abs=1e-9)
    assert 0.8 < measured.ceiling < 1.0
    assert measured.transfer > 0.8 and measured.ratio == pytest.approx(measured.transfer / measured.ceiling)


def test_conscience_is_built_from_measurements(trained):
    verdict = conscience(trained.history)
    assert 0.0 <= verdict.score <= 1.0
    assert verdict.score == pytest.approx(np.mean([verdict.transfer, verdict.calibration, verdict.settling]))
    last = trained.history.transfers[-1]
    assert verdict.transfer == pytest.approx(min(max(last.ratio, 0), 1))
    assert verdict.tier == next(name for bound, name in TIERS if verdict.score >= bound)
    assert conscience(History()).tier == "UNMEASURED"


@pytest.mark.parametrize("seed", [0, 4])
def test_the_live_transfer_on_256_fixed_probes_agrees_with_2000_fresh_ones(seed):
    engine = ScalarScopeEngine(evaluators=correlated_evaluators(5, 0.87, seed=seed), holdout="clarity", seed=seed)
    engine.run(150, progress=False)
    live = engine._transfer.summarize(engine._transfer.read(), engine.cycle)
    fresh = engine.holdout_transfer(2000)
    assert live.n == 256 and fresh.transfer > 0.8
    assert abs(live.transfer - fresh.transfer) < 0.03
