"""Protocol conformance by signature: ``isinstance`` on a runtime-checkable protocol sees only
attribute names, so a method with the wrong parameters passes it. This checks the parameters."""

from __future__ import annotations

import inspect


def _parameters(function) -> list[inspect.Parameter]:
    return [p for p in inspect.signature(function).parameters.values() if p.name != "self"]


def mismatches(obj, protocol) -> list[str]:
    """What ``obj`` lacks of ``protocol``: missing members, and methods whose parameters differ in
    name, order or kind from the protocol's (extra parameters are fine when they have defaults)."""
    found = []
    members = {n for n in vars(protocol) if not n.startswith("_")} | set(getattr(protocol, "__annotations__", {}))
    for name in sorted(members):
        if not hasattr(obj, name):
            found.append(f"{name}: missing")
            continue
        declared = inspect.getattr_static(protocol, name, None)
        if not inspect.isfunction(declared):
            continue  # a data attribute or a property: its presence is the contract
        wanted, given = _parameters(declared), _parameters(getattr(obj, name))
        names = [(p.name, p.kind) for p in given]
        if [(p.name, p.kind) for p in wanted] != names[:len(wanted)] and not any(
                p.kind is p.VAR_KEYWORD for p in given):
            found.append(f"{name}{inspect.signature(getattr(obj, name))} differs from {name}{inspect.signature(declared)}")
        elif any(p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in given[len(wanted):]):
            found.append(f"{name}: extra parameters without defaults")
    return found
