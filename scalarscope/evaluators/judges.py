"""Real judges: evaluators backed by a sentence-embedding model, a sentiment lexicon, word
statistics, a spelling dictionary or any sequence-classification reward model.

Importing this module is cheap: each judge imports its library (``transformers``, ``torch``,
``vaderSentiment``, ``wordfreq``, ``pyspellchecker``) when it is built, and a missing one raises an
ImportError naming ``pip install 'scalarscope[judges]'``. Nothing is downloaded: MiniLM comes from
its registry package (hash-checked, :mod:`scalarscope.evaluators.sentence_model`), the lexicons
and word lists ship inside their packages, and a reward model is one the caller already holds.

Every judge scores a whole batch in one call (``score_batch``), keeps its scores in a bounded LRU
cache per (prompt, response) across cycles (``judge.cache.info()`` reads the hit rate; judges that
ignore the prompt key on the response alone) and is sequence-only: the engine spreads its score
evenly over the response's tokens, or :func:`~scalarscope.evaluators.base.prefix_feedback` turns
it into prefix differences. Scores are in [0, 1]; a judge that fails on a batch is recorded as a
failure on every response of it, like any evaluator.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from scalarscope.errors import ConfigError, check_scalar
from scalarscope.evaluators.cache import ScoreCache, cached_scores
from scalarscope.evaluators.sentence_model import load_encoder, require

_WORDS = re.compile(r"[a-z]+(?:'[a-z]+)?")


class TextJudge:
    """Base of the real judges: a name, a score cache, and ``_score(prompts, responses)`` to fill in."""

    uses_prompt = False

    def __init__(self, name: str, *, cache_size: int = 8192) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"name must be a non-empty string, got {name!r}")
        self.name = name
        self.cache = ScoreCache(cache_size)

    def __call__(self, prompt: str, response: str) -> object:
        return self.score_batch([prompt], [response])[0]

    def score_batch(self, prompts: Sequence[str], responses: Sequence[str]) -> list[object]:
        """Scores in [0, 1] of each (prompt, response); new pairs are scored in one ``_score`` call."""
        keys = [(p, r) if self.uses_prompt else r for p, r in zip(prompts, responses, strict=True)]
        return cached_scores(self.cache, keys, lambda rows: self._score(
            [prompts[i] for i in rows], [responses[i] for i in rows]))

    def _score(self, prompts: list[str], responses: list[str]) -> list[float]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def _words(text: str) -> list[str]:
    return _WORDS.findall(text.lower())


class EmbeddingJudge(TextJudge):
    """Cosine similarity of the response with a ``criterion`` sentence, mapped to [0, 1] as
    ``(1 + cos) / 2``. ``model``: a local sentence-transformers folder, or None for the packaged
    all-MiniLM-L6-v2."""

    def __init__(self, criterion: str, *, name: str = "embedding", model=None, cache_size: int = 8192) -> None:
        if not isinstance(criterion, str) or not criterion.strip():
            raise ConfigError(f"criterion must be a sentence describing a good response, got {criterion!r}; "
                              "e.g. EmbeddingJudge(criterion='a kind and helpful answer')")
        super().__init__(name, cache_size=cache_size)
        self.criterion = criterion
        self.encoder = load_encoder(model)
        self._target = self.encoder.encode([criterion])[0]

    def _score(self, prompts, responses):
        cosine = self.encoder.encode(responses) @ self._target
        return np.clip((1.0 + cosine) / 2.0, 0.0, 1.0).tolist()


class RelevanceJudge(TextJudge):
    """Cosine similarity of the response with its prompt (sentence embeddings), in [0, 1]."""

    uses_prompt = True

    def __init__(self, *, name: str = "relevance", model=None, cache_size: int = 8192) -> None:
        super().__init__(name, cache_size=cache_size)
        self.encoder = load_encoder(model)

    def _score(self, prompts, responses):
        embedded = self.encoder.encode(list(responses) + list(prompts))  # one model call for both
        cosine = np.einsum("nd,nd->n", embedded[: len(responses)], embedded[len(responses):])
        return np.clip((1.0 + cosine) / 2.0, 0.0, 1.0).tolist()


class SentimentJudge(TextJudge):
    """VADER's compound sentiment of the response, mapped from [-1, 1] to [0, 1]."""

    def __init__(self, *, name: str = "sentiment", cache_size: int = 8192) -> None:
        super().__init__(name, cache_size=cache_size)
        vader = require("vaderSentiment.vaderSentiment", "SentimentJudge")
        self._analyzer = vader.SentimentIntensityAnalyzer()

    def _score(self, prompts, responses):
        return [(1.0 + self._analyzer.polarity_scores(r)["compound"]) / 2.0 for r in responses]


