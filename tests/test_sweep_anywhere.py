"""A parallel sweep works wherever a user starts it: a script without a main guard, stdin,
``python -c``, a notebook, the CLI. Each runs in a fresh interpreter; rows must equal n_jobs=1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from scalarscope.sweeps import COLUMNS, sweep

pytestmark = pytest.mark.slow  # each starts an interpreter and a two-process pool (~5-10 s)

ROOT = Path(__file__).resolve().parents[1]
ARGS = dict(overlaps=[0, 0.87], seeds=[0], cycles=10, transfer_probes=100)  # one run per worker process
SAME = [c for c in COLUMNS if c != "wall_seconds"]


def script(out: Path) -> str:
    """The user's script, with no ``if __name__ == "__main__":`` guard on purpose."""
    return (f"import scalarscope\ndf = scalarscope.sweep(**{ARGS!r}, n_jobs=2, progress=False)\n"
            f"df.to_csv({str(out)!r}, index=False)\nprint('rows', len(df))\n")


@pytest.fixture(scope="module")
def serial() -> pd.DataFrame:
    return sweep(**ARGS, n_jobs=1, progress=False)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


def _run(argv: list[str], *, stdin: str | None = None, cwd: Path) -> subprocess.CompletedProcess:
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, env=_env(), cwd=cwd, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr and "BrokenProcessPool" not in done.stderr, done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def serial_csv(serial, tmp_path_factory) -> Path:
    # the same round trip through CSV as the subprocesses' rows, so floats compare exactly
    path = tmp_path_factory.mktemp("serial") / "serial.csv"
    serial.to_csv(path, index=False)
    return path


def _check(out: Path, serial_csv: Path) -> None:
    pd.testing.assert_frame_equal(pd.read_csv(out)[SAME], pd.read_csv(serial_csv)[SAME])


def test_script_without_main_guard(tmp_path, serial_csv):
    out = tmp_path / "rows.csv"
    path = tmp_path / "sweep_script.py"
    path.write_text(script(out))
    assert "rows 2" in _run([sys.executable, str(path)], cwd=tmp_path).stdout
    _check(out, serial_csv)


def test_script_from_stdin(tmp_path, serial_csv):
    out = tmp_path / "rows.csv"
    assert "rows 2" in _run([sys.executable, "-"], stdin=script(out), cwd=tmp_path).stdout
    _check(out, serial_csv)


def test_python_dash_c(tmp_path, serial_csv):
    out = tmp_path / "rows.csv"
    assert "rows 2" in _run([sys.executable, "-c", script(out)], cwd=tmp_path).stdout
    _check(out, serial_csv)


def test_cli(tmp_path, serial_csv):
    out = tmp_path / "rows.csv"
    _run([sys.executable, "-m", "scalarscope", "sweep", "--overlaps", "0,0.87", "--seeds", "1", "--cycles", "10",
          "--probes", "100", "--jobs", "2", "--no-progress", "--out", str(out)], cwd=tmp_path)
    _check(out, serial_csv)


def test_notebook(tmp_path, serial_csv):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    out = tmp_path / "rows.csv"
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(script(out))])
    path = tmp_path / "sweep.ipynb"
    path.write_text(json.dumps(notebook))
    # the kernel inherits this environment, so it imports this checkout's scalarscope
    previous = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = _env()["PYTHONPATH"]
    try:
        nbclient.NotebookClient(nbformat.read(path, as_version=4), timeout=240, kernel_name="python3",
                                resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        if previous is None:
            os.environ.pop("PYTHONPATH")
        else:
            os.environ["PYTHONPATH"] = previous
    _check(out, serial_csv)
