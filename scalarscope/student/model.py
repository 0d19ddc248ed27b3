"""The default student: a small GRU language model with a policy head and a scalar head.

One GRU trunk reads ``<bos> prompt response``. The policy head turns each hidden state into
next-token logits; the scalar head (the student's internal evaluator) turns the hidden state
*after* a token into that token's predicted contribution to each training evaluator's logit,
so the predicted sequence score of evaluator ``i`` is ``sigmoid(sum_t values[t, i])``, the same
shape as the evaluators' own construction. Decoding is incremental: one GRU step per new token.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from scalarscope.errors import check_scalar
from scalarscope.student.generation import N_LOGIT_STATS, Generation, step_statistics
from scalarscope.student.tokenizer import BOS, EOS, PAD, CharTokenizer


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
            step_stats = step_statistics(log_probs, EOS)
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

    # -- the shared-prompt capability (the engine's fast path; see protocol.SharedPromptStudent)
    @torch.no_grad()
    def read_probes(self, prompt_states: torch.Tensor, row_prompt: np.ndarray, response_ids: np.ndarray,
                    *, keep_from: int) -> tuple[np.ndarray, torch.Tensor]:
        """Scalar-head values [B, T, H] of probe responses [B, T] without gradients, and the hidden
        states of rows ``keep_from:`` for :meth:`probe_values` (one batched GRU pass)."""
        hidden = self._trunk(prompt_states, row_prompt, response_ids)[1]
        return self.scalar_head(hidden).numpy(), hidden[keep_from:]

    def probe_values(self, prompt_states: torch.Tensor, row_prompt: np.ndarray, kept: torch.Tensor,
                     response_ids: np.ndarray) -> torch.Tensor:
        """Scalar-head values [P, T, H] of probes [P, T] through a one-step truncated pass from
        the hidden states :meth:`read_probes` kept: gradients reach the head, the embedding and the
        GRU's step from each token, not the history before it."""
        start = prompt_states[torch.as_tensor(np.asarray(row_prompt, dtype=np.int64))].detach()
        previous = torch.cat([start[:, None], kept[:, :-1]], dim=1)
        return self.step_values(previous, response_ids)

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

    def forward(self, prompt_ids: list[np.ndarray], row_prompt: np.ndarray, response_ids: np.ndarray
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher-forced pass from the prompts' token ids (the :class:`Student` protocol's form):
        logits [B, T, V] and scalar-head values [B, T, H], with gradients."""
        return self.forward_responses(self.encode_prompts(prompt_ids), row_prompt, response_ids)

    def step_values(self, previous: torch.Tensor, token_ids: np.ndarray) -> torch.Tensor:
        """Scalar-head values [..., H] of tokens [...] read one GRU step on from hidden states [..., W]."""
        ids = torch.as_tensor(np.ascontiguousarray(token_ids))
        gru = self.gru
        h = torch.gru_cell(self.embed(ids.reshape(-1)), previous.reshape(-1, self.width),
                           gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0)
        return self.scalar_head(h).reshape(*ids.shape, self.n_heads)

    def spec(self) -> dict:
        """What rebuilds this student's structure (its weights travel separately)."""
        return {"kind": "gru", "width": self.width, "seed": int(self.seed), "n_heads": self.n_heads,
                "alphabet": self.tokenizer.alphabet}

    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    @torch.no_grad()
    def predict_values(self, prompt_ids: list[np.ndarray], row_prompt: np.ndarray, response_ids: np.ndarray) -> np.ndarray:
        """Scalar-head values [B, T, H] for given responses, without gradients."""
        _, values = self.forward_responses(self.encode_prompts(prompt_ids), row_prompt, response_ids)
        return values.numpy()
