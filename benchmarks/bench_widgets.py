"""Kernel-side cost of the training dashboard: one frame (state -> figures) and one step() plus its frame.

A frame is ``TrainingDashboard.redraw()``: the engine's state turned into the four views' data and
one ``batch_update`` per view, serialised for the front end (no browser attached, so the cost of the
websocket and of drawing in the page is not counted). Default student and engine config, overlap
0.87, holdout clarity; torch threads as the engine sets them. Targets (issue 6): a frame <= 20 ms,
a step plus its frame <= 50 ms. Also reports a frame late in a run (the curves grow with the run,
decimated past ``MAX_POINTS``) and one evaluator-panel slider move.

    python benchmarks/bench_widgets.py [--warmup 30] [--repeats 60] [--long 300]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from scalarscope.engine import ScalarScopeEngine
from scalarscope.evaluators import correlated_evaluators
from scalarscope.widgets import EvaluatorPanel, GovernorPanel, TrainingDashboard

FRAME_TARGET_MS, STEP_TARGET_MS = 20.0, 50.0


def timed(fn, repeats: int) -> list[float]:
    """Wall milliseconds of ``repeats`` calls of ``fn``."""
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append(1000.0 * (time.perf_counter() - start))
    return out


def describe(label: str, samples: list[float], target: float | None = None) -> str:
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    verdict = "" if target is None else f"  (target <= {target:.0f} ms: {'met' if statistics.median(samples) <= target else 'MISSED'})"
    return f"{label:<44} median {statistics.median(samples):7.2f} ms   p90 {p90:7.2f} ms   n={len(samples)}{verdict}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warmup", type=int, default=30, help="cycles before timing")
    parser.add_argument("--repeats", type=int, default=60, help="timed frames / steps")
    parser.add_argument("--long", type=int, default=300, help="cycles in the run for the late-frame timing")
    args = parser.parse_args(argv)

    governor = GovernorPanel()
    engine = ScalarScopeEngine(evaluators=correlated_evaluators(5, 0.87, seed=0), token_pool=governor.pool,
                               holdout="clarity", seed=0)
    dashboard = TrainingDashboard(engine, governor=governor)
    for _ in range(args.warmup):
        engine.step()
    dashboard.redraw()

    frame = timed(dashboard.redraw, args.repeats)
    step_only = timed(engine.step, args.repeats)

    def step_and_frame() -> None:
        engine.step()
        dashboard.redraw()

    both = timed(step_and_frame, args.repeats)
    while len(engine.history) < args.long:
        engine.step()
    late = timed(dashboard.redraw, args.repeats)

    panel = EvaluatorPanel(overlap=0.0)
    values = iter([round(0.01 * (i % 100), 2) + 0.005 for i in range(1, 10_000)])
    slider = timed(lambda: setattr(panel.overlap_slider, "value", next(values)), args.repeats // 2)

    print(f"torch {torch.__version__}, engine torch_threads={engine.config.torch_threads} "
          f"(torch.get_num_threads() outside a cycle: {torch.get_num_threads()}); default student, batch "
          f"{engine.config.batch_size} x {engine.config.max_new_tokens} tokens")
    print(describe(f"dashboard frame (after {args.warmup + 1} cycles)", frame, FRAME_TARGET_MS))
    print(describe("step() alone", step_only))
    print(describe("step() + its frame", both, STEP_TARGET_MS))
    print(describe(f"dashboard frame (after {len(engine.history)} cycles)", late, FRAME_TARGET_MS))
    print(describe(f"evaluator panel slider move ({panel.n_probes} probes)", slider))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
