"""The one study executor: a study's runs on this process, local worker processes or a Dask cluster.

:func:`scalarscope.sweep`, :func:`scalarscope.goodhart`, :func:`~scalarscope.sweeps.compare_targeting`
and the context study all hand their :class:`~scalarscope.sweeps.spec.RunSpec` list and a
module-level run function to :func:`run_specs`, so they share the same arguments and checks:

* ``n_jobs``: local worker processes (None or -1: all cores; 1: in this process, no pool). The pool
  is joblib's loky (:mod:`scalarscope.sweeps.pool`): no ``__main__`` guard needed.
* ``client``: a ``dask.distributed.Client`` or a scheduler address ``"tcp://host:port"``; the runs
  then go to that cluster and ``n_jobs`` is unused. A client the executor connected itself (from an
  address) is closed when the runs are done, whatever happens; a given client is left open.
* a progress bar, and a run that raises is reported as a :class:`SweepError` naming the run.

Results come back in the specs' order, whichever backend ran them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence

from scalarscope.errors import SweepError
from scalarscope.sweeps.spec import RunSpec


def check_jobs(n_jobs: int | None, n_runs: int) -> int:
    """The number of local processes to use: ``n_jobs`` (None / -1: all cores), at most one per run."""
    cores = os.cpu_count() or 1
    if n_jobs is None or n_jobs == -1:
        n_jobs = cores
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        raise SweepError(f"n_jobs must be an int >= 1 (or -1 / None for all {cores} cores), got {n_jobs!r}")
    return max(1, min(n_jobs, n_runs))


def run_specs(function: Callable[[RunSpec], object], specs: Sequence[RunSpec], *, n_jobs: int | None = None,
              client=None, progress: bool = True, desc: str = "runs", connect_timeout: float = 5.0,
              postfix: Callable[[RunSpec, object], dict] | None = None) -> list:
    """``[function(spec) for spec in specs]``, run where ``n_jobs`` / ``client`` say (see the module
    docstring). ``function`` must be a module-level function (it is pickled by name);
    ``postfix(spec, result)`` adds fields to the progress bar."""
    from scalarscope.errors import check_scalar

    check_scalar(connect_timeout, "connect_timeout", min_value=0.0, include_min=False,
                 hint="Seconds to reach a Dask scheduler, e.g. connect_timeout=5.")
    specs = list(specs)
    jobs = check_jobs(n_jobs, len(specs)) if client is None else None
    if client is not None or jobs > 1:
        _check_importable(specs)
    if client is not None:
        done = _dask_completed(function, specs, client, connect_timeout)
        desc = f"{desc} (dask)"
    elif jobs == 1:
        done = ((spec, lambda spec=spec: function(spec)) for spec in specs)
    else:
        from scalarscope.sweeps.pool import map_unordered

        done = map_unordered(function, specs, jobs)
        desc = f"{desc} ({jobs} processes)"
    try:
        results = _collect(done, len(specs), progress=progress, desc=desc, postfix=postfix)
    finally:
        getattr(done, "close", lambda: None)()  # a generator's finally: cancel runs, close an owned client
    return [results[spec.index] for spec in specs]


def _check_importable(specs: Sequence[RunSpec]) -> None:
    for spec in specs:
        if spec.world_module == "__main__":
            raise SweepError(f"the world {spec.world!r} is registered in __main__ (a notebook cell or a script), "
                             "which worker processes cannot import; register it in a module of its own, or "
                             "run with n_jobs=1")


def _collect(done: Iterator[tuple[RunSpec, Callable[[], object]]], total: int, *, progress: bool, desc: str,
             postfix) -> dict[int, object]:
    """Drain (spec, result-getter) pairs as they finish, with a progress bar."""
    from tqdm.auto import tqdm

    results: dict[int, object] = {}
    with tqdm(total=total, desc=desc, unit="run", disable=not progress) as bar:
        for spec, get in done:
            try:
                result = get()
            except SweepError:
                raise
            except Exception as exc:
                raise SweepError(f"{spec.describe()} failed: {type(exc).__name__}: {exc}") from exc
            results[spec.index] = result
            if postfix is not None:
                bar.set_postfix(**postfix(spec, result), refresh=False)
            bar.update()
    return results


_DASK_SCHEMES = ("tcp", "tls", "ucx", "inproc", "ws", "wss")


def _connect(client, timeout: float):
    """Return (client, owned): a given Client, or one connected to an address within ``timeout`` s."""
    if not isinstance(client, str):
        missing = [m for m in ("map", "wait_for_workers", "cancel") if not callable(getattr(client, m, None))]
        if missing:
            raise SweepError(f"client must be a dask.distributed.Client or a scheduler address 'tcp://host:port', got "
                             f"{client!r:.60} ({type(client).__name__}), which has no {', '.join(missing)}")
        return client, False
    scheme = client.split("://", 1)[0].lower() if "://" in client else None
    if scheme is not None and scheme not in _DASK_SCHEMES:
        raise SweepError(f"{client!r} is not a Dask scheduler address ({scheme}:// is not a Dask protocol; "
                         "http:// is the dashboard); use tcp://host:8786")
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


def _dask_completed(function, specs: Sequence[RunSpec], client, connect_timeout: float):
    """(spec, result getter) pairs as the cluster finishes runs; closes a client it connected itself."""
    client, owned = _connect(client, connect_timeout)
    try:
        from distributed import as_completed

        if getattr(client, "status", "running") != "running":
            raise SweepError(f"the Dask client is {client.status!r}, not running; connect it before the runs")
        try:
            client.wait_for_workers(1, timeout=connect_timeout)
        except (OSError, TimeoutError) as exc:
            raise SweepError(f"the Dask cluster at {client.scheduler.address!r} has no workers after "
                             f"{connect_timeout:g} s; start workers or pass n_jobs for local processes") from exc
        futures = client.map(function, list(specs), pure=False)
        by_key = {f.key: spec for f, spec in zip(futures, specs, strict=True)}
        try:
            # the client's own loop: a client made here is not the default one, which as_completed would look for
            for future in as_completed(futures, loop=client.loop):
                yield by_key[future.key], future.result
        finally:
            client.cancel(futures)
    finally:
        if owned:
            client.close()
