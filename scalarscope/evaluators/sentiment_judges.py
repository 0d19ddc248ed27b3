"""Sentiment judges from independent sources, beside VADER (:class:`~scalarscope.evaluators.judges.SentimentJudge`).

Each maps its library's raw score to [0, 1], monotonically, so that 0.5 is neutral:

- :class:`AfinnJudge`: AFINN-165's score, the sum of its words' valences (each -5..+5, unbounded
  sum), as ``(1 + tanh(score / 5)) / 2`` (one strongly valenced word moves it by about 0.38).
- :class:`TextBlobJudge`: TextBlob's pattern analyzer's polarity (in [-1, 1]; a lexicon shipped
  inside the package, nothing downloaded) as ``(1 + polarity) / 2``.
- :class:`MiniLMSentimentJudge`: the difference of the response's MiniLM cosine similarities to a
  positive and a negative anchor sentence (configurable), ``d`` in [-2, 2], as
  ``clip((1 + d) / 2, 0, 1)``.

They batch, cache and fail like every :class:`~scalarscope.evaluators.judges.TextJudge`.
"""

from __future__ import annotations

import numpy as np

from scalarscope.errors import ConfigError
from scalarscope.evaluators.judges import TextJudge
from scalarscope.evaluators.sentence_model import load_encoder, require

POSITIVE_ANCHOR = "I love it. It is wonderful and makes me happy."
NEGATIVE_ANCHOR = "I hate it. It is awful and makes me miserable."


class AfinnJudge(TextJudge):
    """AFINN's sentiment score of the response, as ``(1 + tanh(score / scale)) / 2``."""

    def __init__(self, *, name: str = "afinn", scale: float = 5.0, cache_size: int = 8192) -> None:
        super().__init__(name, cache_size=cache_size)
        if not scale > 0:
            raise ConfigError(f"scale must be > 0 (the AFINN score that maps to tanh(1)), got {scale!r}")
        self._afinn = require("afinn", "AfinnJudge").Afinn(language="en")
        self.scale = float(scale)

    def raw(self, text: str) -> float:
        """AFINN's own score of ``text``."""
        return float(self._afinn.score(text))

    def _score(self, prompts, responses):
        return [(1.0 + np.tanh(self.raw(r) / self.scale)) / 2.0 for r in responses]


class TextBlobJudge(TextJudge):
    """TextBlob's pattern-analyzer polarity of the response, as ``(1 + polarity) / 2``."""

    def __init__(self, *, name: str = "textblob", cache_size: int = 8192) -> None:
        super().__init__(name, cache_size=cache_size)
        self._analyzer = require("textblob.sentiments", "TextBlobJudge").PatternAnalyzer()

    def raw(self, text: str) -> float:
        """The pattern analyzer's polarity of ``text``, in [-1, 1]."""
        return float(self._analyzer.analyze(text).polarity)

    def _score(self, prompts, responses):
        return [(1.0 + self.raw(r)) / 2.0 for r in responses]


class MiniLMSentimentJudge(TextJudge):
    """MiniLM: cosine to ``positive`` minus cosine to ``negative``, ``d``, as ``clip((1 + d) / 2, 0, 1)``.
    ``model``: a local sentence-transformers folder, or None for the packaged all-MiniLM-L6-v2."""

    def __init__(self, *, name: str = "minilm_sentiment", positive: str = POSITIVE_ANCHOR,
                 negative: str = NEGATIVE_ANCHOR, model=None, cache_size: int = 8192) -> None:
        for what, text in (("positive", positive), ("negative", negative)):
            if not isinstance(text, str) or not text.strip():
                raise ConfigError(f"{what} must be an anchor sentence, got {text!r}; e.g. "
                                  f"MiniLMSentimentJudge(positive={POSITIVE_ANCHOR!r}, negative={NEGATIVE_ANCHOR!r})")
        if positive.strip() == negative.strip():
            raise ConfigError("the positive and negative anchors are the same sentence: every score would be 0.5")
        super().__init__(name, cache_size=cache_size)
        self.positive, self.negative = positive, negative
        self.encoder = load_encoder(model)
        anchors = self.encoder.encode([positive, negative])
        self._direction = anchors[0] - anchors[1]

    def raw(self, texts: list[str]) -> np.ndarray:
        """``cos(text, positive) - cos(text, negative)`` for each text (embeddings are unit length)."""
        return self.encoder.encode(list(texts)) @ self._direction

    def _score(self, prompts, responses):
        return np.clip((1.0 + self.raw(responses)) / 2.0, 0.0, 1.0).tolist()


def english_judges(*, model=None) -> tuple[TextJudge, ...]:
    """The English world's judges, in order: four sentiment judges (``vader``, ``afinn``, ``textblob``,
    ``minilm_sentiment``), then two unrelated ones (``common``: wordfreq commonness; ``spelling``)."""
    from scalarscope.evaluators.judges import CommonnessJudge, SentimentJudge, SpellingJudge

    return (SentimentJudge(name="vader"), AfinnJudge(), TextBlobJudge(), MiniLMSentimentJudge(model=model),
            CommonnessJudge(name="common"), SpellingJudge(name="spelling"))
