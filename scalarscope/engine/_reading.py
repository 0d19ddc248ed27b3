"""How a cycle talks to its student: decoding, the teacher-forced pass and the probe reads.

Two ways, chosen once per engine by what the student can do:

- :class:`PlainReading`, for any :class:`~scalarscope.student.protocol.Student`: decoding from
  prompt ids, the probes read with ``predict_values`` before the update (so the state and the
  automatic transfer describe the parameters the cycle starts from) and trained in the same
  teacher-forced call as the responses.
- :class:`SharedPromptReading`, for a :class:`~scalarscope.student.protocol.SharedPromptStudent`
  (the GRU): prompts encoded once per cycle; the state probe, the off-policy probes and (when due)
  the transfer set read on the probe worker while this thread runs the update's teacher-forced
  and backward passes (single torch calls that hold no GIL); the probes train the scalar head
  through the student's truncated pass. The step waits for the transfer read (:meth:`before_step`).

Either way the engine hands over token ids and receives numpy arrays or tensors; it never
touches a student's hidden state.
"""

from __future__ import annotations

import numpy as np
import torch

from scalarscope.engine import _update
from scalarscope.engine._threads import probe_worker
from scalarscope.engine.kl import reference_logits
from scalarscope.evaluators.scalar_head import predicted_scores
from scalarscope.student.protocol import SharedPromptStudent


def reading_for(engine) -> PlainReading:
    """The reading the engine's student supports (the fast one where it can)."""
    shared = isinstance(engine.model, SharedPromptStudent)
    return SharedPromptReading(engine) if shared else PlainReading(engine)


class PlainReading:
    """Any student: everything through ``generate``, ``forward`` and ``predict_values``. The fixed
    state probe is read without gradients before the update (5 ms for the tiny GPT-2; riding along
    in the update's teacher-forced pass cost 27 ms, measured with benchmarks/bench_hf_cycle.py)."""

    def __init__(self, engine):
        self.engine = engine
        self._state: np.ndarray | None = None
        self._transfer: np.ndarray | None = None  # the transfer set's predictions, when due

    def begin(self, cycle) -> None:
        """Called once the cycle's prompts and probes are known."""

    def generate(self, cycle):
        cfg = self.engine.config
        return self.engine.model.generate(cycle.prompt_ids, cycle.row_prompt, cycle.limits,
                                          temperature=cfg.temperature, generator=cycle.generator)

    def start_reads(self, cycle) -> None:
        """Read the state probe (and the transfer set when due) with the parameters the cycle
        starts from; the reference policy's logits of the responses are read when first asked for."""
        engine = self.engine
        self._state = engine.state_probe_predictions()
        self._reference = _Deferred(reference_logits, engine.reference, cycle.prompt_ids, cycle.row_prompt,
                                    cycle.gen.tokens)
        self._transfer = engine._transfer.read() if engine._transfer.due(cycle.index) else None

    def reference_logits(self) -> torch.Tensor:
        """The reference policy's teacher-forced logits [B, T, V] of this cycle's responses (for KL)."""
        return self._reference.result()

    def teacher_forced(self, cycle, width: int):
        """Logits [B, T, V] of the responses and values [B + P, width, H] of responses and probes."""
        gen, probe_ids = cycle.gen, cycle.probe_ids
        pad = self.engine.tokenizer.pad_id
        tokens = np.concatenate([pad_ids(gen.tokens, width, pad), pad_ids(probe_ids, width, pad)])
        rows = np.concatenate([cycle.row_prompt, cycle.probe_prompt])
        logits, values = self.engine.model.forward(cycle.prompt_ids, rows, tokens)
        return logits[:len(gen.tokens), :gen.tokens.shape[1]], values

    def forward_rows(self, cycle, rows: np.ndarray, ids: np.ndarray):
        """A teacher-forced pass (logits, values) over responses ``ids`` to the cycle's prompts
        ``rows``, with the parameters as they are now."""
        return self.engine.model.forward(cycle.prompt_ids, rows, ids)

    def before_step(self) -> None:
        """Nothing runs beside the update."""

    def state(self) -> np.ndarray:
        return self._state

    def transfer_predictions(self) -> np.ndarray | None:
        """The transfer set's predictions read this cycle, if due (then forgotten)."""
        out, self._transfer = self._transfer, None
        return out

    def abandon(self) -> None:
        self._state = self._transfer = self._reference = None


class SharedPromptReading(PlainReading):
    """The GRU's fast path: shared prompt encodings and reads on the probe worker."""

    def __init__(self, engine):
        super().__init__(engine)
        self._states = None
        self._reading = None
        self._transfer_reading = None

    def begin(self, cycle) -> None:
        with torch.no_grad():  # encoded once per cycle: generation, probes and the update start from these
            self._states = self.engine.model.encode_prompts(cycle.prompt_ids + self.engine._state_prompt_ids)
        self._state_row = len(cycle.prompt_ids)

    def generate(self, cycle):
        cfg = self.engine.config
        return self.engine.model.generate(cycle.prompt_ids, cycle.row_prompt, cycle.limits,
                                          temperature=cfg.temperature, generator=cycle.generator,
                                          prompt_states=self._states)

    def start_reads(self, cycle) -> None:
        engine = self.engine
        state_ids = engine._state_probe
        rows = np.concatenate([np.full(len(state_ids), self._state_row), cycle.probe_prompt])
        ids = np.concatenate([state_ids, cycle.probe_ids])
        self._reading = probe_worker().submit(engine.model.read_probes, self._states, rows, ids,
                                              keep_from=len(state_ids))
        self._reference = probe_worker().submit(reference_logits, engine.reference, cycle.prompt_ids,
                                                cycle.row_prompt, cycle.gen.tokens)
        if engine._transfer.due(cycle.index):
            self._transfer_reading = probe_worker().submit(engine._transfer.read)

    def teacher_forced(self, cycle, width: int):
        model, gen = self.engine.model, cycle.gen
        # the trunk learns from the responses; backprop into the prompt encodings costs ~20% for little
        logits, values = model.forward_responses(self._states.detach(), cycle.row_prompt, gen.tokens)
        kept = self._reading.result()[1]
        probe_values = model.probe_values(self._states, cycle.probe_prompt, kept, cycle.probe_ids)
        return logits, torch.cat([_update.pad_values(values, width), _update.pad_values(probe_values, width)])

    def forward_rows(self, cycle, rows: np.ndarray, ids: np.ndarray):
        model = self.engine.model
        with torch.no_grad():  # as in the update: the trunk learns from the responses, not the prompts
            states = model.encode_prompts(cycle.prompt_ids)
        return model.forward_responses(states, rows, ids)

    def before_step(self) -> None:
        if self._transfer_reading is not None:
            self._transfer_reading.result()  # it reads the parameters this cycle started from

    def state(self) -> np.ndarray:
        n_state, length = self.engine._state_probe.shape
        values = self._reading.result()[0][:n_state]
        return predicted_scores(values, np.full(n_state, length))

    def transfer_predictions(self) -> np.ndarray | None:
        reading, self._transfer_reading = self._transfer_reading, None
        return None if reading is None else reading.result()

    def abandon(self) -> None:
        self._reading = self._transfer_reading = self._states = self._reference = None


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

