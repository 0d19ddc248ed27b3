"""Where a generated document's numbers came from: the library's git commit."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def code_version(root: str | Path = ROOT) -> str:
    """``"commit abc1234"`` for the checkout at ``root`` (``" with uncommitted changes"`` added when
    ``scalarscope/`` has edits), or ``""`` outside a git checkout. Read it before a study starts:
    its worker processes import the library as it is then."""
    try:
        def git(*args: str) -> str:
            return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True,
                                  timeout=10).stdout.strip()

        dirty = " with uncommitted changes" if git("status", "--porcelain", "scalarscope") else ""
        return f"commit {git('rev-parse', '--short', 'HEAD')}{dirty}"
    except (OSError, subprocess.SubprocessError):
        return ""


def from_version(root: str | Path = ROOT) -> str:
    """``" from commit abc1234"`` (see :func:`code_version`), or ``""``."""
    version = code_version(root)
    return f" from {version}" if version else ""
