"""Pure helpers of the revision stage: continuing a response from a token, and splicing versions
and score-table rows together (numpy in, numpy out)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from scalarscope.engine import _update
from scalarscope.evaluators.base import ScoreTable
from scalarscope.student.generation import Generation


def continue_from(model, row_ids, tokens, start, max_new, temperature, generator) -> Generation:
    """Continue each row of ``tokens`` [R, T] (answering prompt ids ``row_ids[r]``) from ``start`` [R],
    keeping the prefix, by up to ``max_new`` [R] tokens.

    The prefix is read as part of the prompt (``<bos> prompt prefix``), so the student's hidden
    state at the rewrite point is exactly the one the draft had there.
    """
    prefixed = [np.concatenate([row_ids[r], tokens[r, :p]]) for r, p in enumerate(start)]
    return model.generate(prefixed, np.arange(len(start)), np.asarray(max_new), temperature=temperature,
                          generator=generator)


def merge(base: Generation, rows, start, rev: Generation, pad: int) -> Generation:
    """``base`` with rows ``rows`` replaced from ``start`` on by ``rev``'s tokens, values, stats and hidden states."""
    tokens, values, stats = base.tokens.copy(), base.values.copy(), base.logit_stats.copy()
    keep_hidden = base.hidden is not None and rev.hidden is not None
    hidden = base.hidden.copy() if keep_hidden else None
    lengths, used = base.lengths.copy(), base.used.copy()
    for i, (b, p) in enumerate(zip(rows, start, strict=True)):
        n = int(rev.used[i])
        tokens[b, p:], values[b, p:], stats[b, p:] = pad, 0.0, 0.0
        tokens[b, p:p + n], values[b, p:p + n], stats[b, p:p + n] = rev.tokens[i, :n], rev.values[i, :n], \
            rev.logit_stats[i, :n]
        if keep_hidden:
            hidden[b, p:] = 0.0
            hidden[b, p:p + n] = rev.hidden[i, :n]
        lengths[b], used[b] = p + rev.lengths[i], p + n
    return Generation(tokens, lengths, used, stats, values, hidden)


def take(gen: Generation, index) -> Generation:
    return Generation(gen.tokens[index], gen.lengths[index], gen.used[index], gen.logit_stats[index],
                      gen.values[index], None if gen.hidden is None else gen.hidden[index])


def row_of(table: ScoreTable, b: int) -> ScoreTable:
    return ScoreTable(table.sequence[b:b + 1], table.tokens[b:b + 1], table.has_tokens, table.valid[b:b + 1], ())


def set_rows(table: ScoreTable, rows, source: ScoreTable, index) -> ScoreTable:
    seq, valid = table.sequence.copy(), table.valid.copy()
    width = table.tokens.shape[1]
    tok = table.tokens.copy()
    seq[rows], valid[rows] = source.sequence[index], source.valid[index]
    tok[rows] = _update.pad_to3(source.tokens[index], width)
    return replace(table, sequence=seq, tokens=tok, valid=valid)
