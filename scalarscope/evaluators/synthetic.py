"""Synthetic evaluators whose overlap is an exact knob.

A :class:`LatentFeatures` fixes a feature map phi: (previous character, character) -> R^k: a
per-character main effect plus an interaction with the previous character (``context_share`` of
the variance). The interaction table is double-centred (zero mean over either character under
uniform text), the main effect centred, and the sum whitened, so
on uniformly random text phi has mean 0 and identity covariance, and features of neighbouring
positions are uncorrelated. Evaluator i has the unit direction
``w_i = sqrt(rho) * s + sqrt(1 - rho) * u_i`` (s and the u_i orthonormal), gives token ``t`` of an
``L``-character response the feedback ``w_i . phi_t / sqrt(L)`` and scores the response
``sigmoid(gain * sum_t feedback + noise)``. Two evaluators' logits on random text therefore
correlate at exactly rho in expectation; the squashing changes that by well under 0.05.
The first response character's "previous character" is the prompt's last one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from scalarscope._numeric import sigmoid
from scalarscope.charset import BOS, CharTokenizer
from scalarscope.errors import ConfigError, EvaluatorError, check_scalar, check_seed
from scalarscope.export.records import CRITERIA  # the five criteria the Desktop viewer shows

# The feature table holds latent_dim x vocab^2 numbers and is whitened in O(latent_dim^3): 64
# evaluators build in ~0.2 s, 128 in ~4 s, 10,000 in minutes. More than this is refused.
MAX_EVALUATORS = 64
MAX_LATENT_DIM = 128


@dataclass(frozen=True, eq=False)
class LatentFeatures:
    """The shared feature map phi and latent axes of a family of synthetic evaluators."""

    latent_dim: int
    seed: int
    context_share: float = 0.02
    tokenizer: CharTokenizer = field(default_factory=CharTokenizer)
    features: np.ndarray = field(init=False, repr=False)  # [V, V, k]: phi(prev, cur)
    basis: np.ndarray = field(init=False, repr=False)  # [k, k] orthonormal columns: s, u_1, u_2, ...

    def __post_init__(self) -> None:
        check_scalar(self.latent_dim, "latent_dim", kind=int, min_value=2, max_value=MAX_LATENT_DIM)
        check_seed(self.seed)
        check_scalar(self.context_share, "context_share", min_value=0.0, max_value=1.0)
        rng = np.random.default_rng([abs(int(self.seed)), 0x5CA1])
        vocab, k = self.tokenizer.vocab_size, self.latent_dim
        chars = np.arange(3, vocab)
        # a per-character main effect plus a (prev, cur) interaction carrying `context_share` of the variance
        main = rng.standard_normal((len(chars), k))
        main -= main.mean(axis=0)
        pair = rng.standard_normal((len(chars), len(chars), k))
        pair -= pair.mean(axis=0, keepdims=True)
        pair -= pair.mean(axis=1, keepdims=True)
        main /= np.sqrt((main**2).mean())
        pair /= np.sqrt((pair**2).mean())
        raw = np.sqrt(1.0 - self.context_share) * main[None, :, :] + np.sqrt(self.context_share) * pair
        cov = np.einsum("abk,abl->kl", raw, raw) / (len(chars) ** 2)
        eigval, eigvec = np.linalg.eigh(cov)
        whitened = raw @ (eigvec / np.sqrt(eigval)) @ eigvec.T
        table = np.zeros((vocab, vocab, k))
        table[np.ix_(chars, chars)] = whitened
        table[BOS, chars] = whitened[0]  # an empty prompt reads as if it ended in the first character
        basis, _ = np.linalg.qr(rng.standard_normal((k, k)))
        object.__setattr__(self, "features", table)
        object.__setattr__(self, "basis", basis)

    def direction(self, index: int, overlap: float) -> np.ndarray:
        """Unit preference direction of evaluator ``index`` at overlap rho."""
        if index + 1 >= self.latent_dim:
            raise ConfigError(f"latent_dim={self.latent_dim} leaves no private axis for evaluator {index}")
        return math.sqrt(overlap) * self.basis[:, 0] + math.sqrt(1.0 - overlap) * self.basis[:, index + 1]

    def phi(self, prompt_ids: Sequence[np.ndarray], response_ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Features [B, T, k] of each response token (zero past a row's length)."""
        response_ids = np.asarray(response_ids)
        last = np.array([ids[-1] if len(ids) else BOS for ids in prompt_ids], dtype=np.int64)
        previous = np.concatenate([last[:, None], response_ids[:, :-1]], axis=1)
        feats = self.features[previous, response_ids]
        mask = np.arange(response_ids.shape[1])[None, :] < np.asarray(lengths)[:, None]
        return feats * mask[..., None]

    def score_batch(
        self, evaluators: Sequence[SyntheticEvaluator], prompt_ids, response_ids, lengths
    ) -> tuple[np.ndarray, np.ndarray]:
        """Sequence scores [B, n] and token feedback [B, T, n] of several evaluators at once."""
        lengths = np.asarray(lengths)
        weights = np.stack([e.direction for e in evaluators], axis=1)  # [k, n]
        scale = 1.0 / np.sqrt(np.maximum(lengths, 1))
        token_feedback = (self.phi(prompt_ids, response_ids, lengths) @ weights) * scale[:, None, None]
        logits = token_feedback.sum(axis=1) * np.array([e.gain for e in evaluators])
        noise = np.zeros_like(logits)
        for j, e in enumerate(evaluators):
            if e.noise > 0:
                noise[:, j] = e.noise * np.random.default_rng([e.seed_offset, *lengths[:4].tolist()]).standard_normal(len(lengths))
        return sigmoid(logits + noise), token_feedback


