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


def rise_table(summary, by) -> str:
    """Mean ± std over seeds per group (``by``: a column or a list of columns)."""
    by = [by] if isinstance(by, str) else list(by)
    lines = ["| " + " | ".join(by) + " | runs | conscience fidelity at switch | policy score at switch | final d "
             "| proxy rise | gold rise (training) | gold rise (held out) | gold falls (train / held out) |",
             "|" + "---|" * (len(by) + 8)]
    for value, rows in summary.groupby(by):
        keys = " | ".join(f"{v:g}" for v in value)
        lines.append(f"| {keys} | {len(rows)} | {_plain(rows.switch_fidelity)} | {_plain(rows.switch_score)} | "
                     f"{_plain(rows.final_sqrt_kl)} | {_pm(rows.proxy_rise)} | {_pm(rows.gold_train_rise)} | "
                     f"{_pm(rows.gold_holdout_rise)} | {int(rows.falls_train.sum())} / {int(rows.falls_holdout.sum())} |")
    return "\n".join(lines)


def fit_table(summary) -> str:
    """Gao et al.'s fit per overlap and gold: mean ± std over seeds of alpha and beta, median d* and
    fitted peak, median R², and the runs whose fitted curve turns inside the run."""
    lines = ["| overlap | gold | α | β | median d* | median fitted peak | median R² | fit turns in the run |",
             "|---|---|---|---|---|---|---|---|"]
    for overlap, rows in summary.groupby("overlap"):
        for short, label in (("train", "training"), ("holdout", "held out")):
            d_star = rows[f"d_star_{short}"].median()
            lines.append(f"| {overlap:g} | {label} | {_plain(rows[f'alpha_{short}'])} | {_plain(rows[f'beta_{short}'])} | "
                         f"{'∞' if math.isinf(d_star) else f'{d_star:.2f}'} | {rows[f'peak_{short}'].median():.3f} | "
                         f"{rows[f'r2_{short}'].median():.2f} | {int(rows[f'peaks_{short}'].sum())} of {len(rows)} |")
    return "\n".join(lines)


def claims(summary) -> list[str]:
    """The issue's claims, each read from the summary."""
    out = []
    for overlap, rows in summary.groupby("overlap"):
        proxy, holdout = rows.proxy_rise, rows.gold_holdout_rise
        held = ("rises with it" if holdout.mean() > 0 and _beyond_noise(holdout) else
                "falls beyond seed noise" if _beyond_noise(holdout) else "does not move beyond seed noise")
        out.append(f"- **Overlap {overlap:g} ({len(rows)} seeds):** the proxy ends {_pm(proxy)} from where it started "
                   f"(its peak {_pm(rows.proxy_peak_rise)}); the held-out evaluator's gold {held} ({_pm(holdout)}; "
                   f"peak {_pm(rows.gold_holdout_peak_rise)}); the training evaluators' gold {_pm(rows.gold_train_rise)} "
                   f"(peak {_pm(rows.gold_train_peak_rise)}).")
    falls = summary.falls_train | summary.falls_holdout
    out.append(f"- **Goodhart, observed:** gold fell after its peak (by more than 0.02 and two standard errors of the "
               f"last 20 cycles) in {int(falls.sum())} of {len(summary)} runs "
               f"({int(summary.falls_train.sum())} training, {int(summary.falls_holdout.sum())} held out); Gao et al.'s "
               f"fitted curve turns inside the run in {int((summary.peaks_train | summary.peaks_holdout).sum())}.")
    return out


def study_block(label: str, df) -> list[str]:
    summary = goodhart_summary(df)
    first = summary.iloc[0]
    return [f"### {label}", "",
            f"kl_coef {first.kl_coef:g}, warmup {int(first.warmup)}, {int(df.cycle.max()) + 1} conscience cycles, "
            f"context_share {first.context_share:g}.", "",
            *claims(summary), "", rise_table(summary, "overlap"), "",
            "Proxy and gold against d (mean over the cycles in each d bin, then over runs):", "",
            curve_table(df), "", fit_table(summary), ""]


