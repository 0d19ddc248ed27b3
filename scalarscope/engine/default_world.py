"""The default world as one call: synthetic evaluators at an overlap, the GRU student, a token pool.

``scalarscope run``, the sweeps and the notebooks build their engines here, so that a run of the
default world means the same thing everywhere.
"""

from __future__ import annotations

from scalarscope.engine.config import EngineConfig
from scalarscope.engine.loop import ScalarScopeEngine
from scalarscope.evaluators.synthetic import correlated_evaluators
from scalarscope.governor import GovernorConfig, TokenPool


def build_default_world(*, overlap: float = 0.5, seed: int = 0, n: int = 5, holdout: str | None = None,
                        budget: int | None = None, strategy: str = "fixed",
                        config: EngineConfig | None = None, student: str = "gru") -> ScalarScopeEngine:
    """An untrained engine of the default world: ``n`` evaluators at ``overlap``, holding out
    ``holdout``; ``budget`` tokens per cycle (None: one full batch, ``batch_size * max_new_tokens``);
    the named ``student`` (see :data:`scalarscope.student.STUDENTS`)."""
    from scalarscope.student import build_student

    config = config or EngineConfig()
    per_cycle = config.batch_size * config.max_new_tokens if budget is None else budget
    pool = TokenPool(GovernorConfig(max_tokens_per_cycle=per_cycle, budget_strategy=strategy))
    return ScalarScopeEngine(model=build_student(student, seed=seed),
                             evaluators=correlated_evaluators(n, overlap, seed=seed), token_pool=pool,
                             holdout=holdout, seed=seed, config=config)


def train_default_world(*, overlap: float = 0.5, cycles: int = 300, seed: int = 0, n: int = 5,
                        holdout: str | None = None, budget: int | None = None, strategy: str = "fixed",
                        progress: bool = True, student: str = "gru") -> ScalarScopeEngine:
    """:func:`build_default_world`, trained ``cycles`` cycles; returns the engine."""
    engine = build_default_world(overlap=overlap, seed=seed, n=n, holdout=holdout, budget=budget, strategy=strategy,
                                 student=student)
    engine.run(cycles, progress=progress)
    return engine
