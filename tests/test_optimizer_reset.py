"""The switch to the conscience starts Adam afresh (EngineConfig.reset_optimizer_on_switch)."""

from __future__ import annotations

import pytest
import torch

from scalarscope.engine import EngineConfig, ScalarScopeEngine
from scalarscope.engine._update import adam
from scalarscope.errors import ConfigError
from scalarscope.evaluators import correlated_evaluators

SMALL = dict(batch_size=16, transfer_every=0)


def warmed(**config) -> ScalarScopeEngine:
    engine = ScalarScopeEngine(evaluators=correlated_evaluators(5, 0.87, seed=0), holdout="clarity", seed=0,
                               config=EngineConfig(**SMALL, **config))
    engine.run(6, progress=False)
    return engine


def parameters(engine) -> list[torch.Tensor]:
    return [p.detach().clone() for p in engine.model.parameters()]


def test_the_switch_gives_the_same_steps_as_a_fresh_adam_and_the_ablation_does_not():
    reset, fresh, carried = warmed(), warmed(), warmed(reset_optimizer_on_switch=False)
    assert len(reset.optimizer.state) > 0
    fresh.optimizer = adam(fresh.model.parameters(), fresh.config.learning_rate)  # the oracle: a new Adam
    for engine in (reset, fresh, carried):
        engine.reward_source = "conscience"
    assert len(reset.optimizer.state) == 0 and len(carried.optimizer.state) > 0
    for _ in range(3):
        for engine in (reset, fresh, carried):
            engine.step()
    for a, b in zip(parameters(reset), parameters(fresh), strict=True):
        assert torch.equal(a, b)
    assert any(not torch.equal(a, b) for a, b in zip(parameters(reset), parameters(carried), strict=True))


def test_only_the_switch_into_the_conscience_resets():
    engine = warmed()
    engine.reward_source = "conscience"
    engine.step()
    kept = {k: v["exp_avg"].clone() for k, v in engine.optimizer.state.items()}
    engine.reward_source = "conscience"  # no switch: nothing to reset
    assert all(torch.equal(engine.optimizer.state[k]["exp_avg"], v) for k, v in kept.items())
    engine.reward_source = "evaluators"
    assert len(engine.optimizer.state) == len(kept)


def test_the_setting_round_trips_a_checkpoint_and_is_validated(tmp_path):
    engine = warmed(reset_optimizer_on_switch=False)
    engine.save(tmp_path / "run.safetensors")
    loaded = ScalarScopeEngine.load(tmp_path / "run.safetensors")
    assert loaded.config.reset_optimizer_on_switch is False and loaded.config == engine.config
    with pytest.raises(ConfigError, match="reset_optimizer_on_switch must be True or False"):
        EngineConfig(reset_optimizer_on_switch=1)
