"""Real judges inside a training cycle: their share of the cycle's time, MiniLM calls, cache hits.

Runs the real-judges world (tiny GPT-2 over common English words; MiniLM helpfulness and
relevance, VADER sentiment, wordfreq commonness) for ``--cycles`` cycles and prints:

- wall time: loading (world, judges, student, engine) and seconds per cycle;
- the judges' share of cycle time (every judge's ``score_batch`` timed through a thin proxy);
- MiniLM model calls and texts embedded per cycle (one call embeds a whole batch);
- each judge's score-cache hit rate;
- the training judges' mean score over the first and the last 20 cycles (the issue's target: a
  rise of at least 0.1 in 300 cycles), and a few responses from the start and the end.

Target (issue 13): 300 cycles with MiniLM among the judges in at most 3 minutes on 2 cores.

Then, side by side in one process (``--side-by-side`` cycles each, interleaved in blocks, medians):

- cycle: ``engine.step()`` as shipped, the judges scoring the responses on the judge worker while
  the student runs its teacher-forced pass (``EngineConfig.concurrent_judges``);
- cycle, judges then student: the same with ``concurrent_judges=False`` (the old order);
- judges alone: one batched call per judge on a fresh batch of the student's responses and the
  cycle's random probes, as a cycle scores them (the batch is sampled untimed, from the student's
  public ``generate``);
- student alone: the engine on the same world with constant judges of the same names (their cost
  is nil: what remains is the student's work and the engine's bookkeeping).

Target (issue 18): cycle <= 1.15 x max(judges alone, student alone).

    python benchmarks/bench_judges.py [--cycles 300] [--seed 0] [--side-by-side 60]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


class TimedJudge:
    """Forwards ``score_batch`` to a judge and adds up the seconds it took."""

    def __init__(self, judge):
        self.judge, self.name, self.seconds = judge, judge.name, 0.0

    def __call__(self, prompt, response):
        return self.score_batch([prompt], [response])[0]

    def score_batch(self, prompts, responses):
        start = time.perf_counter()
        try:
            return self.judge.score_batch(prompts, responses)
        finally:
            self.seconds += time.perf_counter() - start


class ConstantJudge:
    """A judge of the same name that costs nothing (for "student alone")."""

    def __init__(self, name):
        self.name = name

    def __call__(self, prompt, response):
        return 0.5

    def score_batch(self, prompts, responses):
        return [0.5] * len(responses)


def judges_alone(world, judges, seed: int):
    """A step that samples a fresh batch from its own student (untimed) and times one batched
    scoring of it and of the cycle's random probes by ``judges``, as a cycle does."""
    import numpy as np
    import torch

    from scalarscope.evaluators import score_responses

    cfg, student = world.config, world.student()
    tok = student.tokenizer
    prompt_ids = [tok.encode(p) for p in world.prompts]
    rng = np.random.default_rng([seed, 99])

    def step() -> float:
        rows = rng.integers(len(world.prompts), size=cfg.batch_size)
        gen = student.generate(prompt_ids, rows, np.full(cfg.batch_size, cfg.max_new_tokens),
                               temperature=cfg.temperature, generator=torch.Generator().manual_seed(int(rng.integers(2**62))))
        probe_ids = tok.sample_probes(cfg.probe_batch, cfg.probe_length, rng)
        probe_rows = rng.integers(len(world.prompts), size=cfg.probe_batch)
        width = max(gen.tokens.shape[1], cfg.probe_length)
        ids = np.full((cfg.batch_size + cfg.probe_batch, width), tok.pad_id)
        ids[:cfg.batch_size, :gen.tokens.shape[1]], ids[cfg.batch_size:, :cfg.probe_length] = gen.tokens, probe_ids
        lengths = np.concatenate([gen.lengths, np.full(cfg.probe_batch, cfg.probe_length)])
        all_rows = np.concatenate([rows, probe_rows])
        start = time.perf_counter()  # as the engine scores: the student's tokens given, for token feedback
        score_responses(judges, [world.prompts[i] for i in all_rows], tok.decode_batch(ids, lengths),
                        prompt_ids=[prompt_ids[i] for i in all_rows], response_ids=ids, lengths=lengths, tokenizer=tok)
        return time.perf_counter() - start

    return step


def timed(step):
    def run() -> float:
        start = time.perf_counter()
        step()
        return time.perf_counter() - start
    return run


