"""Evaluator PCA: the true evaluators and the internal heads in one 2-D frame (numpy only)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from scalarscope.geometry._checks import GeometryInputError, as_matrix


@dataclass(frozen=True, eq=False)
class EvaluatorLayout:
    """Where the evaluators sit in the 2-D frame of their correlation structure.

    Attributes:
        names: the n true evaluators.
        vectors: [n, 2] loadings of each evaluator on the two leading components of the correlation
            matrix (its correlation with each component score); length <= 1.
        head_names: the internal evaluator's heads.
        head_vectors: [n_heads, 2] correlation of each head's predictions with the same component
            scores, i.e. the heads projected into the evaluators' frame.
        explained_variance_ratio: [2] share of the correlation matrix's trace on each component.
        first_factor_share: λ1 / Σλ of the correlation matrix (1/n: orthogonal; near 1: one axis).
        eigenvalues: [n] every eigenvalue of the correlation matrix, descending, clipped at 0.
    """

    names: tuple[str, ...]
    vectors: np.ndarray
    head_names: tuple[str, ...]
    head_vectors: np.ndarray
    explained_variance_ratio: np.ndarray
    first_factor_share: float
    eigenvalues: np.ndarray


def _standardise(x: np.ndarray) -> np.ndarray:
    """Columns to zero mean, unit variance (ddof 0); a constant column becomes zeros."""
    centred = x - x.mean(axis=0)
    std = centred.std(axis=0)
    return centred / np.where(std > 0.0, std, 1.0) * (std > 0.0)


def layout_from_scores(
    true_scores: np.ndarray,
    head_predictions: np.ndarray | None = None,
    names: Sequence[str] | None = None,
    head_names: Sequence[str] | None = None,
) -> EvaluatorLayout:
    """Place evaluators (columns of ``true_scores`` [m, n]) and heads ([m, n_heads]) in one frame.

    Every column is standardised over the m probe items; the evaluators are the points of a PCA of
    their correlation matrix R = V Λ V^T (loadings V sqrt(Λ), first two components), and each head
    is placed at its correlation with the two component scores Z V Λ^{-1/2}. Evaluators sharing one
    axis (overlap 0.9) collapse onto the first component; orthogonal ones (overlap 0) spread out.
    Rows with a non-finite value in any column are dropped. Signs: loadings sum to >= 0.
    """
    scores = as_matrix(true_scores, "true_scores", finite=False)
    m, n = scores.shape
    heads = np.zeros((m, 0)) if head_predictions is None else as_matrix(head_predictions, "head_predictions", finite=False)
    if heads.shape[0] != m:
        raise GeometryInputError(f"head_predictions has {heads.shape[0]} rows but true_scores has {m}; use the same probe items.")
    names = tuple(names) if names is not None else tuple(f"evaluator_{i}" for i in range(n))
    head_names = tuple(head_names) if head_names is not None else tuple(f"head_{i}" for i in range(heads.shape[1]))
    if len(names) != n or len(head_names) != heads.shape[1]:
        raise GeometryInputError(f"got {len(names)} names for {n} evaluators and {len(head_names)} head names for {heads.shape[1]} heads.")
    keep = np.isfinite(scores).all(axis=1) & np.isfinite(heads).all(axis=1)
    z, zh = _standardise(scores[keep]), _standardise(heads[keep])
    rows = max(int(keep.sum()), 1)
    eigenvalues, eigenvectors = np.linalg.eigh(z.T @ z / rows)
    order = np.argsort(eigenvalues)[::-1][:2]
    top = np.clip(eigenvalues[order], 0.0, None)
    basis = np.zeros((n, 2))
    basis[:, : top.size] = eigenvectors[:, order]
    spread = np.zeros(2)
    spread[: top.size] = top
    loadings = basis * np.sqrt(spread)
    signs = np.where(loadings.sum(axis=0) < 0.0, -1.0, 1.0)
    loadings, basis = loadings * signs, basis * signs
    factor_scores = z @ basis / np.where(spread > 0.0, np.sqrt(spread), 1.0) * (spread > 0.0)
    head_vectors = zh.T @ factor_scores / rows
    total = float(np.clip(eigenvalues, 0.0, None).sum())
    ratio = spread / total if total > 0.0 else np.zeros(2)
    return EvaluatorLayout(
        names=names,
        vectors=loadings,
        head_names=head_names,
        head_vectors=head_vectors,
        explained_variance_ratio=ratio,
        first_factor_share=float(ratio[0]),
        eigenvalues=np.clip(np.sort(eigenvalues)[::-1], 0.0, None),
    )


