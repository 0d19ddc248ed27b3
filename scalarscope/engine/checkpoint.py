"""Checkpoints: everything a resumed run needs to continue exactly as an uninterrupted one."""

from __future__ import annotations

from pathlib import Path

import torch

from scalarscope._atomic import atomic_write
from scalarscope.engine.records import History
from scalarscope.errors import CheckpointError

FORMAT = "scalarscope-checkpoint-1"


def save_engine(engine, path) -> Path:
    state = {
        "format": FORMAT,
        "seed": engine.seed,
        "cycle": engine.cycle,
        "config": engine.config,
        "holdout": engine.holdout,
        "prompts": engine.prompts,
        "evaluators": engine.evaluators,
        "model": engine.model,
        "optimizer": engine.optimizer.state_dict(),
        "critic": engine.critic.state_dict(),
        "pool": engine.token_pool.state_dict(),
        "history": list(engine.history),
        "prompt_memory": dict(engine._prompt_memory),
        "pending_failures": list(engine._pending_failures),
        "extra": engine._extra_state() if hasattr(engine, "_extra_state") else {},
    }
    return atomic_write(path, lambda handle: torch.save(state, handle))


def load_engine(cls, path, *, evaluators=None):
    from scalarscope.governor import TokenPool

    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist; save one with engine.save(path)")
    try:
        state = torch.load(path, weights_only=False)
    except Exception as exc:
        raise CheckpointError(f"checkpoint {str(path)!r} could not be read ({type(exc).__name__}: {exc}); "
                              "it is corrupt or not a ScalarScope checkpoint") from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{str(path)!r} is not a {FORMAT} file")
    pool = TokenPool(state["pool"]["config"])
    pool.load_state_dict(state["pool"])
    kwargs = state["extra"].get("init_kwargs", {})
    engine = cls(model=state["model"], evaluators=evaluators if evaluators is not None else state["evaluators"],
                 token_pool=pool, holdout=state["holdout"], seed=state["seed"], config=state["config"],
                 prompts=state["prompts"], **kwargs)
    engine.optimizer.load_state_dict(state["optimizer"])
    engine.critic.load_state_dict(state["critic"])
    engine.history = History(state["history"])
    engine.cycle = state["cycle"]
    engine._prompt_memory = dict(state["prompt_memory"])
    engine._pending_failures = list(state.get("pending_failures", []))
    engine._restore_geometry()
    return engine
