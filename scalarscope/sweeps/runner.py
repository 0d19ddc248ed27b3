"""The sweep: overlap x seed runs of a world, measured, run by the study executor."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from scalarscope.sweeps import executor
from scalarscope.sweeps.spec import ROTATE, plan_runs
from scalarscope.sweeps.worker import COLUMNS, run_one

if TYPE_CHECKING:
    import pandas as pd


def sweep(overlaps=None, *, seeds=5, cycles: int = 300, holdout: str | None = ROTATE, world: str = "default",
          world_options: dict | None = None, n_evaluators: int | None = None, student: str | None = None,
          n_jobs: int | None = None, client=None, transfer_probes: int = 2000, progress: bool = True,
          connect_timeout: float = 5.0) -> pd.DataFrame:
    """Train one run per (overlap, seed) and measure each; returns a DataFrame, one row per run.

    overlaps: evaluator overlaps rho, each in [0, 1] (the world's ``overlap`` option); None: one run
        per seed at the world's own overlap (worlds whose overlap is measured, not set).
    seeds: a count k (seeds 0..k-1) or a list of distinct non-negative ints.
    holdout: ``"rotate"`` (the run of the i-th seed holds out evaluator ``names[i % n_evaluators]``,
        the same at every overlap), an evaluator name, or None (no transfer measured).
    world, world_options: a registered world (:mod:`scalarscope.worlds`) and its options; options it
        does not accept are a ConfigError naming them. ``n_evaluators`` and ``student`` are short for
        those two options (None: the world's own).
    n_jobs: local worker processes (default: all cores; 1 runs in this process, no pool). The pool is
        joblib's loky: no ``if __name__ == "__main__":`` guard needed, from a script, stdin or a notebook.
    client: a ``dask.distributed.Client`` or a scheduler address ``"tcp://host:port"``; the runs
        then go to that cluster (its workers need scalarscope installed) and ``n_jobs`` is unused.
    transfer_probes: fresh probe responses for the final transfer measurement and the overlap analysis.
    connect_timeout: seconds to reach a scheduler address (or to see a worker) before failing.

    Columns (rows in overlap-major order, as given):
    overlap, seed, seed_index, holdout, n_evaluators, cycles, student (the world's student, by name),
    world;
    mean_correlation, first_factor_share, effective_dimension: ``analyze_overlap`` of the run's
    evaluators; transfer, ceiling, ratio, fidelity, head_mae: ``engine.holdout_transfer`` after
    the last cycle on random probes, with transfer_ci_low / transfer_ci_high (bootstrap 95 %),
    transfer_p_null (permutation) and best_ceiling (cross-validated best linear ceiling); the same on
    the policy's own samples: policy_transfer, policy_ci_low, policy_ci_high, policy_p_null,
    policy_ceiling, policy_best_ceiling, policy_fidelity; final_score, head_error: means over the last 20 cycles; failures: recorded
    failure events; wall_seconds: time to train and measure the run.
    """
    import pandas as pd

    shorthand = {"n_evaluators": n_evaluators, "student": student}
    options = {**(world_options or {}), **{k: v for k, v in shorthand.items() if v is not None}}
    specs = plan_runs(overlaps=overlaps, seeds=seeds, cycles=cycles, holdout=holdout,
                      transfer_probes=transfer_probes, world=world, world_options=options)
    rows = executor.run_specs(_run, specs, n_jobs=n_jobs, client=client, progress=progress, desc="sweep",
                              connect_timeout=connect_timeout, postfix=_postfix)
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _run(spec) -> dict:
    return run_one(spec)  # looked up at call time (a test replaces run_one with a failing run)


def _postfix(spec, row: dict) -> dict:
    overlap = "" if math.isnan(spec.overlap) else spec.overlap
    return {"overlap": overlap, "transfer": f"{row['transfer']:.3f}"}
