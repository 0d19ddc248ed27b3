"""The training dashboard's views: spectra, evaluator PCA with internal heads, curves, tokens.

Same split as :mod:`scalarscope.widgets.evaluator_figures`: ``*_base()`` skeletons built once,
:func:`dashboard_frame` (numpy only: the engine's state -> what to draw) and ``apply_*`` writers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from scalarscope.geometry import layout_from_scores, normalized_spectrum
from scalarscope.widgets._style import INTERNAL, TRUE, base_layout
from scalarscope.widgets.evaluator_figures import (
    PCA_TITLE,
    ArrowFrame,
    apply_evaluator_pca,
    arrow_frame,
    evaluator_pca_base,
)
from scalarscope.widgets.series import SeriesArrays, TrainingSeries


@dataclass(frozen=True, eq=False)
class SpectrumFrame:
    """Normalised eigenvalues: ``internal`` [H] of the internal evaluator, ``true`` [n] of the evaluators."""

    internal: np.ndarray
    true: np.ndarray
    title: str


@dataclass(frozen=True, eq=False)
class DashboardFrame:
    """Everything one dashboard redraw sends: one frame per view."""

    cycle: int
    spectrum: SpectrumFrame
    pca: ArrowFrame
    series: SeriesArrays


def _state_matrix(engine, record) -> np.ndarray:
    """The internal evaluator's predictions [S, H] on the engine's fixed state probe."""
    heads = len(engine.train_names)
    return engine.state_probe_predictions() if record is None else np.asarray(record.state).reshape(-1, heads)


def dashboard_frame(engine, series: TrainingSeries, true_spectrum: np.ndarray | None = None) -> DashboardFrame:
    """The engine's current state as a :class:`DashboardFrame` (cost independent of the run's length,
    except for the curves' arrays, which are decimated past ``series.MAX_POINTS``)."""
    record = series.last
    state = _state_matrix(engine, record)
    truth = normalized_spectrum(engine.state_probe_scores) if true_spectrum is None else true_spectrum
    internal = record.spectrum if record is not None and record.spectrum is not None else normalized_spectrum(state)
    cycle = -1 if record is None else record.cycle
    spectrum = SpectrumFrame(np.asarray(internal, dtype=float), np.asarray(truth, dtype=float),
                             f"Eigenvalue spectrum: internal λ1 {internal[0]:.2f}, evaluators λ1 {truth[0]:.2f}")
    names = [e.name for e in engine.evaluators]
    heads = [f"internal:{n}" for n in engine.train_names]
    layout = layout_from_scores(engine.state_probe_scores, state, names, heads)
    targets = layout.vectors[[names.index(n) for n in engine.train_names]]
    alignment = _mean_cosine(layout.head_vectors, targets)
    label = "before training" if record is None else f"cycle {cycle}"
    pca = arrow_frame(layout.vectors, names, holdout=engine.holdout, head_vectors=layout.head_vectors,
                      head_names=heads, explained=layout.explained_variance_ratio,
                      title=f"{PCA_TITLE}, {label}: heads aligned {alignment:.2f}")
    return DashboardFrame(cycle, spectrum, pca, series.arrays())


def _mean_cosine(a: np.ndarray, b: np.ndarray) -> float:
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return float(np.mean(np.where(norms > 0, (a * b).sum(axis=1) / np.where(norms > 0, norms, 1.0), 0.0)))


# -- spectrum ---------------------------------------------------------------------------------------
def spectrum_base() -> go.Figure:
    fig = go.Figure(layout=base_layout("Eigenvalue spectrum", barmode="group", bargap=0.25,
                                       yaxis={"range": [0, 1], "title": {"text": "share of variance"}}))
    fig.add_bar(name="internal evaluator", marker_color=INTERNAL, hovertemplate="%{x}: %{y:.3f}<extra>internal</extra>")
    fig.add_bar(name="true evaluators", marker_color=TRUE, hovertemplate="%{x}: %{y:.3f}<extra>evaluators</extra>")
    return fig


def apply_spectrum(fig, frame: SpectrumFrame) -> None:
    fig.data[0].update(x=[f"λ{i + 1}" for i in range(len(frame.internal))], y=frame.internal)
    fig.data[1].update(x=[f"λ{i + 1}" for i in range(len(frame.true))], y=frame.true)
    fig.layout.title.text = frame.title


