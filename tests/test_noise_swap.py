"""Conscience-only means conscience-only (issue 17 item 1), by a noise swap.

Two runs from the same seed warm up on the real evaluators, switch the reward source to the
conscience, then run 25 more cycles: one with the real evaluators, one with noise evaluators of the
same names in their place. If no evaluator score reaches a gradient, an optimiser's state or a
ranking of drafts, the two runs' parameters, optimiser state and every training record are
bit-identical; only the gold measurements (the evaluators' own scores) differ.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from scalarscope.engine import EngineConfig, RevisionConfig, RevisionScalarScopeEngine, ScalarScopeEngine
from scalarscope.evaluators import correlated_evaluators
from scalarscope.student import default_student, tiny_gpt2

WARM_UP, CYCLES = 10, 25
CONFIG = EngineConfig(batch_size=8, max_new_tokens=8, probe_batch=4, state_probe_size=8, transfer_every=0)
# what the evaluators measure (gold), which may and must differ between the two runs
GOLD = {"mean_score", "surprise", "head_error", "critic_loss", "critic_surprise", "wall_ms",
        "revision_score_before", "revision_score_after", "revision_uplift"}


class _Swappable:
    """A real evaluator until ``noisy`` is set, then a noise judge of the same name: a score drawn from
    a hash of (prompt, response), so it shares no random state with the engine."""

    def __init__(self, inner):
        self.name, self._inner, self.noisy = inner.name, inner, False

    def __call__(self, prompt: str, response: str) -> float:
        if not self.noisy:
            return self._inner(prompt, response)
        digest = hashlib.blake2b(f"{self.name}|{prompt}|{response}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "little") / 2**64


def _run(kind: str, student: str, noisy: bool):
    judges = [_Swappable(e) for e in correlated_evaluators(4, 0.87, seed=0)]
    model = default_student(seed=0) if student == "gru" else tiny_gpt2(seed=0)
    if kind == "revision":  # a threshold that fires often, so the conscience ranks many drafts
        engine = RevisionScalarScopeEngine(model=model, evaluators=judges, holdout=judges[-1].name, seed=0,
                                           config=CONFIG, revision=RevisionConfig(threshold=0.9))
    else:
        engine = ScalarScopeEngine(model=model, evaluators=judges, holdout=judges[-1].name, seed=0, config=CONFIG)
    engine.run(WARM_UP, progress=False)
    engine.reward_source = "conscience"
    for judge in judges:
        judge.noisy = noisy
    engine.run(CYCLES, progress=False)
    return engine


def _optimiser_tensors(engine) -> list[torch.Tensor]:
    state = engine.optimizer.state_dict()["state"]
    return [value for index in sorted(state) for _, value in sorted(state[index].items())]


@pytest.mark.parametrize("student", ["gru", "tiny-gpt2"])
@pytest.mark.parametrize("kind", ["base", "revision"])
def test_noise_in_place_of_the_evaluators_changes_nothing_the_conscience_trains(kind, student):
    real, noise = _run(kind, student, noisy=False), _run(kind, student, noisy=True)
    for a, b in zip(real.model.parameters(), noise.model.parameters(), strict=True):
        assert torch.equal(a, b)
    for a, b in zip(_optimiser_tensors(real), _optimiser_tensors(noise), strict=True):
        assert torch.equal(a, b)
    real_frame, noise_frame = real.history.to_frame(), noise.history.to_frame()
    assert list(real_frame.columns) == list(noise_frame.columns)
    scores = {c for c in real_frame.columns if c.startswith("score_")}
    training = [c for c in real_frame.columns if c not in GOLD | scores]
    after = slice(WARM_UP, None)
    for column in training:
        assert real_frame[column].iloc[after].equals(noise_frame[column].iloc[after]), column
    for a, b in zip(real.history[WARM_UP:], noise.history[WARM_UP:], strict=True):
        assert a.sample_response == b.sample_response and np.array_equal(a.state, b.state)
    # the swap did happen: the gold differs
    assert not real_frame["mean_score"].iloc[after].equals(noise_frame["mean_score"].iloc[after])
    if kind == "revision":  # the drafts were revised and ranked under the conscience
        assert real_frame["revision_revised"].iloc[after].sum() > 0


def test_the_frozen_conscience_head_gets_no_regression_term_in_the_revision_pair_step():
    """Recorded head_loss is 0 under the frozen conscience, and it is what was optimised: the
    scalar head's parameters do not move at all, in the main step or the pair step."""
    engine = RevisionScalarScopeEngine(seed=0, config=CONFIG, revision=RevisionConfig(threshold=0.9))
    engine.run(WARM_UP, progress=False)
    head = [p.detach().clone() for p in engine.model.scalar_head.parameters()]
    trunk = engine.model.embed.weight.detach().clone()
    engine.reward_source = "conscience"
    engine.run(8, progress=False)
    frame = engine.history.to_frame().iloc[WARM_UP:]
    assert frame.revision_pair_loss.notna().any()  # pair steps were taken
    assert (frame.head_loss == 0.0).all()
    assert all(torch.equal(a, b) for a, b in zip(head, engine.model.scalar_head.parameters(), strict=True))
    assert not torch.equal(trunk, engine.model.embed.weight)  # while the policy did learn
