"""The bare loop the cycle benchmarks compare the engine with, written from torch and the student's
public methods only (``tokenizer``, ``generate``, ``forward``) and the judges' public
``score_responses``: no part of the engine is reused.

One step does the learning of one engine cycle, in a row: generate a batch, score it, draw and
score random off-policy probes, one teacher-forced pass over responses and probes, REINFORCE on
per-token rewards (reward-to-go less a per-position batch baseline, scaled, plus an entropy
bonus), the scalar head's regression on sequence scores and token feedback, clipping, Adam.
"""

from __future__ import annotations

import numpy as np
import torch

from scalarscope.engine import DEFAULT_PROMPTS, EngineConfig
from scalarscope.evaluators import score_responses


def token_rewards(table, lengths: np.ndarray, horizon: int) -> np.ndarray:
    """[B, T]: per token, the mean over the judges that answered of their token feedback (a
    sequence-only judge counts as its score spread evenly over the response)."""
    spread = np.repeat((table.sequence / np.maximum(lengths, 1)[:, None])[:, None, :], horizon, axis=1)
    feedback = np.where(table.has_tokens, table.tokens[:, :horizon], spread)
    answered = table.valid[:, None, :]
    mean = (feedback * answered).sum(-1) / np.maximum(answered.sum(-1), 1)
    return mean * (np.arange(horizon) < lengths[:, None])


def reinforce(logits: torch.Tensor, tokens: np.ndarray, used: np.ndarray, rewards: np.ndarray):
    """(surrogate loss, mean entropy) of REINFORCE with per-token advantages."""
    active = np.arange(tokens.shape[1]) < used[:, None]
    to_go = rewards[:, ::-1].cumsum(1)[:, ::-1]
    baseline = (to_go * active).sum(0) / np.maximum(active.sum(0), 1)
    advantage = (to_go - baseline) * active
    advantage = advantage / (advantage[active].std() + 1e-6)
    device = logits.device
    log_probs = torch.log_softmax(logits[:, :tokens.shape[1]], -1)
    chosen = log_probs.gather(-1, torch.as_tensor(tokens, device=device)[..., None])[..., 0]
    mask = torch.as_tensor(active, device=device)
    count = mask.sum().clamp_min(1)
    entropy = -(log_probs.exp() * log_probs).sum(-1)
    return -(chosen * torch.as_tensor(advantage, dtype=torch.float32, device=device) * mask).sum() / count, \
        (entropy * mask).sum() / count


def head_regression(values: torch.Tensor, lengths: np.ndarray, sequence: np.ndarray, tokens: np.ndarray,
                    has_tokens: np.ndarray, valid: np.ndarray) -> torch.Tensor:
    """Squared error of sigmoid(sum of token values) against sequence scores, plus (for judges with
    token feedback) of the token values against it, weighted by the mean length."""
    device = values.device
    mask = torch.as_tensor(np.arange(values.shape[1]) < lengths[:, None], device=device)[..., None]
    masked = values * mask
    valid_t = torch.as_tensor(valid, device=device)
    seq_err = (torch.sigmoid(masked.sum(1)) - torch.as_tensor(sequence, dtype=torch.float32, device=device)) ** 2
    loss = (seq_err * valid_t).sum() / valid_t.sum().clamp_min(1)
    weight = mask & (valid_t & torch.as_tensor(has_tokens, device=device))[:, None, :]
    if bool(weight.any()):
        tok_err = (masked - torch.as_tensor(tokens[:, :values.shape[1]], dtype=torch.float32, device=device)) ** 2
        loss = loss + float(np.maximum(lengths, 1).mean()) * (tok_err * weight).sum() / weight.sum()
    return loss


def _pad(array: np.ndarray, width: int) -> np.ndarray:
    return np.pad(array, [(0, 0), (0, width - array.shape[1])] + [(0, 0)] * (array.ndim - 2))


def bare_step(model, evaluators, config: EngineConfig, *, seed: int = 0):
    """A step function (returns the tokens generated) doing one engine cycle's learning on ``model``."""
    tok, batch, n_prompts = model.tokenizer, config.batch_size, config.prompts_per_cycle
    model.set_num_heads(len(evaluators))
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate, fused=True)  # as the engine's
    prompts = list(DEFAULT_PROMPTS[:n_prompts])
    prompt_ids = [tok.encode(p) for p in prompts]
    row_prompt = np.repeat(np.arange(n_prompts), batch // n_prompts)
    limits = np.full(batch, config.max_new_tokens)
    generator = torch.Generator(device=getattr(model, "device", "cpu")).manual_seed(seed)
    rng = np.random.default_rng(seed)

    def score(rows, ids, lengths):
        return score_responses(evaluators, [prompts[p] for p in rows], tok.decode_batch(ids, lengths),
                               prompt_ids=[prompt_ids[p] for p in rows], response_ids=ids, lengths=lengths)

    def step() -> int:
        gen = model.generate(prompt_ids, row_prompt, limits, temperature=config.temperature, generator=generator)
        table = score(row_prompt, gen.tokens, gen.lengths)
        step.scores.append(float(table.sequence.mean()))
        probes = tok.sample_probes(config.probe_batch, config.probe_length, rng)
        probe_rows = rng.integers(n_prompts, size=config.probe_batch)
        probe_lengths = np.full(config.probe_batch, config.probe_length)
        probe_table = score(probe_rows, probes, probe_lengths)
        horizon = gen.tokens.shape[1]
        width = max(horizon, config.probe_length)
        tokens = np.concatenate([_pad(gen.tokens, width), _pad(probes, width)])
        tokens[:batch, horizon:] = tok.pad_id
        logits, values = model.forward(prompt_ids, np.concatenate([row_prompt, probe_rows]), tokens)
        policy, entropy = reinforce(logits[:batch], gen.tokens, gen.used, token_rewards(table, gen.lengths, horizon))
        head = head_regression(values, np.concatenate([gen.lengths, probe_lengths]),
                               np.concatenate([table.sequence, probe_table.sequence]),
                               np.concatenate([_pad(table.tokens, width), _pad(probe_table.tokens, width)]),
                               table.has_tokens, np.concatenate([table.valid, probe_table.valid]))
        loss = policy - config.entropy_weight * entropy + config.head_weight * head
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip, foreach=True)
        optimizer.step()
        return int(gen.used.sum())

    step.scores = []  # the judges' mean score per step: the loop learns what the engine learns
    return step


def floor_step(model, config: EngineConfig, *, seed: int = 0):
    """The floor: generate and one REINFORCE step on random advantages; no judges, no head."""
    tok, batch, n_prompts = model.tokenizer, config.batch_size, config.prompts_per_cycle
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate, fused=True)
    prompt_ids = [tok.encode(p) for p in DEFAULT_PROMPTS[:n_prompts]]
    row_prompt = np.repeat(np.arange(n_prompts), batch // n_prompts)
    limits = np.full(batch, config.max_new_tokens)
    generator = torch.Generator(device=getattr(model, "device", "cpu")).manual_seed(seed)

    def step() -> int:
        gen = model.generate(prompt_ids, row_prompt, limits, temperature=config.temperature, generator=generator)
        logits, _ = model.forward(prompt_ids, row_prompt, gen.tokens)
        ids = torch.as_tensor(gen.tokens, device=logits.device)
        chosen = torch.log_softmax(logits, -1).gather(-1, ids[..., None])[..., 0]
        loss = -(chosen * torch.randn(batch, 1, generator=generator, device=chosen.device)).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return int(gen.used.sum())

    return step
