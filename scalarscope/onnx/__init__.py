"""Judgment without evaluators: the student and its internal evaluator as one ONNX graph.

``export_onnx`` (torch side) writes a trained student with its scalar head;
:class:`OnnxConscience` (onnxruntime + numpy only) loads it, scores (prompt, response) pairs the way
the training evaluators would, and generates text with its own self-assessment.

Importing this package imports neither torch nor onnxruntime: names resolve on first use, so a
deployment that has only ``onnxruntime`` can ``from scalarscope.onnx import OnnxConscience``.
"""

from __future__ import annotations

from importlib import import_module

from scalarscope.onnx.errors import OnnxModelError, OnnxModelNotFoundError

_LAZY = {
    "OnnxConscience": "scalarscope.onnx.conscience",
    "ConscienceScore": "scalarscope.onnx.conscience",
    "Generated": "scalarscope.onnx.conscience",
    "FORMAT": "scalarscope.onnx.conscience",
    "export_onnx": "scalarscope.onnx.export",
    "OnnxAgreement": "scalarscope.onnx.agreement",
    "compare_with_engine": "scalarscope.onnx.agreement",
}

__all__ = ["OnnxModelError", "OnnxModelNotFoundError", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'scalarscope.onnx' has no attribute {name!r}")
