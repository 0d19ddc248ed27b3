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

Probes on which any evaluator failed (raised, or returned NaN) are left out. When fewer than
:data:`MIN_VALID` remain, nothing can be measured: every number of the measurement is NaN (never
0, which would read as "no transfer, perfectly calibrated"), ``n`` says how many probes were
usable, and a :class:`~scalarscope.errors.MeasurementWarning` names the failing evaluators. It is a
warning, not an error, so that a run's automatic measurement does not stop training.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np

from scalarscope.engine._checks import MAX_PROBES, check_count, check_optional_seed
from scalarscope.engine.records import MIN_CEILING, TransferMeasurement
from scalarscope.errors import MeasurementWarning
from scalarscope.evaluators.scalar_head import safe_corr

MIN_VALID = 3  # probes every evaluator scored, needed for a correlation


def measure_transfer(engine, *, n: int = 2000, seed: int | None = None) -> TransferMeasurement:
    """Measure transfer, ceiling, their ratio, fidelity and head error on ``n`` fresh probes
    (``n`` in [3, :data:`~scalarscope.engine._checks.MAX_PROBES`])."""
    from scalarscope.engine.probes import predict_and_score

    n = check_count(n, "n", minimum=3, maximum=MAX_PROBES,
                    example="engine.holdout_transfer(2000); at least 3 probe responses to measure a correlation")
    seed = check_optional_seed(seed)
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
    if ok.sum() < MIN_VALID:
        return _unmeasurable(engine, table, ok, cycle)
    truth = table.sequence[ok][:, cols]
    aggregate = predicted[ok].mean(1)
    true_aggregate = truth.mean(1)
    fidelity = safe_corr(aggregate, true_aggregate)
    head_mae = float(np.abs(predicted[ok] - truth).mean())
    baseline_mae = float(np.abs(truth - truth.mean(0)).mean())
    if engine.holdout is None:  # nothing held out: nothing to transfer to (NaN, not 0)
        nan = float("nan")
        return TransferMeasurement(cycle, None, nan, nan, nan, fidelity, head_mae, int(ok.sum()), baseline_mae)
    held = table.sequence[ok][:, [e.name for e in engine.evaluators].index(engine.holdout)]
    transfer = safe_corr(aggregate, held)
    ceiling = safe_corr(true_aggregate, held)
    # the ratio only means something when there is a ceiling to approach
    ratio = transfer / ceiling if ceiling >= MIN_CEILING else 0.0
    return TransferMeasurement(cycle, engine.holdout, transfer, ceiling, ratio, fidelity, head_mae,
                               int(ok.sum()), baseline_mae)


def _unmeasurable(engine, table, ok: np.ndarray, cycle: int) -> TransferMeasurement:
    """Too few probes every evaluator scored: NaN everywhere, and a warning that says why."""
    failing = sorted({name for name, _ in table.failures})
    warnings.warn(f"holdout transfer at cycle {cycle}: only {int(ok.sum())} of {len(ok)} probe responses have a "
                  f"finite score from every evaluator (failing: {', '.join(failing) or 'none'}); transfer, ceiling, "
                  "ratio, fidelity and head_mae are NaN. Check those evaluators on random text.",
                  MeasurementWarning, stacklevel=5)  # the caller of engine.holdout_transfer
    nan = float("nan")
    return TransferMeasurement(cycle, engine.holdout, nan, nan, nan, nan, nan, int(ok.sum()), nan)


class _ProbeSet(NamedTuple):
    ids: np.ndarray  # [n, L]
    prompt_index: np.ndarray  # [n] into the engine's prompts
    prompt_ids: list[np.ndarray]  # the engine's prompts, encoded
    table: object  # every evaluator's ScoreTable of the probes


class AutomaticTransfer:
    """The engine's live transfer measurement every ``transfer_every`` cycles: one probe set drawn
    from the seed and scored by every evaluator once (on first use), read with the parameters
    each due cycle starts from."""

    def __init__(self, engine):
        self.engine = engine
        self._probes: _ProbeSet | None = None

    def due(self, cycle: int) -> bool:
        every = self.engine.config.transfer_every
        return bool(every) and cycle % every == 0

    def probe_set(self) -> _ProbeSet:
        from scalarscope.engine import probes

        if self._probes is None:
            engine = self.engine
            ids, prompt_index = draw_probes(engine, engine.config.transfer_probes, [engine._entropy, 2**32 + 11])
            self._probes = _ProbeSet(ids, prompt_index, [engine._encode_prompt(p) for p in engine.prompts],
                                     probes.score_probes(engine, list(engine.prompts), prompt_index, ids))
        return self._probes

    def read(self) -> np.ndarray:
        """[may run on the probe worker] The internal evaluator's predictions [n, H] of the set."""
        from scalarscope.engine import probes

        probe_set = self.probe_set()
        return probes.predict_probes(self.engine, probe_set.prompt_ids, probe_set.prompt_index, probe_set.ids)

    def summarize(self, predictions: np.ndarray | None, cycle: int) -> TransferMeasurement | None:
        if predictions is None:
            return None
        return summarize_transfer(self.engine, predictions, self.probe_set().table, cycle)


def measure_policy_transfer(engine, *, n: int = 512, seed: int = 0,
                            temperature: float | None = None) -> TransferMeasurement:
    """Transfer and ceiling on the policy's own outputs instead of random text: ``n`` responses
    sampled from the student (at the engine's temperature unless given) after the engine's
    prompts, scored by every evaluator and predicted by the internal evaluator. Where the policy
    has collapsed its outputs vary little, and a correlation over them says little: read it next
    to the random-probe measurement (:func:`measure_transfer`)."""
    import torch

    from scalarscope.evaluators.base import score_responses
    from scalarscope.evaluators.scalar_head import predicted_scores

    n = check_count(n, "n", minimum=3, maximum=MAX_PROBES, example="measure_policy_transfer(engine, n=512)")
    seed = check_optional_seed(seed) or 0
    rng = np.random.default_rng([abs(seed), 5])
    prompt_index = rng.integers(len(engine.prompts), size=n)
    prompt_ids = [engine._encode_prompt(p) for p in engine.prompts]
    generator = torch.Generator(device=engine._device).manual_seed(int(rng.integers(2**62)))
    limits = np.full(n, engine.config.max_new_tokens)
    gen = engine.model.generate(prompt_ids, prompt_index, limits, generator=generator,
                                temperature=temperature or engine.config.temperature)
    predicted = predicted_scores(gen.values, gen.lengths)
    texts = engine.tokenizer.decode_batch(gen.tokens, gen.lengths)
    table = score_responses(engine.evaluators, [engine.prompts[i] for i in prompt_index], texts,
                            prompt_ids=[prompt_ids[i] for i in prompt_index], response_ids=gen.tokens,
                            lengths=gen.lengths, tokenizer=engine.tokenizer)
    return summarize_transfer(engine, predicted, table, engine.cycle)
