"""Fixed probe sets the engine measures itself on (numpy in, numpy out)."""

from __future__ import annotations

import numpy as np

from scalarscope.engine._threads import torch_threads
from scalarscope.evaluators.base import score_responses
from scalarscope.evaluators.scalar_head import predicted_scores
from scalarscope.geometry import evaluator_layout as layout_of

STATE_PROMPT = "judge this:"


def evaluator_layout(engine, *, n_probes: int = 1000, seed: int = 0):
    """True evaluators and the internal heads in one 2-D frame, on ``n_probes`` fixed random probes.

    Returns a :class:`scalarscope.geometry.EvaluatorLayout` (evaluator loadings on the first two
    axes of their correlation matrix, and each head's correlation with those axes).
    """
    rng = np.random.default_rng([abs(int(seed)), 12])
    ids = rng.integers(3, engine.tokenizer.vocab_size, size=(n_probes, engine.config.probe_length))
    lengths = np.full(n_probes, ids.shape[1])
    with torch_threads(engine.config.torch_threads):
        values = engine.model.predict_values(engine._state_prompt_ids, np.zeros(n_probes, dtype=int), ids)
    heads = predicted_scores(values, lengths)
    table = score_responses(engine.evaluators, [STATE_PROMPT] * n_probes, engine.tokenizer.decode_batch(ids, lengths),
                            prompt_ids=engine._state_prompt_ids * n_probes, response_ids=ids, lengths=lengths)
    # failed scores are left out, not guessed; an evaluator that failed on every probe sits at the origin
    scores = np.where(table.valid | ~table.valid.any(0), table.sequence, np.nan)
    return layout_of(scores, heads, [e.name for e in engine.evaluators],
                     [f"internal:{n}" for n in engine.train_names])
