"""A geometry file read back: typed, frozen records of numpy arrays, with a DataFrame view."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from scalarscope.export.records import CRITERIA, Professor

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class RunMetadata:
    """``run_metadata``; ``extra`` holds keys beyond the contract (original_seed, original_timesteps...)."""

    run_id: str
    condition: str
    seed: int
    training_items: int
    cycles: int
    holdout_professor: str | None
    conscience_tier: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Reduction:
    """``reduction``: explained_variance [k]; components [rows, input_dim] (shape (0, 0) when empty)."""

    method: str
    input_dim: int
    output_dim: int
    explained_variance: np.ndarray
    components: np.ndarray


@dataclass(frozen=True, eq=False)
class Trajectory:
    """``trajectory.timesteps`` as arrays: t [n], state_2d [n, 2], velocity [n, 2], curvature [n], effective_dim [n]."""

    t: np.ndarray
    state_2d: np.ndarray
    velocity: np.ndarray
    curvature: np.ndarray
    effective_dim: np.ndarray


@dataclass(frozen=True, eq=False)
class ScalarSeries:
    """``scalars``: t [m] and values [m, 5], columns in CRITERIA order."""

    dimensions: tuple[str, ...]
    t: np.ndarray
    values: np.ndarray


@dataclass(frozen=True, eq=False)
class SpectrumSeries:
    """``geometry.eigenvalues``: t [m]; values [m, width] zero-padded; counts [m] real entries per row."""

    t: np.ndarray
    values: np.ndarray
    counts: np.ndarray


@dataclass(frozen=True, eq=False)
class AnisotropySeries:
    """``geometry.anisotropy``: t [m] and ratio [m]."""

    t: np.ndarray
    ratio: np.ndarray


@dataclass(frozen=True)
class FailureEntry:
    """One entry of a geometry file's ``failures``, as written (severity is not normalised on load).

    Not a :class:`~scalarscope.export.records.FailureEvent`: the file places it at a normalised time
    ``t`` in [0, 1], not at a cycle, and the cycle cannot be recovered from it.
    """

    t: float
    category: str
    severity: str
    description: str


def _asof(t_source: np.ndarray, t_target: np.ndarray) -> np.ndarray:
    """Index of the last source entry with t <= each target t (the first entry before any)."""
    return np.clip(np.searchsorted(t_source, t_target + 1e-9, side="right") - 1, 0, max(len(t_source) - 1, 0))


@dataclass(frozen=True, eq=False)
class GeometryFile:
    """A whole geometry file. Series keep their own t grid (the viewer's samples differ)."""

    path: Path | None
    schema_version: str
    metadata: RunMetadata
    reduction: Reduction
    trajectory: Trajectory
    scalars: ScalarSeries
    eigenvalues: SpectrumSeries
    anisotropy: AnisotropySeries
    latent_dim: int
    professors: tuple[Professor, ...]
    failures: tuple[FailureEntry, ...]
    extra: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """One row per trajectory timestep: t, x, y, vx, vy, curvature, effective_dim, the five
        scalars, lambda_1..lambda_k and anisotropy. Series on another t grid are matched to the
        latest entry at or before each timestep's t."""
        import pandas as pd

        traj = self.trajectory
        columns: dict[str, np.ndarray] = {
            "t": traj.t, "x": traj.state_2d[:, 0], "y": traj.state_2d[:, 1],
            "vx": traj.velocity[:, 0], "vy": traj.velocity[:, 1],
            "curvature": traj.curvature, "effective_dim": traj.effective_dim,
        }  # fmt: skip
        if self.scalars.t.size:
            rows = _asof(self.scalars.t, traj.t)
            columns.update({name: self.scalars.values[rows, i] for i, name in enumerate(CRITERIA)})
        if self.eigenvalues.t.size:
            rows = _asof(self.eigenvalues.t, traj.t)
            columns.update({f"lambda_{k + 1}": self.eigenvalues.values[rows, k] for k in range(self.eigenvalues.values.shape[1])})
        if self.anisotropy.t.size:
            columns["anisotropy"] = self.anisotropy.ratio[_asof(self.anisotropy.t, traj.t)]
        return pd.DataFrame(columns, index=pd.RangeIndex(len(traj.t), name="step"))
