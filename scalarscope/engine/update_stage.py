"""The update stage: the policy from the reward source's per-token rewards, the scalar head from
the evaluators (unless it is the frozen conscience), [the revision pairs], then the critic.

:func:`apply_step` is the one backward / clip / step of the engine (the main update and the
revision pair step both go through it): a non-finite loss or gradient skips the step and records a
critical ``divergence`` event; a finite one beyond the divergence limit is applied and recorded;
and every read of the parameters the cycle started from finishes before ``optimizer.step``.
"""

from __future__ import annotations

import math
from concurrent.futures import Future
from dataclasses import dataclass, fields, replace

import numpy as np
import torch

from scalarscope.engine import _update
from scalarscope.engine._metrics import divergence_events
from scalarscope.engine.context import RunContext
from scalarscope.engine.kl import kl_penalty, sequence_kl, token_kl
from scalarscope.engine.records import FailureEvent, RevisionOutcome
from scalarscope.engine.stages import Evaluated, Generated, Opened
from scalarscope.evaluators.scalar_head import head_loss

NAN = float("nan")


@dataclass(frozen=True)
class Losses:
    """The terms of one update as optimised (NaN: not optimised, see ``records.STATUSES``)."""

    loss: float = NAN
    policy_loss: float = NAN
    head_loss: float = NAN
    entropy: float = NAN
    grad_norm: float = NAN
    kl: float = NAN

    def as_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class StepOutcome:
    loss: float
    grad_norm: float  # NaN when the step was skipped before or at the gradient
    failures: tuple[FailureEvent, ...]
    stepped: bool


@dataclass(frozen=True, eq=False)
class Updated:
    losses: Losses
    failures: tuple[FailureEvent, ...]
    stepped: bool  # the main update was applied
    evaluators_failed: bool  # no training evaluator scored any response: no update
    revision: RevisionOutcome | None  # with the pair step's loss and gradient norm


@dataclass(frozen=True, eq=False)
class Trainer:
    """The mutable parts an update works on, handed in by the engine."""

    optimizer: torch.optim.Optimizer
    reader: object  # scalarscope.engine._reading.PlainReading
    reward: object  # scalarscope.engine.reward_source.EvaluatorReward (or ConscienceReward)
    reference: object  # scalarscope.engine.kl.ReferencePolicy
    revision: object | None  # scalarscope.engine.revision_stage.Revision


def apply_step(context: RunContext, trainer: Trainer, cycle: int, loss: torch.Tensor, what: str) -> StepOutcome:
    """Backward, clip and step (see the module docstring); ``what`` names the loss in events."""
    value = loss.item()
    if not math.isfinite(value):
        return StepOutcome(value, NAN, (FailureEvent(cycle, "divergence", "critical",
                                                     f"non-finite {what} ({value}); update skipped"),), False)
    trainer.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    grad_norm = float(_update.clip_gradients(context.student.parameters(), context.config.grad_clip))
    if not math.isfinite(grad_norm):
        return StepOutcome(value, NAN, (FailureEvent(cycle, "divergence", "critical",
                                                     f"non-finite gradient of the {what}; update skipped"),), False)
    events = divergence_events(cycle, {"loss": value, "grad_norm": grad_norm})  # finite but exploding
    trainer.reader.finish()  # every read of the parameters the cycle started from, before they change
    assert trainer.reader.finished, "a read of this cycle's parameters is still running at optimizer.step"
    trainer.optimizer.step()
    return StepOutcome(value, grad_norm, tuple(events), True)


