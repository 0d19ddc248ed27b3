"""Evaluators: the protocol, overlap-controlled synthetic ones, the internal evaluator's maths."""

from scalarscope.evaluators.base import (
    CallableEvaluator,
    Evaluator,
    ScoreTable,
    as_evaluator,
    check_evaluators,
    score_responses,
)
from scalarscope.evaluators.overlap import OverlapReport, analyze_overlap, analyze_scores, probe_scores
from scalarscope.evaluators.synthetic import (
    CRITERIA,
    EvaluatorSet,
    SyntheticEvaluator,
    SyntheticWorld,
    correlated_evaluators,
)
from scalarscope.evaluators.timeout import EvaluatorTimeout, TimedEvaluator, with_timeout

__all__ = [
    "CRITERIA", "CallableEvaluator", "Evaluator", "EvaluatorSet", "OverlapReport", "ScoreTable", "analyze_overlap",
    "analyze_scores", "probe_scores", "SyntheticEvaluator",
    "SyntheticWorld", "as_evaluator", "check_evaluators", "correlated_evaluators",
    "score_responses", "EvaluatorTimeout", "TimedEvaluator", "with_timeout",
]
