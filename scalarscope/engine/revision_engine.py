"""RevisionScalarScopeEngine: the training engine with a self-correction step.

Between self-prediction and evaluation (the ``_after_prediction`` hook of the base loop), drafts
the internal evaluator predicts weak are rewritten from a target token on, keeping the prefix,
within the revision tokens the ``TokenPool`` grants. The training evaluators score both versions
(the held-out evaluator never does: it must not steer training); the better one per response
becomes the cycle's outcome, which the base loop evaluates and trains on as usual. The pair then
teaches the policy (the revised tokens' advantage over the draft's at the same positions) and the
scalar head (both versions) in one extra optimisation step. Decisions live in
:mod:`scalarscope.engine.revision`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import torch

from scalarscope.engine import _update
from scalarscope.engine.config import EngineConfig
from scalarscope.engine.loop import ScalarScopeEngine
from scalarscope.engine.records import FailureEvent, RevisionOutcome
from scalarscope.engine.revision import (
    DEFAULT_REVISION_SHARE,
    RevisionConfig,
    RevisionSummary,
    aggregate,
    mean_valid_score,
    reason,
    split_budget,
    summarize_outcomes,
    triggers,
    typical_values,
    weak_positions,
)
from scalarscope.engine.steering import conscience_rewards
from scalarscope.errors import ConfigError
from scalarscope.evaluators.base import ScoreTable, score_responses
from scalarscope.evaluators.scalar_head import head_loss, predicted_scores
from scalarscope.governor import GovernorConfig, TokenPool
from scalarscope.student.generation import Generation


@dataclass(frozen=True)
class _Attempt:
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


class RevisionScalarScopeEngine(ScalarScopeEngine):
    """:class:`ScalarScopeEngine` that rewrites drafts its internal evaluator predicts weak.

    revision: a :class:`RevisionConfig` (threshold, rounds, targeting, pair-loss weight).
    The revision token share is the pool's ``GovernorConfig.revision_share``; without a
    ``token_pool`` the engine builds one that keeps the drafts' full budget and adds
    ``DEFAULT_REVISION_SHARE`` of the cycle for revisions. Other arguments as the base engine.
    """

    def __init__(self, model=None, evaluators=None, token_pool: TokenPool | None = None, *,
                 revision: RevisionConfig | None = None, **kwargs):
        self.revision_config = RevisionConfig() if revision is None else revision
        if not isinstance(self.revision_config, RevisionConfig):
            raise ConfigError(f"revision must be a RevisionConfig, got {type(revision).__name__}; "
                              "e.g. RevisionConfig(threshold=0.5, targeting='weakest-token')")
        if token_pool is None:
            config = kwargs.get("config") or EngineConfig()
            drafts = config.batch_size * config.max_new_tokens
            total = math.ceil(drafts / (1.0 - DEFAULT_REVISION_SHARE))
            token_pool = TokenPool(GovernorConfig(max_tokens_per_cycle=total, revision_share=DEFAULT_REVISION_SHARE))
        super().__init__(model, evaluators, token_pool, **kwargs)
        self._attempts: list[_Attempt] = []

    def revision_summary(self) -> RevisionSummary:
        """Trigger, revision and acceptance rates, mean uplift and tokens spent over the history."""
        return summarize_outcomes([r.revision for r in self.history])

    def _extra_state(self) -> dict:
        return {**super()._extra_state(), "init_kwargs": {"revision": self.revision_config}}

    # -- detect, target, rewrite, keep the better ----------------------------------------
    def _after_prediction(self, cycle, prompts, prompt_ids, row_prompt, gen: Generation, predicted, rng):
        cfg = self.revision_config
        self._attempts = []
        # own randomness from (seed, cycle): the base loop's rng and its draws stay untouched
        local = np.random.default_rng([self._entropy, cycle, 5])
        generator = torch.Generator().manual_seed(int(local.integers(2**62)))
        kept_pred = aggregate(predicted)
        fired0 = triggers(kept_pred, cfg.threshold)
        if not fired0.any():
            outcome = RevisionOutcome(0, 0, reason(kept_pred, fired0, cfg.threshold, 0, 0), -1.0, 0, 0.0, 0.0, 0,
                                      responses=len(row_prompt))
            return gen, {"revision": outcome, "revision_used": 0, "draft_used": int(gen.used.sum())}
        row_prompts = [prompts[p] for p in row_prompt]
        row_ids = [prompt_ids[p] for p in row_prompt]
        kept, kept_table = gen, self._score(row_prompts, row_ids, gen.tokens, gen.lengths)
        # gold: the training evaluators' scores (recorded); rank: what versions are compared by (the reward source)
        draft_score, best_revision = mean_valid_score(kept_table), np.full(len(row_prompt), -np.inf)
        kept_rank = self.ranking_scores(kept_table, kept)
        attempted, accepted = np.zeros(len(row_prompt), dtype=bool), np.zeros(len(row_prompt), dtype=bool)
        why, spent, positions = None, 0, []
        typical = typical_values(gen.values, gen.lengths)
        for _ in range(cfg.max_revisions):
            # a draft no training evaluator could score cannot be compared with its revision: left alone
            fired = np.flatnonzero(triggers(kept_pred, cfg.threshold) & np.isfinite(kept_rank))
            if len(fired) == 0:
                why = why or f"unscored: {int(fired0.sum())} triggered drafts had no valid training-evaluator score"
                break
            start = weak_positions(kept.values[fired], kept.lengths[fired], cfg.targeting, local,
                                   typical=typical, margin=cfg.weak_margin)
            costs = kept.tokens.shape[1] - start
            # with no revision share the pool is not asked (a zero share is "revision off", not a refusal)
            share = self.token_pool.config.revision_tokens > 0
            grant = self.token_pool.grant_revision(int(costs.sum())) if share else 0
            why = why or reason(kept_pred, fired0, cfg.threshold, int(costs.sum()), grant)
            allowed = split_budget(kept_pred[fired], costs, grant)
            go = allowed > 0
            if not go.any():
                break
            rows, start, allowed = fired[go], start[go], allowed[go]
            rev = _continue_from(self.model, row_ids, rows, kept.tokens, start, allowed,
                                 self.config.temperature, generator)
            revised = _merge(kept, rows, start, rev, self.tokenizer.pad_id)
            rev_table = self._score([row_prompts[b] for b in rows], [row_ids[b] for b in rows],
                                    revised.tokens[rows], revised.lengths[rows])
            rev_score = mean_valid_score(rev_table)
            better = self.ranking_scores(rev_table, _take(revised, rows)) > kept_rank[rows]
            self._attempts += [_Attempt(int(b), int(p), kept.tokens[b].copy(), revised.tokens[b].copy(),
                                        (int(kept.lengths[b]), int(revised.lengths[b])),
                                        (int(kept.used[b]), int(revised.used[b])),
                                        _row(kept_table, b), _row(rev_table, i),
                                        kept.values[b].copy(), revised.values[b].copy())
                               for i, (b, p) in enumerate(zip(rows, start, strict=True))]
            best_revision[rows] = np.maximum(best_revision[rows], rev_score)
            attempted[rows] = True
            accepted[rows[better]] = True
            spent += int(rev.used.sum())
            positions += start.tolist()
            kept = _merge(kept, rows[better], start[better], _take(rev, np.flatnonzero(better)), self.tokenizer.pad_id)
            kept_table = _set_rows(kept_table, rows[better], rev_table, np.flatnonzero(better))
            kept_pred = aggregate(predicted_scores(kept.values, kept.lengths))
            kept_rank = self.ranking_scores(kept_table, kept)
        revised_rows = attempted & np.isfinite(best_revision)  # scores only where the revision could be scored
        outcome = RevisionOutcome(
            triggered=int(fired0.sum()), revised=int(attempted.sum()),
            reason=why or reason(kept_pred, fired0, cfg.threshold, 0, 0),
            mean_position=float(np.mean(positions)) if positions else -1.0, tokens_spent=spent,
            score_before=float(draft_score[revised_rows].mean()) if revised_rows.any() else 0.0,
            score_after=float(best_revision[revised_rows].mean()) if revised_rows.any() else 0.0,
            accepted=int(accepted.sum()),
            responses=len(row_prompt))
        extra = {"revision": outcome, "revision_used": spent, "draft_used": int(gen.used.sum())}
        return (gen if not self._attempts else kept), extra

    def _score(self, prompts, prompt_ids, tokens, lengths) -> ScoreTable:
        """Score responses with the training evaluators only (the holdout must not steer training)."""
        return score_responses([self.evaluators[i] for i in self._train_cols], prompts,
                               self.tokenizer.decode_batch(tokens, lengths), prompt_ids=prompt_ids,
                               response_ids=tokens, lengths=lengths, tokenizer=self.tokenizer)

    # -- learn from the pairs --------------------------------------------------------------
    def _update(self, cycle) -> dict[str, float]:
        losses = super()._update(cycle)
        if self._attempts:
            attempts, self._attempts = self._attempts, []
            pair_loss, grad_norm = self._learn_from_pairs(cycle, attempts)
            cycle.extra["revision"] = replace(cycle.extra["revision"], pair_loss=pair_loss, pair_grad_norm=grad_norm)
        return losses

    def _learn_from_pairs(self, cycle, attempts: list[_Attempt]) -> tuple[float, float]:
        """One extra step on the pairs: policy from the revision's advantage over the version it
        rewrote (at the same positions, from the rewrite point on), scalar head on both versions.
        Returns the step's loss and gradient norm; a non-finite one skips the step (recorded)."""
        n, width = len(attempts), cycle.gen.tokens.shape[1]
        ids = np.stack([a.base for a in attempts] + [a.revised for a in attempts])
        tables = [a.base_table for a in attempts] + [a.revised_table for a in attempts]
        lengths = np.array([a.lengths[0] for a in attempts] + [a.lengths[1] for a in attempts])
        used = np.array([a.used[0] for a in attempts] + [a.used[1] for a in attempts])
        seq = np.concatenate([t.sequence for t in tables])
        tok = np.concatenate([_update.pad_to3(t.tokens, width) for t in tables])
        valid = np.concatenate([t.valid for t in tables])
        merged = ScoreTable(seq, tok, tables[0].has_tokens, valid, ())
        if self.reward_source == "conscience":  # the policy's rewards come from the head's own values
            values = np.stack([a.base_values for a in attempts] + [a.revised_values for a in attempts])
            rewards = conscience_rewards(values, lengths, width)
        else:
            rewards = _update.token_rewards(merged, np.arange(seq.shape[1]), lengths, width)
        to_go = np.flip(np.cumsum(np.flip(rewards, 1), 1), 1)
        start = np.array([a.position for a in attempts] * 2)
        active = (np.arange(width)[None, :] >= start[:, None]) & (np.arange(width)[None, :] < used[:, None])
        advantage = (to_go - np.concatenate([to_go[n:], to_go[:n]])) * active
        scale = advantage[active].std() if active.sum() > 1 else 1.0
        rows = np.tile(cycle.row_prompt[[a.row for a in attempts]], 2)
        logits, values = self._reader.forward_rows(cycle, rows, ids)
        pair_loss = _update.reinforce_loss(logits, ids, advantage / (scale + 1e-6), active)[0]
        loss = self.revision_config.pair_weight * pair_loss
        if self.head_learns():  # the frozen conscience gets no regression term
            loss = loss + self.config.head_weight * head_loss(values, lengths, seq, tok, merged.has_tokens, valid)
        self.optimizer.zero_grad(set_to_none=True)
        if not torch.isfinite(loss):
            cycle.failures.append(FailureEvent(cycle.index, "divergence", "critical",
                                               f"non-finite revision pair loss ({loss.item()}); pair step skipped"))
            return float(loss.item()), float("nan")
        loss.backward()
        grad_norm = float(_update.clip_gradients(self.model.parameters(), self.config.grad_clip))
        if not np.isfinite(grad_norm):
            cycle.failures.append(FailureEvent(cycle.index, "divergence", "critical",
                                               "non-finite revision pair gradient; pair step skipped"))
            return float(loss.item()), grad_norm
        self.optimizer.step()
        return float(loss.item()), grad_norm


