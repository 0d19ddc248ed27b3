"""How a cycle talks to its student: decoding, the teacher-forced pass and the probe reads.

Three ways, chosen once per engine by what the student can do:

- :class:`PlainReading`, for any :class:`~scalarscope.student.protocol.Student`: decoding from
  prompt ids, the probes read with ``predict_values`` before the update (so the state and the
  automatic transfer describe the parameters the cycle starts from) and trained in the same
  teacher-forced call as the responses.
- :class:`ConcurrentReading`, for a student whose ``reads_concurrently`` is true (the HF student:
  its reads keep no state between calls): the same reads, the reference policy's logits first, on
  the probe worker while this thread runs the update's teacher-forced and backward passes.
- :class:`SharedPromptReading`, for a :class:`~scalarscope.student.protocol.SharedPromptStudent`
  (the GRU): prompts encoded once per cycle; the state probe, the off-policy probes and (when due)
  the transfer set read on the probe worker while this thread runs the update's teacher-forced
  and backward passes (single torch calls that hold no GIL); the probes train the scalar head
  through the student's truncated pass. The step waits for every read (:meth:`finish`, called by
  :func:`~scalarscope.engine.update_stage.apply_step`, the one place the rule lives).

Either way the engine hands over token ids and receives numpy arrays or tensors; it never
touches a student's hidden state. A reading is built from the run context and the automatic
transfer measurement, and each call takes the cycle's frozen stage results.
"""

from __future__ import annotations

from concurrent import futures

import numpy as np
import torch

from scalarscope.engine import _update
from scalarscope.engine._threads import probe_worker
from scalarscope.engine.kl import reference_logits
from scalarscope.evaluators.scalar_head import predicted_scores
from scalarscope.student.protocol import SharedPromptStudent


def reading_for(context, transfer) -> PlainReading:
    """The reading the context's student supports (the fast one where it can)."""
    if isinstance(context.student, SharedPromptStudent):
        return SharedPromptReading(context, transfer)
    if getattr(context.student, "reads_concurrently", False) is True:
        return ConcurrentReading(context, transfer)
    return PlainReading(context, transfer)


class PlainReading:
    """Any student: everything through ``generate``, ``forward`` and ``predict_values``. The fixed
    state probe is read without gradients before the update (5 ms for the tiny GPT-2; riding along
    in the update's teacher-forced pass cost 27 ms, measured with benchmarks/bench_hf_cycle.py)."""

    def __init__(self, context, transfer):
        self.context, self.transfer = context, transfer
        self._state: np.ndarray | None = None
        self._transfer: np.ndarray | None = None  # the transfer set's predictions, when due

    def begin(self, opened) -> None:
        """Called once the cycle's prompts and probes are known."""

    def generate(self, opened, limits: np.ndarray):
        return self.context.student.generate(opened.prompt_ids, opened.row_prompt, limits,
                                             temperature=self.context.config.temperature, generator=opened.generator)

    def start_reads(self, opened, generated, reference) -> None:
        """Read the state probe (and the transfer set when due) with the parameters the cycle
        starts from; the reference policy's logits of the responses are read when first asked for."""
        self._state = state_predictions(self.context)
        self._reference = _Deferred(reference_logits, reference, opened.prompt_ids, opened.row_prompt,
                                    generated.gen.tokens)
        self._transfer = self.transfer.read() if self.transfer.due(opened.index) else None

    def reference_logits(self) -> torch.Tensor:
        """The reference policy's teacher-forced logits [B, T, V] of this cycle's responses (for KL)."""
        return self._reference.result()

    def teacher_forced(self, opened, generated, width: int):
        """Logits [B, T, V] of the responses and values [B + P, width, H] of responses and probes."""
        gen, probe_ids = generated.gen, generated.probe_ids
        pad = self.context.tokenizer.pad_id
        tokens = np.concatenate([pad_ids(gen.tokens, width, pad), pad_ids(probe_ids, width, pad)])
        rows = np.concatenate([opened.row_prompt, generated.probe_prompt])
        logits, values = self.context.student.forward(opened.prompt_ids, rows, tokens)
        return logits[:len(gen.tokens), :gen.tokens.shape[1]], values

    def forward_rows(self, opened, rows: np.ndarray, ids: np.ndarray):
        """A teacher-forced pass (logits, values) over responses ``ids`` to the cycle's prompts
        ``rows``, with the parameters as they are now."""
        return self.context.student.forward(opened.prompt_ids, rows, ids)

    def finish(self) -> None:
        """Wait for every read of the parameters this cycle started from (here: all ran inline)."""

    @property
    def finished(self) -> bool:
        """No read of this cycle's parameters is still running."""
        return True

    def state(self) -> np.ndarray:
        return self._state

    def transfer_predictions(self) -> np.ndarray | None:
        """The transfer set's predictions read this cycle, if due (then forgotten)."""
        out, self._transfer = self._transfer, None
        return out

    def abandon(self) -> None:
        self._state = self._transfer = self._reference = None


