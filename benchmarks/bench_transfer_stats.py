"""Cost of a transfer measurement's uncertainty: the bootstrap interval, the permutation null and
the cross-validated best linear ceiling, on the automatic measurement's probe count (256) and on
the final one's (2,000), next to the cost of a default-world cycle.

    python benchmarks/bench_transfer_stats.py [--repeats 20]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from scalarscope.engine import transfer_stats


def stats_ms(n: int, repeats: int) -> float:
    """Median milliseconds of interval + null + best ceiling on ``n`` correlated probes."""
    rng = np.random.default_rng(0)
    truth = rng.normal(size=(n, 4))
    held = truth.mean(1) + rng.normal(size=n)
    aggregate = truth.mean(1) + 0.1 * rng.normal(size=n)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        transfer_stats.bootstrap_interval(aggregate, held, rng)
        transfer_stats.permutation_p(aggregate, held, rng)
        transfer_stats.best_linear_ceiling(truth, held)
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def cycle_ms(cycles: int) -> float:
    from scalarscope.engine import EngineConfig, ScalarScopeEngine

    engine = ScalarScopeEngine(seed=0, config=EngineConfig(transfer_every=0))
    engine.run(5, progress=False)
    start = time.perf_counter()
    engine.run(cycles, progress=False)
    return 1000 * (time.perf_counter() - start) / cycles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    for n in (256, 2000):
        print(f"interval + null + best ceiling on {n} probes: {stats_ms(n, args.repeats):.2f} ms (median)")
    print(f"one default-world cycle (no transfer): {cycle_ms(25):.1f} ms")


if __name__ == "__main__":
    main()
