"""A per-call time limit for an evaluator that may hang (a remote judge, a model server).

``with_timeout(judge, seconds=2.0)`` returns an evaluator that gives up on a call after
``seconds`` and raises :class:`EvaluatorTimeout`; the engine records that as an
``evaluator_error`` for the response (like any evaluator that raises) and the cycle goes on.

Off by default: each call is handed to a helper thread and waited for, about 40 µs per call on
a 2-core machine (20,000 calls of a function returning a constant: 0.07 µs bare, 40 µs wrapped),
negligible for a slow judge and a pure cost for a fast one (the synthetic evaluators, which are
also scored in one vectorised call that a wrapper would forgo). A Python thread cannot be killed: a call that never returns keeps its
(daemon) thread until the process ends; the wrapper moves on to a fresh thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence

from scalarscope.errors import check_scalar


class EvaluatorTimeout(TimeoutError):
    """An evaluator call took longer than its time limit."""


class _Worker:
    """One daemon thread running calls from a queue."""

    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._loop, name="scalarscope-evaluator", daemon=True).start()

    def _loop(self) -> None:
        while True:
            fn, args, box, done = self.jobs.get()
            try:
                box.append((True, fn(*args)))
            except BaseException as exc:  # handed back to the caller, who re-raises it
                box.append((False, exc))
            done.set()


class TimedEvaluator:
    """``evaluator`` with a time limit per call (see :func:`with_timeout`)."""

    def __init__(self, evaluator, seconds: float):
        from scalarscope.evaluators.base import as_evaluator

        check_scalar(seconds, "seconds", min_value=0.0, include_min=False,
                     hint="The time limit of one evaluator call, e.g. seconds=2.0.")
        self.evaluator = as_evaluator(evaluator)
        self.name = self.evaluator.name
        self.seconds = float(seconds)
        self._worker: _Worker | None = None
        self._lock = threading.Lock()
        if hasattr(self.evaluator, "score_batch"):  # one batched call keeps one limit, not one per response
            self.score_batch = self._score_batch
        if hasattr(self.evaluator, "token_feedback"):
            self.token_feedback = self.evaluator.token_feedback

    @property
    def has_token_scores(self) -> bool:
        inner = self.evaluator
        return bool(getattr(inner, "has_token_scores", hasattr(inner, "token_scores")))

    def _call(self, fn: Callable, *args):
        with self._lock:
            worker = self._worker = self._worker or _Worker()
        box: list = []
        done = threading.Event()
        worker.jobs.put((fn, args, box, done))
        if not done.wait(self.seconds):
            with self._lock:
                if self._worker is worker:
                    self._worker = None  # that thread is stuck in the call: later calls get a new one
            raise EvaluatorTimeout(f"evaluator {self.name!r} did not answer within {self.seconds:g} s")
        ok, value = box[0]
        if ok:
            return value
        raise value

    def __call__(self, prompt: str, response: str) -> float:
        return self._call(self.evaluator, prompt, response)

    def _score_batch(self, prompts: Sequence[str], responses: Sequence[str]) -> Sequence[object]:
        from scalarscope.evaluators.calls import raw_scores

        return self._call(raw_scores, self.evaluator, list(prompts), list(responses))

    def token_scores(self, prompt: str, response: str) -> Sequence[float]:
        return self._call(self.evaluator.token_scores, prompt, response)

    def __repr__(self) -> str:
        return f"with_timeout({self.evaluator!r}, seconds={self.seconds:g})"


def with_timeout(evaluator, seconds: float) -> TimedEvaluator:
    """``evaluator`` (an evaluator or a plain function) with a limit of ``seconds`` per call.

    A call over the limit raises :class:`EvaluatorTimeout`, which the engine records as an
    ``evaluator_error`` for that response. ``seconds`` must be finite and > 0.
    """
    return TimedEvaluator(evaluator, seconds)
