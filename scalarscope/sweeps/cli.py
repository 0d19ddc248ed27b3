"""``scalarscope sweep``: an overlap x seed sweep of holdout transfer, printed (and saved as CSV)."""

from __future__ import annotations

import argparse

from scalarscope._atomic import atomic_write_text, check_output_path

DEFAULT_OVERLAPS = [0.0, 0.5, 0.87]


def _overlap_list(text: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--overlaps wants comma-separated numbers in [0, 1], got {text!r}") from None


def add_sweep(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    from scalarscope.worlds._cli import add_world_arguments

    add_world_arguments(parser)
    parser.add_argument("--overlaps", type=_overlap_list, default=None,
                        help="comma-separated overlaps rho in [0, 1] (default 0,0.5,0.87 for worlds with an "
                             "overlap knob; none for worlds whose overlap is measured)")
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds per overlap (seeds 0..k-1)")
    parser.add_argument("--cycles", type=int, default=300, help="training cycles per run")
    parser.add_argument("--student", default=None, choices=["gru", "tiny-gpt2"],
                        help="the student of every run (worlds that take one; default world: gru)")
    parser.add_argument("--holdout", default="rotate",
                        help="'rotate' (seed i holds out evaluator i mod n), an evaluator name, or 'none'")
    parser.add_argument("--evaluators", dest="n_evaluators", type=int, default=None,
                        help="number of synthetic evaluators (default world: 5)")
    parser.add_argument("--probes", type=int, default=2000, help="fresh probe responses per transfer measurement")
    parser.add_argument("--jobs", type=int, default=None, help="local worker processes (default: all cores)")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="run on this Dask scheduler (tcp://host:port) instead of local processes")
    parser.add_argument("--out", default=None, metavar="PATH", help="also write the runs as CSV here")
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(handler=sweep_command)
    return parser


def sweep_command(args: argparse.Namespace) -> int:
    import pandas as pd

    from scalarscope.sweeps import summarize_sweep, sweep
    from scalarscope.worlds import get_world
    from scalarscope.worlds._cli import world_options

    if args.out:  # before the runs, so a typo in the path never costs the sweep
        check_output_path(args.out, "--out")
    holdout = None if args.holdout.lower() == "none" else args.holdout
    options = world_options(args)
    overlaps = args.overlaps
    if overlaps is None and "overlap" in get_world(args.world).options:
        overlaps = DEFAULT_OVERLAPS
    df = sweep(overlaps=overlaps, seeds=args.seeds, cycles=args.cycles, holdout=holdout, world=args.world,
               world_options=options, n_jobs=args.jobs, client=args.scheduler, transfer_probes=args.probes,
               progress=not args.no_progress)
    with pd.option_context("display.max_rows", None, "display.max_columns", None, "display.width", 200,
                           "display.float_format", "{:.3f}".format):
        print(df.to_string(index=False))
        print("\nper overlap (mean / std over seeds):")
        summary = summarize_sweep(df)
        columns = ["runs", "mean_correlation_mean", "transfer_mean", "transfer_std", "ceiling_mean",
                   "ceiling_std", "ratio_mean", "ratio_std", "transfer_over_ceiling"]
        print(summary[columns].to_string())
    if args.out:
        path = atomic_write_text(args.out, df.to_csv(index=False))
        print(f"runs written to {path}")
    return 0
