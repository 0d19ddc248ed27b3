"""Write one run as the geometry JSON that ScalarScope-Desktop opens (numpy + stdlib json).

Every rule of ``desktop-geometry-contract.md`` is met by construction: one shared t grid,
coordinates and professor vectors scaled together into [-1, 1], scalars in [0, 1], normalised
spectra, finite numbers only, Int32 integer fields, no null except ``holdout_professor``. The
geometry is computed once over the whole run with vectorised numpy; the file is written atomically.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from scalarscope._atomic import atomic_write_text, check_output_path
from scalarscope.errors import GeometryFileError, OutputPathError
from scalarscope.export import _sanitize as sanitize
from scalarscope.export.records import CRITERIA, RunGeometry
from scalarscope.geometry import anisotropy, curvature, effective_dimension, pca_2d, velocity

SCHEMA_VERSION = "1.0"
DECIMATE_ABOVE = 50_000  # the viewer warns that playback will be slow above this many steps
COORD_BOUND = 1.0  # |x|, |y| of trajectory and professor vectors after scaling (the viewer allows 2)
DIVERGENCE_ABS = 1e30  # a state entry beyond this is recorded as divergence
MAX_FILE_BYTES = 100 * 2**20
_DECIMALS = 6  # 1e-6 of the canvas' quarter-width: invisible, and keeps 50,000 steps under 20 MiB
_T_DECIMALS = 9
_SERIES = ("trajectory", "scalars", "geometry")  # written as pre-formatted text
_TRAJECTORY_ROW = '{"t":%r,"state_2d":[%r,%r],"velocity":[%r,%r],"curvature":%r,"effective_dim":%r}'
_SCALAR_ROW = '{"t":%r,' + ",".join(f'"{name}":%r' for name in CRITERIA) + "}"
_ANISOTROPY_ROW = '{"t":%r,"ratio":%r}'


def _rounded(values: np.ndarray, decimals: int = _DECIMALS) -> np.ndarray:
    return np.round(values, decimals) + 0.0  # + 0.0 turns -0.0 into 0.0


def _sanitised_states(states: np.ndarray) -> tuple[np.ndarray, list[dict[str, Any]]]:
    filled, non_finite = sanitize.forward_fill(states)
    exploding = (np.abs(filled) > DIVERGENCE_ABS).any(axis=1)
    events = sanitize.mask_events(non_finite, "divergence", "critical", "non-finite state (held at the last finite value)")
    events += sanitize.mask_events(exploding & ~non_finite, "divergence", "critical", f"state entry beyond {DIVERGENCE_ABS:g}")
    peak = float(np.abs(filled).max())
    return (filled / peak if peak > 0.0 else filled), events


def _professor_vectors(run: RunGeometry) -> tuple[np.ndarray, list[dict[str, Any]]]:
    vectors = np.zeros((len(run.professors), 2))
    events = []
    for row, professor in enumerate(run.professors):
        first_two = professor.vector[:2]
        if not np.isfinite(first_two).all():
            events.append({"t": 0.0, "category": "evaluator_error", "severity": "warning",
                           "description": f"professor {professor.name} has a non-finite vector; drawn at the origin"})  # fmt: skip
            first_two = np.where(np.isfinite(first_two), first_two, 0.0)
        vectors[row, : first_two.size] = first_two
    return vectors, events


def _user_failures(run: RunGeometry) -> list[dict[str, Any]]:
    last = max(run.cycles - 1, 1)
    return [
        {"t": min(max(int(f.cycle) / last, 0.0), 1.0), "category": str(f.category),
         "severity": sanitize.severity(f.severity), "description": str(f.description)}
        for f in run.failures
    ]  # fmt: skip


def geometry_text(run: RunGeometry, *, window: int = 20) -> str:
    """The contract's JSON text for ``run``: compact, one timestep per line, finite numbers only.

    ``window`` is the trailing window of the effective dimension. Curvature and effective dimension
    are measured in the state space; state_2d and velocity in the PCA plane. The four per-step
    series are formatted straight from numpy columns (one ``%`` per row, no dicts); everything else
    goes through ``json.dumps(allow_nan=False)``.
    """
    n, d = run.states.shape
    states, failures = _sanitised_states(run.states)
    projection = pca_2d(states)
    professors, professor_events = _professor_vectors(run)
    extent = max(float(np.abs(projection.coords).max()), float(np.abs(professors).max(initial=0.0)))
    # below the smallest normal float there is nothing to scale (and 1 / extent would overflow)
    factor = COORD_BOUND / extent if extent >= np.finfo(np.float64).tiny else 1.0
    coords = projection.coords * factor
    steps = velocity(coords)
    turning = curvature(states)
    dims = effective_dimension(states, window)
    scalars, bad_scalars = sanitize.forward_fill(run.scalars, default=0.0)
    scalars = np.clip(scalars, 0.0, 1.0)
    spectra, degenerate = sanitize.normalise_spectra(run.eigenvalues)
    failures += sanitize.mask_events(bad_scalars, "non_finite_value", "warning", "non-finite evaluator scalar (held at the last finite value)")
    failures += sanitize.mask_events(degenerate, "degenerate_spectrum", "warning", "degenerate or non-finite eigenvalue spectrum (written as uniform)")
    failures += professor_events + _user_failures(run)
    failures.sort(key=lambda event: event["t"])

    keep = sanitize.decimation_indices(n, DECIMATE_ABOVE)
    count = keep.size
    t_grid = _rounded(np.arange(count) / (count - 1) if count > 1 else np.zeros(1), _T_DECIMALS).tolist()
    xy, vxy = _rounded(coords[keep]), _rounded(steps[keep])
    spectra = _rounded(spectra[keep])
    ratios = _rounded(np.atleast_1d(anisotropy(spectra)))
    seed, original_seed = sanitize.map_seed(run.seed)
    metadata: dict[str, Any] = {
        "run_id": run.run_id, "condition": run.condition, "seed": seed,
        "training_items": run.training_items, "cycles": run.cycles,
        "holdout_professor": run.holdout_professor, "conscience_tier": run.conscience_tier,
        "original_timesteps": n, "decimated": bool(count < n),
    }  # fmt: skip
    if original_seed is not None:
        metadata["original_seed"] = original_seed
    true_spectrum: list[float] = []
    if run.true_eigenvalues is not None and run.true_eigenvalues.size:
        spectrum, bad = sanitize.normalise_spectra(run.true_eigenvalues[None, :])
        true_spectrum = [] if bad[0] else _rounded(spectrum[0]).tolist()
    columns = [_rounded(scalars[keep, i]) for i in range(len(CRITERIA))]
    turning, dims = _rounded(turning[keep]), _rounded(dims[keep])
    if not all(np.isfinite(a).all() for a in (xy, vxy, spectra, ratios, turning, dims, *columns)):
        raise GeometryFileError(f"refusing to write a non-finite number for run {run.run_id!r}; please report this bug.")
    trajectory = _rows(_TRAJECTORY_ROW, [t_grid, *xy.T.tolist(), *vxy.T.tolist(), turning.tolist(), dims.tolist()])
    values = _rows(_SCALAR_ROW, [t_grid, *(c.tolist() for c in columns)])
    eigen_row = '{"t":%r,"values":[' + ",".join(["%r"] * spectra.shape[1]) + "]}"
    head = {
        "schema_version": SCHEMA_VERSION,
        "run_metadata": metadata,
        "reduction": {
            "method": "PCA", "input_dim": d, "output_dim": 2,
            "explained_variance": _rounded(projection.explained_variance_ratio).tolist(),
            "components": _rounded(projection.components).tolist(),
        },  # fmt: skip
        "trajectory": f'{{"timesteps":{trajectory}}}',
        "scalars": f'{{"dimensions":{json.dumps(list(CRITERIA))},"values":{values}}}',
        "geometry": (f'{{"eigenvalues":{_rows(eigen_row, [t_grid, *spectra.T.tolist()])},'
                     f'"anisotropy":{_rows(_ANISOTROPY_ROW, [t_grid, ratios.tolist()])},'
                     f'"true_eigenvalues":{json.dumps(true_spectrum)}}}'),  # fmt: skip
        "evaluators": {
            "latent_dim": run.latent_dim if run.latent_dim is not None else run.eigenvalues.shape[1],
            "professors": [
                {"name": p.name, "vector": v, "holdout": p.holdout}
                for p, v in zip(run.professors, _rounded(professors * factor).tolist(), strict=True)
            ],
        },
        "failures": [dict(event, t=round(float(event["t"]), _T_DECIMALS)) for event in failures],
        "scalarscope": {"window": window, "curvature_space": "state", "coordinate_scale": factor,
                        "extra": sanitize.json_safe(run.extra, "RunGeometry.extra")},  # fmt: skip
    }
    parts = []
    for key, value in head.items():
        try:
            text = value if key in _SERIES else json.dumps(value, separators=(",", ":"), allow_nan=False)
        except ValueError as error:
            raise GeometryFileError(f"refusing to write a non-finite number in {key!r}: {error}") from error
        parts.append(f"{json.dumps(key)}:{text}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def geometry_document(run: RunGeometry, *, window: int = 20) -> dict[str, Any]:
    """The contract's JSON tree for ``run`` as plain Python values (exactly what is written)."""
    return json.loads(geometry_text(run, window=window))


