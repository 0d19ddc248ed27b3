"""One cycle's local value object and the small pure pieces of its bookkeeping."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch

from scalarscope.engine.records import FailureEvent
from scalarscope.evaluators.base import ScoreTable
from scalarscope.student.generation import Generation

GEOMETRY_WINDOW = 20


@dataclass(eq=False)
class Cycle:
    """What one cycle computes, handed from step to step (cycle-local: never kept after it)."""

    index: int
    prompts: list[str]
    prompt_ids: list[np.ndarray]
    rows: np.ndarray  # [P] responses per prompt
    row_prompt: np.ndarray  # [B] each response's prompt
    rng: np.random.Generator
    generator: torch.Generator
    start: float
    limits: np.ndarray | None = None  # [B] tokens each response may use
    probe_ids: np.ndarray | None = None  # [P', L] off-policy probe responses
    probe_prompt: np.ndarray | None = None  # [P'] their prompts
    gen: Generation | None = None
    predicted: np.ndarray | None = None  # [B, H] the internal evaluator's scores, before evaluation
    extra: dict = field(default_factory=dict)  # from the revision hook
    responses: list[str] = field(default_factory=list)
    table: ScoreTable | None = None  # every evaluator's scores of the responses
    probe_table: ScoreTable | None = None  # the training evaluators' scores of the probes (while the head learns)
    failures: list[FailureEvent] = field(default_factory=list)
    losses: dict = field(default_factory=dict)
    critic_predicted: np.ndarray | None = None
    critic_loss: float = 0.0
    stepped: bool = False  # the parameters were updated
    evaluators_failed: bool = False  # no training evaluator scored any response: no update


@lru_cache(maxsize=64)
def batch_split(batch_size: int, n_prompts: int) -> tuple[np.ndarray, np.ndarray]:
    """Responses per prompt [P] (the batch split as evenly as it goes) and each row's prompt [B].
    Cached: shared by every cycle and engine, so never modified."""
    rows = np.diff(np.linspace(0, batch_size, n_prompts + 1).round().astype(int))
    return rows, np.repeat(np.arange(n_prompts), rows)


def prompt_difficulty(prompts: list[str], row_prompt: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """What the adaptive governor reads next time, per prompt: 1 - the internal evaluator's mean
    predicted score of its responses, plus the spread of those responses' mean predictions and
    the mean spread over heads. ``predicted`` [B, H]."""
    count = np.maximum(np.bincount(row_prompt, minlength=len(prompts)), 1)
    row_mean = predicted.mean(1)
    mean = np.bincount(row_prompt, row_mean, len(prompts)) / count
    spread = np.sqrt(np.maximum(np.bincount(row_prompt, row_mean**2, len(prompts)) / count - mean**2, 0.0))
    disagreement = np.bincount(row_prompt, predicted.std(1), len(prompts)) / count
    return dict(zip(prompts, (1.0 - mean + spread + disagreement).tolist(), strict=True))
