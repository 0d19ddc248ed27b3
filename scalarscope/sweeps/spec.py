"""What one run of a study is, and the validated plan of runs a sweep executes.

Every study (:func:`scalarscope.sweep`, :func:`scalarscope.goodhart`, the revision study
:func:`~scalarscope.sweeps.compare_targeting` and the context study) is a list of :class:`RunSpec`:
a world by name with its options, a seed, cycles, a holdout, config changes and the study's own
knobs, run by :func:`scalarscope.sweeps.executor.run_specs`.

A sweep is the grid overlap x seed. Run ``(overlap, seed)`` builds the world (``world``, default
:mod:`scalarscope.worlds.default`) with option ``overlap`` and that seed, trains it and holds out
one evaluator:

* ``holdout="rotate"``: the run whose seed sits at position ``i`` of the seed list holds out
  ``names[i % len(names)]`` (the world's ``evaluator_names``; in the default world correctness,
  coherence, calibration, tradeoffs, clarity, ...). The same seed therefore holds out the same
  evaluator at every overlap, so overlaps are compared on paired runs, and 5 seeds with 5
  evaluators hold out each evaluator exactly once.
* ``holdout="<name>"``: every run holds out that evaluator.
* ``holdout=None``: nothing is held out; transfer, ceiling and ratio are NaN.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from scalarscope.errors import SweepError

if TYPE_CHECKING:
    from scalarscope.worlds import World

ROTATE = "rotate"


@dataclass(frozen=True, kw_only=True)
class RunSpec:
    """One run of any study: plain, picklable values, so it travels to a process or a Dask worker.

    index: position of the run in the study (results come back in this order).
    world, world_options, world_module: the world by name, its options, and the module that
        registered it (the worker imports it when the world is not registered there).
    seed_index: position of ``seed`` in the study's seed list (drives the rotating holdout).
    config_changes: :class:`~scalarscope.engine.EngineConfig` fields changed from the world's config.
    study: the study's own knobs (``transfer_probes``, ``warmup``, ``targeting``, ...).
    """

    index: int
    world: str = "default"
    world_options: dict = field(default_factory=dict)
    world_module: str = ""
    seed: int
    seed_index: int = 0
    holdout: str | None = None
    cycles: int
    config_changes: dict = field(default_factory=dict)
    study: dict = field(default_factory=dict)

    @property
    def overlap(self) -> float:
        """The world's ``overlap`` option (NaN when not given)."""
        return float(self.world_options.get("overlap", math.nan))

    def build_world(self) -> World:
        """The run's world, bound to its seed (imports ``world_module`` first when needed)."""
        from scalarscope.worlds import build_world

        return build_world(self.world, seed=self.seed, module=self.world_module or None, **self.world_options)

    def describe(self) -> str:
        where = "" if self.world == "default" else f" world={self.world}"
        overlap = f" overlap={self.world_options['overlap']}" if "overlap" in self.world_options else ""
        return f"run{where}{overlap} seed={self.seed} holdout={self.holdout!r}"


def world_plan(world: str, world_options: dict | None) -> tuple[dict, str, tuple[str, ...]]:
    """(checked options, registering module, evaluator names at seed 0) of a study's world."""
    from scalarscope.worlds import build_world, check_world_options, get_world

    if not isinstance(world, str):
        raise SweepError(f"world must be a registered world's name, got {world!r}")
    options = check_world_options(world, world_options)
    return options, get_world(world).module, tuple(build_world(world, seed=0, **options).evaluator_names)


