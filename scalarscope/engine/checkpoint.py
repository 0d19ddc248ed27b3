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
from typing import TYPE_CHECKING

import numpy as np
import torch

from scalarscope._atomic import atomic_write
from scalarscope.engine import _codec
from scalarscope.engine._checkpoint_file import FORMAT, MAX_BYTES, _checkpoint_path, _read, tensor_digest
from scalarscope.engine.records import History
from scalarscope.errors import CheckpointError

if TYPE_CHECKING:
    from scalarscope.engine.loop import ScalarScopeEngine
    from scalarscope.student.protocol import Student

_FINGERPRINT_TOLERANCE = 1e-6


def save_engine(engine, path) -> Path:
    """Write ``engine`` to ``path`` atomically (see the module docstring); SIGINT and SIGTERM wait
    until the file is complete."""
    from scalarscope._atomic import check_output_path, hold_signals

    check_output_path(path, "checkpoint", probe=False)
    with hold_signals():
        return _save(engine, path)


def _save(engine, path) -> Path:
    from safetensors.torch import save

    context = engine.context
    tensors = {f"model.{k}": v for k, v in context.student.state_dict().items()}
    optimizer = engine.optimizer.state_dict()
    for index, slots in optimizer["state"].items():
        tensors.update({f"optimizer.{index}.{k}": torch.as_tensor(v) for k, v in slots.items()})
    critic = engine.critic.state_dict()
    tensors.update({f"critic.{k}": torch.from_numpy(np.ascontiguousarray(v)) for k, v in critic.items()
                    if isinstance(v, np.ndarray)})
    tensors.update({f"extra.{k}": v for k, v in engine.run_tensors().items()})
    spec = {
        "format": FORMAT,
        "engine": type(engine).__name__,
        "seed": context.seed,
        "cycle": engine.cycle,
        "config": context.config,
        "holdout": context.holdout,
        "prompts": list(context.prompts),
        "student": student_spec(context.student),
        "evaluators": {"names": list(context.evaluator_names), "synthetic": synthetic_spec(context.evaluators),
                       "fingerprint": context.state_probe_scores},
        "optimizer": {"param_groups": optimizer["param_groups"], "slots": sorted(optimizer["state"])},
        "critic": {k: v for k, v in critic.items() if not isinstance(v, np.ndarray)},
        "pool": engine.token_pool.state_dict(),
        "history": list(engine.history),
        **engine.run_state(),  # prompt_memory, pending_failures, extra
    }
    # cloned: tied weights (an LM head sharing the embedding) are stored once per name
    tensors = {k: v.detach().cpu().clone().contiguous() for k, v in tensors.items()}
    metadata = {"format": FORMAT, "scalarscope": json.dumps(_codec.encode(spec)),
                "tensor_sha256": tensor_digest(tensors)}
    data = save(tensors, metadata=metadata)
    return atomic_write(path, lambda handle: handle.write(data))


def load_engine(cls, path, *, evaluators=None, model=None) -> ScalarScopeEngine:
    """Rebuild the engine saved at ``path``; ``evaluators`` for a set that is not synthetic,
    ``model`` to load the weights into a student you built (otherwise rebuilt from its spec)."""
    from scalarscope.engine._spec_checks import check_spec, check_tensors
    from scalarscope.errors import EvaluatorError
    from scalarscope.governor import TokenPool

    path = _checkpoint_path(path)
    spec, tensors = _read(path)
    try:
        if not isinstance(spec.get("engine"), str):
            raise CheckpointError(f"{str(path)!r} claims {FORMAT} but its content does not fit it (no engine class "
                                  "name); it is damaged or was not written by engine.save")
        if spec.get("engine") != cls.__name__:
            raise CheckpointError(f"{str(path)!r} holds a {spec.get('engine')}; load it with {spec.get('engine')}.load")
        check_spec(spec)
        evaluators = _evaluators(spec["evaluators"], evaluators, path)
        student = model if model is not None else student_from_spec(spec["student"])
        pool_state = spec["pool"]
        pool = TokenPool(pool_state["config"])
        pool.load_state_dict(pool_state)
        try:
            engine = cls(model=student, evaluators=evaluators, token_pool=pool, holdout=spec["holdout"],
                         seed=spec["seed"], config=spec["config"], prompts=spec["prompts"],
                         **spec["extra"].get("init_kwargs", {}))
        except EvaluatorError as exc:
            raise CheckpointError(f"the evaluators fail on the checkpoint's fixed probes ({exc}); the file is fine: "
                                  "pass evaluators that work (the ones it was trained with)") from exc
        _check_fingerprint(engine, spec["evaluators"]["fingerprint"], path)
        critic_fields = dict(spec["critic"]) | {k: v.numpy().copy() for k, v in _section(tensors, "critic").items()}
        check_tensors(engine, tensors, critic_fields)
        engine.model.load_state_dict(_section(tensors, "model"))
        engine.optimizer.load_state_dict(_optimizer_state(spec["optimizer"], tensors))
        engine.critic.load_state_dict(critic_fields)
        engine.restore_run_state(spec, _section(tensors, "extra"), History(spec["history"]), spec["cycle"])
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError, IndexError) as exc:
        raise CheckpointError(f"{str(path)!r} claims {FORMAT} but its content does not fit it "
                              f"({type(exc).__name__}: {exc}); it is damaged or was not written by engine.save") from exc
    return engine


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
        spec["model_type"] = spec["config"].get("model_type")
    return spec


