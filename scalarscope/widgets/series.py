"""What the training dashboard draws, kept incrementally: O(1) per cycle, numpy out.

Rebuilding ``history.to_frame()`` for every frame would cost more and more as a run grows; the
dashboard instead appends each :class:`~scalarscope.engine.CycleRecord` here as it arrives and
turns the columns into arrays only when it redraws.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # records only arrive from an engine; the views need no torch of their own
    from scalarscope.engine.records import CycleRecord

CURVES = ("mean_score", "predicted_score", "surprise", "loss", "head_loss")
TOKENS = ("tokens_granted", "tokens_used", "tokens_refused")
MAX_POINTS = 1500  # longer runs are drawn decimated: a frame's cost must not grow with the run


@dataclass(frozen=True, eq=False)
class SeriesArrays:
    """Per-cycle columns as arrays [n] (``columns[name]``), plus the sparse transfer measurements."""

    cycle: np.ndarray
    columns: dict[str, np.ndarray]
    transfer_cycle: np.ndarray
    transfer: np.ndarray
    ceiling: np.ndarray


class TrainingSeries:
    """Columns of the records seen so far (see ``CURVES`` and ``TOKENS``), appended one record at a time."""

    def __init__(self, records=()):
        self._cycle: list[int] = []
        self._columns: dict[str, list[float]] = {name: [] for name in CURVES + TOKENS}
        self._transfers: list[tuple[int, float, float]] = []
        self.last: CycleRecord | None = None
        for record in records:
            self.append(record)

    def __len__(self) -> int:
        return len(self._cycle)

    def append(self, record: CycleRecord) -> None:
        metrics = record.metrics
        self._cycle.append(record.cycle)
        for name, values in self._columns.items():
            values.append(float(getattr(metrics, name)))
        if record.transfer is not None:
            self._transfers.append((record.cycle, record.transfer.transfer, record.transfer.ceiling))
        self.last = record

    def sync(self, history) -> None:
        """Append the records of ``history`` not seen yet (cycles run outside the dashboard too)."""
        for index in range(len(self), len(history)):
            self.append(history[index])

    def arrays(self, max_points: int = MAX_POINTS) -> SeriesArrays:
        """The columns as arrays, every k-th cycle (and always the last) when longer than ``max_points``."""
        stride = max(1, -(-len(self._cycle) // max_points))
        pick = slice(None) if stride == 1 else np.r_[0:len(self._cycle) - 1:stride, len(self._cycle) - 1]
        transfers = np.array(self._transfers, dtype=float).reshape(-1, 3)
        return SeriesArrays(np.array(self._cycle, dtype=float)[pick],
                            {name: np.array(values, dtype=float)[pick] for name, values in self._columns.items()},
                            transfers[:, 0], transfers[:, 1], transfers[:, 2])
