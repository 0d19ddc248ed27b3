"""Checkpoints hold tensors and JSON only: loading cannot run code, and the evaluators must match."""

from __future__ import annotations

import json
import os
import pickle

import pytest
import torch

from scalarscope import CheckpointError
from scalarscope.engine import EngineConfig, ScalarScopeEngine
from scalarscope.evaluators.base import as_evaluator
from scalarscope.evaluators.synthetic import correlated_evaluators

SMALL = EngineConfig(batch_size=8, max_new_tokens=8, probe_batch=4, state_probe_size=8, transfer_every=0)


class _WritesAFile:
    """Unpickling this object creates ``target``: what a malicious checkpoint would do."""

    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return (open, (self.target, "w"))


@pytest.mark.parametrize("writer", ["torch", "pickle"])
def test_a_crafted_file_is_refused_and_runs_nothing(tmp_path, writer):
    target = tmp_path / "pwned.txt"
    path = tmp_path / "evil.ck"
    payload = {"format": "scalarscope-checkpoint-1", "model": _WritesAFile(target)}
    if writer == "torch":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload))
    with pytest.raises(CheckpointError, match="old pickled format|could not be read"):
        ScalarScopeEngine.load(path)
    assert not target.exists()


def test_a_file_that_only_claims_the_format(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "claims.ck"
    save_file({"x": torch.zeros(2)}, path, metadata={"format": "scalarscope-checkpoint-2", "scalarscope": "{"})
    with pytest.raises(CheckpointError, match="could not be read"):
        ScalarScopeEngine.load(path)
    save_file({"x": torch.zeros(2)}, path, metadata={"format": "scalarscope-checkpoint-2",
                                                     "scalarscope": json.dumps({"format": "scalarscope-checkpoint-2"})})
    with pytest.raises(CheckpointError, match="does not fit"):
        ScalarScopeEngine.load(path)
    save_file({"x": torch.zeros(2)}, path, metadata={"format": "something-else"})
    with pytest.raises(CheckpointError, match="not a scalarscope-checkpoint-2 file"):
        ScalarScopeEngine.load(path)
    records = {"format": "scalarscope-checkpoint-2", "engine": {"__record__": "os.system"}}
    save_file({"x": torch.zeros(2)}, path, metadata={"format": "scalarscope-checkpoint-2",
                                                     "scalarscope": json.dumps(records)})
    with pytest.raises(CheckpointError, match="unknown record type 'os.system'"):
        ScalarScopeEngine.load(path)


def _judges():
    return [as_evaluator(lambda p, r: r.count("e") / max(len(r), 1), name="e_share"),
            as_evaluator(lambda p, r: min(len(r) / 8, 1.0), name="length")]


def test_user_evaluators_are_passed_back_and_must_match(tmp_path):
    engine = ScalarScopeEngine(evaluators=_judges(), config=SMALL, seed=1)
    engine.run(3, progress=False)
    path = tmp_path / "judges.ck"
    engine.save(path)  # the README's lambda pattern saves: evaluators are not stored
    with pytest.raises(CheckpointError, match=r"not stored in checkpoints; pass them: load\(path, evaluators="):
        ScalarScopeEngine.load(path)
    resumed = ScalarScopeEngine.load(path, evaluators=_judges())
    assert resumed.cycle == 3 and len(resumed.history) == 3
    extra = [*_judges(), as_evaluator(lambda p, r: 0.5, name="third")]
    with pytest.raises(CheckpointError, match="not the saved set"):
        ScalarScopeEngine.load(path, evaluators=extra)
    impostors = [as_evaluator(lambda p, r: 0.25, name="e_share"), _judges()[1]]
    with pytest.raises(CheckpointError, match=r"\['e_share'\] score the checkpoint's fixed probes differently"):
        ScalarScopeEngine.load(path, evaluators=impostors)


def test_synthetic_evaluators_are_rebuilt_from_their_spec(tmp_path):
    engine = ScalarScopeEngine(evaluators=correlated_evaluators(4, 0.6, seed=7, context_share=0.1), config=SMALL)
    engine.run(2, progress=False)
    engine.save(tmp_path / "s.ck")
    resumed = ScalarScopeEngine.load(tmp_path / "s.ck")
    assert resumed.evaluators.overlap == 0.6 and resumed.evaluators.latent.context_share == 0.1
    other = correlated_evaluators(4, 0.6, seed=8)  # same names, other evaluators
    with pytest.raises(CheckpointError, match="differently"):
        ScalarScopeEngine.load(tmp_path / "s.ck", evaluators=other)


def test_the_file_is_written_atomically_and_is_not_a_pickle(tmp_path):
    engine = ScalarScopeEngine(config=SMALL)
    engine.run(1, progress=False)
    engine.save(tmp_path / "a.ck")
    assert sorted(os.listdir(tmp_path)) == ["a.ck"]  # no temporary left behind
    assert (tmp_path / "a.ck").read_bytes()[:2] != b"PK"
