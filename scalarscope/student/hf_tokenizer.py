"""The :class:`Tokenizer` protocol served by a Hugging Face tokenizer, and an offline character
tokenizer built with the ``tokenizers`` library.

:class:`HFTokenizer` adapts any ``transformers`` tokenizer: it checks text (characters the
tokenizer can only map to its unknown token are refused with their positions), encodes without
special tokens, decodes a batch, gives each token's character span (so per-character evaluator
feedback can be summed onto tokens) and draws probe responses from the ids that are text.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

from scalarscope.errors import ConfigError, UnsupportedCharacterError

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast


class HFTokenizer:
    """A ``transformers`` tokenizer as a ScalarScope :class:`~scalarscope.student.protocol.Tokenizer`.

    A tokenizer without a pad token gets its EOS token as pad (with a warning), as GPT-2 does;
    one with neither is refused. ``vocab_size`` is the model's embedding size when given (it may
    exceed the tokenizer's: GPT-2 pads its embedding), never less than the tokenizer's.
    """

    def __init__(self, tokenizer, *, vocab_size: int | None = None):
        if not callable(getattr(tokenizer, "convert_ids_to_tokens", None)):
            raise ConfigError(f"tokenizer must be a transformers tokenizer, got {type(tokenizer).__name__}")
        if tokenizer.eos_token_id is None:
            raise ConfigError("the tokenizer has no EOS token; set tokenizer.eos_token (the student must be able "
                              "to end a response)")
        if tokenizer.pad_token_id is None:
            warnings.warn("the tokenizer has no pad token; using its EOS token as pad (as GPT-2 does)",
                          stacklevel=3)
            tokenizer.pad_token = tokenizer.eos_token
        self.hf = tokenizer
        self.eos_id = int(tokenizer.eos_token_id)
        self.pad_id = int(tokenizer.pad_token_id)
        self.bos_id = int(tokenizer.bos_token_id) if tokenizer.bos_token_id is not None else self.eos_id
        n_tokenizer = len(tokenizer)
        if vocab_size is not None and vocab_size < n_tokenizer:
            raise ConfigError(
                f"the tokenizer has {n_tokenizer} tokens but the model's embedding only {vocab_size}: they do not "
                "belong together; pass the tokenizer the model was trained with (or resize_token_embeddings)")
        self.vocab_size = int(vocab_size or n_tokenizer)
        special = set(tokenizer.all_special_ids)
        self._text_ids = np.array([i for i in range(n_tokenizer) if i not in special], dtype=np.int64)
        if not len(self._text_ids):
            raise ConfigError("the tokenizer has no text tokens")
        contiguous = self._text_ids[-1] - self._text_ids[0] + 1 == len(self._text_ids)
        self._text_range = (int(self._text_ids[0]), int(self._text_ids[-1]) + 1) if contiguous else None
        self._unk = tokenizer.unk_token_id

    @property
    def special_ids(self) -> np.ndarray:
        return np.array(sorted(set(self.hf.all_special_ids)), dtype=np.int64)

    def normalize(self, text: str, *, what: str = "text") -> str:
        """``text`` as the tokenizer reads it; characters it can only call unknown raise
        :class:`UnsupportedCharacterError` naming them and their positions."""
        if not isinstance(text, str):
            raise UnsupportedCharacterError(f"{what} must be a str, got {type(text).__name__}")
        if self._unk is None:
            return text
        encoded = self.hf(text, add_special_tokens=False, return_offsets_mapping=True)
        bad = [(start, text[start:end]) for tid, (start, end) in zip(encoded["input_ids"], encoded["offset_mapping"],
                                                                    strict=True) if tid == self._unk]
        if bad:
            shown = ", ".join(f"{piece!r} at {i}" for i, piece in bad[:5])
            raise UnsupportedCharacterError(
                f"{what} {text[:40]!r} has text the student's tokenizer cannot represent: {shown}. "
                "Remove or replace it.")
        return text

    def encode(self, text: str, *, what: str = "text") -> np.ndarray:
        """Token ids [n] of ``text``, no special tokens."""
        self.normalize(text, what=what)
        return np.asarray(self.hf(text, add_special_tokens=False)["input_ids"], dtype=np.int64)

    def decode_batch(self, ids: np.ndarray, lengths: np.ndarray) -> list[str]:
        """Texts of rows ``ids`` [B, T] up to their ``lengths`` [B]."""
        rows = [row[:n].tolist() for row, n in zip(np.asarray(ids), np.asarray(lengths), strict=True)]
        return self.hf.batch_decode(rows, skip_special_tokens=True, clean_up_tokenization_spaces=False)

    def offsets(self, ids: np.ndarray) -> np.ndarray:
        """Character span [T, 2] of each token of ``ids`` [T] within their decoded text (prefix
        decoding: exact for any tokenizer, whatever its decoder joins tokens with)."""
        ids = np.asarray(ids).tolist()
        ends = [len(self.hf.decode(ids[: t + 1], skip_special_tokens=True, clean_up_tokenization_spaces=False))
                for t in range(len(ids))]
        starts = [0, *ends[:-1]] if ends else []
        return np.array([starts, ends], dtype=np.int64).reshape(2, len(ids)).T

    def sample_probes(self, n: int, length: int, rng: np.random.Generator) -> np.ndarray:
        """Random probe responses [n, length], drawn uniformly from the text (non-special) ids."""
        if self._text_range is not None:
            return rng.integers(*self._text_range, size=(n, length))
        return self._text_ids[rng.integers(len(self._text_ids), size=(n, length))]

    def spec(self) -> dict:
        return {"kind": "hf", "vocab_size": self.vocab_size}


def char_tokenizer_hf(alphabet: str | None = None) -> PreTrainedTokenizerFast:
    """A ``transformers`` fast tokenizer with one token per character of ``alphabet`` (default: the
    kit's), built offline with the ``tokenizers`` library. Ids match :class:`CharTokenizer`'s:
    ``<pad>`` 0, ``<bos>`` 1, ``<eos>`` 2, then the alphabet; upper case is lowered."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    from scalarscope.student.tokenizer import ALPHABET

    alphabet = ALPHABET if alphabet is None else alphabet
    specials = ["<pad>", "<bos>", "<eos>", "<unk>"]
    vocab = {tok: i for i, tok in enumerate(specials[:3])}
    vocab.update({c: i + 3 for i, c in enumerate(alphabet)})
    vocab["<unk>"] = len(vocab)
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.normalizer = normalizers.Lowercase()
    core.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    core.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", bos_token="<bos>", eos_token="<eos>",
                                   unk_token="<unk>")
