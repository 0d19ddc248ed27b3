"""``scalarscope run``: train the default world and print a summary table."""

from __future__ import annotations

import argparse


def add_run(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--overlap", type=float, default=0.5, help="evaluator overlap rho in [0, 1]")
    parser.add_argument("--cycles", type=int, default=300, help="training cycles")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--evaluators", type=int, default=5, help="number of synthetic evaluators")
    parser.add_argument("--holdout", default=None, help="evaluator to hold out (e.g. clarity)")
    parser.add_argument("--student", default="gru", choices=["gru", "tiny-gpt2"],
                        help="the student model (tiny-gpt2: a small GPT-2 built offline)")
    parser.add_argument("--budget", type=int, default=None, help="max tokens per cycle")
    parser.add_argument("--strategy", default="fixed", choices=["fixed", "adaptive"])
    parser.add_argument("--export", default=None, metavar="PATH", help="write the Desktop geometry file here")
    parser.add_argument("--save", default=None, metavar="PATH", help="write a checkpoint here")
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(handler=run_command)
    return parser


def run_command(args: argparse.Namespace) -> int:
    from scalarscope.engine.summary import summarize, train_default_world

    engine = train_default_world(overlap=args.overlap, cycles=args.cycles, seed=args.seed, n=args.evaluators,
                                 holdout=args.holdout, budget=args.budget, strategy=args.strategy,
                                 progress=not args.no_progress, student=args.student)
    print(summarize(engine))
    if args.save:
        engine.save(args.save)
        print(f"checkpoint: {args.save}")
    if args.export:
        path = engine.export_geometry(args.export)
        print(f"geometry:   {path}")
    return 0
