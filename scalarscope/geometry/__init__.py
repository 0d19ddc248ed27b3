"""Training geometry: trajectory, spectra and evaluator layout (numpy only, never torch)."""

from scalarscope.geometry._checks import GeometryInputError
from scalarscope.geometry.dimension import (
    COLLAPSE_BELOW,
    dimension_collapsed,
    effective_dimension,
    participation_ratio,
)
from scalarscope.geometry.evaluator_pca import EvaluatorLayout, layout_from_scores
from scalarscope.geometry.spectra import ANISOTROPY_CAP, anisotropy, normalized_spectra, normalized_spectrum
from scalarscope.geometry.tracker import GeometryTracker, TrackerFrame
from scalarscope.geometry.trajectory import Projection, curvature, pca_2d, velocity

__all__ = [
    "ANISOTROPY_CAP",
    "COLLAPSE_BELOW",
    "EvaluatorLayout",
    "GeometryInputError",
    "GeometryTracker",
    "Projection",
    "TrackerFrame",
    "anisotropy",
    "curvature",
    "dimension_collapsed",
    "effective_dimension",
    "layout_from_scores",
    "normalized_spectra",
    "normalized_spectrum",
    "participation_ratio",
    "pca_2d",
    "velocity",
]
