"""One look for every ScalarScope figure: template, fonts, evaluator colours, frame rate."""

from __future__ import annotations

from collections.abc import Sequence

TEMPLATE = "plotly_white"
FONT = {"family": "Inter, Helvetica Neue, Arial, sans-serif", "size": 12}
HEIGHT = 340
MARGIN = {"l": 48, "r": 16, "t": 48, "b": 40}
FRAME_INTERVAL = 0.1  # seconds: redraw at most ~10 times a second while training

# the five criteria of the Desktop viewer, then a qualitative palette for further evaluators
EVALUATOR_COLORS = {
    "correctness": "#4C78A8",
    "coherence": "#F58518",
    "calibration": "#54A24B",
    "tradeoffs": "#B279A2",
    "clarity": "#E45756",
}
_EXTRA = ("#72B7B2", "#EECA3B", "#9D755D", "#FF9DA6", "#BAB0AC")
INTERNAL = "#222222"  # the internal evaluator
TRUE = "#9AA5B1"  # the true evaluators, where drawn as one series
HOLDOUT_DASH = "dot"


def evaluator_colors(names: Sequence[str]) -> list[str]:
    """A stable colour per evaluator name (the criteria keep theirs whatever their position)."""
    out, extra = [], iter(_EXTRA * (len(names) // len(_EXTRA) + 1))
    for name in names:
        base = name.split(":", 1)[-1]
        out.append(EVALUATOR_COLORS.get(base) or next(extra))
    return out


def base_layout(title: str, **extra) -> dict:
    """Layout shared by all views (a plain dict, so it suits go.Figure and go.FigureWidget alike)."""
    layout = {"template": TEMPLATE, "font": FONT, "height": HEIGHT, "margin": MARGIN,
              "title": {"text": title, "x": 0.02, "xanchor": "left", "font": {"size": 14}},
              "legend": {"orientation": "h", "y": -0.18, "x": 0.0}}
    layout.update(extra)
    return layout
