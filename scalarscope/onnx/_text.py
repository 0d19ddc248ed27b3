"""Text to token ids without torch: the same rules as :class:`scalarscope.student.CharTokenizer`.

``scalarscope.student`` imports torch on import, so the conscience re-implements the (tiny)
character mapping here; ``tests/test_onnx.py`` checks both agree on ids and on errors.
"""

from __future__ import annotations

import numpy as np

from scalarscope.errors import UnsupportedCharacterError

PAD, BOS, EOS = 0, 1, 2
N_SPECIALS = 3


class TextCodec:
    """Encodes text over ``alphabet`` (ids from 3; upper case is lowered) and decodes ids back."""

    def __init__(self, alphabet: str):
        self.alphabet = alphabet
        self._index = {c: i + N_SPECIALS for i, c in enumerate(alphabet)}
        self._others = "".join(c for c in alphabet if not (c.isalnum() or c == " "))

    @property
    def vocab_size(self) -> int:
        return len(self.alphabet) + N_SPECIALS

    def encode(self, text: str, *, what: str = "text") -> np.ndarray:
        """Token ids int64 [len(text)] of ``text`` (no BOS/EOS)."""
        if not isinstance(text, str):
            raise UnsupportedCharacterError(f"{what} must be a str, got {type(text).__name__}")
        lowered = text.lower()
        bad = [(i, c) for i, c in enumerate(lowered) if c not in self._index]
        if bad:
            shown = ", ".join(f"{c!r} at {i}" for i, c in bad[:5])
            more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
            raise UnsupportedCharacterError(
                f"{what} {text[:40]!r} has characters outside the student's alphabet: {shown}{more}. "
                f"Allowed: letters (upper case is lowered), digits, space and {self._others!r}; "
                "remove or replace the others."
            )
        return np.fromiter((self._index[c] for c in lowered), dtype=np.int64, count=len(lowered))

    def decode(self, ids) -> str:
        """Text of ``ids`` up to the first EOS or PAD; BOS is skipped."""
        out = []
        for token in np.asarray(ids).tolist():
            if token in (EOS, PAD):
                break
            if token >= N_SPECIALS:
                out.append(self.alphabet[token - N_SPECIALS])
        return "".join(out)
