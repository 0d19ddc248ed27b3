"""``scalarscope pretrain``: pretrain (or reuse, or resume) the English world's student."""

from __future__ import annotations

import argparse


def add_pretrain(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    from scalarscope.student.pretrain_config import PretrainConfig

    default = PretrainConfig()
    parser.add_argument("--corpus", default=None, metavar="PATH",
                        help="a UTF-8 text file or folder (default: Debian's fortunes and wordnet-base)")
    parser.add_argument("--steps", type=int, default=default.steps, help="optimizer steps")
    parser.add_argument("--layers", type=int, default=default.n_layer)
    parser.add_argument("--width", type=int, default=default.n_embd)
    parser.add_argument("--vocab", type=int, default=default.vocab_size, help="tokenizer size")
    parser.add_argument("--tokenizer", default=default.tokenizer, choices=["bytelevel", "wordpiece"])
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="the student folder (default: the cache, keyed by corpus and config)")
    parser.add_argument("--samples", type=int, default=5, help="sentences to sample from the trained student")
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(handler=pretrain_command)
    return parser


def sample_sentences(student, n: int, *, seed: int = 0, max_new_tokens: int = 24) -> list[str]:
    """``n`` sentences the student writes from ``<bos>`` alone."""
    import numpy as np
    import torch

    gen = student.generate([np.zeros(0, dtype=np.int64)], np.zeros(n, dtype=np.int64), np.full(n, max_new_tokens),
                           generator=torch.Generator().manual_seed(seed))
    return student.tokenizer.decode_batch(gen.tokens, gen.lengths)


def pretrain_command(args: argparse.Namespace) -> int:
    from scalarscope.corpus import load_corpus
    from scalarscope.student.pretrain import PretrainConfig, load_student, pretrain, read_meta

    corpus = load_corpus(args.corpus)
    counts = corpus.counts()
    print(f"corpus {corpus.fingerprint[:12]}: " + ", ".join(
        f"{name} {c['sentences']} sentences / {c['words']} words" for name, c in counts.items()))
    config = PretrainConfig(steps=args.steps, n_layer=args.layers, n_embd=args.width, vocab_size=args.vocab,
                            tokenizer=args.tokenizer)
    folder = pretrain(corpus, config, folder=args.out, progress=not args.no_progress)
    meta = read_meta(folder)
    base = meta["baselines"]
    print(f"student:  {folder} ({meta['n_parameters']} weights, {meta['seconds']:.0f} s of training)")
    print(f"validation perplexity {meta['validation_perplexity']:.1f}; unigram {base['unigram']['perplexity']:.1f}, "
          f"bigram {base['bigram']['perplexity']:.1f} (add-k)")
    if args.samples:
        for text in sample_sentences(load_student(folder), args.samples):
            print("  " + text)
    return 0
