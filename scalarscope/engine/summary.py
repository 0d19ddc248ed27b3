"""The plain-text summary table of a run (printed by ``scalarscope run`` and ``make demo``)."""

from __future__ import annotations

import math
import warnings

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
        lines.append(f"{label:<34}{_cell(head[col].mean())}{_cell(tail[col].mean())}")
    if engine.holdout is not None:  # the trained student, on fresh probes (the history's points are live views)
        lines.append(_final_transfer(engine, len(frame) - 1))
    if wall_seconds is not None and math.isfinite(wall_seconds):
        lines.append(f"{len(frame)} cycles in {wall_seconds:.1f} s ({1000 * wall_seconds / len(frame):.1f} ms per cycle)")
    failures = engine.history.failures
    lines.append(f"failures recorded: {len(failures)}")
    return "\n".join(lines)


def _cell(value: float) -> str:
    """A table cell: the number, or "not measured" (a NaN mean: no cycle of the window measured it)."""
    return f"{value:>12.3f}" if math.isfinite(value) else f"{'not measured':>14}"


def _final_transfer(engine: ScalarScopeEngine, last_cycle: int) -> str:
    """The summary's transfer line; a number that was not measured says so, with the reason."""
    from scalarscope.errors import MeasurementWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MeasurementWarning)
        final = engine.holdout_transfer(FINAL_PROBES)
    reasons = [str(w.message) for w in caught if issubclass(w.category, MeasurementWarning)]

    def shown(value: float, digits: int = 3) -> str:
        return f"{value:.{digits}f}" if math.isfinite(value) else "not measured"

    head = f"holdout transfer ({final.holdout}) after cycle {last_cycle} on {final.n} fresh {final.distribution} probes"
    ceilings = f"ceiling {shown(final.ceiling)}, best linear ceiling {shown(final.best_ceiling)}"
    if not math.isfinite(final.transfer):
        why = next((r.split(" not measured: ")[-1].split("; it is NaN")[0] for r in reasons
                    if r.startswith("holdout transfer") or "probe responses have" in r), "see the warning")
        return f"{head}: not measured ({why}); {ceilings}"
    ratio = shown(final.ratio, 2) if math.isfinite(final.ratio) else "not measured (ceiling under 0.1)"
    return (f"{head}: {final.transfer:.3f} (95% interval {shown(final.ci_low)} to {shown(final.ci_high)}, "
            f"permutation p {shown(final.p_null, 4)}; {ceilings}, ratio {ratio}; fidelity {shown(final.fidelity)})")
