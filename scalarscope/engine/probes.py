"""Fixed probe sets the engine measures itself on (numpy in, numpy out), from the run context."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from scalarscope.engine._threads import torch_threads
from scalarscope.errors import EvaluatorError
from scalarscope.evaluators.base import score_responses
from scalarscope.evaluators.scalar_head import predicted_scores
from scalarscope.geometry import layout_from_scores

if TYPE_CHECKING:
    from scalarscope.engine.context import RunContext
    from scalarscope.evaluators.base import ScoreTable
    from scalarscope.geometry import EvaluatorLayout

STATE_PROMPT = "judge this:"


def predict_probes(context: RunContext, prompt_ids: list[np.ndarray], prompt_index: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """The internal evaluator's predicted scores [n, H] for full-length probe responses ``ids``
    [n, L] answering the prompts (token ids) ``prompt_ids[prompt_index]``."""
    with torch_threads(context.config.torch_threads):
        values = context.student.predict_values(prompt_ids, prompt_index, ids)
    return predicted_scores(values, np.full(len(ids), ids.shape[1]))


def score_probes(context: RunContext, prompts: list[str], prompt_index: np.ndarray, ids: np.ndarray) -> ScoreTable:
    """Every evaluator's :class:`ScoreTable` for probe responses ``ids`` [n, L] answering
    ``prompts[prompt_index]``."""
    tok = context.tokenizer
    prompt_ids = [tok.encode(p, what="prompt") for p in prompts]
    lengths = np.full(len(ids), ids.shape[1])
    return score_responses(context.evaluators, [prompts[i] for i in prompt_index], tok.decode_batch(ids, lengths),
                           prompt_ids=[prompt_ids[i] for i in prompt_index], response_ids=ids, lengths=lengths,
                           tokenizer=tok)


def score_state_probe(context: RunContext, ids: np.ndarray) -> np.ndarray:
    """Every evaluator's scores [S, n] of the fixed state probe ``ids`` [S, L] after the state
    prompt; an evaluator that fails on it is an error (the state and the checkpoint fingerprint
    need every score)."""
    table = score_probes(context, [STATE_PROMPT], np.zeros(len(ids), dtype=int), ids)
    if table.failures:
        name, problem = table.failures[0]
        raise EvaluatorError(f"evaluator {name!r} {problem}; it must return a finite score in [0, 1]")
    return table.sequence


def predict_and_score(context: RunContext, prompts: list[str], prompt_index: np.ndarray, ids: np.ndarray
                      ) -> tuple[np.ndarray, ScoreTable]:
    """:func:`predict_probes` and :func:`score_probes` of the same probes."""
    prompt_ids = [context.tokenizer.encode(p, what="prompt") for p in prompts]
    return predict_probes(context, prompt_ids, prompt_index, ids), score_probes(context, prompts, prompt_index, ids)


def evaluator_layout(context: RunContext, *, n_probes: int = 1000, seed: int = 0) -> EvaluatorLayout:
    """True evaluators and the internal heads in one 2-D frame, on ``n_probes`` fixed random probes.

    Returns a :class:`scalarscope.geometry.EvaluatorLayout` (evaluator loadings on the first two
    axes of their correlation matrix, and each head's correlation with those axes).
    """
    rng = np.random.default_rng([abs(int(seed)), 12])
    ids = context.tokenizer.sample_probes(n_probes, context.config.probe_length, rng)
    heads, table = predict_and_score(context, [STATE_PROMPT], np.zeros(n_probes, dtype=int), ids)
    # failed scores are left out, not guessed; an evaluator that failed on every probe sits at the origin
    scores = np.where(table.valid | ~table.valid.any(0), table.sequence, np.nan)
    return layout_from_scores(scores, heads, [e.name for e in context.evaluators],
                     [f"internal:{n}" for n in context.train_names])
