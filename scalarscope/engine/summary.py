"""The plain-text summary table of a run (printed by ``scalarscope run`` and ``make demo``)."""

from __future__ import annotations

import math

from scalarscope.engine.loop import ScalarScopeEngine

__all__ = ["FINAL_PROBES", "summary_text"]

FINAL_PROBES = 2000  # probe responses of the summary's final transfer measurement


def summary_text(engine: ScalarScopeEngine, *, window: int = 20, wall_seconds: float | None = None) -> str:
    """A plain-text table: first and last ``window`` cycles side by side, plus transfer.

    Means skip missing numbers (NaN: cycles that ran out of budget, evaluators that failed);
    ``wall_seconds``, when given, adds the time per cycle.
    """
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
    if wall_seconds is not None and math.isfinite(wall_seconds):
        lines.append(f"{len(frame)} cycles in {wall_seconds:.1f} s ({1000 * wall_seconds / len(frame):.1f} ms per cycle)")
    failures = engine.history.failures
    lines.append(f"failures recorded: {len(failures)}")
    return "\n".join(lines)
