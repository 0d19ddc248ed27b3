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
- judges alone: the very calls the judges received in one "cycle" cycle (its responses and
  probes), replayed in order on other instances of the same judges (with a MiniLM encoder of their own) that have received every earlier call too,
  so that their score and embedding caches hit and miss as in the cycle;
- student alone: the engine on the same world with constant judges of the same names (their cost
  is nil: what remains is the student's work and the engine's bookkeeping).

Target (issue 18): cycle <= 1.15 x max(judges alone, student alone).

    python benchmarks/bench_judges.py [--cycles 300] [--seed 0] [--side-by-side 60]
"""

from __future__ import annotations

import argparse
import collections
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


class RecordingJudge(TimedJudge):
    """A timed judge that also keeps every batch it is asked to score, cycle by cycle."""

    def __init__(self, judge, tape: list):
        super().__init__(judge)
        self.tape = tape

    def score_batch(self, prompts, responses):
        self.tape.append((self.name, list(prompts), list(responses)))
        return super().score_batch(prompts, responses)


def recorded_cycle(engine_step, tape: list, cycles: collections.deque):
    """``engine.step`` whose judges' calls (on ``tape``) are queued per cycle for the replay."""
    def run() -> float:
        tape.clear()
        start = time.perf_counter()
        engine_step()
        elapsed = time.perf_counter() - start
        cycles.append(list(tape))
        return elapsed
    return run


def judges_alone(replay_judges, cycles: collections.deque):
    """The judges alone: the calls one recorded cycle made, in order, replayed on other instances of
    the same judges that have seen every earlier call (so their score caches hit and miss as the
    cycle's did), timed with nothing else running."""
    from scalarscope.engine import EngineConfig
    from scalarscope.engine._threads import torch_threads

    by_name = {j.name: j for j in replay_judges}

    def step() -> float:
        calls = cycles.popleft()
        with torch_threads(EngineConfig().torch_threads):  # the thread setting the judges have in a cycle
            start = time.perf_counter()
            for name, prompts, responses in calls:
                by_name[name].score_batch(prompts, responses)
            return time.perf_counter() - start

    return step


def timed(step):
    def run() -> float:
        start = time.perf_counter()
        step()
        return time.perf_counter() - start
    return run


def own_judges():
    """The real judges with an encoder of their own: the packaged MiniLM's embedding cache is shared
    by every judge of the process, which would let one contender's embeddings serve another's."""
    from scalarscope.evaluators.judges import real_judges
    from scalarscope.evaluators.sentence_model import SentenceEncoder, extract_minilm

    judges, encoder = real_judges(), SentenceEncoder(extract_minilm())
    for judge in judges:
        if hasattr(judge, "encoder"):
            judge.encoder = encoder
    return judges


def side_by_side(args) -> None:
    """The cycle, the judges alone and the student alone, interleaved in blocks (medians)."""
    import statistics

    from scalarscope.worlds.real_judges import real_judges_world

    tape, cycles = [], collections.deque()
    timed_judges = [RecordingJudge(j, tape) for j in own_judges()]  # the judges' own time inside the cycle, too
    world = real_judges_world(args.seed + 1, judges=tuple(timed_judges))
    constant = real_judges_world(args.seed + 1, judges=tuple(ConstantJudge(j.name) for j in timed_judges))
    contenders = {
        "cycle": recorded_cycle(world.engine().step, tape, cycles),
        "cycle, judges then student": timed(real_judges_world(args.seed + 1, judges=tuple(own_judges()))
                                            .engine(concurrent_judges=False).step),
        "judges alone": judges_alone(own_judges(), cycles),
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
        side_by_side(args)


if __name__ == "__main__":
    main()
