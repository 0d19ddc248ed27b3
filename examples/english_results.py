"""docs/ENGLISH.md: the English world measured (corpus, pretraining, judges, Path A / B, KL, Goodhart).

    python examples/english_results.py                       # the full study (~20 runs of 300 cycles)
    python examples/english_results.py --cycles 60 --seeds 1 --headline-seeds 2   # a smaller one

Every number in the document is computed here and printed as it is; each target of issue 20 is
checked and reported as met or not, with the figures it was judged on.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scalarscope.engine.text_transfer import distribution_transfer  # noqa: E402
from scalarscope.reports.provenance import code_version  # noqa: E402
from scalarscope.worlds import english_measures as M  # noqa: E402
from scalarscope.worlds.english import english_world  # noqa: E402

SENTIMENT = ("vader", "afinn", "textblob", "minilm_sentiment")
UNRELATED = ("common", "spelling")
PLACES = {"natural": "held-out corpus sentences", "policy": "the policy's samples", "random": "random token sequences"}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cycles", type=int, default=300)
    p.add_argument("--seeds", type=int, default=3, help="seeds per held-out judge")
    p.add_argument("--headline-seeds", type=int, default=6, help="seeds with VADER held out")
    p.add_argument("--natural", type=int, default=2000, help="held-out corpus sentences for transfer")
    p.add_argument("--policy", type=int, default=500, help="policy samples for transfer")
    p.add_argument("--random", type=int, default=500, help="random token sequences for transfer")
    p.add_argument("--holdouts", default=",".join(SENTIMENT + UNRELATED), help="judges to hold out in turn")
    p.add_argument("--warmup", type=int, default=None, help="Goodhart warm-up cycles (default cycles / 3)")
    p.add_argument("--out", default=str(ROOT / "docs" / "ENGLISH.md"))
    return p.parse_args()


def say(text: str = "") -> None:
    print(text, flush=True)


def holdout_run(world, holdout: str, args, *, kl_coef: float | None = None, samples: bool = False) -> dict:
    """Train one engine with ``holdout`` held out; measure transfer on the three distributions."""
    start = time.perf_counter()
    engine = world.engine(holdout=holdout, **({} if kl_coef is None else {"kl_coef": kl_coef}))
    reference = world.student() if samples else None
    first = _shown(M.sample(engine.model, engine, 10, seed=1)) if samples else None
    engine.run(args.cycles, progress=False)
    row = {"holdout": holdout, "seed": world.seed, "kl_coef": engine.config.kl_coef, "rise": M.score_rise(engine),
           "first_samples": first}
    for name, probes, n in (("natural", world.natural_texts(args.natural, seed=world.seed), 0),
                            ("policy", "policy", args.policy), ("random", "random", args.random)):
        row[name] = distribution_transfer(engine, n, probes=probes, seed=world.seed)
    if samples:
        own, final = M.sample(reference, engine, 200, seed=2), M.sample(engine.model, engine, 200, seed=2)
        row["ppl_reference_own"] = M.perplexity_under(reference, own)
        row["ppl_final"] = M.perplexity_under(reference, final)
        row["last_samples"] = _shown(final)[:10]
    row["seconds"] = time.perf_counter() - start
    m = row["natural"]
    say(f"  {holdout:>16} seed {world.seed} kl {row['kl_coef']:g}: natural {m.transfer:+.3f} [{m.ci_low:+.3f}, "
        f"{m.ci_high:+.3f}] best ceiling {m.best_ceiling:.3f} fidelity {m.fidelity:+.3f}; policy "
        f"{row['policy'].transfer:+.3f}; random {row['random'].transfer:+.3f}; score {row['rise'][0]:.3f} -> "
        f"{row['rise'][1]:.3f}; {row['seconds']:.0f} s")
    return row


def _shown(samples) -> list[str]:
    return [f"{p}|{t}" for p, t in zip(samples.prompts, samples.texts, strict=True)]


def goodhart_run(world, cycles: int, warmup: int, kl_coef: float | None):
    engine = world.engine(holdout="vader", **({} if kl_coef is None else {"kl_coef": kl_coef}))
    engine.run(warmup, progress=False)
    engine.reward_source = "conscience"
    engine.run(cycles - warmup, progress=False)
    return M.trajectory(engine), engine.config.kl_coef


def corpus_section(world, meta) -> list[str]:
    from scalarscope.student.english_tokenizer import compare_tokenizers

    corpus = world.corpus
    say("== corpus")
    doc = ["## Corpus", "", f"Fingerprint `{corpus.fingerprint[:16]}`: Debian's fortunes and WordNet's example "
           "sentences (`scalarscope.corpus`), 4-20 words, ASCII, deduplicated, split by hash.", "",
           "| split | sentences | words |", "|---|---:|---:|"]
    for name, c in corpus.counts().items():
        doc.append(f"| {name} | {c['sentences']:,} | {c['words']:,} |")
        say(f"  {name}: {c['sentences']} sentences, {c['words']} words")
    say("== tokenizer and pretraining")
    cmp = compare_tokenizers(corpus.train, corpus.validation, vocab_size=meta["config"]["vocab_size"])
    doc += ["", f"## Tokenizer ({meta['config']['vocab_size']} tokens, trained on the train split, measured on "
            "validation)", "", "| kind | tokens per word | sentences decoded exactly | unknown tokens |",
            "|---|---:|---:|---:|"]
    for kind, r in cmp.items():
        doc.append(f"| {kind} | {r['tokens_per_word']:.3f} | {r['exact_round_trip']:.3f} | {r['unknown_share']:.4f} |")
        say(f"  {kind}: {r}")
    doc += ["", "The student uses the byte-level BPE: about the same compression as WordPiece, and every sentence "
            "decodes back to itself (the judges read decoded text; WordPiece re-spaces punctuation and "
            "contractions).", ""]
    ppl, base, cfg = meta["validation_perplexity"], meta["baselines"], meta["config"]
    uni, bi = base["unigram"]["perplexity"], base["bigram"]["perplexity"]
    doc += ["## Pretrained student", "",
            f"GPT-2 from a `GPT2Config`: {cfg['n_layer']} layers, width {cfg['n_embd']}, {cfg['vocab_size']} tokens, "
            f"{meta['n_parameters']:,} weights; {cfg['steps']} steps of {cfg['batch_size']} sentences over "
            f"{meta['n_train_tokens']:,} training tokens; {meta['seconds']:.0f} s of training (one torch thread, "
            "on the 2-core machine shared with other work).", "", "| model | validation perplexity |", "|---|---:|",
            f"| pretrained GPT-2 | {ppl:.1f} |", f"| unigram (add-k, k={base['unigram']['k']}) | {uni:.1f} |",
            f"| bigram (add-k, k={base['bigram']['k']}) | {bi:.1f} |", "",
            f"- perplexity <= 0.5 x unigram ({0.5 * uni:.1f}): **{'met' if ppl <= 0.5 * uni else 'NOT met'}**",
            f"- perplexity < bigram ({bi:.1f}): **{'met' if ppl < bi else 'NOT met'}**",
            f"- pretraining within 10 minutes: **{'met' if meta['seconds'] <= 600 else 'NOT met'}** "
            f"({meta['seconds']:.0f} s)", ""]
    say(f"  ppl {ppl:.1f}, unigram {uni:.1f}, bigram {bi:.1f}, {meta['seconds']:.0f} s")
    return doc


def judges_section(world, args) -> list[str]:
    say("== judges on held-out corpus text")
    natural = world.natural_texts(args.natural)
    names, corr = M.judge_correlations(world.evaluators(), natural)
    doc = ["## Judges' correlations on held-out corpus sentences", "", f"{len(natural)} sentences of the probe split.",
           "", "| | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for name, row in zip(names, corr, strict=True):
        doc.append(f"| {name} | " + " | ".join(f"{v:+.2f}" for v in row) + " |")
        say(f"  {name:>16} " + " ".join(f"{v:+.2f}" for v in row))
    return doc


def transfer_section(rows, args) -> list[str]:
    out = ["", f"## Each judge held out in turn ({args.cycles} cycles, KL penalty on)", "",
           "Transfer = corr(the scalar head's mean prediction of the training judges, the held-out judge), with its "
           "95% bootstrap interval and the p-value of a permutation null; ceiling = corr(the training judges' "
           "equal-weight mean, held-out judge); best = with their best linear combination; fidelity = corr(head, "
           "training judges' mean).", ""]
    for dist, place in PLACES.items():
        out += [f"### On {place}", "", "| held out | seed | transfer | 95% interval | p null | ceiling | best ceiling "
                "| fidelity | n |", "|---|---:|---:|---|---:|---:|---:|---:|---:|"]
        for r in rows:
            m = r[dist]
            out.append(f"| {r['holdout']} | {r['seed']} | {m.transfer:+.3f} | [{m.ci_low:+.3f}, {m.ci_high:+.3f}] | "
                       f"{m.p_null:.3f} | {m.ceiling:+.3f} | {m.best_ceiling:.3f} | {m.fidelity:+.3f} | {m.n} |")
        out.append("")
    out += ["### Verdicts on held-out corpus sentences", ""]
    for holdout in dict.fromkeys(r["holdout"] for r in rows):
        mine = [r["natural"] for r in rows if r["holdout"] == holdout]
        t, best = np.mean([m.transfer for m in mine]), np.mean([m.best_ceiling for m in mine])
        line = (f"- {holdout} ({len(mine)} seed{'s' * (len(mine) > 1)}): mean transfer {t:+.3f}, mean best ceiling "
                f"{best:.3f}, ratio {t / best:.2f}")
        if holdout in ("vader", "afinn"):
            ok = t >= 0.6 * best and all(m.ci_low > 0 for m in mine)
            line += f"; Path B target (>= 0.6 x best ceiling, every interval above 0): **{'met' if ok else 'NOT met'}**"
        if holdout == "common":
            ok = abs(t) <= 0.1 and all(m.ci_low <= 0 <= m.ci_high for m in mine)
            line += f"; Path A target (|transfer| <= 0.1, intervals containing 0): **{'met' if ok else 'NOT met'}**"
        out.append(line)
        say(line)
    return out


def kl_section(with_kl, no_kl, args) -> list[str]:
    out = ["", f"## Does the student still write English? ({args.cycles} cycles, VADER held out, seed 0)", "",
           f"| KL penalty | training judges' mean score, first {min(20, args.cycles // 2)} -> last {min(20, args.cycles // 2)} cycles | rise | perplexity of final "
           "samples under the reference | the reference's own samples | ratio |", "|---|---|---:|---:|---:|---:|"]
    for r in (with_kl, no_kl):
        rise, ratio = r["rise"][1] - r["rise"][0], r["ppl_final"] / r["ppl_reference_own"]
        out.append(f"| kl_coef {r['kl_coef']:g} | {r['rise'][0]:.3f} -> {r['rise'][1]:.3f} | {rise:+.3f} | "
                   f"{r['ppl_final']:.1f} | {r['ppl_reference_own']:.1f} | {ratio:.2f} |")
        say(f"  kl {r['kl_coef']:g}: rise {rise:+.3f}, ppl {r['ppl_final']:.1f} vs {r['ppl_reference_own']:.1f}")
    rise = with_kl["rise"][1] - with_kl["rise"][0]
    ratio = with_kl["ppl_final"] / with_kl["ppl_reference_own"]
    out += ["", f"- with the default penalty, training judges' score rise >= 0.1: **{'met' if rise >= 0.1 else 'NOT met'}**"
            f" ({rise:+.3f})", f"- final samples' perplexity <= 3 x the reference's own: "
            f"**{'met' if ratio <= 3 else 'NOT met'}** ({ratio:.2f})", ""]
    out += ["First samples (cycle 0: the pretrained student after the world's prompts; prompt and response are "
            "shown as `prompt|response`):", ""] + [f"{i + 1}. `{t}`" for i, t in enumerate(with_kl["first_samples"])]
    for r in (with_kl, no_kl):
        out += ["", f"Samples after {args.cycles} cycles, kl_coef {r['kl_coef']:g}:", ""]
        out += [f"- `{t}`" for t in r["last_samples"]]  # prompt|response
    return out


def goodhart_section(args, warmup: int) -> list[str]:
    out = ["", f"## Goodhart in English (warm-up {warmup} cycles on the judges, then the conscience; VADER held "
           "out; seed 0)", "", "Cycle means of the policy's samples, averaged over bins of cycles: sqrt(KL) to the "
           "pretrained reference, the training judges' mean score and the held-out VADER's.", ""]
    for kl in (None, 0.0):
        traj, coef = goodhart_run(english_world(0), args.cycles, warmup, kl)
        out += [f"### kl_coef {coef:g}", "", "| cycles | trained on | sqrt(KL) | training judges | vader (held out) |",
                "|---|---|---:|---:|---:|"]
        edges = np.linspace(0, len(traj["sqrt_kl"]), 7).astype(int)
        for a, b in zip(edges[:-1], edges[1:], strict=True):
            phase = "judges" if b <= warmup else ("conscience" if a >= warmup else "both")
            line = (f"| {a}-{b - 1} | {phase} | {np.nanmean(traj['sqrt_kl'][a:b]):.3f} | "
                    f"{np.nanmean(traj['train_mean'][a:b]):.3f} | {np.nanmean(traj['vader'][a:b]):.3f} |")
            out.append(line)
            say(f"  kl {coef:g} " + line)
        out.append("")
    return out


def main() -> int:
    args = parse_args()
    warmup = args.warmup or max(args.cycles // 3, 1)
    start = time.perf_counter()
    world = english_world(0)
    meta = json.loads((world.folder / "scalarscope_pretrain.json").read_text())
    version = code_version() or "an unknown commit"
    doc = ["# The question asked in English", "", f"Generated by `python examples/english_results.py --cycles "
           f"{args.cycles} --seeds {args.seeds} --headline-seeds {args.headline_seeds} --natural {args.natural} "
           f"--policy {args.policy} --random {args.random} --holdouts {args.holdouts}` at "
           f"{version}. Every number below is computed by that script.", ""]
    doc += corpus_section(world, meta) + judges_section(world, args)
    say("== held out in turn")
    rows = []
    for holdout in args.holdouts.split(","):
        for seed in range(args.headline_seeds if holdout == "vader" else args.seeds):
            rows.append(holdout_run(english_world(seed), holdout, args, samples=(seed == 0 and holdout == "vader")))
    doc += transfer_section(rows, args)
    with_kl = next(r for r in rows if r["holdout"] == "vader" and r["seed"] == 0)
    doc += kl_section(with_kl, holdout_run(english_world(0), "vader", args, kl_coef=0.0, samples=True), args)
    say("== Goodhart in English")
    doc += goodhart_section(args, warmup)
    doc += ["", f"Run time of the script: {time.perf_counter() - start:.0f} s (shared 2-core machine)."]
    Path(args.out).write_text("\n".join(doc) + "\n")
    say(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
