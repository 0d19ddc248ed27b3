"""The transfer-vs-overlap curve of a sweep (:func:`scalarscope.sweep`'s DataFrame) as a static figure."""

from __future__ import annotations

import plotly.graph_objects as go

from scalarscope.widgets._style import base_layout


def sweep_figure(df, *, title: str = "Holdout transfer against evaluator overlap") -> go.Figure:
    """Mean holdout transfer (± std over seeds) and the agreement ceiling per overlap, each run as a dot.

    Path A (orthogonal evaluators) sits at the left, near 0; Path B (shared axis) at the right,
    close to the ceiling.
    """
    runs = df.dropna(subset=["transfer"])
    grouped = runs.groupby("overlap", sort=True)
    mean, std = grouped["transfer"].mean(), grouped["transfer"].std(ddof=1).fillna(0.0)
    ceiling = grouped["ceiling"].mean()
    fig = go.Figure(layout=base_layout(title, height=380,
                                       xaxis={"title": {"text": "evaluator overlap ρ"}, "range": [-0.03, 1.03]},
                                       yaxis={"title": {"text": "correlation with the held-out evaluator"},
                                              "range": [-0.25, 1.05]}))
    fig.add_scatter(x=runs["overlap"], y=runs["transfer"], mode="markers", name="runs",
                    marker={"color": "#9AA5B1", "size": 6, "opacity": 0.7},
                    customdata=runs[["seed", "holdout"]].to_numpy(),
                    hovertemplate="ρ %{x:.2f}, seed %{customdata[0]}, holdout %{customdata[1]}: %{y:.3f}<extra></extra>")
    fig.add_scatter(x=ceiling.index, y=ceiling.to_numpy(), mode="lines+markers", name="agreement ceiling",
                    line={"color": "#E45756", "dash": "dot", "width": 1.5}, marker={"size": 6})
    fig.add_scatter(x=mean.index, y=mean.to_numpy(), mode="lines+markers", name="holdout transfer (mean ± std)",
                    line={"color": "#4C78A8", "width": 2.5}, marker={"size": 9},
                    error_y={"type": "data", "array": std.to_numpy(), "visible": True, "thickness": 1.2})
    fig.add_hline(y=0.0, line={"color": "#d0d5db", "width": 1})
    return fig
