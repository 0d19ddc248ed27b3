"""KL to a reference policy: a frozen copy of the student, and the exact per-token KL to it.

The reference (:class:`ReferencePolicy`) is a deep copy of the student with gradients off; its
logits come from the :class:`~scalarscope.student.Student` protocol's teacher-forced
``forward(prompt_ids, row_prompt, response_ids) -> (logits [B, T, V], values [B, T, H])``, run
under ``torch.no_grad``. The engine never touches either student's hidden states.

**What is measured.** At every sampled position ``t`` of response ``b`` (EOS step included, the
positions the policy actually sampled), the exact KL over the whole vocabulary,
``KL_t = sum_v p(v) (log p(v) - log q(v))``, with ``p`` the current policy and ``q`` the
reference, both given the same prefix (the student's own sample). A response's KL is the sum over
its positions; the cycle's ``kl`` is the mean over the batch. Its expectation over samples is
KL(pi || pi_ref) between the two sequence distributions, so ``sqrt(kl)`` is Gao et al.'s ``d``.

**Temperature.** The engine samples from ``softmax(logits / temperature)``, so both ``p`` and
``q`` are the temperature-scaled distributions: the KL of the policy that actually writes the
responses the evaluators judge (at the default temperature 1 the two readings coincide).

**The penalty.** With ``kl_coef > 0`` the loss gains ``kl_coef`` times the mean of ``KL_t`` over
the batch's sampled positions (the policy loss is a per-token mean too), differentiated exactly
through ``p``; the reference is a constant.
"""

from __future__ import annotations

import copy

import numpy as np
import torch


def frozen_copy(model: torch.nn.Module) -> torch.nn.Module:
    """A deep copy of ``model`` with every parameter's ``requires_grad`` off, in eval mode."""
    reference = copy.deepcopy(model)
    for parameter in reference.parameters():
        parameter.requires_grad_(False)
    return reference.eval()


class ReferencePolicy:
    """A frozen copy of a student (``model``) and its logits for given responses.

    ``logits`` uses the :class:`~scalarscope.student.Student` protocol's teacher-forced ``forward``
    under ``torch.no_grad`` (set in the calling thread, so it is safe on a worker thread). A student
    that can also encode prompts separately (``encode_prompts`` + ``forward_responses``, the GRU's
    optional capability) gets its prompt encodings cached: the reference never changes, and the
    prompts repeat, so a cycle pays only for the responses (measured: ~40 % of the pass).
    """

    def __init__(self, model):
        self.model = frozen_copy(model)
        self._cached = hasattr(self.model, "encode_prompts") and hasattr(self.model, "forward_responses")
        self._prompt_states: dict[bytes, torch.Tensor] = {}

    def logits(self, prompt_ids: list[np.ndarray], row_prompt: np.ndarray, response_ids: np.ndarray) -> torch.Tensor:
        """Teacher-forced logits [B, T, V] of responses [B, T], row b continuing ``prompt_ids[row_prompt[b]]``."""
        with torch.no_grad():
            states = self._states(prompt_ids) if self._cached else None
            if states is None:
                return self.model(prompt_ids, row_prompt, response_ids)[0]
            return self.model.forward_responses(states, row_prompt, response_ids)[0]

    def _states(self, prompt_ids: list[np.ndarray]) -> torch.Tensor | None:
        """Encoded prompts [P, W] from the cache, or None when the student's encodings are not one
        vector per prompt (then it is not cached: the teacher-forced ``forward`` is used)."""
        keys = [np.asarray(ids, dtype=np.int64).tobytes() for ids in prompt_ids]
        for ids, key in zip(prompt_ids, keys, strict=True):
            if key in self._prompt_states:
                continue
            # one prompt per call: its encoding then does not depend on which prompts it was batched
            # with (packed batches differ in the last bits), so a resumed run, whose cache starts
            # empty, reads exactly what an uninterrupted one does
            state = self.model.encode_prompts([ids])
            if not isinstance(state, torch.Tensor) or state.dim() != 2:
                self._cached = False
                return None
            self._prompt_states[key] = state[0]
        return torch.stack([self._prompt_states[key] for key in keys])


def reference_logits(reference: ReferencePolicy, prompt_ids: list[np.ndarray], row_prompt: np.ndarray,
                     response_ids: np.ndarray) -> torch.Tensor:
    """``reference.logits(...)``: the function the engine hands the probe worker."""
    return reference.logits(prompt_ids, row_prompt, response_ids)


def sampled_mask(used: np.ndarray, horizon: int) -> np.ndarray:
    """[B, T] bool: the positions each response actually sampled (``used`` steps, EOS included)."""
    return np.arange(horizon)[None, :] < np.asarray(used)[:, None]


def token_kl(logits: torch.Tensor, reference: torch.Tensor, *, temperature: float = 1.0) -> torch.Tensor:
    """Exact KL(p || q) over the vocabulary per position [B, T] from logits [B, T, V] of the policy
    (``p``; gradients flow) and of the reference (``q``), both divided by ``temperature``."""
    horizon = min(logits.shape[1], reference.shape[1])
    log_p = torch.log_softmax(logits[:, :horizon] / temperature, dim=-1)
    log_q = torch.log_softmax(reference[:, :horizon].to(log_p.dtype) / temperature, dim=-1)
    return (log_p.exp() * (log_p - log_q)).sum(-1)


def sequence_kl(per_token: torch.Tensor, used: np.ndarray) -> np.ndarray:
    """Per response [B]: the per-token KL summed over its sampled positions (float64; each token's
    KL clamped at 0, which float32 rounding can undershoot by ~1e-8 where p = q)."""
    mask = torch.from_numpy(sampled_mask(used, per_token.shape[1]))
    return (per_token.detach().double().clamp_min(0.0) * mask).sum(1).numpy()


def kl_penalty(per_token: torch.Tensor, used: np.ndarray) -> torch.Tensor:
    """The penalty's loss term: mean per-token KL over the batch's sampled positions (with grad)."""
    mask = torch.from_numpy(sampled_mask(used, per_token.shape[1]))
    return (per_token * mask).sum() / mask.sum().clamp_min(1)
