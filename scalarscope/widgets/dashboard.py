"""The training dashboard: Step, Run N and Stop over ``engine.cycles()``, with four live views.

Running without freezing the notebook
-------------------------------------
``dashboard.run(n)`` (what a notebook cell calls) trains ``n`` cycles in the calling thread and
redraws at most every ``frame_interval`` seconds while it goes, then once at the end: the cell
blocks, the figures move. The **Run N** button instead starts the same loop in a background
thread (``dashboard.start(n)``), so the kernel stays free to receive the **Stop** click; the loop
checks the stop flag between cycles, so Stop takes effect after the current cycle. While a
background run goes, leave the engine alone in other cells (or call ``dashboard.wait()`` first).
"""

from __future__ import annotations

import html
import threading
import time
from typing import TYPE_CHECKING

import ipywidgets as widgets

from scalarscope.errors import ConfigError, check_scalar
from scalarscope.geometry import normalized_spectrum
from scalarscope.widgets._style import FRAME_INTERVAL
from scalarscope.widgets._view import FigureView, FrameThrottle, Panel, row
from scalarscope.widgets.evaluator_figures import apply_evaluator_pca, evaluator_pca_base
from scalarscope.widgets.export_panel import DEFAULT_EXPORT, ExportPanel
from scalarscope.widgets.series import TrainingSeries
from scalarscope.widgets.training_figures import (
    apply_curves,
    apply_spectrum,
    apply_tokens,
    curves_base,
    dashboard_figures,
    dashboard_frame,
    spectrum_base,
    tokens_base,
)

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from scalarscope.engine.records import CycleRecord, History


class TrainingDashboard(Panel):
    """Buttons that drive ``engine`` and four views that follow it.

    Views (each a :class:`FigureView`, one message per redraw): ``spectrum`` (internal evaluator's
    eigenvalue spectrum beside the true evaluators'), ``pca`` (evaluators and the internal heads in
    one frame), ``curves`` (mean score, prediction, surprise, holdout transfer, losses) and
    ``tokens`` (granted / used / refused). ``governor``: a :class:`GovernorPanel` whose ledger is
    refreshed with every frame. ``export``: the :class:`ExportPanel` writing ``export_path``.
    """

    def __init__(self, engine, *, governor=None, cycles: int = 50, frame_interval: float = FRAME_INTERVAL,
                 export_path=DEFAULT_EXPORT):
        check_scalar(cycles, "cycles", kind=int, min_value=1)
        self.engine, self.governor = engine, governor
        self.series = TrainingSeries(engine.history)
        self.throttle = FrameThrottle(frame_interval)
        self._true_spectrum = normalized_spectrum(engine.state_probe_scores)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self.frames = 0
        self.spectrum = FigureView(spectrum_base(), apply_spectrum, width=500)
        self.pca = FigureView(evaluator_pca_base(), apply_evaluator_pca, width=480)
        self.curves = FigureView(curves_base(), apply_curves, width=560)
        self.tokens = FigureView(tokens_base(), apply_tokens, width=420)
        self.export = ExportPanel(engine, export_path)
        self.step_button = widgets.Button(description="Step", icon="step-forward", tooltip="one cycle")
        self.run_button = widgets.Button(description="Run N", icon="play", button_style="success")
        self.stop_button = widgets.Button(description="Stop", icon="stop", button_style="danger", disabled=True)
        self.cycles_input = widgets.BoundedIntText(value=cycles, min=1, max=100_000, description="N",
                                                   layout={"width": "150px"})
        self.status = widgets.HTML()
        self.step_button.on_click(self._on_step)
        self.run_button.on_click(self._on_run)
        self.stop_button.on_click(self._on_stop)
        self.redraw()
        controls = widgets.HBox([self.step_button, self.cycles_input, self.run_button, self.stop_button, self.status])
        self.widget = widgets.VBox([
            controls, row([self.spectrum.figure, self.pca.figure]), row([self.curves.figure, self.tokens.figure]),
            self.export.widget])
        self.widget.add_class("scalarscope-dashboard")

    # -- driving the engine ---------------------------------------------------------------------------
    def step(self) -> CycleRecord:
        """One cycle, then a redraw; returns the cycle's record."""
        self._require_idle()
        start = time.perf_counter()
        record = self.engine.step()
        self.redraw()
        self._show_status(f"cycle {record.cycle}: mean score {record.metrics.mean_score:.3f}", start, 1)
        return record

    def run(self, n: int) -> History:
        """Train ``n`` cycles here, redrawing at most every ``frame_interval`` s; returns the history.

        Stops early (after the current cycle) when ``stop()`` is called from another thread.
        """
        self._require_idle()
        return self._loop(n)

    def start(self, n: int) -> threading.Thread:
        """Train ``n`` cycles in a background thread (what Run N does); ``stop()`` ends it early."""
        self._require_idle()
        check_scalar(n, "n", kind=int, min_value=1)
        self._thread = threading.Thread(target=self._background, args=(n,), name="scalarscope-dashboard",
                                        daemon=True)
        self._set_running(True)
        self._thread.start()
        return self._thread

    def stop(self) -> None:
        """Ask a running loop to stop after its current cycle."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a background run to end; True when none is running any more."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- drawing ------------------------------------------------------------------------------------
    def redraw(self) -> None:
        """State -> figures: one update message per view (and the governor's ledger, if linked)."""
        self.series.sync(self.engine.history)
        frame = dashboard_frame(self.engine, self.series, self._true_spectrum)
        self.spectrum.update(frame.spectrum)
        self.pca.update(frame.pca)
        self.curves.update(frame.series)
        self.tokens.update(frame.series)
        if self.governor is not None:
            self.governor.refresh()
        self.frames += 1

    def figures(self) -> dict[str, go.Figure]:
        """Static ``go.Figure`` versions of the four views (for front ends without widgets)."""
        return dashboard_figures(self.engine)

    # -- internals ----------------------------------------------------------------------------------
    def _loop(self, n: int):
        check_scalar(n, "n", kind=int, min_value=1)
        self._stop.clear()
        start, done = time.perf_counter(), 0
        for _record in self.engine.cycles(n):
            done += 1
            if self._stop.is_set():
                break
            if self.throttle.due():
                self.redraw()
                self._show_status(f"running: {done} of {n} cycles", start, done)
        self.redraw()
        self._show_status(f"{'stopped after' if done < n else 'ran'} {done} cycles", start, done)
        return self.engine.history

    def _background(self, n: int) -> None:
        try:
            self._loop(n)
        except BaseException as error:  # shown in the panel; a thread has nobody else to tell
            self.error = error
            self.status.value = f"<span style='color:#c0392b'>stopped by an error: {html.escape(repr(error))}</span>"
        finally:
            self._set_running(False)

    def _show_status(self, text: str, start: float, done: int) -> None:
        per_cycle = 1000 * (time.perf_counter() - start) / max(done, 1)
        self.status.value = f"{text} · {per_cycle:.0f} ms/cycle · {len(self.engine.history)} in total"

    def _set_running(self, running: bool) -> None:
        self.step_button.disabled = self.run_button.disabled = running
        self.stop_button.disabled = not running

    def _require_idle(self) -> None:
        if self.running:
            raise ConfigError("a background run is going; press Stop or call dashboard.wait() first")

    def _on_step(self, button) -> None:
        self.step()

    def _on_run(self, button) -> None:
        self.start(int(self.cycles_input.value))

    def _on_stop(self, button) -> None:
        self.stop()
