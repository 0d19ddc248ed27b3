"""The student: tokenizer, the default GRU model, and the protocol a replacement follows.

The tokenizer is numpy-only; the model parts import torch when first used, so torch-free code
(the ONNX conscience) can share the tokenizer.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from scalarscope.student.tokenizer import ALPHABET, BOS, EOS, PAD, CharTokenizer

if TYPE_CHECKING:
    from scalarscope.student.model import CharStudent
    from scalarscope.student.protocol import Student

_LAZY = {"CharStudent": "scalarscope.student.model", "Generation": "scalarscope.student.generation",
         "Student": "scalarscope.student.protocol", "Tokenizer": "scalarscope.student.protocol",
         "HFStudent": "scalarscope.student.hf", "tiny_gpt2": "scalarscope.student.hf",
         "HFTokenizer": "scalarscope.student.hf_tokenizer", "char_tokenizer_hf": "scalarscope.student.hf_tokenizer"}


def default_student(*, seed: int = 0, width: int = 64, n_heads: int = 1) -> CharStudent:
    """The kit's default student: a width-64 GRU over the character alphabet."""
    from scalarscope.student.model import CharStudent

    return CharStudent(width=width, n_heads=n_heads, seed=seed)


STUDENTS: dict[str, str] = {
    "gru": "the default character GRU (width 64)",
    "tiny-gpt2": "a 2-layer GPT-2 (width 64) over the same characters, built from a GPT2Config",
}


def build_student(name: str = "gru", *, seed: int = 0) -> Student:
    """A registered student by name (see :data:`STUDENTS`), built from ``seed``; nothing downloaded."""
    from scalarscope.errors import ConfigError

    if name == "gru":
        return default_student(seed=seed)
    if name == "tiny-gpt2":
        from scalarscope.student.hf import tiny_gpt2

        return tiny_gpt2(seed=seed)
    raise ConfigError(f"student={name!r} is not a known student; choose one of {sorted(STUDENTS)}, or pass a "
                      "Student object to ScalarScopeEngine(model=...)")


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'scalarscope.student' has no attribute {name!r}")


__all__ = ["ALPHABET", "BOS", "EOS", "PAD", "STUDENTS", "CharStudent", "build_student", "CharTokenizer", "Generation", "HFStudent", "HFTokenizer",
           "Student", "Tokenizer", "char_tokenizer_hf", "default_student", "tiny_gpt2"]
