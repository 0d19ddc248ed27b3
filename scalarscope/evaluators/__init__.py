"""Evaluators: the protocol, overlap-controlled synthetic ones, the internal evaluator's maths.

Real judges (MiniLM, VADER, wordfreq, reward models) live in :mod:`scalarscope.evaluators.judges`,
imported on demand: ``from scalarscope.evaluators.judges import real_judges``.
"""

from scalarscope.evaluators.base import (
    CallableEvaluator,
    Evaluator,
    PrefixFeedback,
    ScoreTable,
    as_evaluator,
    check_evaluators,
    prefix_feedback,
    score_responses,
)
from scalarscope.evaluators.cache import CachedEvaluator, CacheInfo, ScoreCache, cached
from scalarscope.evaluators.overlap import OverlapReport, analyze_overlap, analyze_scores, probe_scores
from scalarscope.evaluators.reward_functions import as_reward_function, from_reward_function
from scalarscope.evaluators.synthetic import (
    CRITERIA,
    EvaluatorSet,
    LatentFeatures,
    SyntheticEvaluator,
    correlated_evaluators,
)
from scalarscope.evaluators.timeout import EvaluatorTimeout, TimedEvaluator, with_timeout

__all__ = [
    "CRITERIA", "CallableEvaluator", "Evaluator", "EvaluatorSet", "OverlapReport", "ScoreTable", "analyze_overlap",
    "analyze_scores", "probe_scores", "SyntheticEvaluator",
    "LatentFeatures", "as_evaluator", "check_evaluators", "correlated_evaluators",
    "score_responses", "EvaluatorTimeout", "TimedEvaluator", "with_timeout",
    "PrefixFeedback", "prefix_feedback", "CachedEvaluator", "CacheInfo", "ScoreCache", "cached",
    "as_reward_function", "from_reward_function",
]
