"""The English world: a GPT-2 pretrained in the kit on English sentences, judged by four sentiment
judges that share an axis and two unrelated ones.

- **Corpus** (:mod:`scalarscope.corpus`): Debian's fortunes and WordNet's example sentences (or
  any UTF-8 text given as ``corpus=PATH``), split by hash into train / validation / prompt / probe.
- **Student**: the pretrained GPT-2 of :mod:`scalarscope.student.pretrain` (trained on the train
  split only, cached by corpus fingerprint and config), loaded fresh for each engine.
- **Prompts**: the first :data:`PROMPT_WORDS` words of :data:`N_PROMPTS` sentences of the
  *prompt* split (sentences of at least 7 words, so there is something left to write).
- **Natural texts** (:meth:`EnglishWorld.natural_texts`): sentences of the *probe* split, never
  used for pretraining nor as prompts.
- **Judges** (:func:`~scalarscope.evaluators.sentiment_judges.english_judges`): ``vader``,
  ``afinn``, ``textblob``, ``minilm_sentiment``, ``common``, ``spelling``.
- **Off-policy probes** (what the scalar head also learns from, beside the policy's samples):
  windows of training-split text, not random tokens.
- **KL**: the engine's reference policy is the pretrained student; the world penalises KL to it
  (``kl_coef`` :data:`KL_COEF`) so the student keeps writing English.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from scalarscope.errors import ConfigError
from scalarscope.worlds import WorldSpec, register_world

if TYPE_CHECKING:
    from scalarscope.engine.config import EngineConfig
    from scalarscope.engine.loop import ScalarScopeEngine
    from scalarscope.governor import TokenPool
    from scalarscope.student.hf import HFStudent
    from scalarscope.student.hf_tokenizer import HFTokenizer

NAME = "english"
DESCRIPTION = ("a GPT-2 pretrained on English sentences (fortunes, WordNet); four sentiment judges sharing an "
               "axis (VADER, AFINN, TextBlob, MiniLM) and two unrelated ones (commonness, spelling)")
JUDGE_NAMES = ("vader", "afinn", "textblob", "minilm_sentiment", "common", "spelling")
OPTIONS = frozenset({"corpus", "pretrain", "judges", "config"})
PROMPT_WORDS, N_PROMPTS = 3, 64
KL_COEF = 0.1
# 16 responses of up to 16 tokens per cycle after 4 prompts, 16 text-window probes: meant to fit 300
# cycles in 4 minutes on two quiet cores (docs/ENGLISH.md and the report give the measured time)
CONFIG = dict(batch_size=16, prompts_per_cycle=4, max_new_tokens=16, probe_batch=16, probe_length=16,
              state_probe_size=16, transfer_every=50, transfer_probes=128, learning_rate=2e-3, kl_coef=KL_COEF)


@lru_cache(maxsize=4)
def world_corpus(path: str | None = None):
    """The corpus (cached per path; None: Debian's fortunes and wordnet-base)."""
    from scalarscope.corpus import load_corpus

    return load_corpus(path)


@lru_cache(maxsize=1)
def shared_judges() -> tuple:
    """One set of the world's judges per process (one MiniLM; score caches shared across engines)."""
    from scalarscope.evaluators.sentiment_judges import english_judges

    return english_judges()


def world_prompts(corpus, n: int = N_PROMPTS, words: int = PROMPT_WORDS) -> tuple[str, ...]:
    """The first ``words`` words of the first ``n`` prompt-split sentences with at least ``words + 4``
    words (distinct openings)."""
    openings = dict.fromkeys(" ".join(s.split()[:words]) for s in corpus.prompt if len(s.split()) >= words + 4)
    prompts = tuple(openings)[:n]
    if not prompts:
        raise ConfigError(f"the corpus's prompt split has no sentence of {words + 4} words or more to take prompts "
                          "from; give a larger corpus")
    return prompts


_STREAMS: dict[tuple[str, str], np.ndarray] = {}


def train_stream(folder, corpus) -> np.ndarray:
    """The training split as one stream of token ids (sentences joined by spaces), cached per folder."""
    key = (str(folder), corpus.fingerprint)
    if key not in _STREAMS:
        from transformers import PreTrainedTokenizerFast

        tok = PreTrainedTokenizerFast(tokenizer_file=str(folder / "tokenizer.json"))
        _STREAMS[key] = np.asarray(tok(" ".join(corpus.train), add_special_tokens=False)["input_ids"], dtype=np.int64)
    return _STREAMS[key]


def TextProbeTokenizer(base: HFTokenizer, stream: np.ndarray) -> HFTokenizer:  # noqa: N802 (a class built on first use: HFTokenizer imports transformers lazily)
    """``base`` (an :class:`~scalarscope.student.hf_tokenizer.HFTokenizer`) whose ``sample_probes``
    draws windows of training-split text (so the scalar head learns the judges off-policy on
    English, never on the held-out probe split); ``uniform_probes`` keeps uniformly random tokens."""
    from scalarscope.student.hf_tokenizer import HFTokenizer

    class _TextProbes(HFTokenizer):
        def __init__(self) -> None:  # a copy of base's state; HFTokenizer's checks already ran on it
            self.__dict__.update(base.__dict__)
            self._stream = stream

        def sample_probes(self, n: int, length: int, rng: np.random.Generator) -> np.ndarray:
            starts = rng.integers(len(self._stream) - length, size=n)
            return self._stream[starts[:, None] + np.arange(length)[None, :]]

        def uniform_probes(self, n: int, length: int, rng: np.random.Generator) -> np.ndarray:
            return HFTokenizer.sample_probes(self, n, length, rng)

    return _TextProbes()


@dataclass(frozen=True, eq=False)
class EnglishWorld:
    """The English world bound to one seed (see the module docstring)."""

    seed: int = 0
    corpus_path: str | None = None
    pretrain_config: object = None  # a PretrainConfig; None: the default
    judges: tuple = field(default=())
    config: object = None  # an EngineConfig; None: the world's
    name = NAME
    evaluator_names = JUDGE_NAMES
    default_holdout = "vader"

    def __post_init__(self) -> None:
        from scalarscope.engine.config import EngineConfig
        from scalarscope.student.pretrain import PretrainConfig, pretrain

        if self.pretrain_config is None:
            object.__setattr__(self, "pretrain_config", PretrainConfig())
        if self.config is None:
            object.__setattr__(self, "config", EngineConfig(**CONFIG))
        object.__setattr__(self, "corpus", world_corpus(self.corpus_path))
        object.__setattr__(self, "folder", pretrain(self.corpus, self.pretrain_config))

    def evaluators(self) -> list:
        return list(self.judges or shared_judges())

    def student(self) -> HFStudent:
        """A fresh copy of the pretrained student (its scalar head from ``seed``), whose off-policy
        probes are windows of training-split text (:class:`TextProbeTokenizer`)."""
        from scalarscope.student.pretrain import load_student

        student = load_student(self.folder, seed=self.seed, fingerprint=self.corpus.fingerprint)
        student.tokenizer = TextProbeTokenizer(student.tokenizer, train_stream(self.folder, self.corpus))
        return student

    def prompts(self) -> tuple[str, ...]:
        return world_prompts(self.corpus)

    def engine_config(self) -> EngineConfig:
        return self.config

    def engine(self, *, holdout: str | None = None, token_pool: TokenPool | None = None,
               **config_changes) -> ScalarScopeEngine:
        """A :class:`~scalarscope.engine.ScalarScopeEngine` on this world (config fields may be changed)."""
        from scalarscope.engine import ScalarScopeEngine

        config = self.config.replace(**config_changes) if config_changes else self.config
        return ScalarScopeEngine(self.student(), self.evaluators(), token_pool, holdout=holdout, seed=self.seed,
                                 config=config, prompts=self.prompts())

    def pretraining(self) -> dict:
        """What pretraining measured: validation perplexity, the unigram and bigram baselines, the
        configuration and the corpus fingerprint (the student folder's metadata)."""
        from scalarscope.student.pretrain import read_meta

        return read_meta(self.folder)

    def judge_correlations(self, texts: list[str]) -> tuple[list[str], np.ndarray]:
        """The judges' names and their Pearson correlation matrix [J, J] on ``texts``."""
        from scalarscope.worlds.english_measures import judge_correlations

        return judge_correlations(self.evaluators(), texts)

    def natural_texts(self, n: int, seed: int = 0) -> list[str]:
        """``n`` sentences of the held-out probe split (all of them when ``n`` exceeds its size)."""
        pool = self.corpus.probe
        rng = np.random.default_rng([abs(int(seed)), 31])
        return [pool[i] for i in rng.permutation(len(pool))[:n]]


def english_world(seed: int = 0, **options) -> EnglishWorld:
    """The English world for ``seed``. Options: ``corpus`` (a UTF-8 file or folder; default Debian's
    packages), ``pretrain`` (a :class:`~scalarscope.student.pretrain.PretrainConfig`), ``judges``
    (judges to share), ``config`` (an :class:`~scalarscope.engine.EngineConfig`)."""
    unknown = sorted(set(options) - OPTIONS)
    if unknown:
        raise ConfigError(f"the {NAME} world has no option(s) {unknown}; it takes {sorted(OPTIONS)}")
    return EnglishWorld(seed=seed, corpus_path=options.get("corpus"), pretrain_config=options.get("pretrain"),
                        judges=tuple(options.get("judges") or ()), config=options.get("config"))


def policy_samples(engine, n: int, *, seed: int = 0) -> tuple[list[str], list[str]]:
    """``n`` responses the engine's policy writes now after its prompts, and those prompts."""
    from scalarscope.engine.text_transfer import policy_texts

    return policy_texts(engine, n, seed=seed)


def train_english_world(*, cycles: int = 300, seed: int = 0, holdout: str | None = None, progress: bool = True,
                        token_pool: TokenPool | None = None, **options) -> ScalarScopeEngine:
    """Build the English world, train ``cycles`` cycles, return the engine (``load_seconds`` and
    ``wall_seconds`` time building and training it)."""
    start = time.perf_counter()
    engine = english_world(seed, **options).engine(holdout=holdout, token_pool=token_pool)
    engine.load_seconds = time.perf_counter() - start
    start = time.perf_counter()
    engine.run(cycles, progress=progress)
    engine.wall_seconds = time.perf_counter() - start
    return engine


register_world(WorldSpec(name=NAME, description=DESCRIPTION, build=english_world, options=OPTIONS))
