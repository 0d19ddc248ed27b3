"""Holdout transfer: does the internal evaluator predict an evaluator it never trained on?

Protocol (fixed): take ``n`` probe responses from a named *distribution* after prompts drawn from
the engine's source; the internal evaluator predicts each training evaluator's score and we
average them (its *aggregate*). Transfer is the Pearson correlation of that aggregate with the
held-out evaluator's score. The distributions (``probes=``):

* ``"random"``: uniformly random full-length text from the student's tokenizer (the default);
* ``"policy"``: the policy's own samples, at the engine's temperature;
* a sequence of texts: responses the caller chose (a world's natural text), each scored once.

Beside transfer, on the same probes: ``fidelity`` (the aggregate against the training evaluators'
own aggregate: how well the head learned what it saw), two ceilings (how much of the holdout is
knowable from the training evaluators: ``ceiling``, their equal-weight mean; ``best_ceiling``, their
cross-validated best linear combination), a bootstrap 95 % interval of transfer over probes
(``ci_low``, ``ci_high``) and a permutation p-value against shuffled held-out scores (``p_null``);
see :mod:`scalarscope.engine.transfer_stats`. On random probes transfer ≈ fidelity × ceiling by
construction: the head can only pass on the part of the holdout its training evaluators share.

``engine.holdout_transfer(n)`` draws fresh probes and measures the parameters as they are. The
engine's automatic measurement every ``transfer_every`` cycles uses one random probe set drawn from
the seed and scored once, and measures the parameters that cycle starts from (like the geometry
state), on the probe worker during the cycle's update: successive points differ only by what was
learned. It carries both ceilings but not the interval and the null (NaN: not measured there): the
1,000 resamples and 1,000 shuffles cost about as much as a training cycle on its 256 probes
(``benchmarks/bench_transfer_stats.py``), and a live curve does not need them; every
``engine.holdout_transfer`` measures them.

Probes on which any evaluator failed (raised, or returned NaN) are left out. When fewer than
:data:`MIN_VALID` remain, nothing can be measured: every number of the measurement is NaN (never
0, which would read as "no transfer, perfectly calibrated"), ``n`` says how many probes were
usable, and a :class:`~scalarscope.errors.MeasurementWarning` names the failing evaluators. A
correlation over a constant side (an untrained head predicts one value everywhere) is NaN with a
warning too. Warnings, not errors, so that a run's automatic measurement does not stop training.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from scalarscope.engine import transfer_stats
from scalarscope.engine._checks import MAX_PROBES, check_count, check_optional_seed
from scalarscope.engine.records import MIN_CEILING, TransferMeasurement
from scalarscope.errors import ConfigError, MeasurementWarning
from scalarscope.evaluators.scalar_head import safe_corr

if TYPE_CHECKING:
    from scalarscope.engine.context import RunContext

MIN_VALID = 3  # probes every evaluator scored, needed for a correlation
DISTRIBUTIONS = ("random", "policy")  # or a sequence of texts: "texts"


def measure_transfer(context: RunContext, *, cycle: int, n: int = 2000, probes="random",
                     seed: int | None = None) -> TransferMeasurement:
    """Measure transfer, its interval and null, both ceilings, the ratio, fidelity and head error on
    ``n`` probes (``n`` in [3, :data:`~scalarscope.engine._checks.MAX_PROBES`]) of the distribution
    ``probes``: ``"random"``, ``"policy"`` or a sequence of response texts (each used once; ``n``
    does not apply). ``seed`` fixes the probes and the resampling (default: the engine's seed and
    cycle)."""
    from scalarscope.engine.probes import predict_and_score

    seed = check_optional_seed(seed)
    entropy = (lambda stream: [context.entropy, cycle, stream]) if seed is None else \
        (lambda stream: [abs(seed), stream])
    stats_rng = np.random.default_rng(entropy(6))
    if not isinstance(probes, str):
        texts = check_texts(context, probes)
        predicted, table = _texts_measurement(context, texts, np.random.default_rng(entropy(7)))
        return summarize_transfer(context, predicted, table, cycle, distribution="texts", rng=stats_rng)
    if probes not in DISTRIBUTIONS:
        raise ConfigError(f"probes must be 'random', 'policy' or a sequence of response texts, got {probes!r}; "
                          "e.g. context.holdout_transfer(500, probes='policy')")
    n = check_count(n, "n", minimum=3, maximum=MAX_PROBES,
                    example="context.holdout_transfer(2000); at least 3 probe responses to measure a correlation")
    if probes == "policy":
        predicted, table = _policy_measurement(context, n, np.random.default_rng(entropy(5)), None)
    else:
        ids, prompt_index = draw_probes(context, n, entropy(3) if seed is None else entropy(4))
        predicted, table = predict_and_score(context, list(context.prompts), prompt_index, ids)  # [n, H], all evaluators
    return summarize_transfer(context, predicted, table, cycle, distribution=probes, rng=stats_rng)


def draw_probes(context: RunContext, n: int, entropy) -> tuple[np.ndarray, np.ndarray]:
    """``n`` uniformly random full-length probe responses [n, L] and the engine prompts they answer [n]."""
    rng = np.random.default_rng(entropy)
    ids = context.tokenizer.sample_probes(n, context.config.probe_length, rng)
    return ids, rng.integers(len(context.prompts), size=n)


def summarize_transfer(context: RunContext, predicted: np.ndarray, table, cycle: int, *, distribution: str = "random",
                       rng: np.random.Generator | None = None, uncertainty: bool = True) -> TransferMeasurement:
    """The measurement from the internal evaluator's predictions [n, H] and every evaluator's scores
    (``rng`` drives the bootstrap and the permutations; default: seeded from the cycle;
    ``uncertainty=False`` leaves the interval and the null unmeasured, NaN)."""
    cols = context.train_cols
    ok = table.valid.all(1)
    if ok.sum() < MIN_VALID:
        return _unmeasurable(context, table, ok, cycle, distribution)
    rng = rng if rng is not None else np.random.default_rng([context.entropy, cycle, 6])
    truth = table.sequence[ok][:, cols]
    aggregate = predicted[ok].mean(1)
    true_aggregate = truth.mean(1)
    where = f"at cycle {cycle} on {distribution} probes"
    names = ("the internal evaluator's prediction (an untrained head predicts one value)",
             "the training evaluators' aggregate score", "the held-out evaluator's score")
    fidelity = safe_corr(aggregate, true_aggregate, what=f"fidelity {where}", sides=names[:2])
    head_mae = float(np.abs(predicted[ok] - truth).mean())
    baseline_mae = float(np.abs(truth - truth.mean(0)).mean())
    nan = math.nan
    if context.holdout is None:  # nothing held out: nothing to transfer to (NaN, not 0)
        return TransferMeasurement(cycle, None, nan, nan, nan, fidelity, head_mae, int(ok.sum()), baseline_mae,
                                   distribution=distribution)
    held = table.sequence[ok][:, context.holdout_col]
    transfer = safe_corr(aggregate, held, what=f"holdout transfer {where}", sides=(names[0], names[2]))
    ceiling = safe_corr(true_aggregate, held, what=f"agreement ceiling {where}", sides=names[1:])
    # the ratio only means something when there is a ceiling to approach
    ratio = transfer / ceiling if ceiling >= MIN_CEILING else nan
    ci_low, ci_high, p_null = nan, nan, nan
    if uncertainty and math.isfinite(transfer):
        ci_low, ci_high = transfer_stats.bootstrap_interval(aggregate, held, rng)
        p_null = transfer_stats.permutation_p(aggregate, held, rng)
    best = transfer_stats.best_linear_ceiling(truth, held) if math.isfinite(ceiling) else nan
    return TransferMeasurement(cycle, context.holdout, transfer, ceiling, ratio, fidelity, head_mae, int(ok.sum()),
                               baseline_mae, distribution=distribution, best_ceiling=best, ci_low=ci_low,
                               ci_high=ci_high, p_null=p_null)


def _unmeasurable(context: RunContext, table, ok: np.ndarray, cycle: int, distribution: str) -> TransferMeasurement:
    """Too few probes every evaluator scored: NaN everywhere, and a warning that says why."""
    failing = sorted({name for name, _ in table.failures})
    warnings.warn(f"holdout transfer at cycle {cycle}: only {int(ok.sum())} of {len(ok)} probe responses have a "
                  f"finite score from every evaluator (failing: {', '.join(failing) or 'none'}); transfer, ceiling, "
                  "ratio, fidelity and head_mae are NaN. Check those evaluators on random text.",
                  MeasurementWarning, stacklevel=5)  # the caller of context.holdout_transfer
    nan = float("nan")
    return TransferMeasurement(cycle, context.holdout, nan, nan, nan, nan, nan, int(ok.sum()), nan,
                               distribution=distribution)


def check_texts(context: RunContext, texts) -> list[np.ndarray]:
    """Each response text of ``texts`` as token ids, or a :class:`ConfigError` naming the first that
    the student's tokenizer cannot encode (or that is empty)."""
    if not isinstance(texts, Sequence) or not all(isinstance(t, str) for t in texts):
        raise ConfigError(f"probes must be 'random', 'policy' or a sequence of response texts (str), got "
                          f"{type(texts).__name__}; e.g. context.holdout_transfer(probes=['a reply', 'another'])")
    if len(texts) < MIN_VALID:
        raise ConfigError(f"probes has {len(texts)} text(s); a correlation needs at least {MIN_VALID}")
    encoded = []
    for index, text in enumerate(texts):
        try:
            ids = context.tokenizer.encode(text, what="probe response")
        except ValueError as exc:
            raise ConfigError(f"probes[{index}] ({text[:40]!r}) cannot be encoded by the student's tokenizer: "
                              f"{str(exc).rstrip('.')}. "
                              "Pass texts the student can write (for the default world: its alphabet).") from exc
        if len(ids) == 0:
            raise ConfigError(f"probes[{index}] is empty after encoding; every probe response needs a token")
        encoded.append(np.asarray(ids, dtype=np.int64))
    return encoded


