"""The student's internal evaluator (its scalar head): predictions and the loss that trains it.

The head gives each response token a value per training evaluator; the predicted sequence score
of evaluator ``i`` is ``sigmoid(sum_t values[t, i])``, mirroring how the evaluators themselves turn
token-level feedback into a score. It is trained by regression on both levels: token values
against the evaluators' token feedback (where they give it) and squashed sums against their
sequence scores.
"""

from __future__ import annotations

import numpy as np
import torch

from scalarscope._numeric import sigmoid


def predicted_scores(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Sequence predictions [B, H] in [0, 1] from token values [B, T, H] (masked by ``lengths``)."""
    mask = np.arange(values.shape[1])[None, :] < np.asarray(lengths)[:, None]
    logits = (values * mask[..., None]).sum(axis=1)
    return sigmoid(logits)


def head_loss(
    values: torch.Tensor,
    lengths: np.ndarray,
    target_scores: np.ndarray,
    target_tokens: np.ndarray,
    has_tokens: np.ndarray,
    valid: np.ndarray,
) -> torch.Tensor:
    """Regression loss of the scalar head.

    values [B, T, H] (with grad), lengths [B], target_scores [B, H], target_tokens [B, T, H],
    has_tokens [H] bool, valid [B, H] bool (False where the evaluator failed on that response).
    Token errors are scaled by the mean length so both levels weigh alike (token feedback has
    variance ~1/L).
    """
    horizon, device = values.shape[1], values.device
    mask = torch.from_numpy(np.arange(horizon)[None, :] < np.asarray(lengths)[:, None]).to(device)
    valid_t = torch.from_numpy(np.asarray(valid, dtype=bool)).to(device)
    masked = values * mask[..., None]
    predicted = torch.sigmoid(masked.sum(dim=1))
    seq_err = (predicted - torch.from_numpy(target_scores).float().to(device)) ** 2
    loss = (seq_err * valid_t).sum() / valid_t.sum().clamp_min(1)
    token_valid = valid_t & torch.from_numpy(np.asarray(has_tokens, dtype=bool)).to(device)[None, :]
    if bool(token_valid.any()):
        tok_err = (masked - torch.from_numpy(target_tokens[:, :horizon]).float().to(device)) ** 2
        weight = mask[..., None] & token_valid[:, None, :]
        mean_len = float(np.mean(np.maximum(lengths, 1)))
        loss = loss + mean_len * (tok_err * weight).sum() / weight.sum().clamp_min(1)
    return loss


MIN_CORR_POINTS = 3  # finite pairs a correlation needs


def safe_corr(a: np.ndarray, b: np.ndarray, *, what: str = "correlation",
              sides: tuple[str, str] = ("the first series", "the second series")) -> float:
    """Pearson correlation over the pairs where both sides are finite.

    NaN, with a :class:`~scalarscope.errors.MeasurementWarning` naming ``what``, when fewer than
    :data:`MIN_CORR_POINTS` pairs are finite or either side is constant over them: such a
    correlation was not measured, and 0 would read as "measured, unrelated". ``sides`` name the
    two series in the warning.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < MIN_CORR_POINTS:
        return _unmeasured(what, f"only {int(ok.sum())} finite pair(s), at least {MIN_CORR_POINTS} needed")
    a, b = a[ok] - a[ok].mean(), b[ok] - b[ok].mean()
    norm_a, norm_b = np.sqrt((a * a).sum()), np.sqrt((b * b).sum())
    if norm_a <= 1e-12 or norm_b <= 1e-12:
        side = sides[0] if norm_a <= 1e-12 else sides[1]
        return _unmeasured(what, f"{side} is constant over {int(ok.sum())} values")
    return float(np.clip((a * b).sum() / (norm_a * norm_b), -1.0, 1.0))


def _unmeasured(what: str, reason: str) -> float:
    import warnings

    from scalarscope.errors import MeasurementWarning

    warnings.warn(f"{what} not measured: {reason}; it is NaN, not 0", MeasurementWarning, stacklevel=3)
    return float("nan")
