"""Checkpoints: everything a resumed run needs to continue exactly as an uninterrupted one, in a
file that cannot run code when it is loaded.

One safetensors file: every tensor (the student's weights, the optimiser's moments, the critic's
arrays) is a named tensor; everything else (the engine's settings, the student's spec, the
evaluators' names and fingerprint, the pool, the history) is JSON in the file's metadata, decoded
by :mod:`scalarscope.engine._codec`, which only builds the kit's own record classes. There is no
random-number state to save: each cycle's randomness derives from (seed, cycle).

Evaluators are not stored. Synthetic ones are rebuilt from their spec; any others are passed to
``load(path, evaluators=...)``. Either way they must match the saved set: the same names in the
same order, and the same scores on the engine's fixed state probe (a fingerprint).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from scalarscope._atomic import atomic_write
from scalarscope.engine import _codec
from scalarscope.engine.records import History
from scalarscope.errors import CheckpointError

FORMAT = "scalarscope-checkpoint-2"
_FINGERPRINT_TOLERANCE = 1e-6


def save_engine(engine, path) -> Path:
    """Write ``engine`` to ``path`` atomically (see the module docstring)."""
    from safetensors.torch import save

    tensors = {f"model.{k}": v for k, v in engine.model.state_dict().items()}
    optimizer = engine.optimizer.state_dict()
    for index, slots in optimizer["state"].items():
        tensors.update({f"optimizer.{index}.{k}": torch.as_tensor(v) for k, v in slots.items()})
    critic = engine.critic.state_dict()
    tensors.update({f"critic.{k}": torch.from_numpy(np.ascontiguousarray(v)) for k, v in critic.items()
                    if isinstance(v, np.ndarray)})
    tensors.update({f"extra.{k}": v for k, v in engine._extra_tensors().items()})
    spec = {
        "format": FORMAT,
        "engine": type(engine).__name__,
        "seed": engine.seed,
        "cycle": engine.cycle,
        "config": engine.config,
        "holdout": engine.holdout,
        "prompts": list(engine.prompts),
        "student": student_spec(engine.model),
        "evaluators": {"names": [e.name for e in engine.evaluators], "synthetic": synthetic_spec(engine.evaluators),
                       "fingerprint": engine.state_probe_scores},
        "optimizer": {"param_groups": optimizer["param_groups"], "slots": sorted(optimizer["state"])},
        "critic": {k: v for k, v in critic.items() if not isinstance(v, np.ndarray)},
        "pool": engine.token_pool.state_dict(),
        "history": list(engine.history),
        "prompt_memory": dict(engine._prompt_memory),
        "pending_failures": list(engine._pending_failures),
        "extra": engine._extra_state(),
    }
    metadata = {"format": FORMAT, "scalarscope": json.dumps(_codec.encode(spec))}
    # cloned: tied weights (an LM head sharing the embedding) are stored once per name
    data = save({k: v.detach().cpu().clone().contiguous() for k, v in tensors.items()}, metadata=metadata)
    return atomic_write(path, lambda handle: handle.write(data))


def load_engine(cls, path, *, evaluators=None, model=None):
    """Rebuild the engine saved at ``path``; ``evaluators`` for a set that is not synthetic,
    ``model`` to load the weights into a student you built (otherwise rebuilt from its spec)."""
    from scalarscope.governor import TokenPool

    spec, tensors = _read(Path(path))
    try:
        if spec["engine"] != cls.__name__:
            raise CheckpointError(f"{str(path)!r} holds a {spec['engine']}; load it with {spec['engine']}.load")
        evaluators = _evaluators(spec["evaluators"], evaluators, path)
        student = model if model is not None else student_from_spec(spec["student"])
        pool_state = spec["pool"]
        pool = TokenPool(pool_state["config"])
        pool.load_state_dict(pool_state)
        engine = cls(model=student, evaluators=evaluators, token_pool=pool, holdout=spec["holdout"],
                     seed=spec["seed"], config=spec["config"], prompts=spec["prompts"],
                     **spec["extra"].get("init_kwargs", {}))
        _check_fingerprint(engine, spec["evaluators"]["fingerprint"], path)
        engine.model.load_state_dict(_section(tensors, "model"))
        engine.optimizer.load_state_dict(_optimizer_state(spec["optimizer"], tensors))
        critic = dict(spec["critic"]) | {k: v.numpy().copy() for k, v in _section(tensors, "critic").items()}
        engine.critic.load_state_dict(critic)
        engine._load_extra(spec["extra"], _section(tensors, "extra"))
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{str(path)!r} claims {FORMAT} but its content does not fit it "
                              f"({type(exc).__name__}: {exc}); it is damaged or was not written by engine.save") from exc
    engine.history = History(spec["history"])
    engine.cycle = spec["cycle"]
    engine._prompt_memory = dict(spec["prompt_memory"])
    engine._pending_failures = list(spec["pending_failures"])
    engine._restore_geometry()
    return engine


def _read(path: Path) -> tuple[dict, dict[str, torch.Tensor]]:
    """The spec and tensors of a checkpoint file; never unpickles anything."""
    from safetensors import safe_open

    if not path.exists():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist; save one with engine.save(path)")
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} is not a regular file")
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head[:2] == b"PK":
        raise CheckpointError(
            f"{str(path)!r} is a checkpoint in the old pickled format (scalarscope-checkpoint-1), which is no longer "
            "loaded: unpickling a file can run code. Re-run the training, or load it once with the ScalarScope "
            "version that wrote it and save again.")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            tensors = {k: handle.get_tensor(k) for k in handle.keys()}  # noqa: SIM118 (not a dict)
        if metadata.get("format") != FORMAT:
            raise CheckpointError(f"{str(path)!r} is not a {FORMAT} file (format: {metadata.get('format')!r})")
        spec = _codec.decode(json.loads(metadata["scalarscope"]))
    except CheckpointError:
        raise
    except Exception as exc:  # a truncated or foreign file: safetensors and json raise many kinds
        raise CheckpointError(f"checkpoint {str(path)!r} could not be read ({type(exc).__name__}: {exc}); "
                              "it is corrupt or not a ScalarScope checkpoint") from exc
    if not isinstance(spec, dict) or spec.get("format") != FORMAT:
        raise CheckpointError(f"{str(path)!r} is not a {FORMAT} file")
    return spec, tensors


def _section(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    start = prefix + "."
    return {k[len(start):]: v for k, v in tensors.items() if k.startswith(start)}


def _optimizer_state(saved: dict, tensors: dict[str, torch.Tensor]) -> dict:
    slots = _section(tensors, "optimizer")
    state: dict[int, dict] = {int(i): {} for i in saved["slots"]}
    for key, value in slots.items():
        index, name = key.split(".", 1)
        state[int(index)][name] = value
    return {"state": state, "param_groups": [dict(g) for g in saved["param_groups"]]}


# -- students --------------------------------------------------------------------------------------
def student_spec(model) -> dict:
    """The student's JSON spec; a Hugging Face student also carries its model config and its
    tokenizer (the content of ``config.json`` and ``tokenizer.json`` that ``save_pretrained`` writes)."""
    spec = dict(model.spec())
    if spec.get("kind") == "hf":
        hf_tokenizer = model.tokenizer.hf
        if not hasattr(hf_tokenizer, "backend_tokenizer"):
            spec["tokenizer"] = None  # a slow tokenizer: the user passes model= at load
        else:
            spec["tokenizer"] = {"json": hf_tokenizer.backend_tokenizer.to_str(),
                                 "special": {k: v for k, v in hf_tokenizer.special_tokens_map.items()
                                             if isinstance(v, str)}}
        spec["config"] = model.lm.config.to_dict()
    return spec


def student_from_spec(spec: dict):
    """A student with the structure ``spec`` describes (weights initialised, to be loaded)."""
    kind = spec.get("kind")
    if kind == "gru":
        from scalarscope.student.model import CharStudent
        from scalarscope.student.tokenizer import CharTokenizer

        return CharStudent(width=spec["width"], n_heads=spec["n_heads"], seed=spec["seed"],
                           tokenizer=CharTokenizer(spec["alphabet"]))
    if kind == "hf":
        return _build_hf(spec)
    raise CheckpointError(f"unknown student kind {kind!r} in the checkpoint; pass model= to load it into your student")


def _build_hf(spec: dict):
    from tokenizers import Tokenizer
    from transformers import AutoConfig, AutoModelForCausalLM, PreTrainedTokenizerFast

    from scalarscope.student.hf import HFStudent

    if spec.get("tokenizer") is None:
        raise CheckpointError("this checkpoint's student has a slow tokenizer that was not stored; "
                              "load with model=HFStudent(...) built as before")
    config = dict(spec["config"])
    model = AutoModelForCausalLM.from_config(AutoConfig.for_model(config.pop("model_type"), **config))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_str(spec["tokenizer"]["json"]),
                                        **spec["tokenizer"]["special"])
    return HFStudent(model, tokenizer, seed=spec["seed"], device=spec.get("device", "cpu"), n_heads=spec["n_heads"])


# -- evaluators -------------------------------------------------------------------------------------
def synthetic_spec(evaluators) -> dict | None:
    """How :func:`correlated_evaluators` rebuilds this set, or None when it is not one such set."""
    from scalarscope.evaluators.synthetic import SyntheticEvaluator

    world = getattr(evaluators, "world", None)
    members = list(evaluators)
    if world is None or not all(isinstance(e, SyntheticEvaluator) and e.world is world for e in members):
        return None
    first = members[0]
    return {"n": len(members), "overlap": float(evaluators.overlap), "seed": world.seed,
            "names": [e.name for e in members], "latent_dim": world.latent_dim,
            "context_share": world.context_share, "gain": first.gain, "noise": first.noise}


def _evaluators(saved: dict, given, path):
    from scalarscope.evaluators.synthetic import correlated_evaluators

    if given is None:
        if saved["synthetic"] is None:
            raise CheckpointError(f"{str(path)!r} was trained with evaluators {saved['names']} that are not stored in "
                                  "checkpoints; pass them: load(path, evaluators=[...])")
        return correlated_evaluators(**saved["synthetic"])
    names = [getattr(e, "name", None) or getattr(e, "__name__", "?") for e in given]
    if names != list(saved["names"]):
        raise CheckpointError(f"the evaluators given ({names}) are not the saved set ({saved['names']}); pass the same "
                              "evaluators, in the same order")
    return given


def _check_fingerprint(engine, saved: np.ndarray, path) -> None:
    """The evaluators must score the fixed state probe as the saved ones did."""
    now = engine.state_probe_scores
    saved = np.asarray(saved)
    if now.shape != saved.shape:
        raise CheckpointError(f"the evaluators give {now.shape[1]} scores, the checkpoint {str(path)!r} has "
                              f"{saved.shape[1]}; pass the saved evaluators")
    error = np.abs(now - saved).max(axis=0)
    wrong = [e.name for e, err in zip(engine.evaluators, error, strict=True) if not err <= _FINGERPRINT_TOLERANCE]
    if wrong:
        raise CheckpointError(f"evaluator(s) {wrong} score the checkpoint's fixed probes differently from the ones "
                              f"it was trained with (max difference {error.max():.3g}); pass the same evaluators")


__all__ = ["FORMAT", "student_from_spec", "load_engine", "save_engine", "student_spec", "synthetic_spec"]
