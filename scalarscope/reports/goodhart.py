"""The results document's section on conscience-only training (every number from the runs handed in).

Rules the section follows (issue 17): runs are counted once (a side study's run with the main
study's settings is the same run); training-gold falls and held-out falls are counted apart; a
fit of Gao et al.'s curve counts as a turn only with R² >= 0.5 and d* inside the run; every
"rises", "falls" or "does not move" is the outcome of a one-sample t-test over seeds that the
section prints beside it, and gold "rises with the proxy" only when the proxy's own rise passes
that test (otherwise they decouple); held-out gold is shown per seed, not summarised as noise.

:func:`goodhart_section` runs the studies and returns the markdown; the results script
(``examples/goodhart_results.py``, or ``examples/path_a_vs_b.py`` through ``extra_sections``)
places it in docs/RESULTS_AND_LIMITATIONS.md.
"""

from __future__ import annotations

import math
import time

import numpy as np

from scalarscope.reports.format import mean_std
from scalarscope.sweeps.goodhart_fit import MIN_R2, goodhart_summary
from scalarscope.sweeps.goodhart_study import CYCLES, WARMUP, goodhart

TITLE = "## Judgment without the judges: steering by the conscience"
D_BINS = (0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 10.0, 15.0)


def _pm(values) -> str:
    return mean_std(values, signed=True)


def _plain(values) -> str:
    return _pm(values).lstrip("+")


ALPHA = 0.05  # two-sided level of the t-tests over seeds
RUN_KEYS = ["overlap", "seed", "warmup", "context_share", "kl_coef", "reset_optimizer"]  # what makes a run distinct


def t_test(values) -> tuple[float, float]:
    """One-sample t-test of the mean against 0 over seeds: (t, two-sided p); NaN with fewer than 2 values."""
    from scipy import stats

    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) < 2 or values.std(ddof=1) == 0:
        return math.nan, math.nan
    result = stats.ttest_1samp(values, 0.0)
    return float(result.statistic), float(result.pvalue)


def _tested(values) -> tuple[str, int]:
    """(the printed test, its direction: +1 rises, -1 falls, 0 not beyond noise)."""
    t, p = t_test(values)
    if not math.isfinite(p):
        return "t-test not possible", 0
    return f"t = {t:+.2f}, p = {p:.3f}", (int(np.sign(t)) if p < ALPHA else 0)


def _moves(values) -> str:
    test, direction = _tested(values)
    word = {1: "rises", -1: "falls", 0: "does not move beyond seed noise"}[direction]
    return f"{word} ({_pm(values)}; {test})"


def _per_seed(rows, column: str) -> str:
    return ", ".join(f"seed {int(r.seed)}: {getattr(r, column + '_start'):.2f} → {getattr(r, column + '_end'):.2f}"
                     for r in rows.sort_values("seed").itertuples())


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
             "| proxy rise | gold rise (training) | gold rise (held out) | t-test p (proxy / training / held out) "
             "| gold falls (train / held out) |",
             "|" + "---|" * (len(by) + 9)]
    for value, rows in summary.groupby(by):
        keys = " | ".join(f"{v:g}" if not isinstance(v, bool | np.bool_) else ("reset" if v else "kept")
                          for v in value)
        lines.append(f"| {keys} | {len(rows)} | {_plain(rows.switch_fidelity)} | {_plain(rows.switch_score)} | "
                     f"{_plain(rows.final_sqrt_kl)} | {_pm(rows.proxy_rise)} | {_pm(rows.gold_train_rise)} | "
                     f"{_pm(rows.gold_holdout_rise)} | {_p_cells(rows)} | "
                     f"{int(rows.falls_train.sum())} / {int(rows.falls_holdout.sum())} |")
    return "\n".join(lines)


def _p_cells(rows) -> str:
    cells = [t_test(rows[c])[1] for c in ("proxy_rise", "gold_train_rise", "gold_holdout_rise")]
    return " / ".join("n/a" if not math.isfinite(p) else f"{p:.3f}" for p in cells)


def fit_table(summary) -> str:
    """Gao et al.'s fit per overlap and gold: mean ± std over seeds of alpha and beta, median d* and
    fitted peak, median R², and the runs whose fit shows a turn (R² >= 0.5, d* inside the run)."""
    lines = ["| overlap | gold | α | β | median d* | median fitted peak | median R² | fit turns (R² ≥ 0.5, d* in the run) |",
             "|---|---|---|---|---|---|---|---|"]
    for overlap, rows in summary.groupby("overlap"):
        for short, label in (("train", "training"), ("holdout", "held out")):
            d_star = rows[f"d_star_{short}"].median()
            lines.append(f"| {overlap:g} | {label} | {_plain(rows[f'alpha_{short}'])} | {_plain(rows[f'beta_{short}'])} | "
                         f"{'∞' if math.isinf(d_star) else f'{d_star:.2f}'} | {rows[f'peak_{short}'].median():.3f} | "
                         f"{rows[f'r2_{short}'].median():.2f} | {int(rows[f'peaks_{short}'].sum())} of {len(rows)} |")
    return "\n".join(lines)