class CommonnessJudge(TextJudge):
    """How common the response's words are: their mean Zipf frequency in ``wordfreq`` divided by
    ``top_zipf`` (8, above the most frequent English word), clipped to [0, 1]; 0 for no words."""

    def __init__(self, *, name: str = "commonness", lang: str = "en", top_zipf: float = 8.0,
                 cache_size: int = 8192) -> None:
        super().__init__(name, cache_size=cache_size)
        check_scalar(top_zipf, "top_zipf", min_value=0.0, include_min=False, max_value=20.0,
                     hint="The Zipf value that scores 1.0; 8 is above the most frequent English word.")
        wordfreq = require("wordfreq", "CommonnessJudge")
        languages = sorted(wordfreq.available_languages())
        if lang not in languages:
            raise ConfigError(f"lang={lang!r} is not a wordfreq language; use one of {languages}")
        self._zipf = wordfreq.zipf_frequency
        self.lang, self.top_zipf = lang, float(top_zipf)

    def _score(self, prompts, responses):
        scores = []
        for response in responses:
            words = _words(response)
            mean = np.mean([self._zipf(w, self.lang) for w in words]) if words else 0.0
            scores.append(float(np.clip(mean / self.top_zipf, 0.0, 1.0)))
        return scores


class SpellingJudge(TextJudge):
    """Share of the response's words that ``pyspellchecker``'s dictionary knows; 0 for no words."""

    def __init__(self, *, name: str = "spelling", language: str = "en", cache_size: int = 8192) -> None:
        super().__init__(name, cache_size=cache_size)
        spellchecker = require("spellchecker", "SpellingJudge")
        try:
            self._checker = spellchecker.SpellChecker(language=language)
        except (ValueError, TypeError, OSError) as exc:
            raise ConfigError(f"language={language!r} is not a dictionary pyspellchecker ships ({exc}); use e.g. "
                              "language='en'") from None

    def _score(self, prompts, responses):
        scores = []
        for response in responses:
            words = _words(response)
            scores.append(len(self._checker.known(words)) / len(set(words)) if words else 0.0)
        return scores


class RewardModelJudge(TextJudge):
    """Any ``AutoModelForSequenceClassification`` reward model with its tokenizer.

    One label: ``sigmoid(logit)``; several: the softmax probability of ``label`` (default the last).
    With ``use_prompt`` the model reads (prompt, response) as a text pair, else the response alone.
    ``max_length``: tokens read per text (default: the model's context, at most 256; more than the
    context is refused when the judge is built, not when it first scores).
    """

    def __init__(self, model, tokenizer, *, name: str = "reward_model", label: int | None = None,
                 use_prompt: bool = True, max_length: int | None = None, cache_size: int = 8192) -> None:
        super().__init__(name, cache_size=cache_size)
        self.torch = require("torch", "RewardModelJudge")
        max_length = _check_reward_model(model, tokenizer, max_length)
        self.model, self.tokenizer = model.eval(), tokenizer
        n_labels = int(getattr(model.config, "num_labels", 1))
        if label is not None and not -n_labels <= label < n_labels:
            raise ConfigError(f"label={label} is not one of the model's {n_labels} labels")
        self.label, self.uses_prompt, self.max_length = label, bool(use_prompt), max_length

    def _score(self, prompts, responses):
        torch = self.torch
        pair = (list(prompts), list(responses)) if self.uses_prompt else (list(responses),)
        batch = self.tokenizer(*pair, padding=True, truncation=True, max_length=self.max_length,
                               return_tensors="pt")
        with torch.no_grad():
            logits = self.model(**batch).logits.double()
        if logits.shape[-1] == 1:
            return torch.sigmoid(logits[:, 0]).tolist()
        return torch.softmax(logits, dim=-1)[:, -1 if self.label is None else self.label].tolist()


def _check_reward_model(model, tokenizer, max_length) -> int:
    """A sequence-classification model with a config, a callable tokenizer, and a max_length that
    fits the model's context (None: the context, at most 256 tokens); returns the max_length."""
    if not callable(getattr(model, "eval", None)) or getattr(model, "config", None) is None or not callable(model):
        raise ConfigError(f"model must be a transformers sequence-classification model (e.g. "
                          f"AutoModelForSequenceClassification.from_pretrained(folder)), got {type(model).__name__}")
    if not callable(tokenizer):
        raise ConfigError(f"tokenizer must be the model's transformers tokenizer, got {type(tokenizer).__name__}")
    context = getattr(model.config, "max_position_embeddings", None) or getattr(model.config, "n_positions", None)
    if max_length is None:
        return min(256, int(context)) if context else 256
    check_scalar(max_length, "max_length", kind=int, min_value=1, max_value=int(context) if context else None,
                 hint="Texts are truncated to this many tokens; it must fit the model's context.")
    return int(max_length)


def real_judges(*, model=None, criterion: str = "a kind and helpful answer") -> tuple[TextJudge, ...]:
    """The default real judges: helpfulness (MiniLM vs ``criterion``), relevance to the prompt
    (MiniLM), sentiment (VADER) and word commonness (wordfreq). ``model``: a local
    sentence-transformers folder instead of the packaged MiniLM."""
    return (EmbeddingJudge(criterion, name="helpful", model=model), RelevanceJudge(name="relevant", model=model),
            SentimentJudge(name="positive"), CommonnessJudge(name="common"))




_SENTIMENT = ("AfinnJudge", "TextBlobJudge", "MiniLMSentimentJudge", "english_judges")


def __getattr__(name: str):
    """The English world's sentiment judges live in :mod:`scalarscope.evaluators.sentiment_judges`
    (which builds on :class:`TextJudge`); they are re-exported here, on first use."""
    if name in _SENTIMENT:
        from scalarscope.evaluators import sentiment_judges

        return getattr(sentiment_judges, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
