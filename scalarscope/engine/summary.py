"""The default run and its summary table (used by ``scalarscope run`` and ``make demo``)."""

from __future__ import annotations

import time

from scalarscope.engine.config import EngineConfig
from scalarscope.engine.loop import ScalarScopeEngine
from scalarscope.evaluators.synthetic import correlated_evaluators
from scalarscope.governor import GovernorConfig, TokenPool

FINAL_PROBES = 2000  # probe responses of the summary's final transfer measurement


def train_default_world(*, overlap: float = 0.5, cycles: int = 300, seed: int = 0, n: int = 5,
                        holdout: str | None = None, budget: int | None = None, strategy: str = "fixed",
                        progress: bool = True, student: str = "gru") -> ScalarScopeEngine:
    """Build the default world at ``overlap`` with the named ``student`` (see
    :data:`scalarscope.worlds.STUDENTS`), train ``cycles`` cycles, return the engine."""
    from scalarscope.worlds import build_student

    config = EngineConfig()
    pool = TokenPool(GovernorConfig(max_tokens_per_cycle=budget or config.batch_size * config.max_new_tokens,
                                    budget_strategy=strategy))
    engine = ScalarScopeEngine(model=build_student(student, seed=seed),
                               evaluators=correlated_evaluators(n, overlap, seed=seed), token_pool=pool,
                               holdout=holdout, seed=seed, config=config)
    start = time.perf_counter()
    engine.run(cycles, progress=progress)
    engine.wall_seconds = time.perf_counter() - start
    return engine


def summarize(engine: ScalarScopeEngine, *, window: int = 20) -> str:
    """A plain-text table: first and last ``window`` cycles side by side, plus transfer."""
    frame = engine.history.to_frame()
    if frame.empty:
        return "no cycles run"
    head, tail = frame.head(window), frame.tail(window)
    score_cols = [c for c in frame.columns if c.startswith("score_")]
    rows = [("mean score (training evaluators)", "mean_score"), ("scalar-head error", "head_error"),
            ("surprise", "surprise"), ("critic surprise", "critic_surprise"), ("policy entropy", "entropy"),
            ("tokens used / cycle", "tokens_used")] + [(c[6:], c) for c in score_cols]
    lines = [f"{'metric':<34}{'first ' + str(len(head)):>12}{'last ' + str(len(tail)):>12}"]
    for label, col in rows:
        lines.append(f"{label:<34}{head[col].mean():>12.3f}{tail[col].mean():>12.3f}")
    if engine.holdout is not None:  # the trained student, on fresh probes (the history's points are live views)
        final = engine.holdout_transfer(FINAL_PROBES)
        lines.append(f"holdout transfer ({final.holdout}) after cycle {len(frame) - 1}: {final.transfer:.3f} "
                     f"(ceiling {final.ceiling:.3f}, ratio {final.ratio:.2f}; {final.n} fresh probes)")
    seconds = getattr(engine, "wall_seconds", None)
    if seconds:
        lines.append(f"{len(frame)} cycles in {seconds:.1f} s ({1000 * seconds / len(frame):.1f} ms per cycle)")
    failures = engine.history.failures
    lines.append(f"failures recorded: {len(failures)}")
    return "\n".join(lines)
