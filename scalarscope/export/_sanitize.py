"""Turning a raw run history into numbers the viewer accepts (vectorised numpy)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from scalarscope.errors import GeometryFileError
from scalarscope.export.records import INT32_MAX, INT32_MIN

MAX_EVENTS_PER_CATEGORY = 20
_SEVERITIES = {
    "critical": "critical", "fatal": "critical", "error": "critical", "high": "critical",
    "warning": "warning", "warn": "warning", "medium": "warning",
    "info": "info", "low": "info", "debug": "info", "note": "info",
}  # fmt: skip


def forward_fill(values: np.ndarray, default: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Replace each non-finite entry of [n, k] by the last finite one above it (``default`` if none).

    Returns the filled copy and the [n] mask of rows that held a non-finite value.
    """
    finite = np.isfinite(values)
    if finite.all():  # the usual case: nothing to repair
        return values, np.zeros(values.shape[0], dtype=bool)
    rows = np.arange(values.shape[0])[:, None]
    last = np.maximum.accumulate(np.where(finite, rows, -1), axis=0)
    filled = np.take_along_axis(values, np.maximum(last, 0), axis=0)
    filled = np.where(last >= 0, filled, default)
    return filled, ~finite.all(axis=1)


def normalise_spectra(eigenvalues: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spectra [n, k] -> ([n, m] with m = clip(k, 2, 5), degenerate mask [n]).

    Entries are clipped at 0, sorted descending, the first m kept and divided by their sum. A row
    with a non-finite value or nothing positive is degenerate and becomes the uniform spectrum 1/m.
    """
    n, k = eigenvalues.shape
    width = min(max(k, 2), 5)
    finite = np.isfinite(eigenvalues).all(axis=1)
    clean = np.where(np.isfinite(eigenvalues), np.clip(eigenvalues, 0.0, None), 0.0)
    clean = np.sort(clean, axis=1)[:, ::-1][:, :width]
    if k < width:
        clean = np.pad(clean, ((0, 0), (0, width - k)))
    peak = clean[:, :1]
    clean = clean / np.where(peak > 0.0, peak, 1.0)  # per-row scale keeps the sum finite
    total = clean.sum(axis=1, keepdims=True)
    degenerate = ~finite | (total[:, 0] <= 0.0)
    spectra = np.where(degenerate[:, None], 1.0 / width, clean / np.where(total > 0.0, total, 1.0))
    return spectra, degenerate


def run_starts(bad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start indices and lengths of the runs of True in a [n] mask."""
    edges = np.diff(np.concatenate([[0], bad.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return starts, stops - starts


def mask_events(bad: np.ndarray, category: str, severity: str, what: str) -> list[dict[str, Any]]:
    """One failure per run of flagged steps (at most MAX_EVENTS_PER_CATEGORY, then a summary)."""
    n = bad.shape[0]
    starts, lengths = run_starts(bad)
    events = [
        {"t": start / (n - 1) if n > 1 else 0.0, "category": category, "severity": severity,
         "description": f"{what} at step {start}" + (f" and the {length - 1} steps after it" if length > 1 else "")}
        for start, length in zip(starts[:MAX_EVENTS_PER_CATEGORY].tolist(), lengths.tolist(), strict=False)
    ]  # fmt: skip
    if len(starts) > MAX_EVENTS_PER_CATEGORY:
        events[-1]["description"] += (
            f"; {len(starts) - MAX_EVENTS_PER_CATEGORY} later episodes ({int(bad.sum())} steps in all) not listed"
        )
    return events


def map_seed(seed: int) -> tuple[int, str | None]:
    """Seed -> (Int32 seed, original as a string or None): in range unchanged, else seed mod 2**31."""
    if INT32_MIN <= seed <= INT32_MAX:
        return seed, None
    return seed % 2**31, str(seed)


def decimation_indices(n: int, limit: int) -> np.ndarray:
    """Indices of at most ``limit`` evenly spaced steps of n, always keeping the first and the last."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.rint(np.linspace(0, n - 1, limit)).astype(np.int64))


def severity(value: object) -> str:
    """Map any severity word (LOW, High, warn...) onto critical / warning / info; unknown -> warning."""
    return _SEVERITIES.get(str(value).strip().lower(), "warning")


_NAMED_NON_FINITE = frozenset({"nan", "-nan", "+nan", "infinity", "-infinity", "+infinity", "inf", "-inf", "+inf"})


def json_safe(value: Any, path: str) -> Any:
    """A copy of ``value`` with numpy scalars/arrays as Python values and None as "" (no null allowed)."""
    if value is None:
        return ""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, dict):
        return {str(key): json_safe(item, f"{path}.{key}") for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item, f"{path}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, float) and not math.isfinite(value):
        raise GeometryFileError(f"{path} is {value!r}; the viewer rejects non-finite numbers anywhere in the file.")
    if isinstance(value, str) and value.strip().lower() in _NAMED_NON_FINITE:
        raise GeometryFileError(f"{path} is the string {value!r}, which the viewer reads as a non-finite number "
                                "(contract rule 2); an evaluator with that name cannot be exported: rename it, "
                                f"e.g. as_evaluator(judge, name='{value.strip().lower()}_judge')")
    if isinstance(value, bool | int | float | str):
        return value
    raise GeometryFileError(f"{path} holds a {type(value).__name__}, which is not JSON; pass str(...) or a number.")
