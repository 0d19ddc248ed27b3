"""The conscience score: one number for how far the student has internalized its evaluators.

It is the plain mean of three measured components, each in [0, 1], with no added bonuses:

- **transfer**: the latest holdout transfer as a share of its agreement ceiling (``ratio``),
  or, without a holdout, the latest fidelity (correlation of the internal evaluator's aggregate
  with the training evaluators' aggregate) — how much of what is knowable it predicts;
- **calibration**: ``1 - head_mae / baseline_mae`` of the latest measurement — how much better
  its per-evaluator scores are than always predicting each evaluator's mean;
- **settling**: how far the surprise fell, ``1 - mean(last window) / mean(first window)``.

A component that could not be measured (NaN: no valid probe, no finite surprise) counts 0.
The tier reads the score: >= 0.8 CONVERGENT, >= 0.6 INTEGRATING, >= 0.3 EMERGING, else NASCENT
(and UNMEASURED before any transfer measurement). The Desktop export writes the tier as
``conscience_tier``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TIERS = ((0.8, "CONVERGENT"), (0.6, "INTEGRATING"), (0.3, "EMERGING"), (0.0, "NASCENT"))


@dataclass(frozen=True)
class Conscience:
    score: float
    tier: str
    transfer: float
    calibration: float
    settling: float


def conscience(history, *, window: int = 20) -> Conscience:
    """The conscience score and tier of a run's :class:`History`."""
    transfers = history.transfers
    if not transfers:
        return Conscience(0.0, "UNMEASURED", 0.0, 0.0, 0.0)
    last = transfers[-1]
    transfer = last.ratio if last.holdout is not None else last.fidelity
    calibration = 1.0 - last.head_mae / last.baseline_mae if last.baseline_mae > 0 else float("nan")
    surprise = np.array([r.metrics.surprise for r in history if r.status != "budget_exhausted"], dtype=float)
    surprise = surprise[np.isfinite(surprise)]
    settling = 0.0
    if len(surprise) >= 2:
        w = max(1, min(window, len(surprise) // 2))
        first = surprise[:w].mean()
        settling = 1.0 - surprise[-w:].mean() / first if first > 0 else 0.0
    parts = [float(np.clip(x, 0.0, 1.0)) if np.isfinite(x) else 0.0 for x in (transfer, calibration, settling)]
    score = float(np.mean(parts))
    tier = next(name for bound, name in TIERS if score >= bound)
    return Conscience(score, tier, *parts)
