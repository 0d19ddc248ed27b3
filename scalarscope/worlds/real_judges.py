"""The real-judges world: a tiny GPT-2 that writes common English words, judged by real judges.

- **Student**: :func:`~scalarscope.student.hf.tiny_gpt2` over a word-level vocabulary of the most
  frequent English words in ``wordfreq`` (plus the words of the world's prompts), built offline
  with the ``tokenizers`` library (:func:`~scalarscope.student.word_tokenizer.word_tokenizer_hf`).
- **Judges**: :func:`~scalarscope.evaluators.judges.real_judges` (MiniLM helpfulness and relevance,
  VADER sentiment, wordfreq commonness). Their overlap is measured, not set.
- **Prompts**: everyday requests made of vocabulary words.
- **Probes**: random word sequences from the tokenizer's ``sample_probes`` (the engine's state
  probe, off-policy probes and transfer set use the same source), and the policy's own outputs.

:func:`real_judges_world` returns the pieces; ``world.engine(holdout=...)`` builds an engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from scalarscope.engine.config import EngineConfig
from scalarscope.engine.probes import STATE_PROMPT

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

CONFIG = EngineConfig(batch_size=16, prompts_per_cycle=4, max_new_tokens=10, probe_batch=8, probe_length=10,
                      state_probe_size=16, transfer_every=25, transfer_probes=128, learning_rate=3e-3)


def _prompt_words(texts) -> tuple[str, ...]:
    import re

    return tuple(dict.fromkeys(w for t in texts for w in re.findall(r"[a-z]+", t.lower())))


@dataclass(frozen=True, eq=False)
class RealJudgesWorld:
    """The pieces of the real-judges world for one seed (judges are shared across seeds: one
    MiniLM per process)."""

    seed: int = 0
    n_words: int = 2000
    prompts: tuple[str, ...] = PROMPTS
    config: EngineConfig = CONFIG
    judges: tuple = field(default=None)  # type: ignore[assignment]
    name = "real-judges"

    def __post_init__(self) -> None:
        if self.judges is None:
            from scalarscope.evaluators.judges import real_judges

            object.__setattr__(self, "judges", real_judges())

    @cached_property
    def hf_tokenizer(self):
        from scalarscope.student.word_tokenizer import word_tokenizer_hf

        return word_tokenizer_hf(n_words=self.n_words, extra_words=_prompt_words(self.prompts + (STATE_PROMPT,)))

    def student(self):
        """A fresh tiny GPT-2 over the world's vocabulary, weights from ``seed``."""
        from scalarscope.student.hf import tiny_gpt2

        return tiny_gpt2(self.seed, tokenizer=self.hf_tokenizer)

    def engine(self, *, holdout: str | None = None, **config_changes):
        """A :class:`~scalarscope.engine.ScalarScopeEngine` on this world (config fields may be changed)."""
        from scalarscope.engine import ScalarScopeEngine

        config = self.config.replace(**config_changes) if config_changes else self.config
        return ScalarScopeEngine(self.student(), self.judges, holdout=holdout, seed=self.seed, config=config,
                                 prompts=self.prompts)

    def probe_texts(self, n: int, *, length: int | None = None, seed: int = 0) -> tuple[list[str], list[str]]:
        """``n`` random probe responses of ``length`` words (the tokenizer's ``sample_probes``) and a
        prompt for each, drawn from the world's prompts."""
        from scalarscope.student.hf_tokenizer import HFTokenizer

        tok = HFTokenizer(self.hf_tokenizer)
        rng = np.random.default_rng([abs(int(seed)), 13])
        length = length or self.config.probe_length
        ids = tok.sample_probes(n, length, rng)
        prompts = [self.prompts[i] for i in rng.integers(len(self.prompts), size=n)]
        return prompts, tok.decode_batch(ids, np.full(n, length))

    def overlap(self, n: int = 1000, *, seed: int = 0):
        """The judges' measured overlap (:class:`~scalarscope.evaluators.OverlapReport`) on ``n``
        probe texts; texts on which some judge failed are left out (``report.n_probes`` says how many
        were used)."""
        from scalarscope.evaluators import analyze_scores, score_responses

        prompts, texts = self.probe_texts(n, seed=seed)
        table = score_responses(self.judges, prompts, texts)
        return analyze_scores(table.sequence[table.valid.all(1)], [j.name for j in self.judges])


def real_judges_world(seed: int = 0, **kwargs) -> RealJudgesWorld:
    """The real-judges world for ``seed`` (``kwargs``: n_words, prompts, config, judges)."""
    return RealJudgesWorld(seed=seed, **kwargs)
