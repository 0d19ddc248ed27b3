"""One sweep run, executed in a worker process (local pool) or on a Dask worker.

Everything here is a plain top-level function of plain values so it pickles; torch is imported
inside the worker, never by the process that plans the sweep.
"""

from __future__ import annotations

import math
import time

from scalarscope.sweeps.spec import RunSpec

FINAL_WINDOW = 20  # cycles averaged for the final mean score and head error

# Column order of the sweep's DataFrame (see :func:`scalarscope.sweeps.sweep` for meanings).
COLUMNS = (
    "overlap", "seed", "seed_index", "holdout", "n_evaluators", "cycles", "student", "world",
    "mean_correlation", "first_factor_share", "effective_dimension",
    "transfer", "ceiling", "ratio", "fidelity", "head_mae",
    "transfer_ci_low", "transfer_ci_high", "transfer_p_null", "best_ceiling",
    "policy_transfer", "policy_ci_low", "policy_ci_high", "policy_p_null", "policy_ceiling", "policy_best_ceiling",
    "policy_fidelity",
    "first_score", "final_score", "head_error", "failures", "wall_seconds",
)


def run_one(spec: RunSpec) -> dict[str, object]:
    """Train one run of its world and measure it; returns one row (plain floats).

    Torch uses one intra-op thread during the run so that parallel runs do not oversubscribe
    the cores (the previous setting is restored afterwards, which matters for ``n_jobs=1``,
    where the run happens in the calling process).
    """
    from scalarscope.engine._threads import torch_threads

    with torch_threads(1):
        return _measure(spec)


def _measure(spec: RunSpec) -> dict[str, object]:
    # imported before the clock starts, so a worker's first run is not charged for it
    # (creating a torch.optim optimiser imports torch._dynamo: seconds)
    import torch._dynamo  # noqa: F401

    from scalarscope.evaluators.overlap import analyze_overlap

    start = time.perf_counter()
    world = spec.build_world()
    engine = world.engine(holdout=spec.holdout, **spec.config_changes)
    engine.run(spec.cycles, progress=False)
    probes = spec.study["transfer_probes"]
    # the engine's fixed protocol: fresh probe responses drawn from (seed, cycle)
    measured = engine.holdout_transfer(probes)
    # the same question on the policy's own samples (after the random probes: their draw is unchanged)
    policy = engine.holdout_transfer(probes, probes="policy")
    # structure of all evaluators of this run (holdout included) on their own probe set
    overlap = analyze_overlap(engine.evaluators, n_probes=probes, seed=spec.seed)
    frame = engine.history.to_frame()
    tail = frame.tail(FINAL_WINDOW)
    held = spec.holdout is not None
    nan = math.nan
    return {
        "overlap": float(getattr(world, "overlap", spec.overlap)),
        "seed": spec.seed,
        "seed_index": spec.seed_index,
        "holdout": spec.holdout,
        "n_evaluators": len(engine.evaluators),
        "cycles": spec.cycles,
        "student": getattr(world, "student_name", ""),
        "world": spec.world,
        "mean_correlation": float(overlap.mean_correlation),
        "first_factor_share": float(overlap.first_factor_share),
        "effective_dimension": float(overlap.effective_dimension),
        "transfer": float(measured.transfer) if held else nan,
        "ceiling": float(measured.ceiling) if held else nan,
        "ratio": float(measured.ratio) if held else nan,
        "fidelity": float(measured.fidelity),
        "head_mae": float(measured.head_mae),
        **_uncertainty(measured, "transfer_", held),
        "best_ceiling": float(measured.best_ceiling) if held else nan,
        "policy_transfer": float(policy.transfer) if held else nan,
        **_uncertainty(policy, "policy_", held),
        "policy_ceiling": float(policy.ceiling) if held else nan,
        "policy_best_ceiling": float(policy.best_ceiling) if held else nan,
        "policy_fidelity": float(policy.fidelity),
        "first_score": float(frame["mean_score"].head(FINAL_WINDOW).mean()),
        "final_score": float(tail["mean_score"].mean()),
        "head_error": float(tail["head_error"].mean()),
        "failures": len(engine.history.failures),
        "wall_seconds": time.perf_counter() - start,
    }


def _uncertainty(measured, prefix: str, held: bool) -> dict[str, float]:
    """The bootstrap interval and permutation p-value of a measurement, as ``<prefix>ci_low`` etc."""
    values = (measured.ci_low, measured.ci_high, measured.p_null) if held else (math.nan,) * 3
    return {f"{prefix}{name}": float(v) for name, v in zip(("ci_low", "ci_high", "p_null"), values, strict=True)}
