"""A character-level tokenizer over a small fixed alphabet.

Token ids 0, 1, 2 are reserved for padding, the start of a sequence and its end. Upper-case
letters are mapped to lower case (documented, lossless for the evaluators, which see only
lower case); any other character outside the alphabet raises
:class:`~scalarscope.errors.UnsupportedCharacterError` naming the characters and positions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from scalarscope.errors import UnsupportedCharacterError

PAD, BOS, EOS = 0, 1, 2
PUNCTUATION = ".,!?'-:;"
ALPHABET = " abcdefghijklmnopqrstuvwxyz" + PUNCTUATION + "0123456789"
_SPECIALS = ("<pad>", "<bos>", "<eos>")


@dataclass(frozen=True)
class CharTokenizer:
    """Maps text to token ids and back. ``vocab_size`` counts the three special tokens."""

    alphabet: str = ALPHABET
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(set(self.alphabet)) != len(self.alphabet) or not self.alphabet:
            raise UnsupportedCharacterError("alphabet must be a non-empty string of distinct characters")
        object.__setattr__(self, "_index", {c: i + len(_SPECIALS) for i, c in enumerate(self.alphabet)})

    @property
    def vocab_size(self) -> int:
        return len(self.alphabet) + len(_SPECIALS)

    @property
    def pad_id(self) -> int:
        return PAD

    @property
    def bos_id(self) -> int:
        return BOS

    @property
    def eos_id(self) -> int:
        return EOS

    @property
    def text_ids(self) -> tuple[int, int]:
        """The half-open range [first, last) of ids that are text (not special tokens)."""
        return len(_SPECIALS), self.vocab_size

    def sample_probes(self, n: int, length: int, rng: np.random.Generator) -> np.ndarray:
        """Random probe responses [n, length]: text ids drawn uniformly (the one place probes are drawn)."""
        first, last = self.text_ids
        return rng.integers(first, last, size=(n, length))

    def offsets(self, ids: np.ndarray) -> np.ndarray:
        """Character span [T, 2] (start, end) of each token in the decoded text of ``ids`` [T]:
        one character per text token; special tokens span nothing."""
        ids = np.asarray(ids)
        width = (ids >= len(_SPECIALS)).astype(np.int64)
        end = np.cumsum(width)
        return np.stack([end - width, end], axis=-1)

    @property
    def punctuation(self) -> str:
        """The alphabet's characters that are neither letters, digits nor space."""
        return "".join(c for c in self.alphabet if not (c.isalnum() or c == " "))

    @property
    def symbols(self) -> tuple[str, ...]:
        """Printable name of every token id, specials first."""
        return _SPECIALS + tuple(self.alphabet)

    def normalize(self, text: str, *, what: str = "text") -> str:
        """Lower-case ``text`` and check every character is in the alphabet."""
        if not isinstance(text, str):
            raise UnsupportedCharacterError(f"{what} must be a str, got {type(text).__name__}")
        lowered = text.lower()
        bad = [(i, c) for i, c in enumerate(lowered) if c not in self._index]
        if bad:
            shown = ", ".join(f"{c!r} at {i}" for i, c in bad[:5])
            more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
            raise UnsupportedCharacterError(
                f"{what} {text[:40]!r} has characters outside the student's alphabet: {shown}{more}. "
                f"Allowed: letters (upper case is lowered), digits, space and {self.punctuation!r}; "
                "remove or replace the others."
            )
        return lowered

    def encode(self, text: str, *, what: str = "text") -> np.ndarray:
        """Token ids of ``text`` (no BOS/EOS), int64 array of shape [len(text)]."""
        lowered = self.normalize(text, what=what)
        return np.fromiter((self._index[c] for c in lowered), dtype=np.int64, count=len(lowered))

    def decode(self, ids: np.ndarray | list[int]) -> str:
        """Text of ``ids``, stopping at the first EOS or PAD; BOS is skipped."""
        out = []
        for token in np.asarray(ids).tolist():
            if token in (EOS, PAD):
                break
            if token >= len(_SPECIALS):
                out.append(self.alphabet[token - len(_SPECIALS)])
        return "".join(out)

    def decode_batch(self, ids: np.ndarray, lengths: np.ndarray) -> list[str]:
        """Decode rows of ``ids`` [B, T] up to their ``lengths`` [B]."""
        table = np.array(list(" " * len(_SPECIALS) + self.alphabet))
        return ["".join(table[row[:n]]) for row, n in zip(ids, lengths, strict=True)]
