"""The evaluator panel: an overlap slider that rebuilds the evaluators and redraws their structure."""

from __future__ import annotations

from typing import TYPE_CHECKING

import ipywidgets as widgets

from scalarscope.errors import check_scalar
from scalarscope.evaluators import CRITERIA, analyze_overlap, correlated_evaluators
from scalarscope.widgets._view import FigureView, Panel, row
from scalarscope.widgets.evaluator_figures import (
    apply_correlation,
    apply_evaluator_pca,
    correlation_base,
    evaluator_pca_base,
    overlap_figures,
    overlap_frames,
)

if TYPE_CHECKING:
    import plotly.graph_objects as go

NO_HOLDOUT = "none"
_KEEP = object()
PANEL_PROBES = 500  # probe responses per slider move: ~10 ms of scoring, so a move feels instant


class EvaluatorPanel(Panel):
    """Overlap slider, number of evaluators and holdout choice, with two live views.

    Moving a control rebuilds ``evaluators`` (``correlated_evaluators(n, overlap, seed)``), measures
    them (``report``: ``analyze_overlap`` on ``n_probes`` random responses) and redraws the evaluator
    PCA arrows and the correlation heat map, one message per figure. At overlap 0 the five arrows
    spread out (first-factor share ~1/n); towards 1 they fold onto the first axis.

    Read ``evaluators``, ``holdout`` (None for "none") and ``report`` to build an engine.
    """

    def __init__(self, *, overlap: float = 0.5, n_evaluators: int = 5, holdout: str | None = "clarity",
                 seed: int = 0, n_probes: int = PANEL_PROBES):
        check_scalar(n_probes, "n_probes", kind=int, min_value=3)
        check_scalar(n_evaluators, "n_evaluators", kind=int, min_value=2, max_value=8,
                     hint="The panel shows 2 to 8 evaluators.")
        self.seed, self.n_probes = int(seed), n_probes
        self.overlap_slider = widgets.FloatSlider(value=overlap, min=0.0, max=1.0, step=0.01, description="overlap ρ",
                                                  readout_format=".2f", continuous_update=True,
                                                  style={"description_width": "initial"})
        self.count_slider = widgets.IntSlider(value=n_evaluators, min=2, max=8, description="evaluators",
                                              continuous_update=False)
        self.holdout_choice = widgets.Dropdown(options=self._holdout_options(n_evaluators), description="holdout")
        self.holdout_choice.value = holdout if holdout in self.holdout_choice.options else NO_HOLDOUT
        self.summary = widgets.HTML()
        self.pca = FigureView(evaluator_pca_base(), apply_evaluator_pca, width=480)
        self.heatmap = FigureView(correlation_base(), apply_correlation, width=500)
        self._rebuild()
        # one handler per control
        self.overlap_slider.observe(self._on_overlap, names="value")
        self.count_slider.observe(self._on_count, names="value")
        self.holdout_choice.observe(self._on_holdout, names="value")
        self.widget = widgets.VBox([
            widgets.HBox([self.overlap_slider, self.count_slider, self.holdout_choice]), self.summary,
            row([self.pca.figure, self.heatmap.figure])])
        self.widget.add_class("scalarscope-evaluator-panel")

    # -- what the notebook reads --------------------------------------------------------------------
    @property
    def overlap(self) -> float:
        return float(self.overlap_slider.value)

    @property
    def holdout(self) -> str | None:
        value = self.holdout_choice.value
        return None if value == NO_HOLDOUT else value

    def set(self, *, overlap: float | None = None, n_evaluators: int | None = None,
            holdout=_KEEP) -> None:
        """Move the controls from code (exactly as a user would: the same handlers run).
        ``holdout``: an evaluator name, or None for no holdout; left out, it stays as it is."""
        if n_evaluators is not None:
            self.count_slider.value = n_evaluators
        if holdout is not _KEEP:
            self.holdout_choice.value = NO_HOLDOUT if holdout is None else holdout
        if overlap is not None:
            self.overlap_slider.value = overlap

    def figures(self) -> dict[str, go.Figure]:
        """Static ``go.Figure`` versions of both views: {"pca", "correlation"}."""
        return overlap_figures(self.report, holdout=self.holdout)

    # -- handlers -------------------------------------------------------------------------------------
    def _on_overlap(self, change) -> None:
        self._rebuild()

    def _on_count(self, change) -> None:
        current = self.holdout_choice.value
        options = self._holdout_options(change["new"])
        self.holdout_choice.unobserve(self._on_holdout, names="value")
        try:  # changing the options must not trigger a second redraw through the holdout handler
            self.holdout_choice.options = options
            self.holdout_choice.value = current if current in options else NO_HOLDOUT
        finally:
            self.holdout_choice.observe(self._on_holdout, names="value")
        self._rebuild()

    def _on_holdout(self, change) -> None:
        arrows, _ = overlap_frames(self.report, holdout=self.holdout)
        self.pca.update(arrows)

    # -- helpers ------------------------------------------------------------------------------------
    def _rebuild(self) -> None:
        self.evaluators = correlated_evaluators(self.count_slider.value, self.overlap, seed=self.seed)
        self.report = analyze_overlap(self.evaluators, n_probes=self.n_probes, seed=self.seed)
        arrows, corr = overlap_frames(self.report, holdout=self.holdout)
        self.pca.update(arrows)
        self.heatmap.update(corr)
        self.summary.value = (
            f"<b>measured</b>: mean correlation <b>{self.report.mean_correlation:.2f}</b> · first-factor share "
            f"<b>{self.report.first_factor_share:.2f}</b> · {self.report.verdict} "
            f"<span style='color:#888'>({self.n_probes} probe responses)</span>")

    @staticmethod
    def _holdout_options(n: int) -> list[str]:
        names = [CRITERIA[i] if i < len(CRITERIA) else f"evaluator_{i}" for i in range(n)]
        return [NO_HOLDOUT, *names]
