"""ScalarScopeEngine: the stepwise training loop.

One cycle reads top to bottom as its stages (:meth:`ScalarScopeEngine._cycle`): grant, generate,
[revise], evaluate, update, record, each a function of the frozen run context
(:mod:`scalarscope.engine.context`) and the earlier stages' frozen results
(:mod:`scalarscope.engine.stages`). The engine is the one mutable object (optimiser, critic, pool,
history, reward source); every call returns a frozen :class:`CycleRecord`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from scalarscope.critics.learned_critic import LearnedCritic
from scalarscope.engine import _checks, _update, probes, record_stage, stages, update_stage
from scalarscope.engine._cycle import GEOMETRY_WINDOW, prompt_difficulty
from scalarscope.engine._reading import reading_for, state_predictions
from scalarscope.engine._threads import torch_threads
from scalarscope.engine.checkpoint import load_engine, save_engine
from scalarscope.engine.config import DEFAULT_PROMPTS, EngineConfig
from scalarscope.engine.context import RunContext, build_context
from scalarscope.engine.records import CycleRecord, FailureEvent, History, frozen_array
from scalarscope.engine.revision import RevisionConfig
from scalarscope.engine.revision_stage import Revision
from scalarscope.engine.steering import Steering
from scalarscope.engine.transfer import AutomaticTransfer, measure_transfer
from scalarscope.errors import ConfigError
from scalarscope.evaluators.base import check_evaluators
from scalarscope.evaluators.synthetic import correlated_evaluators
from scalarscope.geometry import GeometryTracker, dimension_collapsed, normalized_spectrum
from scalarscope.governor import GovernorConfig, TokenPool
from scalarscope.student import default_student

if TYPE_CHECKING:
    from pathlib import Path

    from scalarscope.engine.records import TransferMeasurement
    from scalarscope.engine.revision import RevisionSummary
    from scalarscope.geometry import EvaluatorLayout


def _read_through(name: str, returns: str, doc: str) -> property:
    """A read-only engine attribute that reads the run context's ``name``."""
    def read(self):
        return getattr(self.context, name)

    read.__annotations__["return"] = returns
    read.__doc__ = doc
    return property(read)


