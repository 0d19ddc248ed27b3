"""The README's Quick Start as a script: train the default world, look at the history, measure transfer.

    python examples/basic_training.py                      # 300 cycles, ~seconds per 100 on a CPU
    python examples/basic_training.py --cycles 20 --out runs/quick.json
"""

from __future__ import annotations

import argparse

from scalarscope.engine import ScalarScopeEngine, TrainingMetrics
from scalarscope.evaluators import correlated_evaluators
from scalarscope.governor import GovernorConfig, TokenPool
from scalarscope.student import default_student


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=300, help="training cycles (default 300)")
    parser.add_argument("--overlap", type=float, default=0.87, help="evaluator overlap rho in [0, 1]")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--probes", type=int, default=2000, help="fresh responses for the transfer measurement")
    parser.add_argument("--out", default="runs/my_run.json", help="where to write the Desktop geometry file")
    args = parser.parse_args(argv)

    your_model = default_student(seed=args.seed)  # a width-64 GRU student
    your_evaluators = correlated_evaluators(n=5, overlap=args.overlap, seed=args.seed)  # share one latent axis

    governor_config = GovernorConfig(max_tokens_per_cycle=1000, budget_strategy="adaptive")
    pool = TokenPool(governor_config)
    engine = ScalarScopeEngine(model=your_model, evaluators=your_evaluators, token_pool=pool, holdout="clarity",
                               seed=args.seed)
    result = engine.run_cycle(prompt="Your training prompt")
    metrics: TrainingMetrics = result.metrics
    print(f"first cycle: loss {metrics.loss:.3f}, tokens used {metrics.tokens_used}, "
          f"mean score {metrics.mean_score:.3f}, surprise {metrics.surprise:.3f}")

    engine.run(args.cycles)  # tqdm progress bar
    frame = engine.history.to_frame()
    print(frame[["mean_score", "predicted_score", "surprise", "tokens_used"]].tail().round(3).to_string())
    transfer = engine.holdout_transfer(n=args.probes)  # does it predict the evaluator it never saw?
    # NaN means not measured (e.g. too few cycles for the head to predict anything but one value)
    print(f"holdout transfer ({transfer.holdout}, {transfer.distribution} probes): {transfer.transfer:.3f} "
          f"[95% interval {transfer.ci_low:.3f} to {transfer.ci_high:.3f}, permutation p {transfer.p_null:.4f}] "
          f"(fidelity {transfer.fidelity:.3f}, ceiling {transfer.ceiling:.3f}, best linear ceiling "
          f"{transfer.best_ceiling:.3f}, ratio {transfer.ratio:.2f})")
    path = engine.export_geometry(args.out)  # open this file in ScalarScope-Desktop
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
