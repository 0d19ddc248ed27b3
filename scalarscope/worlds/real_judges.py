"""The real-judges world: a tiny GPT-2 that writes common English words, judged by real judges.

- **Student**: :func:`~scalarscope.student.hf.tiny_gpt2` over a word-level vocabulary of the most
  frequent English words in ``wordfreq`` (plus the words of the world's prompts and the engine's
  state prompt), built offline (:func:`~scalarscope.student.word_tokenizer.word_tokenizer_hf`).
- **Judges**: :func:`~scalarscope.evaluators.judges.real_judges` (MiniLM helpfulness and relevance,
  VADER sentiment, wordfreq commonness). Their overlap is measured, not set.
- **Prompts**: everyday requests made of vocabulary words.
- **Probes**: random word sequences from the tokenizer's ``sample_probes`` (the engine's state
  probe, off-policy probes and transfer set all draw there), and the policy's own outputs.

:func:`real_judges_world` (or ``build_world("real-judges", seed=..., n_words=...)``) returns the
world for one seed; ``world.engine(holdout=...)`` builds an engine (what ``scalarscope run --world
real-judges`` trains). The world's only option is ``n_words``; the judges' overlap is measured
(:meth:`RealJudgesWorld.overlap`), never set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from scalarscope.worlds import WorldSpec, register_world

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

    from scalarscope.engine.config import EngineConfig
    from scalarscope.engine.loop import ScalarScopeEngine
    from scalarscope.evaluators.overlap import OverlapReport
    from scalarscope.student.hf import HFStudent

PROMPTS = (
    "can you help me with my work?",
    "what do you think about this idea?",
    "how was your day?",
    "tell me about your family.",
    "what should i do this weekend?",
    "i feel sad today.",
    "what is the best way to learn?",
    "could you give me some advice?",
)

# responses of up to 10 words, 16 per cycle, 8 random probes: 0.16 s per cycle on a quiet 2-core
# machine, 0.3-0.5 s when the cores are shared, over half of it MiniLM (benchmarks/bench_judges.py);
# sized so that 300 cycles, loading included, fit in 3 minutes
CONFIG = dict(batch_size=16, prompts_per_cycle=4, max_new_tokens=10, probe_batch=8, probe_length=10,
              state_probe_size=16, transfer_every=25, transfer_probes=128, learning_rate=3e-3)


def world_config(**changes) -> EngineConfig:
    """The world's :class:`~scalarscope.engine.EngineConfig` (``changes`` override fields)."""
    from scalarscope.engine.config import EngineConfig

    return EngineConfig(**{**CONFIG, **changes})


@lru_cache(maxsize=4)
def world_tokenizer(prompts: tuple[str, ...] = PROMPTS, n_words: int = 2000) -> PreTrainedTokenizerFast:
    """The word-level ``transformers`` tokenizer: ``n_words`` common English words plus every word
    of ``prompts`` and of the engine's state prompt."""
    from scalarscope.engine.probes import STATE_PROMPT
    from scalarscope.student.word_tokenizer import word_tokenizer_hf

    needed = re.findall(r"[a-z]+", " ".join(prompts + (STATE_PROMPT,)).lower())
    return word_tokenizer_hf(n_words=n_words, extra_words=tuple(needed))


def word_student(seed: int = 0, *, prompts: tuple[str, ...] = PROMPTS, n_words: int = 2000) -> HFStudent:
    """A tiny GPT-2 (2 layers, width 64) over the world's word vocabulary, weights from ``seed``."""
    from scalarscope.student.hf import tiny_gpt2

    return tiny_gpt2(seed, tokenizer=world_tokenizer(tuple(prompts), n_words))


