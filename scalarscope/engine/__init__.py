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

__all__ = [
    "DEFAULT_PROMPTS", "CycleRecord", "EngineConfig", "FailureEvent", "History", "RevisionOutcome",
    "ScalarScopeEngine", "TrainingMetrics", "TransferMeasurement",
]
