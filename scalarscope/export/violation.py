"""One broken rule of the Desktop geometry contract."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Violation:
    """One broken rule: ``rule`` is "1".."8" for the hard rules, a word for a drawing rule."""

    rule: str
    path: str
    message: str

    @property
    def hard(self) -> bool:
        """True when the viewer would reject the file or crash (rules 1-8)."""
        return self.rule.isdigit()

    def __str__(self) -> str:
        return f"{self.path}: {self.message} [rule {self.rule}]"
