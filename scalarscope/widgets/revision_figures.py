"""Revision runs side by side: how often drafts were revised, and how much the revisions helped."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from scalarscope.errors import check_scalar
from scalarscope.widgets._style import base_layout

_COLORS = ("#4C78A8", "#E45756", "#54A24B", "#B279A2")


def revision_series(history) -> dict[str, np.ndarray]:
    """Per cycle [n]: ``revised`` share of drafts, ``uplift_sum`` and ``revised_count`` (for running means)."""
    outcomes = [r.revision for r in history]
    revised = np.array([o.revised if o else 0 for o in outcomes], dtype=float)
    responses = np.array([o.responses if o else 0 for o in outcomes], dtype=float)
    uplift = np.array([o.revised * o.uplift if o else 0.0 for o in outcomes], dtype=float)
    return {"cycle": np.array([r.cycle for r in history], dtype=float),
            "revised_share": np.divide(revised, responses, out=np.zeros_like(revised), where=responses > 0),
            "uplift_sum": uplift, "revised_count": revised}


def revision_figure(histories: Mapping[str, object], *, window: int = 10) -> go.Figure:
    """Share of drafts revised (``window``-cycle running mean) and the running mean uplift per revision
    (revised minus draft score), one colour per run (e.g. {"weakest-token": ..., "random": ...})."""
    check_scalar(window, "window", kind=int, min_value=1)
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12,
                        subplot_titles=(f"drafts revised ({window}-cycle mean)", "mean uplift per revision so far"))
    fig.update_layout(base_layout("Revision: targeted rewrites against the control", height=360,
                                  margin={"l": 48, "r": 16, "t": 80, "b": 40}))
    kernel = np.ones(window) / window
    for index, (label, history) in enumerate(histories.items()):
        series = revision_series(history)
        color = _COLORS[index % len(_COLORS)]
        share = np.convolve(series["revised_share"], kernel, mode="full")[: len(series["cycle"])]
        share /= np.minimum(np.arange(1, len(share) + 1), window) / window  # the first cycles average fewer
        count = np.cumsum(series["revised_count"])
        uplift = np.divide(np.cumsum(series["uplift_sum"]), count, out=np.full_like(count, np.nan), where=count > 0)
        fig.add_scatter(x=series["cycle"], y=share, mode="lines", name=label, legendgroup=label,
                        line={"color": color, "width": 2}, row=1, col=1)
        fig.add_scatter(x=series["cycle"], y=uplift, mode="lines", name=label, legendgroup=label, showlegend=False,
                        line={"color": color, "width": 2}, row=1, col=2)
    fig.update_xaxes(title_text="cycle")
    fig.update_yaxes(rangemode="tozero", row=1, col=1)
    fig.add_hline(y=0.0, line={"color": "#d0d5db", "width": 1}, row=1, col=2)
    return fig
