"""The local process pool of ``sweep`` and ``compare_targeting``: joblib's loky executor.
(``goodhart`` runs on the same loky backend through ``joblib.Parallel``, with its own workers;
``context_study`` runs in the calling process.)

Loky starts each worker as a fresh interpreter that never re-runs the caller's ``__main__``, so a
sweep works from a script without an ``if __name__ == "__main__":`` guard, from ``python - <
script.py``, from ``python -c``, from a notebook and from the CLI alike (a ``fork``-, ``spawn``- or
``forkserver``-based pool needs the guard or a real file). Workers never inherit a forked, threaded
torch. The executor is reused across calls of one Python session, so the second sweep does not pay
the workers' start (importing torch) again; after editing the library, restart the kernel (or the
process) so that the workers see the edit. Workers start with this process's ``sys.path`` (a new
pool is started when it changed), so a world registered in a module found through ``sys.path``
is importable there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, as_completed
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import Executor

T = TypeVar("T")

IDLE_SECONDS = 300  # idle workers exit after this long; the next call starts new ones


def _use_path(path: tuple[str, ...]) -> None:
    """Worker initializer: the caller's ``sys.path`` entries first, in its order."""
    import sys

    sys.path[:0] = [p for p in path if p not in sys.path]


def local_executor(n_jobs: int) -> Executor:
    """A loky process executor with ``n_jobs`` workers (reused while its size and the caller's
    ``sys.path`` stay the same).

    joblib's own memmapping flavour of loky's reusable executor: ``joblib.Parallel(backend="loky")``
    reuses the process-wide executor and needs that flavour, so a plain loky executor made here
    first made a later ``Parallel`` call in the same process fail."""
    import sys

    from joblib.executor import get_memmapping_executor

    return get_memmapping_executor(n_jobs, timeout=IDLE_SECONDS, initializer=_use_path,
                                   initargs=(tuple(sys.path),))


def map_unordered(function: Callable[[T], object], items: Iterable[T], n_jobs: int
                  ) -> Iterator[tuple[T, Callable[[], object]]]:
    """Run ``function(item)`` for every item in ``n_jobs`` processes; yield (item, result getter)
    pairs as runs finish. ``function`` must be importable (a module-level function of plain values).

    Leaving the loop early (an error, Ctrl-C) cancels the runs not yet started; an interrupt also
    stops the workers, so a notebook's "interrupt kernel" stops the sweep.
    """
    executor = local_executor(n_jobs)
    futures: dict[Future, T] = {executor.submit(function, item): item for item in items}
    try:
        for future in as_completed(futures):
            yield futures[future], future.result
    except KeyboardInterrupt:
        executor.shutdown(wait=False, kill_workers=True)
        raise
    finally:
        for future in futures:
            future.cancel()
