"""The export button: write the run as a ScalarScope-Desktop geometry file, check it, show the path."""

from __future__ import annotations

import html
import os
from pathlib import Path

import ipywidgets as widgets

from scalarscope.export import validate_geometry
from scalarscope.widgets._view import Panel

DEFAULT_EXPORT = Path("runs") / "scalarscope_geometry.json"


class ExportPanel(Panel):
    """A button that calls ``engine.export_geometry(path)`` and the contract validator on the result.

    ``last_path`` is the file written last (None before the first export); ``last_violations``
    what :func:`~scalarscope.export.validate_geometry` found in it (empty when valid).
    """

    def __init__(self, engine, path: str | os.PathLike[str] = DEFAULT_EXPORT):
        self.engine = engine
        self.last_path: Path | None = None
        self.last_violations: list = []
        self.path_input = widgets.Text(value=str(path), description="file", layout={"width": "420px"})
        self.button = widgets.Button(description="Export for Desktop", icon="download", button_style="info",
                                     layout={"width": "auto"})
        self.result = widgets.HTML()
        self.button.on_click(self._on_click)
        self.widget = widgets.VBox([widgets.HBox([self.path_input, self.button]), self.result])
        self.widget.add_class("scalarscope-export-panel")

    def export(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Write the geometry file (to ``path`` or the panel's file box) and validate it; returns the path."""
        if path is not None:
            self.path_input.value = str(path)
        written = Path(self.engine.export_geometry(self.path_input.value)).resolve()
        self.last_path, self.last_violations = written, validate_geometry(written)
        size = written.stat().st_size / 1024
        if self.last_violations:
            problems = "".join(f"<li>{html.escape(str(v))}</li>" for v in self.last_violations[:5])
            verdict = f"<span style='color:#c0392b'>{len(self.last_violations)} contract violation(s)</span><ul>{problems}</ul>"
        else:
            verdict = "<span style='color:#2e7d32'>passes the Desktop contract validator</span>"
        self.result.value = (f"wrote <code>{html.escape(str(written))}</code> ({size:.0f} KiB, "
                             f"{len(self.engine.history)} cycles): {verdict}")
        return written

    def _on_click(self, button) -> None:
        try:
            self.export()
        except Exception as error:  # shown in the panel: a failing button must not fail silently
            self.result.value = f"<span style='color:#c0392b'>export failed: {html.escape(str(error))}</span>"
