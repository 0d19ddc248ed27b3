"""Cost of one training cycle with the tiny GPT-2 student: the engine vs a bare loop.

Batch 32 x 16 new tokens (4 prompts x 8 responses, as an engine step), the default world's five
synthetic evaluators. Two contenders on the same model architecture and seed, timed in one
process, interleaved in blocks, medians reported:

- engine: ``ScalarScopeEngine(model=tiny_gpt2(0)).step()``, everything on as shipped (governor,
  state probe, off-policy probes, critic, geometry, automatic transfer measurement, records).
- bare loop: the same learning as one straight loop, written from torch and the student's public
  methods only (``benchmarks/_bare.py``): KV-cache generation (the student's own ``generate``),
  the evaluators' scores, the off-policy probes scored, one teacher-forced ``forward`` over
  responses and probes, its own REINFORCE with per-token advantages and the entropy bonus, the
  scalar head's regression, clipping, Adam. No part of the engine, nothing else. Both contenders'
  mean judge score over their first and last blocks is printed to show they learn alike.

Target (issue 18): engine <= 1.15x the bare loop, with the engine's default thread settings.

    python benchmarks/bench_hf_cycle.py [--cycles 120] [--device cpu|cuda] [--threads N]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from _bare import bare_step
from _timing import interleaved, print_table

from scalarscope.engine import EngineConfig, ScalarScopeEngine
from scalarscope.evaluators import correlated_evaluators
from scalarscope.student import tiny_gpt2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=120, help="cycles timed per contender (interleaved blocks)")
    parser.add_argument("--device", default="cpu", help="cpu, or cuda on a GPU machine")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads for both (default: the engine's default config, which sets 1)")
    args = parser.parse_args()
    config = EngineConfig() if args.threads is None else EngineConfig(torch_threads=args.threads)
    threads = config.torch_threads
    engine = ScalarScopeEngine(model=tiny_gpt2(seed=0, device=args.device), seed=0, config=config)
    bare = bare_step(tiny_gpt2(seed=0, device=args.device), correlated_evaluators(5, 0.5, seed=0), config)
    engine_scores = []

    def engine_step() -> int:
        record = engine.step()
        engine_scores.append(record.metrics.mean_score)
        return record.metrics.tokens_used

    def bare_threaded():  # the same thread setting as the engine's cycle
        previous = torch.get_num_threads()
        torch.set_num_threads(threads or previous)
        try:
            return bare()
        finally:
            torch.set_num_threads(previous)

    contenders = {"engine": engine_step, "bare loop": bare_threaded}
    block = 10
    ms, tps, timed = interleaved(contenders, cycles=args.cycles, block=block, warmup=5)
    print(f"tiny GPT-2 student on {args.device}, torch threads in a cycle: {threads or torch.get_num_threads()}, "
          f"batch {config.batch_size} x {config.max_new_tokens} new tokens, {timed} cycles "
          f"each (median of {block}-cycle blocks)")
    print_table(ms, tps)
    print(f"mean judge score, first / last {block} cycles: engine {np.mean(engine_scores[:block]):.3f} / "
          f"{np.mean(engine_scores[-block:]):.3f}, bare loop {np.mean(bare.scores[:block]):.3f} / "
          f"{np.mean(bare.scores[-block:]):.3f}")
    print(f"target: engine / bare loop <= 1.15x (measured {ms['engine'] / ms['bare loop']:.2f}x)")


if __name__ == "__main__":
    main()
