"""The headline question asked of each student: a section of the results document.

Runs the Path A (overlap 0) / Path B (overlap 0.87) sweep with a named student and reports, next
to the GRU's rows of the main sweep, the learned transfer, its ceiling, the training evaluators'
score rise, and the issue's checks computed from those numbers (never asserted in prose).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from scalarscope.sweeps._markdown import _pm, markdown_table

if TYPE_CHECKING:
    import pandas as pd

PATH_OVERLAPS = (0.0, 0.87)
MIN_RISE = 0.2  # training evaluators' mean score, first 20 cycles -> last 20
MIN_TRANSFER_B = 0.85
MIN_RATIO_B = 0.9
MAX_TRANSFER_A = 0.1


def student_sweep(student: str, *, seeds: int = 3, cycles: int = 300, transfer_probes: int = 2000,
                  n_jobs: int | None = None, client=None, progress: bool = True) -> pd.DataFrame:
    """The Path A / Path B runs of ``student`` (rotating holdout); one row per run."""
    from scalarscope.sweeps import sweep

    return sweep(overlaps=list(PATH_OVERLAPS), seeds=seeds, cycles=cycles, holdout="rotate", n_jobs=n_jobs,
                 client=client, transfer_probes=transfer_probes, progress=progress, student=student)


def student_checks(df) -> list[tuple[str, bool, str]]:
    """(claim, holds, numbers) for one student's rows."""
    a, b = df[df.overlap == 0.0], df[df.overlap == 0.87]
    rise = (df.final_score - df.first_score).mean()
    checks = [("training score rises by >= 0.2", bool(rise >= MIN_RISE), f"mean rise {rise:.3f} over {len(df)} runs")]
    if len(b):
        t, c = b.transfer.mean(), b.ceiling.mean()
        ok = t >= MIN_TRANSFER_B and t >= MIN_RATIO_B * c
        checks.append(("Path B: transfer >= 0.85 and >= 0.9 x ceiling", bool(ok),
                       f"transfer {t:.3f}, ceiling {c:.3f}, ratio {t / c:.3f} ({len(b)} runs)"))
    if len(a):
        t = a.transfer.mean()
        checks.append(("Path A: |transfer| <= 0.1", bool(abs(t) <= MAX_TRANSFER_A), f"transfer {t:.3f} ({len(a)} runs)"))
    return checks


def students_markdown(by_student: dict, *, cycles: int, probes: int, command: str) -> str:
    """The section: one row per (student, overlap), then each student's checks."""
    rows = []
    for name, df in by_student.items():
        for overlap in PATH_OVERLAPS:
            runs = df[df.overlap == overlap]
            if not len(runs):
                continue
            rise = runs.final_score - runs.first_score
            ratio = runs.transfer.mean() / runs.ceiling.mean() if runs.ceiling.mean() >= 0.1 else math.nan
            width = (runs.transfer_ci_high - runs.transfer_ci_low).mean()
            beyond = int((runs.transfer_p_null < 0.01).sum())
            rows.append([name, f"{overlap:g}", len(runs), _pm(runs.transfer.mean(), runs.transfer.std(ddof=1)),
                         f"{width:.3f}", f"{beyond} of {len(runs)}", _pm(runs.fidelity.mean(), runs.fidelity.std(ddof=1)),
                         _pm(runs.ceiling.mean(), runs.ceiling.std(ddof=1)),
                         _pm(runs.best_ceiling.mean(), runs.best_ceiling.std(ddof=1)),
                         "n/a" if math.isnan(ratio) else f"{ratio:.3f}",
                         f"{runs.first_score.mean():.3f} → {runs.final_score.mean():.3f} (+{rise.mean():.3f})",
                         f"{runs.wall_seconds.mean():.0f}"])
    table = markdown_table(["student", "overlap ρ", "runs", "learned transfer", "mean width of the runs' 95 % intervals",
                            "runs with p_null < 0.01", "fidelity", "ceiling (equal weights)", "best linear ceiling",
                            "transfer / ceiling", "training score, first 20 → last 20 cycles", "s per run"], rows)
    checks = []
    for name, df in by_student.items():
        for claim, holds, numbers in student_checks(df):
            checks.append(f"- {name}: {claim}: **{'holds' if holds else 'does not hold'}** ({numbers}).")
    return (
        "## The same question with a transformer student\n\n"
        f"The default world (5 synthetic evaluators, holdout rotating over seeds, {cycles} cycles per run) with "
        "the character GRU and with `tiny_gpt2` (2 layers, width 64, 4 heads, built from a `GPT2Config` "
        "offline; the same characters, a KV-cache decoder and a linear scalar head on its last hidden states). "
        f"Measured on {probes} fresh random probes after the last cycle; mean ± std over seeds, with each run's "
        "bootstrap 95 % interval and permutation p-value (1000 resamples, 1000 shuffles), the head's fidelity "
        "to its training evaluators and both ceilings. "
        f"GPT-2 rows from `{command}`; GRU rows from the main sweep above.\n\n"
        + table + "\n\n" + "\n".join(checks)
    )
