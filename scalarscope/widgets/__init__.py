"""Notebook widgets and plotly views: the only part of ScalarScope that imports ipywidgets / plotly.

Live panels (display them, move their controls, call their methods):

* :class:`EvaluatorPanel`: overlap, number of evaluators, holdout -> evaluator PCA and correlation;
* :class:`GovernorPanel`: token budget and strategy of a :class:`~scalarscope.governor.TokenPool`;
* :class:`TransferExplorer`: Path A vs Path B from a slider, each release training a fresh student;
* :class:`GoodhartView`: proxy and gold against sqrt(KL) under conscience-only training, a warmup
  slider, Path A and Path B side by side (from :func:`scalarscope.goodhart`'s DataFrame);
* :class:`TrainingDashboard`: Step / Run N / Stop over an engine, with spectra, evaluator PCA with
  the internal heads, training curves and tokens, plus an :class:`ExportPanel`.

Every live view owns one ``go.FigureWidget`` built once and updates it with one message per frame.
Static ``go.Figure`` fallbacks, for front ends without widget support: :func:`overlap_figures`,
:func:`dashboard_figures`, :func:`geometry_figure`, :func:`sweep_figure`, :func:`revision_figure`
(and each panel's ``figures()``).
"""

from scalarscope.widgets._view import FigureView, FrameThrottle
from scalarscope.widgets.dashboard import TrainingDashboard
from scalarscope.widgets.evaluator_figures import overlap_figures
from scalarscope.widgets.evaluator_panel import EvaluatorPanel
from scalarscope.widgets.export_panel import ExportPanel
from scalarscope.widgets.geometry_figures import geometry_figure
from scalarscope.widgets.goodhart_view import GoodhartView
from scalarscope.widgets.governor_panel import GovernorPanel
from scalarscope.widgets.revision_figures import revision_figure
from scalarscope.widgets.series import TrainingSeries
from scalarscope.widgets.sweep_figures import sweep_figure
from scalarscope.widgets.training_figures import dashboard_figures, dashboard_frame
from scalarscope.widgets.transfer_explorer import TransferExplorer

__all__ = [
    "EvaluatorPanel", "ExportPanel", "FigureView", "FrameThrottle", "GoodhartView", "GovernorPanel", "TrainingDashboard",
    "TrainingSeries", "TransferExplorer", "dashboard_figures", "dashboard_frame", "geometry_figure", "overlap_figures",
    "revision_figure", "sweep_figure",
]
