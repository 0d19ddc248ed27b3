"""Revision decisions: which drafts are rewritten, from which token, with how many tokens.

Pure numpy, no torch: the engine (:mod:`scalarscope.engine.revision_engine`) feeds these
functions the internal evaluator's predictions and acts on what they return.

* **Trigger.** A draft is revised when the internal evaluator's *aggregate* predicted score (the
  mean over its heads of ``sigmoid(sum_t values)``) falls under ``RevisionConfig.threshold``.
  Threshold 0 never triggers, threshold 1 always does.
* **Target.** "weakest-token" rewrites from the first weak token: the first position whose value
  (the scalar head's per-token value, averaged over heads) falls more than ``weak_margin`` under
  what the policy typically writes there (the batch's mean value at that position); when none
  does, the token furthest under it. The rewrite starts one token *before* it: a token's value is
  read from the hidden state after the token, which still carries its predecessor (in the default
  world the value at ``t`` correlates 0.15-0.36 with the evaluators' feedback on token ``t - 1``
  during the cycles that revise), the evaluators' feature map reads each token in the context of
  its predecessor, and where the head's weakest token misses the true one, the true one is more
  often the token before than the token after. "random" (the control) draws the position
  uniformly over the draft's tokens.
* **Budget.** Where the revision tokens come from is the governor's business: the share of each
  cycle kept for revisions is ``GovernorConfig.revision_share`` of the engine's ``TokenPool``
  (one authority over tokens, changeable between cycles like any budget), so
  :class:`RevisionConfig` does not carry it. A revision from ``p`` may use up to ``T - p``
  tokens (``T`` the cycle's response limit); the grant goes to the weakest drafts first, the
  last one possibly shortened, and is never exceeded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from scalarscope.engine.records import RevisionOutcome
from scalarscope.errors import ConfigError, check_scalar

TARGETING = ("weakest-token", "random")
DEFAULT_REVISION_SHARE = 0.2  # share of the default pool kept for revisions (drafts keep their full budget)


@dataclass(frozen=True, kw_only=True)
class RevisionConfig:
    """When and how :class:`~scalarscope.engine.RevisionScalarScopeEngine` rewrites drafts.

    threshold: revise a draft whose aggregate predicted score (in [0, 1]) is below this;
        0 never revises, 1 revises every draft.
    max_revisions: rounds per cycle; a response still predicted under the threshold after a
        round is revised again (from its kept version) while budget lasts.
    targeting: "weakest-token" (rewrite from the start of the weakest predicted stretch) or
        "random" (rewrite from a uniformly drawn token; the control).
    pair_weight: weight of the pair loss (revised tokens' advantage over the draft's); 0 turns
        learning from pairs off (the scalar head still learns from both versions).
    weak_margin: a token is weak when its value is more than this (in logit units per token;
        a token's feedback has a standard deviation of about 0.2 in the default world) under
        the typical value at its position; ``inf`` rewrites from the weakest token instead.
    The token share for revisions is ``GovernorConfig.revision_share`` of the token pool.
    """

    threshold: float = 0.5
    max_revisions: int = 1
    targeting: str = "weakest-token"
    pair_weight: float = 1.0
    weak_margin: float = 0.1

    def __post_init__(self) -> None:
        check_scalar(self.threshold, "threshold", min_value=0.0, max_value=1.0,
                     hint="It is a predicted score in [0, 1]; 0 never revises, 1 always does.")
        check_scalar(self.max_revisions, "max_revisions", kind=int, min_value=1,
                     hint="Use 1 for a single rewrite; turn revision off with threshold=0.")
        if self.targeting not in TARGETING:
            raise ConfigError(f"targeting must be one of {TARGETING}, got {self.targeting!r}; "
                              "'random' is the control for 'weakest-token'")
        check_scalar(self.pair_weight, "pair_weight", min_value=0.0)
        if self.weak_margin != float("inf"):
            check_scalar(self.weak_margin, "weak_margin", min_value=0.0,
                         hint="Use inf to rewrite from the weakest token itself.")

    def replace(self, **changes) -> RevisionConfig:
        return replace(self, **changes)


def aggregate(predicted: np.ndarray) -> np.ndarray:
    """Aggregate predicted score [B] in [0, 1]: mean over heads of ``predicted`` [B, H]."""
    return np.asarray(predicted, dtype=np.float64).mean(axis=1)


def mean_valid_score(table) -> np.ndarray:
    """Mean training-evaluator score [B] of a :class:`~scalarscope.evaluators.base.ScoreTable` over
    its valid cells (-inf where none is valid: such a version never wins a comparison)."""
    count = table.valid.sum(1)
    total = (table.sequence * table.valid).sum(1)
    return np.where(count > 0, total / np.maximum(count, 1), -np.inf)


def triggers(scores: np.ndarray, threshold: float) -> np.ndarray:
    """Bool [B]: which aggregate predicted ``scores`` [B] call for a revision."""
    scores = np.asarray(scores, dtype=np.float64)
    if threshold >= 1.0:
        return np.ones(scores.shape, dtype=bool)
    return scores < threshold


def typical_values(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Typical per-token value [T] at each position: the mean over the batch's responses that reach it.

    values [B, T, H], lengths [B]. It estimates what the policy usually writes there, so a token
    counts as weak relative to what a rewrite would be expected to give, not relative to zero.
    """
    mask = np.arange(values.shape[1])[None, :] < np.asarray(lengths)[:, None]
    token = np.asarray(values).mean(axis=2)
    return (token * mask).sum(0) / np.maximum(mask.sum(0), 1)


def weak_positions(values: np.ndarray, lengths: np.ndarray, targeting: str, rng: np.random.Generator, *,
                   typical: np.ndarray | None = None, margin: float = float("inf")) -> np.ndarray:
    """Token index [B] each response is rewritten from (the prefix before it is kept).

    values [B, T, H] per-token scalar-head values, lengths [B] response tokens, typical [T]
    (default zeros) from :func:`typical_values`. "weakest-token": the first token whose value
    (mean over heads) falls more than ``margin`` under ``typical`` (with ``inf``, the token
    furthest under it), then one token back (see the module docstring for why). "random":
    uniform in ``[0, length)``. A response of length 0 is rewritten from 0.
    """
    lengths = np.asarray(lengths)
    span = np.maximum(lengths, 1)
    if targeting == "random":
        return np.floor(rng.random(len(lengths)) * span).astype(np.int64)
    if targeting != "weakest-token":
        raise ConfigError(f"targeting must be one of {TARGETING}, got {targeting!r}")
    horizon = values.shape[1]
    if horizon == 0:
        return np.zeros(len(lengths), dtype=np.int64)
    base = np.zeros(horizon) if typical is None else np.asarray(typical)[:horizon]
    inside = np.arange(horizon)[None, :] < lengths[:, None]
    deviation = np.where(inside, np.asarray(values).mean(axis=2) - base[None, :], np.inf)
    weak = deviation < -margin
    first = np.where(weak.any(1), weak.argmax(1), deviation.argmin(1))
    return np.maximum(first - 1, 0).astype(np.int64)


def split_budget(order_scores: np.ndarray, costs: np.ndarray, grant: int) -> np.ndarray:
    """Tokens [C] each candidate revision may use, weakest (lowest score) first, summing to <= ``grant``.

    costs [C] are the tokens each would need to reach its row's limit; the last funded candidate
    may get fewer (a shorter rewrite), the rest nothing.
    """
    costs = np.asarray(costs, dtype=np.int64)
    allowed = np.zeros(len(costs), dtype=np.int64)
    left = int(grant)
    for index in np.argsort(np.asarray(order_scores), kind="stable"):
        if left <= 0:
            break
        allowed[index] = min(int(costs[index]), left)
        left -= int(allowed[index])
    return allowed


def reason(scores: np.ndarray, fired: np.ndarray, threshold: float, requested: int, granted: int) -> str:
    """Why a cycle did (or did not) revise: ``"<code>: <details>"``.

    Codes: ``not_triggered``, ``no_budget``, ``partial_budget``, ``below_threshold`` (and, set by
    the engine, ``unscored`` when no training evaluator could score the triggered drafts).
    """
    n, lowest = int(fired.sum()), float(np.min(scores)) if len(scores) else float("nan")
    if n == 0:
        return f"not_triggered: lowest predicted {lowest:.3f} >= threshold {threshold:.2f}"
    what = f"{n}/{len(scores)} predicted < {threshold:.2f} (lowest {lowest:.3f})"
    if granted == 0:
        return f"no_budget: {what}; the revision share granted 0 of the {requested} tokens needed"
    if granted < requested:
        return f"partial_budget: {what}; granted {granted} of {requested} tokens"
    return f"below_threshold: {what}"


@dataclass(frozen=True)
class RevisionSummary:
    """Revision metrics over a run. Rates are shares in [0, 1]; scores in [0, 1].

    trigger_rate: triggered drafts / drafts.       revision_rate: revised drafts / drafts.
    acceptance_rate: revisions kept / revisions.   mean_uplift: revision minus draft score,
    averaged over revisions (NaN when none).       tokens_spent: revision tokens in total.
    """

    cycles: int
    responses: int
    triggered: int
    revised: int
    accepted: int
    trigger_rate: float
    revision_rate: float
    acceptance_rate: float
    mean_uplift: float
    mean_position: float
    tokens_spent: int


def summarize_outcomes(outcomes: Sequence[RevisionOutcome | None]) -> RevisionSummary:
    """Pool per-cycle outcomes (None entries, e.g. budget-exhausted cycles, are skipped)."""
    done = [o for o in outcomes if o is not None]
    responses = sum(o.responses for o in done)
    triggered = sum(o.triggered for o in done)
    revised = sum(o.revised for o in done)
    accepted = sum(o.accepted for o in done)
    weighted = [(o.revised, o.uplift, o.mean_position) for o in done if o.revised]
    uplift = sum(n * u for n, u, _ in weighted) / revised if revised else float("nan")
    position = sum(n * p for n, _, p in weighted) / revised if revised else float("nan")
    return RevisionSummary(len(done), responses, triggered, revised, accepted,
                           triggered / responses if responses else 0.0, revised / responses if responses else 0.0,
                           accepted / revised if revised else 0.0, uplift, position,
                           sum(o.tokens_spent for o in done))
