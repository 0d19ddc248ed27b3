"""Path A against Path B from a slider: each release trains a fresh student and measures transfer."""

from __future__ import annotations

from typing import TYPE_CHECKING

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go

from scalarscope.errors import check_scalar
from scalarscope.sweeps.spec import RunSpec
from scalarscope.sweeps.worker import run_one
from scalarscope.widgets._style import base_layout
from scalarscope.widgets._view import FigureView, Panel

if TYPE_CHECKING:
    import pandas as pd


def theoretical_ceiling(overlap: np.ndarray, n_training: int) -> np.ndarray:
    """Agreement ceiling of the synthetic world on random text: corr(mean of k training logits, holdout)
    = sqrt(k) * rho / sqrt(1 + (k - 1) * rho) with k training evaluators (before squashing)."""
    rho = np.asarray(overlap, dtype=float)
    return np.sqrt(n_training) * rho / np.sqrt(1.0 + (n_training - 1) * rho)


def explorer_base(n_training: int = 4) -> go.Figure:
    grid = np.linspace(0.0, 1.0, 51)
    fig = go.Figure(layout=base_layout("Move the overlap slider: each release trains a fresh student",
                                       height=380, xaxis={"title": {"text": "evaluator overlap ρ"},
                                                          "range": [-0.03, 1.03]},
                                       yaxis={"title": {"text": "correlation with the held-out evaluator"},
                                              "range": [-0.25, 1.05]}))
    fig.add_scatter(x=grid, y=theoretical_ceiling(grid, n_training), mode="lines", name="ceiling in theory",
                    line={"color": "#d0d5db", "width": 1.5}, hoverinfo="skip")
    fig.add_scatter(x=[], y=[], mode="markers", name="agreement ceiling (measured)",
                    marker={"color": "#E45756", "symbol": "line-ew-open", "size": 14, "line": {"width": 2}})
    fig.add_scatter(x=[], y=[], mode="markers", name="learned holdout transfer",
                    marker={"color": "#4C78A8", "size": 10})
    fig.add_hline(y=0.0, line={"color": "#d0d5db", "width": 1})
    return fig


def apply_explorer(figure, rows: list[dict]) -> None:
    """Redraw the measured points (called inside one ``batch_update``)."""
    overlaps = [r["overlap"] for r in rows]
    figure.data[1].x, figure.data[1].y = overlaps, [r["ceiling"] for r in rows]
    figure.data[2].x, figure.data[2].y = overlaps, [r["transfer"] for r in rows]
    last = rows[-1]
    figure.layout.title.text = (f"ρ {last['overlap']:.2f}: transfer {last['transfer']:.2f}, ceiling "
                                f"{last['ceiling']:.2f} ({last['cycles']} cycles in {last['wall_seconds']:.1f} s)")


class TransferExplorer(Panel):
    """Overlap and cycle sliders; releasing one trains a fresh default-world student (holdout
    ``holdout``) and adds its measured holdout transfer and agreement ceiling to the plot.

    Path A sits at the left (orthogonal evaluators: nothing to transfer), Path B at the right
    (a shared axis: the internal evaluator predicts the evaluator it never saw, close to the
    ceiling). ``rows`` holds every measurement (the sweep's columns); ``frame()`` as a DataFrame.
    """

    def __init__(self, *, overlap: float = 0.87, cycles: int = 100, seed: int = 0, holdout: str = "clarity",
                 probes: int = 1000):
        check_scalar(cycles, "cycles", kind=int, min_value=1, hint="A run needs at least one cycle.")
        check_scalar(probes, "probes", kind=int, min_value=3)
        self.seed, self.holdout, self.probes = int(seed), holdout, probes
        self.rows: list[dict] = []
        self.overlap_slider = widgets.FloatSlider(value=overlap, min=0.0, max=1.0, step=0.01, description="overlap ρ",
                                                  readout_format=".2f", continuous_update=False)
        self.cycles_slider = widgets.IntSlider(value=cycles, min=10, max=600, step=10, description="cycles",
                                               continuous_update=False)
        self.view = FigureView(explorer_base(), apply_explorer, width=640)
        self._train()
        self.overlap_slider.observe(self._on_change, names="value")
        self.cycles_slider.observe(self._on_change, names="value")
        self.widget = widgets.VBox([widgets.HBox([self.overlap_slider, self.cycles_slider]), self.view.figure])
        self.widget.add_class("scalarscope-transfer-explorer")

    def set(self, *, overlap: float | None = None, cycles: int | None = None) -> None:
        """Move the sliders from code (the same handlers run)."""
        if cycles is not None:
            self.cycles_slider.value = cycles
        if overlap is not None:
            self.overlap_slider.value = overlap

    def frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.rows)

    def figure(self) -> go.Figure:
        """A static copy of the plot."""
        return self.view.static()

    def _on_change(self, change) -> None:
        self._train()

    def _train(self) -> None:
        spec = RunSpec(index=len(self.rows), world_options={"overlap": float(self.overlap_slider.value)},
                       seed=self.seed, holdout=self.holdout, cycles=int(self.cycles_slider.value),
                       study={"transfer_probes": self.probes})
        self.rows.append(run_one(spec))
        self.view.update(self.rows)
