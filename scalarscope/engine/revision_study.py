"""Does targeting matter? Train revision engines with "weakest-token" and "random" targeting, compare.

:func:`compare_targeting` is what the results script and ``examples/revision_demo.py`` call; it
returns one row per (seed, targeting) with the revision metrics of the whole run, so a reader
sees uplift per revision next to what each revision cost.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scalarscope.engine.config import EngineConfig
from scalarscope.engine.revision import TARGETING, RevisionConfig
from scalarscope.errors import ConfigError

COLUMNS = ("seed", "targeting", "cycles", "trigger_rate", "revisions", "mean_uplift", "acceptance_rate",
           "tokens_per_revision", "uplift_per_100_tokens", "mean_position", "final_score")


def train_revision_engine(*, seed: int, cycles: int, revision: RevisionConfig, overlap: float = 0.5,
                          config: EngineConfig | None = None):
    """A :class:`RevisionScalarScopeEngine` in the default world (``overlap``), trained ``cycles`` cycles.

    Holdout transfer is not measured along the way (``transfer_every=0`` unless ``config`` says
    otherwise); it does not change training.
    """
    from scalarscope.engine.revision_engine import RevisionScalarScopeEngine
    from scalarscope.evaluators.synthetic import correlated_evaluators

    engine = RevisionScalarScopeEngine(evaluators=correlated_evaluators(5, overlap, seed=seed), seed=seed,
                                       config=config or EngineConfig(transfer_every=0), revision=revision)
    engine.run(cycles, progress=False)
    return engine


def _one(args) -> dict:
    seed, targeting, cycles, revision, overlap, config = args
    engine = train_revision_engine(seed=seed, cycles=cycles, revision=revision.replace(targeting=targeting),
                                   overlap=overlap, config=config)
    summary = engine.revision_summary()
    frame = engine.history.to_frame()
    per_revision = summary.tokens_spent / summary.revised if summary.revised else float("nan")
    return {"seed": seed, "targeting": targeting, "cycles": cycles, "trigger_rate": summary.trigger_rate,
            "revisions": summary.revised, "mean_uplift": summary.mean_uplift,
            "acceptance_rate": summary.acceptance_rate, "tokens_per_revision": per_revision,
            "uplift_per_100_tokens": 100.0 * summary.mean_uplift / per_revision if summary.revised else float("nan"),
            "mean_position": summary.mean_position, "final_score": float(frame["mean_score"].tail(10).mean()),
            "trigger_curve": trigger_curve(engine.history, window=25)}


def compare_targeting(seeds: Sequence[int] = (0, 1, 2, 3, 4), cycles: int = 100, *,
                      revision: RevisionConfig | None = None, targetings: Sequence[str] = TARGETING,
                      overlap: float = 0.5, config: EngineConfig | None = None, workers: int = 1):
    """Train one engine per (seed, targeting) and return a DataFrame, one row each (see ``COLUMNS``).

    ``revision`` sets everything but the targeting (default :class:`RevisionConfig`). ``workers``
    > 1 runs the engines in that many processes. The ``trigger_curve`` column holds each run's
    trigger rate per 25-cycle window. Use :func:`targeting_table` for the mean and spread.
    """
    import pandas as pd

    if not seeds:
        raise ConfigError("seeds is empty; give at least one seed, e.g. seeds=(0, 1, 2, 3, 4)")
    for targeting in targetings:
        if targeting not in TARGETING:
            raise ConfigError(f"targetings holds {targeting!r}; each must be one of {TARGETING}")
    revision = revision or RevisionConfig()
    jobs = [(int(s), t, int(cycles), revision, float(overlap), config) for s in seeds for t in targetings]
    if workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as pool:
            rows = list(pool.map(_one, jobs))
    else:
        rows = [_one(job) for job in jobs]
    return pd.DataFrame(rows, columns=[*COLUMNS, "trigger_curve"])


def targeting_table(frame):
    """Per seed: uplift with each targeting and the difference; plus mean and std rows."""
    import pandas as pd

    wide = frame.pivot(index="seed", columns="targeting", values="mean_uplift")
    wide.columns = [f"uplift_{c}" for c in wide.columns]
    if {"uplift_weakest-token", "uplift_random"} <= set(wide.columns):
        wide["difference"] = wide["uplift_weakest-token"] - wide["uplift_random"]
    stats = pd.DataFrame([wide.mean(), wide.std(ddof=1)], index=["mean", "std"])
    return pd.concat([wide, stats])


def trigger_curve(history, *, window: int = 25) -> tuple[float, ...]:
    """Trigger rate (triggered drafts / drafts) per consecutive ``window``-cycle block of ``history``."""
    triggered = np.array([r.revision.triggered if r.revision else 0 for r in history], dtype=float)
    responses = np.array([r.revision.responses if r.revision else 0 for r in history], dtype=float)
    out = []
    for start in range(0, len(triggered), window):
        n = responses[start:start + window].sum()
        out.append(float(triggered[start:start + window].sum() / n) if n else 0.0)
    return tuple(out)
