"""ScalarScope: can a model internalize the judgment of its evaluators?

The core imports numpy only; torch is imported when the engine or student is first used, and
ipywidgets / plotly only by :mod:`scalarscope.widgets`.
"""

from __future__ import annotations

from importlib import import_module

from scalarscope.errors import (
    CheckpointError,
    ConfigError,
    ConfigTypeError,
    EvaluatorError,
    GeometryFileError,
    MeasurementWarning,
    OutputPathError,
    ScalarScopeError,
    SweepError,
    UnsupportedCharacterError,
)

__version__ = "0.1.0"

_LAZY = {
    "ScalarScopeEngine": "scalarscope.engine",
    "RevisionScalarScopeEngine": "scalarscope.engine",
    "EngineConfig": "scalarscope.engine",
    "RevisionConfig": "scalarscope.engine",
    "TrainingMetrics": "scalarscope.engine",
    "CycleRecord": "scalarscope.engine",
    "TransferMeasurement": "scalarscope.engine",
    "History": "scalarscope.engine",
    "build_default_world": "scalarscope.engine",
    "train_default_world": "scalarscope.engine",
    "summary_text": "scalarscope.engine",
    "GovernorConfig": "scalarscope.governor",
    "TokenPool": "scalarscope.governor",
    "correlated_evaluators": "scalarscope.evaluators",
    "as_evaluator": "scalarscope.evaluators",
    "with_timeout": "scalarscope.evaluators",
    "default_student": "scalarscope.student",
    "HFStudent": "scalarscope.student",
    "tiny_gpt2": "scalarscope.student",
    "real_judges": "scalarscope.evaluators.judges",
    "real_judges_world": "scalarscope.worlds.real_judges",
    "build_world": "scalarscope.worlds",
    "register_world": "scalarscope.worlds",
    "WorldSpec": "scalarscope.worlds",
    "english_world": "scalarscope.worlds.english",
    "load_corpus": "scalarscope.corpus",
    "PretrainConfig": "scalarscope.student.pretrain_config",
    # sweeps: the package is ``sweeps`` so that ``scalarscope.sweep`` is the function itself
    "sweep": "scalarscope.sweeps",
    "summarize_sweep": "scalarscope.sweeps",
    "compare_targeting": "scalarscope.sweeps",
    # the conscience study (Goodhart): conscience-only training, measured by the judges
    "goodhart": "scalarscope.sweeps.goodhart_study",
    "goodhart_summary": "scalarscope.sweeps.goodhart_fit",
}

__all__ = [
    "CheckpointError", "ConfigError", "ConfigTypeError", "EvaluatorError", "GeometryFileError", "MeasurementWarning", "OutputPathError",
    "ScalarScopeError", "SweepError", "UnsupportedCharacterError", *_LAZY,
]


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'scalarscope' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The module's own names and the lazy ones, so tab completion offers what ``__getattr__`` serves."""
    return sorted(set(globals()) | set(__all__))
