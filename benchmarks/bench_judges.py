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

    python benchmarks/bench_judges.py [--cycles 300] [--seed 0]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
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


if __name__ == "__main__":
    main()
