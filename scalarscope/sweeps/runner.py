"""Run a sweep's runs in parallel: local worker processes, or a Dask cluster when given one."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from scalarscope.errors import SweepError
from scalarscope.sweeps.pool import map_unordered
from scalarscope.sweeps.spec import ROTATE, RunSpec, plan_runs
from scalarscope.sweeps.worker import COLUMNS, run_one

if TYPE_CHECKING:
    import pandas as pd


def sweep(overlaps, *, seeds=5, cycles: int = 300, holdout: str | None = ROTATE, n_evaluators: int = 5,
          n_jobs: int | None = None, client=None, transfer_probes: int = 2000, progress: bool = True,
          connect_timeout: float = 5.0, student: str = "gru") -> pd.DataFrame:
    """Train one run per (overlap, seed) and measure each; returns a DataFrame, one row per run.

    overlaps: evaluator overlaps rho, each in [0, 1].
    seeds: a count k (seeds 0..k-1) or a list of distinct non-negative ints.
    holdout: ``"rotate"`` (the run of the i-th seed holds out evaluator ``names[i % n_evaluators]``,
        the same at every overlap), an evaluator name, or None (no transfer measured).
    n_jobs: local worker processes (default: all cores; 1 runs in this process, no pool). The pool is
        joblib's loky: no ``if __name__ == "__main__":`` guard needed, from a script, stdin or a notebook.
    client: a ``dask.distributed.Client`` or a scheduler address ``"tcp://host:port"``; the runs
        then go to that cluster (its workers need scalarscope installed) and ``n_jobs`` is unused.
    transfer_probes: fresh probe responses for the final transfer measurement and the overlap analysis.
    connect_timeout: seconds to reach a scheduler address (or to see a worker) before failing.
    student: the student every run trains (``"gru"`` or ``"tiny-gpt2"``; see ``scalarscope.worlds``).

    Columns (rows in overlap-major order, as given):
    overlap, seed, seed_index, holdout, n_evaluators, cycles;
    mean_correlation, first_factor_share, effective_dimension: ``analyze_overlap`` of the run's
    evaluators; transfer, ceiling, ratio, fidelity, head_mae: ``engine.holdout_transfer`` after
    the last cycle; final_score, head_error: means over the last 20 cycles; failures: recorded
    failure events; wall_seconds: time to train and measure the run.
    """
    import pandas as pd

    specs = plan_runs(overlaps=overlaps, seeds=seeds, cycles=cycles, holdout=holdout,
                      n_evaluators=n_evaluators, transfer_probes=transfer_probes, student=student)
    if client is not None:
        results = _run_dask(client, specs, progress=progress, connect_timeout=connect_timeout)
    else:
        results = _run_local(specs, n_jobs=_check_jobs(n_jobs, len(specs)), progress=progress)
    ordered = [results[spec.index] for spec in specs]
    return pd.DataFrame(ordered, columns=list(COLUMNS))


def _check_jobs(n_jobs: int | None, n_runs: int) -> int:
    cores = os.cpu_count() or 1
    if n_jobs is None or n_jobs == -1:
        n_jobs = cores
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        raise SweepError(f"n_jobs must be an int >= 1 (or -1 / None for all {cores} cores), got {n_jobs!r}")
    return min(n_jobs, n_runs)


def _describe(spec: RunSpec) -> str:
    return f"run overlap={spec.overlap} seed={spec.seed} holdout={spec.holdout!r}"


def _collect(done: Iterator[tuple[RunSpec, Callable[[], dict]]], total: int, progress: bool,
             desc: str) -> dict[int, dict]:
    """Drain (spec, result-getter) pairs as they finish, with a progress bar."""
    from tqdm.auto import tqdm

    results: dict[int, dict] = {}
    with tqdm(total=total, desc=desc, unit="run", disable=not progress) as bar:
        for spec, get in done:
            try:
                row = get()
            except SweepError:
                raise
            except Exception as exc:
                raise SweepError(f"{_describe(spec)} failed: {type(exc).__name__}: {exc}") from exc
            results[spec.index] = row
            bar.set_postfix(overlap=spec.overlap, transfer=f"{row['transfer']:.3f}", refresh=False)
            bar.update()
    return results


def _run_local(specs: Sequence[RunSpec], *, n_jobs: int, progress: bool) -> dict[int, dict]:
    """Runs in this process (``n_jobs=1``) or on the shared loky pool (see :mod:`scalarscope.sweeps.pool`)."""
    if n_jobs == 1:
        return _collect(((s, lambda s=s: run_one(s)) for s in specs), len(specs), progress, "sweep")
    return _collect(map_unordered(run_one, specs, n_jobs), len(specs), progress, f"sweep ({n_jobs} processes)")


def _connect(client, timeout: float):
    """Return (client, owned): a given Client, or one connected to an address within ``timeout`` s."""
    if not isinstance(client, str):
        return client, False
    try:
        from distributed import Client
    except ImportError as exc:
        raise SweepError("a Dask scheduler address needs dask.distributed: "
                         "pip install 'scalarscope[dask]'") from exc
    try:
        return Client(client, timeout=timeout, set_as_default=False), True
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        raise SweepError(f"cannot reach the Dask scheduler at {client!r} within {timeout:g} s ({exc}); "
                         "check the address (tcp://host:port) and that the scheduler is running") from exc


def _run_dask(client, specs: Sequence[RunSpec], *, progress: bool, connect_timeout: float) -> dict[int, dict]:
    client, owned = _connect(client, connect_timeout)
    try:
        from distributed import as_completed as dask_completed

        if getattr(client, "status", "running") != "running":
            raise SweepError(f"the Dask client is {client.status!r}, not running; connect it before sweeping")
        try:
            client.wait_for_workers(1, timeout=connect_timeout)
        except (OSError, TimeoutError) as exc:
            raise SweepError(f"the Dask cluster at {client.scheduler.address!r} has no workers after "
                             f"{connect_timeout:g} s; start workers or pass n_jobs for a local sweep") from exc
        futures = client.map(run_one, list(specs), pure=False)
        by_key = {f.key: spec for f, spec in zip(futures, specs, strict=True)}
        try:
            done = ((by_key[f.key], f.result) for f in dask_completed(futures))
            return _collect(done, len(specs), progress, "sweep (dask)")
        finally:
            client.cancel(futures)
    finally:
        if owned:
            client.close()
