"""Cost of one training cycle: the engine vs bare torch loops doing the same learning.

Default student, batch 32 x 16 new tokens (4 prompts x 8 responses, as an engine step). Three
contenders, timed in one process, interleaved in 25-cycle blocks, medians reported:

- engine: ``ScalarScopeEngine.step()`` on the default world (governor, probes, critic, geometry,
  automatic transfer measurement, records: everything on, as shipped).
- bare loop: the same learning written as one straight loop from torch and the student's public
  methods only (``benchmarks/_bare.py``: ``generate``, one teacher-forced ``forward`` over the
  responses and the off-policy probes, its own REINFORCE, head regression, clipping and Adam); no
  governor, critic, geometry, transfer measurement, records or threads, and no part of the engine.
  The issue's 1.2x target compares the engine with this: what the engine costs on top of the
  learning itself. Both contenders' mean judge score over their first and last blocks is printed
  to show they learn alike.
- engine, judges then student: the engine with ``concurrent_judges=False`` (the evaluators score
  before the teacher-forced pass instead of beside it), to show what scoring concurrently buys.
- bare floor: one generate and one REINFORCE step on random advantages, no evaluators, no head
  loss. Printed so the cost of the learning's own parts (scoring, head regression, probes, entropy
  bonus, clipping) is visible too.

Targets (issue 2): <= 12 ms per cycle, engine within 1.2x of the bare loop.

    python benchmarks/bench_cycle.py [--cycles 600] [--threads N]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from _bare import bare_step, floor_step
from _timing import interleaved, print_table

from scalarscope.engine import EngineConfig, ScalarScopeEngine
from scalarscope.evaluators import correlated_evaluators
from scalarscope.student import default_student


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=600, help="cycles timed per contender (24 interleaved blocks)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for all (the engine default is 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    batch, new_tokens = 32, 16
    config = EngineConfig(batch_size=batch, max_new_tokens=new_tokens, torch_threads=args.threads)
    engine = ScalarScopeEngine(seed=0, config=config)  # the default world: 5 evaluators, no holdout
    engine_scores = []

    def engine_step() -> int:
        record = engine.step()
        engine_scores.append(record.metrics.mean_score)
        return record.metrics.tokens_used

    bare = bare_step(default_student(seed=0), correlated_evaluators(5, 0.5, seed=0), config)
    inline = ScalarScopeEngine(seed=0, config=config.replace(concurrent_judges=False))
    contenders = {"engine": engine_step, "judges then": lambda: inline.step().metrics.tokens_used, "bare loop": bare,
                  "bare floor": floor_step(default_student(seed=0), config)}
    block = 25
    ms, tps, timed = interleaved(contenders, cycles=args.cycles, block=block, warmup=20)
    print(f"torch threads: {torch.get_num_threads()}, batch {batch} x {new_tokens} new tokens, "
          f"{timed} cycles each (median of {block}-cycle blocks)")
    print_table(ms, tps)
    print(f"mean judge score, first / last {block} cycles: engine {np.mean(engine_scores[:block]):.3f} / "
          f"{np.mean(engine_scores[-block:]):.3f}, bare loop {np.mean(bare.scores[:block]):.3f} / "
          f"{np.mean(bare.scores[-block:]):.3f}")
    print(f"targets: engine <= 12 ms per cycle; engine / bare loop <= 1.2x "
          f"(measured {ms['engine']:.2f} ms and {ms['engine'] / ms['bare loop']:.2f}x)")


if __name__ == "__main__":
    main()
