"""A bounded score cache per (prompt, response), kept across cycles.

A converging policy repeats itself, and a real judge (a sentence-embedding model, a reward model)
costs milliseconds per text: remembering its scores turns repeats into dictionary look-ups.
:class:`ScoreCache` is a thread-safe least-recently-used map with a readable hit rate;
:func:`cached` puts one in front of any evaluator. Only valid scores are kept: a failure is asked
again next time (and recorded again), so a flaky judge is not frozen into its worst answer.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

from scalarscope.errors import check_scalar
from scalarscope.evaluators.base import Evaluator, as_evaluator
from scalarscope.evaluators.calls import raw_scores, score_problem

_MISSING = object()


@dataclass(frozen=True)
class CacheInfo:
    """Counters of a :class:`ScoreCache`: look-ups that hit, that missed, entries held and the bound."""

    hits: int
    misses: int
    size: int
    maxsize: int

    @property
    def hit_rate(self) -> float:
        """Share of look-ups answered from the cache (0.0 before any look-up)."""
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


class ScoreCache:
    """Least-recently-used map of at most ``maxsize`` scores."""

    def __init__(self, maxsize: int = 8192) -> None:
        check_scalar(maxsize, "maxsize", kind=int, min_value=1, hint="A cache holds at least one score.")
        self.maxsize = maxsize
        self._entries: OrderedDict[Hashable, float] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = self._misses = 0

    def get(self, key: Hashable) -> object:
        """The score stored under ``key``, or the module's ``_MISSING`` sentinel (counted as a miss)."""
        with self._lock:
            value = self._entries.get(key, _MISSING)
            if value is _MISSING:
                self._misses += 1
            else:
                self._hits += 1
                self._entries.move_to_end(key)
            return value

    def put(self, key: Hashable, value: float) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)

    def info(self) -> CacheInfo:
        with self._lock:
            return CacheInfo(self._hits, self._misses, len(self._entries), self.maxsize)

    @property
    def hit_rate(self) -> float:
        return self.info().hit_rate

    def clear(self) -> None:
        """Forget every score and reset the counters."""
        with self._lock:
            self._entries.clear()
            self._hits = self._misses = 0

    def __len__(self) -> int:
        return len(self._entries)


def cached_scores(cache: ScoreCache, keys: Sequence[Hashable], score_missing) -> list[object]:
    """Scores for ``keys``: hits from ``cache``, the rest from one ``score_missing(indices)`` call
    (each distinct missing key asked once, even when it repeats within the batch); valid new
    scores are stored."""
    values = [cache.get(key) for key in keys]
    first_index: dict[Hashable, int] = {}
    for index, value in enumerate(values):
        if value is _MISSING:
            first_index.setdefault(keys[index], index)
    if first_index:
        fresh = dict(zip(first_index, score_missing(list(first_index.values())), strict=True))
        for key, value in fresh.items():
            if score_problem(value) is None:
                cache.put(key, float(value))  # type: ignore[arg-type]
        values = [fresh[keys[i]] if value is _MISSING else value for i, value in enumerate(values)]
    return values


@dataclass(frozen=True, eq=False)
class CachedEvaluator:
    """``evaluator`` behind a :class:`ScoreCache`; ``uses_prompt=False`` keys on the response alone."""

    evaluator: Evaluator
    cache: ScoreCache = field(default_factory=ScoreCache)
    uses_prompt: bool = True

    @property
    def name(self) -> str:
        return self.evaluator.name

    def __call__(self, prompt: str, response: str) -> float:
        return self.score_batch([prompt], [response])[0]  # type: ignore[return-value]

    def score_batch(self, prompts: Sequence[str], responses: Sequence[str]) -> list[object]:
        keys = [(p, r) if self.uses_prompt else r for p, r in zip(prompts, responses, strict=True)]
        return cached_scores(self.cache, keys, lambda rows: raw_scores(
            self.evaluator, [prompts[i] for i in rows], [responses[i] for i in rows]))


def cached(evaluator: object, *, maxsize: int = 8192, uses_prompt: bool | None = None) -> CachedEvaluator:
    """Put a bounded LRU score cache in front of ``evaluator`` (any evaluator or plain function).

    ``uses_prompt`` defaults to the evaluator's own ``uses_prompt`` attribute, else True; a judge
    that ignores the prompt is better keyed on the response alone (more hits). Read the hit rate
    with ``.cache.info()``. Token-level scores are not cached: the result is sequence-only.
    """
    wrapped = as_evaluator(evaluator)
    if uses_prompt is None:
        uses_prompt = bool(getattr(wrapped, "uses_prompt", True))
    return CachedEvaluator(wrapped, ScoreCache(maxsize), uses_prompt)
