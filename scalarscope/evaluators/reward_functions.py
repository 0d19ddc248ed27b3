"""A bridge to TRL-style reward functions, both ways.

TRL's trainers (``GRPOTrainer``, ``RLOOTrainer``) call each reward function with keyword arguments,
``reward_func(prompts=[...], completions=[...], completion_ids=..., **dataset_columns)``, and expect
a ``list[float]`` with one reward per completion, ``None`` where the reward does not apply (TRL
turns ``None`` into NaN). A completion is a string, or, in TRL's conversational format, a list of
messages ``[{"role": "assistant", "content": "..."}]`` (a prompt likewise).

- :func:`from_reward_function` makes such a function a ScalarScope evaluator: one call per batch,
  its rewards mapped linearly from ``score_range`` to [0, 1]; a value outside the range, ``None``,
  NaN or a non-number is a recorded failure, like any evaluator's.
- :func:`as_reward_function` hands any ScalarScope evaluator to TRL: it returns the scores, with
  ``None`` where the evaluator failed, and is named after the evaluator (TRL logs by ``__name__``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from scalarscope.errors import EvaluatorError
from scalarscope.evaluators.base import as_evaluator, score_responses


@dataclass(frozen=True, eq=False)
class RewardFunctionEvaluator:
    """A TRL-style ``f(prompts, completions, **kwargs) -> list[float]`` as an evaluator."""

    name: str
    fn: Callable[..., Sequence[object]]
    score_range: tuple[float, float] = (0.0, 1.0)
    reward_kwargs: Mapping[str, object] = field(default_factory=dict)

    def __call__(self, prompt: str, response: str) -> object:
        return self.score_batch([prompt], [response])[0]

    def score_batch(self, prompts: Sequence[str], responses: Sequence[str]) -> list[object]:
        rewards = self.fn(prompts=list(prompts), completions=list(responses), **self.reward_kwargs)
        low, high = self.score_range
        return [_rescale(reward, low, high) for reward in rewards]


def _rescale(reward: object, low: float, high: float) -> object:
    """``reward`` mapped from [low, high] to [0, 1]; anything that is not a plain number passes
    through unchanged so the scoring records it as a failure."""
    if isinstance(reward, bool) or not isinstance(reward, int | float):
        return reward
    return (reward - low) / (high - low)


def from_reward_function(
    fn: Callable[..., Sequence[object]],
    *,
    name: str | None = None,
    score_range: tuple[float, float] = (0.0, 1.0),
    **reward_kwargs: object,
) -> RewardFunctionEvaluator:
    """An evaluator from a TRL-style reward function ``fn(prompts, completions, **kwargs)``.

    ``score_range`` = (worst, best) reward ``fn`` can give, mapped to [0, 1] (e.g. ``(-1, 1)``).
    ``reward_kwargs`` are passed on every call (TRL passes dataset columns this way).
    """
    if not callable(fn):
        raise EvaluatorError(f"reward function {fn!r} is not callable; pass f(prompts, completions, **kwargs)")
    label = name or getattr(fn, "__name__", None)
    if not label or label == "<lambda>":
        raise EvaluatorError("a lambda reward function needs a name: from_reward_function(fn, name='my_reward')")
    low, high = (float(v) for v in score_range)
    if not low < high:
        raise EvaluatorError(f"score_range must be (worst, best) with worst < best, got {score_range!r}")
    return RewardFunctionEvaluator(str(label), fn, (low, high), dict(reward_kwargs))


def _text(item: object, what: str) -> str:
    """The text of a prompt or completion: a string, or the last message's content."""
    if isinstance(item, str):
        return item
    if isinstance(item, Sequence) and item and isinstance(item[-1], Mapping) and "content" in item[-1]:
        return str(item[-1]["content"])
    raise EvaluatorError(f"{what} {item!r:.60} is neither a string nor a list of messages with 'content'")


def as_reward_function(evaluator: object) -> Callable[..., list[float | None]]:
    """A TRL reward function ``reward(prompts, completions, **kwargs) -> list[float | None]`` that
    scores with ``evaluator`` (one batched call); extra keyword arguments are ignored."""
    judge = as_evaluator(evaluator)

    def reward(prompts: Sequence[object] | None = None, completions: Sequence[object] = (),
               **kwargs: object) -> list[float | None]:
        texts = [_text(c, "completion") for c in completions]
        if prompts is None:
            prompts = [""] * len(texts)
        if len(prompts) != len(texts):
            raise EvaluatorError(f"got {len(prompts)} prompts for {len(texts)} completions; pass one per completion")
        table = score_responses([judge], [_text(p, "prompt") for p in prompts], texts)
        return [float(s) if ok else None for s, ok in zip(table.sequence[:, 0], table.valid[:, 0], strict=True)]

    reward.__name__ = reward.__qualname__ = judge.name
    return reward
