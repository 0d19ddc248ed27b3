"""Desktop files exported from real engine runs, including broken ones, pass the contract."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scalarscope.engine import EngineConfig, ScalarScopeEngine
from scalarscope.evaluators import correlated_evaluators
from scalarscope.export import load_geometry, validate_geometry

SMALL = EngineConfig(batch_size=8, max_new_tokens=8, probe_batch=4, transfer_every=5, transfer_probes=64)


def _export_and_check(engine, tmp_path):
    path = engine.export_geometry(tmp_path / "run.json")
    assert validate_geometry(path, strict=True) == []
    loaded = load_geometry(path)
    assert loaded.metadata.cycles == len(engine.history)
    return path, loaded


def test_single_cycle(tmp_path):
    engine = ScalarScopeEngine(seed=0, config=SMALL)
    engine.step()
    _, loaded = _export_and_check(engine, tmp_path)
    assert len(loaded.trajectory.t) == 1


def test_seed_of_two_to_the_forty(tmp_path):
    engine = ScalarScopeEngine(seed=2**40, config=SMALL, holdout="clarity")
    engine.run(6, progress=False)
    path, loaded = _export_and_check(engine, tmp_path)
    meta = json.loads(path.read_text())["run_metadata"]
    assert isinstance(meta["seed"], int) and -(2**31) <= meta["seed"] < 2**31
    assert meta["original_seed"] == str(2**40)
    assert meta["holdout_professor"] == "clarity"


def test_evaluator_returning_nan_mid_run(tmp_path):
    class NaNAfterWarmup:
        name = "correctness"

        def __init__(self):
            self.calls = 0

        def __call__(self, prompt, response):
            self.calls += 1
            return float("nan") if self.calls > 100 else 0.5

    evaluators = [NaNAfterWarmup(), *correlated_evaluators(4, 0.5, seed=1, names=["coherence", "calibration",
                                                                                   "tradeoffs", "clarity"])]
    engine = ScalarScopeEngine(evaluators=evaluators, seed=0, config=SMALL)
    engine.run(8, progress=False)
    path, _ = _export_and_check(engine, tmp_path)
    failures = json.loads(path.read_text())["failures"]
    assert any(f["category"] == "evaluator_error" and f["severity"] == "critical" for f in failures)


def test_diverging_student(tmp_path):
    config = EngineConfig(batch_size=8, max_new_tokens=8, probe_batch=4, transfer_every=0, learning_rate=1e6,
                          grad_clip=0.0)
    engine = ScalarScopeEngine(seed=0, config=config)
    engine.run(6, progress=False)
    frame = engine.history.to_frame()
    assert np.isfinite(frame.select_dtypes("number").to_numpy(dtype=float, na_value=0.0)).all()
    path, _ = _export_and_check(engine, tmp_path)
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text


@pytest.mark.parametrize("overlap", [0.0, 0.9])
def test_professor_vectors_follow_the_overlap(tmp_path, overlap):
    engine = ScalarScopeEngine(evaluators=correlated_evaluators(5, overlap, seed=3), seed=3, config=SMALL)
    engine.run(3, progress=False)
    _, loaded = _export_and_check(engine, tmp_path)
    vectors = np.array([p.vector for p in loaded.professors])
    angles = np.arctan2(vectors[:, 1], vectors[:, 0])
    spread = np.ptp(angles)
    assert (spread < 0.5) if overlap == 0.9 else (spread > 1.0)


def test_condition_and_latent_dim_come_from_the_evaluators(tmp_path):
    engine = ScalarScopeEngine(evaluators=correlated_evaluators(5, 0.7, seed=0), seed=0, config=SMALL)
    engine.step()
    path = engine.export_geometry(tmp_path / "run.json")
    document = json.loads(path.read_text())
    assert document["run_metadata"]["condition"] == "overlap 0.70"
    assert document["evaluators"]["latent_dim"] == engine.evaluators.latent.latent_dim
