"""The student boundary: what the engine needs from a tokenizer and from a model.

:class:`Tokenizer` and :class:`Student` are what every causal language model can serve (the GRU
default, :class:`~scalarscope.student.hf.HFStudent` around any ``transformers`` model, or a model
of your own). The engine never reads a student's hidden state; it passes token ids in and gets
numpy arrays (decoding) or tensors with gradients (the teacher-forced pass) back.

:class:`SharedPromptStudent` is an optional capability, detected by the engine: a student that
can encode each prompt once into an opaque state and reuse it for decoding, the teacher-forced
pass and the probe reads (the GRU). The engine then reads probes on a worker thread during the
update and trains the scalar head on the probes through a cheap truncated pass. Without it the
engine reads probes with :meth:`Student.predict_values` and trains on them in the same
teacher-forced call as the responses. Both paths learn the same things (see docs/STUDENTS.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from scalarscope.student.generation import Generation

if TYPE_CHECKING:
    from collections.abc import Iterator

    import torch


@runtime_checkable
class Tokenizer(Protocol):
    """Text <-> token ids for a student. ``pad_id`` may equal ``eos_id`` (GPT-2)."""

    vocab_size: int
    pad_id: int
    bos_id: int
    eos_id: int

    def normalize(self, text: str, *, what: str = "text") -> str:
        """``text`` as the student reads it; raises UnsupportedCharacterError naming what it cannot encode."""

    def encode(self, text: str, *, what: str = "text") -> np.ndarray:
        """Token ids [n] (int64), without special tokens."""

    def decode_batch(self, ids: np.ndarray, lengths: np.ndarray) -> list[str]:
        """Texts of rows ``ids`` [B, T] up to ``lengths`` [B]."""

    def offsets(self, ids: np.ndarray) -> np.ndarray:
        """Character span [T, 2] (start, end) of each token of ``ids`` [T] in their decoded text."""

    def sample_probes(self, n: int, length: int, rng: np.random.Generator) -> np.ndarray:
        """Random probe responses [n, length] of text ids: the one place probes are drawn."""


@runtime_checkable
class Student(Protocol):
    """A causal LM with a policy (next-token logits) and a scalar head (per-token values, one per
    training evaluator). Token ids are numpy; ``row_prompt[b]`` says which of ``prompt_ids`` row
    ``b`` answers."""

    tokenizer: Tokenizer

    @property
    def n_heads(self) -> int: ...

    def set_num_heads(self, n_heads: int) -> None:
        """Give the scalar head ``n_heads`` outputs (zero-initialised if the size changes)."""

    def parameters(self) -> Iterator[torch.nn.Parameter]: ...

    def generate(self, prompt_ids: list[np.ndarray], row_prompt: np.ndarray, max_new_tokens: np.ndarray, *,
                 temperature: float = 1.0, generator=None) -> Generation:
        """Batched incremental sampling from ``generator`` only (never the global RNG)."""

    def forward(self, prompt_ids: list[np.ndarray], row_prompt: np.ndarray, response_ids: np.ndarray
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher-forced pass: (logits [B, T, V], values [B, T, H]) tensors with gradients;
        position t of the logits predicts token t, the value of token t is read after it."""

    def predict_values(self, prompt_ids: list[np.ndarray], row_prompt: np.ndarray,
                       response_ids: np.ndarray) -> np.ndarray:
        """Scalar-head values [B, T, H] without gradients."""

    def spec(self) -> dict:
        """A JSON-able description that rebuilds the student's structure (weights travel apart)."""

    def state_dict(self) -> dict[str, torch.Tensor]: ...

    def load_state_dict(self, state_dict, strict: bool = True) -> object: ...


@runtime_checkable
class SharedPromptStudent(Protocol):
    """Optional speed capability: prompts encoded once into an opaque state the engine passes back."""

    def encode_prompts(self, prompt_ids: list[np.ndarray]) -> object: ...

    def forward_responses(self, prompt_states, row_prompt: np.ndarray, response_ids: np.ndarray
                          ) -> tuple[torch.Tensor, torch.Tensor]: ...

    def read_probes(self, prompt_states, row_prompt: np.ndarray, response_ids: np.ndarray, *,
                    keep_from: int) -> tuple[np.ndarray, object]: ...

    def probe_values(self, prompt_states, row_prompt: np.ndarray, kept, response_ids: np.ndarray
                     ) -> torch.Tensor: ...