class ScalarScopeEngine(Steering):
    """Trains a student from the scalar feedback of several evaluators, one cycle at a time.

    model: a :class:`~scalarscope.student.Student` (default: the GRU student built from ``seed``).
    evaluators: evaluators or plain callables (default: ``correlated_evaluators(5, 0.5, seed)``).
    token_pool: the governor's :class:`TokenPool` (default: exactly one batch of tokens per cycle,
        plus the revision share when revising).
    holdout: name of an evaluator that only measures, never trains (for holdout transfer).
    seed: the one seed; each cycle's randomness derives from (seed, cycle).
    revision: a :class:`RevisionConfig` to rewrite drafts the internal evaluator predicts weak (the
        [revise] stage, :mod:`scalarscope.engine.revision_stage`); None: no revision.

    ``reward_source`` ("evaluators" or "conscience", a strategy: :mod:`scalarscope.engine.reward_source`),
    ``set_reference()`` and the ``kl`` each cycle records: see :mod:`scalarscope.engine.steering`
    and :mod:`scalarscope.engine.kl`.
    """

    def __init__(self, model=None, evaluators=None, token_pool: TokenPool | None = None, *,
                 holdout: str | None = None, seed: int = 0, config: EngineConfig | None = None,
                 prompts: Sequence[str] | None = None, revision: RevisionConfig | None = None):
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
            raise ConfigError(f"seed must be an int, got {seed!r}")
        if model is not None:
            _checks.check_student(model)
        _checks.check_token_pool(token_pool)
        config = config or EngineConfig()
        if not isinstance(config, EngineConfig):
            raise ConfigError(f"config must be an EngineConfig, got {type(config).__name__}")
        if revision is not None and not isinstance(revision, RevisionConfig):
            raise ConfigError(f"revision must be a RevisionConfig, got {type(revision).__name__}; "
                              "e.g. RevisionConfig(threshold=0.5, targeting='weakest-token')")
        self.revision = None if revision is None else Revision(revision)
        evaluators = check_evaluators(correlated_evaluators(5, 0.5, seed=int(seed)) if evaluators is None else evaluators)
        holdout = _checks.check_holdout(holdout, [e.name for e in evaluators])
        model = model if model is not None else default_student(seed=int(seed))
        model.set_num_heads(sum(e.name != holdout for e in evaluators))
        prompts = DEFAULT_PROMPTS if prompts is None else _checks.check_prompts(prompts)
        for p in prompts:
            model.tokenizer.normalize(p, what="prompt")
        self.token_pool = token_pool or _default_pool(config, self.revision)
        self.optimizer = _update.adam(model.parameters(), config.learning_rate)
        self.context: RunContext = build_context(model, evaluators, holdout, config, int(seed), prompts)
        self.critic = LearnedCritic(n_outputs=len(self.train_names))
        self.history = History()
        self.cycle = 0
        self.geometry = GeometryTracker(window=GEOMETRY_WINDOW)
        self._collapsed = False
        self._pending_failures: list[FailureEvent] = []
        self._prompt_memory: dict[str, float] = {}  # the adaptive governor's difficulty per prompt
        self._transfer = AutomaticTransfer(self.context)
        self._reader = reading_for(self.context, self._transfer)
        self._init_steering()  # reward source "evaluators"; the reference policy: the student as built

    # -- the run context, read through ------------------------------------------------------
    model = _read_through("student", "Student", "The student being trained.")
    tokenizer = _read_through("tokenizer", "Tokenizer", "The student's tokenizer.")
    evaluators = _read_through("evaluators", "tuple[Evaluator, ...]", "Every evaluator, training and held out.")
    holdout = _read_through("holdout", "str | None", "The held-out evaluator's name (None: nothing held out).")
    train_names = _read_through("train_names", "tuple[str, ...]", "The training evaluators' names, in order.")
    config = _read_through("config", "EngineConfig", "The engine's configuration.")
    seed = _read_through("seed", "int", "The one seed every draw derives from.")
    prompts = _read_through("prompts", "tuple[str, ...]", "The prompt source.")
    state_probe_scores = _read_through("state_probe_scores", "np.ndarray",
                                       "Every evaluator's scores [S, n] of the fixed state probe.")

    # -- public API ------------------------------------------------------------------------
    def step(self) -> CycleRecord:
        """One cycle on the next prompts from the prompt source."""
        rng = np.random.default_rng([self.context.entropy, self.cycle, 1])
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

    def holdout_transfer(self, n: int = 2000, *, probes="random", seed: int | None = None) -> TransferMeasurement:
        """Holdout transfer now, with its interval, null and both ceilings, on ``n`` fresh probes of
        ``probes``: "random", "policy" or a sequence of response texts (:func:`measure_transfer`)."""
        return measure_transfer(self.context, cycle=self.cycle, n=n, probes=probes, seed=seed)

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

    # -- one cycle ---------------------------------------------------------------------------
    def _run(self, prompts: list[str]) -> CycleRecord:
        with torch_threads(self.config.torch_threads):
            opened = stages.open_cycle(self.context, self.cycle, prompts)
            steps_before = _steps_taken(self.optimizer)
            try:
                return self._finish(self._cycle(opened), opened.start)
            except BaseException as exc:  # an interrupted kernel, or a bug: leave the engine usable
                self._abandon_cycle(exc, stepped=_steps_taken(self.optimizer) != steps_before)
                raise

    def _cycle(self, opened: stages.Opened) -> CycleRecord:
        """The cycle, stage by stage."""
        context = self.context
        # 1. grant: the governor grants tokens per prompt
        granted = stages.grant(context, self.token_pool, self._difficulty(opened.prompts), opened)
        if granted is None:
            return record_stage.record_exhausted(context, self.token_pool, self._transfer, opened)
        # 2. generate, 3. self-predict (the scalar head's values come out of decoding itself)
        generated = stages.generate(context, self._reader, self._transfer, opened, granted)
        # [revise] drafts predicted weak, when the engine revises
        if self.revision is not None:
            generated = self.revision.revise(context, self.token_pool, self._reward, opened, generated)
        # 4. evaluate: training evaluators and the holdout score every response (on the judge
        #    worker, while 5. runs the student's teacher-forced pass: only the loss needs the scores)
        scoring = stages.start_evaluation(context, opened, generated, with_probes=self.head_learns())
        # 5. update: policy from the reward source, scalar head, [revision pairs], critic
        updated = update_stage.update(context, self._trainer(), opened, generated, scoring)
        evaluated = scoring.result()
        critic = update_stage.learn_critic(context, self.critic, generated, evaluated, updated)
        if updated.stepped:
            self._count_head_update()
        self._prompt_memory.update(prompt_difficulty(opened.prompts, opened.row_prompt, generated.predicted))
        # 6. record
        return record_stage.record(context, self.token_pool, self._reader, self._transfer, opened, generated,
                                   evaluated, updated, critic)

    def _trainer(self) -> update_stage.Trainer:
        return update_stage.Trainer(self.optimizer, self._reader, self._reward, self.reference, self.revision)

    def _abandon_cycle(self, exc: BaseException, *, stepped: bool) -> None:
        """Roll an unfinished cycle back (budget, counter) and record why on the next cycle."""
        self._reader.abandon()
        if self.token_pool.cycle_open:
            self.token_pool.abort_cycle()
        note = " after the parameter update (parameters keep it)" if stepped else "; parameters unchanged"
        self._pending_failures.append(FailureEvent(
            self.cycle, "interrupted", "warning",
            f"cycle {self.cycle} stopped by {type(exc).__name__}{note}; it was not recorded and runs again"))

    # -- helpers ---------------------------------------------------------------------------
    def _difficulty(self, prompts) -> np.ndarray:
        """How hard the internal evaluator found each prompt last time: 1 - its mean predicted score,
        plus its uncertainty (spread over samples) and disagreement (spread over heads). Unseen: 1."""
        return np.array([self._prompt_memory.get(p, 1.0) for p in prompts])

    def evaluator_layout(self, n_probes: int = 1000, *, seed: int = 0) -> EvaluatorLayout:
        """True evaluators and the internal heads in one 2-D frame (see :func:`probes.evaluator_layout`)."""
        return probes.evaluator_layout(self.context, n_probes=n_probes, seed=seed)

    def state_probe_predictions(self) -> np.ndarray:
        """The internal evaluator's predicted scores [S, H] on the fixed state probe."""
        return state_predictions(self.context)

    def revision_summary(self) -> RevisionSummary:
        """Trigger, revision and acceptance rates, mean uplift and tokens spent over the history."""
        from scalarscope.engine.revision import summarize_outcomes

        return summarize_outcomes([r.revision for r in self.history])

    # -- what a checkpoint holds beyond the context, optimiser, critic, pool and history ------
    def run_state(self) -> dict:
        """The JSON-able state that spans cycles (see :mod:`scalarscope.engine.checkpoint`)."""
        return {"prompt_memory": dict(self._prompt_memory), "pending_failures": list(self._pending_failures),
                "extra": {"steering": self.steering_values(), "init_kwargs": self.init_kwargs()}}

    def run_tensors(self) -> dict:
        return {f"reference.{k}": v for k, v in self.steering_tensors().items()}

    def restore_run_state(self, state: dict, tensors: dict, history: History, cycle: int) -> None:
        """Undo of :meth:`run_state` and :meth:`run_tensors` on a freshly built engine."""
        reference = {k[len("reference."):]: v for k, v in tensors.items() if k.startswith("reference.")}
        self.restore_steering_state({**state["extra"]["steering"], "reference": reference})
        self._prompt_memory = dict(state["prompt_memory"])
        self._pending_failures = list(state["pending_failures"])
        self.history, self.cycle = history, cycle
        self._restore_geometry()

    def init_kwargs(self) -> dict:
        """The constructor arguments beyond the context that a checkpoint passes back."""
        return {} if self.revision is None else {"revision": self.revision.config}

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


def _default_pool(config: EngineConfig, revision: Revision | None) -> TokenPool:
    """Exactly one batch of tokens per cycle; with revision, the drafts' full budget plus
    ``DEFAULT_REVISION_SHARE`` of the cycle for rewrites."""
    import math

    from scalarscope.engine.revision import DEFAULT_REVISION_SHARE

    drafts = config.batch_size * config.max_new_tokens
    if revision is None:
        return TokenPool(GovernorConfig(max_tokens_per_cycle=drafts))
    total = math.ceil(drafts / (1.0 - DEFAULT_REVISION_SHARE))
    return TokenPool(GovernorConfig(max_tokens_per_cycle=total, revision_share=DEFAULT_REVISION_SHARE))


def _steps_taken(optimizer) -> float:
    """Optimiser steps so far (Adam's own count): tells an interrupted cycle whether it stepped."""
    counts = [float(slots["step"]) for slots in optimizer.state.values() if "step" in slots]
    return max(counts, default=0.0)
