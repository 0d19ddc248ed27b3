"""Real judges: their measured overlap, and holdout transfer with each judge held out in turn.

    python examples/real_judges_results.py                 # 3 seeds x 300 cycles per judge, 6 for the
                                                           # headline judge -> docs/REAL_JUDGES.md
    python examples/real_judges_results.py --quick         # 1 seed x 30 cycles, written to runs/

The real-judges world (tiny GPT-2 over common English words; MiniLM helpfulness and relevance,
VADER sentiment, wordfreq commonness) is trained with every judge held out in turn, over several
seeds; after training, learned transfer (with its bootstrap interval and permutation null), the
head's fidelity and both ceilings are measured on fresh random word sequences, and transfer again
on the policy's own samples. Every number in the document comes from the runs this script makes.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 seed x 30 cycles, 300 probes, written to runs/")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per held-out judge (default 3)")
    parser.add_argument("--headline", default="helpful", help="the judge the document leads with (default helpful)")
    parser.add_argument("--headline-seeds", type=int, default=None, help="its seeds (default 6; quick: 1)")
    parser.add_argument("--policy-probes", type=int, default=None, help="policy samples per run (default 500)")
    parser.add_argument("--cycles", type=int, default=None, help="cycles per run (default 300)")
    parser.add_argument("--probes", type=int, default=None, help="probe texts for the overlap and transfer (2000)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (each loads its own MiniLM)")
    parser.add_argument("--out", default=None, help="markdown path (default docs/REAL_JUDGES.md)")
    return parser.parse_args(argv)


def code_version() -> str:
    """The library's git commit (marked when scalarscope/ has uncommitted edits), or ''."""
    import subprocess

    try:
        def git(*args: str) -> str:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True,
                                  timeout=10).stdout.strip()

        dirty = " with uncommitted changes" if git("status", "--porcelain", "scalarscope") else ""
        return f" from commit {git('rev-parse', '--short', 'HEAD')}{dirty}"
    except (OSError, subprocess.SubprocessError):
        return ""


