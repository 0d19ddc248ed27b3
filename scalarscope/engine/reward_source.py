"""The reward source as a strategy the engine is given: what the policy learns from, what
revision ranks versions by, and whether the scalar head learns (see :mod:`scalarscope.engine.steering`
for the two sources' meaning).

Every decision that depends on the source lives here, so "under the conscience no evaluator score
reaches a gradient, an optimiser's state or a ranking of drafts" is checked by reading one class
(:class:`ConscienceReward`) and proved by tests/test_noise_swap.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scalarscope.engine.config import EngineConfig
from scalarscope.errors import ConfigError
from scalarscope.evaluators.base import ScoreTable
from scalarscope.evaluators.scalar_head import predicted_scores


def conscience_rewards(values: np.ndarray, lengths: np.ndarray, horizon: int) -> np.ndarray:
    """Per-token reward [B, T]: the mean over heads of the scalar head's values [B, T', H] of each
    response token (zero past a response's end and at its EOS), padded or cut to ``horizon``."""
    values = np.asarray(values, dtype=np.float64)
    rewards = np.zeros((values.shape[0], horizon))
    width = min(horizon, values.shape[1])
    rewards[:, :width] = values[:, :width].mean(-1)
    return rewards * (np.arange(horizon)[None, :] < np.asarray(lengths)[:, None])


@dataclass(frozen=True)
class EvaluatorReward:
    """The policy learns from the training evaluators' token feedback; the head learns their scores."""

    name: str = "evaluators"

    def head_learns(self, config: EngineConfig) -> bool:
        return True

    def needs_evaluators(self, config: EngineConfig) -> bool:
        """Whether an update without any valid training-evaluator score has nothing to learn from."""
        return True

    def token_rewards(self, table: ScoreTable, columns: np.ndarray, values: np.ndarray, lengths: np.ndarray,
                      horizon: int) -> np.ndarray:
        """Per-token rewards [B, T] of responses whose evaluators' scores are ``table`` (the
        training evaluators: its ``columns``) and whose head values from decoding are ``values`` [B, T', H]."""
        from scalarscope.engine._update import token_rewards

        return token_rewards(table, columns, lengths, horizon)

    def ranking(self, table: ScoreTable, values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Per response [B]: what revision compares versions by (higher is kept)."""
        from scalarscope.engine.revision import mean_valid_score

        return mean_valid_score(table)

    def on_switch(self, engine) -> None:
        """Called when the engine switches to this source (after the switch)."""


@dataclass(frozen=True)
class ConscienceReward(EvaluatorReward):
    """The policy learns from the scalar head's own per-token values, and revision ranks by the
    head's predicted score; the head is frozen unless ``EngineConfig.conscience_learns``. No
    evaluator score is read by any method here."""

    name: str = "conscience"

    def head_learns(self, config: EngineConfig) -> bool:
        return config.conscience_learns

    def needs_evaluators(self, config: EngineConfig) -> bool:
        return config.conscience_learns

    def token_rewards(self, table: ScoreTable, columns: np.ndarray, values: np.ndarray, lengths: np.ndarray,
                      horizon: int) -> np.ndarray:
        return conscience_rewards(values, lengths, horizon)

    def ranking(self, table: ScoreTable, values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        from scalarscope.engine.revision import aggregate

        return aggregate(predicted_scores(values, lengths))

    def on_switch(self, engine) -> None:
        """Adam's moments, built from the evaluators' gradients, are dropped at the switch
        (``EngineConfig.reset_optimizer_on_switch``, default on): otherwise the first conscience
        updates still carry the evaluators' momentum."""
        if engine.config.reset_optimizer_on_switch:
            engine.optimizer.state.clear()  # the next step starts as a fresh Adam would


REWARD_SOURCES = {"evaluators": EvaluatorReward(), "conscience": ConscienceReward()}


def check_reward_source(value: object) -> str:
    if not isinstance(value, str) or value not in REWARD_SOURCES:
        raise ConfigError(f"reward_source must be one of {list(REWARD_SOURCES)}, got {value!r}; "
                          "'evaluators' trains on the judges' feedback, 'conscience' on the scalar head's own values")
    return value
