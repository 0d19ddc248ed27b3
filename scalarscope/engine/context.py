"""The run context: everything a cycle reads and no cycle changes, built once per engine.

The student, its tokenizer, the evaluators and which of them train, the configuration, the seed's
entropy, the prompts and the fixed probe sets. Stages, measurements (transfer, probes) and
checkpoints take this context, never the engine's private fields. It is frozen: a new student or a
new set of evaluators is a new engine. (The student's *parameters* change, of course: the context
holds the object, the optimiser updates it.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch

from scalarscope.engine.config import EngineConfig
from scalarscope.evaluators.base import Evaluator, ScoreTable

if TYPE_CHECKING:
    from scalarscope.student.protocol import Tokenizer



@dataclass(frozen=True)
class TransferProbes:
    """The automatic transfer measurement's fixed probe set, scored once by every evaluator."""

    ids: np.ndarray  # [n, L]
    prompt_index: np.ndarray  # [n] into the context's prompts
    prompt_ids: list[np.ndarray]  # the context's prompts, encoded
    table: ScoreTable  # every evaluator's scores of the probes


@dataclass(frozen=True, eq=False)
class RunContext:
    """What every cycle of one engine reads (see the module docstring)."""

    student: object  # a scalarscope.student.Student
    evaluators: tuple[Evaluator, ...]  # as checked (a synthetic EvaluatorSet keeps its type: checkpoints rebuild it)
    holdout: str | None
    config: EngineConfig
    seed: int
    prompts: tuple[str, ...]
    state_probe: np.ndarray  # [S, L] fixed random responses: the geometry state and the evaluators' fingerprint
    state_prompt_ids: list[np.ndarray]  # the state prompt, encoded
    state_probe_scores: np.ndarray  # [S, n_evaluators] every evaluator's scores of the state probe
    _prompt_ids: dict = field(default_factory=dict, repr=False)  # encode_prompt's cache
    _transfer_probes: list = field(default_factory=list, repr=False)  # transfer_probes' cache (0 or 1 item)

    @property
    def tokenizer(self) -> Tokenizer:
        return self.student.tokenizer

    @property
    def entropy(self) -> int:
        """The seed as the root of every random draw: cycle c's draws come from (entropy, c, stream)."""
        return self.seed % 2**64

    @property
    def evaluator_names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.evaluators)

    @property
    def train_names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.evaluators if e.name != self.holdout)

    @property
    def train_cols(self) -> np.ndarray:
        """Column indices [H] of the training evaluators among all evaluators."""
        return np.array([i for i, e in enumerate(self.evaluators) if e.name != self.holdout])

    @property
    def holdout_col(self) -> int | None:
        return None if self.holdout is None else self.evaluator_names.index(self.holdout)

    @property
    def device(self) -> torch.device:
        return getattr(self.student, "device", torch.device("cpu"))

    def encode_prompt(self, prompt: str) -> np.ndarray:
        """Token ids of ``prompt`` (cached: a prompt source repeats its prompts; read-only)."""
        ids = self._prompt_ids.get(prompt)
        if ids is None:
            ids = self._prompt_ids[prompt] = self.tokenizer.encode(prompt, what="prompt")
            ids.flags.writeable = False
        return ids

    def transfer_probes(self) -> TransferProbes:
        """The automatic transfer measurement's probe set, drawn from the seed and scored by every
        evaluator on first use (then kept)."""
        if not self._transfer_probes:
            from scalarscope.engine import probes
            from scalarscope.engine.transfer import draw_probes

            ids, prompt_index = draw_probes(self, self.config.transfer_probes, [self.entropy, 2**32 + 11])
            table = probes.score_probes(self, list(self.prompts), prompt_index, ids)
            self._transfer_probes.append(TransferProbes(ids, prompt_index,
                                                        [self.encode_prompt(p) for p in self.prompts], table))
        return self._transfer_probes[0]


def build_context(student, evaluators: Sequence[Evaluator], holdout: str | None, config: EngineConfig, seed: int,
                  prompts: Sequence[str]) -> RunContext:
    """The context of a new engine: draws the fixed state probe from the seed and has every
    evaluator score it (an evaluator that fails on it is an error)."""
    from scalarscope.engine import probes

    probe_rng = np.random.default_rng([seed % 2**64, 2**32 + 7])
    state_probe = student.tokenizer.sample_probes(config.state_probe_size, config.probe_length, probe_rng)
    state_prompt_ids = [student.tokenizer.encode(probes.STATE_PROMPT)]
    partial = RunContext(student, evaluators, holdout, config, seed, tuple(prompts), state_probe,
                         state_prompt_ids, np.zeros((0, len(evaluators))))
    scores = probes.score_state_probe(partial, state_probe)
    return RunContext(student, evaluators, holdout, config, seed, tuple(prompts), state_probe,
                      state_prompt_ids, scores)
