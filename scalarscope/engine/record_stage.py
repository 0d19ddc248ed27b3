"""The record stage: a cycle's frozen :class:`CycleRecord` from the earlier stages' results (the
engine then adds what spans cycles: geometry, pending failures, timing)."""

from __future__ import annotations

from scalarscope.engine._metrics import cycle_metrics, cycle_status
from scalarscope.engine.context import RunContext
from scalarscope.engine.records import CycleRecord, FailureEvent, TrainingMetrics, frozen_array
from scalarscope.engine.stages import Evaluated, Generated, Opened
from scalarscope.engine.update_stage import CriticResult, Updated
from scalarscope.governor import TokenPool


def record(context: RunContext, pool: TokenPool, reader, transfer, opened: Opened, generated: Generated,
           evaluated: Evaluated, updated: Updated, critic: CriticResult) -> CycleRecord:
    """Close the ledger and record the cycle: metrics, the state and transfer read as it began."""
    gen = generated.gen
    entry = pool.close_cycle(generated.draft_used, generated.revision_used)
    metrics = cycle_metrics(table=evaluated.table, train_cols=context.train_cols, names=context.evaluator_names,
                            predicted=generated.predicted, critic_predicted=critic.predicted, lengths=gen.lengths,
                            losses=updated.losses.as_dict(), critic_loss=critic.loss, entry=entry)
    state, measured = reader.state(), transfer.summarize(reader.transfer_predictions(), opened.index)
    failures = evaluated.failures + updated.failures
    status = cycle_status(failures, evaluators_failed=updated.evaluators_failed)
    return CycleRecord(opened.index, status, opened.prompts, evaluated.responses[0] if evaluated.responses else "",
                       metrics, entry, frozen_array(state.ravel()), failures, measured, updated.revision)


def record_exhausted(context: RunContext, pool: TokenPool, transfer, opened: Opened) -> CycleRecord:
    """A cycle that was granted no tokens: nothing generated, scored or trained (NaN, not 0)."""
    from scalarscope.engine._reading import state_predictions

    entry = pool.close_cycle(0)
    failure = FailureEvent(opened.index, "budget_exhausted", "warning",
                           f"no tokens granted (run spent {pool.spent_total} of "
                           f"{pool.config.max_tokens_total}); cycle skipped")
    state = frozen_array(state_predictions(context).ravel())  # as the cycle began: nothing changes it
    measured = transfer.summarize(transfer.read(), opened.index) if transfer.due(opened.index) else None
    metrics = TrainingMetrics.not_measured(tokens_refused=entry.refused)
    return CycleRecord(opened.index, "budget_exhausted", opened.prompts, "", metrics, entry, state, (failure,),
                       measured)
