"""Per-overlap summaries of a sweep and the Path A / Path B verdicts computed from it.

Thresholds are the research question's (issue "Internalization, measured"):

* Path A: at overlap 0 the measured mean correlation has |value| <= 0.05 and the mean learned
  holdout transfer over >= 5 seeds has |value| <= 0.1.
* Path B: at the overlap whose measured mean correlation is nearest 0.87 (within 0.03), the mean
  learned transfer is >= 0.90 and >= 0.95 x the mean agreement ceiling.
* Monotonic: over the sorted overlaps, no drop in mean transfer from one overlap to the next is
  larger than two standard errors of that difference (seed noise).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from scalarscope.engine.records import MIN_CEILING  # one threshold for the run's ratio and the sweep's

if TYPE_CHECKING:
    import pandas as pd

PATH_A_MAX_CORRELATION = 0.05
PATH_A_MAX_TRANSFER = 0.1
PATH_B_CORRELATION = 0.87
PATH_B_CORRELATION_TOLERANCE = 0.03
PATH_B_MIN_TRANSFER = 0.90
PATH_B_MIN_RATIO = 0.95
MIN_SEEDS = 5


def summarize_sweep(df: pd.DataFrame) -> pd.DataFrame:
    """Per-overlap mean and std (over seeds) of transfer, ceiling, ratio and measured correlation.

    Returns a DataFrame indexed by overlap (ascending; one NaN row for runs of a world without an
    overlap knob) with columns ``runs``,
    ``<metric>_mean`` / ``<metric>_std`` for transfer, ceiling, ratio, mean_correlation,
    first_factor_share, final_score, and ``transfer_over_ceiling`` = mean transfer / mean ceiling
    (steadier than the mean of per-run ratios; NaN where the mean ceiling is under ``MIN_CEILING``).
    """
    import pandas as pd

    metrics = ["transfer", "ceiling", "ratio", "mean_correlation", "first_factor_share", "final_score"]
    grouped = df.groupby("overlap", sort=True, dropna=False)  # NaN: a world whose overlap is measured, not set
    out = pd.DataFrame({"runs": grouped.size()})
    for metric in metrics:
        out[f"{metric}_mean"] = grouped[metric].mean()
        out[f"{metric}_std"] = grouped[metric].std(ddof=1)
    ceiling = out["ceiling_mean"]
    out["transfer_over_ceiling"] = out["transfer_mean"] / ceiling.where(ceiling >= MIN_CEILING)
    return out


@dataclass(frozen=True)
class PathVerdict:
    """One verdict: does the claim hold in this sweep, and on what numbers."""

    claim: str  # "Path A" | "Path B" | "monotonic"
    holds: bool
    overlap: float | None  # the overlap the verdict was read at (None for monotonic)
    runs: int
    detail: str  # the measured numbers against the thresholds, in one sentence


def _mean(rows, column: str) -> float:
    return float(rows[column].mean()) if len(rows) else math.nan


def path_a(df, *, min_seeds: int = MIN_SEEDS) -> PathVerdict:
    rows = df[df["overlap"] == 0.0]
    if rows.empty:
        return PathVerdict("Path A", False, None, 0, "the sweep has no run at overlap 0")
    corr, transfer = _mean(rows, "mean_correlation"), _mean(rows, "transfer")
    checks = [
        (abs(corr) <= PATH_A_MAX_CORRELATION, f"|mean correlation| {abs(corr):.3f} <= {PATH_A_MAX_CORRELATION}"),
        (abs(transfer) <= PATH_A_MAX_TRANSFER, f"|mean transfer| {abs(transfer):.3f} <= {PATH_A_MAX_TRANSFER}"),
        (rows["seed"].nunique() >= min_seeds, f"seeds {rows['seed'].nunique()} >= {min_seeds}"),
    ]
    return _verdict("Path A", 0.0, len(rows), checks)


def path_b(df, *, min_seeds: int = MIN_SEEDS) -> PathVerdict:
    per_overlap = df.groupby("overlap")["mean_correlation"].mean()
    if per_overlap.empty:
        return PathVerdict("Path B", False, None, 0, "the sweep is empty")
    overlap = float((per_overlap - PATH_B_CORRELATION).abs().idxmin())
    rows = df[df["overlap"] == overlap]
    corr, transfer, ceiling = (_mean(rows, c) for c in ("mean_correlation", "transfer", "ceiling"))
    checks = [
        (abs(corr - PATH_B_CORRELATION) <= PATH_B_CORRELATION_TOLERANCE,
         f"mean correlation {corr:.3f} within {PATH_B_CORRELATION_TOLERANCE} of {PATH_B_CORRELATION}"),
        (transfer >= PATH_B_MIN_TRANSFER, f"mean transfer {transfer:.3f} >= {PATH_B_MIN_TRANSFER}"),
        (transfer >= PATH_B_MIN_RATIO * ceiling,
         f"mean transfer {transfer:.3f} >= {PATH_B_MIN_RATIO} x mean ceiling {ceiling:.3f} "
         f"(= {PATH_B_MIN_RATIO * ceiling:.3f}; ratio {transfer / ceiling if ceiling > 0 else math.nan:.3f})"),
        (rows["seed"].nunique() >= min_seeds, f"seeds {rows['seed'].nunique()} >= {min_seeds}"),
    ]
    return _verdict("Path B", overlap, len(rows), checks)


def monotonic(df) -> PathVerdict:
    grouped = df.groupby("overlap", sort=True)["transfer"]
    means, sems = grouped.mean(), grouped.sem(ddof=1).fillna(0.0)
    if len(means) < 3:
        return PathVerdict("monotonic", False, None, len(df), f"needs >= 3 overlaps, the sweep has {len(means)}")
    drops = []
    for (lo, hi) in zip(means.index[:-1], means.index[1:], strict=True):
        allowed = 2.0 * math.hypot(sems[lo], sems[hi])
        if means[hi] < means[lo] - allowed:
            drops.append(f"{lo:g}->{hi:g}: {means[lo]:.3f}->{means[hi]:.3f} (allowed drop {allowed:.3f})")
    rank = float(np.corrcoef(np.argsort(np.argsort(means.index)), np.argsort(np.argsort(means.values)))[0, 1])
    detail = (f"Spearman rank correlation of overlap and mean transfer {rank:.3f}; "
              + ("no drop beyond 2 standard errors" if not drops else "drops beyond seed noise: " + "; ".join(drops)))
    return PathVerdict("monotonic", not drops, None, len(df), detail)


def path_verdicts(df, *, min_seeds: int = MIN_SEEDS) -> tuple[PathVerdict, PathVerdict, PathVerdict]:
    """(Path A, Path B, monotonic) verdicts of a sweep DataFrame from :func:`sweep`."""
    return path_a(df, min_seeds=min_seeds), path_b(df, min_seeds=min_seeds), monotonic(df)


def _verdict(claim: str, overlap: float, runs: int, checks: list[tuple[bool, str]]) -> PathVerdict:
    holds = all(ok for ok, _ in checks)
    detail = "; ".join(f"{text} [{'yes' if ok else 'NO'}]" for ok, text in checks)
    return PathVerdict(claim, bool(holds), overlap, runs, detail)
