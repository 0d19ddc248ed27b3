"""Every field of a checkpoint's spec, type- and range-checked before an engine is built from it.

A checkpoint is a file anyone can edit; :mod:`scalarscope.engine._codec` only builds the kit's own
record classes from it, and this module checks that each field holds what ``engine.save`` writes
(the right kind of value in the right range), so a crafted or damaged file is refused with a
:class:`~scalarscope.errors.CheckpointError` naming the field, instead of loading and failing at the
next step. Tensors are checked against the engine built from the spec (:func:`check_tensors`).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from scalarscope.errors import CheckpointError

MAX_CYCLE = 10**9
_PARAM_GROUP_NUMBERS = ("lr", "eps", "weight_decay")


def _fail(field: str, expected: str, value: object) -> CheckpointError:
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:60] + "..."
    return CheckpointError(f"checkpoint field {field!r} must be {expected}, got {shown} ({type(value).__name__}); "
                           "the file is damaged or was not written by engine.save")


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _int_field(value: object, field: str, low: int, high: int) -> None:
    if not _is_int(value) or not low <= value <= high:
        raise _fail(field, f"an int in [{low}, {high:,}]", value)


def _instances(values: object, kind: type, field: str) -> None:
    if not isinstance(values, list) or not all(isinstance(v, kind) for v in values):
        raise _fail(field, f"a list of {kind.__name__}", values)


def check_spec(spec: dict) -> None:
    """Raise CheckpointError naming the first field of ``spec`` that does not hold what save writes."""
    from scalarscope.engine.config import EngineConfig
    from scalarscope.engine.records import CycleRecord, FailureEvent

    _int_field(spec.get("seed"), "seed", 0, 2**63 - 1)
    _int_field(spec.get("cycle"), "cycle", 0, MAX_CYCLE)
    if not isinstance(spec.get("config"), EngineConfig):
        raise _fail("config", "an EngineConfig record", spec.get("config"))
    if spec.get("holdout") is not None and not isinstance(spec["holdout"], str):
        raise _fail("holdout", "None or an evaluator name", spec["holdout"])
    prompts = spec.get("prompts")
    if not isinstance(prompts, list) or not prompts or not all(isinstance(p, str) for p in prompts):
        raise _fail("prompts", "a non-empty list of str", prompts)
    for field in ("student", "evaluators", "optimizer", "critic", "pool", "prompt_memory", "extra"):
        if not isinstance(spec.get(field), dict):
            raise _fail(field, "a JSON object", spec.get(field))
    _instances(spec.get("history"), CycleRecord, "history")
    _instances(spec.get("pending_failures"), FailureEvent, "pending_failures")
    if not isinstance(spec["extra"].get("init_kwargs", {}), dict):
        raise _fail("extra.init_kwargs", "a JSON object", spec["extra"]["init_kwargs"])
    _check_evaluators(spec["evaluators"])
    _check_optimizer(spec["optimizer"])
    _check_pool(spec["pool"])


def _check_evaluators(saved: dict) -> None:
    names = saved.get("names")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise _fail("evaluators.names", "a non-empty list of str", names)
    if saved.get("synthetic") is not None and not isinstance(saved["synthetic"], dict):
        raise _fail("evaluators.synthetic", "None or a JSON object", saved["synthetic"])
    fingerprint = saved.get("fingerprint")
    if not isinstance(fingerprint, np.ndarray) or fingerprint.ndim != 2 or fingerprint.shape[1] != len(names) \
            or fingerprint.dtype.kind != "f":
        raise _fail("evaluators.fingerprint", f"a float array [probes, {len(names)}]", fingerprint)


def _check_optimizer(saved: dict) -> None:
    groups, slots = saved.get("param_groups"), saved.get("slots")
    if not isinstance(groups, list) or not groups or not all(isinstance(g, dict) for g in groups):
        raise _fail("optimizer.param_groups", "a non-empty list of JSON objects", groups)
    for i, group in enumerate(groups):
        for key in _PARAM_GROUP_NUMBERS:
            value = group.get(key)
            if key in group and (isinstance(value, bool) or not isinstance(value, numbers.Real)
                                 or not math.isfinite(value) or value < 0 or (key == "lr" and value == 0)):
                raise _fail(f"optimizer.param_groups[{i}].{key}", "a finite number >= 0 (lr > 0)", value)
        betas = group.get("betas")
        if "betas" in group and not (isinstance(betas, tuple | list) and len(betas) == 2 and all(
                isinstance(b, numbers.Real) and not isinstance(b, bool) and 0 <= b < 1 for b in betas)):
            raise _fail(f"optimizer.param_groups[{i}].betas", "two numbers in [0, 1)", betas)
        params = group.get("params")
        if not isinstance(params, list) or not all(_is_int(p) and p >= 0 for p in params):
            raise _fail(f"optimizer.param_groups[{i}].params", "a list of parameter indices", params)
    if not isinstance(slots, list) or not all(_is_int(s) and s >= 0 for s in slots):
        raise _fail("optimizer.slots", "a list of parameter indices", slots)


def _check_pool(pool: dict) -> None:
    from scalarscope.governor import GovernorConfig
    from scalarscope.governor.token_pool import LedgerEntry

    if not isinstance(pool.get("config"), GovernorConfig):
        raise _fail("pool.config", "a GovernorConfig record", pool.get("config"))
    _instances(pool.get("ledger"), LedgerEntry, "pool.ledger")
    for i, entry in enumerate(pool["ledger"]):
        for name in ("cycle", "requested", "granted", "used", "refused", "revision_granted", "revision_used"):
            _int_field(getattr(entry, name), f"pool.ledger[{i}].{name}", 0, 2**62)
        if not isinstance(entry.exhausted, bool):
            raise _fail(f"pool.ledger[{i}].exhausted", "true or false", entry.exhausted)
    _int_field(pool.get("spent_total"), "pool.spent_total", 0, 2**62)


def check_tensors(engine, tensors: dict, critic_fields: dict) -> None:
    """The stored tensors must have the dtype and shape of the engine built from the spec (a tensor
    of another dtype would be cast silently: the same bytes read as other numbers), and the
    critic's stored fields the types of a fresh critic's."""
    expected = engine.model.state_dict()
    for name, tensor in tensors.items():
        if name.startswith("model."):
            key = name[len("model."):]
            want = expected.get(key)
            if want is not None and (tensor.dtype != want.dtype or tuple(tensor.shape) != tuple(want.shape)):
                raise CheckpointError(f"checkpoint tensor {name!r} is {tensor.dtype} {tuple(tensor.shape)}, but the "
                                      f"student's is {want.dtype} {tuple(want.shape)}; the file is damaged or was not "
                                      "written by engine.save for this student")
        elif name.startswith("optimizer.") and not tensor.dtype.is_floating_point:
            raise CheckpointError(f"checkpoint tensor {name!r} is {tensor.dtype}; optimizer state is floating point")
    fresh = engine.critic.state_dict()
    for key, value in critic_fields.items():
        if key not in fresh:
            raise CheckpointError(f"checkpoint critic field {key!r} is not a field of the critic")
        if isinstance(fresh[key], np.ndarray):
            if not isinstance(value, np.ndarray) or value.dtype != fresh[key].dtype or value.shape != fresh[key].shape:
                raise _fail(f"critic.{key}", f"a {fresh[key].dtype} array of shape {fresh[key].shape}", value)
        elif fresh[key] is not None and _kind(value) != _kind(fresh[key]):
            raise _fail(f"critic.{key}", f"{_kind(fresh[key])} like a fresh critic's", value)


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a bool"
    if _is_int(value):
        return "an int"
    if isinstance(value, numbers.Real):
        return "a finite number" if math.isfinite(value) else "a non-finite number"
    return f"a {type(value).__name__}"
