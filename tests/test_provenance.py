"""The commit a generated document names: git's own answer, marked when the library has edits."""

from __future__ import annotations

import subprocess

from scalarscope.reports.provenance import code_version, from_version


def _git(repo, *args):
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()


def test_code_version_names_the_commit_and_marks_library_edits(tmp_path):
    assert code_version(tmp_path) == "" and from_version(tmp_path) == ""  # not a checkout
    _git(tmp_path, "init", "-q")
    (tmp_path / "scalarscope").mkdir()
    (tmp_path / "scalarscope" / "a.py").write_text("x = 1\n")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    short = _git(tmp_path, "rev-parse", "--short", "HEAD")
    assert code_version(tmp_path) == f"commit {short}" and from_version(tmp_path) == f" from commit {short}"
    (tmp_path / "notes.md").write_text("outside the library\n")
    assert code_version(tmp_path) == f"commit {short}"
    (tmp_path / "scalarscope" / "a.py").write_text("x = 2\n")
    assert code_version(tmp_path) == f"commit {short} with uncommitted changes"


def test_mean_std_is_numpys_over_the_finite_values():
    import numpy as np

    from scalarscope.reports.format import mean_std

    values = [0.12, -0.31, float("nan"), 0.5, float("inf")]
    finite = np.array([0.12, -0.31, 0.5])
    assert mean_std(values) == f"{finite.mean():.3f} ± {finite.std(ddof=1):.3f}"
    assert mean_std(values, signed=True).startswith(f"+{finite.mean():.3f}")
    assert mean_std([float("nan")], missing="not measured") == "not measured" and mean_std([-0.25]) == "-0.250"
