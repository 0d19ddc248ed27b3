"""The training engine: Quick Start, learning, determinism, resume, bad input."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
import torch

from scalarscope.engine import EngineConfig, ScalarScopeEngine, TrainingMetrics
from scalarscope.errors import (
    CheckpointError,
    ConfigError,
    EvaluatorError,
    ScalarScopeError,
    UnsupportedCharacterError,
)
from scalarscope.evaluators import as_evaluator, correlated_evaluators
from scalarscope.governor import GovernorConfig, TokenPool
from scalarscope.student import default_student


def _frame(engine):
    return engine.history.to_frame().drop(columns=["wall_ms"])


def test_quick_start_runs_verbatim():
    your_model = default_student(seed=0)
    your_evaluators = correlated_evaluators(n=5, overlap=0.5, seed=0)
    # --- the original README's Quick Start, as written ---
    from scalarscope.engine import ScalarScopeEngine  # noqa: F401
    from scalarscope.governor import GovernorConfig, TokenPool
    governor_config = GovernorConfig(max_tokens_per_cycle=1000, budget_strategy="adaptive")
    pool = TokenPool(governor_config)
    engine = ScalarScopeEngine(model=your_model, evaluators=your_evaluators, token_pool=pool)
    result = engine.run_cycle(prompt="Your training prompt")
    print(f"Metrics: {result.metrics}")
    # ---
    assert isinstance(result.metrics, TrainingMetrics)
    assert math.isfinite(result.metrics.loss)
    assert 0 < result.metrics.tokens_used <= result.metrics.tokens_granted <= 1000


def test_it_learns_in_the_default_world():
    """300 cycles, fixed seed: the training evaluators' mean score rises by >= 0.2 and the
    scalar head's prediction error falls."""
    engine = ScalarScopeEngine(seed=0, config=EngineConfig(transfer_every=0))
    before = [p.detach().clone() for p in engine.model.parameters()]
    engine.step()
    changed = [not torch.equal(a, b) for a, b in zip(before, engine.model.parameters(), strict=True)]
    assert all(changed), "every parameter tensor must change after one step"
    engine.run(299, progress=False)
    frame = engine.history.to_frame()
    first, last = frame.iloc[:20], frame.iloc[-20:]
    assert last.mean_score.mean() - first.mean_score.mean() >= 0.2
    assert last.head_error.mean() < 0.5 * first.head_error.mean()
    assert last.surprise.mean() < first.surprise.mean()


def test_records_are_frozen_and_hold_no_tensors():
    engine = ScalarScopeEngine(seed=1, config=EngineConfig(batch_size=8, transfer_every=0))
    record = engine.step()
    with pytest.raises(AttributeError):
        record.cycle = 5  # type: ignore[misc]
    with pytest.raises(TypeError):
        record.metrics.scores["clarity"] = 1.0  # type: ignore[index]
    with pytest.raises(ValueError):
        record.state[0] = 1.0

    def walk(value):
        assert not isinstance(value, torch.Tensor)
        if hasattr(value, "__dataclass_fields__"):
            for name in value.__dataclass_fields__:
                walk(getattr(value, name))

    walk(record)


def test_same_seed_same_history(small_config):
    runs = []
    for _ in range(2):
        engine = ScalarScopeEngine(seed=7, config=small_config)
        engine.run(15, progress=False)
        runs.append(_frame(engine))
    pd.testing.assert_frame_equal(runs[0], runs[1])
    other = ScalarScopeEngine(seed=8, config=small_config)
    other.run(15, progress=False)
    assert not runs[0].mean_score.equals(_frame(other).mean_score)


def test_resume_equals_uninterrupted(tmp_path):
    config = EngineConfig(batch_size=16, max_new_tokens=12, probe_batch=8, transfer_every=20)
    straight = ScalarScopeEngine(seed=3, holdout="clarity", config=config)
    straight.run(100, progress=False)
    first = ScalarScopeEngine(seed=3, holdout="clarity", config=config)
    first.run(50, progress=False)
    first.save(tmp_path / "ck.pt")
    resumed = ScalarScopeEngine.load(tmp_path / "ck.pt")
    resumed.run(50, progress=False)
    pd.testing.assert_frame_equal(_frame(straight), _frame(resumed))
    assert len(straight.history.transfers) == len(resumed.history.transfers) == 5
    for a, b in zip(straight.history.transfers, resumed.history.transfers, strict=True):
        np.testing.assert_equal(dataclasses.astuple(a), dataclasses.astuple(b))  # NaN (cycle 0's transfer) equals NaN


