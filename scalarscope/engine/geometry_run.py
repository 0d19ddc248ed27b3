"""Turn an engine's history into the :class:`~scalarscope.export.RunGeometry` the exporter writes."""

from __future__ import annotations

import numpy as np

from scalarscope.engine.internalization import internalization
from scalarscope.errors import GeometryFileError
from scalarscope.export import Professor, RunGeometry
from scalarscope.export.records import CRITERIA
from scalarscope.geometry import normalized_spectra, normalized_spectrum


def run_geometry(engine, *, run_id: str | None = None, condition: str | None = None) -> RunGeometry:
    """Everything the Desktop viewer shows, from what the engine recorded (at least one cycle)."""
    history = engine.history
    if not len(history):
        raise GeometryFileError("the engine has run no cycles: a geometry file needs at least one timestep "
                                "(the viewer rejects an empty trajectory); run some first, e.g. engine.run(10)")
    frame = history.to_frame()
    names = [e.name for e in engine.evaluators]
    columns = [c for c in CRITERIA if c in names] or names[:5]
    scalars = np.full((len(frame), 5), np.nan)
    for j, name in enumerate(columns[:5]):
        if f"score_{name}" in frame:
            scalars[:, j] = frame[f"score_{name}"].to_numpy(dtype=float, na_value=np.nan)
    states = history.states()
    spectra = normalized_spectra(states, len(engine.train_names))
    layout = engine.evaluator_layout()
    professors = tuple(Professor(name, layout.vectors[i], name == engine.holdout) for i, name in enumerate(names))
    overlap = getattr(engine.evaluators, "overlap", float("nan"))
    latent = getattr(engine.evaluators, "latent", None)
    verdict = internalization(history)
    return RunGeometry(
        run_id=run_id or f"scalarscope_seed{engine.seed}_cycles{len(history)}",
        condition=condition or (f"overlap {overlap:.2f}" if np.isfinite(overlap) else "custom evaluators"),
        seed=engine.seed, training_items=int(frame["tokens_used"].gt(0).sum() * engine.config.batch_size),
        cycles=len(history), states=states, scalars=scalars, eigenvalues=spectra,
        holdout_professor=engine.holdout, conscience_tier=verdict.tier,
        true_eigenvalues=normalized_spectrum(engine.state_probe_scores),
        professors=professors, latent_dim=int(latent.latent_dim) if latent is not None else len(names),
        failures=history.failures,
        extra={"internalization_score": round(verdict.score, 4) if np.isfinite(verdict.score) else None, "internal_heads": [
            {"name": n, "vector": [float(v) for v in layout.head_vectors[i]]} for i, n in enumerate(layout.head_names)],
            "scalars_from": list(columns[:5])},
    )
