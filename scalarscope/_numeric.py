"""Small numpy helpers every layer may use (numpy only; no scalarscope imports)."""

from __future__ import annotations

import numpy as np


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function, as ``0.5 * (1 + tanh(x / 2))``: exact, and stable for large |x|.

    The synthetic evaluators squash their logits with it, the scalar head's predictions and the
    ONNX conscience use it too, so all three agree to the last bit."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x)))


def frozen_array(values) -> np.ndarray:
    """A read-only float64 copy of ``values``."""
    out = np.array(values, dtype=np.float64, copy=True)
    out.setflags(write=False)
    return out