def side_by_side(args, judges) -> None:
    """The cycle, the judges alone and the student alone, interleaved in blocks (medians)."""
    import statistics

    from scalarscope.worlds.real_judges import real_judges_world

    timed_judges = [TimedJudge(j) for j in judges]  # the judges' own time inside the cycle, for comparison
    world = real_judges_world(args.seed + 1, judges=tuple(timed_judges))
    constant = real_judges_world(args.seed + 1, judges=tuple(ConstantJudge(j.name) for j in judges))
    contenders = {
        "cycle": timed(world.engine().step),
        "cycle, judges then student": timed(real_judges_world(args.seed + 2, judges=tuple(judges))
                                            .engine(concurrent_judges=False).step),
        "judges alone": judges_alone(world, judges, args.seed + 3),
        "student alone": timed(constant.engine().step),
    }
    for _ in range(5):  # warm up all
        for step in contenders.values():
            step()
    block, times, inside = 10, {name: [] for name in contenders}, []
    for _ in range(max(1, args.side_by_side // block)):
        for name, step in contenders.items():
            before = sum(j.seconds for j in timed_judges)
            times[name] += [step() for _ in range(block)]
            if name == "cycle":
                inside.append((sum(j.seconds for j in timed_judges) - before) / block)
    ms = {name: 1000 * statistics.median(t) for name, t in times.items()}
    bound = max(ms["judges alone"], ms["student alone"])
    print(f"side by side, {len(times['cycle'])} cycles each (median ms per cycle):")
    for name, value in ms.items():
        print(f"  {name:<28}{value:8.1f} ms   {value / bound:5.2f} x max(judges alone, student alone)")
    judged = 1000 * statistics.median(inside)
    print(f"  {'(judges inside the cycle)':<28}{judged:8.1f} ms   the judges' own time per cycle, timed in the cycle")
    inner = max(judged, ms["student alone"])
    print(f"cycle / max(judges inside the cycle, student alone) = {ms['cycle'] / inner:.2f} x")
    print(f"target: cycle <= 1.15 x max(judges alone, student alone) = {1.15 * bound:.1f} ms; "
          f"measured {ms['cycle']:.1f} ms ({ms['cycle'] / bound:.2f} x); "
          f"judges + student would be {ms['judges alone'] + ms['student alone']:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--side-by-side", type=int, default=60, help="cycles per contender (0: skip)")
    args = parser.parse_args()

    start = time.perf_counter()
    from scalarscope.evaluators.judges import real_judges
    from scalarscope.worlds.real_judges import real_judges_world

    judges = [TimedJudge(j) for j in real_judges()]
    world = real_judges_world(args.seed, judges=tuple(judges))
    engine = world.engine()
    encoder = judges[0].judge.encoder
    loaded = time.perf_counter() - start
    calls_before, texts_before = encoder.calls, encoder.texts_encoded
    judge_seconds_before = sum(j.seconds for j in judges)

    records, started = [], time.perf_counter()
    for _ in range(args.cycles):
        records.append(engine.step())
    elapsed = time.perf_counter() - started

    judge_seconds = sum(j.seconds for j in judges) - judge_seconds_before
    calls, texts = encoder.calls - calls_before, encoder.texts_encoded - texts_before
    means = [r.metrics.mean_score for r in records]
    window = min(20, max(1, len(means) // 2))
    first, last = sum(means[:window]) / window, sum(means[-window:]) / window
    print(f"real-judges world, seed {args.seed}, {args.cycles} cycles, judges {[j.name for j in judges]}")
    print(f"load (imports, MiniLM, student, engine): {loaded:6.1f} s")
    print(f"cycles: {elapsed:6.1f} s total, {1000 * elapsed / args.cycles:6.0f} ms per cycle; "
          f"load + cycles {loaded + elapsed:6.1f} s (target <= 180 s for 300 cycles)")
    print(f"judges' share of cycle time: {judge_seconds / elapsed:6.1%} ({judge_seconds:.1f} s)")
    print(f"MiniLM: {calls / args.cycles:.2f} model calls per cycle, {texts / args.cycles:.1f} texts embedded per cycle")
    for j in judges:
        info = j.judge.cache.info()
        print(f"  cache {j.name:>10}: hit rate {info.hit_rate:6.1%} ({info.hits} hits, {info.misses} misses, "
              f"{info.size} held)")
    print(f"training judges' mean score: first {window} cycles {first:.3f}, last {window} cycles {last:.3f}, "
          f"rise {last - first:+.3f} (target >= +0.1 in 300 cycles)")
    print("samples, first cycles:", [r.sample_response for r in records[:3]])
    print("samples, last cycles: ", [r.sample_response for r in records[-3:]])
    if args.side_by_side:
        side_by_side(args, [j.judge for j in judges])


if __name__ == "__main__":
    main()