def _rows(template: str, columns: list[list[float]]) -> str:
    """A JSON list with one ``template % row`` per line; %r of a finite float is a valid JSON number."""
    return "[" + ",\n".join(map(template.__mod__, zip(*columns, strict=True))) + "]"


def check_geometry_path(path: str | os.PathLike[str], *, probe: bool = True) -> Path:
    """``path`` as a Path if a geometry file can be written there (ends in .json, a writable place;
    ``probe=False`` checks the place without creating a test file)."""
    if not isinstance(path, str | os.PathLike) or not os.fspath(path):
        raise OutputPathError(f"geometry file path must be a non-empty file path ending in .json, got {path!r}")
    target = Path(path)
    if target.suffix.lower() != ".json":
        raise GeometryFileError(f"{target}: the viewer only opens files ending in .json; got suffix {target.suffix!r}.")
    return check_output_path(target, "geometry file", probe=probe)


def write_geometry(run: RunGeometry, path: str | os.PathLike[str], *, window: int = 20) -> Path:
    """Write ``run`` to ``path`` (must end in .json) atomically; return the path.

    Long runs are decimated evenly to DECIMATE_ABOVE steps (first and last kept). The directory is
    created if needed.
    """
    target = check_geometry_path(path, probe=False)  # atomic_write's temporary file tests writability
    if len(run.states) == 0:
        raise GeometryFileError(f"{target}: the run has no recorded cycles; the viewer rejects an empty trajectory "
                                "(contract rule 6). Run at least one cycle before exporting.")
    text = geometry_text(run, window=window)
    if len(text) > MAX_FILE_BYTES:
        raise GeometryFileError(f"{target}: export would be {len(text) / 2**20:.0f} MiB, over the viewer's 100 MiB limit.")
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(target, text)
    return target
