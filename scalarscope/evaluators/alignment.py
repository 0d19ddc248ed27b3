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

The second half applies the rule to a batch for :func:`~scalarscope.evaluators.score_responses`:
each row's offsets (:class:`RowOffsets`), and the token feedback of a character-level judge or of
prefix differences, row by row, with the rows where it failed and why.
"""

from __future__ import annotations

import numpy as np

from scalarscope.errors import EvaluatorError
from scalarscope.evaluators.calls import raw_scores, score_problem


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


def char_token_scores(evaluator, prompt: str, response: str) -> tuple[np.ndarray | None, str | None]:
    try:
        tokens = np.asarray(evaluator.token_scores(prompt, response), dtype=np.float64)
    except Exception as exc:  # a user's evaluator may fail in any way; we record, not crash
        return None, f"token_scores raised {type(exc).__name__}: {exc}"
    if tokens.shape != (len(response),) or not np.all(np.isfinite(tokens)):
        return None, f"token_scores gave shape {tokens.shape} or non-finite values for a {len(response)}-char response"
    return tokens, None


def gives_char_feedback(evaluator) -> bool:
    return bool(getattr(evaluator, "has_token_scores", hasattr(evaluator, "token_scores")))


class RowOffsets:
    """Each response's token offsets, computed on first use: the tokenizer's where one is given,
    else one token per character (the character student's layout)."""

    def __init__(self, responses, tokenizer, response_ids, lengths):
        self._responses, self._tokenizer, self._ids, self._lengths = responses, tokenizer, response_ids, lengths
        self._rows: dict[int, np.ndarray] = {}

    def __getitem__(self, b: int) -> np.ndarray:
        if b not in self._rows:
            if self._tokenizer is None:
                length = len(self._responses[b])
                if self._ids is not None and self._lengths is not None and int(self._lengths[b]) != length:
                    raise EvaluatorError(
                        f"a {length}-character response has {int(self._lengths[b])} tokens: per-character "
                        "feedback needs the student's tokenizer, score_responses(..., tokenizer=student.tokenizer)")
                self._rows[b] = char_offsets(length)
            else:
                if self._ids is not None:
                    length = int(self._lengths[b]) if self._lengths is not None else self._ids.shape[1]
                    ids = np.asarray(self._ids[b, :length])
                else:
                    try:
                        ids = self._tokenizer.encode(self._responses[b], what="response")
                    except ValueError as exc:  # text the student cannot write has no token offsets
                        raise EvaluatorError(f"token feedback needs the response's tokens: {exc}") from exc
                empty = np.zeros((0, 2), dtype=np.int64)
                self._rows[b] = np.asarray(self._tokenizer.offsets(ids)).reshape(-1, 2) if len(ids) else empty
        return self._rows[b]


def prefix_feedback_rows(evaluator, prompts, responses, offsets: RowOffsets, rows: list[int]
                         ) -> tuple[dict[int, np.ndarray], dict[int, str]]:
    """Prefix-difference token feedback of ``rows``: {row: feedback [T]} and {row: problem}."""
    texts, problems = {}, {}
    for b in rows:
        try:
            texts[b] = prefix_texts(responses[b], offsets[b])
        except EvaluatorError as exc:
            problems[b] = str(exc)
    rows = list(texts)
    flat_prompts = [prompts[b] for b in rows for _ in texts[b]]
    flat_texts = [t for b in rows for t in texts[b]]
    raw = iter(raw_scores(evaluator, flat_prompts, flat_texts) if flat_texts else [])
    feedback = {}
    for b in rows:
        values = [next(raw) for _ in texts[b]]
        bad = next((p for p in map(score_problem, values) if p is not None), None)
        if bad is not None:
            problems[b] = f"on a prefix: {bad}"
        else:
            feedback[b] = prefix_differences(np.asarray(values, dtype=np.float64))
    return feedback, problems


def char_feedback_rows(evaluator, prompts, responses, offsets: RowOffsets, rows: list[int]
                       ) -> tuple[dict[int, np.ndarray], dict[int, str]]:
    """Per-character feedback summed onto tokens for ``rows``: {row: feedback [T]}, {row: problem}."""
    feedback, problems = {}, {}
    for b in rows:
        char_feedback, problem = char_token_scores(evaluator, prompts[b], responses[b])
        try:
            if problem is None:
                feedback[b] = chars_to_tokens(char_feedback, offsets[b])
        except EvaluatorError as exc:
            problem = str(exc)
        if problem is not None:
            problems[b] = problem
    return feedback, problems
