"""The character tokenizer, as the student package offers it (defined below every layer, in
:mod:`scalarscope.charset`, so that evaluators and the ONNX reader use it without the student)."""

from scalarscope.charset import ALPHABET, BOS, EOS, PAD, PUNCTUATION, CharTokenizer

__all__ = ["ALPHABET", "BOS", "EOS", "PAD", "PUNCTUATION", "CharTokenizer"]
