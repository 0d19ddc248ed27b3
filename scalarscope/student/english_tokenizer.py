"""Subword tokenizers trained offline on a corpus's training split, and n-gram baselines.

:func:`train_tokenizer` trains a byte-level BPE (the English world's choice) or a WordPiece with
the ``tokenizers`` library and wraps it as a ``transformers`` fast tokenizer with ``<pad>`` 0,
``<bos>`` 1, ``<eos>`` 2 (WordPiece also has ``<unk>``). :func:`compare_tokenizers` measures both
on held-out sentences: tokens per word, how many sentences decode back to themselves exactly, and
the share of unknown tokens. :func:`ngram_perplexities` gives the add-k unigram and bigram
baselines a language model's perplexity is compared with, on the same token targets.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from scalarscope.errors import ConfigError, check_scalar

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

SPECIALS = ("<pad>", "<bos>", "<eos>")
KINDS = ("bytelevel", "wordpiece")


def train_tokenizer(sentences: Sequence[str], *, kind: str = "bytelevel", vocab_size: int = 4096) -> PreTrainedTokenizerFast:
    """A ``PreTrainedTokenizerFast`` of ``vocab_size`` tokens trained on ``sentences``."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    check_scalar(vocab_size, "vocab_size", kind=int, min_value=300, hint="A few thousand tokens, e.g. 4096.")
    if kind == "bytelevel":
        core = Tokenizer(models.BPE())
        core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        core.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIALS), show_progress=False,
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
        extra = {}
    elif kind == "wordpiece":
        core = Tokenizer(models.WordPiece(unk_token="<unk>"))
        core.normalizer = normalizers.NFKC()
        core.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        core.decoder = decoders.WordPiece()
        trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=[*SPECIALS, "<unk>"],
                                            show_progress=False)
        extra = {"unk_token": "<unk>"}
    else:
        raise ConfigError(f"kind={kind!r} is not a tokenizer kind; choose one of {KINDS}")
    if not sentences:
        raise ConfigError("no sentences to train a tokenizer on; give a corpus with a non-empty train split")
    core.train_from_iterator(list(sentences), trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=core, pad_token=SPECIALS[0], bos_token=SPECIALS[1],
                                   eos_token=SPECIALS[2], **extra)


def compare_tokenizers(train: Sequence[str], held_out: Sequence[str], *, vocab_size: int = 4096) -> dict[str, dict]:
    """Both kinds trained on ``train`` and measured on ``held_out``: tokens per word, the share of
    sentences that decode back exactly, the share of unknown tokens."""
    words = sum(len(s.split()) for s in held_out)
    table = {}
    for kind in KINDS:
        tok = train_tokenizer(train, kind=kind, vocab_size=vocab_size)
        ids = [tok(s, add_special_tokens=False)["input_ids"] for s in held_out]
        n_tokens = sum(len(i) for i in ids)
        exact = np.mean([tok.decode(i) == s for i, s in zip(ids, held_out, strict=True)])
        unk = tok.unk_token_id
        unknown = sum(t == unk for i in ids for t in i) / max(n_tokens, 1) if unk is not None else 0.0
        table[kind] = {"tokens_per_word": n_tokens / max(words, 1), "exact_round_trip": float(exact),
                       "unknown_share": float(unknown), "vocab_size": len(tok)}
    return table


def sentence_rows(tokenizer, sentences: Sequence[str], max_length: int) -> list[np.ndarray]:
    """``<bos> sentence <eos>`` token rows, each cut to ``max_length`` tokens."""
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    encoded = tokenizer(list(sentences), add_special_tokens=False)["input_ids"]
    return [np.asarray([bos, *ids, eos][:max_length], dtype=np.int64) for ids in encoded]


def ngram_perplexities(train_rows: Sequence[np.ndarray], eval_rows: Sequence[np.ndarray], vocab_size: int, *,
                       ks: Sequence[float] = (0.001, 0.01, 0.1, 1.0)) -> dict[str, dict[str, float]]:
    """Add-k unigram and bigram perplexities of ``eval_rows``'s targets (every token after the
    first of each row, as a language model predicts them), counts from ``train_rows``; each
    baseline reports its best ``k`` of ``ks`` (chosen on ``eval_rows``: the baselines' best case)."""
    def pairs(rows):
        prev = np.concatenate([r[:-1] for r in rows])
        nxt = np.concatenate([r[1:] for r in rows])
        return prev, nxt

    train_prev, train_next = pairs(train_rows)
    eval_prev, eval_next = pairs(eval_rows)
    uni = np.bincount(train_next, minlength=vocab_size).astype(np.float64)
    keys = train_prev.astype(np.int64) * vocab_size + train_next
    unique, counts = np.unique(keys, return_counts=True)
    pair_counts = dict(zip(unique.tolist(), counts.tolist(), strict=True))
    prev_totals = np.bincount(train_prev, minlength=vocab_size).astype(np.float64)
    eval_pairs = np.array([pair_counts.get(k, 0) for k in (eval_prev.astype(np.int64) * vocab_size + eval_next).tolist()],
                          dtype=np.float64)
    out = {}
    for name, probs in (("unigram", lambda k: (uni[eval_next] + k) / (uni.sum() + k * vocab_size)),
                        ("bigram", lambda k: (eval_pairs + k) / (prev_totals[eval_prev] + k * vocab_size))):
        best = min((float(np.exp(-np.log(probs(k)).mean())), k) for k in ks)
        out[name] = {"perplexity": best[0], "k": best[1]}
    return out
