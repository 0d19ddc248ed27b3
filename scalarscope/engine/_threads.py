"""Scoped torch thread count: small models run fastest on one thread, and never stall when the
machine is shared; the caller's setting is restored afterwards."""

from __future__ import annotations

from contextlib import contextmanager

import torch


@contextmanager
def torch_threads(n: int | None):
    """Run the block with torch limited to ``n`` threads, then restore the previous setting."""
    previous = torch.get_num_threads()
    if n is None or n == previous:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
