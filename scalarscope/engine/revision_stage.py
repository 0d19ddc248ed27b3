"""Revision as a strategy the engine is given: the [revise] stage between generation and
evaluation, and the pair step of the update.

Drafts the internal evaluator predicts weak are rewritten from a target token on, keeping the
prefix, within the revision tokens the ``TokenPool`` grants. The training evaluators score both
versions (the held-out evaluator never does: it must not steer training); the reward source ranks
them (the evaluators' mean score, or under the conscience the head's predicted score) and the
better one per response becomes the cycle's outcome. The pair then teaches the policy (the revised
tokens' advantage over the draft's at the same positions, by the reward source) and, while the
head learns, the scalar head (both versions), in one extra step through
:func:`~scalarscope.engine.update_stage.apply_step`. Decisions live in :mod:`scalarscope.engine.revision`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import torch

from scalarscope.engine import _update
from scalarscope.engine.context import RunContext
from scalarscope.engine.records import RevisionOutcome
from scalarscope.engine.revision import (
    RevisionConfig,
    aggregate,
    mean_valid_score,
    reason,
    split_budget,
    triggers,
    typical_values,
    weak_positions,
)
from scalarscope.engine.revision_pairs import continue_from, merge, row_of, set_rows, take
from scalarscope.engine.stages import Generated, Opened
from scalarscope.evaluators.base import ScoreTable, score_responses
from scalarscope.evaluators.scalar_head import head_loss, predicted_scores

if TYPE_CHECKING:
    from scalarscope.engine.update_stage import StepOutcome



@dataclass(frozen=True)
class Attempt:
    """One rewrite of row ``row`` from token ``position``: the version revised and the revision."""

    row: int
    position: int
    base: np.ndarray  # [T] tokens of the version that was revised
    revised: np.ndarray  # [T]
    lengths: tuple[int, int]  # response tokens of (base, revised), EOS excluded
    used: tuple[int, int]  # tokens sampled for (base, revised), EOS included
    base_table: ScoreTable  # one row, training evaluators only
    revised_table: ScoreTable
    base_values: np.ndarray  # [T, H] the scalar head's values from decoding (the conscience's rewards)
    revised_values: np.ndarray


@dataclass(eq=False)
class _Versions:
    """The revise stage's working state (local to one call): the kept versions and the tallies."""

    kept: object  # Generation
    table: ScoreTable
    predicted: np.ndarray  # [B] aggregate predicted score of the kept versions
    rank: np.ndarray  # [B] the reward source's ranking of them
    best_revision: np.ndarray  # [B] gold: best training-evaluator score of a revision
    attempted: np.ndarray
    accepted: np.ndarray
    spent: int = 0
    positions: list = field(default_factory=list)
    attempts: list = field(default_factory=list)
    why: str | None = None


