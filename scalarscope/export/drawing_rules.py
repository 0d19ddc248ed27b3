"""The contract's drawing rules: what makes the viewer draw a run correctly (strict validation).

These run on a tree that already passes the hard rules, so types are known to be right.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scalarscope.export.records import CRITERIA
from scalarscope.export.violation import Violation

COORD_LIMIT = 2.0
SUM_TOLERANCE = 1e-4
T_TOLERANCE = 1e-6
SLOW_STEPS, SLOW_BYTES = 50_000, 20 * 2**20
SEVERITIES = ("critical", "warning", "info")
_SHOWN = 3  # offending indices named per rule


def _flag(out: list[Violation], rule: str, bad: np.ndarray, path: str, message: str) -> None:
    """One violation naming the first offending indices of ``path`` (which holds a {} for the index)."""
    where = np.flatnonzero(bad)
    if where.size:
        more = f" (and {where.size - _SHOWN} more)" if where.size > _SHOWN else ""
        shown = ", ".join(path.format(i) for i in where[:_SHOWN].tolist())
        out.append(Violation(rule, shown, message + more))


def _column(items: list[dict[str, Any]], key: str) -> np.ndarray:
    return np.array([item[key] for item in items], dtype=np.float64)


def _check_grid(tree: dict[str, Any], out: list[Violation]) -> None:
    series = {
        "trajectory.timesteps": tree["trajectory"]["timesteps"],
        "scalars.values": tree["scalars"]["values"],
        "geometry.eigenvalues": tree["geometry"]["eigenvalues"],
        "geometry.anisotropy": tree["geometry"]["anisotropy"],
    }
    n = len(series["trajectory.timesteps"])
    expected = np.arange(n) / (n - 1) if n > 1 else np.zeros(1)
    for name, items in series.items():
        if len(items) != n:
            _flag(out, "t-grid", np.array([True]), name, f"has {len(items)} entries but trajectory.timesteps has {n}; "
                  "the viewer picks each series by position, so they must share one grid")  # fmt: skip
            continue
        t = _column(items, "t")
        _flag(out, "t-grid", np.abs(t - expected) > T_TOLERANCE, name + "[{}].t",
              f"must equal i/(n-1) with n={n} (one shared, strictly increasing grid)")  # fmt: skip


def _check_trajectory(timesteps: list[dict[str, Any]], out: list[Violation]) -> None:
    path = "trajectory.timesteps[{}]"
    for key in ("state_2d", "velocity"):
        sizes = np.array([len(step[key]) for step in timesteps])
        _flag(out, "coords", sizes != 2, path + f".{key}", "must hold exactly 2 numbers")
    coords = np.array([step["state_2d"][:2] for step in timesteps if len(step["state_2d"]) >= 2])
    _flag(out, "coords", np.abs(coords).max(axis=1) > COORD_LIMIT, path + ".state_2d",
          f"is outside ±{COORD_LIMIT}; the viewer does not auto-fit coordinates")  # fmt: skip
    turning = _column(timesteps, "curvature")
    _flag(out, "curvature", (turning < 0.0) | (turning > 1.0), path + ".curvature", "must be in [0, 1] (turning angle / pi)")
    dims = _column(timesteps, "effective_dim")
    _flag(out, "effective_dim", (dims != 0.0) & (dims < 1.0), path + ".effective_dim",
          "must be 0 (no data) or >= 1 (a participation ratio)")  # fmt: skip


def _check_values(tree: dict[str, Any], out: list[Violation]) -> None:
    if list(tree["scalars"]["dimensions"]) != list(CRITERIA):
        out.append(Violation("scalars", "scalars.dimensions", f"should list {list(CRITERIA)}"))
    values = tree["scalars"]["values"]
    for name in CRITERIA:
        column = _column(values, name)
        _flag(out, "scalars", (column < 0.0) | (column > 1.0), "scalars.values[{}]." + name, "must be in [0, 1]")
    spectra = [entry["values"] for entry in tree["geometry"]["eigenvalues"]]
    sizes = np.array([len(v) for v in spectra])
    _flag(out, "eigenvalues", (sizes < 2) | (sizes > 5), "geometry.eigenvalues[{}].values", "must hold 2 to 5 numbers")
    padded = np.full((len(spectra), 5), np.nan)  # NaN marks "no value": every comparison is False
    for row, spectrum in enumerate(spectra):  # at most 5 per entry: fill a padded table
        padded[row, : min(len(spectrum), 5)] = spectrum[:5]
    _flag(out, "eigenvalues", (padded < 0.0).any(axis=1), "geometry.eigenvalues[{}].values", "must be non-negative")
    rising = np.diff(padded, axis=1) > 1e-12
    _flag(out, "eigenvalues", rising.any(axis=1), "geometry.eigenvalues[{}].values", "must be sorted descending")
    total = np.nansum(padded, axis=1)
    _flag(out, "eigenvalues", np.abs(total - 1.0) > SUM_TOLERANCE, "geometry.eigenvalues[{}].values", "must sum to 1")
    ratio = _column(tree["geometry"]["anisotropy"], "ratio")
    _flag(out, "anisotropy", ratio < 1.0, "geometry.anisotropy[{}].ratio", "must be >= 1 (λ1/λ2)")


def _check_rest(tree: dict[str, Any], size: int | None, out: list[Violation]) -> None:
    for i, professor in enumerate(tree["evaluators"]["professors"]):
        vector = professor["vector"]
        if len(vector) < 2 or max(abs(v) for v in vector[:2]) > COORD_LIMIT:
            out.append(Violation("coords", f"evaluators.professors[{i}].vector", f"needs 2 numbers within ±{COORD_LIMIT}"))
    failures = tree["failures"]
    if failures:
        t = _column(failures, "t")
        _flag(out, "failures", (t < 0.0) | (t > 1.0), "failures[{}].t", "must be in [0, 1]")
        severity = np.array([f["severity"] not in SEVERITIES for f in failures])
        _flag(out, "failures", severity, "failures[{}].severity", f"must be one of {', '.join(SEVERITIES)}")
    metadata, n = tree["run_metadata"], len(tree["trajectory"]["timesteps"])
    recorded = metadata.get("original_timesteps", n)
    recorded = recorded if isinstance(recorded, int) and not isinstance(recorded, bool) else n
    if metadata["cycles"] < max(1, recorded, n):
        out.append(Violation("cycles", "run_metadata.cycles", f"is {metadata['cycles']}, fewer than the {max(recorded, n)} recorded steps"))
    reduction = tree["reduction"]
    ratios = np.array(reduction["explained_variance"], dtype=np.float64)
    if reduction["output_dim"] != 2 or ((ratios < 0.0) | (ratios > 1.0)).any() or ratios.sum() > 1.0 + SUM_TOLERANCE:
        out.append(Violation("reduction", "reduction", "output_dim must be 2 and explained_variance shares in [0, 1]"))
    if n > SLOW_STEPS or (size or 0) > SLOW_BYTES:
        out.append(Violation("size", "trajectory.timesteps", f"{n} steps / {(size or 0) / 2**20:.1f} MiB: "
                             f"the viewer warns above {SLOW_STEPS} steps or 20 MiB; decimate"))  # fmt: skip


def check_drawing(tree: dict[str, Any], size: int | None = None) -> list[Violation]:
    """Drawing-rule violations of a tree that passes the hard rules; ``size`` in bytes if known."""
    out: list[Violation] = []
    _check_grid(tree, out)
    _check_trajectory(tree["trajectory"]["timesteps"], out)
    _check_values(tree, out)
    _check_rest(tree, size, out)
    return out
