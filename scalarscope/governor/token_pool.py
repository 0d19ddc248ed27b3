"""The token pool: grants tokens within the cycle and run caps and keeps a ledger of what happened."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scalarscope.errors import BudgetError, ConfigTypeError
from scalarscope.governor.config import GovernorConfig


@dataclass(frozen=True)
class LedgerEntry:
    """One cycle's account. ``granted = used + returned``; ``refused = requested - granted``."""

    cycle: int
    requested: int
    granted: int
    used: int
    refused: int
    revision_granted: int
    revision_used: int
    exhausted: bool


class TokenPool:
    """Hands out tokens per cycle and per prompt. Running out is recorded, never raised.

    Usage per cycle: ``open_cycle()``, then ``allocate(requests, difficulty)`` for the drafts,
    optionally ``grant_revision(n)``, then ``close_cycle(used, revision_used)``.
    A new config set with :meth:`set_config` takes effect at the next ``open_cycle``.
    """

    def __init__(self, config: GovernorConfig | None = None):
        if config is not None and not isinstance(config, GovernorConfig):
            raise ConfigTypeError(f"TokenPool expects a GovernorConfig, got {type(config).__name__} {config!r:.60}; "
                                  "e.g. TokenPool(GovernorConfig(max_tokens_per_cycle=512))")
        self._config = config or GovernorConfig()
        self._pending = self._config
        self.ledger: list[LedgerEntry] = []
        self.spent_total = 0
        self._cycle_open = False
        self._cycle = 0
        self._requested = self._granted = self._revision_granted = 0

    @property
    def config(self) -> GovernorConfig:
        return self._config

    def set_config(self, config: GovernorConfig) -> None:
        """Use ``config`` from the next cycle on."""
        if not isinstance(config, GovernorConfig):
            raise BudgetError(f"set_config expects a GovernorConfig, got {type(config).__name__}")
        self._pending = config

    def update(self, **changes) -> GovernorConfig:
        """Change fields of the pending config (e.g. ``max_tokens_per_cycle=256``); returns it."""
        self._pending = self._pending.replace(**changes)
        return self._pending

    @property
    def remaining_in_run(self) -> int | None:
        """Tokens left under the run cap (None when there is no cap)."""
        cap = self._config.max_tokens_total
        return None if cap is None else max(cap - self.spent_total - self._outstanding(), 0)

    @property
    def remaining(self) -> int:
        """Tokens that may still be granted now (this cycle, within the run cap)."""
        cycle_left = self._config.max_tokens_per_cycle - self._granted - self._revision_granted
        run_left = self.remaining_in_run
        return max(cycle_left if run_left is None else min(cycle_left, run_left), 0)

    def _outstanding(self) -> int:
        return self._granted + self._revision_granted if self._cycle_open else 0

    def open_cycle(self, cycle: int) -> None:
        if self._cycle_open:
            raise BudgetError("open_cycle called twice; call close_cycle(used) first")
        self._config = self._pending
        self._cycle_open, self._cycle = True, cycle
        self._requested = self._granted = self._revision_granted = 0

    def allocate(self, requests: np.ndarray, difficulty: np.ndarray | None = None) -> np.ndarray:
        """Grant draft tokens to prompts asking for ``requests[p]`` tokens; returns grants [P].

        The draft share of the cycle budget (less what the run cap forbids) is split evenly
        ("fixed") or in proportion to ``difficulty ** adaptive_strength`` ("adaptive"),
        each prompt getting at least ``min_tokens_per_prompt`` where possible and never more
        than it asked for.
        """
        self._require_open()
        requests = np.asarray(requests, dtype=np.int64)
        if requests.ndim != 1 or np.any(requests < 0):
            raise BudgetError(f"requests must be a 1-D array of non-negative ints, got {requests!r}")
        budget = min(self._config.draft_tokens - self._granted, self.remaining)
        weights = np.ones(len(requests))
        if self._config.budget_strategy == "adaptive" and difficulty is not None:
            d = np.nan_to_num(np.asarray(difficulty, dtype=np.float64), nan=1.0, posinf=1.0, neginf=0.0)
            weights = np.clip(d, 1e-6, None) ** self._config.adaptive_strength
        grants = _split(max(budget, 0), requests, weights, self._config.min_tokens_per_prompt)
        self._requested += int(requests.sum())
        self._granted += int(grants.sum())
        return grants

    def grant_revision(self, requested: int) -> int:
        """Grant up to ``requested`` tokens from the cycle's revision share; returns the grant."""
        self._require_open()
        if requested < 0:
            raise BudgetError(f"requested must be >= 0, got {requested}")
        share_left = self._config.revision_tokens - self._revision_granted
        grant = int(max(min(requested, share_left, self.remaining), 0))
        self._requested += int(requested)
        self._revision_granted += grant
        return grant

    def close_cycle(self, used: int, revision_used: int = 0) -> LedgerEntry:
        """Settle the cycle: unused grants return to the pool. Returns the ledger entry."""
        self._require_open()
        if not 0 <= used <= self._granted or not 0 <= revision_used <= self._revision_granted:
            raise BudgetError(
                f"used={used}, revision_used={revision_used} exceed what was granted "
                f"({self._granted} draft, {self._revision_granted} revision)"
            )
        granted = self._granted + self._revision_granted
        cap = self._config.max_tokens_total
        exhausted = cap is not None and self.spent_total + used + revision_used >= cap
        entry = LedgerEntry(self._cycle, self._requested, granted, used + revision_used,
                            self._requested - granted, self._revision_granted, revision_used,
                            bool(exhausted or (self._requested > 0 and granted == 0)))
        self.spent_total += used + revision_used
        self.ledger.append(entry)
        self._cycle_open = False
        return entry

    def abort_cycle(self) -> None:
        """Forget an open cycle (it was interrupted): nothing it was granted counts as spent."""
        self._cycle_open = False
        self._requested = self._granted = self._revision_granted = 0

    @property
    def cycle_open(self) -> bool:
        return self._cycle_open

    def _require_open(self) -> None:
        if not self._cycle_open:
            raise BudgetError("no cycle is open; call open_cycle(cycle) first")

    def state_dict(self) -> dict:
        return {"config": self._config, "pending": self._pending, "ledger": list(self.ledger),
                "spent_total": self.spent_total}

    def load_state_dict(self, state: dict) -> None:
        self._config, self._pending = state["config"], state["pending"]
        self.ledger, self.spent_total = list(state["ledger"]), state["spent_total"]
        self._cycle_open = False

    def __repr__(self) -> str:
        config = self._config
        cap = "no run cap" if config.max_tokens_total is None else f"run cap {config.max_tokens_total:,}"
        return (f"TokenPool({config.max_tokens_per_cycle:,} tokens per cycle, {config.budget_strategy}, {cap}; "
                f"spent {self.spent_total:,} in {len(self.ledger)} cycles)")


def _split(budget: int, requests: np.ndarray, weights: np.ndarray, floor: int) -> np.ndarray:
    """Integer shares of ``budget`` in proportion to ``weights``, each at most its request."""
    if budget >= requests.sum():  # enough for every request (the usual case): nothing to share out
        return requests.copy()
    grants = np.minimum(requests, floor if floor * len(requests) <= budget else 0).astype(np.int64)
    left = budget - int(grants.sum())
    active = grants < requests
    while left > 0 and active.any():
        w = np.where(active, weights, 0.0)
        ideal = left * w / w.sum()
        extra = np.minimum(np.floor(ideal).astype(np.int64), requests - grants)
        if extra.sum() == 0:  # hand single tokens out by largest remainder
            order = np.argsort(-(ideal - np.floor(ideal)) - w * 1e-9, kind="stable")
            for p in order[: left]:
                if active[p]:
                    extra[p] = 1
            extra = np.minimum(extra, requests - grants)
        grants += extra
        left -= int(extra.sum())
        active = grants < requests
    return grants