def student_from_spec(spec: dict) -> Student:
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
    """The Hugging Face student of ``spec``; its config is checked before transformers sees it
    (:mod:`scalarscope._hf_config`: no ``auto_map``, no foreign ``model_type``, default
    attention), and the model is built with ``trust_remote_code=False``."""
    from transformers import PreTrainedTokenizerFast

    from scalarscope._hf_config import build_causal_lm, check_model_config
    from scalarscope.student._hf_checks import device_problem
    from scalarscope.student.hf import HFStudent

    if spec.get("tokenizer") is None:
        raise CheckpointError("this checkpoint's student has a slow tokenizer that was not stored; "
                              "load with model=HFStudent(...) built as before")
    expected = spec.get("model_type")
    if expected is not None and not isinstance(expected, str):
        raise CheckpointError(f"the checkpoint's student model_type must be a string, got {expected!r}")
    config = check_model_config(spec["config"], "checkpoint student", expected_model_type=expected)
    device = spec.get("device", "cpu")
    problem = device_problem(device)
    if problem is not None:
        raise CheckpointError(f"the checkpoint's student device: {problem}; load it with "
                              "model=HFStudent(..., device='cpu')")
    core = _stored_tokenizer(spec["tokenizer"])
    model = build_causal_lm(config)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, **spec["tokenizer"]["special"])
    return HFStudent(model, tokenizer, seed=spec["seed"], device=device, n_heads=spec["n_heads"])


def _stored_tokenizer(stored: dict):
    """The ``tokenizers`` object of a stored ``tokenizer.json`` text (tokenizers raises a bare Exception)."""
    from tokenizers import Tokenizer

    if not isinstance(stored, dict) or not isinstance(stored.get("json"), str) or not isinstance(
            stored.get("special"), dict) or not all(isinstance(v, str) for v in stored["special"].values()):
        raise CheckpointError("the checkpoint's stored tokenizer must be {'json': str, 'special': {name: str}}")
    try:
        return Tokenizer.from_str(stored["json"])
    except Exception as exc:  # tokenizers raises a bare Exception for any malformed JSON
        raise CheckpointError(f"the checkpoint's stored tokenizer.json is malformed ({exc}); it is damaged or "
                              "was not written by engine.save") from None


# -- evaluators -------------------------------------------------------------------------------------
def synthetic_spec(evaluators) -> dict | None:
    """How :func:`correlated_evaluators` rebuilds this set, or None when it is not one such set."""
    from scalarscope.evaluators.synthetic import SyntheticEvaluator

    latent = getattr(evaluators, "latent", None)
    members = list(evaluators)
    if latent is None or not all(isinstance(e, SyntheticEvaluator) and e.latent is latent for e in members):
        return None
    first = members[0]
    return {"n": len(members), "overlap": float(evaluators.overlap), "seed": latent.seed,
            "names": [e.name for e in members], "latent_dim": latent.latent_dim,
            "context_share": latent.context_share, "gain": first.gain, "noise": first.noise}


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


__all__ = ["FORMAT", "MAX_BYTES", "load_engine", "save_engine", "student_from_spec", "student_spec", "synthetic_spec",
           "tensor_digest"]
