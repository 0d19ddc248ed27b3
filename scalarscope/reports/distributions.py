"""The results document's section on probe distributions: Path A / B on random probes and on the
policy's own samples, side by side, with every run's interval and null (numbers from the sweep)."""

from __future__ import annotations

import math

import numpy as np

from scalarscope.sweeps._markdown import _fmt, _pm, markdown_table
from scalarscope.sweeps.summary import MIN_CEILING, path_a, path_b

# (label, transfer, ci low, ci high, p, fidelity, ceiling, best ceiling) columns of the sweep per distribution
DISTRIBUTIONS = (
    ("random probes", "transfer", "transfer_ci_low", "transfer_ci_high", "transfer_p_null", "fidelity", "ceiling",
     "best_ceiling"),
    ("policy samples", "policy_transfer", "policy_ci_low", "policy_ci_high", "policy_p_null", "policy_fidelity",
     "policy_ceiling", "policy_best_ceiling"),
)


def _as_distribution(df, columns):
    """The sweep with one distribution's transfer, fidelity and ceiling under the names the verdicts read."""
    _, transfer, _, _, _, fidelity, ceiling, _ = columns
    return df.assign(transfer=df[transfer], fidelity=df[fidelity], ceiling=df[ceiling])


def _mean_std(values) -> str:
    values = np.asarray(values, dtype=float)
    return _pm(float(np.nanmean(values)), float(np.nanstd(values, ddof=1)) if np.isfinite(values).sum() > 1
               else math.nan) if np.isfinite(values).any() else "n/a"


def summary_table(df, overlaps) -> str:
    rows = []
    for overlap in overlaps:
        runs = df[df.overlap == overlap]
        for label, transfer, low, high, p, fidelity, ceiling, best in DISTRIBUTIONS:
            below = int((runs[p] < 0.01).sum())
            rows.append([f"{overlap:g}", label, len(runs), ", ".join(str(s) for s in runs.seed),
                         _mean_std(runs[transfer]), f"{_fmt((runs[high] - runs[low]).mean())}",
                         f"{below} of {len(runs)}", _mean_std(runs[fidelity]), _mean_std(runs[ceiling]),
                         _mean_std(runs[best])])
    return markdown_table(["overlap ρ", "probes", "runs", "seeds", "transfer (mean ± std)",
                           "mean width of the runs' 95 % intervals", "runs with p_null < 0.01", "fidelity",
                           "ceiling (equal weights)", "best linear ceiling"], rows)


def runs_table(df, overlaps) -> str:
    rows = []
    for overlap in overlaps:
        for run in df[df.overlap == overlap].itertuples():
            cells = [f"{overlap:g}", run.seed, run.holdout]
            for _, transfer, low, high, p, fidelity, ceiling, best in DISTRIBUTIONS:
                cells.append(f"{_fmt(getattr(run, transfer))} [{_fmt(getattr(run, low))}, {_fmt(getattr(run, high))}], "
                             f"p {_fmt(getattr(run, p), 4)}")
                cells.append(f"{_fmt(getattr(run, fidelity))} / {_fmt(getattr(run, ceiling))} / "
                             f"{_fmt(getattr(run, best))}")
            rows.append(cells)
    return markdown_table(["overlap ρ", "seed", "holdout", "random: transfer [95 % interval], p_null",
                           "random: fidelity / ceiling / best ceiling", "policy: transfer [95 % interval], p_null",
                           "policy: fidelity / ceiling / best ceiling"], rows)


def per_run_lines(df, overlaps) -> list[str]:
    """Per distribution and overlap: how many runs' transfers lie beyond the permutation null, and
    their range (a mean near 0 over large transfers of both signs is not "no transfer")."""
    lines = []
    for overlap in overlaps:
        runs = df[df.overlap == overlap]
        for label, transfer, _, _, p, *_ in DISTRIBUTIONS:
            beyond = int((runs[p] < 0.01).sum())
            lines.append(f"- Overlap {overlap:g}, {label}: {beyond} of {len(runs)} runs' transfers are beyond the "
                         f"permutation null (p < 0.01); per run they range from {runs[transfer].min():+.3f} to "
                         f"{runs[transfer].max():+.3f}"
                         + ("; the mean is near 0 only because they differ in sign, so the mean verdict does not "
                            "mean the head predicts nothing of the held-out evaluator there."
                            if beyond > len(runs) // 2 and abs(runs[transfer].mean()) <= 0.1
                            and runs[transfer].min() < -0.1 < 0.1 < runs[transfer].max() else "."))
    return lines


def product_check(df) -> str:
    """How closely transfer equals fidelity x ceiling on random probes, over every run with a ceiling."""
    runs = df[df.ceiling >= MIN_CEILING].dropna(subset=["transfer", "fidelity", "ceiling"])
    if not len(runs):
        return ""
    gap = (runs.transfer - runs.fidelity * runs.ceiling).abs()
    return (f"On random probes transfer ≈ fidelity × ceiling: over the {len(runs)} runs of the sweep whose ceiling "
            f"is at least {MIN_CEILING}, |transfer − fidelity × ceiling| is {gap.mean():.4f} on average "
            f"(largest {gap.max():.4f}), against transfers of {runs.transfer.min():.3f} to {runs.transfer.max():.3f}. "
            "So a random-probe transfer says no more than its two factors: that the head learned its training "
            "evaluators (fidelity) and how much of the held-out one they share (ceiling); it cannot show the head "
            "finding the shared axis on its own, and a high transfer with a low fidelity would be the surprise.")


def distributions_section(df, *, probes: int) -> str:
    """Path A / B side by side on random probes and on the policy's samples (needs the policy columns)."""
    if "policy_transfer" not in df or "transfer_ci_low" not in df:
        return ""
    b_overlap = path_b(df).overlap
    overlaps = [o for o in (0.0, b_overlap) if o is not None and (df.overlap == o).any()]
    verdicts = []
    for columns in DISTRIBUTIONS:
        frame = _as_distribution(df, columns)
        for verdict in (path_a(frame), path_b(frame)):
            where = f" (overlap {verdict.overlap:g}, {verdict.runs} runs)" if verdict.overlap is not None else ""
            verdicts.append(f"- **{verdict.claim} on {columns[0]}{where}: "
                            f"{'holds' if verdict.holds else 'does not hold'}.** {verdict.detail}")
    return "\n\n".join([
        "## Path A and Path B on two probe distributions",
        "The same trained runs, measured after the last cycle on two distributions: the random probes above "
        f"(uniform text, {probes} per run) and the policy's own samples (as many, generated at temperature 1 after "
        "the engine's prompts). Beside each transfer: every run's bootstrap 95 % interval (1000 resamples of "
        "the probes) and permutation p-value against shuffled held-out scores (1000 shuffles; the smallest "
        "possible is 1/1001 ≈ 0.001), the head's fidelity to its training evaluators on the same probes, and "
        "two ceilings: the equal-weight mean of the training evaluators and their best linear combination "
        "(5-fold cross-validated least squares). The verdicts apply the thresholds of the section above to "
        "each distribution's transfer and ceiling (the evaluators' overlap is measured on random probes in "
        "both).",
        summary_table(df, overlaps), "\n".join(verdicts), "\n".join(per_run_lines(df, overlaps)), product_check(df),
        "Every run:", runs_table(df, overlaps),
    ])
