"""The English world on the fixture corpus with a tiny pretrained student, and transfer on a
distribution of texts with its interval and null."""

from __future__ import annotations

import os
import warnings

os.environ["HF_HUB_OFFLINE"] = "1"

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from scalarscope.engine.text_transfer import distribution_transfer  # noqa: E402
from scalarscope.errors import (
    ConfigError,  # noqa: E402
    MeasurementWarning,  # noqa: E402
)

FIXTURE = str(Path(__file__).parent / "data" / "english_corpus.txt")
TINY = dict(vocab_size=400, n_layer=1, n_embd=32, n_head=2, n_positions=96, batch_size=16, steps=8, warmup=2)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from scalarscope.student import pretrain_config as pc
    from scalarscope.worlds.english import english_world

    root = tmp_path_factory.mktemp("cache")
    original = pc.cache_dir
    pc.cache_dir = lambda: root
    try:
        yield english_world(0, corpus=FIXTURE, pretrain=pc.PretrainConfig(**TINY))
    finally:
        pc.cache_dir = original


def test_world_shape_prompts_and_natural_texts_are_held_out(world):
    assert world.name == "english" and world.evaluator_names == (
        "vader", "afinn", "textblob", "minilm_sentiment", "common", "spelling")
    assert [e.name for e in world.evaluators()] == list(world.evaluator_names)
    corpus = world.corpus
    prompts = world.prompts()
    assert prompts and all(any(s.startswith(p) for s in corpus.prompt) for p in prompts)
    natural = world.natural_texts(20, seed=1)
    assert len(natural) == 20 and set(natural) <= set(corpus.probe)
    assert not set(natural) & (set(corpus.train) | set(corpus.validation) | set(corpus.prompt))
    assert natural == world.natural_texts(20, seed=1) != world.natural_texts(20, seed=2)
    assert world.engine_config().kl_coef > 0  # the KL penalty is on by default
    with pytest.raises(ConfigError, match="no option"):
        from scalarscope.worlds.english import english_world

        english_world(0, overlap=0.5)


def test_world_engine_trains_with_kl_to_the_pretrained_reference(world):
    engine = world.engine(holdout="vader", batch_size=8, max_new_tokens=8, probe_batch=4, state_probe_size=4,
                          transfer_every=0)
    assert engine.holdout == "vader" and "vader" not in engine.train_names
    assert engine.config.kl_coef == world.engine_config().kl_coef
    engine.run(3, progress=False)
    assert len(engine.history) == 3
    kl = [r.metrics.kl for r in engine.history]
    assert kl[0] == pytest.approx(0.0, abs=1e-6) and all(np.isfinite(kl))  # the reference is the start
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MeasurementWarning)  # three cycles: the head may still predict one value
        out = distribution_transfer(engine, probes=world.natural_texts(40))
        assert out.distribution == "texts" and 30 <= out.n <= 40 and out.holdout == "vader"
        for probes in ("random", "policy"):
            measured = distribution_transfer(engine, 16, probes=probes)
            assert measured.distribution == probes and measured.n >= 3


def test_world_registry_and_lazy_export():
    import scalarscope
    from scalarscope.worlds import get_world

    assert get_world("english").name == "english"
    assert scalarscope.english_world.__name__ == "english_world"


def test_score_rise_compares_windows_that_do_not_overlap():
    from types import SimpleNamespace

    from scalarscope.worlds.english_measures import score_rise

    history = [SimpleNamespace(metrics=SimpleNamespace(mean_score=s)) for s in np.linspace(0.0, 1.0, 20)]
    first, last = score_rise(SimpleNamespace(history=history), window=20)  # 20 cycles: halves of 10
    assert first == pytest.approx(np.linspace(0.0, 1.0, 20)[:10].mean())
    assert last == pytest.approx(np.linspace(0.0, 1.0, 20)[10:].mean())


def test_samples_after_the_engines_prompts_and_their_perplexity(world):
    import torch

    from scalarscope.worlds.english_measures import perplexity_under, sample

    engine = world.engine(holdout="vader", batch_size=8, max_new_tokens=8, probe_batch=4, state_probe_size=4,
                          transfer_probes=16)
    samples = sample(engine.model, engine, 12, seed=1)
    assert len(samples.texts) == 12 and set(samples.prompts) <= set(engine.prompts)
    assert samples.tokens.shape[0] == 12 and samples.tokens.shape[1] <= 8 and (samples.lengths >= 1).all()
    own = perplexity_under(engine.model, samples)
    # oracle: the same mean negative log-likelihood from one teacher-forced pass, summed in numpy
    logits, _ = engine.model.forward(samples.prompt_ids, samples.row_prompt, samples.tokens)
    logp = torch.log_softmax(logits.detach().double(), -1).numpy()
    nll = [-logp[b, t, samples.tokens[b, t]] for b in range(12) for t in range(int(samples.lengths[b]))]
    assert own == pytest.approx(float(np.exp(np.mean(nll))), rel=1e-9)
    assert 1.0 < own < engine.tokenizer.vocab_size