def update(context: RunContext, trainer: Trainer, opened: Opened, generated: Generated,
           scoring: Future) -> Updated:
    """One optimisation step on the responses and the off-policy probes, then the revision pairs.
    ``scoring`` gives the evaluate stage's :class:`Evaluated`; the student's teacher-forced pass
    runs before it is asked for (it needs no score), so the judges may score meanwhile."""
    cfg, gen, reader = context.config, generated.gen, trainer.reader
    width = max(gen.tokens.shape[1], generated.probe_ids.shape[1])
    reader.start_reads(opened, generated, trainer.reference)  # the state and transfer read the parameters as they are
    logits, values = reader.teacher_forced(opened, generated, width)
    evaluated = scoring.result()
    if trainer.reward.needs_evaluators(cfg) and not evaluated.table.valid[:, context.train_cols].any():
        # nothing to learn from: no step (an entropy-only step would move the policy for nothing)
        reader.finish()
        return Updated(Losses(), (), False, True, generated.revision)
    loss, terms, kl_tokens = _loss(context, trainer, generated, evaluated, logits, values)
    step = apply_step(context, trainer, opened.index, loss, "loss")
    if not math.isfinite(step.loss):
        losses = Losses()  # missing, not zero: nothing was optimised
    else:
        kl = float(sequence_kl(kl_tokens(), generated.gen.used).mean())
        losses = Losses(step.loss, *terms, grad_norm=step.grad_norm, kl=kl)
    revision, failures = generated.revision, step.failures
    if trainer.revision is not None and generated.attempts:
        pair = trainer.revision.learn(context, trainer, opened, generated)
        revision = replace(revision, pair_loss=pair.loss, pair_grad_norm=pair.grad_norm)
        failures += pair.failures
    return Updated(losses, failures, step.stepped, False, revision)


def _loss(context: RunContext, trainer: Trainer, generated: Generated, evaluated: Evaluated, logits, values):
    """The update's loss tensor from the teacher-forced ``logits`` [B, T, V] and ``values``
    [B + P, width, H], its terms (policy, head, entropy) as floats, and a function giving the
    per-token KL to the reference (read when asked: the reference's logits come from the worker)."""
    cfg, gen, reader = context.config, generated.gen, trainer.reader
    head_learns = trainer.reward.head_learns(cfg)
    if head_learns:
        targets = _update.head_targets(evaluated.table, evaluated.probe_table, context.train_cols, gen.lengths,
                                       generated.probe_ids.shape[1], max(gen.tokens.shape[1], generated.probe_ids.shape[1]))
    rewards = trainer.reward.token_rewards(evaluated.table, context.train_cols, gen.values, gen.lengths,
                                           gen.tokens.shape[1])
    pg_loss, entropy = _update.policy_loss(logits, gen.tokens, gen.used, rewards)
    h_loss = head_loss(values, *targets) if head_learns else torch.zeros((), device=logits.device)
    loss = pg_loss - cfg.entropy_weight * entropy + cfg.head_weight * h_loss
    kl_tokens = None
    if cfg.kl_coef:  # the penalty needs the reference now; without it KL is read after the step
        kl_tokens = token_kl(logits, reader.reference_logits(), temperature=cfg.temperature)
        loss = loss + cfg.kl_coef * kl_penalty(kl_tokens, gen.used)
    terms = (pg_loss.item(), h_loss.item(), entropy.item())

    def per_token_kl() -> torch.Tensor:
        return kl_tokens if kl_tokens is not None else token_kl(logits.detach(), reader.reference_logits(),
                                                                temperature=cfg.temperature)
    return loss, terms, per_token_kl


@dataclass(frozen=True, eq=False)
class CriticResult:
    predicted: np.ndarray  # [B, H] the learned critic's scores, before the evaluators'
    loss: float  # its squared error before its update (NaN: nothing to learn from)


def learn_critic(context: RunContext, critic, generated: Generated, evaluated: Evaluated,
                 updated: Updated) -> CriticResult:
    """The learned critic predicts the scores from the logits' statistics, then learns them."""
    from scalarscope.critics.learned_critic import logit_features

    gen, cols = generated.gen, context.train_cols
    features = logit_features(gen.logit_stats, gen.tokens, gen.lengths, gen.used)
    predicted = critic.predict(features)
    if updated.evaluators_failed:
        return CriticResult(predicted, NAN)
    table = evaluated.table
    return CriticResult(predicted, critic.update(features, table.sequence[:, cols], table.valid[:, cols],
                                                 predicted=predicted))