@dataclass(frozen=True)
class Revision:
    """The revision strategy: ``config`` says when and where to rewrite and how much the pair weighs."""

    config: RevisionConfig = field(default_factory=RevisionConfig)

    def revise(self, context: RunContext, pool, reward, opened: Opened, generated: Generated) -> Generated:
        """[revise] Rewrite the drafts predicted weak; returns what is to be evaluated."""
        cfg, gen = self.config, generated.gen
        local = np.random.default_rng([context.entropy, opened.index, 5])  # own draws: the cycle's stay untouched
        generator = torch.Generator().manual_seed(int(local.integers(2**62)))
        predicted = aggregate(generated.predicted)
        fired0 = triggers(predicted, cfg.threshold)
        if not fired0.any():
            outcome = RevisionOutcome(0, 0, reason(predicted, fired0, cfg.threshold, 0, 0), -1.0, 0, 0.0, 0.0, 0,
                                      responses=len(opened.row_prompt))
            return replace(generated, revision=outcome)
        table = self._score(context, opened, np.arange(len(gen.tokens)), gen)
        draft_score = mean_valid_score(table)  # gold, recorded; the ranking is the reward source's
        versions = _Versions(gen, table, predicted, reward.ranking(table, gen.values, gen.lengths),
                             np.full(len(gen.tokens), -np.inf), np.zeros(len(gen.tokens), dtype=bool),
                             np.zeros(len(gen.tokens), dtype=bool))
        typical = typical_values(gen.values, gen.lengths)
        for _ in range(cfg.max_revisions):
            if not self._round(context, pool, reward, opened, versions, fired0, typical, local, generator):
                break
        return self._result(generated, versions, fired0, draft_score)

    def _round(self, context, pool, reward, opened, v: _Versions, fired0, typical, local, generator) -> bool:
        """One round of rewrites of the versions still predicted weak; False when there is nothing to do."""
        cfg = self.config
        # a version the reward source cannot rank (no valid evaluator score) is left alone
        fired = np.flatnonzero(triggers(v.predicted, cfg.threshold) & np.isfinite(v.rank))
        if len(fired) == 0:
            v.why = v.why or f"unscored: {int(fired0.sum())} triggered drafts had no valid training-evaluator score"
            return False
        start = weak_positions(v.kept.values[fired], v.kept.lengths[fired], cfg.targeting, local,
                               typical=typical, margin=cfg.weak_margin)
        costs = v.kept.tokens.shape[1] - start
        # with no revision share the pool is not asked (a zero share is "revision off", not a refusal)
        grant = pool.grant_revision(int(costs.sum())) if pool.config.revision_tokens > 0 else 0
        v.why = v.why or reason(v.predicted, fired0, cfg.threshold, int(costs.sum()), grant)
        allowed = split_budget(v.predicted[fired], costs, grant)
        go = allowed > 0
        if not go.any():
            return False
        rows, start, allowed = fired[go], start[go], allowed[go]
        row_ids = [opened.prompt_ids[opened.row_prompt[b]] for b in rows]
        rev = continue_from(context.student, row_ids, v.kept.tokens[rows], start, allowed,
                            context.config.temperature, generator)
        revised = merge(v.kept, rows, start, rev, context.tokenizer.pad_id)
        rev_table = self._score(context, opened, rows, take(revised, rows))
        better = reward.ranking(rev_table, revised.values[rows], revised.lengths[rows]) > v.rank[rows]
        self._tally(v, rows, start, revised, rev_table, rev.used)
        v.accepted[rows[better]] = True
        v.kept = merge(v.kept, rows[better], start[better], take(rev, np.flatnonzero(better)), context.tokenizer.pad_id)
        v.table = set_rows(v.table, rows[better], rev_table, np.flatnonzero(better))
        v.predicted = aggregate(predicted_scores(v.kept.values, v.kept.lengths))
        v.rank = reward.ranking(v.table, v.kept.values, v.kept.lengths)
        return True

    @staticmethod
    def _tally(v: _Versions, rows, start, revised, rev_table: ScoreTable, used) -> None:
        """Record the round's attempts (the pairs the update learns from) and its gold scores."""
        kept = v.kept
        v.attempts += [Attempt(int(b), int(p), kept.tokens[b].copy(), revised.tokens[b].copy(),
                               (int(kept.lengths[b]), int(revised.lengths[b])), (int(kept.used[b]), int(revised.used[b])),
                               row_of(v.table, b), row_of(rev_table, i), kept.values[b].copy(), revised.values[b].copy())
                       for i, (b, p) in enumerate(zip(rows, start, strict=True))]
        v.best_revision[rows] = np.maximum(v.best_revision[rows], mean_valid_score(rev_table))
        v.attempted[rows] = True
        v.spent += int(used.sum())
        v.positions += start.tolist()

    def _result(self, generated: Generated, v: _Versions, fired0, draft_score) -> Generated:
        cfg = self.config
        revised_rows = v.attempted & np.isfinite(v.best_revision)  # scores only where the revision could be scored
        outcome = RevisionOutcome(
            triggered=int(fired0.sum()), revised=int(v.attempted.sum()),
            reason=v.why or reason(v.predicted, fired0, cfg.threshold, 0, 0),
            mean_position=float(np.mean(v.positions)) if v.positions else -1.0, tokens_spent=v.spent,
            score_before=float(draft_score[revised_rows].mean()) if revised_rows.any() else 0.0,
            score_after=float(v.best_revision[revised_rows].mean()) if revised_rows.any() else 0.0,
            accepted=int(v.accepted.sum()), responses=len(generated.gen.tokens))
        gen = v.kept if v.attempts else generated.gen
        predicted = generated.predicted if gen is generated.gen else predicted_scores(gen.values, gen.lengths)
        return Generated(gen, predicted, generated.probe_ids, generated.probe_prompt, generated.draft_used,
                         v.spent, outcome, tuple(v.attempts))

    @staticmethod
    def _score(context: RunContext, opened: Opened, rows: np.ndarray, gen) -> ScoreTable:
        """Score responses with the training evaluators only (the holdout must not steer training)."""
        prompt_rows = opened.row_prompt[rows]
        return score_responses([context.evaluators[i] for i in context.train_cols],
                               [opened.prompts[p] for p in prompt_rows],
                               context.tokenizer.decode_batch(gen.tokens, gen.lengths),
                               prompt_ids=[opened.prompt_ids[p] for p in prompt_rows], response_ids=gen.tokens,
                               lengths=gen.lengths, tokenizer=context.tokenizer)

    def learn(self, context: RunContext, trainer, opened: Opened, generated: Generated) -> StepOutcome:
        """The pair step: policy from the revision's advantage over the version it rewrote (at the
        same positions, from the rewrite point on), by the reward source; the scalar head on both
        versions while it learns. Returns the :class:`~scalarscope.engine.update_stage.StepOutcome`."""
        from scalarscope.engine.update_stage import apply_step

        attempts, width = generated.attempts, generated.gen.tokens.shape[1]
        ids = np.stack([a.base for a in attempts] + [a.revised for a in attempts])
        lengths = np.array([a.lengths[0] for a in attempts] + [a.lengths[1] for a in attempts])
        merged = _merged_table([a.base_table for a in attempts] + [a.revised_table for a in attempts], width)
        values = np.stack([a.base_values for a in attempts] + [a.revised_values for a in attempts])
        rewards = trainer.reward.token_rewards(merged, np.arange(merged.sequence.shape[1]), values, lengths, width)
        advantage, active = _pair_advantage(rewards, attempts, width)
        rows = np.tile(opened.row_prompt[[a.row for a in attempts]], 2)
        logits, head_values = trainer.reader.forward_rows(opened, rows, ids)
        loss = self.config.pair_weight * _update.reinforce_loss(logits, ids, advantage, active)[0]
        if trainer.reward.head_learns(context.config):  # the frozen conscience gets no regression term
            loss = loss + context.config.head_weight * head_loss(head_values, lengths, merged.sequence, merged.tokens,
                                                                 merged.has_tokens, merged.valid)
        return apply_step(context, trainer, opened.index, loss, "revision pair loss")


def _merged_table(tables: list[ScoreTable], width: int) -> ScoreTable:
    seq = np.concatenate([t.sequence for t in tables])
    tok = np.concatenate([_update.pad_to3(t.tokens, width) for t in tables])
    return ScoreTable(seq, tok, tables[0].has_tokens, np.concatenate([t.valid for t in tables]), ())


def _pair_advantage(rewards: np.ndarray, attempts, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Scaled advantage [2n, T] of each version's reward-to-go over its partner's, and where it
    applies (from the rewrite point to the version's end)."""
    n = len(attempts)
    used = np.array([a.used[0] for a in attempts] + [a.used[1] for a in attempts])
    to_go = np.flip(np.cumsum(np.flip(rewards, 1), 1), 1)
    start = np.array([a.position for a in attempts] * 2)
    active = (np.arange(width)[None, :] >= start[:, None]) & (np.arange(width)[None, :] < used[:, None])
    advantage = (to_go - np.concatenate([to_go[n:], to_go[:n]])) * active
    scale = advantage[active].std() if active.sum() > 1 else 1.0
    return advantage / (scale + 1e-6), active
