"""Pretraining the English world's student: a small GPT-2 over a byte-level BPE, in the kit.

:func:`pretrain` trains the tokenizer on the corpus's training split, then a GPT-2 built from a
``GPT2Config`` on ``<bos> sentence <eos>`` rows (padding masked out of the loss), with AdamW, a
linear warm-up and a cosine decay, and writes a ``save_pretrained`` folder (model, ``tokenizer.json``
and ``scalarscope_pretrain.json``: the corpus fingerprint, the config, the tokenizer's SHA-256,
the validation perplexity and the n-gram baselines) that
:meth:`~scalarscope.student.hf.HFStudent.from_pretrained` loads.

The folder lives in the cache (``$SCALARSCOPE_CACHE``, else ``~/.cache/scalarscope``) under
``english-student/<key>``, the key hashing the corpus fingerprint and the config: a second call
with the same corpus and config reuses it. Training saves a checkpoint in the folder every
``checkpoint_every`` steps; an interrupted run resumes from it. :func:`load_student` checks that the
folder is complete and that its tokenizer is the one the student was trained with.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from scalarscope._atomic import atomic_write, atomic_write_text
from scalarscope.errors import CheckpointError
from scalarscope.student.english_tokenizer import ngram_perplexities, sentence_rows, train_tokenizer
from scalarscope.student.pretrain_config import PretrainConfig, student_folder

if TYPE_CHECKING:
    from scalarscope.student.hf import HFStudent

META = "scalarscope_pretrain.json"
STATE = "pretrain_state.pt"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _model(config: PretrainConfig, tokenizer):
    from transformers import GPT2Config, GPT2LMHeadModel

    gpt = GPT2Config(vocab_size=len(tokenizer), n_positions=config.n_positions, n_embd=config.n_embd,
                     n_layer=config.n_layer, n_head=config.n_head, bos_token_id=tokenizer.bos_token_id,
                     eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                     resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        return GPT2LMHeadModel(gpt)


def _batch(rows: list[np.ndarray], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = np.full((len(rows), width), pad, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, r in enumerate(rows):
        ids[i, : len(r)], mask[i, : len(r)] = r, 1
    return torch.from_numpy(ids), torch.from_numpy(mask)


def _loss(model, rows: list[np.ndarray], pad: int) -> tuple[torch.Tensor, int]:
    """Mean next-token cross-entropy over the rows' targets (tokens after each row's first), and their count."""
    ids, mask = _batch(rows, pad)
    labels = ids.masked_fill(mask == 0, -100)
    logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1]
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1),
                                             ignore_index=-100, reduction="sum")
    n = int((labels[:, 1:] != -100).sum())
    return loss / max(n, 1), n


@torch.no_grad()
def perplexity(model, rows: list[np.ndarray], pad: int, *, batch: int = 128) -> float:
    """Per-token perplexity of ``rows``'s targets under ``model``."""
    model.eval()
    total, count = 0.0, 0
    for i in range(0, len(rows), batch):
        loss, n = _loss(model, rows[i:i + batch], pad)
        total, count = total + float(loss) * n, count + n
    return math.exp(total / max(count, 1))


def _batches(lengths: np.ndarray, config: PretrainConfig) -> list[np.ndarray]:
    """Row indices of every step's batch: each epoch a fresh permutation, cut into windows of 64
    batches whose rows are sorted by length (little padding), the batches then shuffled."""
    rng = np.random.default_rng([config.seed, 7])
    batches: list[np.ndarray] = []
    window = 64 * config.batch_size
    while len(batches) < config.steps:
        order = rng.permutation(len(lengths))
        epoch = []
        for i in range(0, len(order), window):
            chunk = order[i:i + window]
            chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
            epoch += [chunk[j:j + config.batch_size] for j in range(0, len(chunk), config.batch_size)]
        batches += [epoch[i] for i in rng.permutation(len(epoch))]
    return batches


def _lr(config: PretrainConfig, step: int) -> float:
    if step < config.warmup:
        return config.learning_rate * (step + 1) / config.warmup
    progress = (step - config.warmup) / max(config.steps - config.warmup, 1)
    return config.learning_rate * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


