"""Argument checks of the engine's public methods: each error names the argument, the value and the fix.

They run before any work, so a wrong call fails at once instead of deep inside a cycle
(``'str' object has no attribute 'cycle_open'``) or after minutes of training.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

from scalarscope.errors import ConfigError, ConfigTypeError

MAX_PROBES = 200_000  # a holdout measurement on more fresh probes than this is refused (memory, minutes)
MAX_PROMPT_CHARS = 10_000  # a prompt longer than this is refused (the GRU reads it char by char each step)
STUDENT_METHODS = ("generate", "set_num_heads", "parameters")


def _shown(value: object) -> str:
    text = repr(value)
    return f"{text[:60]}..." if len(text) > 60 else text


def check_count(value: object, name: str, *, minimum: int = 0, maximum: int | None = None, example: str = "") -> int:
    """``value`` as an int in [minimum, maximum]; bools, floats and None are refused."""
    hint = f" e.g. {example}" if example else ""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ConfigTypeError(f"{name} must be an int >= {minimum}, got {_shown(value)} "
                              f"({type(value).__name__});{hint}")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"in [{minimum}, {maximum:,}]" if maximum is not None else f">= {minimum}"
        raise ConfigError(f"{name} must be {bound}, got {value:,};{hint}")
    return int(value)


def check_optional_seed(seed: object, name: str = "seed") -> int | None:
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ConfigTypeError(f"{name} must be an int or None, got {_shown(seed)} ({type(seed).__name__})")
    if seed < 0:
        raise ConfigError(f"{name} must be >= 0 or None, got {seed}: a negative seed would repeat {name}={-seed}")
    return int(seed)


def check_student(model: object) -> None:
    """A student must at least look like one (see :class:`scalarscope.student.Student`)."""
    missing = [m for m in STUDENT_METHODS if not callable(getattr(model, m, None))]
    if missing or getattr(model, "tokenizer", None) is None:
        raise ConfigTypeError(
            f"model must be a Student (e.g. scalarscope.default_student(seed=0)), got {_shown(model)} "
            f"({type(model).__name__}), which has no {', '.join(missing) or 'tokenizer'}; "
            "pass model=None for the default student")


def check_token_pool(token_pool: object) -> None:
    from scalarscope.governor import TokenPool

    if token_pool is not None and not isinstance(token_pool, TokenPool):
        raise ConfigTypeError(
            f"token_pool must be a TokenPool, got {_shown(token_pool)} ({type(token_pool).__name__}); "
            "e.g. TokenPool(GovernorConfig(max_tokens_per_cycle=512)), or None for one batch per cycle")


def check_prompt_argument(prompt: object) -> list[str]:
    """``run_cycle``'s ``prompt``: a str, or a non-empty list / tuple of str."""
    if isinstance(prompt, str):
        prompt = [prompt]
    if isinstance(prompt, bytes | bytearray):
        raise ConfigTypeError(f"prompt must be a str, got bytes {_shown(prompt)}; decode it first: "
                              "prompt.decode('utf-8')")
    if not isinstance(prompt, Sequence):
        raise ConfigTypeError(f"prompt must be a str or a list of str, got {_shown(prompt)} "
                              f"({type(prompt).__name__}); e.g. engine.run_cycle('hello')")
    prompts = list(prompt)
    if not prompts:
        raise ConfigError("run_cycle needs at least one prompt; e.g. engine.run_cycle('hello')")
    for index, item in enumerate(prompts):
        if not isinstance(item, str):
            raise ConfigTypeError(f"prompt[{index}] must be a str, got {_shown(item)} ({type(item).__name__})")
        if len(item) > MAX_PROMPT_CHARS:
            raise ConfigError(f"prompt[{index}] is {len(item):,} characters long; at most {MAX_PROMPT_CHARS:,} are "
                              "accepted (a step reads the whole prompt every cycle); shorten it")
    return prompts


def check_prompts(prompts: Sequence[str]) -> tuple[str, ...]:
    """The engine's prompt source: a non-empty list of str (a bare str would be split into characters)."""
    if isinstance(prompts, str | bytes) or not isinstance(prompts, Sequence):
        raise ConfigTypeError(f"prompts must be a list of str, got {_shown(prompts)} ({type(prompts).__name__}); "
                              "e.g. prompts=['hello', 'tell me']")
    if not prompts:
        raise ConfigError("prompts is empty; give at least one prompt string")
    return tuple(check_prompt_argument(list(prompts)))


def check_holdout(holdout: object, names: Sequence[str]) -> str | None:
    """``holdout``: None, or the name of one evaluator with at least one other left to train on."""
    from scalarscope.errors import EvaluatorError

    if holdout is not None and holdout not in names:
        raise EvaluatorError(f"holdout={holdout!r} is not one of the evaluators {list(names)}; pick one of those names")
    if holdout is not None and len(names) < 2:
        raise EvaluatorError(f"holdout={holdout!r} would leave no evaluator to train on; add evaluators")
    return holdout
