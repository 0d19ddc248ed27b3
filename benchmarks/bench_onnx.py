"""The ONNX conscience against torch: agreement on held-out text, and scoring speed on CPU.

Trains the default 5-evaluator world (overlap 0.9, holdout clarity) for ``--cycles`` cycles,
exports it, then

1. compares the ONNX and torch internal evaluators with the true evaluators on 1,000 fresh probes
   (the probes of ``engine.holdout_transfer(1000, seed=7)``);
2. times scoring 1,000 (prompt, 32-character response) pairs from text, in one batch and one
   pair at a time, in torch and in onnxruntime, both limited to 2 threads.

Usage: ``python benchmarks/bench_onnx.py [--cycles 100] [--repeats 5] [--threads 2]``. The figures quoted in
docs/ONNX.md come from this script.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from scalarscope.engine import EngineConfig, ScalarScopeEngine
from scalarscope.evaluators import correlated_evaluators
from scalarscope.evaluators.scalar_head import predicted_scores
from scalarscope.onnx import OnnxConscience, compare_with_engine

N_SEQUENCES, LENGTH = 1000, 32
PROMPT = "judge this:"


def train(cycles: int) -> ScalarScopeEngine:
    # training uses one thread: with 2 shared cores, 2 torch threads stall under any other load
    torch.set_num_threads(1)
    engine = ScalarScopeEngine(evaluators=correlated_evaluators(5, 0.9, seed=0), holdout="clarity", seed=0,
                               config=EngineConfig(transfer_every=0))
    for _ in range(cycles):
        engine.step()
    return engine


def timed(fn, repeats: int) -> tuple[float, float, np.ndarray]:
    """Best and median wall time in seconds over ``repeats`` runs (after one warm-up), and fn's result."""
    result = fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2, help="torch and onnxruntime threads for the timing")
    args = parser.parse_args()

    start = time.perf_counter()
    engine = train(args.cycles)
    print(f"trained {args.cycles} cycles in {time.perf_counter() - start:.1f} s")
    path = engine.export_onnx(Path(tempfile.mkdtemp()) / "student.onnx")
    print(f"exported {path} ({path.stat().st_size / 1024:.0f} KiB)")
    conscience = OnnxConscience(path, threads=args.threads)

    print("\n== agreement with the true evaluators on 1,000 held-out probes")
    print(compare_with_engine(engine, conscience, n=1000, seed=7).table())
    measured = engine.holdout_transfer(1000, seed=7)
    print(f"engine.holdout_transfer(1000, seed=7): transfer {measured.transfer:.4f}, "
          f"ceiling {measured.ceiling:.4f}, fidelity {measured.fidelity:.4f}")

    torch.set_num_threads(args.threads)
    model, tok = engine.model, engine.tokenizer
    rng = np.random.default_rng(0)
    ids = tok.sample_probes(N_SEQUENCES, LENGTH, rng)
    responses = tok.decode_batch(ids, np.full(N_SEQUENCES, LENGTH))
    prompts = [PROMPT] * N_SEQUENCES

    def torch_batch() -> np.ndarray:
        response_ids = np.stack([tok.encode(r) for r in responses])
        values = model.predict_values([tok.encode(PROMPT)], np.zeros(N_SEQUENCES, dtype=int), response_ids)
        return predicted_scores(values, np.full(N_SEQUENCES, LENGTH))

    def torch_single() -> np.ndarray:
        return np.stack([predicted_scores(model.predict_values([tok.encode(p)], np.zeros(1, dtype=int),
                                                               tok.encode(r)[None]), np.array([LENGTH]))[0]
                         for p, r in zip(prompts, responses, strict=True)])

    def onnx_single() -> np.ndarray:
        return np.stack([list(conscience.score(p, r).scores.values()) for p, r in zip(prompts, responses, strict=True)])

    print(f"\n== scoring {N_SEQUENCES:,} sequences of {LENGTH} tokens from text, CPU, {args.threads} thread(s) "
          f"(best and median of {args.repeats}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"{'mode':<8}{'runtime':<14}{'best ms':>10}{'seq/s':>11}{'median ms':>11}{'seq/s':>11}")
    for mode, torch_fn, onnx_fn, repeats in [
        ("batch", torch_batch, lambda: conscience.score_batch(prompts, responses, batch_size=1000), args.repeats),
        ("1 by 1", torch_single, onnx_single, max(1, (args.repeats + 1) // 2)),
    ]:
        torch_s, torch_median, torch_scores = timed(torch_fn, repeats)
        onnx_s, onnx_median, onnx_scores = timed(onnx_fn, repeats)
        for runtime, best, median in (("torch", torch_s, torch_median), ("onnxruntime", onnx_s, onnx_median)):
            print(f"{mode:<8}{runtime:<14}{best * 1e3:>10.1f}{N_SEQUENCES / best:>11,.0f}"
                  f"{median * 1e3:>11.1f}{N_SEQUENCES / median:>11,.0f}")
        print(f"{'':<8}torch/onnxruntime best-time ratio {torch_s / onnx_s:.2f}; "
              f"max |score difference| {np.abs(torch_scores - onnx_scores).max():.1e}")

if __name__ == "__main__":
    main()
