"""Records and configs to JSON and back, for checkpoints: data only, never code.

A value is encoded as plain JSON; dataclasses carry a ``"__record__"`` tag naming one of the
classes in :data:`RECORD_TYPES` (nothing else can be built from a file), arrays a ``"__array__"``
tag with their dtype and shape, tuples a ``"__tuple__"`` tag (records compare equal after a round
trip), mappings with non-string keys a ``"__items__"`` tag.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import fields, is_dataclass

import numpy as np

_ALLOWED_DTYPES = {"float64", "float32", "int64", "int32", "bool"}


def _record_types() -> dict[str, type]:
    from scalarscope.engine.config import EngineConfig
    from scalarscope.engine.records import (
        CycleRecord,
        FailureEvent,
        RevisionOutcome,
        TrainingMetrics,
        TransferMeasurement,
    )
    from scalarscope.engine.revision import RevisionConfig
    from scalarscope.governor import GovernorConfig
    from scalarscope.governor.token_pool import LedgerEntry

    classes = (CycleRecord, FailureEvent, RevisionOutcome, TrainingMetrics, TransferMeasurement, LedgerEntry,
               GovernorConfig, EngineConfig, RevisionConfig)
    return {cls.__name__: cls for cls in classes}


def encode(value):
    """``value`` as JSON-able data (see the module docstring)."""
    if is_dataclass(value) and not isinstance(value, type):
        out = {f.name: encode(getattr(value, f.name)) for f in fields(value) if f.init}
        return {"__record__": type(value).__name__, **out}
    if isinstance(value, np.ndarray):
        return {"__array__": [encode(v) for v in value.ravel().tolist()], "dtype": str(value.dtype),
                "shape": list(value.shape)}
    if isinstance(value, np.generic):
        return encode(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return {"__float__": repr(value)}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, Mapping):
        if all(isinstance(k, str) for k in value):
            return {k: encode(v) for k, v in value.items()}
        return {"__items__": [[encode(k), encode(v)] for k, v in value.items()]}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"cannot store a {type(value).__name__} in a checkpoint")


def decode(data, types: dict[str, type] | None = None):
    """The value :func:`encode` encoded. Unknown record names raise ValueError."""
    types = types if types is not None else _record_types()
    if isinstance(data, list):
        return [decode(v, types) for v in data]
    if not isinstance(data, dict):
        return data
    if "__record__" in data:
        name = data["__record__"]
        if name not in types:
            raise ValueError(f"unknown record type {name!r}")
        return types[name](**{k: decode(v, types) for k, v in data.items() if k != "__record__"})
    if "__array__" in data:
        if data["dtype"] not in _ALLOWED_DTYPES:
            raise ValueError(f"array dtype {data['dtype']!r} is not allowed")
        flat = np.array([decode(v, types) for v in data["__array__"]], dtype=data["dtype"])
        out = flat.reshape(data["shape"])
        out.setflags(write=False)
        return out
    if "__float__" in data:
        return float(data["__float__"])
    if "__tuple__" in data:
        return tuple(decode(v, types) for v in data["__tuple__"])
    if "__items__" in data:
        return {decode(k, types): decode(v, types) for k, v in data["__items__"]}
    return {k: decode(v, types) for k, v in data.items()}
