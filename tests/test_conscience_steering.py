"""KL to a reference policy and the conscience as reward source: oracles, isolation, resume, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from scalarscope.engine import EngineConfig, ScalarScopeEngine
from scalarscope.engine.kl import ReferencePolicy, kl_penalty, sequence_kl, token_kl
from scalarscope.engine.steering import conscience_rewards
from scalarscope.errors import ConfigError
from scalarscope.student import default_student


def _frame(engine):
    return engine.history.to_frame().drop(columns=["wall_ms"])


def _numpy_kl(p_logits: np.ndarray, q_logits: np.ndarray, used: np.ndarray, temperature: float) -> np.ndarray:
    """The oracle: explicit loops over responses, positions and vocabulary, in float64."""
    out = np.zeros(len(p_logits))
    for b in range(len(p_logits)):
        for t in range(int(used[b])):
            p = np.exp(p_logits[b, t] / temperature - np.max(p_logits[b, t] / temperature))
            q = np.exp(q_logits[b, t] / temperature - np.max(q_logits[b, t] / temperature))
            p, q = p / p.sum(), q / q.sum()
            out[b] += sum(p[v] * (np.log(p[v]) - np.log(q[v])) for v in range(len(p)))
    return out


@pytest.mark.parametrize("temperature", [1.0, 0.7])
def test_kl_matches_an_explicit_computation_on_a_small_vocabulary(temperature):
    rng = np.random.default_rng(0)
    p_logits, q_logits = rng.normal(size=(4, 6, 5)) * 2, rng.normal(size=(4, 6, 5)) * 2
    used = np.array([6, 3, 1, 0])
    per_token = token_kl(torch.tensor(p_logits, dtype=torch.float64), torch.tensor(q_logits),
                         temperature=temperature)
    measured = sequence_kl(per_token, used)
    np.testing.assert_allclose(measured, _numpy_kl(p_logits, q_logits, used, temperature), rtol=1e-6, atol=1e-9)
    assert measured[3] == 0.0 and (measured[:3] > 0).all()
    # the penalty is the per-token mean over the sampled positions
    assert float(kl_penalty(per_token, used)) == pytest.approx(measured.sum() / used.sum())


def test_kl_is_zero_against_itself_and_grows_as_training_moves_the_policy(small_config):
    engine = ScalarScopeEngine(seed=2, config=small_config)
    kls = [engine.step().metrics.kl for _ in range(12)]
    # the first cycle samples from the reference itself: 0 up to float32 rounding (the engine encodes a
    # cycle's prompts in one batch, the reference one by one)
    assert abs(kls[0]) < 1e-6
    assert kls[-1] > 1e-3 and kls[-1] > kls[1]
    engine.set_reference()  # the policy as it is now: KL to it is 0 again on the next cycle
    assert abs(engine.step().metrics.kl) < 1e-6
    assert abs(_frame(engine)["kl"].iloc[-1]) < 1e-6
    logits = torch.randn(3, 4, 7)
    assert float(token_kl(logits, logits).abs().max()) == 0.0  # exactly 0 for identical logits


def test_reference_is_frozen_and_separate_and_its_cached_prompts_change_nothing():
    model = default_student(seed=0)
    reference = ReferencePolicy(model)
    assert all(not p.requires_grad for p in reference.model.parameters())
    prompts = [model.tokenizer.encode(p) for p in ("rate this answer:", "how sure are you?")]
    rows, responses = np.array([0, 1, 1, 0]), np.random.default_rng(0).integers(3, 20, size=(4, 7))
    with torch.no_grad():
        direct = model(prompts, rows, responses)[0]
    for _ in range(2):  # the first call fills the prompt cache, the second reads it
        torch.testing.assert_close(reference.logits(prompts, rows, responses), direct, rtol=0, atol=1e-6)
    assert reference.logits(prompts[::-1], rows, responses).shape == direct.shape
    with torch.no_grad():
        next(model.parameters()).add_(1.0)
    assert not torch.equal(next(model.parameters()), next(reference.model.parameters()))


def test_kl_penalty_keeps_the_policy_nearer_the_reference(small_config):
    def final_kl(coef):
        engine = ScalarScopeEngine(seed=4, config=small_config.replace(kl_coef=coef))
        engine.run(60, progress=False)
        return _frame(engine)["kl"].tail(10).mean()

    assert final_kl(1.0) < 0.5 * final_kl(0.0)


def test_conscience_rewards_are_the_mean_head_value_per_token():
    values = np.arange(2 * 3 * 2, dtype=float).reshape(2, 3, 2)
    rewards = conscience_rewards(values, np.array([3, 1]), 4)
    np.testing.assert_allclose(rewards, [[0.5, 2.5, 4.5, 0.0], [6.5, 0.0, 0.0, 0.0]])


def test_under_the_conscience_the_policy_does_not_learn_from_the_evaluators(small_config):
    """One cycle after the switch moves the parameters differently from an evaluator-trained one
    (that nothing evaluator-made reaches the update is tests/test_noise_swap.py's noise swap)."""
    def after_one_more_cycle(source):
        engine = ScalarScopeEngine(seed=5, config=small_config)
        engine.run(8, progress=False)
        engine.reward_source = source
        engine.step()
        return [p.detach().clone() for p in engine.model.parameters()]

    conscience, judged = after_one_more_cycle("conscience"), after_one_more_cycle("evaluators")
    assert not all(torch.equal(a, b) for a, b in zip(conscience, judged, strict=True))


def test_conscience_steering_raises_the_proxy_and_keeps_scoring_gold(small_config):
    engine = ScalarScopeEngine(seed=6, holdout="clarity", config=small_config)
    engine.run(30, progress=False)
    head = engine.model.scalar_head.weight.detach().clone()
    engine.reward_source = "conscience"
    engine.run(60, progress=False)
    frame = _frame(engine)
    assert list(frame.reward_source.unique()) == ["evaluators", "conscience"]
    assert (frame.reward_source.iloc[30:] == "conscience").all()
    conscience = frame.iloc[30:]
    # the policy climbs its conscience at once (the frozen head then drifts with the shared trunk)
    assert conscience.predicted_score.head(10).max() > conscience.predicted_score.iloc[0] + 0.1
    assert conscience["score_clarity"].notna().all()  # the evaluators still score everything, as gold
    assert torch.equal(engine.model.scalar_head.weight, head)  # the frozen conscience does not learn
    assert (conscience.head_loss == 0.0).all()


def test_a_learning_conscience_keeps_training_its_head(small_config):
    engine = ScalarScopeEngine(seed=6, config=small_config.replace(conscience_learns=True))
    engine.run(5, progress=False)
    head = engine.model.scalar_head.weight.detach().clone()
    engine.reward_source = "conscience"
    engine.run(3, progress=False)
    assert not torch.equal(engine.model.scalar_head.weight, head)
    assert (_frame(engine).head_loss.iloc[5:] > 0).all()


def test_resume_and_determinism_hold_across_a_switch(tmp_path, small_config):
    config = small_config.replace(kl_coef=0.1)

    def start():
        engine = ScalarScopeEngine(seed=3, holdout="clarity", config=config)
        engine.run(10, progress=False)
        engine.reward_source = "conscience"
        engine.run(5, progress=False)
        return engine

    straight = start()
    straight.reward_source = "evaluators"
    straight.run(5, progress=False)
    straight.reward_source = "conscience"
    straight.run(10, progress=False)
    again = start()
    again.reward_source = "evaluators"
    again.run(5, progress=False)
    again.reward_source = "conscience"  # switched, then saved before the cycle it takes effect on
    again.save(tmp_path / "ck.pt")
    resumed = ScalarScopeEngine.load(tmp_path / "ck.pt")
    assert resumed.reward_source == "conscience"
    resumed.run(10, progress=False)
    pd.testing.assert_frame_equal(_frame(straight), _frame(resumed))
    for a, b in zip(straight.reference.model.parameters(), resumed.reference.model.parameters(), strict=True):
        assert torch.equal(a, b)


def test_bad_steering_input_is_named(small_config):
    with pytest.raises(ConfigError, match="kl_coef must be >= 0.0, got -0.5"):
        EngineConfig(kl_coef=-0.5)
    with pytest.raises(ConfigError, match="conscience_learns must be True or False, got 'yes'"):
        EngineConfig(conscience_learns="yes")
    engine = ScalarScopeEngine(seed=0, config=small_config)
    with pytest.raises(ConfigError, match="no update has trained it yet"):
        engine.reward_source = "conscience"
    engine.step()
    with pytest.raises(ConfigError, match=r"reward_source must be one of \['evaluators', 'conscience'\], got 'judges'"):
        engine.reward_source = "judges"
    engine.reward_source = "conscience"
    assert engine.reward_source == "conscience"


class _ForwardOnly(torch.nn.Module):
    """A student offering only the protocol's teacher-forced forward (as a Hugging Face student may)."""

    def __init__(self, student):
        super().__init__()
        self.student = student

    def forward(self, prompt_ids, row_prompt, response_ids):
        return self.student(prompt_ids, row_prompt, response_ids)


def test_reference_of_a_student_without_prompt_encodings_uses_forward():
    model = default_student(seed=1)
    prompts = [model.tokenizer.encode("list the tradeoffs.")]
    rows, responses = np.zeros(3, dtype=int), np.random.default_rng(1).integers(3, 20, size=(3, 5))
    plain = ReferencePolicy(_ForwardOnly(model))
    torch.testing.assert_close(plain.logits(prompts, rows, responses), ReferencePolicy(model).logits(prompts, rows, responses))
