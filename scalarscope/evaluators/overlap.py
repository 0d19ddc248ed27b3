"""Evaluator overlap analysis: do these evaluators share a latent evaluative axis?

Scores every evaluator on the same probe responses and reads the structure of their
*correlation* matrix (the covariance would confuse an evaluator's scale with shared structure):
pairwise correlations and their mean, the share of the first factor (top eigenvalue over the
trace), the participation-ratio effective dimension, 2-D loadings for an evaluator PCA, and a
verdict. The eigen-decomposition is :func:`scalarscope.geometry.layout_from_scores`, the same
evaluator PCA the engine's layout and the Desktop export use (checked against numpy's and
scikit-learn's in the tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from scalarscope.charset import CharTokenizer
from scalarscope.errors import EvaluatorError, check_scalar
from scalarscope.evaluators.base import check_evaluators, score_responses

PROBE_PROMPTS = ("rate this answer:", "explain the result.", "is the claim correct?", "give a short verdict:")


@dataclass(frozen=True)
class OverlapReport:
    """Structure of a set of evaluators on a probe set.

    correlation: [n, n] Pearson correlations of the evaluators' scores.
    first_factor_share: top eigenvalue of the correlation matrix / n (1/n when orthogonal, 1 when identical).
    effective_dimension: (sum lambda)^2 / sum lambda^2 of the correlation matrix, in [1, n].
    loadings: [n, 2] each evaluator's loading on the first two principal axes (sign fixed so the
        first axis points the way most evaluators do).
    verdict: "shared structure" when the first factor explains clearly more than chance
        (share > max(0.5, 2/n)), else "no shared structure".
    """

    names: tuple[str, ...]
    correlation: np.ndarray
    mean_correlation: float
    first_factor_share: float
    effective_dimension: float
    eigenvalues: np.ndarray
    loadings: np.ndarray
    verdict: str
    n_probes: int

    @property
    def shared(self) -> bool:
        return self.verdict == "shared structure"

    def __repr__(self) -> str:
        return (f"OverlapReport({len(self.names)} evaluators, mean correlation {self.mean_correlation:+.2f}, "
                f"first factor {self.first_factor_share:.0%}, effective dimension {self.effective_dimension:.2f}, "
                f"{self.verdict!r}, {self.n_probes} probes)")


def probe_scores(evaluators: Sequence[object], *, n_probes: int = 2000, length: int = 16, seed: int = 0,
                 tokenizer: CharTokenizer | None = None) -> np.ndarray:
    """Scores [n_probes, n] of each evaluator on uniformly random probe responses."""
    tok = tokenizer or CharTokenizer()
    evaluators = check_evaluators(evaluators)
    rng = np.random.default_rng([abs(int(seed)), 11])
    ids = tok.sample_probes(n_probes, length, rng)
    prompt_index = rng.integers(len(PROBE_PROMPTS), size=n_probes)
    prompt_ids = [tok.encode(p) for p in PROBE_PROMPTS]
    lengths = np.full(n_probes, length)
    table = score_responses(evaluators, [PROBE_PROMPTS[i] for i in prompt_index], tok.decode_batch(ids, lengths),
                            prompt_ids=[prompt_ids[i] for i in prompt_index], response_ids=ids, lengths=lengths,
                            tokenizer=tok)
    if table.failures:
        name, problem = table.failures[0]
        raise EvaluatorError(f"evaluator {name!r} {problem}; overlap analysis needs finite scores in [0, 1]")
    return table.sequence


def analyze_scores(scores: np.ndarray, names: Sequence[str]) -> OverlapReport:
    """Overlap analysis of a score matrix [n_probes, n_evaluators]."""
    from scalarscope.geometry import layout_from_scores

    scores = np.asarray(scores, dtype=np.float64)
    n_probes, n = scores.shape
    if n < 1 or n_probes < 3:
        raise EvaluatorError(f"need at least 1 evaluator and 3 probes, got scores of shape {scores.shape}")
    constant = [names[i] for i in range(n) if np.ptp(scores[:, i]) == 0]
    if constant:
        raise EvaluatorError(f"evaluator(s) {constant} gave the same score to every probe; no structure to read")
    layout = layout_from_scores(scores, names=names)
    eigenvalues, loadings = layout.eigenvalues, layout.vectors  # of the correlation matrix
    correlation = np.corrcoef(scores, rowvar=False).reshape(n, n)
    off = correlation[~np.eye(n, dtype=bool)]
    share = float(eigenvalues[0] / eigenvalues.sum())
    eff_dim = float(eigenvalues.sum() ** 2 / (eigenvalues**2).sum())
    verdict = "shared structure" if n > 1 and share > max(0.5, 2.0 / n) else "no shared structure"
    return OverlapReport(tuple(names), correlation, float(off.mean()) if n > 1 else 1.0, share, eff_dim,
                         eigenvalues, loadings, verdict, n_probes)


def analyze_overlap(evaluators: Sequence[object], *, n_probes: int = 2000, seed: int = 0) -> OverlapReport:
    """Score ``evaluators`` on ``n_probes`` random responses and analyse their overlap."""
    check_scalar(n_probes, "n_probes", kind=int, min_value=3)
    evaluators = check_evaluators(evaluators)
    return analyze_scores(probe_scores(evaluators, n_probes=n_probes, seed=seed), [e.name for e in evaluators])