@dataclass(frozen=True, eq=False)
class SyntheticEvaluator:
    """One evaluator of a :class:`LatentFeatures`; callable on strings, batched on token ids."""

    name: str
    latent: LatentFeatures
    index: int
    overlap: float
    gain: float = 1.0
    noise: float = 0.0
    seed_offset: int = 0
    has_token_scores = True

    @property
    def direction(self) -> np.ndarray:
        return self.latent.direction(self.index, self.overlap)

    def _encode(self, prompt: str, response: str):
        tok = self.latent.tokenizer
        ids = tok.encode(response, what=f"response given to evaluator {self.name!r}")
        return [tok.encode(prompt, what="prompt")], ids[None], np.array([len(ids)])

    def __call__(self, prompt: str, response: str) -> float:
        seq, _ = self.latent.score_batch([self], *self._encode(prompt, response))
        return float(seq[0, 0])

    def token_scores(self, prompt: str, response: str) -> np.ndarray:
        """Feedback per response character; sums to the pre-squash logit (divided by ``gain``)."""
        _, tok = self.latent.score_batch([self], *self._encode(prompt, response))
        return tok[0, :, 0]


class EvaluatorSet(tuple):
    """A tuple of evaluators that also remembers the overlap it was built with."""

    overlap: float
    latent: LatentFeatures | None

    def __new__(cls, evaluators, *, overlap: float = float("nan"), latent: LatentFeatures | None = None):
        obj = super().__new__(cls, evaluators)
        obj.overlap = overlap
        obj.latent = latent
        return obj

    def __getnewargs_ex__(self):
        return (tuple(self),), {"overlap": self.overlap, "latent": self.latent}

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self)

    def __getitem__(self, key):
        if isinstance(key, str):
            for e in self:
                if e.name == key:
                    return e
            raise EvaluatorError(f"no evaluator named {key!r}; known: {list(self.names)}")
        return super().__getitem__(key)


def correlated_evaluators(
    n: int = 5,
    overlap: float = 0.5,
    *,
    seed: int = 0,
    names: Sequence[str] | None = None,
    latent_dim: int | None = None,
    context_share: float = 0.02,
    gain: float = 1.0,
    noise: float = 0.0,
) -> EvaluatorSet:
    """``n`` synthetic evaluators sharing one latent axis with weight ``overlap`` (rho in [0, 1]).

    rho = 0 gives orthogonal evaluators (Path A); rho near 1 nearly identical ones (Path B).
    Names default to the five criteria of the Desktop viewer, then ``evaluator_5``, ...
    """
    check_scalar(n, "n", kind=int, min_value=1, max_value=MAX_EVALUATORS,
                 hint=f"Ask for 1 to {MAX_EVALUATORS} evaluators.")
    check_seed(seed)
    check_scalar(overlap, "overlap", min_value=0.0, max_value=1.0, hint="Overlap rho is a share in [0, 1].")
    check_scalar(gain, "gain", min_value=0.0, include_min=False)
    check_scalar(noise, "noise", min_value=0.0)
    if names is None:
        names = [CRITERIA[i] if i < len(CRITERIA) else f"evaluator_{i}" for i in range(n)]
    if len(names) != n:
        raise ConfigError(f"names has {len(names)} entries but n={n}; give one name per evaluator")
    latent = LatentFeatures(latent_dim=latent_dim or max(8, n + 1), seed=seed, context_share=context_share)
    members = [
        SyntheticEvaluator(str(name), latent, i, float(overlap), gain, noise, seed_offset=seed * 1000 + i)
        for i, name in enumerate(names)
    ]
    return EvaluatorSet(members, overlap=float(overlap), latent=latent)

