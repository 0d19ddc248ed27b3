"""The examples of the original README run end to end (small settings, each in its own process)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scalarscope.export import load_geometry, validate_geometry

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def run_example(name: str, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TQDM_DISABLE": "1"}
    return subprocess.run([sys.executable, str(EXAMPLES / name), *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_basic_training_trains_measures_and_exports(tmp_path):
    out = tmp_path / "basic.json"
    done = run_example("basic_training.py", "--cycles", "12", "--probes", "200", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "first cycle: loss" in done.stdout and "holdout transfer (clarity, random probes)" in done.stdout
    assert validate_geometry(out) == []
    assert load_geometry(out).metadata.cycles == 13  # run_cycle, then 12 cycles


def test_geometry_export_demo_writes_a_valid_file_and_reads_it_back(tmp_path):
    out = tmp_path / "geometry.json"
    done = run_example("geometry_export_demo.py", "--cycles", "10", "--overlap", "0.5", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert f"wrote {out}: valid" in done.stdout and "(held out)" in done.stdout
    assert load_geometry(out).metadata.condition == "overlap 0.50"


def test_revision_demo_compares_targeted_and_random_rewrites():
    assert (EXAMPLES / "revision_demo.py").exists(), "examples/revision_demo.py (the README's revision example) is missing"
    done = run_example("revision_demo.py", "--seeds", "1", "--cycles", "8")
    assert done.returncode == 0, done.stderr
    uplifts, costs = (_table(block) for block in done.stdout.strip().split("\n\n"))
    assert uplifts["0"] == uplifts["mean"]  # one seed: its row is the mean
    random, targeted, difference = uplifts["0"]
    assert difference == pytest.approx(targeted - random, abs=0.0015)  # printed to 3 decimals
    for trigger_rate, revisions, acceptance_rate, tokens_per_revision, _ in (costs["random"], costs["weakest-token"]):
        assert 0 < trigger_rate <= 1 and 0 <= acceptance_rate <= 1 and revisions >= 1
        assert 0 < tokens_per_revision <= 16  # EngineConfig().max_new_tokens


def _table(block: str) -> dict[str, list[float]]:
    """A printed DataFrame as {row label: numbers}; header lines (no numbers) are skipped."""
    rows = {}
    for line in block.splitlines():
        label, *cells = line.split()
        try:
            numbers = [float(c) for c in cells]
        except ValueError:
            continue
        if numbers:
            rows[label] = numbers
    return rows


@pytest.mark.parametrize("name", ["basic_training.py", "geometry_export_demo.py", "revision_demo.py"])
def test_examples_explain_themselves(name):
    done = run_example(name, "--help", timeout=60)
    assert done.returncode == 0 and "--cycles" in done.stdout, done.stderr


def test_examples_and_notebooks_import_no_private_module():
    import ast
    import json

    sources = {p.name: p.read_text() for p in EXAMPLES.glob("*.py")}
    for notebook in (ROOT / "notebooks").glob("*.ipynb"):
        cells = json.loads(notebook.read_text())["cells"]
        sources[notebook.name] = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    private = []
    for name, source in sources.items():
        for node in ast.walk(ast.parse(source)):
            modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names = [a.name for a in node.names] if isinstance(node, ast.ImportFrom) else []
            private += [f"{name}: {m}" for m in modules if m.startswith("scalarscope")
                        and any(part.startswith("_") for part in m.split("."))]
            private += [f"{name}: {node.module}.{n}" for n in names if n.startswith("_") and (node.module or "").startswith("scalarscope")]
    assert not private, private
    assert len(sources) >= 15  # the examples and the notebooks were all read
