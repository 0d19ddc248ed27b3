"""Check a geometry file against every rule of desktop-geometry-contract.md.

Hard rules (1-8) are the ones whose violation makes the viewer reject the file or crash; the
drawing rules (checked when ``strict``) are the ones that make it draw the run correctly.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from itertools import chain
from pathlib import Path
from typing import Any

from scalarscope.errors import GeometryFileNotFoundError
from scalarscope.export.drawing_rules import check_drawing
from scalarscope.export.records import CRITERIA, INT32_MAX, INT32_MIN
from scalarscope.export.violation import Violation

MAX_BYTES = 100 * 2**20  # the viewer opens at most this much; we refuse larger files before reading them
MAX_INT_DIGITS = 400  # longer JSON integers overflow a double anyway; parsed as a marker, never converted
NUM, INT, STR, BOOL, STR_OR_NULL = "number", "integer", "string", "boolean", "string or null"
SCHEMA: dict[str, Any] = {
    "schema_version": STR,
    "run_metadata": {"run_id": STR, "condition": STR, "seed": INT, "training_items": INT, "cycles": INT,
                     "holdout_professor": STR_OR_NULL, "conscience_tier": STR},
    "reduction": {"method": STR, "input_dim": INT, "output_dim": INT, "explained_variance": [NUM], "components": [[NUM]]},
    "trajectory": {"timesteps": [{"t": NUM, "state_2d": [NUM], "velocity": [NUM], "curvature": NUM, "effective_dim": NUM}]},
    "scalars": {"dimensions": [STR], "values": [{"t": NUM, **dict.fromkeys(CRITERIA, NUM)}]},
    "geometry": {"eigenvalues": [{"t": NUM, "values": [NUM]}], "anisotropy": [{"t": NUM, "ratio": NUM}]},
    "evaluators": {"latent_dim": INT, "professors": [{"name": STR, "vector": [NUM], "holdout": BOOL}]},
    "failures": [{"t": NUM, "category": STR, "severity": STR, "description": STR}],
}  # fmt: skip
_BARE_CONSTANT = re.compile(r'"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)')
_PYTHON_TYPE = {STR: str, BOOL: bool}
_NAMED_NON_FINITE = {"nan", "-nan", "infinity", "-infinity", "+infinity", "inf", "-inf", "+inf"}


class _NonFinite:
    """Stands in for a bare NaN/Infinity token; ``index`` counts such tokens in text order."""

    def __init__(self, token: str, index: int) -> None:
        self.token, self.index = token, index


class _HugeInt:
    """Stands in for a JSON integer of more than :data:`MAX_INT_DIGITS` digits (Python would refuse,
    or take quadratic time, to convert it)."""

    def __init__(self, digits: int) -> None:
        self.digits = digits


def _parse_int(text: str) -> int | _HugeInt:
    return int(text) if len(text) <= MAX_INT_DIGITS else _HugeInt(len(text.lstrip("-")))


_NESTING = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _too_deep(text: str, limit: int = 500) -> tuple[int, int]:
    """(line, column) where bracket nesting first goes deeper than ``limit`` (outside strings)."""
    depth = 0
    for match in _NESTING.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > limit:
                line = text.count("\n", 0, match.start()) + 1
                return line, match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
        elif token in "]}":
            depth -= 1
    return 1, 1


def _token_lines(text: str) -> list[int]:
    """The line of each bare NaN/Infinity token, in text order; one pass over the text (counting
    newlines only between consecutive tokens, never from the start again)."""
    lines, line, position = [], 1, 0
    for match in _BARE_CONSTANT.finditer(text):
        if match.group(1):
            line += text.count("\n", position, match.start())
            position = match.start()
            lines.append(line)
    return lines


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
            dict: "an object"}.get(type(value), type(value).__name__)  # fmt: skip


def parse_text(text: str) -> tuple[Any, list[Violation], list[int]]:
    """Parse JSON text; bare NaN/Infinity become markers. Returns (tree or None, violations, token lines)."""
    found: list[_NonFinite] = []

    def constant(token: str) -> _NonFinite:
        found.append(_NonFinite(token, len(found)))
        return found[-1]

    stripped = text.rstrip()
    violations = []
    if not stripped.endswith("}"):
        tail = stripped[-1:] or "nothing"
        violations.append(Violation("1", f"line {stripped.count(chr(10)) + 1}",
                                    f"truncated file: the last non-blank character is {tail!r}, not '}}'"))  # fmt: skip
    try:
        tree = json.loads(text, parse_constant=constant, parse_int=_parse_int)
    except json.JSONDecodeError as error:
        violations.append(Violation("1", f"line {error.lineno} column {error.colno}", f"not valid JSON: {error.msg}"))
        return None, violations, []
    except RecursionError:
        line, column = _too_deep(text)
        violations.append(Violation("1", f"line {line} column {column}",
                                    "nested too deeply to parse (lists/objects inside each other hundreds of "
                                    "levels deep); a geometry file is at most 4 levels deep"))
        return None, violations, []
    lines = _token_lines(text) if found else []
    if not isinstance(tree, dict):
        violations.append(Violation("1", "(top level)", f"must be a JSON object, got {_kind(tree)}"))
    return tree, violations, lines


def _leaf(value: Any, spec: str, path: str, out: list[Violation], lines: list[int]) -> None:
    if isinstance(value, _NonFinite):
        where = f" (line {lines[value.index]})" if value.index < len(lines) else ""
        out.append(Violation("2", path, f"is the bare token {value.token}{where}; every number must be finite"))
    elif isinstance(value, _HugeInt):
        rule, limit = ("3", "Int32") if spec == INT else ("2", "a double")
        out.append(Violation(rule, path, f"is an integer of {value.digits} digits; it overflows {limit}"))
    elif value is None:
        if spec != STR_OR_NULL:
            out.append(Violation("8", path, "is null; the viewer crashes on null (write \"\", [] or a value)"))
    elif spec == NUM:
        if isinstance(value, str) and _is_number_text(value):
            out.append(Violation("2", path, f"is a number written as a string ({value!r}); write a JSON number"))
        elif isinstance(value, str):
            out.append(Violation("4", path, f"must be a number, got the string {value[:40]!r}"))
        elif isinstance(value, bool) or not isinstance(value, int | float):
            out.append(Violation("4", path, f"must be a number, got {_kind(value)}"))
        elif not math.isfinite(value if isinstance(value, float) else min(abs(value), 2e308)):
            out.append(Violation("2", path, "overflows a double; every number must be finite"))
    elif spec == INT:
        if isinstance(value, bool) or not isinstance(value, int):
            shown = json.dumps(value) if isinstance(value, float | str) and value == value else _kind(value)
            out.append(Violation("3", path, f"must be a JSON integer (C# int), got {shown}"))
        elif not INT32_MIN <= value <= INT32_MAX:
            out.append(Violation("3", path, f"{value} is outside Int32 [{INT32_MIN}, {INT32_MAX}]"))
    elif spec == BOOL and not isinstance(value, bool):
        out.append(Violation("4", path, f"must be true or false, got {_kind(value)} {value!r}"))
    elif spec in (STR, STR_OR_NULL) and not isinstance(value, str):
        out.append(Violation("4", path, f"must be a string, got {_kind(value)}"))


def _is_number_text(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _any(value: Any, path: str, out: list[Violation], lines: list[int]) -> None:
    """Unknown keys: the viewer ignores them, but the JSON must still be finite and null-free."""
    if isinstance(value, dict):
        for key, item in value.items():
            _any(item, f"{path}.{key}", out, lines)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _any(item, f"{path}[{i}]", out, lines)
    elif value is None or isinstance(value, _NonFinite | _HugeInt) or (
            isinstance(value, float) and not math.isfinite(value)):
        _leaf(value, NUM, path, out, lines)
    elif isinstance(value, str) and value.strip().lower() in _NAMED_NON_FINITE:
        out.append(Violation("2", path, f"is the quoted non-finite token {value!r}"))


def _fast_list_ok(items: list[Any], spec: dict[str, Any]) -> bool:
    """True when a long list of flat records is certainly valid (checked with set-of-types, not a walk)."""
    if not all(type(item) is dict and item.keys() == spec.keys() for item in items):
        return False
    for key, leaf in spec.items():
        values = [item[key] for item in items]
        if isinstance(leaf, list):
            if set(map(type, values)) - {list}:
                return False
            values = list(chain.from_iterable(values))
            leaf = leaf[0]
        types = set(map(type, values))
        if leaf == NUM and (types - {float} or not all(map(math.isfinite, values))):
            return False  # ints take the slow path, which also catches ints that overflow a double
        if leaf != NUM and types - {_PYTHON_TYPE.get(leaf)}:
            return False
    return True


def _walk(value: Any, spec: Any, path: str, out: list[Violation], lines: list[int]) -> None:
    if value is None or isinstance(value, _NonFinite | _HugeInt) or isinstance(spec, str):
        if isinstance(spec, dict | list) and value is None:
            out.append(Violation("8", path, f"is null; the viewer crashes on a null {'object' if isinstance(spec, dict) else 'list'}"))
        else:
            _leaf(value, spec if isinstance(spec, str) else NUM, path, out, lines)
    elif isinstance(spec, dict):
        if not isinstance(value, dict):
            out.append(Violation("4", path, f"must be an object, got {_kind(value)}"))
            return
        prefix = f"{path}." if path else ""
        for key, sub in spec.items():
            if key in value:
                _walk(value[key], sub, prefix + key, out, lines)
            elif sub != STR_OR_NULL:
                out.append(Violation("8", prefix + key, "is missing; the viewer would read it as null or 0"))
        for key in value.keys() - spec.keys():
            _any(value[key], prefix + key, out, lines)
    elif not isinstance(value, list):
        out.append(Violation("4", path, f"must be a list, got {_kind(value)}"))
    elif not (isinstance(spec[0], dict) and len(value) > 64 and _fast_list_ok(value, spec[0])):
        for i, item in enumerate(value):
            _walk(item, spec[0], f"{path}[{i}]", out, lines)


def check_hard_rules(tree: Any, lines: list[int] | None = None) -> list[Violation]:
    """Rules 2-8 on a parsed tree (rule 1 is about the text and is checked by :func:`parse_text`)."""
    if not isinstance(tree, dict):
        return [Violation("1", "(top level)", f"must be a JSON object, got {_kind(tree)}")]
    out: list[Violation] = []
    try:
        _walk(tree, SCHEMA, "", out, lines or [])
    except RecursionError:  # unknown keys nested hundreds deep (the parser took them; our walk does not)
        return [*out, Violation("1", "(unknown keys)", "nested too deeply to check; a geometry file is at most "
                                "4 levels deep")]
    version = tree.get("schema_version")
    if isinstance(version, str) and version.split(".")[0] != "1":
        out.append(Violation("5", "schema_version", f"is {version!r}; the viewer reads schema 1.x only (write \"1.0\")"))
    timesteps = (tree.get("trajectory") or {}).get("timesteps") if isinstance(tree.get("trajectory"), dict) else None
    if isinstance(timesteps, list):
        first = timesteps[0] if timesteps else None
        if not timesteps:
            out.append(Violation("6", "trajectory.timesteps", "is empty; the viewer needs at least one timestep"))
        elif isinstance(first, dict) and isinstance(first.get("state_2d"), list) and len(first["state_2d"]) < 2:
            out.append(Violation("6", "trajectory.timesteps[0].state_2d", f"has {len(first['state_2d'])} number(s); needs 2"))
    metadata = tree.get("run_metadata")
    if isinstance(metadata, dict) and not any(isinstance(metadata.get(k), str) and metadata[k] for k in ("run_id", "condition")):
        out.append(Violation("7", "run_metadata", "run_id and condition are both empty; give at least one (we write both)"))
    return out


def _file_kind(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def read_text(path: Path) -> tuple[str | None, list[Violation]]:
    """The file's text and any rule-1 violation of the file itself (name, kind, size, encoding).

    Only regular files (or symlinks to one) are read, and only up to :data:`MAX_BYTES`: a FIFO, a
    device such as ``/dev/zero`` or a directory is refused without reading it.
    """
    try:
        mode = os.stat(path).st_mode  # follows symlinks; never blocks, even on a FIFO
    except FileNotFoundError:
        raise GeometryFileNotFoundError(f"{path}: no such geometry file.") from None
    except OSError as error:
        return None, [Violation("1", "(file)", f"cannot be read: {error.strerror}")]
    out = []
    if path.suffix.lower() != ".json":
        out.append(Violation("1", "(file name)", f"must end in .json, got {path.name!r}"))
    if not stat.S_ISREG(mode):
        return None, [*out, Violation("1", "(file)", f"is {_file_kind(mode)}, not a JSON file; give a regular file")]
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as error:
        return None, [*out, Violation("1", "(file)", f"cannot be read: {error.strerror}")]
    if len(raw) > MAX_BYTES:
        size = os.path.getsize(path)
        return None, [*out, Violation("1", "(file)", f"is {size / 2**20:.1f} MiB; the viewer opens at most "
                                      f"{MAX_BYTES // 2**20} MiB")]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        return None, [*out, Violation("1", f"line {line}", f"is not UTF-8 (byte {error.start}: {error.reason})")]
    return text, out


def validate_geometry(source: str | os.PathLike[str] | dict[str, Any], *, strict: bool = True) -> list[Violation]:
    """Every contract violation of a geometry file (a path) or an already-parsed tree (a dict).

    Hard rules always; with ``strict`` also the drawing rules (shared t grid, |coords| <= 2, values in
    range...), checked once the hard rules pass. The viewer's own samples pass strict=False; files
    written by :func:`write_geometry` pass strict=True. Raises GeometryFileNotFoundError if missing.
    """
    size = None
    if isinstance(source, dict):
        tree, violations, lines = source, [], []
    else:
        path = Path(source)
        text, violations = read_text(path)
        if text is None:
            return violations
        size = len(text.encode("utf-8"))
        tree, parse_violations, lines = parse_text(text)
        violations += parse_violations
        if tree is None:
            return violations
    violations += [v for v in check_hard_rules(tree, lines) if v not in violations]
    if strict and not any(v.hard for v in violations):
        violations += check_drawing(tree, size)
    return violations
