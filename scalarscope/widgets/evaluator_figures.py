"""Evaluator PCA arrows and the correlation heat map: figure skeletons, frame data, static figures.

Every view here is split the same way so a live widget and a static figure share one code path:

* ``*_base()`` builds the skeleton (traces and layout, no data) once;
* a pure numpy function turns the state into a small frozen frame (what changes per update);
* ``apply_*(fig, frame)`` writes the frame into a ``go.Figure`` or a ``go.FigureWidget`` (a
  widget view wraps it in ``batch_update`` so the front end gets one message).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from scalarscope.widgets._style import HOLDOUT_DASH, INTERNAL, base_layout, evaluator_colors

# trace order of the evaluator PCA figure
SHAFTS, HOLDOUT_SHAFT, TIPS, HEAD_SHAFTS, HEAD_TIPS, LABELS = range(6)
LABEL_GAP = 0.1  # least vertical distance between two evaluator labels (axis units)
PCA_TITLE = "Evaluator PCA"


@dataclass(frozen=True, eq=False)
class ArrowFrame:
    """One frame of the evaluator PCA view.

    vectors: [n, 2] evaluator loadings on the two leading axes (length <= 1).
    head_vectors: [h, 2] internal heads in the same frame (h may be 0).
    explained: [2] share of the correlation matrix's trace on each axis.
    """

    names: tuple[str, ...]
    vectors: np.ndarray
    holdout: str | None
    head_names: tuple[str, ...]
    head_vectors: np.ndarray
    explained: np.ndarray
    title: str


def arrow_frame(vectors: np.ndarray, names: Sequence[str], *, holdout: str | None = None,
                head_vectors: np.ndarray | None = None, head_names: Sequence[str] = (),
                explained: np.ndarray | None = None, title: str = PCA_TITLE) -> ArrowFrame:
    """Collect what the evaluator PCA view draws (no plotly involved)."""
    heads = np.zeros((0, 2)) if head_vectors is None else np.asarray(head_vectors, dtype=float)[:, :2]
    share = np.zeros(2) if explained is None else np.asarray(explained, dtype=float)[:2]
    return ArrowFrame(tuple(names), np.asarray(vectors, dtype=float)[:, :2], holdout, tuple(head_names), heads,
                      share, title)


def _segments(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x, y of origin-to-tip segments separated by gaps (NaN), for one line trace: [3n] each."""
    n = len(vectors)
    xs, ys = np.full((n, 3), np.nan), np.full((n, 3), np.nan)
    xs[:, 0] = ys[:, 0] = 0.0
    xs[:, 1], ys[:, 1] = vectors[:, 0], vectors[:, 1]
    return xs.ravel(), ys.ravel()


def _arrow_angles(vectors: np.ndarray) -> np.ndarray:
    """Marker angles in degrees for plotly's "arrow" symbol (0 = up, clockwise) along each vector."""
    return 90.0 - np.degrees(np.arctan2(vectors[:, 1], vectors[:, 0])) if len(vectors) else np.zeros(0)


def _label_positions(vectors: np.ndarray, gap: float = LABEL_GAP) -> np.ndarray:
    """Label anchors [n, 2] just beyond each arrow tip, pushed apart vertically (per side) so that the
    labels of arrows folded onto one axis stay readable."""
    tips = np.asarray(vectors, dtype=float).reshape(-1, 2)
    length = np.linalg.norm(tips, axis=1, keepdims=True)
    anchors = tips + 0.06 * np.divide(tips, length, out=np.zeros_like(tips), where=length > 0)
    for side in (anchors[:, 0] >= 0, anchors[:, 0] < 0):
        index = np.flatnonzero(side)[np.argsort(anchors[side, 1], kind="stable")]
        if len(index) < 2:
            continue
        wanted = anchors[index, 1]
        placed = wanted.copy()
        for k in range(1, len(placed)):  # sweep upwards keeping the gap, then re-centre on the wanted spots
            placed[k] = max(placed[k], placed[k - 1] + gap)
        anchors[index, 1] = placed - max(0.0, (placed - wanted).mean())
    return anchors


def evaluator_pca_base(title: str = PCA_TITLE) -> go.Figure:
    """Skeleton of the evaluator PCA: unit circle, shafts, arrow tips, internal heads."""
    line = {"color": "#8a94a0", "width": 2.5}
    fig = go.Figure(layout=base_layout(
        title, height=380, showlegend=True,
        xaxis={"range": [-1.15, 1.15], "zeroline": True, "title": {"text": "PC1"}, "constrain": "domain"},
        yaxis={"range": [-1.15, 1.15], "zeroline": True, "title": {"text": "PC2"}, "scaleanchor": "x",
               "scaleratio": 1},
        shapes=[{"type": "circle", "xref": "x", "yref": "y", "x0": -1, "y0": -1, "x1": 1, "y1": 1,
                 "line": {"color": "#d0d5db", "width": 1, "dash": "dot"}}]))
    fig.add_scatter(mode="lines", line=line, name="true evaluators", hoverinfo="skip", legendgroup="true")
    fig.add_scatter(mode="lines", line={**line, "dash": HOLDOUT_DASH}, name="held out", hoverinfo="skip")
    fig.add_scatter(mode="markers", name="evaluator", showlegend=False, cliponaxis=False,
                    marker={"symbol": "arrow", "size": 15, "line": {"width": 0}},
                    hovertemplate="%{text}<br>PC1 %{x:.2f}<br>PC2 %{y:.2f}<extra></extra>")
    fig.add_scatter(mode="lines", line={"color": INTERNAL, "width": 1.5, "dash": "dash"}, name="internal heads",
                    hoverinfo="skip", legendgroup="internal")
    fig.add_scatter(mode="markers", name="internal head", showlegend=False,
                    marker={"symbol": "diamond", "size": 8, "line": {"color": INTERNAL, "width": 1.5}},
                    hovertemplate="%{customdata}<br>PC1 %{x:.2f}<br>PC2 %{y:.2f}<extra></extra>")
    fig.add_scatter(mode="text", name="labels", showlegend=False, hoverinfo="skip", cliponaxis=False,
                    textfont={"size": 11, "color": "#3b4450"})
    return fig