def pretrain(corpus, config: PretrainConfig | None = None, *, folder: str | os.PathLike[str] | None = None,
             progress: bool = True, checkpoint_every: int = 200, threads: int | None = 1,
             max_steps: int | None = None) -> Path:
    """Pretrain (or reuse, or resume) the student for ``corpus``; returns its folder.
    ``max_steps`` stops after that many steps this call (the checkpoint lets a later call resume)."""
    from tqdm.auto import tqdm
    from transformers import PreTrainedTokenizerFast

    config = config or PretrainConfig()
    out = Path(folder) if folder is not None else student_folder(corpus, config)
    if (out / META).is_file() and json.loads((out / META).read_text()).get("complete"):
        return out
    out.mkdir(parents=True, exist_ok=True)
    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        if (out / "tokenizer.json").is_file():
            tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(out / "tokenizer.json"), pad_token="<pad>",
                                                bos_token="<bos>", eos_token="<eos>")
        else:
            tokenizer = train_tokenizer(corpus.train, kind=config.tokenizer, vocab_size=config.vocab_size)
            tokenizer.save_pretrained(out)
        train_rows = sentence_rows(tokenizer, corpus.train, config.n_positions)
        valid_rows = sentence_rows(tokenizer, corpus.validation, config.n_positions)
        model = _model(config, tokenizer)
        optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
        step, seconds = 0, 0.0
        if (out / STATE).is_file():
            state = torch.load(out / STATE, weights_only=False)
            if state["config"] != asdict(config) or state["fingerprint"] != corpus.fingerprint:
                raise CheckpointError(f"{out / STATE} belongs to another corpus or config; delete {out} to start over")
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            step, seconds = state["step"], state["seconds"]
        batches = _batches(np.array([len(r) for r in train_rows]), config)
        stop = config.steps if max_steps is None else min(config.steps, step + max_steps)
        model.train()
        start = time.perf_counter() - seconds
        with tqdm(total=config.steps, initial=step, desc="pretrain", unit="step", disable=not progress) as bar:
            while step < stop:
                pick = batches[step]
                for group in optimizer.param_groups:
                    group["lr"] = _lr(config, step)
                loss, _ = _loss(model, [train_rows[i] for i in pick], tokenizer.pad_token_id)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                step += 1
                bar.update(1)
                bar.set_postfix(loss=f"{float(loss.detach()):.3f}", refresh=False)
                if step % checkpoint_every == 0 or step == stop:
                    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
                             "seconds": time.perf_counter() - start, "config": asdict(config),
                             "fingerprint": corpus.fingerprint}
                    atomic_write(out / STATE, lambda f, s=state: torch.save(s, f))
        if step < config.steps:
            return out
        model.save_pretrained(out)
        baselines = ngram_perplexities(train_rows, valid_rows, len(tokenizer))
        meta = {"complete": True, "fingerprint": corpus.fingerprint, "config": asdict(config),
                "tokenizer_sha256": _sha256(out / "tokenizer.json"), "seconds": time.perf_counter() - start,
                "validation_perplexity": perplexity(model, valid_rows, tokenizer.pad_token_id),
                "baselines": baselines, "n_train_tokens": int(sum(len(r) - 1 for r in train_rows)),
                "n_parameters": int(sum(p.numel() for p in model.parameters()))}
        atomic_write_text(out / META, json.dumps(meta, indent=1))
        (out / STATE).unlink(missing_ok=True)
        return out
    finally:
        torch.set_num_threads(previous)


def read_meta(folder: str | os.PathLike[str]) -> dict:
    """The pretraining record of a student folder; a folder without a complete one is refused."""
    path = Path(folder) / META
    if not path.is_file() or not json.loads(path.read_text()).get("complete"):
        raise CheckpointError(f"{folder} holds no finished pretrained student ({META} missing or incomplete); run "
                              "`scalarscope pretrain` (it resumes an interrupted run)")
    return json.loads(path.read_text())


def load_student(folder: str | os.PathLike[str], *, seed: int = 0, fingerprint: str | None = None) -> HFStudent:
    """The pretrained :class:`~scalarscope.student.hf.HFStudent` in ``folder``, after checking that its
    tokenizer is the one it was trained with (and, given ``fingerprint``, its corpus)."""
    from scalarscope.student.hf import HFStudent

    meta = read_meta(folder)
    tokenizer_file = Path(folder) / "tokenizer.json"
    if not tokenizer_file.is_file() or _sha256(tokenizer_file) != meta["tokenizer_sha256"]:
        raise CheckpointError(f"the tokenizer in {folder} is not the one its student was pretrained with (SHA-256 "
                              "differs): the token ids would mean other words. Restore the folder's tokenizer.json, "
                              "or delete the folder and run `scalarscope pretrain` again")
    if fingerprint is not None and meta["fingerprint"] != fingerprint:
        raise CheckpointError(f"the student in {folder} was pretrained on corpus {meta['fingerprint'][:12]}, not "
                              f"{fingerprint[:12]}; run `scalarscope pretrain` for this corpus")
    return HFStudent.from_pretrained(str(folder), seed=seed)