# -- curves: scores, surprise, transfer (top), losses (bottom) ------------------------------------------
_CURVE_TRACES = (("mean_score", "mean score", "#4C78A8", 1), ("predicted_score", "predicted score", "#72B7B2", 1),
                 ("surprise", "surprise", "#F58518", 1), ("loss", "loss", "#555555", 2),
                 ("head_loss", "head loss", "#B279A2", 2))
TRANSFER_TRACE, CEILING_TRACE = len(_CURVE_TRACES), len(_CURVE_TRACES) + 1


def curves_base() -> go.Figure:
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.64, 0.36], vertical_spacing=0.08)
    fig.update_layout(base_layout("Training", height=400))
    for _, label, color, row in _CURVE_TRACES:
        fig.add_scatter(mode="lines", name=label, line={"color": color, "width": 2}, row=row, col=1)
    fig.add_scatter(mode="lines+markers", name="holdout transfer", line={"color": "#E45756", "width": 2},
                    marker={"size": 7}, row=1, col=1)
    fig.add_scatter(mode="lines", name="agreement ceiling", line={"color": "#E45756", "width": 1, "dash": "dot"},
                    row=1, col=1)
    fig.update_yaxes(title_text="score / r", range=[-0.05, 1.05], row=1, col=1)
    fig.update_yaxes(title_text="loss", row=2, col=1)
    fig.update_xaxes(title_text="cycle", row=2, col=1)
    return fig


def apply_curves(fig, series: SeriesArrays) -> None:
    for index, (column, *_rest) in enumerate(_CURVE_TRACES):
        fig.data[index].update(x=series.cycle, y=series.columns[column])
    fig.data[TRANSFER_TRACE].update(x=series.transfer_cycle, y=series.transfer)
    fig.data[CEILING_TRACE].update(x=series.transfer_cycle, y=series.ceiling)
    title = "Training"
    if len(series.cycle):
        title += f": cycle {int(series.cycle[-1])}, mean score {series.columns['mean_score'][-1]:.2f}"
    if len(series.transfer):  # NaN: not measured (an untrained head at cycle 0), never shown as 0
        last = series.transfer[-1]
        title += f", holdout transfer {last:.2f}" if np.isfinite(last) else ", holdout transfer not measured yet"
    fig.layout.title.text = title


# -- tokens ---------------------------------------------------------------------------------------------
def tokens_base() -> go.Figure:
    fig = go.Figure(layout=base_layout("Tokens per cycle", xaxis={"title": {"text": "cycle"}},
                                       yaxis={"title": {"text": "tokens"}, "rangemode": "tozero"}))
    fig.add_scatter(mode="lines", name="granted", line={"color": "#9AA5B1", "width": 2, "shape": "hv"})
    fig.add_scatter(mode="lines", name="used", fill="tozeroy", line={"color": "#4C78A8", "width": 1.5})
    fig.add_scatter(mode="lines", name="refused", line={"color": "#E45756", "width": 1.5, "dash": "dot"})
    return fig


def apply_tokens(fig, series: SeriesArrays) -> None:
    for index, column in enumerate(("tokens_granted", "tokens_used", "tokens_refused")):
        fig.data[index].update(x=series.cycle, y=series.columns[column])
    if len(series.cycle):
        used, granted = series.columns["tokens_used"][-1], series.columns["tokens_granted"][-1]
        fig.layout.title.text = f"Tokens per cycle: {used:.0f} used of {granted:.0f} granted"


# -- static fallback ------------------------------------------------------------------------------------
BUILDERS = {"spectrum": (spectrum_base, apply_spectrum, "spectrum"), "pca": (evaluator_pca_base, apply_evaluator_pca, "pca"),
            "curves": (curves_base, apply_curves, "series"), "tokens": (tokens_base, apply_tokens, "series")}


def dashboard_figures(engine) -> dict[str, go.Figure]:
    """Static fallback of the training dashboard: {"spectrum", "pca", "curves", "tokens"} -> go.Figure."""
    frame = dashboard_frame(engine, TrainingSeries(engine.history))
    figures = {}
    for key, (base, apply, part) in BUILDERS.items():
        figures[key] = base()
        apply(figures[key], getattr(frame, part))
    return figures
