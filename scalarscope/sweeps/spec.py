"""What one sweep run is, and the validated plan of runs a sweep executes.

A sweep is the grid overlap x seed. Run ``(overlap, seed)`` trains the default world
(:func:`scalarscope.engine.default_world.train_default_world`) with ``n_evaluators`` synthetic evaluators
at that overlap, built from that seed, holding out one evaluator:

* ``holdout="rotate"``: the run whose seed sits at position ``i`` of the seed list holds out
  ``names[i % n_evaluators]`` (names in :func:`~scalarscope.evaluators.correlated_evaluators` order:
  correctness, coherence, calibration, tradeoffs, clarity, ...). The same seed therefore holds out
  the same evaluator at every overlap, so overlaps are compared on paired runs, and 5 seeds with
  5 evaluators hold out each evaluator exactly once.
* ``holdout="<name>"``: every run holds out that evaluator.
* ``holdout=None``: nothing is held out; transfer, ceiling and ratio are NaN.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from scalarscope.errors import SweepError

ROTATE = "rotate"


@dataclass(frozen=True, kw_only=True)
class RunSpec:
    """One run of a sweep: plain values only, so it pickles to a process or a Dask worker.

    index: position of the run in the sweep (rows come back in this order).
    seed_index: position of ``seed`` in the sweep's seed list (drives the rotating holdout).
    transfer_probes: fresh probe responses for the final transfer and the overlap analysis.
    """

    index: int
    overlap: float
    seed: int
    seed_index: int
    holdout: str | None
    cycles: int
    n_evaluators: int
    transfer_probes: int
    student: str = "gru"  # a name in scalarscope.student.STUDENTS


def evaluator_names(n_evaluators: int) -> tuple[str, ...]:
    """Names of the ``n_evaluators`` default synthetic evaluators, in order (as the runs build them)."""
    from scalarscope.evaluators.synthetic import correlated_evaluators

    return tuple(correlated_evaluators(n_evaluators, 0.0, seed=0).names)


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


def check_seeds(seeds: int | Sequence[int]) -> tuple[int, ...]:
    """``seeds`` is a count (seeds 0..k-1) or an explicit list of distinct ints."""
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        count = _check_int(seeds, "seeds", 1, "Give a number of seeds (e.g. seeds=5) or a list of seeds.")
        return tuple(range(count))
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


def check_holdout(holdout: str | None, names: Sequence[str]) -> None:
    if holdout is None:
        return
    if not isinstance(holdout, str):
        raise SweepError(f"holdout must be 'rotate', an evaluator name or None, got {holdout!r}")
    if len(names) < 2:
        raise SweepError(f"holdout={holdout!r} with a single evaluator {list(names)} leaves nothing to train on; "
                         "use n_evaluators >= 2 or holdout=None")
    if holdout != ROTATE and holdout not in names:
        raise SweepError(f"holdout={holdout!r} is not one of the evaluators {list(names)}; "
                         "pick one of those names, 'rotate', or None")


def plan_runs(*, overlaps, seeds, cycles: int, holdout: str | None, n_evaluators: int,
              transfer_probes: int, student: str = "gru") -> list[RunSpec]:
    """Validate a sweep's arguments and list its runs, overlap-major (overlap, then seed)."""
    overlaps = check_overlaps(overlaps)
    seeds = check_seeds(seeds)
    cycles = _check_int(cycles, "cycles", 1, "Each run trains at least one cycle (300 is the full size).")
    n_evaluators = _check_int(n_evaluators, "n_evaluators", 1, "The default world has 5 evaluators.")
    transfer_probes = _check_int(transfer_probes, "transfer_probes", 3,
                                 "A correlation needs at least 3 probes; 2000 is the protocol's size.")
    names = evaluator_names(n_evaluators)
    check_holdout(holdout, names)
    from scalarscope.student import STUDENTS

    if student not in STUDENTS:
        raise SweepError(f"student={student!r} is not a known student; choose one of {sorted(STUDENTS)}")
    return [RunSpec(index=len(seeds) * i + j, overlap=overlap, seed=seed, seed_index=j,
                    holdout=holdout_for(holdout, names, j), cycles=cycles, n_evaluators=n_evaluators,
                    transfer_probes=transfer_probes, student=student)
            for i, overlap in enumerate(overlaps) for j, seed in enumerate(seeds)]
