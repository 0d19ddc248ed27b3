"""Governor configuration: how many tokens a cycle (and a run) may spend, and how they are shared."""

from __future__ import annotations

from dataclasses import dataclass, replace

from scalarscope.errors import ConfigError, check_scalar

STRATEGIES = ("fixed", "adaptive")


@dataclass(frozen=True, kw_only=True)
class GovernorConfig:
    """Token budget of the training loop. Validated when built; change it with :meth:`replace`.

    max_tokens_per_cycle: tokens one cycle may grant in total (drafts plus revisions).
    budget_strategy: "fixed" splits the draft budget evenly over the cycle's prompts;
        "adaptive" moves tokens towards prompts the internal evaluator predicts weak or uncertain.
    max_tokens_total: run-level cap (None: no cap). When it is spent, cycles are recorded as
        budget-exhausted instead of raising.
    min_tokens_per_prompt: floor of every prompt's share (if the budget allows it).
    revision_share: fraction of each cycle's budget reserved for revisions, in [0, 1).
    adaptive_strength: how strongly the adaptive strategy favours hard prompts (0 = even split).
    """

    max_tokens_per_cycle: int = 512
    budget_strategy: str = "fixed"
    max_tokens_total: int | None = None
    min_tokens_per_prompt: int = 1
    revision_share: float = 0.0
    adaptive_strength: float = 2.0

    def __post_init__(self) -> None:
        check_scalar(self.max_tokens_per_cycle, "max_tokens_per_cycle", kind=int, min_value=1,
                     hint="A cycle needs at least one token; try 512.")
        if self.budget_strategy not in STRATEGIES:
            raise ConfigError(
                f"budget_strategy must be one of {STRATEGIES}, got {self.budget_strategy!r}"
            )
        if self.max_tokens_total is not None:
            check_scalar(self.max_tokens_total, "max_tokens_total", kind=int, min_value=1,
                         hint="Use None for no run-level cap.")
        check_scalar(self.min_tokens_per_prompt, "min_tokens_per_prompt", kind=int, min_value=0)
        check_scalar(self.revision_share, "revision_share", min_value=0.0, max_value=1.0, include_max=False,
                     hint="It is the fraction of a cycle's budget kept for revisions.")
        check_scalar(self.adaptive_strength, "adaptive_strength", min_value=0.0)

    def replace(self, **changes) -> GovernorConfig:
        """A copy with ``changes`` applied (validated again)."""
        return replace(self, **changes)

    @property
    def revision_tokens(self) -> int:
        """Tokens of each cycle reserved for revisions."""
        return int(self.max_tokens_per_cycle * self.revision_share)

    @property
    def draft_tokens(self) -> int:
        """Tokens of each cycle available for first drafts."""
        return self.max_tokens_per_cycle - self.revision_tokens
