"""Benchmark the geometry export and the per-cycle tracker; prints a table.

    python benchmarks/bench_geometry.py            # everything, including the naive reference (~10 s+)
    python benchmarks/bench_geometry.py --quick    # skip the naive reference exporter

Targets (issue 4): export 10,000 steps x 55 dims <= 0.3 s, 50,000 steps <= 2 s; tracker update at
cycle 10,000 within 1.5x of cycle 100. BLAS is pinned to one thread by default (``--threads``) so the
figures do not depend on what else the machine is running; wall and CPU time are both shown.
"""

from __future__ import annotations

import argparse
import os
import sys


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="skip the naive per-timestep reference exporter")
    parser.add_argument("--threads", default="1", help="BLAS threads (default 1)")
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs for each export")
    return parser.parse_args()


ARGS = _parse() if __name__ == "__main__" else argparse.Namespace(quick=True, threads="1", repeat=1)
for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, ARGS.threads)

import json  # noqa: E402
import math  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from scalarscope.export import Professor, RunGeometry, validate_geometry, write_geometry  # noqa: E402
from scalarscope.geometry import GeometryTracker  # noqa: E402

DIM = 55


def synthetic_run(n: int, seed: int = 0) -> RunGeometry:
    """A random-walk run of n cycles with a 55-dim state (numbers only; no model is needed here)."""
    rng = np.random.default_rng(seed)
    return RunGeometry(
        run_id=f"bench-{n}", condition="benchmark", seed=seed, training_items=n, cycles=n,
        states=np.cumsum(rng.standard_normal((n, DIM)), axis=0), scalars=rng.random((n, 5)),
        eigenvalues=rng.random((n, 5)),
        professors=tuple(Professor(f"p{i}", rng.standard_normal(2) / 2, i == 4) for i in range(5)),
    )  # fmt: skip


def time_export(n: int, directory: Path) -> tuple[float, float, int]:
    """(best wall s, its CPU s, file bytes) of write_geometry over ARGS.repeat runs."""
    run = synthetic_run(n)
    best = (math.inf, math.inf)
    path = directory / f"bench_{n}.json"
    for _ in range(ARGS.repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        write_geometry(run, path)
        best = min(best, (time.perf_counter() - wall, time.process_time() - cpu))
    assert validate_geometry(path) == [], "benchmark export is not valid"
    return best[0], best[1], path.stat().st_size


def naive_export(run: RunGeometry, path: Path, window: int = 20) -> bool:
    """The original project's approach: per timestep, a covariance, eigenvalues and dicts in Python.

    Returns whether it wrote a NaN token (which the viewer rejects).
    """
    states = np.asarray(run.states)
    mean = states.mean(axis=0)
    _, _, vt = np.linalg.svd(states - mean, full_matrices=False)
    timesteps = []
    for i in range(len(states)):
        block = states[max(0, i - window + 1) : i + 1]
        if len(block) < 2:  # the original divided 0 by 0 here and wrote NaN
            effective_dim = float("nan")
        else:
            eigenvalues = np.linalg.eigvalsh(np.cov(block, rowvar=False))
            effective_dim = float(eigenvalues.sum() ** 2 / (eigenvalues**2).sum())
        xy = (states[i] - mean) @ vt[:2].T
        previous = (states[i - 1] - mean) @ vt[:2].T if i else xy
        velocity = xy - previous
        timesteps.append({"t": i / (len(states) - 1), "state_2d": xy.tolist(), "velocity": velocity.tolist(),
                          "curvature": 0.0, "effective_dim": effective_dim})  # fmt: skip
    text = json.dumps({"trajectory": {"timesteps": timesteps}}, indent=2)
    path.write_text(text)
    return "NaN" in text


def tracker_costs(cycles: int = 10_100, window: int = 20) -> tuple[float, float]:
    """Median seconds of one GeometryTracker.update over cycles 100-199 and 10,000-10,099."""
    states = np.cumsum(np.random.default_rng(1).standard_normal((cycles, DIM)), axis=0)
    tracker = GeometryTracker(window=window)
    costs = np.empty(cycles)
    for cycle, state in enumerate(states):
        start = time.perf_counter()
        tracker.update(state)
        costs[cycle] = time.perf_counter() - start
    return float(np.median(costs[100:200])), float(np.median(costs[10_000:10_100]))


def main() -> None:
    rows = []
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        for n, target in ((10_000, 0.3), (50_000, 2.0)):
            wall, cpu, size = time_export(n, directory)
            rows.append((f"write_geometry {n:,} x {DIM}", f"{wall:.3f} s", f"{cpu:.3f} s", f"<= {target} s",
                         "ok" if wall <= target else "SLOW", f"{size / 2**20:.1f} MiB"))  # fmt: skip
        early, late = tracker_costs()
        ratio = late / early
        rows.append(("tracker.update @ cycle 100", f"{early * 1e6:.1f} us", "", "", "", ""))
        rows.append(("tracker.update @ cycle 10,000", f"{late * 1e6:.1f} us", "", "", "", ""))
        rows.append(("  ratio 10,000 / 100", f"{ratio:.2f}x", "", "<= 1.5x", "ok" if ratio <= 1.5 else "SLOW", ""))
        if not ARGS.quick:
            path = directory / "naive.json"
            wall, cpu = time.perf_counter(), time.process_time()
            wrote_nan = naive_export(synthetic_run(10_000), path)
            rows.append((f"naive per-step exporter 10,000 x {DIM}", f"{time.perf_counter() - wall:.3f} s",
                         f"{time.process_time() - cpu:.3f} s", "(reference)",
                         "writes NaN" if wrote_nan else "", f"{path.stat().st_size / 2**20:.1f} MiB"))  # fmt: skip
    header = ("measure", "wall", "cpu", "target", "", "size")
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    print(f"BLAS threads: {os.environ['OPENBLAS_NUM_THREADS']}, load average at start: {load:.2f}, numpy {np.__version__}")
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


if __name__ == "__main__":
    main()