@dataclass(frozen=True, eq=False)
class RealJudgesWorld:
    """The pieces of the real-judges world for one seed. The judges may be shared between worlds
    (one MiniLM per process either way); by default each world builds :func:`real_judges`."""

    seed: int = 0
    n_words: int = 2000
    prompt_set: tuple[str, ...] = PROMPTS
    config: object = None  # an EngineConfig; None: world_config()
    judges: tuple = field(default=())
    name = "real-judges"
    default_holdout = None
    student_name = "tiny-gpt2"

    def __post_init__(self) -> None:
        if self.config is None:
            object.__setattr__(self, "config", world_config())
        if not self.judges:
            from scalarscope.evaluators.judges import real_judges

            object.__setattr__(self, "judges", real_judges())

    @property
    def evaluator_names(self) -> tuple[str, ...]:
        return tuple(judge.name for judge in self.judges)

    def evaluators(self) -> list:
        """The world's judges (shared by every engine of this world: one MiniLM, one score cache)."""
        return list(self.judges)

    def prompts(self) -> tuple[str, ...]:
        return tuple(self.prompt_set)

    def engine_config(self) -> EngineConfig:
        """The world's :class:`~scalarscope.engine.EngineConfig` (sized for real judges; see ``CONFIG``)."""
        return self.config

    def natural_texts(self, n: int, seed: int = 0) -> list[str]:
        from scalarscope.errors import ConfigError

        raise ConfigError("the real-judges world has no natural text of its own (its probes are random common "
                          "words: probe_texts); use a world with natural text, e.g. one registered for English")

    @property
    def hf_tokenizer(self) -> PreTrainedTokenizerFast:
        """The word-level ``transformers`` tokenizer of the student."""
        return world_tokenizer(tuple(self.prompt_set), self.n_words)

    def student(self) -> HFStudent:
        """A fresh tiny GPT-2 over the world's vocabulary, weights from ``seed``."""
        return word_student(self.seed, prompts=tuple(self.prompt_set), n_words=self.n_words)

    def engine(self, *, holdout: str | None = None, token_pool=None, **config_changes) -> ScalarScopeEngine:
        """A :class:`~scalarscope.engine.ScalarScopeEngine` on this world (config fields may be changed)."""
        from scalarscope.engine import ScalarScopeEngine

        config = self.config.replace(**config_changes) if config_changes else self.config
        for judge in self.judges:  # embed the prompts now, so each scoring of a cycle is one model call
            if hasattr(judge, "encoder"):
                judge.encoder.encode(list(self.prompt_set))
        return ScalarScopeEngine(self.student(), self.judges, token_pool, holdout=holdout, seed=self.seed,
                                 config=config, prompts=self.prompt_set)

    def probe_texts(self, n: int, *, length: int | None = None, seed: int = 0) -> tuple[list[str], list[str]]:
        """``n`` random probe responses of ``length`` words (the tokenizer's ``sample_probes``) and
        a prompt for each, drawn from the world's prompts."""
        from scalarscope.student.hf_tokenizer import HFTokenizer

        tok = HFTokenizer(self.hf_tokenizer)
        rng = np.random.default_rng([abs(int(seed)), 13])
        length = length or self.config.probe_length
        ids = tok.sample_probes(n, length, rng)
        prompts = [self.prompt_set[i] for i in rng.integers(len(self.prompt_set), size=n)]
        return prompts, tok.decode_batch(ids, np.full(n, length))

    def policy_texts(self, engine, n: int, *, seed: int = 0) -> tuple[list[str], list[str]]:
        """``n`` responses the engine's policy writes now, after the world's prompts (sampled from
        a generator seeded by ``seed``), and their prompts."""
        import torch

        rng = np.random.default_rng([abs(int(seed)), 17])
        index = rng.integers(len(self.prompt_set), size=n)
        prompt_ids = [engine.tokenizer.encode(p) for p in self.prompt_set]
        gen = engine.model.generate(prompt_ids, index, np.full(n, engine.config.max_new_tokens),
                                    temperature=engine.config.temperature,
                                    generator=torch.Generator().manual_seed(int(rng.integers(2**62))))
        return [self.prompt_set[i] for i in index], engine.tokenizer.decode_batch(gen.tokens, gen.lengths)

    def overlap(self, n: int = 1000, *, seed: int = 0, engine=None) -> OverlapReport:
        """The judges' measured overlap (:class:`~scalarscope.evaluators.OverlapReport`) on ``n``
        probe texts: random word sequences, or with ``engine`` half of them the policy's own
        outputs (:meth:`policy_texts`); texts on which some judge failed are left out
        (``report.n_probes`` says how many were used)."""
        from scalarscope.evaluators import analyze_scores, score_responses

        prompts, texts = self.probe_texts(n if engine is None else n - n // 2, seed=seed)
        if engine is not None:
            own_prompts, own_texts = self.policy_texts(engine, n // 2, seed=seed)
            prompts, texts = prompts + own_prompts, texts + own_texts
        table = score_responses(self.judges, prompts, texts)
        return analyze_scores(table.sequence[table.valid.all(1)], [j.name for j in self.judges])


def real_judges_world(seed: int = 0, **kwargs) -> RealJudgesWorld:
    """The real-judges world for ``seed`` (``kwargs``: n_words, prompt_set, config, judges)."""
    from scalarscope.errors import check_seed

    return RealJudgesWorld(seed=check_seed(seed), **kwargs)


def build(*, seed: int = 0, n_words: int = 2000) -> RealJudgesWorld:
    """The registry's builder: the world for ``seed`` over ``n_words`` common words."""
    return RealJudgesWorld(seed=seed, n_words=n_words)


register_world(WorldSpec("real-judges", "common English words from a tiny GPT-2; real judges (MiniLM, VADER, "
                         "wordfreq) whose overlap is measured", build, frozenset({"n_words"})))
