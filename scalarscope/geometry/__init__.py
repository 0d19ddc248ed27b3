"""Training geometry: trajectory, spectra and evaluator layout (numpy only, never torch)."""

from scalarscope.geometry._checks import GeometryInputError
from scalarscope.geometry.dimension import effective_dimension, participation_ratio
from scalarscope.geometry.evaluator_pca import EvaluatorLayout, evaluator_layout
from scalarscope.geometry.spectra import ANISOTROPY_CAP, anisotropy, normalized_spectrum
from scalarscope.geometry.tracker import GeometryTracker, TrackerFrame
from scalarscope.geometry.trajectory import Projection, curvature, pca_2d, velocity

__all__ = [
    "ANISOTROPY_CAP",
    "EvaluatorLayout",
    "GeometryInputError",
    "GeometryTracker",
    "Projection",
    "TrackerFrame",
    "anisotropy",
    "curvature",
    "effective_dimension",
    "evaluator_layout",
    "normalized_spectrum",
    "participation_ratio",
    "pca_2d",
    "velocity",
]
