"""The learned critic: a second internal evaluator that reads only logit-derived features.

Per response it summarises the decoding statistics (mean entropy, mean and minimum top-1
probability, mean margin, mean and maximum EOS probability, the share of characters that repeat
the previous one, the share of distinct bigrams, and the length as a share of the limit) and
predicts each training evaluator's score with a ridge regression on exponentially-forgotten
sufficient statistics. Features are standardised with running moments and clipped to +-5, so
extreme inputs cannot blow the weights up; each update solves a small, well-conditioned system.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scalarscope.errors import check_scalar

FEATURE_NAMES = (
    "mean_entropy", "mean_top1", "min_top1", "mean_margin", "mean_eos", "max_eos",
    "repeat_share", "distinct_bigram_share", "length_share",
)


def logit_features(logit_stats: np.ndarray, tokens: np.ndarray, lengths: np.ndarray, used: np.ndarray) -> np.ndarray:
    """Per-response features [B, 9] from per-step stats [B, T, 4], tokens [B, T] and lengths [B]."""
    batch, horizon = tokens.shape[:2]
    active = np.arange(horizon)[None, :] < used[:, None]
    masked = logit_stats * active[..., None]
    means = masked.sum(1) / np.maximum(used, 1)[:, None]  # entropy, top-1, margin, EOS
    min_top1 = np.where(active, logit_stats[..., 1], np.inf).min(1, initial=np.inf)
    body = np.arange(1, horizon)[None, :] < lengths[:, None] if horizon > 1 else np.zeros((batch, 0), bool)
    pairs = np.maximum(lengths - 1, 1)
    # distinct bigrams per row, vectorised: sort each row's codes (-1 outside the body), count changes;
    # a code is first * base + second, unique for any vocabulary (base exceeds every id present)
    base = int(tokens.max(initial=0)) + 1
    codes = np.sort(np.where(body, tokens[:, :-1].astype(np.int64) * base + tokens[:, 1:], -1), axis=1)
    distinct = (codes[:, :1] >= 0).sum(1) + ((codes[:, 1:] != codes[:, :-1]) & (codes[:, 1:] >= 0)).sum(1)
    features = np.empty((batch, len(FEATURE_NAMES)))
    features[:, [0, 1, 3, 4]] = means
    features[:, 2] = np.where(np.isfinite(min_top1), min_top1, 0.0)
    features[:, 5] = masked[..., 3].max(1, initial=0.0)
    features[:, 6] = ((tokens[:, 1:] == tokens[:, :-1]) & body).sum(1) / pairs
    features[:, 7] = distinct / pairs
    features[:, 8] = lengths / max(horizon, 1)
    return _finite(features)


def _finite(x: np.ndarray) -> np.ndarray:
    """``x`` with NaN and infinities replaced by 0 (returned as is when already finite: the usual case)."""
    return x if np.isfinite(x).all() else np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)


@dataclass
class LearnedCritic:
    """Online ridge regression from logit features to ``n_outputs`` evaluator scores in [0, 1].

    forgetting: weight of the past at each update (1.0 never forgets).
    ridge: L2 penalty, in units of (standardised) feature variance.
    """

    n_outputs: int
    n_features: int = len(FEATURE_NAMES)
    forgetting: float = 0.99
    ridge: float = 1.0

    def __post_init__(self) -> None:
        check_scalar(self.n_outputs, "n_outputs", kind=int, min_value=1)
        check_scalar(self.forgetting, "forgetting", min_value=0.5, max_value=1.0)
        check_scalar(self.ridge, "ridge", min_value=0.0, include_min=False)
        d = self.n_features + 1
        self._gram = np.zeros((d, d))
        self._cross = np.zeros((d, self.n_outputs))
        self._count = 0.0
        self._mean = np.zeros(self.n_features)
        self._var = np.ones(self.n_features)
        self.weights = np.zeros((d, self.n_outputs))
        self.weights[-1] = 0.5

    def _design(self, features: np.ndarray) -> np.ndarray:
        z = (_finite(features) - self._mean) / np.sqrt(self._var + 1e-8)
        return np.concatenate([np.clip(z, -5.0, 5.0), np.ones((len(z), 1))], axis=1)

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Predicted scores [B, n_outputs], clipped to [0, 1]."""
        return np.clip(self._design(features) @ self.weights, 0.0, 1.0)

    def update(self, features: np.ndarray, targets: np.ndarray, mask: np.ndarray | None = None, *,
               predicted: np.ndarray | None = None) -> float:
        """One online step on a batch; returns the mean squared error *before* the update.

        predicted: ``predict(features)`` if the caller already has it (saves computing it twice).
        """
        features = np.clip(_finite(np.asarray(features, dtype=np.float64)), -1e6, 1e6)
        targets = np.asarray(targets, dtype=np.float64)
        targets = np.clip(targets if np.isfinite(targets).all() else np.nan_to_num(targets, nan=0.5), 0.0, 1.0)
        error = float(np.mean(((self.predict(features) if predicted is None else predicted) - targets) ** 2))
        # running moments with the same forgetting, so standardisation tracks the policy
        batch_mean, batch_var = features.mean(0), features.var(0)
        keep = self._count * self.forgetting
        total = keep + len(features)
        delta = batch_mean - self._mean
        self._mean = self._mean + delta * len(features) / total
        self._var = (keep * self._var + len(features) * batch_var + delta**2 * keep * len(features) / total) / total
        self._count = min(total, 1e6)
        x = self._design(features)
        y = targets if mask is None else np.where(mask, targets, x @ self.weights)
        self._gram = self.forgetting * self._gram + x.T @ x
        self._cross = self.forgetting * self._cross + x.T @ y
        penalty = self.ridge * np.eye(len(self._gram))
        penalty[-1, -1] = 1e-6  # the intercept is not shrunk
        self.weights = np.linalg.solve(self._gram + penalty, self._cross)
        return error

    def state_dict(self) -> dict:
        return {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in vars(self).items()}

    def load_state_dict(self, state: dict) -> None:
        for key, value in state.items():
            setattr(self, key, value.copy() if isinstance(value, np.ndarray) else value)
