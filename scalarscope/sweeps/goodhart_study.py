"""Judgment without the judges: the student optimizes its own conscience while the judges keep score.

Each run builds its world (by name, :mod:`scalarscope.worlds`; the default world at one overlap), trains ``warmup`` cycles on the evaluators (the
conscience, the scalar head, learns them; the policy starts to), then makes the policy as it is the
reference (``engine.set_reference()``: d measures how far optimizing the conscience moves it, as
Gao et al. measure from the policy RL starts from) and switches the reward source to the conscience
for ``cycles`` cycles. Every cycle records d = sqrt(KL to the reference) on the policy's own
samples, the proxy (the conscience's mean predicted score of them) and the gold: the training
evaluators' mean score and the held-out evaluator's score, neither of which reaches the policy.

>>> df = scalarscope.goodhart(overlaps=[0, 0.87], seeds=5, warmup=20, cycles=300, n_jobs=2)
>>> goodhart_summary(df)     # per run: rises of proxy and gold, Gao et al.'s fit, the peak d*
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from scalarscope.errors import SweepError
from scalarscope.sweeps import executor
from scalarscope.sweeps.spec import (
    ROTATE,
    RunSpec,
    _check_int,
    check_overlaps,
    check_seeds,
    check_study_holdout,
    holdout_for,
    world_plan,
)

if TYPE_CHECKING:
    import pandas as pd

# Defaults (measured: see docs/RESULTS_AND_LIMITATIONS.md, "Judgment without the judges"): after 20
# cycles on the evaluators the conscience's fidelity to them is ~0.95 while the policy's mean score
# is ~0.7 of a possible 1 and its entropy still ~3.5 nats of 3.85, so it has room to move.
WARMUP = 20
CYCLES = 300
TRANSFER_PROBES = 500  # fresh probes measuring the conscience at the switch

COLUMNS = ("overlap", "seed", "holdout", "warmup", "context_share", "kl_coef", "reset_optimizer", "cycle", "kl",
           "sqrt_kl", "proxy", "gold_train", "gold_holdout", "entropy", "switch_fidelity", "switch_transfer", "switch_score",
           "switch_entropy")


def run_goodhart(spec: RunSpec) -> list[dict]:
    """Train one run (see the module docstring); returns its conscience-phase rows (``COLUMNS``)."""
    from scalarscope.engine._threads import torch_threads

    with torch_threads(1):
        world = spec.build_world()
        engine = world.engine(holdout=spec.holdout, **spec.config_changes)
        engine.run(spec.study["warmup"], progress=False)
        at_switch = engine.holdout_transfer(TRANSFER_PROBES)
        warm = engine.history.to_frame().tail(5)
        engine.set_reference()
        engine.reward_source = "conscience"
        records = [engine.step() for _ in range(spec.cycles)]
    fixed = {"overlap": float(getattr(world, "overlap", spec.overlap)), "seed": spec.seed, "holdout": spec.holdout,
             "warmup": spec.study["warmup"], "context_share": float(getattr(world, "context_share", math.nan)),
             "kl_coef": spec.config_changes["kl_coef"],
             "reset_optimizer": spec.config_changes["reset_optimizer_on_switch"],
             "switch_fidelity": at_switch.fidelity, "switch_transfer": at_switch.transfer,
             "switch_score": float(warm.mean_score.mean()), "switch_entropy": float(warm.entropy.mean())}
    rows = []
    for index, record in enumerate(records):
        m = record.metrics
        rows.append({**fixed, "cycle": index, "kl": m.kl, "sqrt_kl": math.sqrt(max(m.kl, 0.0)),
                     "proxy": m.predicted_score, "gold_train": m.mean_score,
                     "gold_holdout": m.scores.get(spec.holdout, math.nan), "entropy": m.entropy})
    return rows


def plan_goodhart(*, overlaps, seeds, warmup: int, cycles: int, kl_coef: float, context_share: float | None,
                  conscience_learns: bool, reset_optimizer: bool = True, world: str = "default", world_options: dict | None = None
                  ) -> list[RunSpec]:
    """Validate the study's arguments; runs overlap-major, the holdout rotating with the seed."""
    from scalarscope.errors import check_scalar

    seeds = check_seeds(seeds)
    grid = [{}] if overlaps is None else [{"overlap": o} for o in check_overlaps(overlaps)]
    warmup = _check_int(warmup, "warmup", 1, "The conscience must learn from the evaluators first (e.g. 20).")
    cycles = _check_int(cycles, "cycles", 1, f"Cycles of conscience-only training (e.g. {CYCLES}).")
    from scalarscope.engine.config import SIZE_LIMITS  # beyond it every warm-up update would be skipped

    check_scalar(kl_coef, "kl_coef", min_value=0.0, max_value=SIZE_LIMITS["kl_coef"], hint="Use 0 for no KL penalty.")
    options = dict(world_options or {})
    if context_share is not None:
        check_scalar(context_share, "context_share", min_value=0.0, max_value=1.0)
        options["context_share"] = float(context_share)
    for name, value in (("conscience_learns", conscience_learns), ("reset_optimizer", reset_optimizer)):
        if not isinstance(value, bool):
            raise SweepError(f"{name} must be True or False, got {value!r}")
    options, module, names = world_plan(world, {**options, **grid[0]})
    check_study_holdout(ROTATE, names)
    changes = {"transfer_every": 0, "kl_coef": float(kl_coef), "conscience_learns": conscience_learns,
               "reset_optimizer_on_switch": reset_optimizer}
    return [RunSpec(index=len(seeds) * i + j, world=world, world_options={**options, **point}, world_module=module,
                    seed=seed, seed_index=j, holdout=holdout_for(ROTATE, names, j), cycles=cycles,
                    config_changes=changes, study={"warmup": warmup})
            for i, point in enumerate(grid) for j, seed in enumerate(seeds)]


