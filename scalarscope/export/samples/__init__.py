"""The two sample files that ship with ScalarScope-Desktop (MIT License; see NOTICE.md)."""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def viewer_samples() -> dict[str, Path]:
    """Paths of the viewer's own sample geometry files, by stem name."""
    return {path.stem: path for path in sorted(_HERE.glob("*.json"))}
