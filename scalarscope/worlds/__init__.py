"""Worlds as plug-ins: a named bundle of a student, its judges, prompts and natural text.

A world is ONE module that ends with ``register_world(WorldSpec(...))``. The CLI (``--world``),
:func:`scalarscope.sweep`, :func:`scalarscope.goodhart`, the revision and context studies and the
notebooks take a world's name plus options and never branch on it:

>>> world = build_world("default", seed=0, overlap=0.87)      # a World bound to seed 0
>>> engine = world.engine(holdout="clarity", transfer_every=0)

Where worlds come from, on the first lookup of the registry:

* every public module of this package (``default``, ``real_judges``, ...), so that a new built-in
  world is one new file here;
* the modules named in the ``SCALARSCOPE_WORLDS`` environment variable (comma-separated import
  paths, e.g. ``SCALARSCOPE_WORLDS=my_lab.worlds``), so that a world outside the package reaches
  the CLI;
* any module that calls :func:`register_world` when imported. A study's run carries the name of
  the module that registered its world (``WorldSpec.module``) and its worker imports that module
  before building the world, so a world registered in a notebook cell's module runs on local
  worker processes too (the module must be importable by name there: installed, on ``sys.path``
  or on ``PYTHONPATH``; the local pool's workers get this process's ``sys.path``).

Importing this package imports numpy at most: the world modules import torch inside ``build``.
"""

from __future__ import annotations

import os
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any, Protocol, runtime_checkable

from scalarscope.errors import ConfigError
from scalarscope.student import STUDENTS as STUDENTS  # the students a world may take, by name

ENV_VAR = "SCALARSCOPE_WORLDS"


@dataclass(frozen=True)
class WorldSpec:
    """What the registry stores. ``build(*, seed=0, **options) -> World``; ``options``: the option
    names ``build`` accepts (anything else given is a :class:`ConfigError` naming the world);
    ``module``: the module a worker imports to find this world (default: ``build``'s module)."""

    name: str
    description: str
    build: Callable[..., World]
    options: frozenset[str] = frozenset()
    module: str = field(default="")

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError(f"a world's name must be a non-empty string, got {self.name!r}")
        object.__setattr__(self, "options", frozenset(self.options))
        if not self.module:
            object.__setattr__(self, "module", getattr(self.build, "__module__", "") or "")


@runtime_checkable
class World(Protocol):
    """A world bound to one seed (what :func:`build_world` returns)."""

    name: str
    seed: int
    evaluator_names: tuple[str, ...]
    default_holdout: str | None

    def evaluators(self) -> list: ...
    def student(self) -> Any: ...
    def prompts(self) -> tuple[str, ...] | None: ...
    def engine_config(self) -> Any: ...
    def engine(self, *, holdout: str | None = None, **config_changes) -> Any: ...
    def natural_texts(self, n: int, seed: int = 0) -> list[str]: ...


WORLDS: dict[str, WorldSpec] = {}
_loaded = False


def register_world(spec: WorldSpec) -> WorldSpec:
    """Add ``spec`` to the registry under its name (replacing a world of that name); returns it."""
    if not isinstance(spec, WorldSpec):
        raise ConfigError(f"register_world takes a WorldSpec, got {type(spec).__name__}")
    WORLDS[spec.name] = spec
    return spec


def _load_builtin() -> None:
    """Import this package's world modules and those named in ``SCALARSCOPE_WORLDS`` (once)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            import_module(f"{__name__}.{info.name}")
    for module in filter(None, (m.strip() for m in os.environ.get(ENV_VAR, "").split(","))):
        load_world_module(module)


def load_world_module(module: str) -> None:
    """Import ``module`` (which registers its worlds), with an error that says how to fix a miss."""
    try:
        import_module(module)
    except ImportError as exc:
        raise ConfigError(f"cannot import the world module {module!r} ({exc}); it must be importable by name "
                          f"(installed, on sys.path or on PYTHONPATH), e.g. {ENV_VAR}=my_package.my_world") from exc


def known_worlds() -> list[str]:
    """The registered worlds' names, sorted."""
    _load_builtin()
    return sorted(WORLDS)


def get_world(name: str, *, module: str | None = None) -> WorldSpec:
    """The registered world ``name`` (importing ``module`` first when it is not registered yet)."""
    _load_builtin()
    if name not in WORLDS and module:
        load_world_module(module)
    if name not in WORLDS:
        raise ConfigError(f"world={name!r} is not a known world; choose one of {sorted(WORLDS)}, or register "
                          f"one (scalarscope.worlds.register_world; {ENV_VAR}=module for the CLI)")
    return WORLDS[name]


def check_world_options(name: str, options: dict | None, *, module: str | None = None) -> dict:
    """``options`` as a dict, or a :class:`ConfigError` naming the world and every option it does not take."""
    spec = get_world(name, module=module)
    options = dict(options or {})
    unknown = sorted(set(options) - spec.options)
    if unknown:
        takes = ", ".join(sorted(spec.options)) or "no options"
        raise ConfigError(f"world {name!r} does not accept option(s) {', '.join(map(repr, unknown))}; "
                          f"it accepts: {takes}")
    return options


def build_world(name: str, *, seed: int = 0, module: str | None = None, **options) -> World:
    """The world ``name`` bound to ``seed`` (options checked against the world's :class:`WorldSpec`)."""
    options = check_world_options(name, options, module=module)
    return WORLDS[name].build(seed=seed, **options)


__all__ = ["ENV_VAR", "STUDENTS", "WORLDS", "World", "WorldSpec", "build_world", "check_world_options",
           "get_world", "known_worlds", "load_world_module", "register_world"]
