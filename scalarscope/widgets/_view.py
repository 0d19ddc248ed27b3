"""A live view (one FigureWidget, one message per frame), a frame-rate throttle, a panel base."""

from __future__ import annotations

import time
from collections.abc import Callable

import ipywidgets as widgets
import plotly.graph_objects as go

from scalarscope.errors import check_scalar
from scalarscope.widgets._style import FRAME_INTERVAL


class FigureView:
    """Owns one ``go.FigureWidget`` built once from a skeleton; ``update(frame)`` redraws it.

    Every update goes through ``batch_update``, so the front end receives a single ``update``
    message per frame (restyle and relayout together), whatever the number of traces touched.
    ``updates`` counts the frames applied.
    """

    def __init__(self, skeleton: go.Figure, apply: Callable[[object, object], None], *, width: int | None = None):
        self.figure = go.FigureWidget(skeleton)
        if width is not None:  # a fixed width side by side in a row; static figures keep autosize
            self.figure.layout.width = width
        self._apply = apply
        self.updates = 0

    def update(self, frame) -> None:
        with self.figure.batch_update():
            self._apply(self.figure, frame)
        self.updates += 1

    def static(self) -> go.Figure:
        """A plain ``go.Figure`` copy of what the view shows now (for front ends without widgets)."""
        return go.Figure(self.figure)


class FrameThrottle:
    """Lets a redraw through at most once every ``interval`` seconds (``force`` always passes)."""

    def __init__(self, interval: float = FRAME_INTERVAL, clock: Callable[[], float] = time.perf_counter):
        check_scalar(interval, "interval", min_value=0.0, hint="It is seconds between redraws; 0.1 is ~10 frames/s.")
        self.interval = float(interval)
        self._clock = clock
        self._last = -float("inf")

    def due(self, *, force: bool = False) -> bool:
        now = self._clock()
        if force or now - self._last >= self.interval:
            self._last = now
            return True
        return False


def row(children) -> widgets.HBox:
    """Views side by side, wrapping onto the next line when the notebook is narrower than the row."""
    return widgets.HBox(children, layout=widgets.Layout(flex_flow="row wrap", align_items="flex-start"))


class Panel:
    """Base of the panels: ``widget`` is the ipywidgets container the notebook displays."""

    widget = None

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
