"""What a KL penalty does to the default world: the measurements behind ``EngineConfig.kl_coef``'s default.

For each ``kl_coef``: the default world trained ``--cycles`` cycles at overlap 0 (Path A) and 0.87
(Path B), seeds 0..k-1 with the rotating holdout, then the final mean score and policy entropy
(last 20 cycles), KL to the initial policy, and holdout transfer on fresh probes; and the revision
engine (overlap 0.5, 100 cycles): its trigger rate overall and after cycle 50.

    python examples/kl_coef_scan.py [--coefs 0,0.01,0.03,0.1,0.3] [--seeds 3] [--cycles 300] [--jobs 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor

NAMES = ("correctness", "coherence", "calibration", "tradeoffs", "clarity")


def default_world(args) -> dict:
    coef, overlap, seed, cycles, probes = args
    import torch

    from scalarscope.worlds import build_world

    torch.set_num_threads(1)
    engine = build_world("default", seed=seed, overlap=overlap).engine(holdout=NAMES[seed % 5], kl_coef=coef,
                                                                       transfer_every=0)
    engine.run(cycles, progress=False)
    tail = engine.history.to_frame().tail(20)
    measured = engine.holdout_transfer(probes)
    return {"kl_coef": coef, "overlap": overlap, "seed": seed, "score": tail.mean_score.mean(),
            "entropy": tail.entropy.mean(), "kl": tail.kl.mean(), "transfer": measured.transfer}


def revision_world(args) -> dict:
    coef, seed = args
    import numpy as np
    import torch

    from scalarscope.engine import RevisionConfig
    from scalarscope.sweeps.revision_study import revision_engine
    from scalarscope.worlds import build_world

    torch.set_num_threads(1)
    engine = revision_engine(build_world("default", seed=seed), revision=RevisionConfig(), kl_coef=coef)
    engine.run(100, progress=False)
    triggered = np.array([r.revision.triggered / max(r.revision.responses, 1) for r in engine.history])
    return {"kl_coef": coef, "seed": seed, "trigger_rate": triggered.mean(), "trigger_after_50": triggered[50:].mean(),
            "revision_score": engine.history.to_frame().mean_score.tail(10).mean()}


def main(argv: list[str] | None = None) -> int:
    import pandas as pd

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--coefs", default="0,0.01,0.03,0.1,0.3")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--cycles", type=int, default=300)
    parser.add_argument("--probes", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    coefs = [float(c) for c in args.coefs.split(",")]
    start = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        worlds = list(pool.map(default_world, [(c, o, s, args.cycles, args.probes) for c in coefs
                                               for o in (0.0, 0.87) for s in range(args.seeds)]))
        revisions = list(pool.map(revision_world, [(c, s) for c in coefs for s in range(args.seeds)]))
    worlds, revisions = pd.DataFrame(worlds), pd.DataFrame(revisions)
    table = worlds.pivot_table(index="kl_coef", columns="overlap", values=["score", "entropy", "kl", "transfer"])
    table.columns = [f"{name}@{overlap:g}" for name, overlap in table.columns]
    table = table.join(revisions.groupby("kl_coef")[["trigger_rate", "trigger_after_50", "revision_score"]].mean())
    spread = worlds.groupby(["kl_coef", "overlap"]).transfer.std().unstack()
    table["transfer_std@0.87"] = spread[0.87]
    with pd.option_context("display.width", 200, "display.max_columns", None, "display.float_format", "{:.3f}".format):
        print(f"{args.seeds} seeds, {args.cycles} cycles, {args.probes} probes; {time.perf_counter() - start:.0f} s")
        print(table.to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
