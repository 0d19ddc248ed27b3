"""ScalarScopeEngine: the stepwise training loop.

One cycle reads top to bottom: budget, generate, self-predict, evaluate, update, record.
The engine is the one mutable object; every call returns a frozen :class:`CycleRecord`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import torch

from scalarscope.critics.learned_critic import LearnedCritic, logit_features
from scalarscope.engine import _checks, _update, probes
from scalarscope.engine._cycle import GEOMETRY_WINDOW, Cycle, batch_split, prompt_difficulty
from scalarscope.engine._metrics import cycle_metrics, divergence_events, evaluator_failures
from scalarscope.engine._reading import pad_ids, reading_for
from scalarscope.engine._threads import torch_threads
from scalarscope.engine.checkpoint import load_engine, save_engine
from scalarscope.engine.config import DEFAULT_PROMPTS, EngineConfig
from scalarscope.engine.kl import kl_penalty, sequence_kl, token_kl
from scalarscope.engine.probes import STATE_PROMPT
from scalarscope.engine.records import (
    CycleRecord,
    FailureEvent,
    History,
    TrainingMetrics,
    frozen_array,
)
from scalarscope.engine.steering import Steering
from scalarscope.engine.transfer import AutomaticTransfer, measure_transfer
from scalarscope.errors import ConfigError
from scalarscope.evaluators.base import check_evaluators, score_responses
from scalarscope.evaluators.scalar_head import head_loss, predicted_scores
from scalarscope.evaluators.synthetic import correlated_evaluators
from scalarscope.geometry import GeometryTracker, dimension_collapsed, normalized_spectrum
from scalarscope.governor import GovernorConfig, TokenPool
from scalarscope.student import default_student
from scalarscope.student.generation import Generation

if TYPE_CHECKING:
    from pathlib import Path

    from scalarscope.engine.records import TransferMeasurement
    from scalarscope.geometry import EvaluatorLayout


class ScalarScopeEngine(Steering):
    """Trains a student from the scalar feedback of several evaluators, one cycle at a time.

    model: a :class:`~scalarscope.student.Student` (default: the GRU student built from ``seed``).
    evaluators: evaluators or plain callables (default: ``correlated_evaluators(5, 0.5, seed)``).
    token_pool: the governor's :class:`TokenPool` (default: exactly one batch of tokens per cycle).
    holdout: name of an evaluator that only measures, never trains (for holdout transfer).
    seed: the one seed; each cycle's randomness derives from (seed, cycle).

    ``reward_source`` ("evaluators" or "conscience"), ``set_reference()`` and the ``kl`` each cycle
    records: see :mod:`scalarscope.engine.steering` and :mod:`scalarscope.engine.kl`.
    """

    def __init__(self, model=None, evaluators=None, token_pool: TokenPool | None = None, *,
                 holdout: str | None = None, seed: int = 0, config: EngineConfig | None = None,
                 prompts: Sequence[str] | None = None):
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
            raise ConfigError(f"seed must be an int, got {seed!r}")
        if model is not None:
            _checks.check_student(model)
        _checks.check_token_pool(token_pool)
        self.seed = int(seed)
        self._entropy = self.seed % 2**64
        self.config = config or EngineConfig()
        if not isinstance(self.config, EngineConfig):
            raise ConfigError(f"config must be an EngineConfig, got {type(self.config).__name__}")
        self.evaluators = check_evaluators(correlated_evaluators(5, 0.5, seed=self.seed) if evaluators is None else evaluators)
        self.holdout = _checks.check_holdout(holdout, [e.name for e in self.evaluators])
        self.train_names = tuple(e.name for e in self.evaluators if e.name != holdout)
        self._train_cols = np.array([i for i, e in enumerate(self.evaluators) if e.name != holdout])
        self.model = model if model is not None else default_student(seed=self.seed)
        self.tokenizer = self.model.tokenizer
        self.model.set_num_heads(len(self.train_names))
        self.token_pool = token_pool or TokenPool(GovernorConfig(
            max_tokens_per_cycle=self.config.batch_size * self.config.max_new_tokens))
        self.prompts = DEFAULT_PROMPTS if prompts is None else _checks.check_prompts(prompts)
        for p in self.prompts:
            self.tokenizer.normalize(p, what="prompt")
        self.optimizer = _update.adam(self.model.parameters(), self.config.learning_rate)
        self.critic = LearnedCritic(n_outputs=len(self.train_names))
        self.history = History()
        self.cycle = 0
        self.geometry = GeometryTracker(window=GEOMETRY_WINDOW)
        self._collapsed = False
        self._pending_failures: list[FailureEvent] = []
        self._transfer = AutomaticTransfer(self)
        self._prompt_ids: dict[str, np.ndarray] = {}  # see _encode_prompt
        self._prompt_memory: dict[str, float] = {}  # the adaptive governor's difficulty per prompt
        self._device = getattr(self.model, "device", torch.device("cpu"))
        self._reader = reading_for(self)
        self._fix_state_probe()
        self._init_steering()  # reward source "evaluators"; the reference policy: the student as built

    def _fix_state_probe(self) -> None:
        """The fixed random responses whose predicted scores are the geometry state, and every
        evaluator's scores of them (which also fingerprint the evaluators in checkpoints)."""
        probe_rng = np.random.default_rng([self._entropy, 2**32 + 7])
        self._state_probe = self.tokenizer.sample_probes(self.config.state_probe_size, self.config.probe_length,
                                                         probe_rng)
        self._state_prompt_ids = [self.tokenizer.encode(STATE_PROMPT)]
        self.state_probe_scores = probes.score_state_probe(self, self._state_probe)  # [S, n_evaluators]

    # -- public API ------------------------------------------------------------------------
    def step(self) -> CycleRecord:
        """One cycle on the next prompts from the prompt source."""
        rng = np.random.default_rng([self._entropy, self.cycle, 1])
        count = min(self.config.prompts_per_cycle, len(self.prompts))
        chosen = rng.choice(len(self.prompts), size=count, replace=False)
        return self._run([self.prompts[i] for i in chosen])

    def run_cycle(self, prompt: str | Sequence[str]) -> CycleRecord:
        """One cycle on ``prompt`` (a string, or several to share the batch)."""
        prompts = _checks.check_prompt_argument(prompt)
        for p in prompts:
            self.tokenizer.normalize(p, what="prompt")
        return self._run(prompts)

    def cycles(self, n: int) -> Iterator[CycleRecord]:
        """Generator of ``n`` cycles' records, for live views."""
        n = _checks.check_count(n, "n", example="engine.cycles(100)")
        for _ in range(n):
            yield self.step()

    def run(self, n: int, *, progress: bool = True) -> History:
        """Run ``n`` cycles with a progress bar; returns the history."""
        from tqdm.auto import tqdm

        n = _checks.check_count(n, "n", example="engine.run(300) runs 300 cycles")
        bar = tqdm(self.cycles(n), total=n, disable=not progress, desc="cycles")
        for record in bar:
            bar.set_postfix(score=f"{record.metrics.mean_score:.3f}", surprise=f"{record.metrics.surprise:.3f}",
                            refresh=False)
        return self.history

    def holdout_transfer(self, n: int = 2000, *, seed: int | None = None) -> TransferMeasurement:
        """Holdout transfer now on ``n`` fresh random probes (:func:`measure_transfer`; see also measure_policy_transfer)."""
        return measure_transfer(self, n=n, seed=seed)

    def save(self, path) -> None:
        """Checkpoint everything (student, optimiser, critic, pool, history) atomically, as tensors
        and JSON that cannot run code when loaded (see :mod:`scalarscope.engine.checkpoint`)."""
        save_engine(self, path)

    @classmethod
    def load(cls, path, *, evaluators=None, model=None) -> ScalarScopeEngine:
        """Resume from :meth:`save`; a resumed run continues exactly as an uninterrupted one.

        evaluators: required when they were not synthetic (they are never stored); they must be the
            saved set (names, order and scores on the fixed state probe are checked).
        model: a student of the saved structure to load the weights into (default: rebuilt from
            the checkpoint's spec)."""
        return load_engine(cls, path, evaluators=evaluators, model=model)

    def export_geometry(self, path, **kwargs) -> Path:
        """Write this run as a ScalarScope-Desktop geometry file (see :mod:`scalarscope.export`)."""
        from scalarscope.engine.geometry_run import run_geometry
        from scalarscope.export import write_geometry

        return write_geometry(run_geometry(self, **kwargs), path)

    def export_onnx(self, path, **kwargs) -> Path:
        """Write the student and its internal evaluator as ONNX (see :func:`scalarscope.onnx.export_onnx`)."""
        from scalarscope.onnx.export import export_onnx

        return export_onnx(self, path, **kwargs)

    # -- one cycle -------------------------------------------------------------------------
    def _run(self, prompts: list[str]) -> CycleRecord:
        with torch_threads(self.config.torch_threads):
            cycle = self._open(prompts)
            try:
                return self._cycle_body(cycle)
            except BaseException as exc:  # an interrupted kernel, or a bug: leave the engine usable
                self._abandon_cycle(cycle, exc)
                raise

    def _open(self, prompts: list[str]) -> Cycle:
        """The cycle's local state: its prompts, batch split and randomness from (seed, cycle)."""
        rng = np.random.default_rng([self._entropy, self.cycle, 2])
        generator = torch.Generator(device=self._device).manual_seed(int(rng.integers(2**62)))
        rows, row_prompt = batch_split(self.config.batch_size, len(prompts))
        return Cycle(self.cycle, prompts, [self._encode_prompt(p) for p in prompts], rows, row_prompt, rng,
                      generator, time.perf_counter())

    def _abandon_cycle(self, cycle: Cycle, exc: BaseException) -> None:
        """Roll an unfinished cycle back (budget, counter) and record why on the next cycle."""
        self._reader.abandon()
        if self.token_pool.cycle_open:
            self.token_pool.abort_cycle()
        note = " after the parameter update (parameters keep it)" if cycle.stepped else "; parameters unchanged"
        self._pending_failures.append(FailureEvent(
            self.cycle, "interrupted", "warning",
            f"cycle {self.cycle} stopped by {type(exc).__name__}{note}; it was not recorded and runs again"))

    def _cycle_body(self, cycle: Cycle) -> CycleRecord:
        # 1. budget: the governor grants tokens per prompt
        if not self._grant(cycle):
            return self._record_exhausted(cycle)
        # 2. generate, 3. self-predict (the scalar head's values come out of decoding itself)
        self._generate(cycle)
        # 4. evaluate: training evaluators and the holdout score every response
        self._evaluate(cycle)
        # 5. update: policy from token feedback, scalar head on samples and probes, critic
        cycle.losses = self._update(cycle)
        self._update_critic(cycle)
        # 6. record
        return self._record(cycle)

    def _grant(self, cycle: Cycle) -> bool:
        """Open the ledger and set each row's token limit; False when nothing was granted."""
        cfg = self.config
        self.token_pool.open_cycle(cycle.index)
        grants = self.token_pool.allocate(cycle.rows * cfg.max_new_tokens, self._difficulty(cycle.prompts))
        cycle.limits = np.minimum(cfg.max_new_tokens, grants // np.maximum(cycle.rows, 1))[cycle.row_prompt]
        return cycle.limits.max(initial=0) > 0

    def _generate(self, cycle: Cycle) -> None:
        """Sample the responses and the internal evaluator's prediction of their scores (the
        revision hook may rewrite them); draw the cycle's off-policy probes."""
        cfg = self.config
        cycle.probe_ids = self.tokenizer.sample_probes(cfg.probe_batch, cfg.probe_length, cycle.rng)
        cycle.probe_prompt = cycle.rng.integers(len(cycle.prompts), size=cfg.probe_batch)
        self._reader.begin(cycle)
        if self._transfer.due(cycle.index):
            self._transfer.probe_set()  # drawn and scored here, once, not on the probe worker
        drafted = self._reader.generate(cycle)
        predicted = predicted_scores(drafted.values, drafted.lengths)
        cycle.gen, cycle.extra = self._after_prediction(cycle.index, cycle.prompts, cycle.prompt_ids,
                                                        cycle.row_prompt, drafted, predicted, cycle.rng)
        # [revision] a hook that rewrote responses: predictions of what is evaluated
        cycle.predicted = predicted if cycle.gen is drafted else predicted_scores(cycle.gen.values, cycle.gen.lengths)

    def _evaluate(self, cycle: Cycle) -> None:
        """Every evaluator scores the responses. While the head learns, the cycle's off-policy
        probes ride along in the same call (one model call per judge per cycle); only the training
        evaluators' scores of them are kept (``cycle.probe_table``)."""
        gen, batch = cycle.gen, len(cycle.gen.tokens)
        cycle.responses = self.tokenizer.decode_batch(gen.tokens, gen.lengths)
        rows, ids, lengths, texts = cycle.row_prompt, gen.tokens, gen.lengths, cycle.responses
        if self.head_learns():
            probe_lengths = np.full(len(cycle.probe_ids), cycle.probe_ids.shape[1])
            width, pad = max(ids.shape[1], cycle.probe_ids.shape[1]), self.tokenizer.pad_id
            ids = np.concatenate([pad_ids(ids, width, pad), pad_ids(cycle.probe_ids, width, pad)])
            rows, lengths = np.concatenate([rows, cycle.probe_prompt]), np.concatenate([lengths, probe_lengths])
            texts = texts + self.tokenizer.decode_batch(cycle.probe_ids, probe_lengths)
        table = score_responses(self.evaluators, [cycle.prompts[p] for p in rows], texts,
                                prompt_ids=[cycle.prompt_ids[p] for p in rows], response_ids=ids, lengths=lengths,
                                tokenizer=self.tokenizer)
        cycle.table = table.take(slice(0, batch))
        cycle.probe_table = table.take(slice(batch, None), self._train_cols) if len(rows) > batch else None
        cycle.failures = evaluator_failures(cycle.index, cycle.table.failures, self.train_names)
        if cycle.probe_table is not None:
            cycle.failures += evaluator_failures(cycle.index, cycle.probe_table.failures, self.train_names)

    def _after_prediction(self, cycle, prompts, prompt_ids, row_prompt, gen: Generation, predicted, rng):
        """Hook between self-prediction and evaluation (the revision engine rewrites here).

        Returns (gen, extra). A hook that rewrites responses returns a new Generation, and
        extra["draft_used"] (draft tokens spent) and extra["revision_used"] (revision tokens spent)
        for the ledger; extra["revision"] is recorded in the CycleRecord.
        """
        return gen, {}

    def _update(self, cycle: Cycle) -> dict[str, float]:
        """One optimisation step on the responses and the off-policy probes; returns its losses.
        The policy learns from the reward source's per-token rewards; the scalar head from the
        evaluators, unless it is the frozen conscience (then no evaluator score is used at all)."""
        cfg, gen = self.config, cycle.gen
        width = max(gen.tokens.shape[1], cycle.probe_ids.shape[1])
        head_learns = self.head_learns()
        if head_learns:
            targets = _update.head_targets(cycle.table, cycle.probe_table, self._train_cols, gen.lengths,
                                           cycle.probe_ids.shape[1], width)
        rewards = self.policy_rewards(cycle.table, self._train_cols, gen)
        self._reader.start_reads(cycle)
        logits, values = self._reader.teacher_forced(cycle, width)
        pg_loss, entropy = _update.policy_loss(logits, gen.tokens, gen.used, rewards)
        h_loss = head_loss(values, *targets) if head_learns else torch.zeros((), device=logits.device)
        loss = pg_loss - cfg.entropy_weight * entropy + cfg.head_weight * h_loss
        kl_tokens = None
        if cfg.kl_coef:  # the penalty needs the reference now; without it KL is read after the backward pass
            kl_tokens = token_kl(logits, self._reader.reference_logits(), temperature=cfg.temperature)
            loss = loss + cfg.kl_coef * kl_penalty(kl_tokens, gen.used)
        losses = {"loss": loss.item(), "policy_loss": pg_loss.item(), "head_loss": h_loss.item(),
                  "entropy": entropy.item(), "grad_norm": 0.0}
        return self._step(cycle, loss, losses, lambda: kl_tokens if kl_tokens is not None else
                          token_kl(logits.detach(), self._reader.reference_logits(), temperature=cfg.temperature))

    def _step(self, cycle: Cycle, loss, losses: dict[str, float], kl_tokens) -> dict[str, float]:
        """Backward, clip and step, unless the loss or the gradient is not finite (recorded);
        ``kl_tokens()`` gives the per-token KL to the reference, read after the backward pass."""
        if not np.isfinite(losses["loss"]):
            cycle.failures.append(FailureEvent(cycle.index, "divergence", "critical",
                                               f"non-finite loss ({losses['loss']}); update skipped"))
            return dict.fromkeys(losses, 0.0)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        losses["kl"] = float(sequence_kl(kl_tokens(), cycle.gen.used).mean())
        grad_norm = float(_update.clip_gradients(self.model.parameters(), self.config.grad_clip))
        if not np.isfinite(grad_norm):
            cycle.failures.append(FailureEvent(cycle.index, "divergence", "critical",
                                               "non-finite gradient; update skipped"))
            return losses
        losses = losses | {"grad_norm": grad_norm}
        cycle.failures.extend(divergence_events(cycle.index, losses))  # finite but exploding (clipped, applied)
        self._reader.before_step()
        self.optimizer.step()
        cycle.stepped = True
        self._count_head_update()
        return losses

    def _update_critic(self, cycle: Cycle) -> None:
        gen, cols = cycle.gen, self._train_cols
        features = logit_features(gen.logit_stats, gen.tokens, gen.lengths, gen.used)
        cycle.critic_predicted = self.critic.predict(features)
        cycle.critic_loss = self.critic.update(features, cycle.table.sequence[:, cols], cycle.table.valid[:, cols],
                                               predicted=cycle.critic_predicted)

    def _encode_prompt(self, prompt: str) -> np.ndarray:
        """Token ids of ``prompt`` (cached: a prompt source repeats its prompts; do not modify)."""
        ids = self._prompt_ids.get(prompt)
        if ids is None:
            ids = self._prompt_ids[prompt] = self.tokenizer.encode(prompt, what="prompt")
            ids.flags.writeable = False
        return ids

    # -- helpers ---------------------------------------------------------------------------
    def _difficulty(self, prompts: list[str]) -> np.ndarray:
        """How hard the internal evaluator found each prompt last time: 1 - its mean predicted score,
        plus its uncertainty (spread over samples) and disagreement (spread over heads). Unseen: 1."""
        return np.array([self._prompt_memory.get(p, 1.0) for p in prompts])

    def evaluator_layout(self, n_probes: int = 1000, *, seed: int = 0) -> EvaluatorLayout:
        """True evaluators and the internal heads in one 2-D frame (see :func:`probes.evaluator_layout`)."""
        return probes.evaluator_layout(self, n_probes=n_probes, seed=seed)

    def state_probe_predictions(self) -> np.ndarray:
        """The internal evaluator's predicted scores [S, H] on the fixed state probe."""
        ids = self._state_probe
        return probes.predict_probes(self, self._state_prompt_ids, np.zeros(len(ids), dtype=int), ids)

    def _record(self, cycle: Cycle) -> CycleRecord:
        gen, extra = cycle.gen, cycle.extra
        entry = self.token_pool.close_cycle(extra.get("draft_used", int(gen.used.sum())), extra.get("revision_used", 0))
        metrics = cycle_metrics(table=cycle.table, train_cols=self._train_cols,
                                names=[e.name for e in self.evaluators], predicted=cycle.predicted,
                                critic_predicted=cycle.critic_predicted, lengths=gen.lengths, losses=cycle.losses,
                                critic_loss=cycle.critic_loss, entry=entry)
        self._prompt_memory.update(prompt_difficulty(cycle.prompts, cycle.row_prompt, cycle.predicted))
        state, transfer = self._reader.state(), self._transfer.summarize(self._reader.transfer_predictions(), cycle.index)
        failed = any(f.category == "evaluator_error" and f.severity == "critical" for f in cycle.failures)
        record = CycleRecord(cycle.index, "evaluator_failed" if failed else "ok", tuple(cycle.prompts),
                             cycle.responses[0] if cycle.responses else "", metrics, entry,
                             frozen_array(state.ravel()), tuple(cycle.failures), transfer, extra.get("revision"))
        return self._finish(record, cycle.start)

    def _record_exhausted(self, cycle: Cycle) -> CycleRecord:
        entry = self.token_pool.close_cycle(0)
        failure = FailureEvent(cycle.index, "budget_exhausted", "warning",
                               f"no tokens granted (run spent {self.token_pool.spent_total} of "
                               f"{self.token_pool.config.max_tokens_total}); cycle skipped")
        state = frozen_array(self.state_probe_predictions().ravel())  # as the cycle began: nothing changes it
        transfer = None
        if self._transfer.due(cycle.index):
            transfer = self._transfer.summarize(self._transfer.read(), cycle.index)
        metrics = TrainingMetrics.not_measured(tokens_refused=entry.refused)  # nothing trained: NaN, not 0
        record = CycleRecord(cycle.index, "budget_exhausted", tuple(cycle.prompts), "", metrics, entry, state,
                             (failure,), transfer)
        return self._finish(record, cycle.start)

    def _finish(self, record: CycleRecord, start: float) -> CycleRecord:
        failures = tuple(self._pending_failures) + record.failures
        self._pending_failures = []
        # geometry, incrementally: O(1) per cycle whatever the length of the run
        frame = self.geometry.update(record.state)
        spectrum = normalized_spectrum(record.state.reshape(-1, len(self.train_names)))
        now_collapsed = dimension_collapsed(frame.effective_dim, len(self.history) + 1, GEOMETRY_WINDOW)
        if now_collapsed and not self._collapsed:
            failures += (FailureEvent(record.cycle, "dimension_collapse", "info",
                                      f"state trajectory effective dimension fell to {frame.effective_dim:.2f}"),)
        self._collapsed = now_collapsed
        record = replace(record, spectrum=frozen_array(spectrum), speed=frame.speed, curvature=frame.curvature,
                          effective_dim=frame.effective_dim, failures=failures, reward_source=self.reward_source,
                          wall_ms=(time.perf_counter() - start) * 1000.0)
        self.history.append(record)
        self.cycle += 1
        return record

    def _restore_geometry(self) -> None:
        """Rebuild the incremental geometry from the history (after loading a checkpoint)."""
        self.geometry = GeometryTracker(window=GEOMETRY_WINDOW)
        for record in self.history:
            self.geometry.update(record.state)
        self._collapsed = bool(len(self.history)) and dimension_collapsed(self.history[-1].effective_dim,
                                                                            len(self.history), GEOMETRY_WINDOW)

    def __repr__(self) -> str:
        """One line from public attributes: student, evaluators, holdout, cycle and reward source."""
        names = ", ".join(e.name for e in self.evaluators)
        return (f"{type(self).__name__}(student={type(self.model).__name__}, evaluators=[{names}], "
                f"holdout={self.holdout!r}, cycle={self.cycle}, reward_source={self.reward_source!r})")
