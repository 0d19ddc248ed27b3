"""The :class:`Student` protocol: what the engine needs from a model.

Any torch module with these methods can replace :class:`CharStudent` (for example a wrapper
around a Hugging Face causal LM loaded from a local path with a linear scalar head on its last
hidden state).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from scalarscope.student.model import Generation
from scalarscope.student.tokenizer import CharTokenizer


@runtime_checkable
class Student(Protocol):
    tokenizer: CharTokenizer

    @property
    def n_heads(self) -> int: ...

    def set_num_heads(self, n_heads: int) -> None: ...

    def parameters(self): ...

    def encode_prompts(self, prompt_ids: list[np.ndarray]): ...

    def generate(self, prompt_ids, row_prompt, max_new_tokens, *, temperature=1.0, generator=None,
                 prompt_states=None) -> Generation: ...

    def forward_responses(self, prompt_states, row_prompt, response_ids): ...

    def read_hidden(self, prompt_states, row_prompt, response_ids): ...

    def head_values(self, hidden): ...

    def step_values(self, previous, token_ids): ...

    def predict_values(self, prompt_ids, row_prompt, response_ids) -> np.ndarray: ...
