"""Number formatting shared by the generated documents."""

from __future__ import annotations

import numpy as np


def mean_std(values, *, signed: bool = False, missing: str = "n/a") -> str:
    """``"mean ± std"`` (sample std) of the finite ``values``, three decimals; the mean alone for one
    value; ``missing`` for none. ``signed`` prints the mean's sign always (a rise, a fall)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if not len(values):
        return missing
    mean = f"{values.mean():+.3f}" if signed else f"{values.mean():.3f}"
    return f"{mean} ± {values.std(ddof=1):.3f}" if len(values) > 1 else mean
