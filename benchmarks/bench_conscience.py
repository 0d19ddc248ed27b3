"""Cost of steering by the conscience: one cycle under each reward source, and the whole Goodhart study.

1. Cycle: two engines of the default world (seed 0), both warmed up 30 cycles on the evaluators,
   one then switched to ``reward_source="conscience"``; ``step()`` timed in interleaved 25-cycle
   blocks, medians reported. Target (issue 12): a conscience cycle costs at most an evaluator cycle.
2. Study (``--study``): ``scalarscope.goodhart`` at 2 overlaps x 5 seeds x (warmup + 600) cycles on
   the local cores. Target: at most 5 minutes on 2 cores.

    python benchmarks/bench_conscience.py [--cycles 400] [--study] [--jobs 2]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from scalarscope.engine import EngineConfig, ScalarScopeEngine


def cycle_costs(cycles: int) -> dict[str, float]:
    engines = {}
    for source in ("evaluators", "conscience"):
        engine = ScalarScopeEngine(seed=0, config=EngineConfig())
        engine.run(30, progress=False)
        engine.reward_source = source
        engines[source] = engine
    block, times = 25, {source: [] for source in engines}
    for _ in range(cycles // block):
        for source, engine in engines.items():
            start = time.perf_counter()
            for _ in range(block):
                engine.step()
            times[source].append((time.perf_counter() - start) / block)
    return {source: 1000 * statistics.median(t) for source, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=400, help="cycles timed per reward source")
    parser.add_argument("--study", action="store_true", help="also time the full study")
    parser.add_argument("--jobs", type=int, default=2, help="study processes")
    parser.add_argument("--cycles-after", type=int, default=600, help="study: conscience cycles per run")
    args = parser.parse_args()
    torch.set_num_threads(1)
    ms = cycle_costs(args.cycles)
    print(f"ms per cycle (median of 25-cycle blocks, {args.cycles} cycles each): evaluators {ms['evaluators']:.2f}, "
          f"conscience {ms['conscience']:.2f}; conscience / evaluators = {ms['conscience'] / ms['evaluators']:.2f} "
          "(target <= 1)")
    if args.study:
        from scalarscope.sweeps.goodhart_study import WARMUP, goodhart

        start = time.perf_counter()
        df = goodhart(overlaps=[0.0, 0.87], seeds=5, cycles=args.cycles_after, n_jobs=args.jobs, progress=False)
        wall = time.perf_counter() - start
        print(f"study: 2 overlaps x 5 seeds x ({WARMUP} + {args.cycles_after}) cycles, {len(df)} rows, "
              f"{args.jobs} processes: {wall:.0f} s (target <= 300 s)")


if __name__ == "__main__":
    main()