def apply_evaluator_pca(fig, frame: ArrowFrame) -> None:
    """Write ``frame`` into an evaluator PCA figure (call inside ``batch_update`` for a widget)."""
    held = np.array([name == frame.holdout for name in frame.names], dtype=bool)
    shafts_x, shafts_y = _segments(frame.vectors[~held])
    held_x, held_y = _segments(frame.vectors[held])
    colors = evaluator_colors(frame.names)
    fig.data[SHAFTS].update(x=shafts_x, y=shafts_y)
    fig.data[HOLDOUT_SHAFT].update(x=held_x, y=held_y, visible=bool(held.any()))
    labels = [f"{n} (held out)" if h else n for n, h in zip(frame.names, held, strict=True)]
    fig.data[TIPS].update(x=frame.vectors[:, 0], y=frame.vectors[:, 1], text=labels,
                          marker={"color": colors, "angle": _arrow_angles(frame.vectors)})
    anchors = _label_positions(frame.vectors)
    fig.data[LABELS].update(x=anchors[:, 0], y=anchors[:, 1], text=labels,
                            textposition=["middle right" if x >= 0 else "middle left" for x in anchors[:, 0]])
    head_x, head_y = _segments(frame.head_vectors)
    has_heads = len(frame.head_vectors) > 0
    fig.data[HEAD_SHAFTS].update(x=head_x, y=head_y, visible=has_heads)
    fig.data[HEAD_TIPS].update(x=frame.head_vectors[:, 0], y=frame.head_vectors[:, 1], visible=has_heads,
                               customdata=list(frame.head_names), marker={"color": evaluator_colors(frame.head_names)})
    fig.layout.title.text = frame.title
    fig.layout.xaxis.title.text = f"PC1 ({100 * frame.explained[0]:.0f}%)"
    fig.layout.yaxis.title.text = f"PC2 ({100 * frame.explained[1]:.0f}%)"


@dataclass(frozen=True, eq=False)
class CorrelationFrame:
    """The correlation heat map: ``correlation`` [n, n] of the evaluators ``names``."""

    names: tuple[str, ...]
    correlation: np.ndarray
    title: str


def correlation_base() -> go.Figure:
    """Skeleton of the correlation heat map (diverging scale fixed to [-1, 1])."""
    fig = go.Figure(layout=base_layout("Evaluator correlation", height=380,
                                       yaxis={"autorange": "reversed"}, xaxis={"side": "bottom"}))
    fig.add_heatmap(zmin=-1, zmax=1, colorscale="RdBu", reversescale=True, texttemplate="%{z:.2f}",
                    hovertemplate="%{y} vs %{x}: r = %{z:.3f}<extra></extra>", colorbar={"thickness": 12})
    return fig


def apply_correlation(fig, frame: CorrelationFrame) -> None:
    """Write ``frame`` into a correlation heat map figure."""
    fig.data[0].update(z=frame.correlation, x=list(frame.names), y=list(frame.names))
    fig.layout.title.text = frame.title


# -- the overlap report as frames, and as static figures -----------------------------------------
def overlap_frames(report, *, holdout: str | None = None) -> tuple[ArrowFrame, CorrelationFrame]:
    """The evaluator panel's two frames from an :class:`~scalarscope.evaluators.OverlapReport`."""
    share, mean_r = report.first_factor_share, report.mean_correlation
    explained = np.asarray(report.eigenvalues[:2], dtype=float) / max(float(np.sum(report.eigenvalues)), 1e-12)
    arrows = arrow_frame(report.loadings, report.names, holdout=holdout, explained=np.pad(explained, (0, 2))[:2],
                         title=f"{PCA_TITLE}: first factor {share:.2f}, mean r {mean_r:.2f}")
    corr = CorrelationFrame(tuple(report.names), np.asarray(report.correlation, dtype=float),
                            f"Evaluator correlation: mean r {mean_r:.2f} ({report.verdict})")
    return arrows, corr


def overlap_figures(report, *, holdout: str | None = None) -> dict[str, go.Figure]:
    """Static fallback of the evaluator panel: {"pca": go.Figure, "correlation": go.Figure}."""
    arrows, corr = overlap_frames(report, holdout=holdout)
    pca, heat = evaluator_pca_base(), correlation_base()
    apply_evaluator_pca(pca, arrows)
    apply_correlation(heat, corr)
    return {"pca": pca, "correlation": heat}
