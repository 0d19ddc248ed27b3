"""What the engine hands the exporter: one run's geometry as frozen numpy records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scalarscope.errors import GeometryFileError, check_scalar

CRITERIA = ("correctness", "coherence", "calibration", "tradeoffs", "clarity")
"""The five scalar names the viewer knows, in its order."""

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


@dataclass(frozen=True, eq=False)
class Professor:
    """One evaluator drawn as an arrow: ``vector`` [>= 1] in the evaluator-layout frame."""

    name: str
    vector: np.ndarray
    holdout: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise GeometryFileError(f"Professor.name must be a string, got {self.name!r}.")
        vector = np.asarray(self.vector, dtype=np.float64).ravel()
        if vector.size == 0:
            raise GeometryFileError(f"Professor {self.name!r} needs a vector with at least one number.")
        object.__setattr__(self, "vector", vector)
        object.__setattr__(self, "holdout", bool(self.holdout))


@dataclass(frozen=True)
class FailureEvent:
    """Something that went wrong in a cycle and was recorded instead of raised: the one failure record
    of the kit (the engine's history, checkpoints and the exporter all hold this class).

    cycle: 0-based cycle; category: e.g. "evaluator_error", "budget_exhausted", "divergence",
    "dimension_collapse"; severity: "critical" | "warning" | "info".
    """

    cycle: int
    category: str
    severity: str = "warning"
    description: str = ""


def _readonly(values: Any, name: str, ndim: int) -> np.ndarray:
    array = np.array(values, dtype=np.float64)
    if array.ndim != ndim:
        raise GeometryFileError(f"RunGeometry.{name} must be a {ndim}-D array, got shape {array.shape}.")
    array.flags.writeable = False
    return array


@dataclass(frozen=True, eq=False, kw_only=True)
class RunGeometry:
    """One run, as recorded: the exporter sanitises and reduces it, never the caller.

    Attributes:
        states: [n, d] state vector per recorded cycle (may hold NaN/inf from a diverging run).
        scalars: [n, 5] correctness, coherence, calibration, tradeoffs, clarity (any floats).
        eigenvalues: [n, k] spectrum of the internal evaluator per cycle, k >= 1 (may hold NaN).
        true_eigenvalues: [k'] spectrum of the true evaluators, or None.
        professors: Professor records (or (name, vector, holdout) tuples) in the evaluator frame.
        seed: any Python int; mapped into Int32 on export (see docs/GEOMETRY_FORMAT.md).
        cycles: the true number of cycles run (>= n is allowed when states were recorded sparsely).
        latent_dim: dimension of the evaluators' latent space; None writes k (eigenvalues columns).
        extra: JSON-able values written under the top-level key ``scalarscope``.
    """

    run_id: str
    condition: str
    seed: int
    training_items: int
    cycles: int
    states: np.ndarray
    scalars: np.ndarray
    eigenvalues: np.ndarray
    holdout_professor: str | None = None
    conscience_tier: str = ""
    true_eigenvalues: np.ndarray | None = None
    professors: tuple[Professor, ...] = ()
    latent_dim: int | None = None
    failures: tuple[FailureEvent, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("run_id", "condition", "conscience_tier"):
            if not isinstance(getattr(self, name), str):
                raise GeometryFileError(f"RunGeometry.{name} must be a string, got {getattr(self, name)!r}.")
        if not (self.run_id or self.condition):
            raise GeometryFileError("RunGeometry needs a non-empty run_id or condition (the viewer requires one).")
        if self.holdout_professor is not None and not isinstance(self.holdout_professor, str):
            raise GeometryFileError(f"RunGeometry.holdout_professor must be a string or None, got {self.holdout_professor!r}.")
        for name in ("seed", "training_items", "cycles", "latent_dim"):  # numpy integers are welcome
            if isinstance(getattr(self, name), np.integer):
                object.__setattr__(self, name, int(getattr(self, name)))
        check_scalar(self.seed, "RunGeometry.seed", kind=int)
        check_scalar(self.training_items, "RunGeometry.training_items", kind=int, min_value=0, max_value=INT32_MAX)
        check_scalar(self.cycles, "RunGeometry.cycles", kind=int, min_value=1, max_value=INT32_MAX)
        if self.latent_dim is not None:
            check_scalar(self.latent_dim, "RunGeometry.latent_dim", kind=int, min_value=0, max_value=INT32_MAX)
        states = _readonly(self.states, "states", 2)
        n = states.shape[0]
        if n == 0 or states.shape[1] == 0:
            raise GeometryFileError(f"RunGeometry.states needs at least one cycle and one column, got shape {states.shape}.")
        if self.cycles < n:
            raise GeometryFileError(
                f"RunGeometry.cycles is {self.cycles} but states has {n} rows; record at most one state per "
                "cycle and pass the true cycle count (the viewer's frame counter uses it)."
            )
        scalars = _readonly(self.scalars, "scalars", 2)
        eigenvalues = _readonly(self.eigenvalues, "eigenvalues", 2)
        if scalars.shape != (n, len(CRITERIA)):
            raise GeometryFileError(f"RunGeometry.scalars must have shape ({n}, 5) ({', '.join(CRITERIA)}), got {scalars.shape}.")
        if eigenvalues.shape[0] != n or eigenvalues.shape[1] < 1:
            raise GeometryFileError(f"RunGeometry.eigenvalues must have shape ({n}, k>=1), got {eigenvalues.shape}.")
        object.__setattr__(self, "states", states)
        object.__setattr__(self, "scalars", scalars)
        object.__setattr__(self, "eigenvalues", eigenvalues)
        if self.true_eigenvalues is not None:
            object.__setattr__(self, "true_eigenvalues", _readonly(self.true_eigenvalues, "true_eigenvalues", 1))
        professors = tuple(p if isinstance(p, Professor) else Professor(*p) for p in self.professors)
        object.__setattr__(self, "professors", professors)
        for failure in self.failures:
            if not isinstance(failure, FailureEvent):
                raise GeometryFileError(f"RunGeometry.failures must hold FailureEvent records, got {failure!r}.")
        object.__setattr__(self, "failures", tuple(self.failures))
        if not isinstance(self.extra, dict):
            raise GeometryFileError(f"RunGeometry.extra must be a dict, got {type(self.extra).__name__}.")
