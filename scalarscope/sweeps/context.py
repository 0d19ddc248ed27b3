"""How hard is the default world? Transfer at a fixed overlap as the context interaction grows.

The synthetic evaluators' features are a per-character effect plus an interaction of each character
with the previous one (``context_share`` of the variance). The default world keeps that share small;
this study trains the same student at larger shares and reports what its internal evaluator learns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from scalarscope.sweeps.spec import check_seeds, evaluator_names

if TYPE_CHECKING:
    import pandas as pd


def context_study(shares: Sequence[float] = (0.0, 0.02, 0.05, 0.1, 0.2), *, overlap: float = 0.87,
                  seeds: int | Sequence[int] = 3, cycles: int = 300, probes: int = 2000) -> pd.DataFrame:
    """One row per (context share, seed): transfer, ceiling, ratio and fidelity after ``cycles``.

    Runs in this process, one after the other (the engine uses one torch thread per cycle); the
    holdout rotates with the seed as in :func:`scalarscope.sweep`.
    """
    import pandas as pd

    from scalarscope.engine import ScalarScopeEngine
    from scalarscope.evaluators import correlated_evaluators

    names = evaluator_names(5)
    rows = []
    for share in shares:
        for index, seed in enumerate(check_seeds(seeds)):
            evaluators = correlated_evaluators(5, overlap, seed=seed, context_share=float(share))
            engine = ScalarScopeEngine(evaluators=evaluators, holdout=names[index % 5], seed=seed)
            engine.run(cycles, progress=False)
            measured = engine.holdout_transfer(probes)
            rows.append({"context_share": float(share), "seed": seed, "holdout": measured.holdout,
                         "transfer": measured.transfer, "ceiling": measured.ceiling, "ratio": measured.ratio,
                         "fidelity": measured.fidelity})
    return pd.DataFrame(rows)


def context_markdown(df, *, overlap: float = 0.87, cycles: int = 300) -> str:
    """The study as a results-document section (mean ± std over seeds per share)."""
    grouped = df.groupby("context_share")
    lines = [
        "## How learnable is the world? Transfer as the context interaction grows",
        "",
        f"Overlap {overlap}, {cycles} cycles, {df['seed'].nunique()} seeds per share (rotating holdout), "
        "2,000 fresh probes. `context_share` is the share of the evaluators' feature variance that comes from "
        "the interaction of a character with the previous one; the default world uses 0.02.",
        "",
        "| context share | learned transfer | ceiling | transfer / ceiling | fidelity to training evaluators "
        "| sqrt(1 - share) |",
        "|---|---|---|---|---|---|",
    ]
    for share, rows in grouped:
        lines.append(f"| {share:g} | {rows.transfer.mean():.3f} ± {rows.transfer.std(ddof=1):.3f} | "
                     f"{rows.ceiling.mean():.3f} | {rows.transfer.mean() / rows.ceiling.mean():.3f} | "
                     f"{rows.fidelity.mean():.3f} ± {rows.fidelity.std(ddof=1):.3f} | {(1 - share) ** 0.5:.3f} |")
    lines += ["", "A head that learned the per-character part exactly and none of the interaction would have "
              "fidelity sqrt(1 - share) (last column); the measured fidelity sits at or a little above it, so "
              "within this many cycles the student's internal evaluator learns little of the context, and "
              "transfer follows fidelity. The ceiling does not depend on the share: the overlap is exact either way."]
    return "\n".join(lines)
