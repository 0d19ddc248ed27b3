"""The default world: character text, a named student, synthetic evaluators with an exact overlap.

- **Student**: a registered student by name (:data:`scalarscope.student.STUDENTS`: the width-64
  character GRU, or ``tiny-gpt2`` over the same characters), weights from the seed.
- **Evaluators**: :func:`~scalarscope.evaluators.correlated_evaluators` (``n_evaluators`` of them
  at ``overlap``, the interaction with the previous character carrying ``context_share`` of the
  feature variance), built from the seed.
- **Prompts**: the engine's defaults; **probes**: random characters (no natural text).
- **Token pool**: ``budget`` tokens per cycle (None: one full batch) shared by ``strategy``.

``scalarscope run``, the sweeps, the studies and the notebooks build it here, by name:
``build_world("default", seed=0, overlap=0.87).engine(holdout="clarity")``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from dataclasses import fields as dataclass_fields
from functools import cached_property
from typing import TYPE_CHECKING

from scalarscope.errors import ConfigError
from scalarscope.worlds import WorldSpec, register_world

if TYPE_CHECKING:
    from scalarscope.engine.config import EngineConfig
    from scalarscope.engine.loop import ScalarScopeEngine
    from scalarscope.evaluators.synthetic import EvaluatorSet
    from scalarscope.governor import TokenPool
    from scalarscope.student.protocol import Student



@dataclass(frozen=True, kw_only=True)
class DefaultWorld:
    """The default world for one seed; see the module docstring for what each option sets."""

    seed: int = 0
    overlap: float = 0.5
    n_evaluators: int = 5
    context_share: float = 0.02
    student_name: str = "gru"
    budget: int | None = None
    strategy: str = "fixed"
    name = "default"
    default_holdout = None

    @cached_property
    def evaluator_names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.evaluators())

    def evaluators(self) -> EvaluatorSet:
        """Fresh synthetic evaluators (their overlap is exact: ``overlap``), as one set (a sequence)."""
        from scalarscope.evaluators.synthetic import correlated_evaluators

        # the set itself, not a list of it: a checkpoint rebuilds a synthetic set from its spec
        return correlated_evaluators(self.n_evaluators, self.overlap, seed=self.seed, context_share=self.context_share)

    def student(self) -> Student:
        """A fresh student ``student_name``, weights from ``seed``."""
        from scalarscope.student import build_student

        return build_student(self.student_name, seed=self.seed)

    def prompts(self) -> tuple[str, ...] | None:
        return None  # the engine's DEFAULT_PROMPTS

    def engine_config(self) -> EngineConfig:
        from scalarscope.engine.config import EngineConfig

        return EngineConfig()

    def token_pool(self, config: EngineConfig) -> TokenPool:
        """The governor: ``budget`` tokens per cycle (None: ``batch_size * max_new_tokens``)."""
        from scalarscope.governor import GovernorConfig, TokenPool

        per_cycle = config.batch_size * config.max_new_tokens if self.budget is None else self.budget
        return TokenPool(GovernorConfig(max_tokens_per_cycle=per_cycle, budget_strategy=self.strategy))

    def engine(self, *, holdout: str | None = None, token_pool: TokenPool | None = None,
               **config_changes) -> ScalarScopeEngine:
        """An untrained :class:`~scalarscope.engine.ScalarScopeEngine` on this world (config fields may be changed)."""
        from scalarscope.engine.loop import ScalarScopeEngine

        config = replace(self.engine_config(), **config_changes)
        model = self.student()
        return ScalarScopeEngine(model=model, evaluators=self.evaluators(),
                                 token_pool=token_pool or self.token_pool(config), holdout=holdout, seed=self.seed,
                                 config=config, prompts=self.prompts())

    def natural_texts(self, n: int, seed: int = 0) -> list[str]:
        raise ConfigError("the default world has no natural text (its probes are random characters); use a "
                          "world with natural text, e.g. one registered for English")


def build(*, seed: int = 0, overlap: float = 0.5, n_evaluators: int = 5, context_share: float = 0.02,
          student: str = "gru", budget: int | None = None, strategy: str = "fixed") -> DefaultWorld:
    """The default world for ``seed`` (options: see :class:`DefaultWorld`; ``student`` is a student's name)."""
    return DefaultWorld(seed=seed, overlap=overlap, n_evaluators=n_evaluators, context_share=context_share,
                        student_name=student, budget=budget, strategy=strategy)


SPEC = register_world(WorldSpec(
    "default", "character text; synthetic evaluators with an exact overlap knob", build,
    frozenset({"overlap", "n_evaluators", "context_share", "student", "budget", "strategy"})))


def build_default_world(*, overlap: float = 0.5, seed: int = 0, n_evaluators: int = 5, holdout: str | None = None,
                        budget: int | None = None, strategy: str = "fixed", config: EngineConfig | None = None, student: str = "gru"
                        ) -> ScalarScopeEngine:
    """An untrained engine of the default world (kept for notebooks and scripts:
    ``build_world("default", ...).engine(...)`` is the same)."""
    world = build(seed=seed, overlap=overlap, n_evaluators=n_evaluators, student=student, budget=budget, strategy=strategy)
    fields = {} if config is None else {f.name: getattr(config, f.name) for f in dataclass_fields(config)}
    return world.engine(holdout=holdout, **fields)


def train_default_world(*, overlap: float = 0.5, cycles: int = 300, seed: int = 0, n_evaluators: int = 5,
                        holdout: str | None = None, budget: int | None = None, strategy: str = "fixed",
                        progress: bool = True, student: str = "gru") -> ScalarScopeEngine:
    """:func:`build_default_world`, trained ``cycles`` cycles; returns the engine."""
    engine = build_default_world(overlap=overlap, seed=seed, n_evaluators=n_evaluators, holdout=holdout, budget=budget, strategy=strategy,
                                 student=student)
    engine.run(cycles, progress=progress)
    return engine
