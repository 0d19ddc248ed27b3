"""What a student's batched generation returns, and the per-step statistics every student computes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

N_LOGIT_STATS = 4  # entropy, top-1 probability, margin (top-1 minus top-2), EOS probability


@dataclass(frozen=True)
class Generation:
    """What one batched generation returns; numpy only, no tensors.

    tokens:      [B, T] int64 sampled ids, the tokenizer's pad id after a row's end (an EOS, if
                 sampled, is kept).
    lengths:     [B] number of response tokens (EOS excluded).
    used:        [B] tokens spent (response tokens plus the EOS step, if any).
    logit_stats: [B, T, 4] per-step entropy, top-1 prob, margin, EOS prob (zeros past the end).
    values:      [B, T, H] the scalar head's per-token values, computed during decoding.
    hidden:      [B, T, W] the trunk's hidden state after each token, where a student offers it.
    logits:      [B, T, V] the sampling distribution's logits per step, when asked for (tests).
    """

    tokens: np.ndarray
    lengths: np.ndarray
    used: np.ndarray
    logit_stats: np.ndarray
    values: np.ndarray
    hidden: np.ndarray | None = None
    logits: np.ndarray | None = None


def step_statistics(log_probs: torch.Tensor, eos_id: int) -> torch.Tensor:
    """[B, 4] entropy, top-1 probability, margin (top-1 minus top-2) and EOS probability of one
    decoding step's distribution ``log_probs`` [B, V]."""
    probs = log_probs.exp()
    top2 = probs.topk(2, dim=-1).values
    entropy = -(probs * log_probs).sum(-1)
    return torch.stack([entropy, top2[:, 0], top2[:, 0] - top2[:, 1], probs[:, eos_id]], dim=-1)
