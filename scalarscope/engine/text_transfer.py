"""Transfer on text worlds' three distributions, through the one measurement
(:meth:`~scalarscope.engine.ScalarScopeEngine.holdout_transfer`).

A text world's off-policy probes may be windows of real text (the English world's tokenizer draws
them so), so ``"random"`` here means what it says: uniformly random token sequences of the
student's vocabulary, decoded to text and measured as given texts. ``"policy"`` and a list of texts
go to the engine's measurement unchanged. Every result is a
:class:`~scalarscope.engine.records.TransferMeasurement` (interval, null, both ceilings, fidelity).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from scalarscope.engine.loop import ScalarScopeEngine
    from scalarscope.engine.records import TransferMeasurement


def random_token_texts(engine: ScalarScopeEngine, n: int, *, seed: int = 0) -> list[str]:
    """``n`` texts of ``probe_length`` uniformly random tokens (the tokenizer's ``uniform_probes``
    when it has one, else its ``sample_probes``), decoded; empty decodings are left out."""
    rng = np.random.default_rng([seed, 44])
    tokenizer, length = engine.tokenizer, engine.config.probe_length
    uniform = getattr(tokenizer, "uniform_probes", tokenizer.sample_probes)
    ids = uniform(n, length, rng)
    return [text for text in tokenizer.decode_batch(ids, np.full(n, length)) if text.strip()]


def distribution_transfer(engine: ScalarScopeEngine, n: int = 2000, *, probes: str | Sequence[str] = "random",
                          seed: int = 0) -> TransferMeasurement:
    """Transfer of ``engine``'s held-out judge on ``n`` probes of ``probes``: ``"random"`` (random
    tokens, see the module docstring), ``"policy"`` or a list of texts (all used; ``n`` ignored)."""
    if isinstance(probes, str) and probes == "random":
        measured = engine.holdout_transfer(n, probes=random_token_texts(engine, n, seed=seed), seed=seed)
        from dataclasses import replace

        return replace(measured, distribution="random")
    return engine.holdout_transfer(n, probes=probes, seed=seed)


def policy_texts(engine: ScalarScopeEngine, n: int, *, seed: int = 0) -> tuple[list[str], list[str]]:
    """``n`` responses the policy writes now after the engine's prompts, and those prompts."""
    import torch

    from scalarscope.engine._threads import torch_threads

    context = engine.context
    rng = np.random.default_rng([seed, 43])
    prompt_index = rng.integers(len(context.prompts), size=n)
    prompt_ids = [context.encode_prompt(p) for p in context.prompts]
    with torch_threads(context.config.torch_threads):
        gen = context.student.generate(prompt_ids, prompt_index, np.full(n, context.config.max_new_tokens),
                                       temperature=context.config.temperature,
                                       generator=torch.Generator().manual_seed(int(rng.integers(2**62))))
    return [context.prompts[i] for i in prompt_index], context.tokenizer.decode_batch(gen.tokens, gen.lengths)
