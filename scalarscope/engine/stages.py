"""One cycle as stages: grant, generate, [revise], evaluate, update, record.

Each stage is a function of the run context (:class:`~scalarscope.engine.context.RunContext`) and
the earlier stages' frozen results, and returns its own frozen result. The engine's ``step()``
is the list of them (:meth:`ScalarScopeEngine._cycle`); the update stage is in
:mod:`scalarscope.engine.update_stage`, the revision stage in :mod:`scalarscope.engine.revision_stage`.
"""

from __future__ import annotations

import time
from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np
import torch

from scalarscope.engine._cycle import batch_split
from scalarscope.engine._metrics import evaluator_failures
from scalarscope.engine._reading import pad_ids
from scalarscope.engine._threads import judge_worker
from scalarscope.engine.context import RunContext
from scalarscope.engine.records import FailureEvent, RevisionOutcome
from scalarscope.evaluators.base import ScoreTable, score_responses
from scalarscope.evaluators.scalar_head import predicted_scores
from scalarscope.governor import TokenPool
from scalarscope.student.generation import Generation


@dataclass(frozen=True, eq=False)
class Opened:
    """A cycle's prompts, batch split and randomness from (seed, cycle)."""

    index: int
    prompts: tuple[str, ...]
    prompt_ids: list[np.ndarray]
    rows: np.ndarray  # [P] responses per prompt
    row_prompt: np.ndarray  # [B] each response's prompt
    rng: np.random.Generator  # the cycle's draws, in stage order
    generator: torch.Generator  # the student's sampling
    start: float  # perf_counter at the start


@dataclass(frozen=True, eq=False)
class Granted:
    limits: np.ndarray  # [B] tokens each response may use


@dataclass(frozen=True, eq=False)
class Generated:
    """The responses to evaluate and the internal evaluator's prediction of them, made before any
    evaluator saw them; the cycle's off-policy probes; what revision (if present) did."""

    gen: Generation
    predicted: np.ndarray  # [B, H]
    probe_ids: np.ndarray  # [P', L] off-policy probe responses
    probe_prompt: np.ndarray  # [P'] their prompts
    draft_used: int  # tokens the drafts used
    revision_used: int = 0  # tokens revisions used
    revision: RevisionOutcome | None = None
    attempts: tuple = ()  # revision_stage.Attempt: the pairs the update learns from


@dataclass(frozen=True, eq=False)
class Evaluated:
    responses: tuple[str, ...]
    table: ScoreTable  # every evaluator's scores of the responses
    probe_table: ScoreTable | None  # the training evaluators' scores of the probes (while the head learns)
    failures: tuple[FailureEvent, ...]


def open_cycle(context: RunContext, index: int, prompts: list[str]) -> Opened:
    """The cycle's local state: its prompts, batch split and randomness from (seed, cycle)."""
    rng = np.random.default_rng([context.entropy, index, 2])
    generator = torch.Generator(device=context.device).manual_seed(int(rng.integers(2**62)))
    rows, row_prompt = batch_split(context.config.batch_size, len(prompts))
    return Opened(index, tuple(prompts), [context.encode_prompt(p) for p in prompts], rows, row_prompt, rng,
                  generator, time.perf_counter())


def grant(context: RunContext, pool: TokenPool, difficulty: np.ndarray, opened: Opened) -> Granted | None:
    """Open the ledger and set each row's token limit; None when nothing was granted."""
    cfg = context.config
    pool.open_cycle(opened.index)
    grants = pool.allocate(opened.rows * cfg.max_new_tokens, difficulty)
    limits = np.minimum(cfg.max_new_tokens, grants // np.maximum(opened.rows, 1))[opened.row_prompt]
    return Granted(limits) if limits.max(initial=0) > 0 else None


def generate(context: RunContext, reader, transfer, opened: Opened, granted: Granted) -> Generated:
    """Draw the cycle's off-policy probes; sample the responses, whose scalar-head values are the
    internal evaluator's prediction (they come out of decoding itself)."""
    cfg = context.config
    probe_ids = context.tokenizer.sample_probes(cfg.probe_batch, cfg.probe_length, opened.rng)
    probe_prompt = opened.rng.integers(len(opened.prompts), size=cfg.probe_batch)
    reader.begin(opened)
    if transfer.due(opened.index):
        context.transfer_probes()  # drawn and scored here, once, not on the probe worker
    gen = reader.generate(opened, granted.limits)
    return Generated(gen, predicted_scores(gen.values, gen.lengths), probe_ids, probe_prompt, int(gen.used.sum()))


def evaluate(context: RunContext, opened: Opened, generated: Generated, *, with_probes: bool) -> Evaluated:
    """Every evaluator scores the responses. ``with_probes`` (while the head learns): the cycle's
    off-policy probes ride along in the same call (one model call per judge per cycle); only the
    training evaluators' scores of them are kept."""
    gen, batch, tok = generated.gen, len(generated.gen.tokens), context.tokenizer
    responses = tok.decode_batch(gen.tokens, gen.lengths)
    rows, ids, lengths, texts = opened.row_prompt, gen.tokens, gen.lengths, responses
    if with_probes:
        probe_ids = generated.probe_ids
        probe_lengths = np.full(len(probe_ids), probe_ids.shape[1])
        width, pad = max(ids.shape[1], probe_ids.shape[1]), tok.pad_id
        ids = np.concatenate([pad_ids(ids, width, pad), pad_ids(probe_ids, width, pad)])
        rows, lengths = np.concatenate([rows, generated.probe_prompt]), np.concatenate([lengths, probe_lengths])
        texts = texts + tok.decode_batch(probe_ids, probe_lengths)
    table = score_responses(context.evaluators, [opened.prompts[p] for p in rows], texts,
                            prompt_ids=[opened.prompt_ids[p] for p in rows], response_ids=ids, lengths=lengths,
                            tokenizer=tok)
    responses_table = table.take(slice(0, batch))
    probe_table = table.take(slice(batch, None), context.train_cols) if len(rows) > batch else None
    failures = evaluator_failures(opened.index, responses_table.failures, context.train_names)
    if probe_table is not None:
        failures += evaluator_failures(opened.index, probe_table.failures, context.train_names)
    return Evaluated(tuple(responses), responses_table, probe_table, tuple(failures))


def start_evaluation(context: RunContext, opened: Opened, generated: Generated, *, with_probes: bool) -> Future:
    """:func:`evaluate`, on the judge worker when ``concurrent_judges`` (the update's teacher-forced
    pass runs meanwhile and waits for the result only for its loss), else here and now."""
    if context.config.concurrent_judges:
        return judge_worker().submit(evaluate, context, opened, generated, with_probes=with_probes)
    done: Future = Future()
    done.set_result(evaluate(context, opened, generated, with_probes=with_probes))
    return done
