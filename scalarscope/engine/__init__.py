"""The training engine: one cycle at a time, frozen records out."""

from scalarscope.engine.config import DEFAULT_PROMPTS, EngineConfig
from scalarscope.engine.loop import ScalarScopeEngine
from scalarscope.engine.records import (
    CycleRecord,
    FailureEvent,
    History,
    RevisionOutcome,
    TrainingMetrics,
    TransferMeasurement,
)
from scalarscope.engine.revision import RevisionConfig  # [revision]
from scalarscope.engine.revision_engine import RevisionScalarScopeEngine  # [revision]

__all__ = [
    "DEFAULT_PROMPTS", "CycleRecord", "EngineConfig", "FailureEvent", "History", "RevisionOutcome",
    "ScalarScopeEngine", "TrainingMetrics", "TransferMeasurement",
    "RevisionConfig", "RevisionScalarScopeEngine",  # [revision]
]
