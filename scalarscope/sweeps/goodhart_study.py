"""Judgment without the judges: the student optimizes its own conscience while the judges keep score.

Each run builds the default world at one overlap, trains ``warmup`` cycles on the evaluators (the
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
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scalarscope.errors import SweepError
from scalarscope.sweeps.spec import (
    _check_int,
    check_holdout,
    check_overlaps,
    check_seeds,
    evaluator_names,
    holdout_for,
)

if TYPE_CHECKING:
    import pandas as pd

# Defaults (measured: see docs/RESULTS_AND_LIMITATIONS.md, "Judgment without the judges"): after 20
# cycles on the evaluators the conscience's fidelity to them is ~0.95 while the policy's mean score
# is ~0.7 of a possible 1 and its entropy still ~3.5 nats of 3.85, so it has room to move.
WARMUP = 20
CYCLES = 300
TRANSFER_PROBES = 500  # fresh probes measuring the conscience at the switch

COLUMNS = ("overlap", "seed", "holdout", "warmup", "context_share", "kl_coef", "cycle", "kl", "sqrt_kl",
           "proxy", "gold_train", "gold_holdout", "entropy", "switch_fidelity", "switch_transfer", "switch_score",
           "switch_entropy")


@dataclass(frozen=True, kw_only=True)
class GoodhartSpec:
    """One run of the study: plain values only, so it pickles to a process or a Dask worker."""

    index: int
    overlap: float
    seed: int
    holdout: str
    warmup: int
    cycles: int
    kl_coef: float
    context_share: float
    conscience_learns: bool


def run_goodhart(spec: GoodhartSpec) -> list[dict]:
    """Train one run (see the module docstring); returns its conscience-phase rows (``COLUMNS``)."""
    import torch

    from scalarscope.engine import EngineConfig, ScalarScopeEngine
    from scalarscope.evaluators import correlated_evaluators

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        evaluators = correlated_evaluators(5, spec.overlap, seed=spec.seed, context_share=spec.context_share)
        config = EngineConfig(transfer_every=0, kl_coef=spec.kl_coef, conscience_learns=spec.conscience_learns)
        engine = ScalarScopeEngine(evaluators=evaluators, holdout=spec.holdout, seed=spec.seed, config=config)
        engine.run(spec.warmup, progress=False)
        at_switch = engine.holdout_transfer(TRANSFER_PROBES)
        warm = engine.history.to_frame().tail(5)
        engine.set_reference()
        engine.reward_source = "conscience"
        records = [engine.step() for _ in range(spec.cycles)]
    finally:
        torch.set_num_threads(previous)
    fixed = {"overlap": spec.overlap, "seed": spec.seed, "holdout": spec.holdout, "warmup": spec.warmup,
             "context_share": spec.context_share, "kl_coef": spec.kl_coef,
             "switch_fidelity": at_switch.fidelity, "switch_transfer": at_switch.transfer,
             "switch_score": float(warm.mean_score.mean()), "switch_entropy": float(warm.entropy.mean())}
    rows = []
    for index, record in enumerate(records):
        m = record.metrics
        rows.append({**fixed, "cycle": index, "kl": m.kl, "sqrt_kl": math.sqrt(max(m.kl, 0.0)),
                     "proxy": m.predicted_score, "gold_train": m.mean_score,
                     "gold_holdout": m.scores.get(spec.holdout, math.nan), "entropy": m.entropy})
    return rows


def plan_goodhart(*, overlaps, seeds, warmup: int, cycles: int, kl_coef: float, context_share: float,
                  conscience_learns: bool) -> list[GoodhartSpec]:
    """Validate the study's arguments; runs overlap-major, the holdout rotating with the seed."""
    from scalarscope.errors import check_scalar

    overlaps, seeds = check_overlaps(overlaps), check_seeds(seeds)
    warmup = _check_int(warmup, "warmup", 1, "The conscience must learn from the evaluators first (e.g. 20).")
    cycles = _check_int(cycles, "cycles", 1, f"Cycles of conscience-only training (e.g. {CYCLES}).")
    check_scalar(kl_coef, "kl_coef", min_value=0.0, hint="Use 0 for no KL penalty.")
    check_scalar(context_share, "context_share", min_value=0.0, max_value=1.0)
    if not isinstance(conscience_learns, bool):
        raise SweepError(f"conscience_learns must be True or False, got {conscience_learns!r}")
    names = evaluator_names(5)
    check_holdout("rotate", names)
    return [GoodhartSpec(index=len(seeds) * i + j, overlap=overlap, seed=seed, holdout=holdout_for("rotate", names, j),
                         warmup=warmup, cycles=cycles, kl_coef=float(kl_coef), context_share=float(context_share),
                         conscience_learns=conscience_learns)
            for i, overlap in enumerate(overlaps) for j, seed in enumerate(seeds)]