def _texts_measurement(context: RunContext, encoded: list[np.ndarray], rng: np.random.Generator):
    """Predictions [n, H] and every evaluator's scores of given responses after random engine prompts."""
    lengths = np.array([len(ids) for ids in encoded])
    ids = np.full((len(encoded), lengths.max()), context.tokenizer.pad_id, dtype=np.int64)
    for row, text_ids in enumerate(encoded):
        ids[row, :len(text_ids)] = text_ids
    prompt_index = rng.integers(len(context.prompts), size=len(encoded))
    return _predict_and_score_lengths(context, prompt_index, ids, lengths)


def _policy_measurement(context: RunContext, n: int, rng: np.random.Generator, temperature: float | None):
    """Predictions [n, H] (read during decoding) and scores of ``n`` samples of the policy."""
    import torch

    from scalarscope.evaluators.scalar_head import predicted_scores

    prompt_index = rng.integers(len(context.prompts), size=n)
    prompt_ids = [context.encode_prompt(p) for p in context.prompts]
    generator = torch.Generator(device=context.device).manual_seed(int(rng.integers(2**62)))
    limits = np.full(n, context.config.max_new_tokens)
    gen = context.student.generate(prompt_ids, prompt_index, limits, generator=generator,
                                temperature=temperature or context.config.temperature)
    return predicted_scores(gen.values, gen.lengths), _score(context, prompt_index, gen.tokens, gen.lengths)


