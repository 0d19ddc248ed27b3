"""Incremental per-cycle geometry with a cost that does not grow with the run (numpy only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scalarscope.errors import check_scalar
from scalarscope.geometry._checks import GeometryInputError
from scalarscope.geometry.dimension import window_participation
from scalarscope.geometry.trajectory import turning_angle


@dataclass(frozen=True, eq=False)
class TrackerFrame:
    """Geometry of one cycle, in the state space.

    Attributes:
        cycle: 0-based index of the state.
        velocity: [d] state minus previous state (zeros at cycle 0).
        speed: Euclidean norm of ``velocity``.
        curvature: turning angle between the previous and this velocity / pi, in [0, 1] (0 if undefined).
        effective_dim: participation ratio of the trailing window's covariance (0 until defined, then >= 1).
    """

    cycle: int
    velocity: np.ndarray
    speed: float
    curvature: float
    effective_dim: float


def _norm(vector: np.ndarray) -> float:
    """Euclidean norm that does not overflow for huge finite entries."""
    peak = float(np.abs(vector).max(initial=0.0))
    return peak * float(np.linalg.norm(vector / peak)) if 0.0 < peak < np.inf else float(np.linalg.norm(vector))


class GeometryTracker:
    """Per-cycle velocity, curvature and effective dimension, O(window^2 * d) per update.

    The trailing window lives in a ring buffer and the history of states in a buffer that doubles
    when full, so cycle 10,000 costs what cycle 100 costs. The values equal those of
    :func:`velocity`, :func:`curvature` and :func:`effective_dimension` on the stacked states.
    Non-finite states propagate as NaN into the frames (the exporter sanitises a whole run).
    """

    def __init__(self, window: int = 20) -> None:
        check_scalar(window, "window", kind=int, min_value=2, hint="The trailing window needs at least 2 states.")
        self.window = window
        self._count = 0
        self._history = np.empty((0, 0))
        self._ring = np.empty((0, 0))
        self._previous_velocity = np.empty(0)

    def __len__(self) -> int:
        return self._count

    @property
    def states(self) -> np.ndarray:
        """[cycles so far, d] read-only view of every state passed to :meth:`update`."""
        view = self._history[: self._count]
        view.flags.writeable = False
        return view

    def update(self, state: np.ndarray) -> TrackerFrame:
        """Add the state [d] of the next cycle and return its :class:`TrackerFrame`."""
        vector = np.asarray(state, dtype=np.float64).ravel()
        if self._count == 0:
            self._history = np.empty((64, vector.size))
            self._ring = np.zeros((self.window, vector.size))
            self._previous_velocity = np.zeros(vector.size)
        elif vector.size != self._history.shape[1]:
            raise GeometryInputError(f"state has {vector.size} values but earlier states had {self._history.shape[1]}.")
        if self._count == self._history.shape[0]:
            grown = np.empty((2 * self._count, vector.size))
            grown[: self._count] = self._history[: self._count]
            self._history = grown
        step = vector - self._history[self._count - 1] if self._count else np.zeros(vector.size)
        turning = turning_angle(self._previous_velocity[None, :], step[None, :])[0] if self._count >= 2 else 0.0
        self._history[self._count] = vector
        self._ring[self._count % self.window] = vector
        self._count += 1
        self._previous_velocity = step
        return TrackerFrame(
            cycle=self._count - 1,
            velocity=step,
            speed=_norm(step),
            curvature=float(turning),
            effective_dim=self._effective_dim(),
        )

    def _effective_dim(self) -> float:
        filled = self._ring[: min(self._count, self.window)]
        peak = np.abs(filled).max()
        filled = filled / peak if peak > 0.0 else filled  # the ratio is scale-free; keeps squares finite
        offsets = filled - filled[(self._count - 1) % self.window]  # exact zeros for repeated states
        return float(window_participation(offsets[None, :, :])[0])
