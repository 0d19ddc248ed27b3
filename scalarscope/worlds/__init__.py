"""Worlds: a named bundle of a student, its judges, a prompt source and a probe source.

A world is one small module; the CLI's ``--world``, sweeps, studies and notebooks take its name,
so adding a world never means editing the engine. ``default`` is the character world with
synthetic evaluators whose overlap is set exactly; any world can take any registered student
(``--student``) whose tokenizer writes what its judges read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from scalarscope.errors import ConfigError
from scalarscope.student import STUDENTS as STUDENTS  # the worlds' students, by name
from scalarscope.student import build_student


@dataclass(frozen=True)
class World:
    """What a world provides. ``evaluators(seed, overlap, n)`` builds its judges (worlds whose
    overlap is measured, not set, ignore ``overlap``); ``student(name, seed)`` its student;
    ``prompts`` its prompt source (None: the engine's defaults)."""

    name: str
    description: str
    evaluators: Callable[..., object]
    student: Callable[..., object]
    prompts: tuple[str, ...] | None = None


def _default_evaluators(*, seed: int, overlap: float, n: int):
    from scalarscope.evaluators.synthetic import correlated_evaluators

    return correlated_evaluators(n, overlap, seed=seed)


WORLDS: dict[str, World] = {
    "default": World("default", "character text; synthetic evaluators with an exact overlap knob",
                     _default_evaluators, lambda name="gru", *, seed=0: build_student(name, seed=seed)),
}


def register_world(world: World) -> World:
    """Add ``world`` to :data:`WORLDS` under its name (replacing one of that name)."""
    WORLDS[world.name] = world
    return world


def get_world(name: str) -> World:
    if name not in WORLDS:
        raise ConfigError(f"world={name!r} is not a known world; choose one of {sorted(WORLDS)}")
    return WORLDS[name]


def _real_judges_evaluators(**kwargs):
    from scalarscope.worlds.real_judges import world_evaluators

    return world_evaluators(**kwargs)


def _real_judges_student(name: str = "tiny-gpt2", *, seed: int = 0):
    from scalarscope.worlds.real_judges import world_student

    return world_student(name, seed=seed)


def _real_judges_prompts() -> tuple[str, ...]:
    from scalarscope.worlds.real_judges import PROMPTS

    return PROMPTS


register_world(World("real-judges", "common English words from a tiny GPT-2; real judges (MiniLM, VADER, "
                     "wordfreq) whose overlap is measured", _real_judges_evaluators, _real_judges_student,
                     _real_judges_prompts()))


def _english_evaluators(*, seed: int = 0, overlap: float = float("nan"), n: int | None = None):
    from scalarscope.worlds.english import english_world

    judges = english_world(seed).evaluators()
    return judges if n is None else judges[:n]


def _english_student(name: str = "pretrained", *, seed: int = 0):
    from scalarscope.worlds.english import english_world

    return english_world(seed).student()


register_world(World("english", "a GPT-2 pretrained on English sentences; four sentiment judges sharing an axis "
                     "and two unrelated ones (scalarscope.worlds.english)", _english_evaluators, _english_student))
