"""Timing shared by the cycle benchmarks: contenders run in interleaved blocks (a drift in the
machine's speed hits every contender alike), medians of the blocks reported."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def time_block(step: Callable[[], int], n: int) -> tuple[float, int]:
    """Seconds per call over ``n`` calls of ``step``, and the tokens the calls returned."""
    tokens = 0
    start = time.perf_counter()
    for _ in range(n):
        tokens += step()
    return (time.perf_counter() - start) / n, tokens


def interleaved(contenders: dict[str, Callable[[], int]], *, cycles: int, block: int, warmup: int
                ) -> tuple[dict[str, float], dict[str, float], int]:
    """Warm every contender up, then time ``cycles // block`` rounds of one ``block`` each.
    Returns (median ms per cycle, tokens per second, cycles timed per contender)."""
    for _ in range(warmup):
        for step in contenders.values():
            step()
    times = {name: [] for name in contenders}
    tokens = dict.fromkeys(contenders, 0)
    for _ in range(max(cycles // block, 1)):
        for name, step in contenders.items():
            t, n = time_block(step, block)
            times[name].append(t)
            tokens[name] += n
    ms = {name: 1000 * statistics.median(t) for name, t in times.items()}
    tps = {name: tokens[name] / (sum(times[name]) * block) for name in contenders}
    return ms, tps, len(times[next(iter(contenders))]) * block


def print_table(ms: dict[str, float], tps: dict[str, float], *, against: str = "engine") -> None:
    """One row per contender: ms per cycle, tokens per second, and ``against``'s time over its own."""
    print(f"{'':<12}{'ms/cycle':>10}{'tokens/s':>12}{f'{against} / this':>15}")
    for name in ms:
        print(f"{name:<12}{ms[name]:>10.2f}{tps[name]:>12.0f}{ms[against] / ms[name]:>14.2f}x")
