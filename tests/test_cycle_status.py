"""Missing, not zero (issue 17 item 4): a cycle that optimised nothing records NaN for what it did
not optimise, and its status says why (``scalarscope.engine.records.STATUSES``)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from scalarscope.engine import EngineConfig, ScalarScopeEngine
from scalarscope.engine.records import STATUSES
from scalarscope.evaluators import correlated_evaluators

SMALL = EngineConfig(batch_size=8, max_new_tokens=8, probe_batch=4, state_probe_size=8, transfer_every=0)
LOSS_TERMS = ("loss", "policy_loss", "head_loss", "entropy", "grad_norm", "kl")


class _Switchable:
    """A training evaluator that, once ``broken`` is set, returns NaN or raises on every response."""

    def __init__(self, inner, mode: str):
        self.name, self._inner, self._mode, self.broken = inner.name, inner, mode, False

    def __call__(self, prompt: str, response: str) -> float:
        if not self.broken:
            return self._inner(prompt, response)
        if self._mode == "raise":
            raise RuntimeError("judge is down")
        return float("nan")


def _snapshot(engine) -> tuple[dict, dict]:
    params = {k: v.detach().clone() for k, v in engine.model.state_dict().items()}
    state = {(i, k): v.clone() for i, s in engine.optimizer.state_dict()["state"].items() for k, v in s.items()}
    return params, state


def _assert_unchanged(before, after) -> None:
    for part_before, part_after in zip(before, after, strict=True):
        assert part_before.keys() == part_after.keys()
        for key, value in part_before.items():
            assert torch.allclose(value, part_after[key], rtol=0, atol=0, equal_nan=True), key


@pytest.mark.parametrize("mode", ["nan", "raise"])
def test_all_training_evaluators_failing_takes_no_step(mode):
    judges = correlated_evaluators(3, 0.5, seed=0)
    wrapped = [_Switchable(judges[0], mode), _Switchable(judges[1], mode), judges[2]]
    engine = ScalarScopeEngine(evaluators=wrapped, holdout=judges[2].name, seed=0, config=SMALL)
    engine.run(3, progress=False)
    before = _snapshot(engine)
    for judge in wrapped[:2]:
        judge.broken = True
    record = engine.step()
    _assert_unchanged(before, _snapshot(engine))  # no optimiser step, no optimiser state change
    assert record.status == "evaluators_failed"
    for term in (*LOSS_TERMS, "critic_loss", "mean_score", "surprise"):
        assert math.isnan(getattr(record.metrics, term)), term
    assert np.isfinite(record.metrics.scores[judges[2].name])  # the holdout still measured
    assert record.state.shape == engine.history[0].state.shape and np.isfinite(record.state).all()
    for judge in wrapped[:2]:  # the run goes on when they come back
        judge.broken = False
    assert engine.step().status == "ok"


def test_non_finite_loss_records_nan_and_diverged_not_zero_and_ok():
    engine = ScalarScopeEngine(seed=0, config=SMALL)
    engine.run(2, progress=False)
    with torch.no_grad():  # a poisoned scalar head: its loss (and so the total) is NaN
        engine.model.scalar_head.weight[0, 0] = float("nan")
    before = _snapshot(engine)
    record = engine.step()
    _assert_unchanged(before, _snapshot(engine))
    assert record.status == "diverged"
    assert all(math.isnan(getattr(record.metrics, term)) for term in LOSS_TERMS)
    assert [f.category for f in record.failures if f.severity == "critical"] == ["divergence"]


def test_non_finite_gradient_records_nan_grad_norm_and_diverged():
    engine = ScalarScopeEngine(seed=0, config=SMALL)
    engine.run(2, progress=False)
    hook = engine.model.policy_head.weight.register_hook(lambda grad: grad * float("inf"))
    before = _snapshot(engine)
    record = engine.step()
    hook.remove()
    _assert_unchanged(before, _snapshot(engine))
    assert record.status == "diverged"
    assert math.isnan(record.metrics.grad_norm)
    assert math.isfinite(record.metrics.loss)  # the loss was computed; it was not applied
    assert any("non-finite gradient" in f.description for f in record.failures)


def test_every_cycle_with_a_critical_divergence_says_so_in_its_status():
    engine = ScalarScopeEngine(seed=0, config=SMALL.replace(learning_rate=1e6))
    engine.run(12, progress=False)
    statuses = [r.status for r in engine.history]
    assert "diverged" in statuses
    for record in engine.history:
        critical = any(f.category == "divergence" and f.severity == "critical" for f in record.failures)
        assert (record.status == "diverged") == critical
        if not math.isfinite(record.metrics.loss):  # skipped: every loss term missing, none zero
            assert all(math.isnan(getattr(record.metrics, term)) for term in LOSS_TERMS)
    assert set(statuses) <= set(STATUSES)


def test_statuses_survive_the_frame_and_the_desktop_export(tmp_path):
    from scalarscope.export import load_geometry, validate_geometry

    judges = correlated_evaluators(3, 0.5, seed=0)
    wrapped = [_Switchable(judges[0], "nan"), _Switchable(judges[1], "nan"), judges[2]]
    engine = ScalarScopeEngine(evaluators=wrapped, holdout=judges[2].name, seed=0, config=SMALL)
    engine.run(2, progress=False)
    for judge in wrapped[:2]:
        judge.broken = True
    engine.step()
    with torch.no_grad():
        for judge in wrapped[:2]:
            judge.broken = False
        engine.model.scalar_head.weight[0, 0] = float("nan")
    engine.step()
    frame = engine.history.to_frame()
    assert frame.status.tolist() == ["ok", "ok", "evaluators_failed", "diverged"]
    assert frame.loss.iloc[:2].notna().all() and frame.loss.iloc[2:].isna().all()
    path = engine.export_geometry(tmp_path / "run.json")
    assert validate_geometry(path) == []
    assert len(load_geometry(path).trajectory.t) == 4


def test_the_revision_pair_step_goes_through_the_same_step_and_records_its_divergence():
    from scalarscope.engine import RevisionConfig, RevisionScalarScopeEngine

    engine = RevisionScalarScopeEngine(seed=0, config=SMALL, revision=RevisionConfig(threshold=1.0))
    engine.run(2, progress=False)
    hook = engine.model.policy_head.weight.register_hook(lambda grad: grad * float("inf"))
    before = _snapshot(engine)
    record = engine.step()
    hook.remove()
    _assert_unchanged(before, _snapshot(engine))  # neither the main nor the pair step was applied
    assert record.revision.revised > 0 and math.isnan(record.revision.pair_grad_norm)
    messages = [f.description for f in record.failures if f.category == "divergence"]
    assert messages == ["non-finite gradient of the loss; update skipped",
                        "non-finite gradient of the revision pair loss; update skipped"]
    assert record.status == "diverged"


def test_judges_scoring_beside_the_student_changes_no_number():
    """concurrent_judges only moves where the evaluators run (the judge worker, during the
    teacher-forced pass); every recorded number and every parameter is the same."""
    def run(concurrent):
        engine = ScalarScopeEngine(seed=3, config=SMALL.replace(concurrent_judges=concurrent, transfer_every=4))
        engine.run(6, progress=False)
        return engine

    beside, inline = run(True), run(False)
    assert beside.history.to_frame().drop(columns="wall_ms").equals(inline.history.to_frame().drop(columns="wall_ms"))
    assert all(torch.equal(a, b) for a, b in zip(beside.model.parameters(), inline.model.parameters(), strict=True))
