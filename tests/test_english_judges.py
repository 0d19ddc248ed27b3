"""The English world's sentiment judges against their libraries' own scores (independent oracles)."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"

import math  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from scalarscope.errors import ConfigError  # noqa: E402
from scalarscope.evaluators import score_responses  # noqa: E402
from scalarscope.evaluators.judges import AfinnJudge, MiniLMSentimentJudge, TextBlobJudge, english_judges  # noqa: E402

SENTENCES = ["What a lovely, generous and wonderful gift.", "You are a stupid, worthless liar and I hate you.",
             "The train leaves at nine from platform four.", "I am so happy and grateful for my good friends.",
             "This is a terrible, ugly and painful mess.", "the boats were held together by lashings."]


def test_afinn_judge_is_afinns_own_score_squashed():
    from afinn import Afinn

    oracle = Afinn()
    judge = AfinnJudge()
    scores = judge.score_batch([""] * len(SENTENCES), SENTENCES)
    for text, score in zip(SENTENCES, scores, strict=True):
        raw = oracle.score(text)
        assert score == pytest.approx((1 + math.tanh(raw / 5)) / 2)
        assert np.sign(score - 0.5) == np.sign(raw)
    assert scores[0] > 0.9 and scores[1] < 0.1 and scores[2] == 0.5
    with pytest.raises(ConfigError, match="scale"):
        AfinnJudge(scale=0)


def test_textblob_judge_is_the_pattern_polarity_and_needs_no_download(tmp_path, monkeypatch):
    from textblob import TextBlob

    monkeypatch.setenv("NLTK_DATA", str(tmp_path))  # nothing there: the pattern analyzer must not need corpora
    judge = TextBlobJudge()
    scores = judge.score_batch([""] * len(SENTENCES), SENTENCES)
    for text, score in zip(SENTENCES, scores, strict=True):
        assert score == pytest.approx((1 + TextBlob(text).sentiment.polarity) / 2)
    assert scores[0] > 0.5 > scores[4]


@pytest.fixture(scope="module")
def minilm():
    return MiniLMSentimentJudge()


def test_minilm_sentiment_is_the_anchor_difference_and_flips_with_the_anchors(minilm):
    scores = np.array(minilm.score_batch([""] * len(SENTENCES), SENTENCES))
    emb = minilm.encoder.encode(SENTENCES)
    pos, neg = minilm.encoder.encode([minilm.positive, minilm.negative])
    np.testing.assert_allclose(scores, np.clip((1 + emb @ pos - emb @ neg) / 2, 0, 1), atol=1e-6)
    assert scores[0] > scores[2] > scores[1] and scores[3] > scores[4]
    swapped = MiniLMSentimentJudge(positive=minilm.negative, negative=minilm.positive)
    np.testing.assert_allclose(swapped.score_batch([""] * len(SENTENCES), SENTENCES), 1 - scores, atol=1e-6)
    with pytest.raises(ConfigError, match="same sentence"):
        MiniLMSentimentJudge(positive="good.", negative="good.")
    with pytest.raises(ConfigError, match="anchor"):
        MiniLMSentimentJudge(positive="")


def test_english_judges_agree_in_sign_on_clear_sentences_and_batch_with_a_cache(minilm):
    judges = english_judges()
    assert [j.name for j in judges] == ["vader", "afinn", "textblob", "minilm_sentiment", "common", "spelling"]
    table = score_responses(judges, [""] * len(SENTENCES), SENTENCES)
    assert table.valid.all() and (table.sequence >= 0).all() and (table.sequence <= 1).all()
    sentiment = table.sequence[:, :4]
    for row in (0, 3):
        assert (sentiment[row] > 0.5).all()
    for row in (1, 4):
        assert (sentiment[row] < 0.5).all()
    afinn = judges[1]
    before = afinn.cache.info()
    afinn.score_batch(["other prompt"], [SENTENCES[0]])  # the prompt is ignored: a cache hit
    assert afinn.cache.info().hits == before.hits + 1


def test_a_failing_judge_is_recorded_as_a_failure_not_a_crash():
    judge = AfinnJudge(name="afinn")
    judge._afinn = None  # its library is gone mid-run
    table = score_responses([judge], ["", ""], SENTENCES[:2])
    assert not table.valid.any() and table.failures
