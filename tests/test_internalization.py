"""Holdout transfer protocol, its recording over training, and the conscience score."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from scalarscope.engine import EngineConfig, ScalarScopeEngine
from scalarscope.engine.internalization import internalization
from scalarscope.engine.records import CycleRecord, History, TrainingMetrics, TransferMeasurement
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


def _history_of(surprises, transfer: TransferMeasurement, template: CycleRecord) -> History:
    """A run whose cycles had these surprises, the last of them measuring ``transfer``."""
    records = [replace(template, cycle=i, status="ok", metrics=TrainingMetrics(surprise=s), transfer=None)
               for i, s in enumerate(surprises)]
    records[-1] = replace(records[-1], transfer=transfer)
    return History(records)


def test_internalization_score_on_hand_made_runs(trained):
    template = trained.history[0]
    measured = TransferMeasurement(cycle=39, holdout="clarity", transfer=0.81, ceiling=0.9, ratio=0.9,
                                   fidelity=0.5, head_mae=0.05, n=100, baseline_mae=0.2)
    # surprise halves from the first 20 cycles to the last 20: settling 0.5; calibration 1 - 0.05/0.2
    verdict = internalization(_history_of([1.0] * 20 + [0.5] * 20, measured, template))
    assert (verdict.transfer, verdict.calibration, verdict.settling) == pytest.approx((0.9, 0.75, 0.5))
    assert verdict.score == pytest.approx(2.15 / 3) and verdict.tier == "INTEGRATING"
    # without a holdout the fidelity stands in; a ratio over 1 and a rising surprise are clipped to [0, 1]
    no_holdout = replace(measured, holdout=None, ratio=1.4, fidelity=0.3)
    verdict = internalization(_history_of([0.5] * 20 + [1.0] * 20, no_holdout, template))
    assert (verdict.transfer, verdict.settling) == pytest.approx((0.3, 0.0)) and verdict.tier == "EMERGING"
    # a component that could not be measured is NaN, never 0, and so is the score
    verdict = internalization(_history_of([float("nan")] * 4, replace(measured, ratio=float("nan"), baseline_mae=0.0),
                                          template))
    assert np.isnan(verdict.score) and verdict.tier == "UNMEASURED"
    assert verdict.missing == ("transfer", "calibration", "settling")
    verdict = internalization(_history_of([1.0] * 20 + [0.5] * 20, replace(measured, baseline_mae=0.0), template))
    assert np.isnan(verdict.score) and verdict.missing == ("calibration",) and verdict.transfer == pytest.approx(0.9)
    empty = internalization(History())
    assert empty.tier == "UNMEASURED" and np.isnan([empty.score, empty.transfer]).all()


def test_the_trained_run_has_settled_and_transfers(trained):
    verdict = internalization(trained.history)
    assert verdict.settling > 0.2 and verdict.transfer > 0.5 and verdict.tier != "NASCENT", verdict


@pytest.mark.parametrize("seed", [0, 4])
def test_the_live_transfer_on_256_fixed_probes_agrees_with_2000_fresh_ones(seed):
    engine = ScalarScopeEngine(evaluators=correlated_evaluators(5, 0.87, seed=seed), holdout="clarity", seed=seed)
    engine.run(150, progress=False)
    live = engine._transfer.summarize(engine._transfer.read(), engine.cycle)
    fresh = engine.holdout_transfer(2000)
    assert live.n == 256 and fresh.transfer > 0.8
    assert abs(live.transfer - fresh.transfer) < 0.03
