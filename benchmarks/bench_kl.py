"""What measuring KL every cycle costs: the engine as shipped against the same engine whose reference
pass is replaced by a stored tensor, in one process, interleaved 25-cycle blocks, medians.

The reference pass (the frozen copy's teacher-forced ``forward``) runs on the probe worker thread
while this thread runs the update's forward and backward passes; with the penalty off, the KL is
read after the backward pass, so on a machine with a free core the pass is hidden. The difference
printed here is what it still costs; ``bench_cycle.py`` gives the engine / bare-loop ratio.

    python benchmarks/bench_kl.py [--cycles 400]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import scalarscope.engine.loop as loop
from scalarscope.engine import EngineConfig, ScalarScopeEngine
from scalarscope.engine.kl import reference_logits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=400)
    args = parser.parse_args()
    torch.set_num_threads(1)
    measured = ScalarScopeEngine(seed=0, config=EngineConfig())
    stubbed = ScalarScopeEngine(seed=0, config=EngineConfig())
    stored: dict[tuple, torch.Tensor] = {}

    def dispatch(reference, prompt_ids, row_prompt, response_ids):
        if reference is not stubbed.reference:
            return reference_logits(reference, prompt_ids, row_prompt, response_ids)
        shape = response_ids.shape
        if shape not in stored:
            stored[shape] = torch.zeros(*shape, stubbed.tokenizer.vocab_size)
        return stored[shape]

    loop.reference_logits = dispatch
    engines = {"KL measured": measured, "reference pass stubbed": stubbed}
    for engine in engines.values():
        engine.run(20, progress=False)
    block, times = 25, {name: [] for name in engines}
    for _ in range(args.cycles // block):
        for name, engine in engines.items():
            start = time.perf_counter()
            for _ in range(block):
                engine.step()
            times[name].append((time.perf_counter() - start) / block)
    ms = {name: 1000 * statistics.median(t) for name, t in times.items()}
    extra = ms["KL measured"] - ms["reference pass stubbed"]
    print(f"ms per cycle (median of {block}-cycle blocks, {args.cycles} cycles each): "
          + ", ".join(f"{name} {value:.2f}" for name, value in ms.items())
          + f"; the reference pass costs {extra:+.2f} ms ({100 * extra / ms['reference pass stubbed']:+.1f} %)")


if __name__ == "__main__":
    main()
