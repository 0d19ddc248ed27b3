"""Cost of one training cycle: the engine vs a bare torch loop doing the minimal same work.

Default student, batch 32 x 16 new tokens (4 prompts x 8 responses, as an engine step). The bare
loop is the floor: same model and batch, one generate and one update (teacher-forced pass,
REINFORCE loss, Adam step), no evaluators, no records. Both are timed in the same process, interleaved in blocks, and we report medians.
Targets (issue 2): <= 12 ms per cycle, engine within 1.2x of the bare loop.

    python benchmarks/bench_cycle.py [--cycles 300] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from scalarscope.engine import DEFAULT_PROMPTS, EngineConfig, ScalarScopeEngine
from scalarscope.student import default_student


def bare_loop(batch: int, new_tokens: int):
    """The minimal cycle: generate, one policy-gradient update. Returns a step function."""
    model = default_student(seed=0)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    # the same batch as an engine step: its default 4 prompts, 8 responses each
    prompt = [model.tokenizer.encode(p) for p in DEFAULT_PROMPTS[:4]]
    row_prompt = np.repeat(np.arange(4), batch // 4)
    limits = np.full(batch, new_tokens)
    generator = torch.Generator().manual_seed(0)

    def step() -> int:
        with torch.no_grad():  # prompts encoded once, as the engine does
            states = model.encode_prompts(prompt)
        gen = model.generate(prompt, row_prompt, limits, generator=generator, prompt_states=states)
        logits, _ = model.forward_responses(states, row_prompt, gen.tokens)
        log_probs = torch.log_softmax(logits, -1).gather(-1, torch.from_numpy(gen.tokens)[..., None])[..., 0]
        advantage = torch.randn(batch, 1, generator=generator)
        loss = -(log_probs * advantage).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return int(gen.used.sum())

    return step


def time_block(step, n: int) -> tuple[float, int]:
    tokens = 0
    start = time.perf_counter()
    for _ in range(n):
        tokens += step()
    return (time.perf_counter() - start) / n, tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=300, help="cycles timed per contender")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for both (the engine default is 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    batch, new_tokens = 32, 16
    config = EngineConfig(batch_size=batch, max_new_tokens=new_tokens, torch_threads=args.threads)
    engine = ScalarScopeEngine(seed=0, config=config)
    bare = bare_loop(batch, new_tokens)

    def engine_step() -> int:
        return engine.step().metrics.tokens_used

    for _ in range(20):  # warm up both
        engine_step()
        bare()
    block = 25
    engine_times, bare_times, engine_tokens, bare_tokens = [], [], 0, 0
    for _ in range(args.cycles // block):
        t, n = time_block(engine_step, block)
        engine_times.append(t)
        engine_tokens += n
        t, n = time_block(bare, block)
        bare_times.append(t)
        bare_tokens += n
    e_ms, b_ms = 1000 * statistics.median(engine_times), 1000 * statistics.median(bare_times)
    e_tps = engine_tokens / (sum(engine_times) * block)
    b_tps = bare_tokens / (sum(bare_times) * block)
    print(f"torch threads: {torch.get_num_threads()}, batch {batch} x {new_tokens} new tokens, "
          f"{len(engine_times) * block} cycles each (median of {block}-cycle blocks)")
    print(f"{'':<12}{'ms/cycle':>10}{'tokens/s':>12}")
    print(f"{'engine':<12}{e_ms:>10.2f}{e_tps:>12.0f}")
    print(f"{'bare loop':<12}{b_ms:>10.2f}{b_tps:>12.0f}")
    print(f"engine / bare loop: {e_ms / b_ms:.2f}x  (target <= 1.2x; engine target <= 12 ms)")


if __name__ == "__main__":
    main()
