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
_JUDGES: ThreadPoolExecutor | None = None
_WORKER_LOCK = threading.Lock()


def _forget_worker_after_fork() -> None:
    """A forked child inherits the executors but not their threads: work sent to them would never run."""
    global _WORKER, _JUDGES, _WORKER_LOCK
    _WORKER, _JUDGES, _WORKER_LOCK = None, None, threading.Lock()


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


def judge_worker() -> ThreadPoolExecutor:
    """The process-wide thread that calls the evaluators on a cycle's responses while the calling
    thread runs the student's teacher-forced pass (which needs no score). Evaluators are only ever
    called from one thread at a time: this one, or the engine's own outside the update."""
    global _JUDGES
    with _WORKER_LOCK:
        if _JUDGES is None:
            _JUDGES = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scalarscope-judges")
        return _JUDGES
