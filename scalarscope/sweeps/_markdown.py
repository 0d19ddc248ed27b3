"""Markdown cells and tables shared by the studies' sections and the reports (plain strings)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def _fmt(value, digits: int = 3) -> str:
    """A number to ``digits`` places; "n/a" for None or NaN (not measured, never shown as 0)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def _pm(mean: float, std: float) -> str:
    return f"{_fmt(mean)} ± {_fmt(std)}" if not math.isnan(std) else _fmt(mean)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
