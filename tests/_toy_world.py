"""A throwaway world, registered in this one module: the tests in test_worlds.py run it through the
CLI, ``sweep`` and ``goodhart`` without any other file knowing it exists.

The character GRU, three plain-Python judges (share of ``letters`` in the response, share of
spaces, share of common consonants) and two prompts of its own. Its one option is ``letters``. Workers find it by
importing this module by name (the tests directory is on ``sys.path``, which local workers share).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

from scalarscope.worlds import WorldSpec, register_world

PROMPTS = ("say something:", "and now?")


def share_of(letters: str, prompt: str, response: str) -> float:
    return sum(c in letters for c in response) / max(len(response), 1)


@dataclass(frozen=True)
class ToyWorld:
    seed: int = 0
    letters: str = "aeiou"
    name = "toy"
    default_holdout = "spaces"
    evaluator_names = ("liked", "spaces", "common")

    def evaluators(self) -> list:
        from scalarscope.evaluators import as_evaluator

        return [as_evaluator(functools.partial(share_of, self.letters), name="liked"),
                as_evaluator(functools.partial(share_of, " "), name="spaces"), as_evaluator(functools.partial(share_of, "etnrs"), name="common")]

    def student(self):
        from scalarscope.student import default_student

        return default_student(seed=self.seed, width=32)

    def prompts(self) -> tuple[str, ...]:
        return PROMPTS

    def engine_config(self):
        from scalarscope.engine import EngineConfig

        return EngineConfig(batch_size=8, max_new_tokens=8, probe_batch=4, state_probe_size=16, transfer_every=0)

    def engine(self, *, holdout: str | None = None, **config_changes):
        from scalarscope.engine import ScalarScopeEngine

        return ScalarScopeEngine(model=self.student(), evaluators=self.evaluators(), holdout=holdout, seed=self.seed,
                                 config=replace(self.engine_config(), **config_changes), prompts=self.prompts())

    def natural_texts(self, n: int, seed: int = 0) -> list[str]:
        return [PROMPTS[(seed + i) % len(PROMPTS)] for i in range(n)]


def build(*, seed: int = 0, letters: str = "aeiou") -> ToyWorld:
    return ToyWorld(seed=seed, letters=letters)


register_world(WorldSpec("toy", "a throwaway test world: the GRU and three plain-Python judges", build,
                         frozenset({"letters"})))
