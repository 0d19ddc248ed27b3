"""The golden runs (tools/golden.py): every recorded number of three short seeded runs is pinned.

A change of tests/golden/golden_runs.json must be explained in the commit message that makes it.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("golden", Path(__file__).resolve().parent.parent / "tools" / "golden.py")
golden = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(golden)


@pytest.mark.parametrize("name", golden.RUNS)
def test_golden_run_unchanged(name):
    stored = golden.load_stored()[name]
    diff = golden.differences(stored, golden.run_golden(name))
    assert not diff, f"golden run {name!r} moved:\n" + "\n".join(diff[:20])


def test_golden_comparison_catches_a_small_change():
    stored = golden.load_stored()["gru"]
    moved = {"columns": dict(stored["columns"]), "transfer": dict(stored["transfer"])}
    loss = list(moved["columns"]["loss"])
    loss[7] = loss[7] * (1 + 1e-4)  # ten times the tolerance
    moved["columns"]["loss"] = loss
    assert golden.differences(stored, moved) == [f"columns.loss: first differs at row 7: stored {stored['columns']['loss'][7]!r}, now {loss[7]!r}"]
    assert not math.isclose(loss[7], stored["columns"]["loss"][7], rel_tol=golden.RTOL)


def test_golden_file_covers_the_runs():
    stored = golden.load_stored()
    for name in golden.RUNS:
        assert len(stored[name]["columns"]["loss"]) == golden.CYCLES
        assert stored[name]["transfer"]["n"] > 0
