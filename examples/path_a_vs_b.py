"""Path A vs Path B at full size: sweep overlap x seed, write docs/RESULTS_AND_LIMITATIONS.md.

    python examples/path_a_vs_b.py            # 12 overlaps x 5 seeds x 300 cycles (minutes on 2 cores)
    python examples/path_a_vs_b.py --quick    # a small run, written to runs/ (not to docs/)
    make results                              # the same as the first line

Every number in the document comes from the sweep this script runs (see scalarscope.reports.results).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from scalarscope.reports.provenance import code_version
from scalarscope.reports.results import ResultsMeta, results_markdown, revision_markdown, write_results
from scalarscope.sweeps import sweep
from scalarscope.sweeps.context import context_markdown, context_study
from scalarscope.sweeps.students import PATH_OVERLAPS, student_sweep, students_markdown

ROOT = Path(__file__).resolve().parents[1]
# overlap 0, 0.1, ..., 1.0, plus 0.87: the overlap whose measured mean correlation is ~0.87
FULL_OVERLAPS = tuple(sorted({round(0.1 * i, 1) for i in range(11)} | {0.87}))
QUICK_OVERLAPS = (0.0, 0.5, 0.87, 1.0)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 overlaps x 2 seeds x 60 cycles, written to runs/")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per overlap (default 5; quick: 2)")
    parser.add_argument("--cycles", type=int, default=None, help="cycles per run (default 300; quick: 60)")
    parser.add_argument("--jobs", type=int, default=None, help="local worker processes (default: all cores)")
    parser.add_argument("--scheduler", default=None, help="a Dask scheduler address to run on instead")
    parser.add_argument("--out", default=None, help="markdown path (default docs/RESULTS_AND_LIMITATIONS.md)")
    parser.add_argument("--csv", default=None, help="also write the per-run table here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    seeds = args.seeds or (2 if args.quick else 5)
    cycles = args.cycles or (60 if args.quick else 300)
    probes = 500 if args.quick else 2000
    overlaps = QUICK_OVERLAPS if args.quick else FULL_OVERLAPS
    default_out = "runs/RESULTS_AND_LIMITATIONS.quick.md" if args.quick else "docs/RESULTS_AND_LIMITATIONS.md"
    out = Path(args.out) if args.out else ROOT / default_out

    version = code_version()  # read before the sweep: the workers import the library as it is now
    start = time.perf_counter()
    df = sweep(overlaps=overlaps, seeds=seeds, cycles=cycles, holdout="rotate", n_jobs=args.jobs,
               client=args.scheduler, transfer_probes=probes)
    wall = time.perf_counter() - start
    backend = f"the Dask scheduler {args.scheduler}" if args.scheduler else \
        f"local processes (n_jobs={args.jobs or 'all cores'})"
    meta = ResultsMeta(command="python examples/path_a_vs_b.py" + (" --quick" if args.quick else ""),
                       seeds=seeds, cycles=cycles, n_evaluators=5, transfer_probes=probes, holdout="rotate",
                       backend=backend, wall_seconds=wall,
                       generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), code_version=version)
    shares = (0.0, 0.1) if args.quick else (0.0, 0.02, 0.05, 0.1, 0.2)
    context = context_study(shares, seeds=2 if args.quick else 3, cycles=cycles, transfer_probes=probes,
                            n_jobs=args.jobs, client=args.scheduler)
    gpt2 = student_sweep("tiny-gpt2", seeds=1 if args.quick else 3, cycles=cycles, transfer_probes=probes, n_jobs=args.jobs,
                         client=args.scheduler)
    students = students_markdown({"gru": df[df.overlap.isin(PATH_OVERLAPS)], "tiny-gpt2": gpt2}, cycles=cycles,
                                 probes=probes, command=meta.command)
    text = results_markdown(df, meta, extra_sections=[students, revision_markdown(quick=args.quick, n_jobs=args.jobs),
                                                      context_markdown(context, cycles=cycles)])
    print(f"wrote {write_results(text, out)} ({len(df)} runs in {wall:.0f} s)")
    if args.csv:
        df.to_csv(args.csv, index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