def one_run(holdout: str, seed: int, cycles: int, probes: int, policy_probes: int) -> dict:
    """Train the real-judges world with ``holdout`` left out; measure transfer on fresh random word
    sequences and on the policy's own samples."""
    import torch

    from scalarscope.worlds import build_world

    torch.set_num_threads(1)
    engine = build_world("real-judges", seed=seed).engine(holdout=holdout)
    records = [engine.step() for _ in range(cycles)]
    measured = engine.holdout_transfer(probes, seed=1000 + seed)
    policy = engine.holdout_transfer(policy_probes, probes="policy", seed=2000 + seed)
    means = [r.metrics.mean_score for r in records]
    window = min(20, max(1, cycles // 2))
    return {"holdout": holdout, "seed": seed, "transfer": measured.transfer, "ceiling": measured.ceiling,
            "fidelity": measured.fidelity, "best_ceiling": measured.best_ceiling, "ci_low": measured.ci_low,
            "ci_high": measured.ci_high, "p_null": measured.p_null, "policy_transfer": policy.transfer,
            "policy_ci_low": policy.ci_low, "policy_ci_high": policy.ci_high, "policy_p_null": policy.p_null,
            "policy_fidelity": policy.fidelity, "policy_ceiling": policy.ceiling,
            "policy_best_ceiling": policy.best_ceiling, "first": float(np.mean(means[:window])),
            "last": float(np.mean(means[-window:])), "before": [r.sample_response for r in records[:3]],
            "after": [r.sample_response for r in records[-3:]]}


def _pm(values) -> str:
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if not len(values):
        return "not measured"
    return f"{values.mean():.3f} ± {values.std(ddof=1):.3f}" if len(values) > 1 else f"{values.mean():.3f}"


def _f(value, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if np.isfinite(value) else "n/a"


def _corr_line(xs, ys, what: str) -> str:
    """A correlation across points, with how many points it rests on (NaN-safe; no claim from < 3)."""
    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    ok = np.isfinite(xs) & np.isfinite(ys)
    if ok.sum() < 3:
        return f"{what}: fewer than 3 points, not measured."
    return f"{what}: r = {np.corrcoef(xs[ok], ys[ok])[0, 1]:+.2f} over {int(ok.sum())} points."


def markdown(report, runs, meta) -> str:
    names = list(report.names)
    lines = [
        "# Real judges: measured overlap and holdout transfer", "",
        f"_Generated by `python examples/real_judges_results.py{meta['args']}` on {meta['when']}{meta['code']} "
        f"in {meta['seconds']:.0f} s; do not edit by hand, rerun the script._", "",
        "World: tiny GPT-2 (2 layers, width 64) over the most common English words (wordfreq), "
        f"judges {names}. {meta['seeds']} seed(s) x {meta['cycles']} cycles per held-out judge "
        f"({meta['headline_seeds']} for the headline judge, {meta['headline']}). After training, on "
        f"{meta['probes']} fresh **random word sequences** (uniform over the world's vocabulary, after the "
        "world's prompts; not the policy's outputs): learned transfer with its bootstrap 95 % interval and "
        "permutation p-value (1000 resamples / shuffles), the head's fidelity to its training judges, the "
        "equal-weight ceiling and the best linear ceiling (5-fold cross-validated least squares from the "
        f"training judges). Then transfer again on {meta['policy_probes']} of the **policy's own samples**.", "",
        f"## Measured correlation of the judges on {report.n_probes} random word sequences", "",
        "| | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|",
    ]
    lines += [f"| {a} | " + " | ".join(f"{report.correlation[i, j]:+.2f}" for j in range(len(names))) + " |"
              for i, a in enumerate(names)]
    lines += ["", f"Mean pairwise correlation {report.mean_correlation:+.3f}; first factor "
              f"{report.first_factor_share:.1%} of the correlation matrix; effective dimension "
              f"{report.effective_dimension:.2f} of {len(names)}; verdict: **{report.verdict}**.", "",
              "## Each judge held out in turn (random word sequences)", "",
              "| held out | runs | learned transfer | fidelity | ceiling | best linear ceiling | transfer / ceiling "
              "| runs with p_null < 0.01 | transfer on policy samples | training score first -> last |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    transfers, ceilings = [], []
    for name in names:
        rows = [r for r in runs if r["holdout"] == name]
        if not rows:
            continue
        t, c = [r["transfer"] for r in rows], [r["ceiling"] for r in rows]
        transfers.append(np.nanmean(t))
        ceilings.append(np.nanmean(c))
        ratio = f"{np.nanmean(t) / np.nanmean(c):.2f}" if abs(np.nanmean(c)) >= 0.1 else "n/a (ceiling < 0.1)"
        below = sum(r["p_null"] < 0.01 for r in rows)
        lines.append(f"| {name} | {len(rows)} | {_pm(t)} | {_pm([r['fidelity'] for r in rows])} | {_pm(c)} | "
                     f"{_pm([r['best_ceiling'] for r in rows])} | {ratio} | {below} of {len(rows)} | "
                     f"{_pm([r['policy_transfer'] for r in rows])} | "
                     f"{np.mean([r['first'] for r in rows]):.3f} -> {np.mean([r['last'] for r in rows]):.3f} |")
    lines += ["", _corr_line([r["fidelity"] for r in runs], [r["transfer"] for r in runs],
                             "Across all runs, transfer against the head's fidelity"),
              _corr_line(transfers, ceilings, "Across held-out judges, mean transfer against mean ceiling").rstrip(".")
              + " (one point per judge: too few to read as a trend).", "",
              "## Every run", "",
              "| held out | seed | transfer [95 % interval], p_null | fidelity | ceiling / best ceiling "
              "| policy samples: transfer [95 % interval], p_null | policy: fidelity / ceiling / best ceiling |",
              "|---|---|---|---|---|---|---|"]
    for r in sorted(runs, key=lambda r: (names.index(r["holdout"]), r["seed"])):
        lines.append(f"| {r['holdout']} | {r['seed']} | {_f(r['transfer'])} [{_f(r['ci_low'])}, {_f(r['ci_high'])}], "
                     f"p {_f(r['p_null'], 4)} | {_f(r['fidelity'])} | {_f(r['ceiling'])} / {_f(r['best_ceiling'])} | "
                     f"{_f(r['policy_transfer'])} [{_f(r['policy_ci_low'])}, {_f(r['policy_ci_high'])}], "
                     f"p {_f(r['policy_p_null'], 4)} | {_f(r['policy_fidelity'])} / {_f(r['policy_ceiling'])} / "
                     f"{_f(r['policy_best_ceiling'])} |")
    first = runs[0]
    lines += ["", f"## What the student writes (held out: {first['holdout']}, seed {first['seed']})", "",
              "First cycles:", ""] + [f"- `{s}`" for s in first["before"]] + ["", "Last cycles:", ""] + \
        [f"- `{s}`" for s in first["after"]] + [""]
    return "\n".join(lines)


def main(argv=None) -> int:
    from joblib import Parallel, delayed

    from scalarscope._atomic import atomic_write_text
    from scalarscope.evaluators.judges import real_judges
    from scalarscope.worlds import build_world

    args = parse_args(argv)
    seeds = args.seeds or (1 if args.quick else 3)
    cycles = args.cycles or (30 if args.quick else 300)
    probes = args.probes or (300 if args.quick else 2000)
    policy_probes = args.policy_probes or (100 if args.quick else 500)
    headline_seeds = args.headline_seeds or (1 if args.quick else 6)
    out = Path(args.out or ("runs/REAL_JUDGES.quick.md" if args.quick else "docs/REAL_JUDGES.md"))
    start = time.perf_counter()
    names = [j.name for j in real_judges()]

    report = build_world("real-judges", seed=0).overlap(probes, seed=7)
    jobs = [(name, seed) for name in names for seed in range(headline_seeds if name == args.headline else seeds)]
    runs = Parallel(n_jobs=args.jobs, backend="loky")(delayed(one_run)(h, s, cycles, probes, policy_probes)
                                                      for h, s in jobs)
    given = sys.argv[1:] if argv is None else list(argv)
    passed = "".join(f" {a}" for a in given)
    meta = {"args": passed, "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "seeds": seeds,
            "cycles": cycles, "probes": probes, "policy_probes": policy_probes, "headline": args.headline,
            "headline_seeds": headline_seeds, "seconds": time.perf_counter() - start, "code": code_version()}
    atomic_write_text(ROOT / out if not out.is_absolute() else out, markdown(report, runs, meta))
    print(f"wrote {out} ({meta['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
