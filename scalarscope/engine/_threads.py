"""Threads in a cycle: a scoped torch thread count (small models run fastest on one thread, and
never stall when the machine is shared; the caller's setting is restored afterwards), and the
worker that reads the probes while the calling thread runs the update's passes."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
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


_WORKER: ThreadPoolExecutor | None = None
_WORKER_LOCK = threading.Lock()


def _forget_worker_after_fork() -> None:
    """A forked child inherits the executor but not its thread: work sent to it would never run."""
    global _WORKER, _WORKER_LOCK
    _WORKER, _WORKER_LOCK = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_worker_after_fork)


def probe_worker() -> ThreadPoolExecutor:
    """The process-wide thread that reads engines' probe responses (batched GRU passes) while the
    calling thread runs the update's teacher-forced and backward passes, single torch calls that
    hold no GIL. Reading only: nothing on this thread changes parameters."""
    global _WORKER
    with _WORKER_LOCK:
        if _WORKER is None:
            _WORKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scalarscope-probes")
        return _WORKER
