"""Calling an evaluator on a batch, and checking that what it returned is a score.

Kept apart from :mod:`scalarscope.evaluators.base` so the cache and the TRL bridge can use the same
two rules: a score is a real ``float`` or ``int`` in [0, 1] (a ``bool``, a string, ``None`` or NaN
is not), and an evaluator that raises is recorded, never allowed to stop a run.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from itertools import islice

import numpy as np

from scalarscope.errors import EvaluatorError


def score_problem(value: object) -> str | None:
    """Why ``value`` is not a score in [0, 1] (None when it is one)."""
    if isinstance(value, BaseException):
        return f"raised {type(value).__name__}: {value}"
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        return f"returned a {type(value).__name__} ({value!r:.40}), not a number; return a float in [0, 1]"
    if not math.isfinite(value):
        return f"returned a non-finite score ({value!r})"
    if not 0.0 <= value <= 1.0:
        return f"returned {value!r}, outside [0, 1]"
    return None


def raw_scores(evaluator, prompts: Sequence[str], responses: Sequence[str]) -> list[object]:
    """What ``evaluator`` returns for each pair (an exception object where it raised), through its
    ``score_batch`` when it has one."""
    if hasattr(evaluator, "score_batch"):
        try:
            returned = evaluator.score_batch(list(prompts), list(responses))  # type: ignore[attr-defined]
            if isinstance(returned, Mapping | str | bytes) or not isinstance(returned, Iterable):
                raise EvaluatorError(f"score_batch returned a {type(returned).__name__}; return a list of "
                                     f"{len(responses)} scores, one per response, in order")
            values = list(islice(returned, len(responses) + 1))  # an endless iterator is not read to the end
        except Exception as exc:  # a user's batch method may fail in any way; every pair records it
            return [exc] * len(responses)
        if len(values) != len(responses):
            more = "more than " if len(values) > len(responses) else ""
            problem = EvaluatorError(f"score_batch gave {more}{len(values) - (1 if more else 0)} scores for "
                                     f"{len(responses)} responses")
            return [problem] * len(responses)
        return values
    values: list[object] = []
    for prompt, response in zip(prompts, responses, strict=True):
        try:
            values.append(evaluator(prompt, response))
        except Exception as exc:  # recorded, not raised: one bad judge must not stop a run
            values.append(exc)
    return values
