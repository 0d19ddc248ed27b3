"""The golden runs: three short, fully seeded runs whose every recorded number is pinned.

    python tools/golden.py            # compare with tests/golden/golden_runs.json, print differences
    python tools/golden.py --update   # regenerate the stored file (explain why in the commit message)

Each run trains 30 cycles from seed 0 at overlap 0.87 with ``clarity`` held out, then measures
holdout transfer on 500 fresh random probes. The runs cover the default GRU student, the tiny
GPT-2 student, and the revision engine on the GRU. Every column of ``history.to_frame()`` except
the wall-clock time is compared, and every field of the final transfer measurement.

Tolerance: the runs are deterministic on one machine (bit-identical reruns), so a change of any
line that touches the numbers moves them by far more than float32 round-off. Another CPU of the
same kind may order a float32 reduction differently; that moves a value by a few ulps per cycle.
Floats therefore compare with ``RTOL``/``ATOL`` below (about 1e-5 relative), text and integers
exactly: a different sampled token is a different run, whatever the machine.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from pathlib import Path

import numpy as np

GOLDEN_FILE = Path(__file__).resolve().parent.parent / "tests" / "golden" / "golden_runs.json"
CYCLES = 30
RTOL = 1e-5
ATOL = 1e-7
SKIPPED_COLUMNS = frozenset({"wall_ms"})  # wall-clock time: the one column that is not a result


def _engine(name: str):
    from scalarscope.engine import RevisionScalarScopeEngine, ScalarScopeEngine
    from scalarscope.evaluators import correlated_evaluators
    from scalarscope.student import default_student, tiny_gpt2

    evaluators = correlated_evaluators(5, 0.87, seed=0)
    if name == "gru":
        return ScalarScopeEngine(model=default_student(seed=0), evaluators=evaluators, holdout="clarity", seed=0)
    if name == "tiny-gpt2":
        return ScalarScopeEngine(model=tiny_gpt2(seed=0), evaluators=evaluators, holdout="clarity", seed=0)
    if name == "revision":
        return RevisionScalarScopeEngine(model=default_student(seed=0), evaluators=evaluators, holdout="clarity",
                                         seed=0)
    raise ValueError(f"unknown golden run {name!r}; choose one of {RUNS}")


RUNS = ("gru", "tiny-gpt2", "revision")


def _plain(value):
    """A JSON-safe copy: NaN and infinities as strings, numpy scalars and arrays as Python values."""
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # 'nan', 'inf', '-inf'
    return value


def run_golden(name: str) -> dict:
    """Train one golden run and return everything it recorded, as plain JSON values."""
    from dataclasses import asdict

    engine = _engine(name)
    engine.run(CYCLES, progress=False)
    frame = engine.history.to_frame()
    columns = {c: _plain(frame[c].to_numpy()) for c in frame.columns if c not in SKIPPED_COLUMNS}
    columns["sample_response"] = [record.sample_response for record in engine.history]  # sampled text, exactly
    columns["state"] = [_plain(record.state) for record in engine.history]  # the geometry state vector
    columns["transfer_during_run"] = [_plain(record.transfer.transfer) if record.transfer else None
                                      for record in engine.history]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        transfer = asdict(engine.holdout_transfer(500, seed=0))
    return {"columns": columns, "transfer": {k: _plain(v) for k, v in transfer.items()}}


def _same(stored, now) -> bool:
    if isinstance(stored, list) and isinstance(now, list):
        return len(stored) == len(now) and all(_same(a, b) for a, b in zip(stored, now, strict=True))
    if isinstance(stored, str) or isinstance(now, str) or isinstance(stored, bool) or isinstance(now, bool):
        return stored == now
    if isinstance(stored, int) and isinstance(now, int):
        return stored == now
    if isinstance(stored, int | float) and isinstance(now, int | float):
        return math.isclose(stored, now, rel_tol=RTOL, abs_tol=ATOL)
    return stored == now


def differences(stored: dict, now: dict) -> list[str]:
    """Human-readable differences between a stored golden run and a fresh one (empty: the same)."""
    out = []
    for part in ("columns", "transfer"):
        old, new = stored[part], now[part]
        for key in sorted(set(old) | set(new)):
            if key not in new:
                out.append(f"{part}.{key}: stored, but the run no longer records it")
            elif key not in old:
                out.append(f"{part}.{key}: recorded now, not in the stored file (regenerate with --update)")
            elif not _same(old[key], new[key]):
                out.append(f"{part}.{key}: {_first_difference(old[key], new[key])}")
    return out


def _first_difference(old, new) -> str:
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            if not _same(a, b):
                return f"first differs at row {i}: stored {a!r}, now {b!r}"
    return f"stored {old!r}, now {new!r}"


def load_stored() -> dict:
    return json.loads(GOLDEN_FILE.read_text())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="regenerate the stored file")
    parser.add_argument("--run", choices=RUNS, action="append", help="only these runs (default: all)")
    args = parser.parse_args(argv)
    names = args.run or list(RUNS)
    if args.update:
        stored = load_stored() if GOLDEN_FILE.exists() else {}
        for name in names:
            stored[name] = run_golden(name)
            print(f"{name}: {len(stored[name]['columns'])} columns x {CYCLES} cycles, "
                  f"transfer {stored[name]['transfer']['transfer']}")
        GOLDEN_FILE.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN_FILE.write_text(json.dumps(stored, indent=1, sort_keys=True) + "\n")
        print(f"wrote {GOLDEN_FILE}")
        return 0
    stored, failed = load_stored(), False
    for name in names:
        diff = differences(stored[name], run_golden(name))
        print(f"{name}: {'same' if not diff else f'{len(diff)} differences'}")
        for line in diff:
            print("  " + line)
        failed |= bool(diff)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
