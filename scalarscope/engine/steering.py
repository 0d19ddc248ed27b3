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

from scalarscope.engine.kl import ReferencePolicy
from scalarscope.engine.reward_source import REWARD_SOURCES, check_reward_source, conscience_rewards
from scalarscope.errors import ConfigError

__all__ = ["REWARD_SOURCES", "Steering", "check_reward_source", "conscience_rewards"]


class Steering:
    """The engine's reward source and reference policy (a base class of the engines).

    State (all a checkpoint needs, see :meth:`steering_state`): the reward source, the number of
    updates that trained the scalar head, and the reference policy's tensors.
    """

    def _init_steering(self) -> None:
        self._reward = REWARD_SOURCES["evaluators"]  # a strategy: see scalarscope.engine.reward_source
        self._head_updates = 0
        self.set_reference()

    @property
    def reward_source(self) -> str:
        """``"evaluators"`` or ``"conscience"``; a change takes effect on the next cycle."""
        return self._reward.name

    @reward_source.setter
    def reward_source(self, value: str) -> None:
        value = check_reward_source(value)
        if value == "conscience" and self._head_updates == 0:
            raise ConfigError("reward_source='conscience' needs a scalar head that has learned something, but no "
                              "update has trained it yet; run cycles with reward_source='evaluators' first "
                              "(e.g. engine.run(50))")
        switched = value != self._reward.name
        self._reward = REWARD_SOURCES[value]
        if switched:
            self._reward.on_switch(self)

    def set_reference(self, model=None) -> None:
        """Make a frozen copy of ``model`` (default: the student as it is now) the reference policy
        (a :class:`~scalarscope.engine.kl.ReferencePolicy`; its ``model`` is the copy)."""
        self.reference = ReferencePolicy(self.model if model is None else model)

    def head_learns(self) -> bool:
        """Whether this cycle's update trains the scalar head (always, unless it is the frozen conscience)."""
        return self._reward.head_learns(self.config)

    def _count_head_update(self) -> None:
        if self.head_learns():
            self._head_updates += 1

    # -- checkpoints: plain values and tensors ---------------------------------------------
    def steering_values(self) -> dict:
        """The JSON-able part of the state: {"reward_source": str, "head_updates": int}."""
        return {"reward_source": self._reward.name, "head_updates": int(self._head_updates)}

    def steering_tensors(self) -> dict:
        """The reference policy's tensors (its state_dict)."""
        return {k: v.detach().clone() for k, v in self.reference.model.state_dict().items()}

    def restore_steering_state(self, state: dict) -> None:
        """Undo of :meth:`steering_values` joined by ``"reference"``: :meth:`steering_tensors`, on a
        freshly built engine with the same student architecture."""
        self._head_updates = int(state["head_updates"])
        self._reward = REWARD_SOURCES[check_reward_source(state["reward_source"])]
        reference = ReferencePolicy(self.model)
        reference.model.load_state_dict(state["reference"])
        self.reference = reference