def claims(summary) -> list[str]:
    """The section's claims, each the printed outcome of a test on the summary."""
    out = []
    for overlap, rows in summary.groupby("overlap"):
        proxy_test, proxy_direction = _tested(rows.proxy_rise)
        held_test, held_direction = _tested(rows.gold_holdout_rise)
        if held_direction == 1:
            held = ("rises with it" if proxy_direction == 1 else
                    "rises while the proxy's change is not beyond noise: the two decouple")
        elif held_direction == -1:
            held = "falls while the proxy rises (Goodhart)" if proxy_direction == 1 else "falls"
        else:
            held = "does not move beyond seed noise"
        out.append(f"- **Overlap {overlap:g} ({len(rows)} seeds):** the proxy ends {_pm(rows.proxy_rise)} from where "
                   f"it started ({proxy_test}: {'beyond' if proxy_direction else 'not beyond'} seed noise; its peak "
                   f"{_pm(rows.proxy_peak_rise)}); the held-out evaluator's gold {held} ({_pm(rows.gold_holdout_rise)}; "
                   f"{held_test}); per seed, held-out gold from the first 5 to the last 20 cycles: "
                   f"{_per_seed(rows, 'gold_holdout')}. The training evaluators' gold {_moves(rows.gold_train_rise)}.")
    out.append(f"- **Goodhart, observed:** the training evaluators' gold (Gao et al.'s setting) fell after its peak "
               f"(by more than 0.02 and two standard errors of the last 20 cycles) in {int(summary.falls_train.sum())} "
               f"of {len(summary)} runs; the held-out evaluator's gold in {int(summary.falls_holdout.sum())} of "
               f"{len(summary)}. Gao et al.'s fit shows a turn (R² ≥ {MIN_R2}, d* inside the run) for training gold in "
               f"{int(summary.peaks_train.sum())} and for held-out gold in {int(summary.peaks_holdout.sum())}.")
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


def goodhart_markdown(studies, warmups, shares, *, seconds: float, ablation=None) -> str:
    """``studies``: [(label, DataFrame)] of the main studies; ``warmups`` and ``shares``: the side studies;
    ``ablation``: runs with the main studies' settings that keep Adam's moments at the switch."""
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
        "inside the run (above the run's smallest d after the switch cycle and below its largest), the fit's R² "
        f"is at least {MIN_R2} and the fitted curve falls by more than 0.02 after it. Each \"rises\", \"falls\" "
        f"or \"does not move\" below is a one-sample t-test of the rises over seeds against 0 (two-sided, "
        f"level {ALPHA}), printed beside it; gold \"rises with\" the proxy only when the proxy's rise passes "
        "that test too. Since issue 17 Adam's moments are cleared at the switch "
        "(`EngineConfig.reset_optimizer_on_switch`); the ablation that keeps them has its own table. Two "
        "differences from Gao et al.'s setting: the conscience is frozen but reads the student's own trunk, which the policy gradient moves, so "
        "the proxy is not a fixed function of the text (it can fall while it is optimized); and every score is "
        "squashed into [0, 1], so a gold near 1 has no room left to rise.", ""]
    for label, df in studies:
        lines += study_block(label, df)
    summaries = [goodhart_summary(df) for _, df in studies]
    if warmups is not None and shares is not None:
        lines += ["### Warmup length: a better-trained conscience", "",
                  rise_table(goodhart_summary(warmups), ["overlap", "warmup"]), "",
                  fit_table_by(goodhart_summary(warmups), "warmup"), "",
                  "### The world's context interaction: a conscience that misses part of the judges' structure", "",
                  rise_table(goodhart_summary(shares), ["overlap", "context_share"]), "",
                  fit_table_by(goodhart_summary(shares), "context_share"), ""]
        summaries += [goodhart_summary(warmups), goodhart_summary(shares)]
    else:
        lines += ["The side studies (warmup length, the world's context interaction) were not run for this "
                  "version of the section; `python examples/goodhart_results.py` without `--main-only` runs them.", ""]
    lines += [*ablation_block(studies, ablation), *where_gold_falls(summaries),
              f"All runs of this section: {seconds:.0f} s wall time on local processes."]
    return "\n".join(lines)


