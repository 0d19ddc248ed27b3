"""The default student: a small GRU language model with a policy head and a scalar head.

One GRU trunk reads ``<bos> prompt response``. The policy head turns each hidden state into
next-token logits; the scalar head (the student's internal evaluator) turns the hidden state
*after* a token into that token's predicted contribution to each training evaluator's logit,
so the predicted sequence score of evaluator ``i`` is ``sigmoid(sum_t values[t, i])``, the same
shape as the evaluators' own construction. Decoding is incremental: one GRU step per new token.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from scalarscope.errors import check_scalar
from scalarscope.student.tokenizer import BOS, EOS, PAD, CharTokenizer

N_LOGIT_STATS = 4  # entropy, top-1 probability, margin (top-1 minus top-2), EOS probability


@dataclass(frozen=True)
class Generation:
    """What one batched generation returns; numpy only, no tensors.

    tokens:      [B, T] int64 sampled ids, PAD after a row's end (an EOS, if sampled, is kept).
    lengths:     [B] number of response tokens (EOS excluded).
    used:        [B] tokens spent (response tokens plus the EOS step, if any).
    logit_stats: [B, T, 4] per-step entropy, top-1 prob, margin, EOS prob (zeros past the end).
    values:      [B, T, H] the scalar head's per-token values, computed during decoding.
    hidden:      [B, T, W] the trunk's hidden state after each token (zeros past the end), or None.
    """

    tokens: np.ndarray
    lengths: np.ndarray
    used: np.ndarray
    logit_stats: np.ndarray
    values: np.ndarray
    hidden: np.ndarray | None = None


class CharStudent(nn.Module):
    """GRU student over :class:`CharTokenizer` ids. Build it from a seed; nothing global is seeded."""

    def __init__(self, *, width: int = 64, n_heads: int = 1, seed: int = 0, tokenizer: CharTokenizer | None = None):
        super().__init__()
        check_scalar(width, "width", kind=int, min_value=4, hint="Use a width like 64.")
        check_scalar(n_heads, "n_heads", kind=int, min_value=1)
        self.tokenizer = tokenizer or CharTokenizer()
        self.width = width
        self.seed = seed
        vocab = self.tokenizer.vocab_size
        generator = torch.Generator().manual_seed(int(seed) % (2**63))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(torch.randint(0, 2**62, (1,), generator=generator)))
            self.embed = nn.Embedding(vocab, width)
            self.gru = nn.GRU(width, width, batch_first=True)
            self.policy_head = nn.Linear(width, vocab)
            self.scalar_head = nn.Linear(width, n_heads)
            nn.init.zeros_(self.scalar_head.weight)
            nn.init.zeros_(self.scalar_head.bias)

    @property
    def n_heads(self) -> int:
        return self.scalar_head.out_features

    def set_num_heads(self, n_heads: int) -> None:
        """Give the scalar head ``n_heads`` outputs (re-initialised to zero if the size changes)."""
        check_scalar(n_heads, "n_heads", kind=int, min_value=1)
        if n_heads != self.n_heads:
            self.scalar_head = nn.Linear(self.width, n_heads)
            nn.init.zeros_(self.scalar_head.weight)
            nn.init.zeros_(self.scalar_head.bias)

    # -- prompts -------------------------------------------------------------------------
    def encode_prompts(self, prompt_ids: list[np.ndarray]) -> torch.Tensor:
        """Final hidden state [P, W] after reading ``<bos> prompt`` for each prompt."""
        seqs = [torch.from_numpy(np.concatenate(([BOS], ids))) for ids in prompt_ids]
        lengths = [len(s) for s in seqs]
        padded = nn.utils.rnn.pad_sequence(seqs, batch_first=True, padding_value=PAD)
        x = self.embed(padded)
        if len(set(lengths)) == 1:
            _, h = self.gru(x)
        else:
            packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            _, h = self.gru(packed)
        return h[0]

    # -- decoding ------------------------------------------------------------------------
    @torch.no_grad()
    def generate(
        self,
        prompt_ids: list[np.ndarray],
        row_prompt: np.ndarray,
        max_new_tokens: np.ndarray,
        *,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
        prompt_states: torch.Tensor | None = None,
    ) -> Generation:
        """Sample one response per row; row ``b`` continues prompt ``row_prompt[b]`` for at most
        ``max_new_tokens[b]`` tokens. One GRU step per new token (the hidden state is the cache).
        ``prompt_states`` [P, W] may pass in :meth:`encode_prompts` already computed."""
        batch = len(row_prompt)
        limits = torch.as_tensor(np.asarray(max_new_tokens), dtype=torch.long)
        horizon = int(limits.max()) if batch else 0
        if prompt_states is None:
            prompt_states = self.encode_prompts(prompt_ids)
        h = prompt_states[torch.as_tensor(np.asarray(row_prompt, dtype=np.int64))]
        tokens = torch.full((batch, horizon), PAD, dtype=torch.long)
        stats = torch.zeros(batch, horizon, N_LOGIT_STATS)
        hidden = torch.zeros(batch, horizon, self.width)
        alive = limits > 0
        logits = self.policy_head(h)
        # Gumbel-max sampling with noise drawn once for the whole horizon: one RNG call, not one per step.
        uniform = torch.rand(batch, horizon, logits.shape[-1], generator=generator).clamp_(1e-10, 1.0 - 1e-7)
        gumbel = -torch.log(-torch.log(uniform))
        gru = self.gru
        weights = (gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0)
        for t in range(horizon):
            if not bool(alive.any()):
                break
            log_probs = torch.log_softmax(logits / temperature, dim=-1)
            probs = log_probs.exp()
            top2 = probs.topk(2, dim=-1).values
            entropy = -(probs * log_probs).sum(-1)
            step_stats = torch.stack([entropy, top2[:, 0], top2[:, 0] - top2[:, 1], probs[:, EOS]], dim=-1)
            sampled = (log_probs + gumbel[:, t]).argmax(-1)
            sampled = torch.where(alive, sampled, torch.full_like(sampled, PAD))
            tokens[:, t] = sampled
            stats[:, t] = step_stats * alive[:, None]
            h = torch.gru_cell(self.embed(sampled), h, *weights)
            hidden[:, t] = h
            logits = self.policy_head(h)
            alive = alive & (sampled != EOS) & (t + 1 < limits)
        tokens_np = tokens.numpy()
        is_eos = tokens_np == EOS
        produced = tokens_np != PAD
        used = produced.sum(1)
        lengths = used - is_eos.any(1)
        hidden *= torch.from_numpy(produced)[..., None]
        values_np = self.scalar_head(hidden).numpy()  # one head call for the whole horizon
        values_np[~produced | is_eos] = 0.0
        return Generation(tokens_np, lengths.astype(np.int64), used.astype(np.int64), stats.numpy(), values_np,
                          hidden.numpy())

    @torch.no_grad()
    def read_hidden(self, prompt_states: torch.Tensor, row_prompt: np.ndarray, response_ids: np.ndarray) -> torch.Tensor:
        """Hidden states [B, T, W] after each token of given responses [B, T], without gradients."""
        return self._trunk(prompt_states, row_prompt, response_ids)[1]

    def _trunk(self, prompt_states, row_prompt, response_ids) -> tuple[torch.Tensor, torch.Tensor]:
        """The GRU over responses [B, T] from their prompts' states: (h0 [B, W], outputs [B, T, W])."""
        h0 = prompt_states[torch.as_tensor(np.asarray(row_prompt, dtype=np.int64))]
        out, _ = self.gru(self.embed(torch.from_numpy(np.ascontiguousarray(response_ids))), h0[None].contiguous())
        return h0, out

    # -- teacher forcing -----------------------------------------------------------------
    def forward_responses(
        self, prompt_states: torch.Tensor, row_prompt: np.ndarray, response_ids: np.ndarray
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher-forced pass over responses [B, T] (PAD after the end).

        Returns logits [B, T, V] (position t predicts token t) and scalar-head values [B, T, H]
        (value of token t, read from the hidden state after it).
        """
        h0, out = self._trunk(prompt_states, row_prompt, response_ids)
        before = torch.cat([h0[:, None], out[:, :-1]], dim=1)
        return self.policy_head(before), self.scalar_head(out)

    def forward(self, prompt_ids: list[np.ndarray], row_prompt: np.ndarray, response_ids: np.ndarray):
        """Teacher-forced pass from the prompts' token ids (the :class:`Student` protocol's form):
        logits [B, T, V] and scalar-head values [B, T, H], with gradients."""
        return self.forward_responses(self.encode_prompts(prompt_ids), row_prompt, response_ids)

    def head_values(self, hidden: torch.Tensor) -> torch.Tensor:
        """Scalar-head values [..., H] read from trunk hidden states [..., W]."""
        return self.scalar_head(hidden)

    def step_values(self, previous: torch.Tensor, token_ids: np.ndarray) -> torch.Tensor:
        """Scalar-head values [..., H] of tokens [...] read one GRU step on from given hidden states
        [..., W] (e.g. shifted :meth:`read_hidden` output). With ``previous`` detached this is a
        one-step truncated pass: gradients reach the head, the embedding and the GRU's step from
        each token, not the history before it."""
        ids = torch.as_tensor(np.ascontiguousarray(token_ids))
        gru = self.gru
        h = torch.gru_cell(self.embed(ids.reshape(-1)), previous.reshape(-1, self.width),
                           gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0)
        return self.scalar_head(h).reshape(*ids.shape, self.n_heads)

    @torch.no_grad()
    def predict_values(self, prompt_ids: list[np.ndarray], row_prompt: np.ndarray, response_ids: np.ndarray) -> np.ndarray:
        """Scalar-head values [B, T, H] for given responses, without gradients."""
        _, values = self.forward_responses(self.encode_prompts(prompt_ids), row_prompt, response_ids)
        return values.numpy()
