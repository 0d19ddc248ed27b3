"""The learned critic: learns a real signal like a ridge oracle, and stays finite under abuse."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import Ridge

from scalarscope.critics import FEATURE_NAMES, LearnedCritic, logit_features


def test_critic_learns_a_linear_signal_like_sklearn_ridge():
    rng = np.random.default_rng(0)
    true_w = rng.normal(size=(len(FEATURE_NAMES), 2)) * 0.05
    critic = LearnedCritic(n_outputs=2, forgetting=1.0)
    seen_x, seen_y = [], []
    for _ in range(200):
        x = rng.normal(size=(32, len(FEATURE_NAMES)))
        y = np.clip(0.5 + x @ true_w, 0, 1)
        critic.update(x, y)
        seen_x.append(x)
        seen_y.append(y)
    x_test = rng.normal(size=(2000, len(FEATURE_NAMES)))
    y_test = np.clip(0.5 + x_test @ true_w, 0, 1)
    oracle = Ridge(alpha=1.0).fit(np.concatenate(seen_x), np.concatenate(seen_y))
    ours = np.mean((critic.predict(x_test) - y_test) ** 2)
    constant = np.mean((y_test - y_test.mean(0)) ** 2)
    assert ours < 0.1 * constant
    assert ours <= 2 * np.mean((np.clip(oracle.predict(x_test), 0, 1) - y_test) ** 2) + 1e-4


def test_critic_is_stable_over_10000_extreme_updates():
    rng = np.random.default_rng(1)
    critic = LearnedCritic(n_outputs=3)
    for i in range(10_000):
        scale = 10.0 ** rng.integers(-8, 300)
        x = rng.normal(size=(4, len(FEATURE_NAMES))) * scale
        if i % 97 == 0:
            x[0, 0] = np.inf
        if i % 89 == 0:
            x[1, 2] = np.nan
        y = rng.uniform(size=(4, 3)) if i % 5 else np.full((4, 3), np.nan)
        error = critic.update(x, y)
        assert np.isfinite(error)
    assert np.all(np.isfinite(critic.weights)) and np.abs(critic.weights).max() < 1e3
    prediction = critic.predict(rng.normal(size=(10, len(FEATURE_NAMES))) * 1e200)
    assert np.all((prediction >= 0) & (prediction <= 1))


def test_logit_features_shapes_and_repetition():
    tokens = np.array([[5, 5, 5, 5, 0], [5, 6, 7, 8, 9]])
    stats = np.ones((2, 5, 4)) * 0.5
    feats = logit_features(stats, tokens, lengths=np.array([4, 5]), used=np.array([4, 5]))
    assert feats.shape == (2, len(FEATURE_NAMES))
    repeat = FEATURE_NAMES.index("repeat_share")
    assert feats[0, repeat] == 1.0 and feats[1, repeat] == 0.0


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 12), st.integers(1, 20), st.integers(0, 2**32 - 1))
def test_distinct_bigram_share_matches_a_set_count(batch, horizon, seed):
    rng = np.random.default_rng(seed)
    tokens = rng.integers(3, 6, size=(batch, horizon))  # a small alphabet, so bigrams repeat
    lengths = rng.integers(0, horizon + 1, size=batch)
    feats = logit_features(np.zeros((batch, horizon, 4)), tokens, lengths, lengths)
    share = feats[:, FEATURE_NAMES.index("distinct_bigram_share")]
    for row, n, got in zip(tokens, lengths, share, strict=True):
        pairs = {(int(a), int(b)) for a, b in zip(row[: n - 1], row[1:n], strict=True)} if n > 1 else set()
        assert got == len(pairs) / max(n - 1, 1)
