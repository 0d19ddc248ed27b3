"""Aligning a judge's character-level feedback with the student's tokens (numpy only).

A tokenizer's ``offsets(ids)`` gives each token's character span ``(start, end)`` in the decoded
text. Spans need not cover the text: a word-level tokenizer decodes with a space between words
that no token spans, and special tokens span nothing. So every character is given to exactly one
token by this rule:

- a token owns the characters from the end of the previous tokens' spans up to the end of its
  own span (so a gap before a word belongs to that word, as GPT-2's leading-space tokens do);
- characters after the last token that spans any text belong to that token;
- a token that spans nothing (and starts no new text) owns nothing.

The token boundaries ``ends[t]`` are therefore non-decreasing and the last one is the text's
length, which makes the mapping a partition: summed over a response, the token feedback equals the
character feedback exactly, and the prefix ``text[:ends[t]]`` grows token by token to the whole
response (the prefix-difference rule below sums to the sequence score).
"""

from __future__ import annotations

import numpy as np


def char_offsets(n_chars: int) -> np.ndarray:
    """Offsets [n, 2] of a one-token-per-character text (what a character tokenizer gives)."""
    starts = np.arange(n_chars, dtype=np.int64)
    return np.stack([starts, starts + 1], axis=-1)


def token_ends(offsets: np.ndarray, n_chars: int) -> np.ndarray:
    """End boundary [T] of the characters each token owns (see the module docstring); token ``t``
    owns ``text[ends[t-1]:ends[t]]`` with ``ends[-1] = 0``."""
    offsets = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
    if len(offsets) == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.minimum(np.maximum.accumulate(np.maximum(offsets[:, 1], 0)), n_chars)
    covering = np.flatnonzero(offsets[:, 1] > offsets[:, 0])
    last = covering[-1] if len(covering) else len(offsets) - 1
    ends[last:] = n_chars
    return ends


def chars_to_tokens(char_feedback: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Token feedback [T]: the sum of the character feedback [n_chars] each token owns."""
    char_feedback = np.asarray(char_feedback, dtype=np.float64)
    ends = token_ends(offsets, len(char_feedback))
    running = np.concatenate([[0.0], np.cumsum(char_feedback)])
    return np.diff(running[ends], prepend=0.0)


def prefix_texts(text: str, offsets: np.ndarray) -> list[str]:
    """The prefix of ``text`` that ends with each token [T] (the last one is ``text`` itself)."""
    return [text[:end] for end in token_ends(offsets, len(text)).tolist()]


def prefix_differences(prefix_scores: np.ndarray) -> np.ndarray:
    """Token feedback [T] ``score(prefix_t) - score(prefix_{t-1})``, the empty prefix counting as
    0, so the feedback sums to the score of the whole response."""
    return np.diff(np.asarray(prefix_scores, dtype=np.float64), prepend=0.0)
