"""The token governor: budgets per cycle and per run, and the pool that grants them."""

from scalarscope.governor.config import STRATEGIES, GovernorConfig
from scalarscope.governor.token_pool import LedgerEntry, TokenPool

__all__ = ["STRATEGIES", "GovernorConfig", "LedgerEntry", "TokenPool"]