def goodhart_markdown(studies, warmups, shares, *, seconds: float) -> str:
    """``studies``: [(label, DataFrame)] of the main studies; ``warmups`` and ``shares``: the side studies."""
    lines = [
        TITLE, "",
        "Can the student's own internal evaluator stand in for the judges? Each run trains the default world on "
        "the evaluators for a warmup (the holdout rotating with the seed), makes that policy the reference, then "
        "trains with `reward_source=\"conscience\"`: the policy gradient sees only the scalar head's own per-token "
        "values (the head frozen), while every evaluator keeps scoring, as gold, without reaching any gradient. "
        "d = sqrt(KL to the reference), per response, on the policy's own samples; proxy = the conscience's mean "
        "predicted score. Rises are the mean of the last 20 cycles minus the mean of the first 5, ± std over seeds; "
        "\"gold falls\" counts runs whose 20-cycle running mean ends more than 0.02 and two standard errors below "
        "its peak. Gao, Schulman & Hilton (2022) fit gold = d(α − β log d) under RL; it is fitted here per run with "
        "a free intercept; d* = exp(α/β − 1) is where the fitted curve peaks (∞: β ≤ 0); \"fit turns\" = d* lies "
        "inside the run and the fitted curve falls by more than 0.02 after it. Two differences from Gao et al.'s "
        "setting: the conscience is frozen but reads the student's own trunk, which the policy gradient moves, so "
        "the proxy is not a fixed function of the text (it can fall while it is optimized); and every score is "
        "squashed into [0, 1], so a gold near 1 has no room left to rise.", ""]
    for label, df in studies:
        lines += study_block(label, df)
    lines += ["### Warmup length: a better-trained conscience", "", rise_table(goodhart_summary(warmups),
                                                                               ["overlap", "warmup"]), "",
              fit_table_by(goodhart_summary(warmups), "warmup"), "",
              "### The world's context interaction: a conscience that misses part of the judges' structure", "",
              rise_table(goodhart_summary(shares), ["overlap", "context_share"]), "",
              fit_table_by(goodhart_summary(shares), "context_share"), "",
              *where_gold_falls([*(goodhart_summary(df) for _, df in studies), goodhart_summary(warmups),
                                 goodhart_summary(shares)]),
              f"All runs of this section: {seconds:.0f} s wall time on local processes."]
    return "\n".join(lines)


def where_gold_falls(summaries) -> list[str]:
    """Per overlap, over every run of the section: how many saw a gold fall, and in which settings."""
    import pandas as pd

    runs = pd.concat(summaries, ignore_index=True)
    lines = ["### Where gold falls, over all runs above", ""]
    for overlap, rows in runs.groupby("overlap"):
        fell = rows[rows.falls_train | rows.falls_holdout]
        settings = sorted({f"kl_coef {r.kl_coef:g}, warmup {int(r.warmup)}, context_share {r.context_share:g}"
                           for r in fell.itertuples()})
        lines.append(f"- overlap {overlap:g}: {len(fell)} of {len(rows)} runs"
                     + (f" ({'; '.join(settings)})" if settings else "") + ".")
    return lines + [""]


def fit_table_by(summary, by: str) -> str:
    """Median fitted d* and the runs whose fit turns, per overlap and ``by``, for both golds."""
    lines = [f"| overlap | {by} | median d* (training / held out) | fit turns (training / held out) |",
             "|---|---|---|---|"]
    for (overlap, value), rows in summary.groupby(["overlap", by]):
        cells = [rows[f"d_star_{s}"].median() for s in ("train", "holdout")]
        shown = " / ".join("∞" if math.isinf(c) else f"{c:.2f}" for c in cells)
        lines.append(f"| {overlap:g} | {value:g} | {shown} | {int(rows.peaks_train.sum())} / "
                     f"{int(rows.peaks_holdout.sum())} of {len(rows)} |")
    return "\n".join(lines)


STUDY_KL = 0.3  # the resolved curve: measured to keep the policy's entropy (examples/kl_coef_scan.py)


def goodhart_section(*, quick: bool = False, workers: int | None = None, seeds: int | None = None) -> str:
    """Run the studies behind the section and return its markdown (``quick``: small, for tests)."""
    start = time.perf_counter()
    seeds = seeds or (2 if quick else 5)
    side = 1 if quick else 2
    cycles = 40 if quick else CYCLES
    common = {"cycles": cycles, "n_jobs": workers, "progress": False}
    studies = [(f"The default engine (no KL penalty), {seeds} seeds",
                goodhart([0.0, 0.87], seeds=seeds, warmup=WARMUP, **common)),
               (f"With a KL penalty (kl_coef {STUDY_KL:g}): the curve resolved, {seeds} seeds",
                goodhart([0.0, 0.87], seeds=seeds, warmup=WARMUP, kl_coef=STUDY_KL, **common))]
    warmups = _concat([goodhart([0.0, 0.87], seeds=side, warmup=w, kl_coef=STUDY_KL, **common)
                       for w in ((5, 20) if quick else (5, 10, 20, 40))])
    shares = _concat([goodhart([0.87], seeds=side + 1, warmup=WARMUP, context_share=s, kl_coef=STUDY_KL, **common)
                      for s in ((0.02, 0.5) if quick else (0.02, 0.2, 0.5))])
    return goodhart_markdown(studies, warmups, shares, seconds=time.perf_counter() - start)


def _concat(frames):
    import pandas as pd

    return pd.concat(frames, ignore_index=True)
