"""The :class:`Evaluator` protocol, and scoring a batch of responses with any set of evaluators.

An evaluator is anything with a ``name`` that maps ``(prompt, response)`` (decoded text) to a score
in ``[0, 1]``: a real ``float`` or ``int`` (a ``bool``, a string such as ``"0.5"``, ``None`` or NaN
is a recorded failure, never a score). A plain function is accepted and wrapped by
:func:`as_evaluator`. Optional capabilities, each detected by its attribute:

- ``score_batch(prompts, responses) -> Sequence[float]``: one call scores a whole batch (a real
  judge runs its model once per batch instead of once per pair);
- ``token_scores(prompt, response)``: feedback per response *character*, summing (before
  squashing) to the sequence logit. It is summed onto the student's tokens through the tokenizer's
  offsets (:mod:`scalarscope.evaluators.alignment`);
- ``token_feedback = "prefix"`` (see :func:`prefix_feedback`): a sequence-only judge whose token
  feedback is ``score(prefix_t) - score(prefix_{t-1})``, which sums to its sequence score;
- otherwise a judge is *sequence-only*: the table holds no token feedback for it
  (``has_tokens`` False), and the policy update spreads its sequence score evenly over the
  response's tokens.

Synthetic evaluators sharing ``latent`` features with a vectorised ``score_batch`` on token ids are scored
together in one call. Caching lives in :mod:`scalarscope.evaluators.cache`, the TRL bridge in
:mod:`scalarscope.evaluators.reward_functions`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from scalarscope.errors import EvaluatorError
from scalarscope.evaluators.alignment import (
    RowOffsets,
    char_feedback_rows,
    gives_char_feedback,
    prefix_feedback_rows,
)
from scalarscope.evaluators.calls import raw_scores, score_problem


@runtime_checkable
class Evaluator(Protocol):
    """A judge of (prompt, response) pairs. ``score_batch`` and ``token_scores`` are optional."""

    name: str

    def __call__(self, prompt: str, response: str) -> float: ...


@dataclass(frozen=True)
class CallableEvaluator:
    """Wraps a plain ``f(prompt, response) -> float`` (and optionally a token-score function)."""

    name: str
    fn: Callable[[str, str], float]
    token_fn: Callable[[str, str], Sequence[float]] | None = None

    def __call__(self, prompt: str, response: str) -> float:
        return self.fn(prompt, response)

    def token_scores(self, prompt: str, response: str) -> Sequence[float]:
        if self.token_fn is None:
            raise AttributeError(f"evaluator {self.name!r} has no token-level scores")
        return self.token_fn(prompt, response)

    @property
    def has_token_scores(self) -> bool:
        return self.token_fn is not None


class RenamedEvaluator:
    """An evaluator object under another name, keeping its capabilities (``score_batch``,
    ``token_scores``, ``token_feedback``): what ``as_evaluator(judge, name=...)`` returns."""

    def __init__(self, evaluator, name: str) -> None:
        self.evaluator, self.name = evaluator, name
        if hasattr(evaluator, "score_batch"):
            self.score_batch = evaluator.score_batch
        if gives_char_feedback(evaluator):
            self.token_scores = evaluator.token_scores
        if hasattr(evaluator, "token_feedback"):
            self.token_feedback = evaluator.token_feedback

    def __call__(self, prompt: str, response: str) -> float:
        return self.evaluator(prompt, response)

    def __repr__(self) -> str:
        return f"as_evaluator({self.evaluator!r}, name={self.name!r})"


def as_evaluator(obj: object, name: str | None = None) -> Evaluator:
    """Return ``obj`` as an :class:`Evaluator`; plain callables are wrapped and named after themselves.
    An evaluator object given a new ``name`` keeps its ``score_batch`` and ``token_scores``."""
    if hasattr(obj, "name") and callable(obj) and name is None:
        return obj  # type: ignore[return-value]
    if name is not None and not isinstance(name, str):
        raise EvaluatorError(f"an evaluator name must be a str, got {name!r}")
    if callable(obj) and (hasattr(obj, "score_batch") or gives_char_feedback(obj) or hasattr(obj, "token_feedback")):
        label = name or getattr(obj, "name", None) or type(obj).__name__
        return RenamedEvaluator(obj, str(label))  # type: ignore[return-value]
    if not callable(obj):
        raise EvaluatorError(
            f"evaluator {obj!r} is not callable; pass a function f(prompt, response) -> score in [0, 1] "
            "or an object with a name and __call__"
        )
    label = name or getattr(obj, "name", None) or getattr(obj, "__name__", None) or type(obj).__name__
    if label == "<lambda>":
        raise EvaluatorError("a lambda evaluator needs a name: as_evaluator(fn, name='my_judge')")
    return CallableEvaluator(name=str(label), fn=obj)  # type: ignore[arg-type]


def check_evaluators(evaluators: Sequence[object]) -> tuple[Evaluator, ...]:
    """Wrap and validate a sequence of evaluators: at least one, unique names."""
    if evaluators is not None and not isinstance(evaluators, Sequence) and not hasattr(evaluators, "latent"):
        if not isinstance(evaluators, Iterable) or isinstance(evaluators, str | bytes | Mapping):
            raise EvaluatorError(f"evaluators must be a list of evaluators, got {type(evaluators).__name__}; e.g. "
                                 "evaluators=correlated_evaluators(n=5, overlap=0.5)")
        evaluators = list(evaluators)  # a generator or other one-shot iterable: read once
    if evaluators is None or len(evaluators) == 0:
        raise EvaluatorError("evaluators is empty; pass at least one, e.g. correlated_evaluators(n=5, overlap=0.5)")
    wrapped = tuple(as_evaluator(e) for e in evaluators)
    if hasattr(evaluators, "latent") and hasattr(evaluators, "overlap"):  # keep an EvaluatorSet's metadata
        wrapped = type(evaluators)(wrapped, overlap=evaluators.overlap, latent=evaluators.latent)
    names = [e.name for e in wrapped]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise EvaluatorError(f"evaluator names must be unique; repeated: {duplicates}")
    return wrapped


@dataclass(frozen=True)
class PrefixFeedback:
    """A sequence-only evaluator whose token feedback is the difference of its prefix scores."""

    evaluator: Evaluator
    token_feedback = "prefix"

    @property
    def name(self) -> str:
        return self.evaluator.name

    def __call__(self, prompt: str, response: str) -> float:
        return self.evaluator(prompt, response)

    def score_batch(self, prompts: Sequence[str], responses: Sequence[str]) -> Sequence[object]:
        return raw_scores(self.evaluator, prompts, responses)


def prefix_feedback(evaluator: object) -> PrefixFeedback:
    """``evaluator`` giving token feedback ``score(prefix_t) - score(prefix_{t-1})`` (the empty prefix
    scores 0), so the feedback sums to its sequence score. All prefixes of a batch are scored in one
    ``score_batch`` call: T times the work of sequence scoring, which a cache softens."""
    return PrefixFeedback(as_evaluator(evaluator))


@dataclass(frozen=True)
class ScoreTable:
    """Scores of B responses by n evaluators.

    sequence: [B, n] scores in [0, 1] (0 where invalid).
    tokens:   [B, T, n] token-level feedback (zeros where an evaluator has none or is invalid).
    has_tokens: [n] bool, whether evaluator i gave token-level feedback.
    valid:    [B, n] bool, False where an evaluator raised or returned something that is not a score.
    failures: ((evaluator name, message), ...) for this batch.
    failure_cells: the (response, evaluator) each failure is about, in the same order (empty when a
        table was assembled by hand).
    """

    sequence: np.ndarray
    tokens: np.ndarray
    has_tokens: np.ndarray
    valid: np.ndarray
    failures: tuple[tuple[str, str], ...]
    failure_cells: tuple[tuple[int, int], ...] = ()

    def take(self, rows, columns=None) -> ScoreTable:
        """The sub-table of ``rows`` (a slice or indices) and ``columns`` (evaluator indices; None:
        all), with the failures of those cells. Lets a caller score several batches in one call
        (one model call per judge) and split the result."""
        index = np.arange(len(self.sequence))[rows]
        cols = np.arange(self.sequence.shape[1]) if columns is None else np.asarray(columns)
        row_at = {int(r): i for i, r in enumerate(index)}
        col_at = {int(c): j for j, c in enumerate(cols)}
        kept = [(failure, (row_at[b], col_at[i])) for failure, (b, i) in zip(self.failures, self.failure_cells, strict=True)
                if b in row_at and i in col_at]
        return ScoreTable(self.sequence[np.ix_(index, cols)], self.tokens[index][:, :, cols], self.has_tokens[cols],
                          self.valid[np.ix_(index, cols)], tuple(f for f, _ in kept), tuple(c for _, c in kept))

    def token_feedback(self, lengths: np.ndarray) -> np.ndarray:
        """Token feedback [B, T, n] of every evaluator: its own where it gives some, else its
        sequence score spread evenly over the response's ``lengths`` [B] tokens; zero past a
        response's end and where the evaluator failed. The one rule for spreading a sequence-only
        judge's score over tokens (the policy's token rewards come from here)."""
        lengths = np.asarray(lengths)
        horizon = self.tokens.shape[1]
        spread = self.sequence / np.maximum(lengths, 1)[:, None]
        feedback = np.where(self.has_tokens[None, None, :], self.tokens, spread[:, None, :])
        mask = np.arange(horizon)[None, :] < lengths[:, None]
        return feedback * mask[..., None] * self.valid[:, None, :]


class _TableBuilder:
    """The arrays of a :class:`ScoreTable` being filled, and the failures recorded so far."""

    def __init__(self, evaluators, responses, horizon: int):
        batch, n = len(responses), len(evaluators)
        self.evaluators, self.responses = evaluators, responses
        self.sequence, self.tokens = np.zeros((batch, n)), np.zeros((batch, horizon, n))
        self.has_tokens, self.valid = np.zeros(n, dtype=bool), np.ones((batch, n), dtype=bool)
        self.failures: list[tuple[str, str]] = []
        self.cells: list[tuple[int, int]] = []

    def fail(self, b: int, i: int, problem: str) -> None:
        self.valid[b, i], self.sequence[b, i] = False, 0.0
        self.tokens[b, :, i] = 0.0
        self.failures.append((self.evaluators[i].name, f"{problem} for response {self.responses[b][:30]!r}"))
        self.cells.append((b, i))

    def set_tokens(self, i: int, feedback: dict, problems: dict) -> None:
        self.has_tokens[i] = True
        for b, problem in problems.items():
            self.fail(b, i, problem)
        for b, values in feedback.items():
            self.tokens[b, : len(values), i] = values[: self.tokens.shape[1]]

    def table(self) -> ScoreTable:
        return ScoreTable(self.sequence, self.tokens, self.has_tokens, self.valid, tuple(self.failures),
                          tuple(self.cells))


def _score_by_latent_features(out: _TableBuilder, evaluators, prompt_ids, response_ids, lengths) -> set[int]:
    """Score the evaluators that share synthetic latent features in one vectorised call per set;
    returns their indices."""
    if response_ids is None:
        return set()
    groups: dict[int, list[int]] = {}
    for i, e in enumerate(evaluators):
        if hasattr(getattr(e, "latent", None), "score_batch"):
            groups.setdefault(id(e.latent), []).append(i)
    for members in groups.values():
        latent = evaluators[members[0]].latent
        seq, tok = latent.score_batch([evaluators[i] for i in members], prompt_ids, response_ids, lengths)
        out.sequence[:, members] = seq
        out.tokens[:, : tok.shape[1], members] = tok
        out.has_tokens[members] = True
    return {i for members in groups.values() for i in members}


def _horizon(responses, offsets: RowOffsets, response_ids) -> int:
    if response_ids is not None:
        return response_ids.shape[1]
    widths = []
    for b in range(len(responses)):
        try:
            widths.append(len(offsets[b]))
        except (EvaluatorError, ValueError):  # recorded later, where this row's feedback is asked for
            widths.append(len(responses[b]))
    return max(widths, default=0)


def score_responses(
    evaluators: Sequence[Evaluator],
    prompts: Sequence[str],
    responses: Sequence[str],
    *,
    prompt_ids: Sequence[np.ndarray] | None = None,
    response_ids: np.ndarray | None = None,
    lengths: np.ndarray | None = None,
    tokenizer: object | None = None,
) -> ScoreTable:
    """Score ``responses[b]`` (answering ``prompts[b]``) with every evaluator.

    ``response_ids`` [B, T] and ``lengths`` [B] are the student's tokens of the responses; with a
    ``tokenizer`` (the student's, offering ``offsets``), character feedback is summed onto those
    tokens, and without one each character is taken to be one token. Evaluators whose ``latent``
    features offer ``score_batch`` (the synthetic ones) are scored on token ids in one vectorised call
    per shared set of features; an evaluator with its own ``score_batch`` gets one call for the batch; the others
    are called once per response.
    """
    offsets = RowOffsets(responses, tokenizer, response_ids, lengths)
    out = _TableBuilder(evaluators, responses, _horizon(responses, offsets, response_ids))
    done = _score_by_latent_features(out, evaluators, prompt_ids, response_ids, lengths)
    for i, evaluator in enumerate(evaluators):
        if i in done:
            continue
        for b, value in enumerate(raw_scores(evaluator, prompts, responses)):
            problem = score_problem(value)
            if problem is None:
                out.sequence[b, i] = float(value)  # type: ignore[arg-type]
            else:
                out.fail(b, i, problem)
        rows = [b for b in range(len(responses)) if out.valid[b, i]]
        if getattr(evaluator, "token_feedback", None) == "prefix":
            out.set_tokens(i, *prefix_feedback_rows(evaluator, prompts, responses, offsets, rows))
        elif gives_char_feedback(evaluator):
            out.set_tokens(i, *char_feedback_rows(evaluator, prompts, responses, offsets, rows))
    return out.table()
