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


# -- the package's own layers ---------------------------------------------------------------------------
# package -> the packages of scalarscope it must never import, at module level or inside a function.
# Order, bottom up: errors/_numeric/_atomic; geometry, governor; export; student; evaluators, critics;
# engine; onnx (an exported student: it needs the student, never the engine); sweeps; widgets; CLI.
ABOVE = {
    "geometry": {"governor", "export", "student", "evaluators", "critics", "engine", "onnx", "sweeps", "widgets", "reports"},
    "governor": {"geometry", "export", "student", "evaluators", "critics", "engine", "onnx", "sweeps", "widgets", "reports"},
    "export": {"governor", "student", "evaluators", "critics", "engine", "onnx", "sweeps", "widgets", "reports"},
    "student": {"governor", "export", "evaluators", "critics", "engine", "onnx", "sweeps", "widgets", "reports"},
    "evaluators": {"student", "critics", "engine", "onnx", "sweeps", "widgets", "reports"},
    "critics": {"evaluators", "engine", "onnx", "sweeps", "widgets", "reports"},
    "engine": {"onnx", "sweeps", "widgets", "reports"},
    "onnx": {"engine", "sweeps", "widgets", "reports"},
    "sweeps": {"onnx", "widgets", "reports"},
}
# Deliberate, documented exceptions: (importing module, imported package) -> why.
ALLOWED = {
    ("scalarscope.engine.loop", "onnx"): "engine.export_onnx() is a convenience that imports the exporter "
                                         "inside the method; the exporter takes the engine, never imports it",
}
# Upward imports that exist today and are fixed in files another issue owns: each must disappear
# from here when fixed (the test fails if one listed here is no longer found).
KNOWN: dict[tuple[str, str], str] = {}


def _is_cli(module: str) -> bool:
    """Command-line modules sit on top of everything (they import what they run, lazily)."""
    last = module.rsplit(".", 1)[-1]
    return last == "cli" or last.startswith("cli_") or module == "scalarscope.__main__"


def upward_imports(module: str, source: str) -> set[tuple[str, str]]:
    """(module, package) for every import in ``source`` of a scalarscope package above ``module``'s."""
    import ast

    parts = module.split(".")
    if len(parts) < 2 or parts[1] not in ABOVE or _is_cli(module):
        return set()
    found = set()
    for node in ast.walk(ast.parse(source)):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
        for name in names:
            target = name.split(".")
            if target[0] == "scalarscope" and len(target) > 1 and target[1] in ABOVE[parts[1]]:
                found.add((module, target[1]))
    return found


def _package_modules():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "scalarscope"
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root.parent).with_suffix("")
        name = ".".join(relative.parts).removesuffix(".__init__")
        yield name, path.read_text()


def test_no_package_imports_a_layer_above_it():
    found = set().union(*(upward_imports(name, source) for name, source in _package_modules()))
    unexpected = found - ALLOWED.keys() - KNOWN.keys()
    assert not unexpected, f"upward imports: {sorted(unexpected)}"
    fixed = KNOWN.keys() - found
    assert not fixed, f"fixed, remove from KNOWN: {sorted(fixed)}"


@pytest.mark.parametrize(("module", "source", "expected"), [
    ("scalarscope.geometry.x", "from scalarscope.engine.records import frozen_array", {"engine"}),
    ("scalarscope.export.x", "def f():\n    import scalarscope.engine.loop\n", {"engine"}),
    ("scalarscope.engine.x", "from scalarscope.sweeps import sweep\nimport scalarscope.widgets", {"sweeps", "widgets"}),
    ("scalarscope.evaluators.x", "from scalarscope.student.model import CharStudent", {"student"}),
    ("scalarscope.onnx.x", "from scalarscope.engine import ScalarScopeEngine", {"engine"}),
    ("scalarscope.engine.x", "from scalarscope.geometry import pca_2d\nfrom scalarscope.evaluators import base", set()),
    ("scalarscope.onnx.cli", "from scalarscope.engine import ScalarScopeEngine", set()),  # the CLI layer
])
def test_the_layer_check_catches_an_upward_import(module, source, expected):
    assert {package for _, package in upward_imports(module, source)} == expected


PUBLIC = {"scalarscope", "scalarscope.engine", "scalarscope.evaluators", "scalarscope.governor", "scalarscope.student",
          "scalarscope.geometry", "scalarscope.export", "scalarscope.widgets", "scalarscope.sweeps", "scalarscope.onnx",
          "scalarscope.worlds"}


def test_notebooks_use_only_the_public_api():
    import json
    import re
    from pathlib import Path

    found = {}
    for path in sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb")):
        code = "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code")
        modules = set(re.findall(r"^\s*(?:from|import)\s+(scalarscope[\w.]*)", code, flags=re.M))
        if modules - PUBLIC:
            found[path.name] = sorted(modules - PUBLIC)
    assert not found, f"notebooks importing modules outside the public API {sorted(PUBLIC)}: {found}"
