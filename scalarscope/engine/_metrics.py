"""Turning one cycle's raw arrays into its :class:`TrainingMetrics` and failure events."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scalarscope.engine.records import FailureEvent, TrainingMetrics
from scalarscope.evaluators.base import ScoreTable
from scalarscope.governor.token_pool import LedgerEntry


def cycle_metrics(*, table: ScoreTable, train_cols: np.ndarray, names: Sequence[str], predicted: np.ndarray,
                  critic_predicted: np.ndarray, lengths: np.ndarray, losses: dict[str, float], critic_loss: float,
                  entry: LedgerEntry) -> TrainingMetrics:
    """Metrics of a cycle. ``predicted`` / ``critic_predicted`` [B, H] are the internal evaluators'
    scores made before evaluation; responses an evaluator failed on are left out of its numbers.
    A number with no valid response to compute it from is NaN (missing), never 0."""
    nan = float("nan")
    valid = table.valid[:, train_cols]
    truth = table.sequence[:, train_cols]
    rows_ok = valid.all(1)
    if rows_ok.any():
        agg_true = truth[rows_ok].mean(1)
        surprise = float(np.abs(predicted[rows_ok].mean(1) - agg_true).mean())
        critic_surprise = float(np.abs(critic_predicted[rows_ok].mean(1) - agg_true).mean())
    else:
        surprise = critic_surprise = nan
    counts = table.valid.sum(0)
    means = (table.sequence * table.valid).sum(0) / np.maximum(counts, 1)
    scores = {name: mean for name, mean, n in zip(names, means.tolist(), counts.tolist(), strict=True) if n}
    return TrainingMetrics(
        loss=losses["loss"], policy_loss=losses["policy_loss"], head_loss=losses["head_loss"],
        critic_loss=critic_loss, tokens_used=entry.used, tokens_granted=entry.granted,
        tokens_refused=entry.refused, mean_score=float(truth[valid].mean()) if valid.any() else nan,
        predicted_score=float(predicted.mean()), surprise=surprise, critic_surprise=critic_surprise,
        head_error=float(np.abs(predicted - truth)[valid].mean()) if valid.any() else nan,
        mean_length=float(np.mean(lengths)), entropy=losses["entropy"], grad_norm=losses["grad_norm"],
        kl=losses.get("kl", nan), scores=scores)


# what a cycle whose update was skipped records for every loss term: missing, not zero
NOT_OPTIMISED = dict.fromkeys(("loss", "policy_loss", "head_loss", "entropy", "grad_norm", "kl"), float("nan"))


def cycle_status(failures: Sequence[FailureEvent], *, evaluators_failed: bool) -> str:
    """The cycle's status (see :data:`~scalarscope.engine.records.STATUSES`) from what it recorded."""
    if evaluators_failed:
        return "evaluators_failed"
    if any(f.category == "divergence" and f.severity == "critical" for f in failures):
        return "diverged"
    if any(f.category == "evaluator_error" and f.severity == "critical" for f in failures):
        return "evaluator_failed"
    return "ok"


def evaluator_failures(cycle: int, problems: Sequence[tuple[str, str]], train_names: Sequence[str]) -> list[FailureEvent]:
    """One failure event per failing evaluator: critical for a training evaluator, else a warning."""
    by_name: dict[str, list[str]] = {}
    for name, problem in problems:
        by_name.setdefault(name, []).append(problem)
    return [FailureEvent(cycle, "evaluator_error", "critical" if name in train_names else "warning",
                         f"evaluator {name!r} failed on {len(msgs)} response(s): {msgs[0]}")
            for name, msgs in by_name.items()]


# A loss or gradient norm beyond this is a run blowing up, not learning: the default world's never
# pass 1.1 and 3.1 (loss, gradient norm before clipping; 200 cycles at the default learning rate
# 3e-3), learning rate 1 reaches 6e3 and 1.6e4 within 20 cycles, 1e6 reaches 5e15.
DIVERGENCE_LIMIT = 1e3


def divergence_events(cycle: int, losses: dict[str, float], limit: float = DIVERGENCE_LIMIT) -> list[FailureEvent]:
    """A ``divergence`` event when the loss or the gradient norm is finite but beyond ``limit``
    (non-finite ones are recorded where the update is skipped)."""
    loss, grad_norm = abs(losses.get("loss", 0.0)), losses.get("grad_norm", 0.0)
    if not (np.isfinite(loss) and np.isfinite(grad_norm)) or max(loss, grad_norm) <= limit:
        return []
    return [FailureEvent(cycle, "divergence", "critical",
                         f"loss {losses.get('loss', 0.0):.3g} / gradient norm {grad_norm:.3g} beyond {limit:g}: "
                         "training is blowing up; lower the learning rate")]
