"""The English world's speed: `scalarscope run --world english --cycles N`, loading included.

Prints the seconds to build the world (corpus, cached pretrained student, judges, engine) and to
train ``--cycles`` cycles, seconds per cycle, and the time 300 cycles would take at that rate.
Target (issue 20): 300 cycles in at most 4 minutes on this 2-core machine, the student cached
(run ``scalarscope pretrain`` first; an uncached student is pretrained here, which is not timed as
a cycle but is part of the loading).

    python benchmarks/bench_english.py [--cycles 300] [--seed 0]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from scalarscope.worlds.english import train_english_world

    engine = train_english_world(cycles=args.cycles, seed=args.seed, holdout="vader", progress=False)
    per_cycle = engine.wall_seconds / max(args.cycles, 1)
    print(f"load {engine.load_seconds:.1f} s; {args.cycles} cycles {engine.wall_seconds:.1f} s "
          f"({per_cycle:.2f} s per cycle); 300 cycles at this rate with loading: "
          f"{engine.load_seconds + 300 * per_cycle:.0f} s (target 240 s)")


if __name__ == "__main__":
    main()
