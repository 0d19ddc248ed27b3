"""Layers never point upward: each module imported alone pulls in only what it may."""

from __future__ import annotations

import subprocess
import sys

import pytest

RULES = {
    "scalarscope": {"torch", "plotly", "ipywidgets", "pandas"},
    "scalarscope.errors": {"torch", "numpy"},
    "scalarscope.governor": {"torch", "plotly", "ipywidgets", "pandas"},
    "scalarscope.geometry": {"torch", "plotly", "ipywidgets", "pandas"},
    "scalarscope.export": {"torch", "plotly", "ipywidgets", "pandas"},
    "scalarscope.evaluators.synthetic": {"plotly", "ipywidgets"},
    "scalarscope.engine": {"torch", "plotly", "ipywidgets"},
    "scalarscope.engine.loop": {"plotly", "ipywidgets", "scalarscope.sweeps"},  # studies build engines, not back
    "scalarscope.cli": {"torch", "plotly", "ipywidgets"},
    "scalarscope.student": {"torch"},
    "scalarscope.onnx.conscience": {"torch", "plotly", "ipywidgets"},
}


@pytest.mark.parametrize(("module", "forbidden"), sorted(RULES.items()))
def test_module_does_not_import(module, forbidden):
    code = (f"import sys, {module}\n"
            f"bad = sorted(m for m in {sorted(forbidden)!r} if m in sys.modules)\n"
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"{module} imported {out}"


def test_command_line_parser_does_not_import_torch():
    code = "import sys\nfrom scalarscope.cli import build_parser\nbuild_parser()\nprint('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"