def test_checkpoint_errors(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        ScalarScopeEngine.load(tmp_path / "missing.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="corrupt"):
        ScalarScopeEngine.load(bad)


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: GovernorConfig(max_tokens_per_cycle=0), "max_tokens_per_cycle must be >= 1, got 0"),
        (lambda: GovernorConfig(max_tokens_per_cycle=-5), "max_tokens_per_cycle must be >= 1, got -5"),
        (lambda: GovernorConfig(max_tokens_total=0), "max_tokens_total must be >= 1"),
        (lambda: GovernorConfig(budget_strategy="greedy"), "budget_strategy must be one of .* got 'greedy'"),
        (lambda: GovernorConfig(revision_share=1.5), "revision_share must be < 1"),
        (lambda: correlated_evaluators(5, overlap=1.2), "overlap must be <= 1.0, got 1.2"),
        (lambda: correlated_evaluators(5, overlap=-0.1), "overlap must be >= 0.0, got -0.1"),
        (lambda: ScalarScopeEngine(evaluators=[]), "evaluators is empty"),
        (lambda: ScalarScopeEngine(holdout="honesty"), "holdout='honesty' is not one of the evaluators"),
        (lambda: EngineConfig(batch_size=0), "batch_size must be >= 1, got 0"),
        (lambda: EngineConfig(temperature=0.0), "temperature must be > 0.0"),
    ],
)
def test_bad_configuration_is_named(build, match):
    with pytest.raises(ConfigError if "evaluator" not in match else EvaluatorError, match=match) as info:
        build()
    assert isinstance(info.value, ScalarScopeError) and isinstance(info.value, ValueError)


def test_unsupported_prompt_characters(small_config):
    engine = ScalarScopeEngine(seed=0, config=small_config)
    with pytest.raises(UnsupportedCharacterError, match=r"'é' at 3.*letters"):
        engine.run_cycle(prompt="caf\u00e9 ok?")
    assert len(engine.history) == 0
    record = engine.run_cycle(prompt="Upper Case Is Lowered")
    assert record.prompts == ("Upper Case Is Lowered",)


def test_nan_evaluator_is_refused_at_construction():
    def broken(prompt, response):
        return float("nan")

    with pytest.raises(EvaluatorError, match="'broken' returned a non-finite score"):
        ScalarScopeEngine(evaluators=[*correlated_evaluators(2, 0.5), broken])


class _FlakyJudge:
    """Returns NaN on responses containing 'e' and raises on those containing 'z', after warm-up."""

    name = "flaky"

    def __init__(self):
        self.calls = 0

    def __call__(self, prompt: str, response: str) -> float:
        self.calls += 1
        if self.calls > 40 and "e" in response:
            return float("nan")
        if self.calls > 40 and "z" in response:
            raise RuntimeError("judge crashed")
        return min(1.0, response.count("a") / 4)


def test_failing_evaluator_mid_run_is_recorded_not_raised(small_config):
    engine = ScalarScopeEngine(evaluators=[*correlated_evaluators(2, 0.5), _FlakyJudge()], seed=0,
                               config=small_config)
    engine.run(6, progress=False)
    failures = [f for f in engine.history.failures if f.category == "evaluator_error"]
    assert failures and all("'flaky'" in f.description for f in failures)
    assert any("non-finite" in f.description for f in failures)
    assert any("RuntimeError: judge crashed" in f.description for f in failures)
    frame = engine.history.to_frame()
    numeric = frame.select_dtypes("number")
    assert np.isfinite(numeric.to_numpy(dtype=float, na_value=0.0)).all()
    assert not numeric.drop(columns=["score_flaky"]).isna().any().any()


def test_plain_callable_evaluators_train(small_config):
    def vowels(prompt: str, response: str) -> float:
        return sum(c in "aeiou" for c in response) / max(len(response), 1)

    engine = ScalarScopeEngine(evaluators=[vowels, as_evaluator(lambda p, r: 0.5, name="flat")], seed=0,
                               config=small_config)
    engine.run(40, progress=False)
    frame = engine.history.to_frame()
    assert frame.score_vowels.iloc[-10:].mean() > frame.score_vowels.iloc[:10].mean()


def test_budget_runs_out_as_a_recorded_outcome(small_config):
    pool = TokenPool(GovernorConfig(max_tokens_per_cycle=100, max_tokens_total=250))
    engine = ScalarScopeEngine(token_pool=pool, seed=0, config=small_config)
    engine.run(5, progress=False)
    statuses = [r.status for r in engine.history]
    assert statuses[-1] == "budget_exhausted"
    assert pool.spent_total <= 250
    assert any(f.category == "budget_exhausted" for f in engine.history.failures)
    # a state is where the internal evaluator stood as its cycle began: after the last update
    first_exhausted = statuses.index("budget_exhausted")
    np.testing.assert_allclose(engine.history[first_exhausted].state, engine.state_probe_predictions().ravel())
    assert not np.allclose(engine.history[first_exhausted].state, engine.history[first_exhausted - 1].state)


