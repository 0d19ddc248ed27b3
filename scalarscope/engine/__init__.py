"""The training engine: one cycle at a time, frozen records out.

Configuration and records import without torch; the engines themselves load torch when first
touched (so ``scalarscope score`` and other torch-free paths stay light).
"""

from __future__ import annotations

from importlib import import_module

from scalarscope.engine.config import DEFAULT_PROMPTS, EngineConfig
from scalarscope.engine.records import (
    CycleRecord,
    FailureEvent,
    History,
    RevisionOutcome,
    TrainingMetrics,
    TransferMeasurement,
)
from scalarscope.engine.revision import RevisionConfig

_LAZY = {
    "ScalarScopeEngine": "scalarscope.engine.loop",
    "RevisionScalarScopeEngine": "scalarscope.engine.revision_engine",
    "build_default_world": "scalarscope.worlds.default",
    "train_default_world": "scalarscope.worlds.default",
    "summary_text": "scalarscope.engine.summary",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'scalarscope.engine' has no attribute {name!r}")


__all__ = [
    "DEFAULT_PROMPTS", "CycleRecord", "EngineConfig", "FailureEvent", "History", "RevisionConfig",
    "RevisionOutcome", "RevisionScalarScopeEngine", "ScalarScopeEngine", "TrainingMetrics", "TransferMeasurement",
    "build_default_world", "summary_text", "train_default_world",
]
