"""How fast bad input is refused, a hung judge is cut off and a long run's dimension is computed.

These were timing assertions in the unit tests (which now check only the behaviour); the targets
are printed next to the measured figures instead.

    python benchmarks/bench_checks.py
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from scalarscope.engine import EngineConfig, ScalarScopeEngine
from scalarscope.errors import ScalarScopeError
from scalarscope.evaluators import as_evaluator, correlated_evaluators
from scalarscope.evaluators.timeout import with_timeout
from scalarscope.export import load_geometry
from scalarscope.geometry import effective_dimension
from scalarscope.sweeps import sweep

SMALL = EngineConfig(batch_size=8, max_new_tokens=8, probe_batch=4, state_probe_size=8, transfer_every=0)


def seconds(call) -> float:
    """Wall seconds of ``call()``; a package error is the expected outcome and is swallowed."""
    start = time.perf_counter()
    try:
        call()
    except ScalarScopeError:
        pass
    return time.perf_counter() - start


def refusals() -> list[tuple[str, float, float]]:
    engine = ScalarScopeEngine(seed=0, config=SMALL)
    tiny = dict(overlaps=[0.5], seeds=[0, 1], cycles=6, holdout="rotate", transfer_probes=200, progress=False)
    return [
        ("correlated_evaluators(n=10_000) refused", seconds(lambda: correlated_evaluators(10_000, 0.5)), 1.0),
        ("correlated_evaluators(seed=1.5) refused", seconds(lambda: correlated_evaluators(3, 0.5, seed=1.5)), 1.0),
        ("holdout_transfer(10**9) refused", seconds(lambda: engine.holdout_transfer(10**9)), 1.0),
        ("sweep(seeds=0) refused", seconds(lambda: sweep(**tiny | {"seeds": 0})), 5.0),
        ("sweep(n_jobs=0) refused", seconds(lambda: sweep(**tiny | {"n_jobs": 0})), 5.0),
    ]


def odd_geometry_files() -> list[tuple[str, float, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "deep.json").write_text("[" * 100_000)
        (folder / "huge_int.json").write_text('{"schema_version": "1.0", "run_metadata": {"seed": '
                                              + "9" * 100_000 + "}}")
        (folder / "zero.json").symlink_to("/dev/zero")
        os.mkfifo(folder / "fifo.json")
        return [(f"load_geometry({name}) refused", seconds(lambda n=name: load_geometry(folder / n)), 5.0)
                for name in ("deep.json", "huge_int.json", "zero.json", "fifo.json")]


def hung_judge() -> tuple[str, float, float]:
    hang = threading.Event()

    def slow(prompt: str, response: str) -> float:
        if hang.is_set():
            hang.clear()
            time.sleep(30)
        return 0.5

    evaluators = [*correlated_evaluators(2, 0.5, seed=0), with_timeout(as_evaluator(slow), seconds=0.2)]
    engine = ScalarScopeEngine(evaluators=evaluators, seed=0, config=SMALL)
    hang.set()
    return "a cycle with a judge hung for 30 s (limit 0.2 s)", seconds(lambda: engine.run_cycle("hello")), 10.0


def unreachable_scheduler() -> tuple[str, float, float] | None:
    try:
        import distributed  # noqa: F401
    except ImportError:
        return None
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    call = lambda: sweep(overlaps=[0.5], seeds=[0], cycles=6, progress=False,  # noqa: E731
                         client=f"tcp://127.0.0.1:{port}", connect_timeout=2.0)
    return "sweep on an unreachable scheduler (timeout 2 s)", seconds(call), 8.0


def long_run_dimension() -> tuple[str, float, float]:
    states = np.random.default_rng(5).standard_normal((50_000, 55))
    return "effective_dimension of 50,000 x 55 states", seconds(lambda: effective_dimension(states, window=20)), 10.0


def main() -> None:
    rows = [*refusals(), *odd_geometry_files(), hung_judge(), unreachable_scheduler(), long_run_dimension()]
    print(f"{'what':<52}{'seconds':>9}{'target':>8}")
    for what, taken, target in (r for r in rows if r is not None):
        print(f"{what:<52}{taken:>9.3f}{'<= ' + format(target, 'g'):>8}{'' if taken <= target else '  OVER'}")


if __name__ == "__main__":
    main()
