"""Any ``transformers`` causal language model as the student.

:class:`HFStudent` wraps a ``PreTrainedModel`` with a language-model head and its tokenizer. It
adds one thing to the model: the scalar head, a linear layer on the last hidden states with one
output per training evaluator per token. Decoding is incremental through the model's KV cache,
batched over prompts of different lengths with left padding, attention masks and position ids,
and samples from the engine's ``torch.Generator`` only. Special tokens other than EOS are never
sampled (their logits are masked in decoding and in the teacher-forced pass alike, so the policy
gradient sees the distribution that was sampled).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from scalarscope.errors import ConfigError, check_scalar
from scalarscope.student._hf_checks import check_device, check_head_count, check_pretrained_source
from scalarscope.student.generation import Generation, step_statistics
from scalarscope.student.hf_tokenizer import HFTokenizer

_BANNED = -1e9  # logit of a token the student may not sample (finite: entropy stays 0 * x = 0)


class HFStudent(nn.Module):
    """A ``transformers`` causal LM plus a linear scalar head, as a ScalarScope student.

    model: a ``PreTrainedModel`` with a language-model head (``AutoModelForCausalLM``).
    tokenizer: its ``transformers`` tokenizer (one without a pad token uses EOS, with a warning).
    seed: initialises the scalar head (zeros) and nothing global.
    device: where the model and every tensor of a cycle live.
    """

    # its passes keep no state between calls, so the engine may read probes on a second thread while
    # this one trains (scalarscope.engine._reading.ConcurrentReading)
    reads_concurrently = True

    def __init__(self, model, tokenizer, *, seed: int = 0, device: str | torch.device = "cpu", n_heads: int = 1):
        super().__init__()
        _check_causal_lm(model)
        check_device(device)
        n_heads = check_head_count(n_heads)
        embed = model.get_input_embeddings()
        self.tokenizer = HFTokenizer(tokenizer, vocab_size=embed.num_embeddings)
        self.device = torch.device(device)
        self.lm = model.to(self.device)
        self.seed = int(seed)
        self.width = int(model.config.hidden_size if hasattr(model.config, "hidden_size") else embed.embedding_dim)
        self.context = int(getattr(model.config, "n_positions", None) or
                           getattr(model.config, "max_position_embeddings", 0) or 0)
        banned = torch.zeros(self.tokenizer.vocab_size, device=self.device)
        special = [int(i) for i in self.tokenizer.special_ids if i != self.tokenizer.eos_id]
        banned[special] = _BANNED
        banned[len(tokenizer):] = _BANNED  # embedding rows no token of the tokenizer uses
        self.register_buffer("_banned", banned, persistent=False)
        self.scalar_head = self._new_head(n_heads)

    @classmethod
    def from_pretrained(cls, path_or_name, *, seed: int = 0, device: str | torch.device = "cpu",
                        trust_remote_code: bool = False, **kwargs) -> HFStudent:
        """Load a causal LM and its tokenizer with ``transformers`` (a local folder, or a hub name
        where the machine has the hub). ``kwargs`` go to ``AutoModelForCausalLM.from_pretrained``.

        Unless ``trust_remote_code=True``, a folder's ``config.json`` is checked first (no
        ``auto_map``, a built-in causal-LM ``model_type``, default attention; see
        :mod:`scalarscope._hf_config`) and transformers is told not to run remote code."""
        from transformers import AutoModelForCausalLM, AutoTokenizer

        check_device(device)
        trust = trust_remote_code is True
        source = check_pretrained_source(path_or_name, trust_remote_code=trust)
        try:
            tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=trust)
        except Exception as exc:  # tokenizers raises a bare Exception for a malformed tokenizer.json
            if isinstance(exc, ImportError | OSError) and not isinstance(exc, FileNotFoundError):
                raise
            raise ConfigError(f"the tokenizer of {source!r} cannot be loaded ({type(exc).__name__}: "
                              f"{str(exc)[:200]}); restore its tokenizer files") from None
        model = AutoModelForCausalLM.from_pretrained(source, trust_remote_code=trust, **kwargs)
        return cls(model, tokenizer, seed=seed, device=device)

    # -- the scalar head -----------------------------------------------------------------
    @property
    def n_heads(self) -> int:
        return self.scalar_head.out_features

    def _new_head(self, n_heads: int) -> nn.Linear:
        head = nn.Linear(self.width, n_heads).to(self.device)
        nn.init.zeros_(head.weight)
        nn.init.zeros_(head.bias)
        return head

    def set_num_heads(self, n_heads: int) -> None:
        """Give the scalar head ``n_heads`` outputs (re-initialised to zero if the size changes)."""
        check_scalar(n_heads, "n_heads", kind=int, min_value=1)
        if n_heads != self.n_heads:
            self.scalar_head = self._new_head(n_heads)

    # -- inputs --------------------------------------------------------------------------
    def _prompt_batch(self, prompt_ids: list[np.ndarray], row_prompt: np.ndarray, extra: int):
        """Left-padded ``<bos> prompt`` rows [B, P], their attention mask and position ids; checks
        that ``extra`` more tokens fit the model's context."""
        rows = [np.concatenate(([self.tokenizer.bos_id], prompt_ids[p])) for p in np.asarray(row_prompt)]
        width = max((len(r) for r in rows), default=1)
        if self.context and width + extra > self.context:
            raise ConfigError(
                f"a prompt of {width - 1} tokens plus {extra} response tokens exceeds the model's context of "
                f"{self.context} positions; shorten the prompt or lower max_new_tokens / probe_length")
        ids = np.full((len(rows), width), self.tokenizer.pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for b, row in enumerate(rows):
            ids[b, width - len(row):] = row
            mask[b, width - len(row):] = 1
        ids_t = torch.from_numpy(ids).to(self.device)
        mask_t = torch.from_numpy(mask).to(self.device)
        return ids_t, mask_t, (mask_t.cumsum(1) - 1).clamp_min(0)

    def _logits(self, outputs) -> torch.Tensor:
        return outputs.logits + self._banned

    # -- decoding ------------------------------------------------------------------------
    @torch.no_grad()
    def generate(self, prompt_ids: list[np.ndarray], row_prompt: np.ndarray, max_new_tokens: np.ndarray, *,
                 temperature: float = 1.0, generator: torch.Generator | None = None,
                 keep_logits: bool = False) -> Generation:
        """Sample one response per row: row ``b`` continues prompt ``row_prompt[b]`` for at most
        ``max_new_tokens[b]`` tokens. One model call per new token through the KV cache.
        ``temperature=0`` decodes greedily. ``keep_logits`` also returns the (masked, scaled)
        logits of every step."""
        limits = np.asarray(max_new_tokens, dtype=np.int64)
        batch, horizon = len(limits), int(limits.max(initial=0))
        ids, mask, positions = self._prompt_batch(prompt_ids, row_prompt, horizon)
        eos, pad = self.tokenizer.eos_id, self.tokenizer.pad_id
        tokens = torch.full((batch, horizon), pad, dtype=torch.long, device=self.device)
        stats = torch.zeros(batch, horizon, 4, device=self.device)
        hidden = torch.zeros(batch, horizon, self.width, device=self.device)
        kept = []
        alive = torch.from_numpy(limits > 0).to(self.device)
        limits_t = torch.from_numpy(limits).to(self.device)
        out = self.lm(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True)
        logits, cache = self._logits(out)[:, -1], out.past_key_values
        for t in range(horizon):
            if not bool(alive.any()):
                break
            scaled = logits / temperature if temperature > 0 else logits
            if keep_logits:
                kept.append(scaled)
            log_probs = torch.log_softmax(scaled, dim=-1)
            sampled = (log_probs + _gumbel(scaled.shape, generator, self.device) if temperature > 0
                       else log_probs).argmax(-1)
            sampled = torch.where(alive, sampled, torch.full_like(sampled, pad))
            tokens[:, t] = sampled
            stats[:, t] = step_statistics(log_probs, eos) * alive[:, None]
            mask = torch.cat([mask, torch.ones(batch, 1, dtype=mask.dtype, device=self.device)], dim=1)
            positions = positions[:, -1:] + 1
            out = self.lm(input_ids=sampled[:, None], attention_mask=mask, position_ids=positions,
                          past_key_values=cache, use_cache=True, output_hidden_states=True)
            logits, cache = self._logits(out)[:, -1], out.past_key_values
            hidden[:, t] = out.hidden_states[-1][:, -1]
            alive = alive & (sampled != eos) & (t + 1 < limits_t)
        tokens_np = tokens.cpu().numpy()
        produced = np.arange(horizon)[None, :] < _used(tokens_np, limits, eos)[:, None]
        used = produced.sum(1)
        lengths = used - ((tokens_np == eos) & produced).any(1)
        values = self.scalar_head(hidden).cpu().numpy()
        values[~(np.arange(horizon)[None, :] < lengths[:, None])] = 0.0
        logits_out = torch.stack(kept, 1).cpu().numpy() if keep_logits and kept else None
        return Generation(np.where(produced, tokens_np, pad), lengths.astype(np.int64), used.astype(np.int64),
                          stats.cpu().numpy(), values, logits=logits_out)

    # -- teacher forcing -----------------------------------------------------------------
    def forward(self, prompt_ids: list[np.ndarray], row_prompt: np.ndarray, response_ids: np.ndarray
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher-forced pass over responses [B, T] after their prompts: logits [B, T, V]
        (position t predicts token t; masked like decoding) and scalar-head values [B, T, H]
        (read from the last hidden state after token t), with gradients."""
        response = torch.from_numpy(np.ascontiguousarray(response_ids, dtype=np.int64)).to(self.device)
        ids, mask, positions = self._prompt_batch(prompt_ids, row_prompt, response.shape[1])
        width = ids.shape[1]
        steps = torch.arange(1, response.shape[1] + 1, device=self.device)[None, :]
        out = self.lm(input_ids=torch.cat([ids, response], 1),
                      attention_mask=torch.cat([mask, torch.ones_like(response)], 1),
                      position_ids=torch.cat([positions, positions[:, -1:] + steps], 1),
                      output_hidden_states=True, use_cache=False)
        logits = self._logits(out)[:, width - 1:-1]
        values = self.scalar_head(out.hidden_states[-1][:, width:])
        return logits, values

    @torch.no_grad()
    def predict_values(self, prompt_ids: list[np.ndarray], row_prompt: np.ndarray, response_ids: np.ndarray,
                       *, chunk: int = 256) -> np.ndarray:
        """Scalar-head values [B, T, H] for given responses, without gradients (in chunks of rows)."""
        response_ids = np.asarray(response_ids)
        parts = [self.forward(prompt_ids, row_prompt[i:i + chunk], response_ids[i:i + chunk])[1].cpu().numpy()
                 for i in range(0, len(response_ids), chunk)]
        return np.concatenate(parts) if parts else np.zeros((0, response_ids.shape[1], self.n_heads))

    # -- checkpoints ---------------------------------------------------------------------
    def spec(self) -> dict:
        """What rebuilds this student's structure (its weights travel separately)."""
        return {"kind": "hf", "seed": self.seed, "n_heads": self.n_heads, "device": str(self.device)}


def _gumbel(shape, generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    """Gumbel noise for Gumbel-max sampling, drawn from ``generator`` only."""
    noise = torch.rand(shape, generator=generator, device=generator.device if generator is not None else device)
    return -torch.log(-torch.log(noise.clamp_(1e-10, 1.0 - 1e-7))).to(device)


def _used(tokens: np.ndarray, limits: np.ndarray, eos: int) -> np.ndarray:
    """Steps sampled per row [B]: up to and including the first EOS, else the row's limit."""
    is_eos = tokens == eos
    first = np.where(is_eos.any(1), is_eos.argmax(1) + 1, tokens.shape[1])
    return np.minimum(first, limits)


def _check_causal_lm(model) -> None:
    from transformers import PreTrainedModel

    if not isinstance(model, PreTrainedModel):
        raise ConfigError(f"model must be a transformers PreTrainedModel, got {type(model).__name__}")
    if model.get_output_embeddings() is None:
        raise ConfigError(
            f"{type(model).__name__} has no language-model head; load it with AutoModelForCausalLM "
            "(e.g. GPT2LMHeadModel, not GPT2Model)")


def tiny_gpt2(seed: int = 0, *, tokenizer=None, n_layer: int = 2, n_embd: int = 64, n_head: int = 4,
              n_positions: int = 128, device: str | torch.device = "cpu", n_heads: int = 1) -> HFStudent:
    """A small GPT-2 built from a ``GPT2Config`` (no download), with the character tokenizer of
    :func:`~scalarscope.student.hf_tokenizer.char_tokenizer_hf` unless one is given (ids match the
    default world's, so the synthetic evaluators apply unchanged). Weights come from ``seed``."""
    from transformers import GPT2Config, GPT2LMHeadModel

    from scalarscope.student.hf_tokenizer import char_tokenizer_hf

    check_scalar(seed, "seed", kind=int, min_value=0)
    for name, value in (("n_layer", n_layer), ("n_embd", n_embd), ("n_head", n_head), ("n_positions", n_positions)):
        check_scalar(value, name, kind=int, min_value=1)
    if n_embd % n_head:
        raise ConfigError(f"n_embd ({n_embd}) must be a multiple of n_head ({n_head})")
    tokenizer = tokenizer if tokenizer is not None else char_tokenizer_hf()
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=n_positions, n_embd=n_embd, n_layer=n_layer,
                        n_head=n_head, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                        pad_token_id=tokenizer.pad_token_id, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        model = GPT2LMHeadModel(config)
    return HFStudent(model, tokenizer, seed=seed, device=device, n_heads=n_heads)