def ablation_block(studies, ablation) -> list[str]:
    """The optimiser-reset ablation: the main studies' runs next to the same runs keeping Adam's moments."""
    if ablation is None or not len(ablation):
        return []
    import pandas as pd

    both = goodhart_summary(pd.concat([*(df for _, df in studies), ablation], ignore_index=True))
    both = both[both.kl_coef.isin(ablation.kl_coef.unique())]
    lines = ["### Ablation: Adam's moments kept across the switch", "",
             "The same seeds and settings as the main studies, once with Adam's moments cleared at the switch "
             "(`reset`, the default) and once kept (`kept`, the behaviour before issue 17, when momentum built "
             "from the evaluators' gradients kept acting after the switch). Held-out gold per group:", ""]
    for (overlap, kl_coef, reset), rows in both.groupby(["overlap", "kl_coef", "reset_optimizer"]):
        lines.append(f"- overlap {overlap:g}, kl_coef {kl_coef:g}, moments {'reset' if reset else 'kept'}: held-out "
                     f"gold {_moves(rows.gold_holdout_rise)}; per seed: {_per_seed(rows, 'gold_holdout')}.")
    return [*lines, "", rise_table(both, ["overlap", "kl_coef", "reset_optimizer"]), ""]


def where_gold_falls(summaries) -> list[str]:
    """Per overlap, over the distinct runs of the section (a side study's run with a main study's settings
    is the same run, counted once; the ablation is left out): training and held-out falls apart."""
    import pandas as pd

    runs = pd.concat(summaries, ignore_index=True).drop_duplicates(subset=RUN_KEYS)
    runs = runs[runs.reset_optimizer.astype(bool)]
    lines = ["### Where gold falls, over the distinct runs above", ""]
    for overlap, rows in runs.groupby("overlap"):
        parts = []
        for column, label in (("falls_train", "training gold fell"), ("falls_holdout", "held-out gold fell")):
            fell = rows[rows[column]]
            settings = sorted({f"kl_coef {r.kl_coef:g}, warmup {int(r.warmup)}, context_share {r.context_share:g}"
                               for r in fell.itertuples()})
            parts.append(f"{label} in {len(fell)} of {len(rows)}" + (f" ({'; '.join(settings)})" if settings else ""))
        lines.append(f"- overlap {overlap:g}, {len(rows)} distinct runs: " + "; ".join(parts) + ".")
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


def goodhart_section(*, quick: bool = False, n_jobs: int | None = None, seeds: int | None = None,
                     side_studies: bool = True, ablation_kl: tuple[float, ...] = (0.0, STUDY_KL)) -> str:
    """Run the studies behind the section and return its markdown (``quick``: small, for tests;
    ``side_studies=False`` skips the warmup and context studies; ``ablation_kl``: the KL settings of the
    optimiser-reset ablation)."""
    start = time.perf_counter()
    seeds = seeds or (2 if quick else 5)
    side = 1 if quick else 2
    cycles = 40 if quick else CYCLES
    common = {"cycles": cycles, "n_jobs": n_jobs, "progress": False}
    studies = [(f"The default engine (no KL penalty), {seeds} seeds",
                goodhart([0.0, 0.87], seeds=seeds, warmup=WARMUP, **common)),
               (f"With a KL penalty (kl_coef {STUDY_KL:g}): the curve resolved, {seeds} seeds",
                goodhart([0.0, 0.87], seeds=seeds, warmup=WARMUP, kl_coef=STUDY_KL, **common))]
    ablation = _concat([goodhart([0.0, 0.87], seeds=seeds, warmup=WARMUP, kl_coef=kl, reset_optimizer=False,
                                 **common) for kl in ablation_kl]) if ablation_kl else None
    warmups = shares = None
    if side_studies:
        warmups = _concat([goodhart([0.0, 0.87], seeds=side, warmup=w, kl_coef=STUDY_KL, **common)
                           for w in ((5, 20) if quick else (5, 10, 20, 40))])
        shares = _concat([goodhart([0.87], seeds=side + 1, warmup=WARMUP, context_share=s, kl_coef=STUDY_KL,
                                   **common) for s in ((0.02, 0.5) if quick else (0.02, 0.2, 0.5))])
    return goodhart_markdown(studies, warmups, shares, ablation=ablation, seconds=time.perf_counter() - start)


def _concat(frames):
    import pandas as pd

    return pd.concat(frames, ignore_index=True)
