"""Measurements of the English world: samples and their perplexity under the pretrained reference,
the judges' correlations on held-out text, and the training judges' score rise."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class Samples:
    """Responses a student wrote after the engine's prompts: texts, token ids [n, T], lengths [n]."""

    prompts: list[str]
    texts: list[str]
    prompt_ids: list[np.ndarray]
    row_prompt: np.ndarray
    tokens: np.ndarray
    lengths: np.ndarray


def sample(student, engine, n: int, *, seed: int = 0) -> Samples:
    """``n`` responses of ``student`` (the engine's policy, or another with the same tokenizer) after
    the engine's prompts, at the engine's temperature and length."""
    rng = np.random.default_rng([abs(int(seed)), 47])
    row_prompt = rng.integers(len(engine.prompts), size=n)
    prompt_ids = [engine.tokenizer.encode(p, what="prompt") for p in engine.prompts]
    gen = student.generate(prompt_ids, row_prompt, np.full(n, engine.config.max_new_tokens),
                           temperature=engine.config.temperature,
                           generator=torch.Generator().manual_seed(int(rng.integers(2**62))))
    return Samples([engine.prompts[i] for i in row_prompt], student.tokenizer.decode_batch(gen.tokens, gen.lengths),
                   prompt_ids, row_prompt, gen.tokens, gen.used)


@torch.no_grad()
def perplexity_under(model, samples: Samples, *, chunk: int = 64) -> float:
    """Per-token perplexity of the samples' tokens (EOS included where sampled) under ``model`` (a
    student: its masked logits), each read after its prompt."""
    total, count = 0.0, 0
    for i in range(0, len(samples.tokens), chunk):
        tokens = samples.tokens[i:i + chunk]
        logits, _ = model.forward(samples.prompt_ids, samples.row_prompt[i:i + chunk], tokens)
        logp = torch.log_softmax(logits.double(), -1).gather(-1, torch.from_numpy(tokens)[..., None])[..., 0]
        mask = torch.from_numpy(np.arange(tokens.shape[1])[None, :] < samples.lengths[i:i + chunk, None])
        total += float(-(logp * mask).sum())
        count += int(mask.sum())
    return float(np.exp(total / max(count, 1)))


def judge_correlations(judges, texts: list[str]) -> tuple[list[str], np.ndarray]:
    """The judges' names and their Pearson correlation matrix on ``texts``."""
    from scalarscope.evaluators import score_responses

    table = score_responses(judges, [""] * len(texts), texts)
    ok = table.valid.all(1)
    return [j.name for j in judges], np.corrcoef(table.sequence[ok].T)


def score_rise(engine, *, window: int = 20) -> tuple[float, float]:
    """Mean training-judge score over the first and the last ``window`` cycles of the engine's history
    (at most half the history each, so the two never overlap)."""
    scores = np.array([r.metrics.mean_score for r in engine.history])
    window = max(1, min(window, len(scores) // 2))
    return float(np.nanmean(scores[:window])), float(np.nanmean(scores[-window:]))


def trajectory(engine) -> dict[str, np.ndarray]:
    """Per cycle: sqrt(KL) to the reference, the training judges' mean and every judge's mean score."""
    records = list(engine.history)
    out = {"sqrt_kl": np.sqrt(np.maximum([r.metrics.kl for r in records], 0.0)),
           "train_mean": np.array([r.metrics.mean_score for r in records])}
    for name in (e.name for e in engine.evaluators):
        out[name] = np.array([r.metrics.scores.get(name, np.nan) for r in records])
    return out
