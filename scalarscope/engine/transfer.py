"""Holdout transfer: does the internal evaluator predict an evaluator it never trained on?

Protocol (fixed): draw ``n`` fresh probe responses (uniformly random text after prompts from
the engine's source); the internal evaluator predicts each training evaluator's score and we
average them (its *aggregate*). Transfer is the Pearson correlation of that aggregate with the
held-out evaluator's score; the *agreement ceiling* is the same correlation computed from the
training evaluators' own aggregate score, i.e. how much of the holdout is knowable from them.

``engine.holdout_transfer(n)`` draws fresh probes and measures the parameters as they are. The
engine's automatic measurement every ``transfer_every`` cycles uses one probe set drawn from the
seed and scored once, and measures the parameters that cycle starts from (like the geometry state),
on the probe worker during the cycle's update: successive points differ only by what was learned.
"""

from __future__ import annotations

import numpy as np

from scalarscope.engine.records import TransferMeasurement
from scalarscope.errors import ConfigError
from scalarscope.evaluators.scalar_head import safe_corr

MIN_CEILING = 0.1  # below this agreement ceiling, transfer / ceiling is reported as 0


def measure_transfer(engine, *, n: int = 2000, seed: int | None = None) -> TransferMeasurement:
    """Measure transfer, ceiling, their ratio, fidelity and head error on ``n`` fresh probes."""
    from scalarscope.engine.probes import predict_and_score

    if n < 3:
        raise ConfigError(f"n must be >= 3 probe responses to measure a correlation, got {n}")
    ids, prompt_index = draw_probes(engine, n, [engine._entropy, engine.cycle, 3] if seed is None else [abs(seed), 4])
    predicted, table = predict_and_score(engine, list(engine.prompts), prompt_index, ids)  # [n, H], all evaluators
    return summarize_transfer(engine, predicted, table, engine.cycle)


def draw_probes(engine, n: int, entropy) -> tuple[np.ndarray, np.ndarray]:
    """``n`` uniformly random full-length probe responses [n, L] and the engine prompts they answer [n]."""
    rng = np.random.default_rng(entropy)
    ids = engine.tokenizer.sample_probes(n, engine.config.probe_length, rng)
    return ids, rng.integers(len(engine.prompts), size=n)


def summarize_transfer(engine, predicted: np.ndarray, table, cycle: int) -> TransferMeasurement:
    """The measurement from the internal evaluator's predictions [n, H] and every evaluator's scores."""
    cols = engine._train_cols
    ok = table.valid.all(1)
    truth = table.sequence[ok][:, cols]
    aggregate = predicted[ok].mean(1)
    true_aggregate = truth.mean(1)
    fidelity = safe_corr(aggregate, true_aggregate)
    head_mae = float(np.abs(predicted[ok] - truth).mean()) if ok.any() else 0.0
    baseline_mae = float(np.abs(truth - truth.mean(0)).mean()) if ok.any() else 0.0
    if engine.holdout is None:
        return TransferMeasurement(cycle, None, 0.0, 0.0, 0.0, fidelity, head_mae, int(ok.sum()), baseline_mae)
    held = table.sequence[ok][:, [e.name for e in engine.evaluators].index(engine.holdout)]
    transfer = safe_corr(aggregate, held)
    ceiling = safe_corr(true_aggregate, held)
    # the ratio only means something when there is a ceiling to approach
    ratio = transfer / ceiling if ceiling >= MIN_CEILING else 0.0
    return TransferMeasurement(cycle, engine.holdout, transfer, ceiling, ratio, fidelity, head_mae,
                               int(ok.sum()), baseline_mae)
