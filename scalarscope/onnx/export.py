"""Export a trained student and its internal evaluator as one ONNX graph (torch side).

The graph is the student's trunk and both heads, for incremental decoding::

    tokens [batch, seq] int64, state [1, batch, width] float32
        -> logits [batch, seq, V], values [batch, seq, H], state_out [1, batch, width]

Position t of ``logits`` and ``values`` is read from the GRU state after token t, as in
``CharStudent.forward_responses``. Batch and sequence axes are dynamic. The model's metadata
(``metadata_props``) carries what a torch-free reader needs: the format version, the alphabet,
the training evaluators' names (one per head output), the holdout, the width and the cycle.
"""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from scalarscope.onnx.conscience import FORMAT, INPUTS, OUTPUTS
from scalarscope.onnx.errors import OnnxModelError
from scalarscope.student.model import CharStudent

OPSET = 17
PARITY_TOLERANCE = 1e-4


class _Graph(nn.Module):
    """The exported computation: embed -> GRU(state) -> policy head (and scalar head)."""

    def __init__(self, student: CharStudent, include_head: bool):
        super().__init__()
        self.student = student
        self.include_head = include_head

    def forward(self, tokens: torch.Tensor, state: torch.Tensor):
        out, state_out = self.student.gru(self.student.embed(tokens), state)
        logits = self.student.policy_head(out)
        if self.include_head:
            return logits, self.student.scalar_head(out), state_out
        return logits, state_out


def export_onnx(source, path, *, include_head: bool = True, evaluator_names=None, check: bool = True) -> Path:
    """Write ``source`` (a ScalarScopeEngine, or a bare CharStudent) to ``path`` as ONNX; returns the path.

    evaluator_names: head names for a bare student (default: the engine's ``train_names``, or
        ``head0, head1, ...``).
    include_head: False leaves the scalar head out (a policy-only graph; OnnxConscience refuses it).
    check: run the written graph in onnxruntime on random sequences and raise
        :class:`OnnxModelError` if it differs from torch by more than 1e-4.
    """
    student = getattr(source, "model", source)
    if not isinstance(student, CharStudent):
        raise OnnxModelError(
            f"export_onnx supports the default GRU student (CharStudent: embed -> GRU -> heads, with a carried state "
            f"that a torch-free reader can step); got {type(student).__name__}. Export a Hugging Face student with "
            "transformers' own ONNX tooling (its scalar head is the linear layer student.scalar_head).")
    names = tuple(evaluator_names if evaluator_names is not None
                  else getattr(source, "train_names", [f"head{i}" for i in range(student.n_heads)]))
    if len(names) != student.n_heads or not all(isinstance(n, str) and n for n in names):
        raise OnnxModelError(f"evaluator_names={list(names)!r} must be {student.n_heads} non-empty strings, "
                             "one per scalar-head output")
    graph = _Graph(student, include_head).eval()
    outputs = list(OUTPUTS) if include_head else ["logits", "state_out"]
    axes = {"tokens": {0: "batch", 1: "seq"}, "state": {1: "batch"}, "state_out": {1: "batch"},
            "logits": {0: "batch", 1: "seq"}, "values": {0: "batch", 1: "seq"}}
    example = (torch.full((2, 5), 3, dtype=torch.long), torch.zeros(1, 2, student.width))
    buffer = io.BytesIO()
    was_training = student.training
    # The TorchScript exporter maps nn.GRU with an explicit initial state onto ONNX's GRU op; the
    # dynamo exporter (torch 2.13) pins the sequence length of the outputs. Its warnings (deprecation,
    # tracer) concern export machinery, not this model, so they are silenced here only.
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(graph, example, buffer, dynamo=False, input_names=list(INPUTS), output_names=outputs,
                          dynamic_axes={k: v for k, v in axes.items() if k in (*INPUTS, *outputs)},
                          opset_version=OPSET)
    student.train(was_training)

    import onnx

    proto = onnx.load_from_string(buffer.getvalue())
    metadata = {"scalarscope_format": FORMAT, "alphabet": student.tokenizer.alphabet,
                "evaluators": json.dumps(list(names) if include_head else []),
                "holdout": json.dumps(getattr(source, "holdout", None)), "width": str(student.width),
                "cycle": str(int(getattr(source, "cycle", 0)))}
    onnx.helper.set_model_props(proto, metadata)
    proto.producer_name, proto.doc_string = "scalarscope", __doc__.splitlines()[0]
    onnx.checker.check_model(proto)

    from scalarscope._atomic import atomic_write

    path = atomic_write(path, lambda handle: handle.write(proto.SerializeToString()))
    if check and include_head:
        try:
            _check_parity(student, path)
        except OnnxModelError:
            path.unlink()
            raise
    return path


@torch.no_grad()
def _check_parity(student: CharStudent, path: Path) -> None:
    """Run a few random sequences through torch and onnxruntime; raise if they disagree."""
    from scalarscope.onnx.conscience import OnnxConscience

    rng = np.random.default_rng(0)
    tokens = student.tokenizer.sample_probes(4, 12, rng)
    state = rng.normal(size=(1, 4, student.width)).astype(np.float32)
    expected = [t.numpy() for t in _Graph(student, True).eval()(torch.from_numpy(tokens), torch.from_numpy(state))]
    got = OnnxConscience(path, threads=1).run(tokens, state)
    worst = max(float(np.abs(a - b).max()) for a, b in zip(expected, got, strict=True))
    if not worst <= PARITY_TOLERANCE:
        raise OnnxModelError(f"exported graph {str(path)!r} differs from torch by {worst:.2e} "
                             f"(> {PARITY_TOLERANCE}); the export is wrong, do not use it")
