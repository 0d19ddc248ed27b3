"""Records of training: what one cycle did (frozen), and the history of a run.

A :class:`CycleRecord` is immutable: plain Python numbers, strings and read-only numpy arrays,
never tensors, so it can be kept, pickled, compared and plotted freely. A :class:`History` is not:
it is the engine's own growing list of records (``engine.history``, which ``run()`` returns), so a
history kept from an earlier ``run()`` keeps growing with the engine; ``history.to_frame()`` or
``list(history)`` is a snapshot.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

from scalarscope._numeric import frozen_array
from scalarscope.export.records import FailureEvent
from scalarscope.governor.token_pool import LedgerEntry

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MIN_CEILING", "STATUSES", "CycleRecord", "FailureEvent", "History", "RevisionOutcome", "TrainingMetrics",
           "TransferMeasurement", "frozen_array"]

SEVERITIES = ("critical", "warning", "info")
MIN_CEILING = 0.1  # below this agreement ceiling a ratio transfer / ceiling is noise over noise: not measured (NaN)

# A cycle's status, most serious first (a cycle gets the first that applies).
STATUSES = {
    "budget_exhausted": "no tokens were granted: nothing generated, scored or trained (metrics NaN)",
    "evaluators_failed": "no training evaluator scored any response: no update (loss terms NaN)",
    "diverged": "a critical divergence event: a non-finite loss (update skipped, loss terms NaN), a "
                "non-finite gradient (update skipped, grad_norm NaN), or a loss or gradient norm "
                "beyond the divergence limit (update applied, clipped)",
    "evaluator_failed": "a training evaluator failed on some responses; the update used the others",
    "ok": "trained as usual",
}


@dataclass(frozen=True)
class TransferMeasurement:
    """Holdout transfer measured on probe responses of one named distribution at one cycle.

    transfer: corr(internal evaluator's aggregate prediction, held-out evaluator's score).
    ceiling:  corr(training evaluators' own equal-weight aggregate score, held-out score) on the same responses.
    ratio:    transfer / ceiling (NaN when the ceiling is under ``MIN_CEILING``: nothing knowable to transfer).
    fidelity: corr(internal aggregate, training evaluators' aggregate): how well it learned what it saw.
    head_mae: mean absolute error of the internal evaluator's per-evaluator scores.
    distribution: what the probes were: "random" (uniform text), "policy" (the policy's samples), "texts".
    best_ceiling: corr(held-out score, its 5-fold cross-validated least-squares prediction from the
        training evaluators' scores): the best linear use of what the training evaluators know.
    ci_low, ci_high: bootstrap 95 % interval of ``transfer`` over the probes (1000 resamples).
    p_null: permutation p-value of ``transfer`` against shuffled held-out scores, (k + 1) / (1000 + 1).
        Both NaN in the engine's automatic every-``transfer_every`` measurement (kept cheap); measured
        by every ``engine.holdout_transfer``.
    A number that could not be measured is NaN, never 0 (see :mod:`scalarscope.engine.transfer`).
    """

    cycle: int
    holdout: str | None
    transfer: float
    ceiling: float
    ratio: float
    fidelity: float
    head_mae: float
    n: int
    baseline_mae: float = 0.0  # error of always predicting each evaluator's mean score (for calibration)
    distribution: str = "random"
    best_ceiling: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    p_null: float = math.nan


@dataclass(frozen=True)
class TrainingMetrics:
    """The numbers of one cycle. Scores are in [0, 1]; losses are the terms that were optimised
    (NaN when no update was applied: see :data:`STATUSES`)."""

    loss: float = 0.0
    policy_loss: float = 0.0
    head_loss: float = 0.0
    critic_loss: float = 0.0
    tokens_used: int = 0
    tokens_granted: int = 0
    tokens_refused: int = 0
    mean_score: float = 0.0
    predicted_score: float = 0.0
    surprise: float = 0.0
    critic_surprise: float = 0.0
    head_error: float = 0.0
    mean_length: float = 0.0
    entropy: float = 0.0
    grad_norm: float = 0.0
    kl: float = 0.0  # KL to the reference policy, per response (summed over tokens), batch mean
    scores: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "scores", MappingProxyType(dict(self.scores)))

    # a mappingproxy cannot be pickled: checkpoints store the scores as a dict
    def __getstate__(self) -> dict:
        return {**self.__dict__, "scores": dict(self.scores)}

    def __setstate__(self, state: dict) -> None:
        for key, value in state.items():
            object.__setattr__(self, key, value)
        object.__setattr__(self, "scores", MappingProxyType(dict(state["scores"])))

    @classmethod
    def not_measured(cls, **counts: int) -> TrainingMetrics:
        """Metrics of a cycle that trained and scored nothing (budget exhausted): the token counts
        given, NaN for every measured number, so means over a run skip the cycle instead of
        counting it as 0."""
        nan = float("nan")
        return cls(**{f.name: nan for f in fields(cls) if f.type == "float"}, **counts)

    def as_dict(self) -> dict[str, float]:
        flat = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "scores"}
        flat.update({f"score_{name}": value for name, value in self.scores.items()})
        return flat


@dataclass(frozen=True)
class RevisionOutcome:
    """What the revision step did in one cycle (see :mod:`scalarscope.engine.revision`)."""

    triggered: int  # responses whose predicted score fell under the threshold
    revised: int  # of those, how many were actually rewritten (budget permitting)
    reason: str
    mean_position: float  # mean token index the rewrites started from (-1: none)
    tokens_spent: int
    score_before: float  # mean evaluator score of the revised responses' drafts
    score_after: float  # ... and of their revisions
    accepted: int  # revisions kept because they scored higher
    responses: int = 0  # drafts the cycle produced (denominator of the trigger and revision rates)
    pair_loss: float = float("nan")  # the extra step on the (draft, revision) pairs: its loss
    pair_grad_norm: float = float("nan")  # ... and gradient norm (NaN: no pair step this cycle)

    @property
    def uplift(self) -> float:
        return self.score_after - self.score_before if self.revised else 0.0


@dataclass(frozen=True)
class CycleRecord:
    """The frozen record of one cycle."""

    cycle: int
    status: str  # one of STATUSES
    prompts: tuple[str, ...]
    sample_response: str
    metrics: TrainingMetrics
    ledger: LedgerEntry
    state: np.ndarray  # [S * H] internal evaluator's predicted scores on the fixed state probe, as the cycle began
    failures: tuple[FailureEvent, ...] = ()
    transfer: TransferMeasurement | None = None  # measured as this cycle began (every transfer_every), else None
    revision: RevisionOutcome | None = None
    wall_ms: float = 0.0
    spectrum: np.ndarray | None = None  # normalised eigenvalues of the internal evaluator on the state probe
    speed: float = 0.0  # |state - previous state|
    curvature: float = 0.0  # turning angle / pi of the state trajectory, in [0, 1]
    effective_dim: float = 0.0  # participation ratio of the trailing window (0 until defined)
    reward_source: str = "evaluators"  # what the policy learned from this cycle ("evaluators" | "conscience")

    def __repr__(self) -> str:
        """One line: the arrays and the full metrics stay out (see :meth:`row` for every number)."""
        transfer = "" if self.transfer is None else f", transfer={self.transfer.transfer:.3f}"
        failures = f", failures={len(self.failures)}" if self.failures else ""
        return (f"CycleRecord(cycle={self.cycle}, status={self.status!r}, mean_score={self.metrics.mean_score:.3f}, "
                f"tokens_used={self.metrics.tokens_used}{transfer}{failures})")

    def row(self) -> dict[str, object]:
        """One flat row for :meth:`History.to_frame`."""
        row: dict[str, object] = {"cycle": self.cycle, "status": self.status, "reward_source": self.reward_source}
        row.update(self.metrics.as_dict())
        row["n_failures"] = len(self.failures)
        row["wall_ms"] = self.wall_ms
        row.update(speed=self.speed, curvature=self.curvature, effective_dim=self.effective_dim)
        if self.spectrum is not None and len(self.spectrum):
            row["first_share"] = float(self.spectrum[0])
        if self.revision is not None:
            row.update({f"revision_{k}": v for k, v in asdict(self.revision).items()})
            row["revision_uplift"] = self.revision.uplift
        return row


class History:
    """The ordered records of a run. ``to_frame()`` gives one row per cycle."""

    def __init__(self, records: list[CycleRecord] | None = None):
        self._records: list[CycleRecord] = list(records or [])

    def append(self, record: CycleRecord) -> None:
        self._records.append(record)

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[CycleRecord]:
        return iter(self._records)

    def __getitem__(self, index):
        return self._records[index]

    @property
    def failures(self) -> tuple[FailureEvent, ...]:
        return tuple(f for r in self._records for f in r.failures)

    @property
    def transfers(self) -> tuple[TransferMeasurement, ...]:
        return tuple(r.transfer for r in self._records if r.transfer is not None)

    def states(self) -> np.ndarray:
        """State vectors stacked [n_cycles, S * H]."""
        if not self._records:
            return np.zeros((0, 0))
        return np.stack([r.state for r in self._records])

    def to_frame(self) -> pd.DataFrame:
        """A pandas DataFrame, one row per cycle (per-evaluator scores as ``score_<name>``).

        Holdout transfer is measured every few cycles, not every cycle: it is in
        :meth:`transfer_frame`, so this frame has no gaps.
        """
        import pandas as pd

        frame = pd.DataFrame([r.row() for r in self._records])
        return frame.set_index("cycle", drop=False) if len(frame) else frame

    def __repr__(self) -> str:
        if not self._records:
            return "History(0 cycles)"
        statuses = {}
        for record in self._records:
            statuses[record.status] = statuses.get(record.status, 0) + 1
        last = self._records[-1]
        counts = ", ".join(f"{n} {status}" for status, n in statuses.items())
        return (f"History({len(self)} cycles [{counts}], cycles {self._records[0].cycle}-{last.cycle}; "
                f"last mean_score {last.metrics.mean_score:.3f}, surprise {last.metrics.surprise:.3f}; "
                f"{len(self.transfers)} transfer measurement(s), {len(self.failures)} failure(s))")

    def _repr_html_(self) -> str:
        """A notebook cell ending in ``engine.history`` shows the summary and the last few cycles."""
        import html

        if not self._records:
            return "<p><b>History</b>: no cycles yet</p>"
        columns = ["cycle", "status", "mean_score", "predicted_score", "surprise", "loss", "tokens_used"]
        table = self.to_frame().tail(5)[columns].to_html(index=False, float_format="{:.3f}".format, na_rep="NaN")
        return f"<p><b>{html.escape(repr(self))}</b></p>{table}"

    def transfer_frame(self) -> pd.DataFrame:
        """A DataFrame of the holdout-transfer measurements, one row per measurement."""
        import pandas as pd

        return pd.DataFrame([asdict(t) for t in self.transfers])