def test_budget_change_applies_to_next_cycle(small_config):
    engine = ScalarScopeEngine(seed=0, config=small_config)
    engine.step()
    engine.token_pool.update(max_tokens_per_cycle=64)
    assert engine.history[-1].ledger.granted > 64
    record = engine.step()
    assert record.ledger.granted <= 64 and record.metrics.tokens_used <= 64


def test_adaptive_engine_gives_hard_prompts_more_tokens():
    """With a tight adaptive budget, the prompt the internal evaluator predicts weakest gets the most:
    read from the token limits the engine hands its student, not from the pool."""
    config = EngineConfig(batch_size=16, max_new_tokens=16, probe_batch=4, transfer_every=0)
    pool = TokenPool(GovernorConfig(max_tokens_per_cycle=128, budget_strategy="adaptive", min_tokens_per_prompt=0))
    engine = ScalarScopeEngine(token_pool=pool, seed=0, config=config)
    engine.run(30, progress=False)
    prompts = list(engine.prompts[:4])
    difficulty = engine._difficulty(prompts)
    limits_seen = []
    generate = engine.model.generate

    def spy(prompt_ids, row_prompt, max_new_tokens, **kwargs):
        limits_seen.append((np.array(row_prompt), np.array(max_new_tokens)))
        return generate(prompt_ids, row_prompt, max_new_tokens, **kwargs)

    engine.model.generate = spy
    record = engine.run_cycle(prompts)
    (row_prompt, limits), = limits_seen
    per_prompt = np.bincount(row_prompt, limits, minlength=4)
    assert per_prompt[np.argmax(difficulty)] > per_prompt[np.argmin(difficulty)], (difficulty, per_prompt)
    assert len(set(limits.tolist())) > 1  # an even split would give every response the same limit
    assert record.metrics.tokens_used <= limits.sum() <= record.ledger.granted <= 128


class _InterruptOnce:
    """Raises KeyboardInterrupt (as a kernel interrupt would) on its 60th call."""

    name = "interrupting"

    def __init__(self):
        self.calls = 0

    def __call__(self, prompt: str, response: str) -> float:
        self.calls += 1
        if self.calls == 60:
            raise KeyboardInterrupt
        return 0.5


def test_interrupted_cycle_is_rolled_back_and_recorded(small_config):
    engine = ScalarScopeEngine(evaluators=[*correlated_evaluators(2, 0.5), _InterruptOnce()], seed=0,
                               config=small_config)
    engine.step()
    with pytest.raises(KeyboardInterrupt):
        for _ in range(5):
            engine.step()
    assert len(engine.history) == engine.cycle
    spent = engine.token_pool.spent_total
    assert spent == sum(r.ledger.used for r in engine.history)
    record = engine.step()  # the engine is usable again; the interruption is on the record
    interrupted = [f for f in record.failures if f.category == "interrupted"]
    assert interrupted and "KeyboardInterrupt" in interrupted[0].description
    assert record.cycle == len(engine.history) - 1


def test_history_frame_has_no_gaps():
    engine = ScalarScopeEngine(seed=4, holdout="clarity", config=EngineConfig(batch_size=8, transfer_every=5))
    engine.run(12, progress=False)
    frame = engine.history.to_frame()
    assert not frame.isna().any().any()
    assert list(engine.history.transfer_frame().cycle) == [0, 5, 10]


def _step_once(queue) -> None:
    queue.put(ScalarScopeEngine(seed=3, config=EngineConfig(batch_size=4, transfer_every=0)).step().cycle)


def test_a_forked_child_can_train():
    """The probe worker thread is not inherited by fork; the child must get its own, not hang."""
    import multiprocessing

    ScalarScopeEngine(seed=2, config=EngineConfig(batch_size=4, transfer_every=0)).step()  # parent's worker exists
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_step_once, args=(queue,))
    child.start()
    child.join(timeout=60)
    alive = child.is_alive()
    if alive:
        child.kill()
    assert not alive and child.exitcode == 0 and queue.get(timeout=5) == 0


def test_engines_in_two_threads_train_as_they_would_alone():
    """Two engines stepping in two threads share the probe worker; each history equals its solo run."""
    import threading

    def make(seed):
        return ScalarScopeEngine(seed=seed, config=EngineConfig(batch_size=4, transfer_every=5, transfer_probes=32))

    solo = [make(s) for s in (0, 1)]
    for e in solo:
        e.run(15, progress=False)
    engines = [make(s) for s in (0, 1)]
    threads = [threading.Thread(target=e.run, args=(15,), kwargs={"progress": False}) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for alone, together in zip(solo, engines, strict=True):
        pd.testing.assert_frame_equal(alone.history.to_frame().drop(columns="wall_ms"),
                                      together.history.to_frame().drop(columns="wall_ms"))
        pd.testing.assert_frame_equal(alone.history.transfer_frame(), together.history.transfer_frame())