def _predict_and_score_lengths(context: RunContext, prompt_index: np.ndarray, ids: np.ndarray, lengths: np.ndarray):
    from scalarscope.engine._threads import torch_threads
    from scalarscope.evaluators.scalar_head import predicted_scores

    prompt_ids = [context.encode_prompt(p) for p in context.prompts]
    with torch_threads(context.config.torch_threads):
        values = context.student.predict_values(prompt_ids, prompt_index, ids)  # causal: padding cannot reach a token
    return predicted_scores(values, lengths), _score(context, prompt_index, ids, lengths)


def _score(context: RunContext, prompt_index: np.ndarray, ids: np.ndarray, lengths: np.ndarray):
    from scalarscope.evaluators.base import score_responses

    prompt_ids = [context.encode_prompt(p) for p in context.prompts]
    return score_responses(context.evaluators, [context.prompts[i] for i in prompt_index],
                           context.tokenizer.decode_batch(ids, lengths), prompt_ids=[prompt_ids[i] for i in prompt_index],
                           response_ids=ids, lengths=lengths, tokenizer=context.tokenizer)


class AutomaticTransfer:
    """The engine's live transfer measurement every ``transfer_every`` cycles: one probe set drawn
    from the seed and scored by every evaluator once (on first use: ``context.transfer_probes()``),
    read with the parameters each due cycle starts from."""

    def __init__(self, context: RunContext):
        self.context = context

    def due(self, cycle: int) -> bool:
        every = self.context.config.transfer_every
        return bool(every) and cycle % every == 0

    def read(self) -> np.ndarray:
        """[may run on the probe worker] The internal evaluator's predictions [n, H] of the set."""
        from scalarscope.engine import probes

        probe_set = self.context.transfer_probes()
        return probes.predict_probes(self.context, probe_set.prompt_ids, probe_set.prompt_index, probe_set.ids)

    def summarize(self, predictions: np.ndarray | None, cycle: int) -> TransferMeasurement | None:
        if predictions is None:
            return None
        with warnings.catch_warnings():
            if cycle == 0:  # read before any update: the zero-initialised head predicts one value (NaN, expected)
                warnings.simplefilter("ignore", MeasurementWarning)
            return summarize_transfer(self.context, predictions, self.context.transfer_probes().table, cycle,
                                      distribution="random", uncertainty=False)


def measure_policy_transfer(engine, *, n: int = 512, seed: int = 0,
                            temperature: float | None = None) -> TransferMeasurement:
    """Transfer on the policy's own outputs at ``temperature`` (default: the engine's); with the
    engine's temperature this is ``engine.holdout_transfer(n, probes="policy", seed=seed)``. Where the
    policy has collapsed its outputs vary little, and a correlation over them says little: read it
    next to the random-probe measurement."""
    n = check_count(n, "n", minimum=3, maximum=MAX_PROBES, example="measure_policy_transfer(engine, n=512)")
    seed = check_optional_seed(seed) or 0
    predicted, table = _policy_measurement(engine.context, n, np.random.default_rng([abs(seed), 5]), temperature)
    return summarize_transfer(engine.context, predicted, table, engine.cycle, distribution="policy",
                              rng=np.random.default_rng([abs(seed), 6]))