class ConcurrentReading(PlainReading):
    """A student safe to read from a second thread while this one trains it: the reference
    policy's logits, the state probe and (when due) the transfer set are read on the probe worker,
    in that order, while this thread runs the teacher-forced and backward passes. Each read is a
    single-threaded torch call on parameters nothing changes before :meth:`finish`, so the numbers
    are those of the plain reading, bit for bit."""

    def __init__(self, context, transfer):
        super().__init__(context, transfer)
        self._reference = self._state_reading = self._transfer_reading = None

    def _futures(self) -> list:
        return [f for f in (self._reference, self._state_reading, self._transfer_reading) if f is not None]

    def start_reads(self, opened, generated, reference) -> None:
        worker = probe_worker()
        self._reference = worker.submit(reference_logits, reference, opened.prompt_ids, opened.row_prompt,
                                        generated.gen.tokens)
        self._state_reading = worker.submit(state_predictions, self.context)
        due = self.transfer.due(opened.index)
        self._transfer_reading = worker.submit(self.transfer.read) if due else None

    def finish(self) -> None:
        for future in self._futures():
            future.result()  # they read the parameters this cycle started from

    @property
    def finished(self) -> bool:
        return all(f.done() for f in self._futures())

    def state(self) -> np.ndarray:
        return self._state_reading.result()

    def transfer_predictions(self) -> np.ndarray | None:
        reading, self._transfer_reading = self._transfer_reading, None
        return None if reading is None else reading.result()

    def abandon(self) -> None:
        futures.wait(self._futures())  # nothing may still read these parameters once the caller moves on
        self._state_reading = self._transfer_reading = self._reference = None


class SharedPromptReading(PlainReading):
    """The GRU's fast path: shared prompt encodings and reads on the probe worker."""

    def __init__(self, context, transfer):
        super().__init__(context, transfer)
        self._states = None
        self._reading = None
        self._transfer_reading = None

    def begin(self, opened) -> None:
        with torch.no_grad():  # encoded once per cycle: generation, probes and the update start from these
            self._states = self.context.student.encode_prompts(opened.prompt_ids + self.context.state_prompt_ids)
        self._state_row = len(opened.prompt_ids)

    def generate(self, opened, limits: np.ndarray):
        return self.context.student.generate(opened.prompt_ids, opened.row_prompt, limits,
                                             temperature=self.context.config.temperature, generator=opened.generator,
                                             prompt_states=self._states)

    def start_reads(self, opened, generated, reference) -> None:
        state_ids = self.context.state_probe
        rows = np.concatenate([np.full(len(state_ids), self._state_row), generated.probe_prompt])
        ids = np.concatenate([state_ids, generated.probe_ids])
        self._reading = probe_worker().submit(self.context.student.read_probes, self._states, rows, ids,
                                              keep_from=len(state_ids))
        self._reference = probe_worker().submit(reference_logits, reference, opened.prompt_ids,
                                                opened.row_prompt, generated.gen.tokens)
        if self.transfer.due(opened.index):
            self._transfer_reading = probe_worker().submit(self.transfer.read)

    def teacher_forced(self, opened, generated, width: int):
        model, gen = self.context.student, generated.gen
        # the trunk learns from the responses; backprop into the prompt encodings costs ~20% for little
        logits, values = model.forward_responses(self._states.detach(), opened.row_prompt, gen.tokens)
        kept = self._reading.result()[1]
        probe_values = model.probe_values(self._states, generated.probe_prompt, kept, generated.probe_ids)
        return logits, torch.cat([_update.pad_values(values, width), _update.pad_values(probe_values, width)])

    def forward_rows(self, opened, rows: np.ndarray, ids: np.ndarray):
        model = self.context.student
        with torch.no_grad():  # as in the update: the trunk learns from the responses, not the prompts
            states = model.encode_prompts(opened.prompt_ids)
        return model.forward_responses(states, rows, ids)

    def finish(self) -> None:
        for future in (self._reading, self._transfer_reading):
            if future is not None:
                future.result()  # they read the parameters this cycle started from

    @property
    def finished(self) -> bool:
        return all(f is None or f.done() for f in (self._reading, self._transfer_reading))

    def state(self) -> np.ndarray:
        n_state, length = self.context.state_probe.shape
        values = self._reading.result()[0][:n_state]
        return predicted_scores(values, np.full(n_state, length))

    def transfer_predictions(self) -> np.ndarray | None:
        reading, self._transfer_reading = self._transfer_reading, None
        return None if reading is None else reading.result()

    def abandon(self) -> None:
        self._reading = self._transfer_reading = self._states = self._reference = None


def state_predictions(context) -> np.ndarray:
    """The internal evaluator's predicted scores [S, H] on the context's fixed state probe, now."""
    from scalarscope.engine.probes import predict_probes

    ids = context.state_probe
    return predict_probes(context, context.state_prompt_ids, np.zeros(len(ids), dtype=int), ids)


class _Deferred:
    """A call made when its result is first asked for (the plain path's stand-in for a future)."""

    def __init__(self, fn, *args):
        self._call, self._done, self._value = (fn, args), False, None

    def result(self):
        if not self._done:
            fn, args = self._call
            self._value, self._done = fn(*args), True
        return self._value


def pad_ids(ids: np.ndarray, width: int, pad: int) -> np.ndarray:
    """Right-pad token rows [B, T] with ``pad`` (or cut) to ``width``."""
    if ids.shape[1] >= width:
        return ids[:, :width]
    return np.pad(ids, ((0, 0), (0, width - ids.shape[1])), constant_values=pad)

