"""Proxy and gold against sqrt(KL) under conscience-only training: Path A and Path B side by side.

Reads :func:`scalarscope.goodhart`'s DataFrame (one row per run and cycle). For the chosen warmup,
each panel shows one overlap's mean over seeds, cycle by cycle: x = mean d = sqrt(KL), y = the
conscience's proxy, the training evaluators' gold and the held-out evaluator's gold.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go

from scalarscope.errors import ConfigError
from scalarscope.widgets._style import INTERNAL, TRUE, base_layout
from scalarscope.widgets._view import FigureView, Panel, row

SERIES = (("proxy", "proxy (the conscience)", INTERNAL, "solid"),
          ("gold_train", "gold: training evaluators", TRUE, "solid"),
          ("gold_holdout", "gold: held-out evaluator", "#E45756", "dot"))


def goodhart_curve(df, *, overlap: float, warmup: int) -> dict[str, np.ndarray]:
    """Mean over seeds per conscience cycle of ``sqrt_kl`` and each series (numpy arrays, by cycle)."""
    runs = df[(df.overlap == overlap) & (df.warmup == warmup)]
    if not len(runs):
        raise ConfigError(f"no runs at overlap={overlap!r}, warmup={warmup!r} in the study; "
                          f"it has overlaps {sorted(df.overlap.unique())} and warmups {sorted(df.warmup.unique())}")
    mean = runs.groupby("cycle")[["sqrt_kl", *(s[0] for s in SERIES)]].mean()
    return {"cycle": mean.index.to_numpy(), **{c: mean[c].to_numpy() for c in mean.columns}}


def goodhart_base(overlap: float) -> go.Figure:
    path = "Path A" if overlap < 0.5 else "Path B"
    fig = go.Figure(layout=base_layout(f"{path}: overlap {overlap:g}", height=360,
                                       xaxis={"title": {"text": "d = sqrt(KL to the policy at the switch)"}},
                                       yaxis={"title": {"text": "mean score"}, "range": [-0.02, 1.02]}))
    for _, label, color, dash in SERIES:
        fig.add_scatter(x=[], y=[], mode="lines+markers", name=label, marker={"size": 4},
                        line={"color": color, "dash": dash, "width": 2})
    return fig


def apply_goodhart(figure, curve: dict[str, np.ndarray]) -> None:
    for index, (column, *_) in enumerate(SERIES):
        figure.data[index].x, figure.data[index].y = curve["sqrt_kl"], curve[column]


class GoodhartView(Panel):
    """A warmup slider over the study's warmups; Path A (the lowest overlap) and Path B (the highest)
    side by side. ``set(warmup=...)`` moves the slider from code."""

    def __init__(self, df, *, warmup: int | None = None):
        warmups = sorted(int(w) for w in df.warmup.unique())
        overlaps = sorted(float(o) for o in df.overlap.unique())
        self.df, self.overlaps = df, (overlaps[0], overlaps[-1])
        self.warmup_slider = widgets.SelectionSlider(options=warmups, value=warmups[0] if warmup is None else warmup,
                                                     description="warmup", continuous_update=False)
        self.views = [FigureView(goodhart_base(o), apply_goodhart, width=460) for o in self.overlaps]
        self._redraw()
        self.warmup_slider.observe(lambda change: self._redraw(), names="value")
        self.widget = widgets.VBox([self.warmup_slider, row([v.figure for v in self.views])])

    def set(self, *, warmup: int) -> None:
        self.warmup_slider.value = warmup

    def figures(self) -> list[go.Figure]:
        return [v.static() for v in self.views]

    def _redraw(self) -> None:
        for view, overlap in zip(self.views, self.overlaps, strict=True):
            view.update(goodhart_curve(self.df, overlap=overlap, warmup=self.warmup_slider.value))
