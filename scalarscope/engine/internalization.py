"""The internalization score: one number for how far the student has internalized its evaluators.

(Not "the conscience": in this kit that name means the scalar head, the student's internal evaluator,
and the reward source that trains on its predictions. The Desktop file calls this score's tier
``conscience_tier``, a name the viewer's contract fixes.)

It is the plain mean of three measured components, each clipped to [0, 1], with no added bonuses:

- **transfer**: the latest holdout transfer as a share of its agreement ceiling (``ratio``),
  or, without a holdout, the latest fidelity (correlation of the internal evaluator's aggregate
  with the training evaluators' aggregate) — how much of what is knowable it predicts;
- **calibration**: ``1 - head_mae / baseline_mae`` of the latest measurement — how much better
  its per-evaluator scores are than always predicting each evaluator's mean;
- **settling**: how far the surprise fell, ``1 - mean(last window) / mean(first window)``.

A component that could not be measured (no valid probe, a ceiling too low for a ratio, fewer than
two finite surprises) is NaN, and so is the score: the tier is then ``UNMEASURED``, as it is before
any transfer measurement. Nothing unmeasured counts as 0. Otherwise the tier reads the score:
>= 0.8 CONVERGENT, >= 0.6 INTEGRATING, >= 0.3 EMERGING, else NASCENT.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

TIERS = ((0.8, "CONVERGENT"), (0.6, "INTEGRATING"), (0.3, "EMERGING"), (0.0, "NASCENT"))
UNMEASURED = "UNMEASURED"


@dataclass(frozen=True)
class Internalization:
    """The internalization score of a run, its tier and its three components (NaN: not measured)."""

    score: float
    tier: str
    transfer: float
    calibration: float
    settling: float

    @property
    def missing(self) -> tuple[str, ...]:
        """The components that could not be measured."""
        return tuple(name for name in ("transfer", "calibration", "settling") if math.isnan(getattr(self, name)))


def internalization(history, *, window: int = 20) -> Internalization:
    """The internalization score and tier of a run's :class:`History`."""
    nan = float("nan")
    transfers = history.transfers
    if not transfers:
        return Internalization(nan, UNMEASURED, nan, nan, nan)
    last = transfers[-1]
    transfer = last.ratio if last.holdout is not None else last.fidelity
    calibration = 1.0 - last.head_mae / last.baseline_mae if last.baseline_mae > 0 else nan
    surprise = np.array([r.metrics.surprise for r in history if r.status != "budget_exhausted"], dtype=float)
    surprise = surprise[np.isfinite(surprise)]
    settling = nan
    if len(surprise) >= 2:
        w = max(1, min(window, len(surprise) // 2))
        first = surprise[:w].mean()
        settling = 1.0 - surprise[-w:].mean() / first if first > 0 else nan
    parts = [float(np.clip(x, 0.0, 1.0)) if np.isfinite(x) else nan for x in (transfer, calibration, settling)]
    if any(math.isnan(p) for p in parts):
        return Internalization(nan, UNMEASURED, *parts)
    score = float(np.mean(parts))
    tier = next(name for bound, name in TIERS if score >= bound)
    return Internalization(score, tier, *parts)
