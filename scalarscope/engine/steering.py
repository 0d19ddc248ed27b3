"""What the policy learns from: the evaluators, or the student's own conscience (its scalar head).

``engine.reward_source = "evaluators"`` (the default) trains the policy on the training evaluators'
token feedback. ``"conscience"`` trains it on the scalar head's own per-token values, the mean over
its training heads: the same units as the evaluators' token feedback (each head's values sum to its
predicted logit of that evaluator's score), taken from decoding, before any evaluator has seen the
response. Every evaluator still scores every response, as the *gold* measurement only.

Under ``"conscience"`` the head is frozen unless ``EngineConfig.conscience_learns``: its regression
loss is left out of the update (and the off-policy probes are not scored), so nothing any evaluator
returns reaches a gradient of the student. With ``conscience_learns=True`` the head keeps learning
from the evaluators; the policy-gradient term still sees only the head's values, but the head loss
shares the trunk, so evaluator information then reaches the policy through its representation.

At the switch to ``"conscience"`` Adam's moments are cleared (``EngineConfig.reset_optimizer_on_switch``,
default True): momentum built from the evaluators' gradients would otherwise keep moving the policy
for tens of cycles after it stopped learning from them. A switch takes effect on the next cycle; each :class:`~scalarscope.engine.records.CycleRecord`
records the source it was trained with. Switching to the conscience before any update has trained
the head is an error: a head that never learned is all zeros, and its advantages would be zero.

The reference policy (for ``kl``, see :mod:`scalarscope.engine.kl`) is a frozen copy of the student,
by default the policy the engine was built with; :meth:`Steering.set_reference` takes a new one.
"""

from __future__ import annotations

import numpy as np

from scalarscope.engine.kl import ReferencePolicy
from scalarscope.errors import ConfigError
from scalarscope.evaluators.base import ScoreTable

REWARD_SOURCES = ("evaluators", "conscience")


def check_reward_source(value: object) -> str:
    if not isinstance(value, str) or value not in REWARD_SOURCES:
        raise ConfigError(f"reward_source must be one of {list(REWARD_SOURCES)}, got {value!r}; "
                          "'evaluators' trains on the judges' feedback, 'conscience' on the scalar head's own values")
    return value


def conscience_rewards(values: np.ndarray, lengths: np.ndarray, horizon: int) -> np.ndarray:
    """Per-token reward [B, T]: the mean over heads of the scalar head's values [B, T', H] of each
    response token (zero past a response's end and at its EOS), padded or cut to ``horizon``."""
    values = np.asarray(values, dtype=np.float64)
    rewards = np.zeros((values.shape[0], horizon))
    width = min(horizon, values.shape[1])
    rewards[:, :width] = values[:, :width].mean(-1)
    return rewards * (np.arange(horizon)[None, :] < np.asarray(lengths)[:, None])


class Steering:
    """The engine's reward source and reference policy (a base class of the engines).

    State (all a checkpoint needs, see :meth:`steering_state`): the reward source, the number of
    updates that trained the scalar head, and the reference policy's tensors.
    """

    def _init_steering(self) -> None:
        self._reward_source = "evaluators"
        self._head_updates = 0
        self.set_reference()

    @property
    def reward_source(self) -> str:
        """``"evaluators"`` or ``"conscience"``; a change takes effect on the next cycle."""
        return self._reward_source

    @reward_source.setter
    def reward_source(self, value: str) -> None:
        value = check_reward_source(value)
        if value == "conscience" and self._head_updates == 0:
            raise ConfigError("reward_source='conscience' needs a scalar head that has learned something, but no "
                              "update has trained it yet; run cycles with reward_source='evaluators' first "
                              "(e.g. engine.run(50))")
        if value == "conscience" and self._reward_source != "conscience" and self.config.reset_optimizer_on_switch:
            self.optimizer.state.clear()  # fresh moments: the next step starts as a new Adam would
        self._reward_source = value

    def set_reference(self, model=None) -> None:
        """Make a frozen copy of ``model`` (default: the student as it is now) the reference policy
        (a :class:`~scalarscope.engine.kl.ReferencePolicy`; its ``model`` is the copy)."""
        self.reference = ReferencePolicy(self.model if model is None else model)

    def head_learns(self) -> bool:
        """Whether this cycle's update trains the scalar head (always, unless it is the frozen conscience)."""
        return self._reward_source == "evaluators" or self.config.conscience_learns

    def policy_rewards(self, table: ScoreTable, columns: np.ndarray, gen) -> np.ndarray:
        """Per-token rewards [B, T] the policy gradient uses, from the current reward source."""
        from scalarscope.engine._update import token_rewards

        horizon = gen.tokens.shape[1]
        if self._reward_source == "conscience":
            return conscience_rewards(gen.values, gen.lengths, horizon)
        return token_rewards(table, columns, gen.lengths, horizon)

    def _count_head_update(self) -> None:
        if self.head_learns():
            self._head_updates += 1

    # -- checkpoints: plain values and tensors ---------------------------------------------
    # the engine's checkpoint hooks (a subclass joins its own state to these, through super())
    def _extra_state(self) -> dict:
        """JSON-able state beyond the core; ``init_kwargs`` go back to the constructor."""
        return {"steering": self.steering_values()}

    def _extra_tensors(self) -> dict:
        return {f"reference.{k}": v for k, v in self.steering_tensors().items()}

    def _load_extra(self, state: dict, tensors: dict) -> None:
        """Restore what :meth:`_extra_state` and :meth:`_extra_tensors` saved."""
        reference = {k[len("reference."):]: v for k, v in tensors.items() if k.startswith("reference.")}
        self.restore_steering_state({**state["steering"], "reference": reference})

    def steering_values(self) -> dict:
        """The JSON-able part of the state: {"reward_source": str, "head_updates": int}."""
        return {"reward_source": self._reward_source, "head_updates": int(self._head_updates)}

    def steering_tensors(self) -> dict:
        """The reference policy's tensors (its state_dict)."""
        return {k: v.detach().clone() for k, v in self.reference.model.state_dict().items()}

    def restore_steering_state(self, state: dict) -> None:
        """Undo of :meth:`steering_values` joined by ``"reference"``: :meth:`steering_tensors`, on a
        freshly built engine with the same student architecture."""
        self._head_updates = int(state["head_updates"])
        self._reward_source = check_reward_source(state["reward_source"])
        reference = ReferencePolicy(self.model)
        reference.model.load_state_dict(state["reference"])
        self.reference = reference
