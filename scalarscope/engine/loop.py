"""ScalarScopeEngine: the stepwise training loop.

One cycle reads top to bottom: budget, generate, self-predict, evaluate, update, record.
The engine is the one mutable object; every call returns a frozen :class:`CycleRecord`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from functools import lru_cache, partial
from typing import NamedTuple

import numpy as np
import torch

from scalarscope.critics.learned_critic import LearnedCritic, logit_features
from scalarscope.engine import _update, probes
from scalarscope.engine._metrics import cycle_metrics, evaluator_failures
from scalarscope.engine._threads import probe_worker, torch_threads
from scalarscope.engine.checkpoint import load_engine, save_engine
from scalarscope.engine.config import DEFAULT_PROMPTS, EngineConfig
from scalarscope.engine.kl import kl_penalty, reference_logits, sequence_kl, token_kl
from scalarscope.engine.probes import STATE_PROMPT
from scalarscope.engine.records import (
    CycleRecord,
    FailureEvent,
    History,
    TrainingMetrics,
    TransferMeasurement,
    frozen_array,
)
from scalarscope.engine.steering import Steering, restore_steering, with_steering_state
from scalarscope.engine.transfer import draw_probes, measure_transfer, summarize_transfer
from scalarscope.errors import ConfigError, EvaluatorError
from scalarscope.evaluators.base import ScoreTable, check_evaluators, score_responses
from scalarscope.evaluators.scalar_head import head_loss, predicted_scores
from scalarscope.evaluators.synthetic import correlated_evaluators
from scalarscope.geometry import GeometryTracker, normalized_spectrum
from scalarscope.governor import GovernorConfig, TokenPool
from scalarscope.student import default_student
from scalarscope.student.model import Generation

GEOMETRY_WINDOW = 20


class _TransferSet(NamedTuple):
    """The automatic transfer measurement's fixed probes and every evaluator's scores of them."""

    ids: np.ndarray  # [n, L]
    prompt_index: np.ndarray  # [n] into the engine's prompts
    prompt_ids: list[np.ndarray]  # the engine's prompts, encoded
    table: ScoreTable


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
        self.seed = int(seed)
        self._entropy = self.seed % 2**64
        self.config = config or EngineConfig()
        if not isinstance(self.config, EngineConfig):
            raise ConfigError(f"config must be an EngineConfig, got {type(self.config).__name__}")
        self.evaluators = check_evaluators(correlated_evaluators(5, 0.5, seed=self.seed) if evaluators is None else evaluators)
        names = [e.name for e in self.evaluators]
        if holdout is not None and holdout not in names:
            raise EvaluatorError(f"holdout={holdout!r} is not one of the evaluators {names}; pick one of those names")
        if holdout is not None and len(names) < 2:
            raise EvaluatorError(f"holdout={holdout!r} would leave no evaluator to train on; add evaluators")
        self.holdout = holdout
        self.train_names = tuple(n for n in names if n != holdout)
        self._train_cols = np.array([names.index(n) for n in self.train_names])
        self.model = model if model is not None else default_student(seed=self.seed)
        self.tokenizer = self.model.tokenizer
        self.model.set_num_heads(len(self.train_names))
        self.token_pool = token_pool or TokenPool(GovernorConfig(
            max_tokens_per_cycle=self.config.batch_size * self.config.max_new_tokens))
        self.prompts = tuple(prompts) if prompts is not None else DEFAULT_PROMPTS
        if not self.prompts:
            raise ConfigError("prompts is empty; give at least one prompt string")
        for p in self.prompts:
            self.tokenizer.normalize(p, what="prompt")
        self.optimizer = _update.adam(self.model.parameters(), self.config.learning_rate)
        self.critic = LearnedCritic(n_outputs=len(self.train_names))
        self.history = History()
        self.cycle = 0
        self.geometry = GeometryTracker(window=GEOMETRY_WINDOW)
        self._collapsed = False
        self._pending_failures: list[FailureEvent] = []
        self._stepped = False
        self._transfer_probes = None  # see _transfer_set
        self._reading = None  # this cycle's probe read on the probe worker (see _update)
        self._transfer_reading = None  # this cycle's transfer read on the probe worker, if due
        self._prompt_ids: dict[str, np.ndarray] = {}  # see _encode_prompt
        self._prompt_memory: dict[str, float] = {}
        probe_rng = np.random.default_rng([self._entropy, 2**32 + 7])
        self._state_probe = probe_rng.integers(3, self.tokenizer.vocab_size,
                                               size=(self.config.state_probe_size, self.config.probe_length))
        self._state_prompt_ids = [self.tokenizer.encode(STATE_PROMPT)]
        self.state_probe_scores = self._score_fixed(self._state_probe)  # [S, n_evaluators]
        self._init_steering()  # reward source "evaluators"; the reference policy: the student as built

    # -- public API ------------------------------------------------------------------------
    def step(self) -> CycleRecord:
        """One cycle on the next prompts from the prompt source."""
        rng = np.random.default_rng([self._entropy, self.cycle, 1])
        count = min(self.config.prompts_per_cycle, len(self.prompts))
        chosen = rng.choice(len(self.prompts), size=count, replace=False)
        return self._run([self.prompts[i] for i in chosen])

    def run_cycle(self, prompt: str | Sequence[str]) -> CycleRecord:
        """One cycle on ``prompt`` (a string, or several to share the batch)."""
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        if not prompts:
            raise ConfigError("run_cycle needs at least one prompt")
        for p in prompts:
            self.tokenizer.normalize(p, what="prompt")
        return self._run(prompts)

    def cycles(self, n: int) -> Iterator[CycleRecord]:
        """Generator of ``n`` cycles' records, for live views."""
        for _ in range(n):
            yield self.step()

    def run(self, n: int, *, progress: bool = True) -> History:
        """Run ``n`` cycles with a progress bar; returns the history."""
        from tqdm.auto import tqdm

        bar = tqdm(self.cycles(n), total=n, disable=not progress, desc="cycles")
        for record in bar:
            bar.set_postfix(score=f"{record.metrics.mean_score:.3f}", surprise=f"{record.metrics.surprise:.3f}",
                            refresh=False)
        return self.history

    def holdout_transfer(self, n: int = 2000, *, seed: int | None = None):
        """Measure holdout transfer now on ``n`` fresh probe responses (see :func:`measure_transfer`)."""
        return measure_transfer(self, n=n, seed=seed)

    def save(self, path) -> None:
        """Checkpoint everything (model, optimiser, critic, pool, history, RNG position) atomically."""
        save_engine(with_steering_state(self), path)

    @classmethod
    def load(cls, path, *, evaluators=None) -> ScalarScopeEngine:
        """Resume from :meth:`save`; a resumed run continues exactly as an uninterrupted one."""
        engine = load_engine(cls, path, evaluators=evaluators)
        restore_steering(engine, path)
        return engine

    def export_geometry(self, path, **kwargs):
        """Write this run as a ScalarScope-Desktop geometry file (see :mod:`scalarscope.export`)."""
        from scalarscope.engine.geometry_run import run_geometry
        from scalarscope.export import write_geometry

        return write_geometry(run_geometry(self, **kwargs), path)

    def export_onnx(self, path, **kwargs):
        """Write the student and its internal evaluator as ONNX (see :func:`scalarscope.onnx.export_onnx`)."""
        from scalarscope.onnx.export import export_onnx

        return export_onnx(self, path, **kwargs)

    # -- one cycle -------------------------------------------------------------------------
    def _run(self, prompts: list[str]) -> CycleRecord:
        self._stepped = False
        with torch_threads(self.config.torch_threads):
            try:
                return self._cycle_body(prompts)
            except BaseException as exc:  # an interrupted kernel, or a bug: leave the engine usable
                self._abandon_cycle(exc)
                raise

    def _abandon_cycle(self, exc: BaseException) -> None:
        """Roll an unfinished cycle back (budget, counter) and record why on the next cycle."""
        self._transfer_reading = self._reading = None
        if self.token_pool.cycle_open:
            self.token_pool.abort_cycle()
        note = " after the parameter update (parameters keep it)" if self._stepped else "; parameters unchanged"
        self._pending_failures.append(FailureEvent(
            self.cycle, "interrupted", "warning",
            f"cycle {self.cycle} stopped by {type(exc).__name__}{note}; it was not recorded and runs again"))

    def _cycle_body(self, prompts: list[str]) -> CycleRecord:
        start = time.perf_counter()
        cycle, cfg = self.cycle, self.config
        rng = np.random.default_rng([self._entropy, cycle, 2])
        generator = torch.Generator().manual_seed(int(rng.integers(2**62)))
        prompt_ids = [self._encode_prompt(p) for p in prompts]
        rows, row_prompt = _batch_split(cfg.batch_size, len(prompts))

        # 1. budget: the governor grants tokens per prompt
        self.token_pool.open_cycle(cycle)
        grants = self.token_pool.allocate(rows * cfg.max_new_tokens, self._difficulty(prompts))
        limits = np.minimum(cfg.max_new_tokens, grants // np.maximum(rows, 1))[row_prompt]
        if limits.max(initial=0) == 0:
            return self._record_exhausted(cycle, prompts, start)

        # 2. generate, 3. self-predict (the scalar head's values come out of decoding itself)
        probe_ids = rng.integers(3, self.tokenizer.vocab_size, size=(cfg.probe_batch, cfg.probe_length))
        probe_prompt = rng.integers(len(prompts), size=cfg.probe_batch)
        with torch.no_grad():  # encoded once per cycle: generation, probes and the update start from these
            prompt_states = self.model.encode_prompts(prompt_ids + self._state_prompt_ids)
        if self._transfer_due(cycle):
            self._transfer_set()  # drawn and scored here, once, not on the probe worker
        gen = self.model.generate(prompt_ids, row_prompt, limits, temperature=cfg.temperature, generator=generator,
                                  prompt_states=prompt_states)
        off_policy = (probe_ids, probe_prompt, partial(self._read_probes, prompt_states, probe_ids, probe_prompt))
        predicted = predicted_scores(gen.values, gen.lengths)
        drafted = gen
        gen, extra = self._after_prediction(cycle, prompts, prompt_ids, row_prompt, gen, predicted, rng)
        if gen is not drafted:  # [revision] the hook rewrote responses: predictions of what is evaluated
            predicted = predicted_scores(gen.values, gen.lengths)

        # 4. evaluate: training evaluators and the holdout score every response
        responses = self.tokenizer.decode_batch(gen.tokens, gen.lengths)
        table = score_responses(self.evaluators, [prompts[p] for p in row_prompt], responses,
                                prompt_ids=[prompt_ids[p] for p in row_prompt], response_ids=gen.tokens,
                                lengths=gen.lengths)
        failures = self._evaluator_failures(cycle, table.failures)

        # 5. update: policy from token feedback, scalar head on samples and probes, critic
        losses = self._update(cycle, prompts, prompt_ids, row_prompt, gen, table, off_policy, failures,
                              prompt_states=prompt_states[:len(prompts)])
        features = logit_features(gen.logit_stats, gen.tokens, gen.lengths, gen.used)
        critic_predicted = self.critic.predict(features)
        train_valid = table.valid[:, self._train_cols]
        critic_loss = self.critic.update(features, table.sequence[:, self._train_cols], train_valid,
                                         predicted=critic_predicted)

        # 6. record
        entry = self.token_pool.close_cycle(extra.get("draft_used", int(gen.used.sum())), extra.get("revision_used", 0))
        state, transfer = self._reading.result()[0], self._transfer_result()
        return self._record(cycle, prompts, row_prompt, responses, gen, table, predicted, critic_predicted, losses,
                            critic_loss, entry, failures, extra.get("revision"), state, transfer, start)

    def _after_prediction(self, cycle, prompts, prompt_ids, row_prompt, gen: Generation, predicted, rng):
        """Hook between self-prediction and evaluation (the revision engine rewrites here).

        Returns (gen, extra). A hook that rewrites responses returns a new Generation, and
        extra["draft_used"] (draft tokens spent) and extra["revision_used"] (revision tokens spent)
        for the ledger; extra["revision"] is recorded in the CycleRecord.
        """
        return gen, {}

    def _update(self, cycle, prompts, prompt_ids, row_prompt, gen, table, off_policy, failures,
                prompt_states) -> dict[str, float]:
        """One optimisation step; returns its losses and gradient norm.

        ``off_policy`` = (ids [P, L], prompt index [P], the read to hand the probe worker): off-policy
        random responses the scalar head also learns from, through a one-step truncated pass from
        the hidden states the worker read (the full pass through the GRU is the student's own
        responses only)."""
        cfg, cols = self.config, self._train_cols
        probe_ids, probe_prompt, read_probes = off_policy
        probe_lengths = np.full(len(probe_ids), probe_ids.shape[1])
        head_learns = self.head_learns()  # not the frozen conscience: then no evaluator score is used here
        if head_learns:
            train_evals = [self.evaluators[i] for i in cols]
            probe_table = score_responses(train_evals, [prompts[p] for p in probe_prompt],
                                          self.tokenizer.decode_batch(probe_ids, probe_lengths),
                                          prompt_ids=[prompt_ids[p] for p in probe_prompt], response_ids=probe_ids,
                                          lengths=probe_lengths)
            failures.extend(self._evaluator_failures(cycle, probe_table.failures))
        width = max(gen.tokens.shape[1], probe_ids.shape[1])

        rewards = self.policy_rewards(table, cols, gen)  # the evaluators' token feedback, or the conscience's

        # The probe worker reads the probes with the parameters the cycle started from, while this
        # thread runs the teacher-forced pass (one GRU call that holds no GIL, so the two overlap
        # almost for free; during decoding they would contend): the fixed state probe (the geometry
        # state), this cycle's off-policy probes, the reference policy's logits of the responses
        # (for kl) and, when due, the transfer probe set, which may run on into the backward pass:
        # the step below waits for it.
        self._reading = probe_worker().submit(read_probes)
        reference = probe_worker().submit(reference_logits, self.reference, prompt_ids, row_prompt, gen.tokens)
        if self._transfer_due(cycle):
            self._transfer_reading = probe_worker().submit(self._read_transfer)
        # the trunk learns from the responses; backprop into the prompt encodings costs ~20% for little
        logits, values = self.model.forward_responses(prompt_states.detach(), row_prompt, gen.tokens)
        pg_loss, entropy = _update.policy_loss(logits, gen.tokens, gen.used, rewards)
        loss = pg_loss - cfg.entropy_weight * entropy
        h_loss = torch.zeros(())
        probe_hidden = self._reading.result()[1]  # (read with the parameters the cycle started from)
        if head_learns:  # probes: one-step truncated pass from the hidden states the worker read
            previous = torch.cat([prompt_states[torch.from_numpy(probe_prompt)][:, None], probe_hidden[:, :-1]], dim=1)
            probe_values = self.model.step_values(previous, probe_ids)
            values = torch.cat([_update.pad_values(values, width), _update.pad_values(probe_values, width)])
            h_loss = head_loss(values, np.concatenate([gen.lengths, probe_lengths]),
                               np.concatenate([table.sequence[:, cols], probe_table.sequence]),
                               np.concatenate([_update.pad_to3(table.tokens[..., cols], width),
                                               _update.pad_to3(probe_table.tokens, width)]),
                               table.has_tokens[cols], np.concatenate([table.valid[:, cols], probe_table.valid]))
            loss = loss + cfg.head_weight * h_loss
        kl_tokens = None
        if cfg.kl_coef:  # the penalty needs the reference now; without it, KL is read after the backward pass
            kl_tokens = token_kl(logits, reference.result(), temperature=cfg.temperature)
            loss = loss + cfg.kl_coef * kl_penalty(kl_tokens, gen.used)
        losses = {"loss": loss.item(), "policy_loss": pg_loss.item(), "head_loss": h_loss.item(),
                  "entropy": entropy.item(), "grad_norm": 0.0}
        if not np.isfinite(losses["loss"]):
            failures.append(FailureEvent(cycle, "divergence", "critical",
                                         f"non-finite loss ({losses['loss']}); update skipped"))
            return dict.fromkeys(losses, 0.0)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if kl_tokens is None:
            kl_tokens = token_kl(logits.detach(), reference.result(), temperature=cfg.temperature)
        losses["kl"] = float(sequence_kl(kl_tokens, gen.used).mean())
        grad_norm = float(_update.clip_gradients(self.model.parameters(), cfg.grad_clip))
        if not np.isfinite(grad_norm):
            failures.append(FailureEvent(cycle, "divergence", "critical", "non-finite gradient; update skipped"))
            return losses
        if self._transfer_reading is not None:
            self._transfer_reading.result()  # it reads the parameters this cycle started from
        self.optimizer.step()
        self._stepped = True
        self._count_head_update()
        return losses | {"grad_norm": grad_norm}

    def _encode_prompt(self, prompt: str) -> np.ndarray:
        """Token ids of ``prompt`` (cached: a prompt source repeats its prompts; do not modify)."""
        ids = self._prompt_ids.get(prompt)
        if ids is None:
            ids = self._prompt_ids[prompt] = self.tokenizer.encode(prompt, what="prompt")
            ids.flags.writeable = False
        return ids

    def _transfer_due(self, cycle: int) -> bool:
        every = self.config.transfer_every
        return bool(every) and cycle % every == 0

    def _transfer_set(self) -> _TransferSet:
        """The automatic transfer measurement's probes, drawn from the seed and scored by every
        evaluator once, on first use."""
        if self._transfer_probes is None:
            ids, prompt_index = draw_probes(self, self.config.transfer_probes, [self._entropy, 2**32 + 11])
            self._transfer_probes = _TransferSet(ids, prompt_index, [self._encode_prompt(p) for p in self.prompts],
                                                 probes.score_probes(self, list(self.prompts), prompt_index, ids))
        return self._transfer_probes

    def _read_probes(self, prompt_states, probe_ids, probe_prompt):
        """[probe worker] The state probe's predicted scores [S, H] and the off-policy probes'
        hidden states [P, L, W]."""
        n_state, length = len(self._state_probe), self._state_probe.shape[1]
        state_row = np.full(n_state, len(prompt_states) - 1)  # the state prompt was encoded last
        hidden = self.model.read_hidden(prompt_states, np.concatenate([state_row, probe_prompt]),
                                        np.concatenate([self._state_probe, probe_ids]))
        with torch.no_grad():
            state = predicted_scores(self.model.head_values(hidden[:n_state]).numpy(), np.full(n_state, length))
        return state, hidden[n_state:]

    def _read_transfer(self) -> np.ndarray:
        """[probe worker] The internal evaluator's predicted scores [n, H] on the transfer probe set."""
        probe_set = self._transfer_set()
        return probes.predict_probes(self, probe_set.prompt_ids, probe_set.prompt_index, probe_set.ids)

    def _transfer_result(self) -> TransferMeasurement | None:
        """This cycle's automatic transfer measurement, if one was due."""
        reading, self._transfer_reading = self._transfer_reading, None
        if reading is None:
            return None
        return summarize_transfer(self, reading.result(), self._transfer_set().table, self.cycle)

    # -- helpers ---------------------------------------------------------------------------
    def _difficulty(self, prompts: list[str]) -> np.ndarray:
        """How hard the internal evaluator found each prompt last time: 1 - its mean predicted score,
        plus its uncertainty (spread over samples) and disagreement (spread over heads). Unseen: 1."""
        return np.array([self._prompt_memory.get(p, 1.0) for p in prompts])

    def _score_fixed(self, response_ids: np.ndarray) -> np.ndarray:
        table = probes.score_probes(self, [STATE_PROMPT], np.zeros(len(response_ids), dtype=int), response_ids)
        if table.failures:
            name, problem = table.failures[0]
            raise EvaluatorError(f"evaluator {name!r} {problem}; it must return a finite score in [0, 1]")
        return table.sequence

    def evaluator_layout(self, n_probes: int = 1000, *, seed: int = 0):
        """True evaluators and the internal heads in one 2-D frame (see :func:`probes.evaluator_layout`)."""
        return probes.evaluator_layout(self, n_probes=n_probes, seed=seed)

    def state_probe_predictions(self) -> np.ndarray:
        """The internal evaluator's predicted scores [S, H] on the fixed state probe."""
        ids = self._state_probe
        return probes.predict_probes(self, self._state_prompt_ids, np.zeros(len(ids), dtype=int), ids)

    def _evaluator_failures(self, cycle: int, problems) -> list[FailureEvent]:
        return evaluator_failures(cycle, problems, self.train_names)

    def _record(self, cycle, prompts, row_prompt, responses, gen, table, predicted, critic_predicted, losses, critic_loss,
                entry, failures, revision, state, transfer, start) -> CycleRecord:
        metrics = cycle_metrics(table=table, train_cols=self._train_cols, names=[e.name for e in self.evaluators],
                                predicted=predicted, critic_predicted=critic_predicted, lengths=gen.lengths,
                                losses=losses, critic_loss=critic_loss, entry=entry)
        # what the adaptive governor reads next time, per prompt: 1 - mean predicted score, plus the
        # spread of its responses' mean predictions and the mean spread over heads
        count = np.maximum(np.bincount(row_prompt, minlength=len(prompts)), 1)
        row_mean = predicted.mean(1)
        mean = np.bincount(row_prompt, row_mean, len(prompts)) / count
        spread = np.sqrt(np.maximum(np.bincount(row_prompt, row_mean**2, len(prompts)) / count - mean**2, 0.0))
        disagreement = np.bincount(row_prompt, predicted.std(1), len(prompts)) / count
        self._prompt_memory.update(zip(prompts, (1.0 - mean + spread + disagreement).tolist(), strict=True))
        failed = any(f.category == "evaluator_error" and f.severity == "critical" for f in failures)
        record = CycleRecord(cycle, "evaluator_failed" if failed else "ok", tuple(prompts),
                             responses[0] if responses else "", metrics, entry,
                             frozen_array(state.ravel()), tuple(failures), transfer, revision)
        return self._finish(record, start)

    def _record_exhausted(self, cycle, prompts, start) -> CycleRecord:
        entry = self.token_pool.close_cycle(0)
        failure = FailureEvent(cycle, "budget_exhausted", "warning",
                               f"no tokens granted (run spent {self.token_pool.spent_total} of "
                               f"{self.token_pool.config.max_tokens_total}); cycle skipped")
        state = frozen_array(self.state_probe_predictions().ravel())  # as the cycle began: nothing changes it
        transfer = None
        if self._transfer_due(cycle):
            transfer = summarize_transfer(self, self._read_transfer(), self._transfer_set().table, cycle)
        record = CycleRecord(cycle, "budget_exhausted", tuple(prompts), "",
                             TrainingMetrics(tokens_refused=entry.refused), entry, state, (failure,), transfer)
        return self._finish(record, start)

    def _finish(self, record: CycleRecord, start: float) -> CycleRecord:
        failures = tuple(self._pending_failures) + record.failures
        self._pending_failures = []
        # geometry, incrementally: O(1) per cycle whatever the length of the run
        frame = self.geometry.update(record.state)
        spectrum = normalized_spectrum(record.state.reshape(-1, len(self.train_names)))
        # a window of a few states is low-dimensional by construction: judge collapse on a full window
        collapsed = len(self.history) + 1 >= GEOMETRY_WINDOW and 0.0 < frame.effective_dim < 1.5
        if collapsed and not self._collapsed:
            failures += (FailureEvent(record.cycle, "dimension_collapse", "info",
                                      f"state trajectory effective dimension fell to {frame.effective_dim:.2f}"),)
        self._collapsed = collapsed
        record = _replace(record, spectrum=frozen_array(spectrum), speed=frame.speed, curvature=frame.curvature,
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
        self._collapsed = len(self.history) >= GEOMETRY_WINDOW and 0.0 < self.history[-1].effective_dim < 1.5


@lru_cache(maxsize=64)
def _batch_split(batch_size: int, n_prompts: int) -> tuple[np.ndarray, np.ndarray]:
    """Responses per prompt [P] (the batch split as evenly as it goes) and each row's prompt [B].
    Cached: shared by every cycle and engine, so never modified."""
    rows = np.diff(np.linspace(0, batch_size, n_prompts + 1).round().astype(int))
    return rows, np.repeat(np.arange(n_prompts), rows)


def _replace(record: CycleRecord, **changes) -> CycleRecord:
    from dataclasses import replace

    return replace(record, **changes)
