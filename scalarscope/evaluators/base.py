"""The :class:`Evaluator` protocol, and scoring a batch of responses with any set of evaluators.

An evaluator is anything with a ``name`` that maps ``(prompt, response)`` to a score in
``[0, 1]``; it may also offer ``token_scores(prompt, response)``, one number per response
character, summing (before squashing) to its sequence logit. A plain function is accepted and
wrapped by :func:`as_evaluator`. Evaluators that share a vectorised ``score_batch`` path (the
synthetic ones) are scored together in one call.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from scalarscope.errors import EvaluatorError


@runtime_checkable
class Evaluator(Protocol):
    """A judge of (prompt, response) pairs. ``token_scores`` is optional."""

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


def as_evaluator(obj: object, name: str | None = None) -> Evaluator:
    """Return ``obj`` as an :class:`Evaluator`; plain callables are wrapped and named after themselves."""
    if hasattr(obj, "name") and callable(obj) and name is None:
        return obj  # type: ignore[return-value]
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
    if evaluators is None or len(evaluators) == 0:
        raise EvaluatorError("evaluators is empty; pass at least one, e.g. correlated_evaluators(n=5, overlap=0.5)")
    wrapped = tuple(as_evaluator(e) for e in evaluators)
    if hasattr(evaluators, "world") and hasattr(evaluators, "overlap"):  # keep an EvaluatorSet's metadata
        wrapped = type(evaluators)(wrapped, overlap=evaluators.overlap, world=evaluators.world)
    names = [e.name for e in wrapped]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise EvaluatorError(f"evaluator names must be unique; repeated: {duplicates}")
    return wrapped


@dataclass(frozen=True)
class ScoreTable:
    """Scores of B responses by n evaluators.

    sequence: [B, n] scores in [0, 1] (0 where invalid).
    tokens:   [B, T, n] token-level feedback (zeros where an evaluator has none or is invalid).
    has_tokens: [n] bool, whether evaluator i gave token-level feedback.
    valid:    [B, n] bool, False where an evaluator raised or returned a non-finite value.
    failures: ((evaluator name, message), ...) for this batch.
    """

    sequence: np.ndarray
    tokens: np.ndarray
    has_tokens: np.ndarray
    valid: np.ndarray
    failures: tuple[tuple[str, str], ...]


def _score_one(evaluator: Evaluator, prompt: str, response: str) -> tuple[float, np.ndarray | None, str | None]:
    try:
        score = float(evaluator(prompt, response))
        tokens = None
        if getattr(evaluator, "has_token_scores", hasattr(evaluator, "token_scores")):
            tokens = np.asarray(evaluator.token_scores(prompt, response), dtype=np.float64)  # type: ignore[attr-defined]
    except Exception as exc:  # a user's evaluator may fail in any way; we record, not crash
        return 0.0, None, f"raised {type(exc).__name__}: {exc}"
    if not math.isfinite(score):
        return 0.0, None, f"returned a non-finite score ({score!r}) for response {response[:30]!r}"
    if not 0.0 <= score <= 1.0:
        return 0.0, None, f"returned {score!r}, outside [0, 1], for response {response[:30]!r}"
    if tokens is not None and (tokens.shape != (len(response),) or not np.all(np.isfinite(tokens))):
        return 0.0, None, f"token_scores gave shape {tokens.shape} or non-finite values for a {len(response)}-char response"
    return score, tokens, None


def score_responses(
    evaluators: Sequence[Evaluator],
    prompts: Sequence[str],
    responses: Sequence[str],
    *,
    prompt_ids: Sequence[np.ndarray] | None = None,
    response_ids: np.ndarray | None = None,
    lengths: np.ndarray | None = None,
) -> ScoreTable:
    """Score ``responses[b]`` (answering ``prompts[b]``) with every evaluator.

    Evaluators whose ``world`` offers ``score_batch`` (the synthetic ones) are scored on token ids in one
    vectorised call per shared world; the others are called once per response.
    """
    batch, n = len(responses), len(evaluators)
    horizon = response_ids.shape[1] if response_ids is not None else max((len(r) for r in responses), default=0)
    sequence = np.zeros((batch, n))
    tokens = np.zeros((batch, horizon, n))
    has_tokens = np.zeros(n, dtype=bool)
    valid = np.ones((batch, n), dtype=bool)
    failures: list[tuple[str, str]] = []
    batched = [i for i, e in enumerate(evaluators)
               if hasattr(getattr(e, "world", None), "score_batch") and response_ids is not None]
    groups: dict[int, list[int]] = {}
    for i in batched:
        groups.setdefault(id(evaluators[i].world), []).append(i)  # type: ignore[attr-defined]
    for members in groups.values():
        world = evaluators[members[0]].world  # type: ignore[attr-defined]
        seq, tok = world.score_batch([evaluators[i] for i in members], prompt_ids, response_ids, lengths)
        sequence[:, members] = seq
        tokens[:, : tok.shape[1], members] = tok
        has_tokens[members] = True
    for i, evaluator in enumerate(evaluators):
        if i in batched:
            continue
        has_tokens[i] = bool(getattr(evaluator, "has_token_scores", hasattr(evaluator, "token_scores")))
        for b, (prompt, response) in enumerate(zip(prompts, responses, strict=True)):
            score, token_scores, problem = _score_one(evaluator, prompt, response)
            if problem is not None:
                valid[b, i] = False
                failures.append((evaluator.name, problem))
                continue
            sequence[b, i] = score
            if token_scores is not None:
                tokens[b, : len(token_scores), i] = token_scores[:horizon]
    return ScoreTable(sequence, tokens, has_tokens, valid, tuple(failures))
