"""Input checks shared by the geometry functions (numpy only)."""

from __future__ import annotations

import numpy as np

from scalarscope.errors import ScalarScopeError


class GeometryInputError(ScalarScopeError, ValueError):
    """An array handed to a geometry function has the wrong shape or holds non-finite values."""


def as_matrix(values: object, name: str, *, min_rows: int = 1, finite: bool = True) -> np.ndarray:
    """Return ``values`` as a float64 array of shape [n, d], or raise naming ``name``.

    A 1-D array is *not* silently reshaped: the caller must say whether it is one row or one column.
    """
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2:
        raise GeometryInputError(
            f"{name} must be a 2-D array [n, d], got shape {array.shape}. "
            f"Use {name}.reshape(-1, 1) for one column or {name}[None, :] for one row."
        )
    if array.shape[0] < min_rows or array.shape[1] < 1:
        raise GeometryInputError(f"{name} needs at least {min_rows} row(s) and 1 column, got shape {array.shape}.")
    if finite and not np.isfinite(array).all():
        bad = np.argwhere(~np.isfinite(array))[0]
        raise GeometryInputError(
            f"{name} holds a non-finite value at [{bad[0]}, {bad[1]}] ({array[bad[0], bad[1]]!r}); "
            "replace NaN/inf first (scalarscope.export sanitises run histories for you)."
        )
    return array


def global_scale(array: np.ndarray) -> float:
    """Largest finite absolute value in ``array`` (1.0 when there is none), to keep squares finite."""
    finite = np.abs(array[np.isfinite(array)])
    peak = float(finite.max()) if finite.size else 0.0
    return peak if peak > 0.0 else 1.0
