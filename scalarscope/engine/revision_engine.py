"""RevisionScalarScopeEngine: the engine with the revision stage on (a thin alias, kept for
compatibility): ``RevisionScalarScopeEngine(..., revision=cfg)`` is
``ScalarScopeEngine(..., revision=cfg)`` with ``RevisionConfig()`` as the default. The stage itself
is :mod:`scalarscope.engine.revision_stage`; its decisions are :mod:`scalarscope.engine.revision`.
"""

from __future__ import annotations

from scalarscope.engine.loop import ScalarScopeEngine
from scalarscope.engine.revision import RevisionConfig
from scalarscope.governor import TokenPool


class RevisionScalarScopeEngine(ScalarScopeEngine):
    """:class:`ScalarScopeEngine` that rewrites drafts its internal evaluator predicts weak.

    revision: a :class:`RevisionConfig` (threshold, rounds, targeting, pair-loss weight); default
    ``RevisionConfig()``. The revision token share is the pool's ``GovernorConfig.revision_share``;
    without a ``token_pool`` the engine builds one that keeps the drafts' full budget and adds
    ``DEFAULT_REVISION_SHARE`` of the cycle for revisions. Other arguments as the base engine.
    """

    def __init__(self, model=None, evaluators=None, token_pool: TokenPool | None = None, *,
                 revision: RevisionConfig | None = None, **kwargs):
        super().__init__(model, evaluators, token_pool, revision=RevisionConfig() if revision is None else revision,
                         **kwargs)

    @property
    def revision_config(self) -> RevisionConfig:
        return self.revision.config
