"""Read any schema-1 geometry file (ours or the viewer's samples) into :class:`GeometryFile`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from scalarscope.errors import GeometryFileError
from scalarscope.export.loaded import (
    AnisotropySeries,
    FailureEntry,
    GeometryFile,
    Reduction,
    RunMetadata,
    ScalarSeries,
    SpectrumSeries,
    Trajectory,
)
from scalarscope.export.records import CRITERIA, Professor
from scalarscope.export.validate import SCHEMA, check_hard_rules, parse_text, read_text

_METADATA_KEYS = tuple(SCHEMA["run_metadata"])


def _pairs(rows: list[list[float]]) -> np.ndarray:
    """[n, 2] from lists of >= 2 numbers (shorter lists are padded with 0, as the viewer reads 0)."""
    if all(len(row) == 2 for row in rows):  # the usual case: one C-level conversion
        return np.array(rows, dtype=np.float64).reshape(-1, 2)
    out = np.zeros((len(rows), 2))
    for i, row in enumerate(rows):
        out[i, : min(len(row), 2)] = row[:2]
    return out


def _column(items: list[dict[str, Any]], key: str) -> np.ndarray:
    return np.array([item[key] for item in items], dtype=np.float64)


def _spectra(entries: list[dict[str, Any]]) -> SpectrumSeries:
    counts = np.array([len(entry["values"]) for entry in entries], dtype=np.int64)
    values = np.zeros((len(entries), int(counts.max(initial=0))))
    for row, entry in enumerate(entries):
        values[row, : counts[row]] = entry["values"]
    return SpectrumSeries(t=_column(entries, "t"), values=values, counts=counts)


def geometry_from_tree(tree: dict[str, Any], path: Path | None = None) -> GeometryFile:
    """Build the typed records from a tree that passes the hard rules."""
    meta, reduction, steps = tree["run_metadata"], tree["reduction"], tree["trajectory"]["timesteps"]
    components = reduction["components"]
    scalars, geometry, evaluators = tree["scalars"], tree["geometry"], tree["evaluators"]
    return GeometryFile(
        path=path,
        schema_version=tree["schema_version"],
        metadata=RunMetadata(
            **{key: meta.get(key) for key in _METADATA_KEYS},
            extra={key: value for key, value in meta.items() if key not in _METADATA_KEYS},
        ),
        reduction=Reduction(
            method=reduction["method"], input_dim=reduction["input_dim"], output_dim=reduction["output_dim"],
            explained_variance=np.array(reduction["explained_variance"], dtype=np.float64),
            components=np.array(components, dtype=np.float64) if components and len({len(r) for r in components}) == 1 else np.zeros((0, 0)),
        ),  # fmt: skip
        trajectory=Trajectory(
            t=_column(steps, "t"),
            state_2d=_pairs([step["state_2d"] for step in steps]),
            velocity=_pairs([step["velocity"] for step in steps]),
            curvature=_column(steps, "curvature"),
            effective_dim=_column(steps, "effective_dim"),
        ),
        scalars=ScalarSeries(
            dimensions=tuple(scalars["dimensions"]),
            t=_column(scalars["values"], "t"),
            values=np.column_stack([_column(scalars["values"], name) for name in CRITERIA]).reshape(-1, len(CRITERIA)),
        ),
        eigenvalues=_spectra(geometry["eigenvalues"]),
        anisotropy=AnisotropySeries(t=_column(geometry["anisotropy"], "t"), ratio=_column(geometry["anisotropy"], "ratio")),
        latent_dim=evaluators["latent_dim"],
        professors=tuple(Professor(p["name"], p["vector"] or [0.0], p["holdout"]) for p in evaluators["professors"]),
        failures=tuple(FailureEntry(float(f["t"]), f["category"], f["severity"], f["description"]) for f in tree["failures"]),
        extra={key: value for key, value in tree.items() if key not in SCHEMA},
    )


def load_geometry(path: str | os.PathLike[str]) -> GeometryFile:
    """Read a schema-1 geometry file; raise GeometryFileError naming the file, field or line on any
    hard-rule violation (truncated, NaN, wrong types, nulls, missing parts, schema 2...).

    Drawing-rule departures (a different t grid per series, severities like "LOW") are accepted, as
    in the viewer's own samples. Raises GeometryFileNotFoundError when the file does not exist.
    """
    target = Path(path)
    text, violations = read_text(target)
    tree = None
    if text is not None:
        tree, parse_violations, lines = parse_text(text)
        violations += parse_violations
        if tree is not None:
            violations += [v for v in check_hard_rules(tree, lines) if v not in violations]
    if violations or not isinstance(tree, dict):
        first = violations[0]
        more = f" ({len(violations) - 1} more problem(s); run `scalarscope validate {target}`)" if len(violations) > 1 else ""
        raise GeometryFileError(f"{target}: {first.path}: {first.message} [contract rule {first.rule}]{more}")
    return geometry_from_tree(tree, target)