def _check_int(value: object, name: str, minimum: int, hint: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise SweepError(f"{name} must be an int >= {minimum}, got {value!r}. {hint}")
    return int(value)


def _nonempty_list(values, name: str, kind: str, example: str) -> list:
    """``values`` as a list, or a SweepError naming ``name`` when it is not iterable or is empty."""
    try:
        out = list(values)
    except TypeError:
        raise SweepError(f"{name} must be {kind}, got {values!r}") from None
    if not out:
        raise SweepError(f"{name} is empty; give at least one, e.g. {example}")
    return out


def check_overlaps(overlaps: Iterable[float] | float) -> tuple[float, ...]:
    """Validate the overlap list: non-empty, finite, each in [0, 1], no duplicates."""
    if isinstance(overlaps, numbers.Real):
        overlaps = [overlaps]
    values = _nonempty_list(overlaps, "overlaps", "a list of numbers in [0, 1]", "overlaps=[0, 0.5, 0.87]")
    out = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise SweepError(f"overlaps must hold finite numbers in [0, 1], got {value!r} in {values!r}")
        if not 0.0 <= value <= 1.0:
            raise SweepError(f"overlap {value!r} is outside [0, 1] (in overlaps={values!r}); "
                             "overlap rho is a share of the shared axis, 0 = orthogonal, 1 = identical")
        out.append(float(value))
    if len(set(out)) != len(out):
        raise SweepError(f"overlaps has duplicates {values!r}; list each overlap once and add seeds instead")
    return tuple(out)


MAX_SEEDS = 10_000  # runs per grid point; a larger count is a typo, not a study (a billion specs exhaust memory)


def check_seeds(seeds: int | Sequence[int]) -> tuple[int, ...]:
    """``seeds`` is a count (seeds 0..k-1) or an explicit list of distinct ints."""
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        count = _check_int(seeds, "seeds", 1, "Give a number of seeds (e.g. seeds=5) or a list of seeds.")
        if count > MAX_SEEDS:
            raise SweepError(f"seeds={count:,} asks for {count:,} runs per grid point; at most {MAX_SEEDS:,} are "
                             "accepted (the usual study uses 5)")
        return tuple(range(count))
    if hasattr(seeds, "__len__") and len(seeds) > MAX_SEEDS:
        raise SweepError(f"seeds lists {len(seeds):,} seeds; at most {MAX_SEEDS:,} are accepted (the usual study uses 5)")
    values = _nonempty_list(seeds, "seeds", "a count or a list of ints", "seeds=5 or seeds=[0, 1, 2]")
    for value in values:
        _check_int(value, "each seed", 0, f"Seeds are non-negative ints (got seeds={values!r}).")
    if len(set(values)) != len(values):
        raise SweepError(f"seeds has duplicates {values!r}; a repeated seed repeats the same run exactly")
    return tuple(int(v) for v in values)


def holdout_for(holdout: str | None, names: Sequence[str], seed_index: int) -> str | None:
    """The evaluator run ``seed_index`` holds out (see the module docstring)."""
    if holdout == ROTATE:
        return names[seed_index % len(names)]
    return holdout


def check_study_holdout(holdout: str | None, names: Sequence[str]) -> None:
    """A study's holdout: None, 'rotate' or one of the world's evaluator ``names`` (at least two)."""
    if holdout is None:
        return
    if not isinstance(holdout, str):
        raise SweepError(f"holdout must be 'rotate', an evaluator name or None, got {holdout!r}")
    if len(names) < 2:
        raise SweepError(f"holdout={holdout!r} with a single evaluator {list(names)} leaves nothing to train on; "
                         "use a world with >= 2 evaluators (n_evaluators=...) or holdout=None")
    if holdout != ROTATE and holdout not in names:
        raise SweepError(f"holdout={holdout!r} is not one of the evaluators {list(names)}; "
                         "pick one of those names, 'rotate', or None")


def plan_runs(*, overlaps=None, seeds, cycles: int, holdout: str | None, transfer_probes: int,
              world: str = "default", world_options: dict | None = None) -> list[RunSpec]:
    """Validate a sweep's arguments and list its runs, overlap-major (overlap, then seed).

    ``overlaps`` None: one run per seed at the world's own overlap (worlds without an overlap knob).
    """
    seeds = check_seeds(seeds)
    grid = [{}] if overlaps is None else [{"overlap": o} for o in check_overlaps(overlaps)]
    cycles = _check_int(cycles, "cycles", 1, "Each run trains at least one cycle (300 is the full size).")
    transfer_probes = _check_int(transfer_probes, "transfer_probes", 3,
                                 "A correlation needs at least 3 probes; 2000 is the protocol's size.")
    options, module, names = world_plan(world, {**(world_options or {}), **grid[0]})
    check_study_holdout(holdout, names)
    return [RunSpec(index=len(seeds) * i + j, world=world, world_options={**options, **point}, world_module=module,
                    seed=seed, seed_index=j, holdout=holdout_for(holdout, names, j), cycles=cycles,
                    study={"transfer_probes": transfer_probes})
            for i, point in enumerate(grid) for j, seed in enumerate(seeds)]