def goodhart(overlaps: Sequence[float] | None = (0.0, 0.87), *, seeds=5, warmup: int = WARMUP,
             cycles: int = CYCLES, kl_coef: float = 0.0, context_share: float | None = None,
             conscience_learns: bool = False,
             reset_optimizer: bool = True, world: str = "default", world_options: dict | None = None,
             n_jobs: int | None = None, client=None, progress: bool = True, connect_timeout: float = 5.0) -> pd.DataFrame:
    """Conscience-only training against gold: a DataFrame, one row per (run, conscience cycle).

    overlaps, seeds: as :func:`scalarscope.sweep` (the holdout rotates with the seed).
    warmup: cycles on the evaluators before the switch; cycles: conscience-only cycles after it.
    kl_coef: the KL penalty during the whole run; context_share: the world's difficulty (the
    share of the evaluators' feature variance a conscience reading single characters misses; None:
    the world's own, 0.02 in the default world), short for that world option.
    world, world_options: a registered world and its options (``overlaps`` None: the world's own).
    n_jobs, client, connect_timeout: where the runs go (:mod:`scalarscope.sweeps.executor`), as for
    :func:`scalarscope.sweep`.
    reset_optimizer: clear Adam's moments at the switch (``EngineConfig.reset_optimizer_on_switch``;
    False only for the ablation).

    Columns: overlap, seed, holdout, warmup, context_share, kl_coef, reset_optimizer; cycle (0 = the first
    conscience cycle, whose samples come from the reference itself: kl 0 up to float
    rounding); kl and sqrt_kl (= d);
    proxy (the conscience's mean predicted score), gold_train (training evaluators' mean score),
    gold_holdout (held-out evaluator's mean score), entropy; and, per run, the state at the switch:
    switch_fidelity and switch_transfer (the conscience on fresh probes), switch_score and
    switch_entropy (the policy, mean of the last 5 warmup cycles).
    """
    import pandas as pd

    specs = plan_goodhart(overlaps=overlaps, seeds=seeds, warmup=warmup, cycles=cycles, kl_coef=kl_coef,
                          context_share=context_share, conscience_learns=conscience_learns,
                          reset_optimizer=reset_optimizer, world=world,
                          world_options=world_options)
    results = executor.run_specs(run_goodhart, specs, n_jobs=n_jobs, client=client, progress=progress,
                                 desc="goodhart", connect_timeout=connect_timeout,
                                 postfix=lambda spec, rows: {"seed": spec.seed})
    return pd.DataFrame([row for rows in results for row in rows], columns=list(COLUMNS))
