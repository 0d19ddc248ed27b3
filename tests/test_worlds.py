"""Worlds as plug-ins: a world registered in one module (tests/_toy_world.py) runs through the CLI,
``sweep`` (on local worker processes) and ``goodhart`` (on a Dask cluster), with no other file
naming it; options a world does not take are refused, naming the world and the option."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import _toy_world  # registers "toy" (tests/ is on sys.path)
import numpy as np
import pytest

import scalarscope
from scalarscope.cli import main
from scalarscope.errors import ConfigError, SweepError
from scalarscope.worlds import build_world, get_world, known_worlds


def test_the_registry_builds_the_toy_world_and_checks_its_options():
    assert {"default", "real-judges", "toy"} <= set(known_worlds())
    assert get_world("toy").module == "_toy_world"
    world = build_world("toy", seed=3, letters="xyz")
    assert (world.seed, world.letters) == (3, "xyz")
    engine = world.engine(holdout="spaces")
    assert engine.prompts == _toy_world.PROMPTS and engine.train_names == ("liked", "common")
    with pytest.raises(ConfigError, match=r"world 'toy' does not accept option\(s\) 'overlap'; it accepts: letters"):
        build_world("toy", overlap=0.5)
    with pytest.raises(ConfigError, match=r"world='nope' is not a known world; choose one of \[.*'toy'"):
        build_world("nope")


def test_the_default_world_by_name_is_the_engine_built_by_hand():
    from scalarscope.engine import ScalarScopeEngine
    from scalarscope.evaluators import correlated_evaluators

    by_name = build_world("default", seed=4, overlap=0.8).engine(holdout="clarity", transfer_every=0)
    by_hand = ScalarScopeEngine(evaluators=correlated_evaluators(5, 0.8, seed=4), holdout="clarity", seed=4,
                                config=scalarscope.EngineConfig(transfer_every=0))
    a, b = by_name.run(3, progress=False), by_hand.run(3, progress=False)
    assert [r.metrics.mean_score for r in a] == [r.metrics.mean_score for r in b]


def test_cli_runs_the_toy_world_and_refuses_flags_it_does_not_take(capsys):
    assert main(["run", "--world", "toy", "--cycles", "4", "--holdout", "spaces", "--option", "letters=xyz",
                 "--no-progress"]) == 0
    assert "holdout transfer (spaces)" in capsys.readouterr().out
    assert main(["run", "--world", "toy", "--overlap", "0.5", "--cycles", "1", "--no-progress"]) == 2
    assert "world 'toy' does not accept option(s) 'overlap' (--overlap); it accepts: letters" in capsys.readouterr().err
    assert main(["run", "--world", "toy", "--budget", "64", "--cycles", "1", "--no-progress"]) == 2
    assert "--budget / --strategy: the world 'toy' builds its own token pool" in capsys.readouterr().err


@pytest.mark.slow  # a fresh interpreter imports torch
def test_cli_finds_a_world_named_in_the_environment(tmp_path):
    tests = str(Path(__file__).parent)
    env = {**os.environ, "SCALARSCOPE_WORLDS": "_toy_world",
           "PYTHONPATH": os.pathsep.join([tests, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "scalarscope", "sweep", "--world", "toy", "--seeds", "1",
                           "--cycles", "2", "--probes", "20", "--jobs", "1", "--no-progress"],
                          capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "toy" in done.stdout and "liked" in done.stdout
    assert "per overlap" in done.stdout and "NaN" in done.stdout.split("per overlap")[1]  # one summary row


def test_sweep_runs_the_toy_world_on_worker_processes_as_in_this_one():
    args = dict(seeds=[0, 1], cycles=4, world="toy", transfer_probes=40, progress=False)
    pooled = scalarscope.sweep(**args, n_jobs=2)
    local = scalarscope.sweep(**args, n_jobs=1)
    assert list(pooled.world) == ["toy", "toy"] and list(pooled.holdout) == ["liked", "spaces"]
    assert pooled.overlap.isna().all() and (pooled.n_evaluators == 3).all()
    same = [c for c in pooled.columns if c != "wall_seconds"]
    assert pooled[same].equals(local[same])
    assert np.isfinite(pooled[["transfer", "ceiling", "mean_correlation"]].to_numpy()).all()
    with pytest.raises(ConfigError, match="world 'toy' does not accept option"):
        scalarscope.sweep(overlaps=[0.0, 0.5], **args)
    with pytest.raises(ConfigError, match="world 'toy' does not accept option"):
        scalarscope.sweep(n_evaluators=3, **args)


@pytest.mark.slow  # a Dask cluster with one worker process
def test_goodhart_runs_the_toy_world_on_dask_and_closes_the_client_it_made(monkeypatch):
    distributed = pytest.importorskip("distributed")
    made = []

    class Spy(distributed.Client):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(distributed, "Client", Spy)
    args = dict(overlaps=None, seeds=2, warmup=2, cycles=3, world="toy", world_options={"letters": "st"},
                progress=False)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        on_dask = scalarscope.goodhart(**args, client=cluster.scheduler_address)  # the executor connects
    assert len(made) == 1 and made[0].status == "closed"
    local = scalarscope.goodhart(**args, n_jobs=1)
    assert len(local) == 2 * 3 and list(local.holdout.unique()) == ["liked", "spaces"]
    assert local.equals(on_dask)
    assert local.overlap.isna().all() and local.context_share.isna().all()


def test_a_world_registered_in_main_is_refused_for_worker_processes():
    from scalarscope.sweeps import RunSpec, run_specs

    spec = RunSpec(index=0, world="toy", world_module="__main__", seed=0, cycles=1)
    with pytest.raises(SweepError, match="registered in __main__"):
        run_specs(len, [spec, spec], n_jobs=2, progress=False)


def test_a_default_world_engine_by_name_reloads_without_passing_its_evaluators(tmp_path):
    from scalarscope.engine import ScalarScopeEngine

    engine = build_world("default", seed=2, overlap=0.3).engine(transfer_every=0, batch_size=4, max_new_tokens=4)
    engine.run(2, progress=False)
    engine.save(tmp_path / "run.pt")
    loaded = ScalarScopeEngine.load(tmp_path / "run.pt")  # the synthetic set is rebuilt from its spec
    assert loaded.cycle == 2 and [e.name for e in loaded.evaluators] == [e.name for e in engine.evaluators]
