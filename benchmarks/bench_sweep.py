"""Benchmark the sweep: 11 overlaps x 3 seeds x 300 cycles with n_jobs=2 against n_jobs=1.

    python benchmarks/bench_sweep.py            # the issue's size (minutes: runs it twice)
    python benchmarks/bench_sweep.py --quick    # 3 overlaps x 2 seeds x 60 cycles

Target (issue 3): the parallel sweep finishes in under 3 minutes on 2 cores. Prints wall time of
each, the speed-up, the summed per-run time (the work) and the CPU load average during the run,
since on a shared machine the figures depend on what else is running. The parallel sweep runs
first, so it also pays the one-time start of the loky workers (each imports torch once).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from scalarscope.sweeps import sweep

TARGET_SECONDS = 180.0


def _timed(n_jobs: int, overlaps, seeds: int, cycles: int) -> tuple[float, float, object]:
    start = time.perf_counter()
    df = sweep(overlaps=overlaps, seeds=seeds, cycles=cycles, holdout="rotate", n_jobs=n_jobs, progress=True)
    return time.perf_counter() - start, float(df["wall_seconds"].sum()), df


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    overlaps = (0.0, 0.5, 1.0) if args.quick else tuple(round(0.1 * i, 1) for i in range(11))
    seeds, cycles = (2, 60) if args.quick else (3, 300)
    print(f"sweep: {len(overlaps)} overlaps x {seeds} seeds x {cycles} cycles = {len(overlaps) * seeds} runs, "
          f"{os.cpu_count()} cores, load average before {os.getloadavg()[0]:.1f}")
    rows = []
    frames = {}
    for n_jobs in (2, 1):
        wall, work, frames[n_jobs] = _timed(n_jobs, overlaps, seeds, cycles)
        rows.append((n_jobs, wall, work, os.getloadavg()[0]))
    print(f"\n{'n_jobs':>6} {'wall s':>9} {'sum of run s':>13} {'load avg':>9}")
    for n_jobs, wall, work, load in rows:
        print(f"{n_jobs:>6} {wall:>9.1f} {work:>13.1f} {load:>9.1f}")
    parallel, serial = rows[0][1], rows[1][1]
    same = frames[1].drop(columns="wall_seconds").equals(frames[2].drop(columns="wall_seconds"))
    print(f"\nspeed-up n_jobs=2 over n_jobs=1: {serial / parallel:.2f}x")
    print(f"identical rows from both: {same}")
    if not args.quick:
        verdict = "within" if parallel < TARGET_SECONDS else "OVER"
        print(f"parallel sweep {parallel:.1f} s: {verdict} the {TARGET_SECONDS:.0f} s target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
