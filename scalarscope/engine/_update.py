"""The learning step's pieces: token rewards, the policy-gradient loss, failure bookkeeping."""

from __future__ import annotations

import numpy as np
import torch

from scalarscope.evaluators.base import ScoreTable


def token_rewards(table: ScoreTable, columns: np.ndarray, lengths: np.ndarray, horizon: int) -> np.ndarray:
    """Per-token reward [B, T]: the mean over the training evaluators (``columns``) that scored a
    response of their token feedback (:meth:`ScoreTable.token_feedback`, the one rule that spreads a
    sequence-only judge's score over the tokens), zero past a response's end."""
    columns = np.asarray(columns)
    feedback = table.take(slice(None), columns).token_feedback(lengths)
    if feedback.shape[1] < horizon:
        feedback = pad_to3(feedback, horizon)
    count = np.maximum(table.valid[:, columns].sum(-1), 1)
    return feedback[:, :horizon].sum(-1) / count[:, None]


def head_targets(table: ScoreTable, probe_table: ScoreTable, columns: np.ndarray, lengths: np.ndarray,
                 probe_length: int, width: int) -> tuple:
    """The scalar head's regression targets for the responses then the probes, as
    :func:`~scalarscope.evaluators.scalar_head.head_loss` takes them after the values:
    (lengths [B+P], sequence scores [B+P, H], token feedback [B+P, width, H], has_tokens [H], valid [B+P, H])."""
    n_probes = len(probe_table.sequence)
    return (np.concatenate([lengths, np.full(n_probes, probe_length)]),
            np.concatenate([table.sequence[:, columns], probe_table.sequence]),
            np.concatenate([pad_to3(table.tokens[..., columns], width), pad_to3(probe_table.tokens, width)]),
            table.has_tokens[columns],
            np.concatenate([table.valid[:, columns], probe_table.valid]))


def policy_loss(logits: torch.Tensor, tokens: np.ndarray, used: np.ndarray, rewards: np.ndarray):
    """REINFORCE with per-token advantages: reward-to-go minus a per-position batch baseline.

    logits [B, T, V] (position t predicts token t), tokens [B, T], used [B] steps sampled (EOS
    included), rewards [B, T]. Returns (loss, mean entropy) as tensors.
    """
    horizon = tokens.shape[1]
    active = np.arange(horizon)[None, :] < np.asarray(used)[:, None]
    to_go = np.flip(np.cumsum(np.flip(rewards, 1), 1), 1)
    counts = np.maximum(active.sum(0), 1)
    baseline = (to_go * active).sum(0) / counts
    advantage = (to_go - baseline) * active
    scale = advantage[active].std() if active.sum() > 1 else 1.0
    loss, log_probs, active_t = reinforce_loss(logits, tokens, advantage / (scale + 1e-6), active)
    entropy = -(log_probs.exp() * log_probs).sum(-1)
    return loss, (entropy * active_t).sum() / active_t.sum().clamp_min(1)


def reinforce_loss(logits: torch.Tensor, tokens: np.ndarray, advantage: np.ndarray, active: np.ndarray):
    """-mean over active positions of advantage x log pi(token): the REINFORCE surrogate.

    logits [B, >=T, V], tokens [B, T], advantage [B, T] (already scaled), active [B, T] bool.
    Returns (loss, log-probabilities [B, T, V], active as a tensor)."""
    horizon, device = tokens.shape[1], logits.device
    log_probs = torch.log_softmax(logits[:, :horizon], dim=-1)
    chosen = log_probs.gather(-1, torch.from_numpy(tokens).long().to(device)[..., None])[..., 0]
    active_t = torch.from_numpy(active).to(device)
    weights = torch.from_numpy(np.asarray(advantage)).float().to(device)
    return -(chosen * weights * active_t).sum() / active_t.sum().clamp_min(1), log_probs, active_t


def adam(parameters, lr: float) -> torch.optim.Adam:
    """Adam, fused where torch has a fused kernel for the parameters (3x faster step on CPU than
    the per-tensor loop; the same algorithm)."""
    parameters = list(parameters)
    try:
        return torch.optim.Adam(parameters, lr=lr, fused=True)
    except (RuntimeError, ValueError):  # a device or dtype without the fused kernel
        return torch.optim.Adam(parameters, lr=lr)


def clip_gradients(parameters, max_norm: float) -> torch.Tensor:
    """Clip the gradients' global norm to ``max_norm`` (0: no clipping); returns the norm before."""
    return torch.nn.utils.clip_grad_norm_(list(parameters), max_norm or float("inf"), foreach=True)


def pad_to3(values: np.ndarray, width: int) -> np.ndarray:
    """Right-pad [B, T, n] along T to ``width``."""
    if values.shape[1] >= width:
        return values[:, :width]
    return np.pad(values, ((0, 0), (0, width - values.shape[1]), (0, 0)))


def pad_values(values: torch.Tensor, width: int) -> torch.Tensor:
    """Right-pad a [B, T, n] tensor along T with zeros to ``width`` (keeps the graph)."""
    if values.shape[1] >= width:
        return values[:, :width]
    return torch.nn.functional.pad(values, (0, 0, 0, width - values.shape[1]))