def goodhart(overlaps: Sequence[float] = (0.0, 0.87), *, seeds=5, warmup: int = WARMUP, cycles: int = CYCLES,
             kl_coef: float = 0.0, context_share: float = 0.02, conscience_learns: bool = False,
             n_jobs: int | None = None, client=None, progress: bool = True) -> pd.DataFrame:
    """Conscience-only training against gold: a DataFrame, one row per (run, conscience cycle).

    overlaps, seeds: as :func:`scalarscope.sweep` (the holdout rotates with the seed).
    warmup: cycles on the evaluators before the switch; cycles: conscience-only cycles after it.
    kl_coef: the KL penalty during the whole run; context_share: the world's difficulty (the
    share of the evaluators' feature variance a conscience reading single characters misses).
    n_jobs: local worker processes (default: all cores; 1: in this process); client: a Dask
    ``Client`` or scheduler address, as for :func:`scalarscope.sweep`.

    Columns: overlap, seed, holdout, warmup, context_share, kl_coef; cycle (0 = the first
    conscience cycle, whose samples come from the reference itself: kl 0 up to float
    rounding); kl and sqrt_kl (= d);
    proxy (the conscience's mean predicted score), gold_train (training evaluators' mean score),
    gold_holdout (held-out evaluator's mean score), entropy; and, per run, the state at the switch:
    switch_fidelity and switch_transfer (the conscience on fresh probes), switch_score and
    switch_entropy (the policy, mean of the last 5 warmup cycles).
    """
    import pandas as pd

    specs = plan_goodhart(overlaps=overlaps, seeds=seeds, warmup=warmup, cycles=cycles, kl_coef=kl_coef,
                          context_share=context_share, conscience_learns=conscience_learns)
    results = _run_specs(specs, n_jobs=n_jobs, client=client, progress=progress)
    rows = [row for spec in specs for row in results[spec.index]]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _run_specs(specs: list[GoodhartSpec], *, n_jobs, client, progress: bool) -> dict[int, list[dict]]:
    """Run the specs locally (joblib's loky processes) or on a Dask cluster; results by spec index."""
    from tqdm.auto import tqdm

    start = time.perf_counter()
    with tqdm(total=len(specs), desc="goodhart", unit="run", disable=not progress) as bar:
        results = {}
        for spec, rows in _completed(specs, n_jobs=n_jobs, client=client):
            results[spec.index] = rows
            bar.set_postfix(overlap=spec.overlap, seconds=f"{time.perf_counter() - start:.0f}", refresh=False)
            bar.update()
    return results


def _completed(specs, *, n_jobs, client):
    """(spec, rows) pairs as runs finish."""
    if client is not None:
        yield from _dask_completed(specs, client)
        return
    import os

    cores = os.cpu_count() or 1
    jobs = cores if n_jobs in (None, -1) else n_jobs
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise SweepError(f"n_jobs must be an int >= 1 (or -1 / None for all {cores} cores), got {n_jobs!r}")
    if min(jobs, len(specs)) == 1:
        yield from ((spec, run_goodhart(spec)) for spec in specs)
        return
    from joblib import Parallel, delayed

    parallel = Parallel(n_jobs=min(jobs, len(specs)), backend="loky", return_as="generator_unordered")
    yield from parallel(delayed(_tagged)(spec) for spec in specs)


def _tagged(spec: GoodhartSpec) -> tuple[GoodhartSpec, list[dict]]:
    return spec, run_goodhart(spec)


def _dask_completed(specs, client):
    if isinstance(client, str):
        try:
            from distributed import Client
        except ImportError as exc:
            raise SweepError("a Dask scheduler address needs dask.distributed: pip install 'scalarscope[dask]'") from exc
        client = Client(client, timeout=5, set_as_default=False)
    from distributed import as_completed

    futures = client.map(_tagged, specs, pure=False)
    try:
        for future in as_completed(futures):
            yield future.result()
    finally:
        client.cancel(futures)
