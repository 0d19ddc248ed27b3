"""Holdout transfer on a chosen distribution of texts, with a bootstrap interval and a null.

A minimal stand-in for issue 17's ``engine.holdout_transfer(n, probes=...)`` (same names, so a
caller switches by replacing the function with the method): :func:`distribution_transfer` measures
on ``"random"`` token sequences (uniform over the text tokens), on ``"policy"`` samples (the student writing
after the engine's prompts) or on a list of given texts (read after ``<bos>`` alone, as in
pretraining; every judge scores the whole text; texts longer than the student's context are left
out, and ``n`` says how many were used).

Numbers, on the probes every evaluator scored:

- ``transfer``: corr(internal aggregate prediction, held-out score); ``ci_low`` / ``ci_high``: its
  95% percentile bootstrap interval (probes resampled ``n_boot`` times); ``p_null``: the two-sided
  permutation p-value of ``transfer`` (held-out scores shuffled ``n_null`` times; +1 smoothed).
- ``ceiling``: corr(training judges' equal-weight mean, held-out score);
  ``best_ceiling``: the multiple correlation of the held-out score with the best linear
  combination of the training judges (least squares on the same probes).
- ``fidelity``: corr(internal aggregate, training judges' mean).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scalarscope.evaluators.scalar_head import safe_corr


@dataclass(frozen=True)
class DistributionTransfer:
    distribution: str
    holdout: str | None
    transfer: float
    ci_low: float
    ci_high: float
    p_null: float
    ceiling: float
    best_ceiling: float
    fidelity: float
    n: int

    @property
    def ratio(self) -> float:
        """transfer / best_ceiling (0 when the best ceiling is under 0.1)."""
        return self.transfer / self.best_ceiling if self.best_ceiling >= 0.1 else 0.0


def best_linear_ceiling(train_scores: np.ndarray, held: np.ndarray) -> float:
    """Correlation of ``held`` [n] with its least-squares fit on ``train_scores`` [n, k] plus an intercept."""
    design = np.column_stack([np.ones(len(held)), train_scores])
    coef, *_ = np.linalg.lstsq(design, held, rcond=None)
    return safe_corr(design @ coef, held)


def transfer_statistics(predicted: np.ndarray, truth: np.ndarray, held: np.ndarray, *, distribution: str,
                        holdout: str | None, n_boot: int = 1000, n_null: int = 1000,
                        seed: int = 0) -> DistributionTransfer:
    """The measurement from the head's predictions [n, k], the training judges' scores [n, k] and
    the held-out judge's scores [n]."""
    aggregate, true_aggregate = predicted.mean(1), truth.mean(1)
    transfer = safe_corr(aggregate, held)
    rng = np.random.default_rng([abs(int(seed)), 41])
    n = len(held)
    boots = [safe_corr(aggregate[i], held[i]) for i in (rng.integers(n, size=n) for _ in range(n_boot))]
    null = np.array([safe_corr(aggregate, rng.permutation(held)) for _ in range(n_null)])
    p_null = float((1 + np.sum(np.abs(null) >= abs(transfer))) / (1 + n_null))
    low, high = np.percentile(boots, [2.5, 97.5])
    return DistributionTransfer(distribution, holdout, transfer, float(low), float(high), p_null,
                                safe_corr(true_aggregate, held), best_linear_ceiling(truth, held),
                                safe_corr(aggregate, true_aggregate), n)


def _policy_probes(engine, n: int, seed: int):
    import torch

    rng = np.random.default_rng([abs(int(seed)), 43])
    prompt_index = rng.integers(len(engine.prompts), size=n)
    prompt_ids = [engine._encode_prompt(p) for p in engine.prompts]
    gen = engine.model.generate(prompt_ids, prompt_index, np.full(n, engine.config.max_new_tokens),
                                temperature=engine.config.temperature,
                                generator=torch.Generator().manual_seed(int(rng.integers(2**62))))
    return prompt_ids, prompt_index, gen.tokens, gen.lengths, [engine.prompts[i] for i in prompt_index]


def _text_probes(engine, texts: list[str]):
    """Texts as probe rows after ``<bos>`` alone; texts longer than the model's context are left out."""
    rows = [engine.tokenizer.encode(t, what="probe text") for t in texts]
    limit = (getattr(engine.model, "context", 0) or 10**9) - 1
    rows = [r for r in rows if 0 < len(r) <= limit]
    if len(rows) < 3:
        from scalarscope.errors import ConfigError

        raise ConfigError(f"only {len(rows)} of {len(texts)} probe texts fit the model's context of {limit + 1} "
                          "positions; give shorter texts")
    width = max(len(r) for r in rows)
    ids = np.full((len(rows), width), engine.tokenizer.pad_id, dtype=np.int64)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = r
    return [np.zeros(0, dtype=np.int64)], np.zeros(len(rows), dtype=np.int64), ids, np.array([len(r) for r in rows]), \
        [""] * len(rows)


def distribution_transfer(engine, n: int = 2000, *, probes="random", seed: int = 0, n_boot: int = 1000,
                          n_null: int = 1000) -> DistributionTransfer:
    """Transfer of ``engine``'s held-out judge on ``n`` probes: ``probes`` is ``"random"``,
    ``"policy"`` or a list of texts (all of them are used; ``n`` is ignored)."""
    from scalarscope.engine._threads import torch_threads
    from scalarscope.evaluators.base import score_responses
    from scalarscope.evaluators.scalar_head import predicted_scores

    if isinstance(probes, str) and probes == "random":
        rng = np.random.default_rng([abs(int(seed)), 44])
        uniform = getattr(engine.tokenizer, "uniform_probes", engine.tokenizer.sample_probes)
        ids, prompt_index = uniform(n, engine.config.probe_length, rng), rng.integers(len(engine.prompts), size=n)
        prompt_ids = [engine._encode_prompt(p) for p in engine.prompts]
        lengths, prompts, name = np.full(n, ids.shape[1]), [engine.prompts[i] for i in prompt_index], "random"
    elif isinstance(probes, str) and probes == "policy":
        with torch_threads(engine.config.torch_threads):
            prompt_ids, prompt_index, ids, lengths, prompts = _policy_probes(engine, n, seed)
        name = "policy"
    else:
        prompt_ids, prompt_index, ids, lengths, prompts = _text_probes(engine, list(probes))
        name = "texts"
    with torch_threads(engine.config.torch_threads):
        values = engine.model.predict_values(prompt_ids, prompt_index, ids)
    predicted = predicted_scores(values, lengths)
    texts = engine.tokenizer.decode_batch(ids, lengths)
    table = score_responses(engine.evaluators, prompts, texts, prompt_ids=[prompt_ids[i] for i in prompt_index],
                            response_ids=ids, lengths=lengths, tokenizer=engine.tokenizer)
    ok = table.valid.all(1)
    names = [e.name for e in engine.evaluators]
    truth = table.sequence[ok][:, engine._train_cols]
    held = table.sequence[ok][:, names.index(engine.holdout)] if engine.holdout else truth.mean(1)
    return transfer_statistics(predicted[ok], truth, held, distribution=name, holdout=engine.holdout,
                               n_boot=n_boot, n_null=n_null, seed=seed)