# -- helpers (numpy in, numpy out) ------------------------------------------------------------
def _continue_from(model, row_ids, rows, tokens, start, max_new, temperature, generator) -> Generation:
    """Continue rows ``rows`` of ``tokens`` from ``start`` [R] (keeping the prefix), up to ``max_new`` [R] tokens.

    The prefix is read as part of the prompt (``<bos> prompt prefix``), so the student's hidden
    state at the rewrite point is exactly the one the draft had there.
    """
    prefixed = [np.concatenate([row_ids[b], tokens[b, :p]]) for b, p in zip(rows, start, strict=True)]
    return model.generate(prefixed, np.arange(len(rows)), np.asarray(max_new), temperature=temperature,
                          generator=generator)


def _merge(base: Generation, rows, start, rev: Generation, pad: int) -> Generation:
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


def _take(gen: Generation, index) -> Generation:
    return Generation(gen.tokens[index], gen.lengths[index], gen.used[index], gen.logit_stats[index],
                      gen.values[index], None if gen.hidden is None else gen.hidden[index])


def _row(table: ScoreTable, b: int) -> ScoreTable:
    return ScoreTable(table.sequence[b:b + 1], table.tokens[b:b + 1], table.has_tokens, table.valid[b:b + 1], ())


def _set_rows(table: ScoreTable, rows, source: ScoreTable, index) -> ScoreTable:
    seq, valid = table.sequence.copy(), table.valid.copy()
    width = table.tokens.shape[1]
    tok = table.tokens.copy()
    seq[rows], valid[rows] = source.sequence[index], source.valid[index]
    tok[rows] = _update.pad_to3(source.tokens[index], width)
    return replace(table, sequence=seq, tokens=tok, valid=valid)
