"""Cost of one training cycle with the tiny GPT-2 student: the engine vs a bare loop.

Batch 32 x 16 new tokens (4 prompts x 8 responses, as an engine step), the default world's five
synthetic evaluators. Two contenders on the same model architecture and seed, timed in one
process, interleaved in blocks, medians reported:

- engine: ``ScalarScopeEngine(model=tiny_gpt2(0)).step()``, everything on as shipped (governor,
  state probe, off-policy probes, critic, geometry, automatic transfer measurement, records).
- bare loop: the same learning as one straight loop: KV-cache generation (the student's own
  ``generate``), the evaluators' scores, the off-policy probes scored, one teacher-forced pass over
  responses and probes, REINFORCE with per-token advantages and the entropy bonus, the scalar
  head's regression, clipping, Adam. Nothing else.

Target (issue 11): engine <= 1.3x the bare loop, with the engine's default thread settings.

    python benchmarks/bench_hf_cycle.py [--cycles 120] [--device cpu|cuda] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from scalarscope.engine import DEFAULT_PROMPTS, EngineConfig, ScalarScopeEngine, _update
from scalarscope.evaluators import correlated_evaluators
from scalarscope.evaluators.base import score_responses
from scalarscope.evaluators.scalar_head import head_loss
from scalarscope.student import tiny_gpt2


def bare_loop(config: EngineConfig, device: str):
    """The bare loop's step function (returns tokens generated)."""
    evaluators = correlated_evaluators(5, 0.5, seed=0)
    model = tiny_gpt2(seed=0, device=device, n_heads=len(evaluators))
    optimizer = _update.adam(model.parameters(), config.learning_rate)
    prompts = list(DEFAULT_PROMPTS[:4])
    prompt_ids = [model.tokenizer.encode(p) for p in prompts]
    batch = config.batch_size
    row_prompt = np.repeat(np.arange(4), batch // 4)
    limits = np.full(batch, config.max_new_tokens)
    generator = torch.Generator(device=device).manual_seed(0)
    rng = np.random.default_rng(0)
    everyone = np.arange(len(evaluators))
    pad = model.tokenizer.pad_id

    def score(rows, ids, lengths):
        return score_responses(evaluators, [prompts[p] for p in rows], model.tokenizer.decode_batch(ids, lengths),
                               prompt_ids=[prompt_ids[p] for p in rows], response_ids=ids, lengths=lengths)

    def step() -> int:
        gen = model.generate(prompt_ids, row_prompt, limits, temperature=config.temperature, generator=generator)
        table = score(row_prompt, gen.tokens, gen.lengths)
        probe_ids = model.tokenizer.sample_probes(config.probe_batch, config.probe_length, rng)
        probe_rows = rng.integers(len(prompts), size=config.probe_batch)
        probe_lengths = np.full(config.probe_batch, config.probe_length)
        probe_table = score(probe_rows, probe_ids, probe_lengths)
        width = max(gen.tokens.shape[1], config.probe_length)
        tokens = np.full((batch + config.probe_batch, width), pad)
        tokens[:batch, :gen.tokens.shape[1]] = gen.tokens
        tokens[batch:, :config.probe_length] = probe_ids
        logits, values = model.forward(prompt_ids, np.concatenate([row_prompt, probe_rows]), tokens)
        rewards = _update.token_rewards(table, everyone, gen.lengths, gen.tokens.shape[1])
        policy, entropy = _update.policy_loss(logits[:batch, :gen.tokens.shape[1]], gen.tokens, gen.used, rewards)
        targets = _update.head_targets(table, probe_table, everyone, gen.lengths, config.probe_length, width)
        loss = policy - config.entropy_weight * entropy + config.head_weight * head_loss(values, *targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        _update.clip_gradients(model.parameters(), config.grad_clip)
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
    parser.add_argument("--cycles", type=int, default=120, help="cycles timed per contender (interleaved blocks)")
    parser.add_argument("--device", default="cpu", help="cpu, or cuda on a GPU machine")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads for both (default: the engine's default config, which sets 1)")
    args = parser.parse_args()
    config = EngineConfig() if args.threads is None else EngineConfig(torch_threads=args.threads)
    threads = config.torch_threads
    engine = ScalarScopeEngine(model=tiny_gpt2(seed=0, device=args.device), seed=0, config=config)
    bare = bare_loop(config, args.device)

    def bare_step():  # the same thread setting as the engine's cycle
        previous = torch.get_num_threads()
        torch.set_num_threads(threads or previous)
        try:
            return bare()
        finally:
            torch.set_num_threads(previous)

    contenders = {"engine": lambda: engine.step().metrics.tokens_used, "bare loop": bare_step}
    for _ in range(5):  # warm up both
        for step in contenders.values():
            step()
    block = 10
    times = {name: [] for name in contenders}
    tokens = dict.fromkeys(contenders, 0)
    for _ in range(max(args.cycles // block, 1)):
        for name, step in contenders.items():
            t, n = time_block(step, block)
            times[name].append(t)
            tokens[name] += n
    ms = {name: 1000 * statistics.median(t) for name, t in times.items()}
    print(f"tiny GPT-2 student on {args.device}, torch threads in a cycle: {threads or torch.get_num_threads()}, "
          f"batch {config.batch_size} x {config.max_new_tokens} new tokens, {len(times['engine']) * block} cycles "
          f"each (median of {block}-cycle blocks)")
    print(f"{'':<12}{'ms/cycle':>10}{'tokens/s':>12}{'engine / this':>15}")
    for name in contenders:
        tps = tokens[name] / (sum(times[name]) * block)
        print(f"{name:<12}{ms[name]:>10.2f}{tps:>12.0f}{ms['engine'] / ms[name]:>14.2f}x")
    print(f"target: engine / bare loop <= 1.3x (measured {ms['engine'] / ms['bare loop']:.2f}x)")


if __name__ == "__main__":
    main()
