"""The governor panel: token budget sliders and a strategy toggle over a live TokenPool."""

from __future__ import annotations

import ipywidgets as widgets

from scalarscope.errors import ConfigError, check_scalar
from scalarscope.governor import GovernorConfig, TokenPool
from scalarscope.governor.config import STRATEGIES
from scalarscope.widgets._view import Panel


class GovernorPanel(Panel):
    """Sliders for ``max_tokens_per_cycle`` and ``revision_share`` and a fixed/adaptive toggle.

    Every change goes to ``pool.update(...)``, so it takes effect at the next cycle (the pool
    switches configs when it opens a cycle). ``refresh()`` redraws the ledger table (granted,
    used, refused per cycle, last ``last`` cycles); the training dashboard calls it every frame.
    Give the engine this panel's ``pool`` (or build the panel on ``engine.token_pool``).
    """

    def __init__(self, pool: TokenPool | None = None, *, last: int = 6):
        check_scalar(last, "last", kind=int, min_value=1)
        self.pool = pool if pool is not None else TokenPool(GovernorConfig())
        if not isinstance(self.pool, TokenPool):
            raise ConfigError(f"pool must be a TokenPool, got {type(pool).__name__}; e.g. TokenPool(GovernorConfig())")
        self.last = last
        pending = self.pool.update()  # the config the next cycle will use
        self.tokens_slider = widgets.IntSlider(
            value=pending.max_tokens_per_cycle, min=16, max=max(2048, pending.max_tokens_per_cycle), step=16,
            description="tokens / cycle", continuous_update=False, style={"description_width": "initial"})
        self.revision_slider = widgets.FloatSlider(
            value=pending.revision_share, min=0.0, max=0.9, step=0.05, description="revision share",
            readout_format=".2f", continuous_update=False, style={"description_width": "initial"})
        self.strategy_toggle = widgets.ToggleButtons(options=list(STRATEGIES), value=pending.budget_strategy,
                                                     description="strategy")
        self.status = widgets.HTML()
        self.ledger_view = widgets.HTML()
        # one handler per control
        self.tokens_slider.observe(self._on_tokens, names="value")
        self.revision_slider.observe(self._on_revision, names="value")
        self.strategy_toggle.observe(self._on_strategy, names="value")
        self._describe(pending)
        self.refresh()
        self.widget = widgets.VBox([
            widgets.HBox([self.tokens_slider, self.revision_slider]), self.strategy_toggle, self.status,
            self.ledger_view])
        self.widget.add_class("scalarscope-governor-panel")

    @property
    def pending(self) -> GovernorConfig:
        """The config the next cycle will use."""
        return self.pool.update()

    def refresh(self) -> None:
        """Redraw the ledger table from ``pool.ledger``."""
        entries = self.pool.ledger[-self.last:]
        if not entries:
            self.ledger_view.value = "<i>no cycles yet: the ledger fills as the engine runs</i>"
            return
        cells = "".join(
            f"<tr><td>{e.cycle}</td><td>{e.granted}</td><td>{e.used}</td><td>{e.refused}</td>"
            f"<td>{e.revision_used} / {e.revision_granted}</td></tr>" for e in reversed(entries))
        self.ledger_view.value = (
            "<table style='font-variant-numeric:tabular-nums;border-collapse:collapse'>"
            "<tr><th>cycle</th><th>granted</th><th>used</th><th>refused</th><th>revision used / granted</th></tr>"
            f"{cells}</table><span style='color:#888'>spent in this run: {self.pool.spent_total} tokens</span>")

    # -- handlers -------------------------------------------------------------------------------------
    def _on_tokens(self, change) -> None:
        self._apply(max_tokens_per_cycle=int(change["new"]))

    def _on_revision(self, change) -> None:
        self._apply(revision_share=float(change["new"]))

    def _on_strategy(self, change) -> None:
        self._apply(budget_strategy=change["new"])

    def _apply(self, **changes) -> None:
        try:
            pending = self.pool.update(**changes)
        except ConfigError as error:
            self.status.value = f"<span style='color:#c0392b'>not applied: {error}</span>"
            return
        self._describe(pending)

    def _describe(self, pending: GovernorConfig) -> None:
        self.status.value = (
            f"next cycle: <b>{pending.max_tokens_per_cycle}</b> tokens ({pending.draft_tokens} for drafts, "
            f"{pending.revision_tokens} for revisions), <b>{pending.budget_strategy}</b> split")
