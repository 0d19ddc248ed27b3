"""Cost of one training cycle: the engine vs bare torch loops doing the same learning.

Default student, batch 32 x 16 new tokens (4 prompts x 8 responses, as an engine step). Three
contenders, timed in one process, interleaved in 25-cycle blocks, medians reported:

- engine: ``ScalarScopeEngine.step()`` on the default world (governor, probes, critic, geometry,
  automatic transfer measurement, records: everything on, as shipped).
- bare loop: the same work written as one straight loop: same model, batch and evaluators, one
  generate, the scores, one update with the engine's losses (its off-policy probes included), no
  governor, critic, geometry, transfer measurement, records or threads. The issue's 1.2x target
  compares the engine with this: what the engine costs on top of the learning itself.
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
import statistics
import time

import numpy as np
import torch

from scalarscope.engine import DEFAULT_PROMPTS, EngineConfig, ScalarScopeEngine, _update
from scalarscope.evaluators import correlated_evaluators
from scalarscope.evaluators.base import score_responses
from scalarscope.evaluators.scalar_head import head_loss
from scalarscope.student import default_student


def bare_loop(batch: int, new_tokens: int, *, evaluators=None, config: EngineConfig | None = None):
    """A bare torch loop: no governor, critic, geometry, transfer, records, threads. Returns a step function.

    With ``evaluators``: the same work as an engine cycle, in a row: encode, generate, score, draw
    and score the off-policy probes, read them, one update with the engine's losses (REINFORCE on
    token feedback with the entropy bonus, the scalar head's token and sequence regression on the
    responses and the probes), clipping, Adam. Without: the floor, generate and one REINFORCE step
    on random advantages, no scores at all.
    """
    cfg = config or EngineConfig()
    model = default_student(seed=0)
    if evaluators is not None:
        model.set_num_heads(len(evaluators))
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate, fused=True)  # the engine's optimiser
    # the same batch as an engine step: 4 prompts, 8 responses each
    prompts = list(DEFAULT_PROMPTS[:4])
    prompt_ids = [model.tokenizer.encode(p) for p in prompts]
    row_prompt = np.repeat(np.arange(4), batch // 4)
    limits = np.full(batch, new_tokens)
    generator = torch.Generator().manual_seed(0)
    rng = np.random.default_rng(0)
    everyone = np.arange(len(evaluators or ()))

    def score(rows, ids, lengths):
        return score_responses(evaluators, [prompts[p] for p in rows], model.tokenizer.decode_batch(ids, lengths),
                               prompt_ids=[prompt_ids[p] for p in rows], response_ids=ids, lengths=lengths)

    def step() -> int:
        with torch.no_grad():  # prompts encoded once, as the engine does
            states = model.encode_prompts(prompt_ids)
        gen = model.generate(prompt_ids, row_prompt, limits, temperature=cfg.temperature, generator=generator,
                             prompt_states=states)
        if evaluators is None:
            logits, _ = model.forward_responses(states, row_prompt, gen.tokens)
            log_probs = torch.log_softmax(logits, -1).gather(-1, torch.from_numpy(gen.tokens)[..., None])[..., 0]
            loss = -(log_probs * torch.randn(batch, 1, generator=generator)).mean()
        else:
            table = score(row_prompt, gen.tokens, gen.lengths)
            probe_ids = model.tokenizer.sample_probes(cfg.probe_batch, cfg.probe_length, rng)
            probe_rows = rng.integers(len(prompts), size=cfg.probe_batch)
            probe_lengths = np.full(cfg.probe_batch, cfg.probe_length)
            probe_table = score(probe_rows, probe_ids, probe_lengths)
            _, kept = model.read_probes(states, probe_rows, probe_ids, keep_from=0)
            logits, values = model.forward_responses(states, row_prompt, gen.tokens)
            width = max(gen.tokens.shape[1], cfg.probe_length)
            values = torch.cat([_update.pad_values(values, width),
                                _update.pad_values(model.probe_values(states, probe_rows, kept, probe_ids), width)])
            rewards = _update.token_rewards(table, everyone, gen.lengths, gen.tokens.shape[1])
            policy, entropy = _update.policy_loss(logits, gen.tokens, gen.used, rewards)
            head = head_loss(values, np.concatenate([gen.lengths, probe_lengths]),
                             np.concatenate([table.sequence, probe_table.sequence]),
                             np.concatenate([_update.pad_to3(table.tokens, width), _update.pad_to3(probe_table.tokens, width)]),
                             table.has_tokens, np.concatenate([table.valid, probe_table.valid]))
            loss = policy - cfg.entropy_weight * entropy + cfg.head_weight * head
        optimizer.zero_grad()
        loss.backward()
        if evaluators is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip, foreach=True)
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
    parser.add_argument("--cycles", type=int, default=600, help="cycles timed per contender (24 interleaved blocks)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for all (the engine default is 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    batch, new_tokens = 32, 16
    config = EngineConfig(batch_size=batch, max_new_tokens=new_tokens, torch_threads=args.threads)
    engine = ScalarScopeEngine(seed=0, config=config)  # the default world: 5 evaluators, no holdout
    inline = ScalarScopeEngine(seed=0, config=config.replace(concurrent_judges=False))
    contenders = {
        "engine": lambda: engine.step().metrics.tokens_used,
        "judges then": lambda: inline.step().metrics.tokens_used,
        "bare loop": bare_loop(batch, new_tokens, evaluators=correlated_evaluators(5, 0.5, seed=0)),
        "bare floor": bare_loop(batch, new_tokens),
    }
    for _ in range(20):  # warm up all
        for step in contenders.values():
            step()
    block = 25
    times = {name: [] for name in contenders}
    tokens = dict.fromkeys(contenders, 0)
    for _ in range(args.cycles // block):  # interleaved blocks: drifts in machine speed hit all alike
        for name, step in contenders.items():
            t, n = time_block(step, block)
            times[name].append(t)
            tokens[name] += n
    ms = {name: 1000 * statistics.median(t) for name, t in times.items()}
    print(f"torch threads: {torch.get_num_threads()}, batch {batch} x {new_tokens} new tokens, "
          f"{len(times['engine']) * block} cycles each (median of {block}-cycle blocks)")
    print(f"{'':<12}{'ms/cycle':>10}{'tokens/s':>12}{'engine / this':>15}")
    for name in contenders:
        tps = tokens[name] / (sum(times[name]) * block)
        print(f"{name:<12}{ms[name]:>10.2f}{tps:>12.0f}{ms['engine'] / ms[name]:>14.2f}x")
    print(f"targets: engine <= 12 ms per cycle; engine / bare loop <= 1.2x "
          f"(measured {ms['engine']:.2f} ms and {ms['engine'] / ms['bare loop']:.2f}x)")


if __name__ == "__main__":
    main()
