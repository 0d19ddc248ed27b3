"""Small pure pieces of a cycle's bookkeeping (its stages are in :mod:`scalarscope.engine.stages`)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

GEOMETRY_WINDOW = 20


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
