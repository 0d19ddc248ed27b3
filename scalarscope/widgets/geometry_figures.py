"""A Desktop geometry file (ours or the viewer's samples) as one static plotly figure."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from scalarscope.widgets._style import INTERNAL, base_layout, evaluator_colors
from scalarscope.widgets.evaluator_figures import _arrow_angles, _label_positions, _segments

_SPECTRUM_COLORS = ("#222222", "#4C78A8", "#72B7B2", "#9AA5B1", "#D0D5DB")


def geometry_figure(geometry, *, title: str | None = None) -> go.Figure:
    """Trajectory, scalars, eigenvalue spectrum over time and professors of a
    :class:`~scalarscope.export.GeometryFile` (what :func:`~scalarscope.export.load_geometry` returns)."""
    meta = geometry.metadata
    fig = make_subplots(rows=2, cols=2, horizontal_spacing=0.1, vertical_spacing=0.16,
                        subplot_titles=("state trajectory (2-D)", "scalars", "eigenvalue spectrum", "professors"))
    fig.update_layout(base_layout(title or f"{meta.run_id}: {meta.condition} ({meta.conscience_tier})", height=620,
                                  margin={"l": 48, "r": 16, "t": 90, "b": 40}))
    traj = geometry.trajectory
    fig.add_scatter(x=traj.state_2d[:, 0], y=traj.state_2d[:, 1], mode="lines+markers", name="trajectory",
                    line={"color": "#9AA5B1", "width": 1},
                    marker={"color": traj.t, "colorscale": "Viridis", "size": 5, "showscale": False},
                    hovertemplate="t %{marker.color:.0f}<br>(%{x:.2f}, %{y:.2f})<extra></extra>", row=1, col=1)
    colors = evaluator_colors(geometry.scalars.dimensions)
    for j, name in enumerate(geometry.scalars.dimensions):
        fig.add_scatter(x=geometry.scalars.t, y=geometry.scalars.values[:, j], mode="lines", name=name,
                        line={"color": colors[j], "width": 1.8}, row=1, col=2)
    spectrum = geometry.eigenvalues
    for k in range(spectrum.values.shape[1]):
        fig.add_scatter(x=spectrum.t, y=np.where(spectrum.counts > k, spectrum.values[:, k], np.nan), mode="lines",
                        name=f"λ{k + 1}", line={"color": _SPECTRUM_COLORS[k % len(_SPECTRUM_COLORS)], "width": 1.5},
                        row=2, col=1)
    _professors(fig, geometry.professors)
    fig.update_yaxes(range=[-0.02, 1.02], row=1, col=2)
    fig.update_yaxes(range=[-0.02, 1.02], row=2, col=1)
    fig.update_xaxes(title_text="t", row=1, col=2)
    fig.update_xaxes(title_text="t", row=2, col=1)
    fig.update_xaxes(range=[-1.15, 1.15], row=2, col=2)
    fig.update_yaxes(range=[-1.15, 1.15], scaleanchor="x4", row=2, col=2)
    return fig


def _professors(fig: go.Figure, professors) -> None:
    if not professors:
        return
    vectors = np.array([np.pad(p.vector[:2], (0, max(0, 2 - p.vector.size))) for p in professors], dtype=float)
    names = [p.name for p in professors]
    xs, ys = _segments(vectors)
    fig.add_scatter(x=xs, y=ys, mode="lines", line={"color": "#8a94a0", "width": 2.5}, showlegend=False,
                    hoverinfo="skip", row=2, col=2)
    labels = [f"{p.name} (held out)" if p.holdout else p.name for p in professors]
    fig.add_scatter(x=vectors[:, 0], y=vectors[:, 1], mode="markers", showlegend=False, text=labels,
                    cliponaxis=False, hovertemplate="%{text}<br>(%{x:.2f}, %{y:.2f})<extra></extra>",
                    marker={"symbol": "arrow", "size": 13, "color": evaluator_colors(names),
                            "angle": _arrow_angles(vectors), "line": {"color": INTERNAL, "width": 0}},
                    row=2, col=2)
    anchors = _label_positions(vectors)
    fig.add_scatter(x=anchors[:, 0], y=anchors[:, 1], mode="text", text=labels, showlegend=False, hoverinfo="skip",
                    cliponaxis=False, textfont={"size": 10, "color": "#3b4450"},
                    textposition=["middle right" if x >= 0 else "middle left" for x in anchors[:, 0]], row=2, col=2)
