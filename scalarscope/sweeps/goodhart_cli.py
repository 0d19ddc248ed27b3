"""``scalarscope goodhart``: conscience-only training against gold, per run summary printed (CSV saved)."""

from __future__ import annotations

import argparse

from scalarscope._atomic import atomic_write_text
from scalarscope.sweeps.cli import _overlap_list
from scalarscope.sweeps.goodhart_study import CYCLES, WARMUP


def add_goodhart(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    from scalarscope.worlds._cli import add_world_arguments

    add_world_arguments(parser)
    parser.add_argument("--overlaps", type=_overlap_list, default=None,
                        help="comma-separated overlaps rho in [0, 1] (default 0,0.87 for worlds with an overlap knob)")
    parser.add_argument("--seeds", type=int, default=5, help="seeds per overlap (seeds 0..k-1; the holdout rotates)")
    parser.add_argument("--warmup", type=int, default=WARMUP, help=f"cycles on the evaluators first (default {WARMUP})")
    parser.add_argument("--cycles", type=int, default=CYCLES,
                        help=f"conscience-only cycles after the switch (default {CYCLES})")
    parser.add_argument("--kl-coef", type=float, default=0.0, help="KL penalty to the reference policy")
    parser.add_argument("--context-share", type=float, default=None,
                        help="the world's context interaction share (default world: 0.02)")
    parser.add_argument("--conscience-learns", action="store_true",
                        help="keep training the conscience on the evaluators after the switch")
    parser.add_argument("--jobs", type=int, default=None, help="local worker processes (default: all cores)")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS", help="a Dask scheduler to run on instead")
    parser.add_argument("--out", default=None, metavar="PATH", help="also write every (run, cycle) row as CSV here")
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(handler=goodhart_command)
    return parser


def goodhart_command(args: argparse.Namespace) -> int:
    import pandas as pd

    from scalarscope.sweeps.goodhart_fit import goodhart_summary
    from scalarscope.sweeps.goodhart_study import goodhart
    from scalarscope.worlds import get_world
    from scalarscope.worlds._cli import world_options

    if args.out:  # before the runs, so a typo in the path never costs the study
        from scalarscope._atomic import check_output_path

        check_output_path(args.out, "--out")
    options = world_options(args)  # --context-share among them
    overlaps = args.overlaps
    if overlaps is None and "overlap" in get_world(args.world).options:
        overlaps = [0.0, 0.87]
    df = goodhart(overlaps=overlaps, seeds=args.seeds, warmup=args.warmup, cycles=args.cycles,
                  kl_coef=args.kl_coef, conscience_learns=args.conscience_learns, world=args.world,
                  world_options=options, n_jobs=args.jobs, client=args.scheduler, progress=not args.no_progress)
    summary = goodhart_summary(df)
    columns = ["overlap", "seed", "holdout", "switch_fidelity", "switch_score", "final_sqrt_kl", "proxy_rise",
               "gold_train_rise", "gold_holdout_rise", "alpha_holdout", "beta_holdout", "d_star_holdout",
               "peaks_holdout", "falls_holdout"]
    with pd.option_context("display.width", 200, "display.max_columns", None, "display.float_format", "{:.3f}".format):
        print(summary[columns].to_string(index=False))
        print("\nper overlap (mean over seeds):")
        print(summary.groupby("overlap")[["proxy_rise", "gold_train_rise", "gold_holdout_rise"]].agg(["mean", "std"])
              .to_string())
    if args.out:
        print(f"rows written to {atomic_write_text(args.out, df.to_csv(index=False))}")
    return 0
