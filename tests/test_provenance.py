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
