"""Gao, Schulman & Hilton (2022)'s RL form fitted to gold against d = sqrt(KL), and per-run summaries.

Under RL, Gao et al. find the gold reward moves with d as ``R(d) = d (alpha - beta log d)``
(measured from the initial policy's score). Here the initial score is fitted too:
``gold = c + d (alpha - beta log d)``, linear least squares in (c, alpha, beta) over a run's cycles.
With beta > 0 the curve peaks at ``d* = exp(alpha / beta - 1)``, where gold is ``c + beta d*``;
with beta <= 0 it never turns (d* = inf).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

FINAL = 20  # cycles averaged for a run's end value (and the running mean its observed peak is read from)


@dataclass(frozen=True)
class GaoFit:
    c: float
    alpha: float
    beta: float
    d_star: float  # peak position (inf when beta <= 0)
    peak: float  # fitted gold at the peak (nan when there is none)
    r2: float

    def predict(self, d) -> np.ndarray:
        d = np.asarray(d, dtype=float)
        return self.c + self.alpha * d - self.beta * _d_log_d(d)


def _d_log_d(d: np.ndarray) -> np.ndarray:
    return np.where(d > 0, d * np.log(np.where(d > 0, d, 1.0)), 0.0)


def fit_gao(d, gold) -> GaoFit:
    """Least-squares fit of ``gold = c + d (alpha - beta log d)``; d >= 0 (points with NaN are dropped)."""
    d, gold = np.asarray(d, dtype=float), np.asarray(gold, dtype=float)
    ok = np.isfinite(d) & np.isfinite(gold)
    d, gold = d[ok], gold[ok]
    if len(d) < 3 or np.ptp(d) == 0:
        return GaoFit(float(gold.mean()) if len(gold) else math.nan, math.nan, math.nan, math.nan, math.nan, math.nan)
    design = np.column_stack([np.ones_like(d), d, -_d_log_d(d)])
    (c, alpha, beta), *_ = np.linalg.lstsq(design, gold, rcond=None)
    residual = gold - design @ np.array([c, alpha, beta])
    total = ((gold - gold.mean()) ** 2).sum()
    r2 = 1.0 - (residual**2).sum() / total if total > 0 else math.nan
    if beta > 0:
        d_star = math.exp(min(alpha / beta - 1.0, 700.0))
        peak = c + beta * d_star
    else:
        d_star, peak = math.inf, math.nan
    return GaoFit(float(c), float(alpha), float(beta), float(d_star), float(peak), float(r2))


MIN_R2 = 0.5  # a fit that explains less of gold's variance than this does not show a turn


def fit_turns(fit: GaoFit, max_d: float, *, min_d: float = 0.0, drop: float = 0.02) -> bool:
    """Whether the fit shows a turn: it explains at least :data:`MIN_R2` of gold's variance, its peak
    d* lies inside the run (``min_d < d* < max_d``: a d* of 1e-16 is not a turn) and the fitted curve
    falls by more than ``drop`` after it (a peak at the run's end, or a plateau the fit bends over,
    is not a turn)."""
    if not (fit.r2 >= MIN_R2 and min_d < fit.d_star < max_d):
        return False
    return bool(fit.peak - fit.predict(max_d) > drop)


def observed_turn(values: np.ndarray) -> tuple[float, float, bool]:
    """(peak of the FINAL-cycle running mean, mean of the last FINAL cycles, whether it fell): gold
    falls when the end sits below the peak by more than 0.02 and two standard errors of the end."""
    values = np.asarray(values, dtype=float)
    window = min(FINAL, len(values))
    smooth = np.convolve(values, np.ones(window) / window, mode="valid")
    end = values[-window:]
    peak, final = float(smooth.max()), float(end.mean())
    se = float(end.std(ddof=1) / math.sqrt(window)) if window > 1 else 0.0
    return peak, final, bool(peak - final > max(0.02, 2 * se))


def goodhart_summary(df: pd.DataFrame) -> pd.DataFrame:
    """One row per run: where it started and ended (proxy, both golds, d), the rise of each (end minus
    start) and its peak rise (the highest FINAL-cycle running mean minus start), Gao's fit
    to each gold (``alpha_*``, ``beta_*``, ``d_star_*``, ``peak_*``, ``r2_*``), whether the fitted peak
    lies inside the run, the fit has R² >= 0.5 and falls after it (``peaks_*``, see :func:`fit_turns`) and whether gold observably fell
    after its peak (``falls_*``)."""
    import pandas as pd

    keys = ["overlap", "seed", "holdout", "warmup", "context_share", "kl_coef", "reset_optimizer"]
    if "reset_optimizer" not in df:  # a study from before the optimiser reset kept Adam's moments
        df = df.assign(reset_optimizer=False)
    rows = []
    for key, run in df.groupby(keys, sort=False):
        run = run.sort_values("cycle")
        row = dict(zip(keys, key, strict=True))
        row.update({k: float(run[k].iloc[0]) for k in ("switch_fidelity", "switch_transfer", "switch_score",
                                                       "switch_entropy")})
        row["final_sqrt_kl"] = float(run.sqrt_kl.tail(FINAL).mean())
        row["max_sqrt_kl"] = float(run.sqrt_kl.max())
        row["min_sqrt_kl"] = float(run.sqrt_kl.iloc[1:].min()) if len(run) > 1 else 0.0  # cycle 0 is the reference
        for column in ("proxy", "gold_train", "gold_holdout"):
            start, end = run[column].head(FINAL // 4).mean(), run[column].tail(FINAL).mean()
            row[f"{column}_start"], row[f"{column}_end"] = float(start), float(end)
            row[f"{column}_rise"] = float(end - start)
            row[f"{column}_peak_rise"] = observed_turn(run[column].to_numpy())[0] - float(start)
        for column, short in (("gold_train", "train"), ("gold_holdout", "holdout")):
            fit = fit_gao(run.sqrt_kl, run[column])
            row.update({f"alpha_{short}": fit.alpha, f"beta_{short}": fit.beta, f"d_star_{short}": fit.d_star,
                        f"peak_{short}": fit.peak, f"r2_{short}": fit.r2,
                        f"peaks_{short}": fit_turns(fit, row["max_sqrt_kl"], min_d=row["min_sqrt_kl"])})
            observed_peak, _, falls = observed_turn(run[column].to_numpy())
            row[f"observed_peak_{short}"], row[f"falls_{short}"] = observed_peak, falls
        rows.append(row)
    return pd.DataFrame(rows)
