"""The command line, end to end."""

from __future__ import annotations

import subprocess
import sys

from scalarscope.cli import main
from scalarscope.export import validate_geometry


def test_run_prints_a_summary_and_exports(tmp_path, capsys):
    out = tmp_path / "run.json"
    code = main(["run", "--overlap", "0.8", "--cycles", "30", "--seed", "2", "--holdout", "clarity",
                 "--no-progress", "--export", str(out)])
    text = capsys.readouterr().out
    assert code == 0
    assert "mean score (training evaluators)" in text and "holdout transfer (clarity)" in text
    assert validate_geometry(out) == []


def test_module_entry_point_and_clear_errors():
    done = subprocess.run([sys.executable, "-m", "scalarscope", "run", "--overlap", "1.5", "--cycles", "1",
                           "--no-progress"], capture_output=True, text=True)
    assert done.returncode == 2
    assert "overlap must be <= 1.0, got 1.5" in done.stderr
    assert "Traceback" not in done.stderr
