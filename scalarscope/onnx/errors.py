"""Errors of the ONNX conscience (torch-free), in the package's vocabulary."""

from __future__ import annotations

from scalarscope.errors import ScalarScopeError


class OnnxModelError(ScalarScopeError, ValueError):
    """An ONNX file is corrupt, not a ScalarScope export, or lacks the internal evaluator."""


class OnnxModelNotFoundError(ScalarScopeError, FileNotFoundError):
    """An ONNX file that was asked for does not exist."""
