"""The results document's section on conscience-only training (every number from the runs handed in).

:func:`goodhart_section` runs the studies and returns the markdown; the results script
(``examples/goodhart_results.py``, or ``examples/path_a_vs_b.py`` through ``extra_sections``)
places it in docs/RESULTS_AND_LIMITATIONS.md.
"""

from __future__ import annotations

import math
import time

import numpy as np

from scalarscope.sweeps.goodhart_fit import goodhart_summary
from scalarscope.sweeps.goodhart_study import CYCLES, WARMUP, goodhart

TITLE = "## Judgment without the judges: steering by the conscience"
D_BINS = (0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 10.0, 15.0)


def _pm(values) -> str:
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if not len(values):
        return "n/a"
    return f"{values.mean():+.3f} ± {values.std(ddof=1):.3f}" if len(values) > 1 else f"{values.mean():+.3f}"


def _plain(values) -> str:
    return _pm(values).lstrip("+")


def _beyond_noise(values) -> bool:
    """Mean farther from 0 than two standard errors over seeds."""
    values = np.asarray(values, dtype=float)
    return len(values) > 1 and abs(values.mean()) > 2 * values.std(ddof=1) / math.sqrt(len(values))


def curve_table(df) -> str:
    """Mean proxy and gold per d bin and overlap (mean over cycles, then over seeds)."""
    bins = np.asarray(D_BINS)
    df = df.assign(d_bin=np.digitize(df.sqrt_kl, bins) - 1)
    overlaps = sorted(df.overlap.unique())
    header = "| d = sqrt(KL) | " + " | ".join(f"proxy / gold train / gold held out (ρ {o:g})" for o in overlaps) + " |"
    lines = [header, "|---|" + "---|" * len(overlaps)]
    for index in sorted(df.d_bin.unique()):
        cells = []
        for overlap in overlaps:
            part = df[(df.d_bin == index) & (df.overlap == overlap)]
            if not len(part):
                cells.append("")
                continue
            per_run = part.groupby("seed")[["proxy", "gold_train", "gold_holdout"]].mean().mean()
            cells.append(f"{per_run.proxy:.2f} / {per_run.gold_train:.2f} / {per_run.gold_holdout:.2f} "
                         f"({part.seed.nunique()} runs)")
        upper = f"{bins[index + 1]:g}" if index + 1 < len(bins) else "∞"
        lines.append(f"| {bins[index]:g}–{upper} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def rise_table(summary, by: str) -> str:
    lines = [f"| {by} | runs | conscience fidelity at switch | policy score at switch | final d | proxy rise "
             "| gold rise (training) | gold rise (held out) | gold falls (train / held out) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for value, rows in summary.groupby(by):
        lines.append(f"| {value:g} | {len(rows)} | {_plain(rows.switch_fidelity)} | {_plain(rows.switch_score)} | "
                     f"{_plain(rows.final_sqrt_kl)} | {_pm(rows.proxy_rise)} | {_pm(rows.gold_train_rise)} | "
                     f"{_pm(rows.gold_holdout_rise)} | {int(rows.falls_train.sum())} / {int(rows.falls_holdout.sum())} |")
    return "\n".join(lines)


def fit_table(summary) -> str:
    lines = ["| overlap | seed | holdout | gold | α | β | d* | fitted peak | R² | peaks and falls in the run |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in summary.itertuples():
        for short in ("train", "holdout"):
            d_star = getattr(r, f"d_star_{short}")
            lines.append(f"| {r.overlap:g} | {r.seed} | {r.holdout} | {short} | {getattr(r, f'alpha_{short}'):.3f} | "
                         f"{getattr(r, f'beta_{short}'):.3f} | {'∞' if math.isinf(d_star) else f'{d_star:.2f}'} | "
                         f"{getattr(r, f'peak_{short}'):.3f} | {getattr(r, f'r2_{short}'):.2f} | "
                         f"{'yes' if getattr(r, f'peaks_{short}') else 'no'} |")
    return "\n".join(lines)


def claims(summary) -> list[str]:
    """The issue's claims, each read from the summary."""
    out = []
    for overlap, rows in summary.groupby("overlap"):
        proxy, holdout = rows.proxy_rise, rows.gold_holdout_rise
        held = ("rises with it" if holdout.mean() > 0 and _beyond_noise(holdout) else
                "falls beyond seed noise" if _beyond_noise(holdout) else "does not move beyond seed noise")
        out.append(f"- **Overlap {overlap:g} ({len(rows)} seeds):** the proxy rises by {_pm(proxy)}; the held-out "
                   f"evaluator's gold {held} ({_pm(holdout)}); the training evaluators' gold {_pm(rows.gold_train_rise)}.")
    falls = summary.falls_train | summary.falls_holdout
    out.append(f"- **Goodhart, observed:** gold fell after its peak (by more than 0.02 and two standard errors of the "
               f"last 20 cycles) in {int(falls.sum())} of {len(summary)} runs; Gao et al.'s fitted curve turns "
               f"inside the run in {int((summary.peaks_train | summary.peaks_holdout).sum())}.")
    return out


def goodhart_markdown(main, warmups, shares, *, seconds: float, fall_setting=None) -> str:
    summary = goodhart_summary(main)
    first = summary.iloc[0]
    lines = [
        TITLE, "",
        "Does the student's own internal evaluator stand in for the judges? Each run trains the default world "
        f"{int(first.warmup)} cycles on the evaluators (the holdout rotating with the seed), makes that policy the "
        f"reference, then trains {int(main.cycle.max()) + 1} cycles with `reward_source=\"conscience\"`: the policy "
        "gradient sees only the scalar head's own per-token values (the head frozen), while every evaluator keeps "
        "scoring, as gold. d = sqrt(KL to the reference), per response, on the policy's own samples. "
        f"kl_coef {first.kl_coef:g}, context_share {first.context_share:g}. Rises are the mean of the last 20 "
        "cycles minus the mean of the first 5, ± std over seeds.", "",
        *claims(summary), "",
        rise_table(summary, "overlap"), "",
        "Proxy and gold against d (Path A at overlap 0, Path B at 0.87):", "",
        curve_table(main), "",
        "Gao, Schulman & Hilton (2022) fit gold = d(α − β log d) under RL; fitted here with a free intercept, "
        "per run and per gold. d* = exp(α/β − 1) is where the fitted curve peaks (∞: β ≤ 0, no turn); "
        "\"peaks and falls\" = d* lies inside the run and the fitted curve falls by more than 0.02 after it.", "",
        fit_table(summary), "",
    ]
    lines += ["### Warmup length (a better-trained conscience?)", "",
              rise_table(goodhart_summary(warmups), "warmup"), "",
              "### The world's context interaction (a conscience that misses part of the judges' structure)", "",
              rise_table(goodhart_summary(shares), "context_share"), ""]
    if fall_setting is not None:
        label, frame = fall_setting
        lines += [f"### Where gold falls: {label}", "", rise_table(goodhart_summary(frame), "overlap"), "",
                  curve_table(frame), ""]
    lines.append(f"All runs of this section: {seconds:.0f} s wall time on local processes.")
    return "\n".join(lines)


def goodhart_section(*, quick: bool = False, workers: int | None = None, seeds: int | None = None) -> str:
    """Run the studies behind the section and return its markdown (``quick``: small, for tests)."""
    start = time.perf_counter()
    seeds = seeds or (2 if quick else 5)
    cycles = 40 if quick else CYCLES
    common = {"cycles": cycles, "n_jobs": workers, "progress": False}
    main = goodhart([0.0, 0.87], seeds=seeds, warmup=WARMUP, **common)
    side_seeds = 2 if quick else 3
    warmups = _concat([goodhart([0.87], seeds=side_seeds, warmup=w, **common) for w in (10, 20, 40)])
    shares = _concat([goodhart([0.87], seeds=side_seeds, warmup=WARMUP, context_share=s, **common)
                      for s in (0.02, 0.2, 0.5)])
    return goodhart_markdown(main, warmups, shares, seconds=time.perf_counter() - start)


def _concat(frames):
    import pandas as pd

    return pd.concat(frames, ignore_index=True)
