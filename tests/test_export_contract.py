"""Every export passes the strict contract validator, whatever the run did; writes are atomic."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from test_export import make_run

from scalarscope.export import DECIMATE_ABOVE, RunGeometry, load_geometry, validate_geometry, write_geometry

REPO = Path(__file__).resolve().parents[1]


def export_and_check(run: RunGeometry, path: Path):
    write_geometry(run, path)
    violations = validate_geometry(path, strict=True)
    assert violations == [], [str(v) for v in violations]
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    return load_geometry(path)


def categories(loaded) -> dict[str, str]:
    return {f.category: f.severity for f in loaded.failures}


def test_diverging_student(tmp_path):
    n = 300
    states = np.cumsum(np.random.default_rng(0).standard_normal((n, 8)), axis=0)
    states[150:] *= np.logspace(0, 300, n - 150)[:, None]  # explodes to 1e300
    states[280:290] = np.inf
    states[295, 3] = np.nan
    loaded = export_and_check(make_run(n=n, d=8, states=states), tmp_path / "diverged.json")
    assert categories(loaded)["divergence"] == "critical"
    assert np.abs(loaded.trajectory.state_2d).max() <= 1.0


def test_evaluator_returning_nan(tmp_path):
    run = make_run(n=50)
    scalars = np.array(run.scalars)
    scalars[:, 2] = np.nan
    scalars[10:20, 0] = np.inf
    scalars[30, 4] = -5.0
    eigenvalues = np.array(run.eigenvalues)
    eigenvalues[5] = np.nan
    eigenvalues[6] = 0.0
    loaded = export_and_check(make_run(n=50, scalars=scalars, eigenvalues=eigenvalues), tmp_path / "nan.json")
    assert categories(loaded) == {"non_finite_value": "warning", "degenerate_spectrum": "warning", "budget_exhaustion": "warning"}
    assert (loaded.scalars.values[:, 2] == 0.0).all()  # never finite: 0
    assert (loaded.scalars.values[10:20, 0] == loaded.scalars.values[9, 0]).all()  # held at the last finite value
    assert loaded.scalars.values[30, 4] == 0.0  # clipped into [0, 1]
    np.testing.assert_allclose(loaded.eigenvalues.values[5:7], 0.2)  # uniform over 5


def test_single_cycle(tmp_path):
    loaded = export_and_check(make_run(n=1, failures=()), tmp_path / "one.json")
    assert loaded.trajectory.t.tolist() == [0.0] and loaded.metadata.cycles == 1
    assert loaded.trajectory.effective_dim.tolist() == [0.0] and loaded.trajectory.curvature.tolist() == [0.0]
    assert loaded.eigenvalues.t.tolist() == [0.0] and loaded.anisotropy.t.tolist() == [0.0]


def test_sixty_thousand_cycles_are_decimated(tmp_path):
    n = 60_000
    run = make_run(n=n, d=16)
    scalars = np.array(run.scalars)
    scalars[0], scalars[-1] = 0.125, 0.875
    loaded = export_and_check(make_run(n=n, d=16, scalars=scalars), tmp_path / "long.json")
    assert len(loaded.trajectory.t) == DECIMATE_ABOVE
    assert loaded.metadata.extra["original_timesteps"] == n and loaded.metadata.extra["decimated"] is True
    assert loaded.metadata.cycles == n
    assert loaded.scalars.values[0].tolist() == [0.125] * 5 and loaded.scalars.values[-1].tolist() == [0.875] * 5
    assert os.path.getsize(tmp_path / "long.json") < 20 * 2**20


@pytest.mark.parametrize(("seed", "written"), [(2**40, 2**40 % 2**31), (-(2**40), -(2**40) % 2**31), (-5, -5), (2**31 - 1, 2**31 - 1)])
def test_seeds_are_mapped_into_int32(tmp_path, seed, written):
    loaded = export_and_check(make_run(n=5, seed=seed), tmp_path / "seed.json")
    assert loaded.metadata.seed == written
    assert loaded.metadata.extra.get("original_seed") == (None if seed == written else str(seed))


def test_run_geometry_refuses_what_cannot_be_exported():
    from scalarscope.errors import ConfigError, GeometryFileError

    with pytest.raises(GeometryFileError, match=r"RunGeometry\.cycles is 3 but states has 5 rows"):
        make_run(n=5, cycles=3)
    with pytest.raises(GeometryFileError, match=r"scalars must have shape \(5, 5\)"):
        make_run(n=5, scalars=np.zeros((5, 4)))
    with pytest.raises(ConfigError, match=r"RunGeometry\.training_items must be <= 2147483647"):
        make_run(n=5, training_items=2**40)
    with pytest.raises(GeometryFileError, match=r"RunGeometry\.extra\.bad is nan"):
        write_geometry(make_run(n=5, extra={"bad": float("nan")}), Path("unused.json"))
    assert make_run(n=5, seed=np.int64(3), cycles=np.int64(9)).cycles == 9


def test_odd_shapes_and_degenerate_inputs(tmp_path):
    run = make_run(
        n=40, d=1, states=np.ones((40, 1)), eigenvalues=np.ones((40, 1)),
        professors=(("p", [np.nan, 3.0], False), ("q", [5.0], True), ("r", [0.1, 0.2, 0.3, 0.4], False)),
        true_eigenvalues=np.array([3.0, 1.0, np.nan]), latent_dim=3,
    )  # fmt: skip
    loaded = export_and_check(run, tmp_path / "odd.json")
    assert loaded.eigenvalues.values.shape == (40, 2) and (loaded.eigenvalues.values == [1.0, 0.0]).all()
    assert (loaded.trajectory.effective_dim == 0.0).all() and loaded.latent_dim == 3
    wide = make_run(n=30, eigenvalues=np.random.default_rng(1).random((30, 9)), true_eigenvalues=np.arange(9.0))
    loaded = export_and_check(wide, tmp_path / "wide.json")
    assert loaded.eigenvalues.values.shape == (30, 5)
    true_spectrum = json.loads((tmp_path / "wide.json").read_text())["geometry"]["true_eigenvalues"]
    assert len(true_spectrum) == 5 and true_spectrum[0] == max(true_spectrum)


wild = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([np.nan, np.inf, -np.inf, 1e308, -1e308, 1e-308, 0.0]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_history_exports_valid(tmp_path_factory, data):
    n = data.draw(st.integers(1, 40), label="n")
    d = data.draw(st.integers(1, 6), label="d")
    k = data.draw(st.integers(1, 7), label="k")
    run = RunGeometry(
        run_id="hypothesis", condition="", seed=data.draw(st.integers(-(2**70), 2**70)), training_items=1,
        cycles=n + data.draw(st.integers(0, 3)),
        states=data.draw(arrays(np.float64, (n, d), elements=wild)),
        scalars=data.draw(arrays(np.float64, (n, 5), elements=wild)),
        eigenvalues=data.draw(arrays(np.float64, (n, k), elements=wild)),
        professors=(("a", data.draw(arrays(np.float64, 2, elements=wild)), False),),
    )  # fmt: skip
    path = tmp_path_factory.mktemp("hyp") / "run.json"
    export_and_check(run, path)


WRITER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from test_export import make_run
    from scalarscope.export import write_geometry
    run = make_run(n=20_000, d=55)
    while True:
        write_geometry(run, sys.argv[1])
        print("written", flush=True)
    """
)


def _kill_mid_write(target: Path, after_complete: bool) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")])}
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE, env=env, text=True)
    try:
        if after_complete:
            assert writer.stdout.readline().strip() == "written"
        deadline = time.monotonic() + 60
        while not any(p.name.startswith(f".{target.name}.tmp-") for p in target.parent.iterdir()):
            assert time.monotonic() < deadline and writer.poll() is None, "writer never started a temporary file"
            time.sleep(0.001)
        writer.send_signal(signal.SIGKILL)  # the temporary file exists: we are mid-write
    finally:
        writer.kill()
        writer.wait()


def test_sigkill_mid_write_leaves_previous_file_or_none(tmp_path):
    target = tmp_path / "run.json"
    _kill_mid_write(target, after_complete=False)
    assert not target.exists()  # killed during the first write: no file, never a partial one
    _kill_mid_write(target, after_complete=True)
    assert validate_geometry(target) == []  # the previous complete file is intact
    assert len(load_geometry(target).trajectory.t) == 20_000
    leftovers = [p.name for p in tmp_path.iterdir() if p != target]
    assert all(name.startswith(".run.json.tmp-") for name in leftovers)  # hidden, never the target


def test_subnormal_vectors_export_valid(tmp_path):
    """Found by the property test: subnormal professor vectors once scaled to inf * 0 = NaN."""
    run = RunGeometry(run_id="tiny", condition="", seed=0, training_items=1, cycles=1, states=np.zeros((1, 1)),
                      scalars=np.zeros((1, 5)), eigenvalues=np.zeros((1, 1)),
                      professors=(("a", np.array([2.22507386e-313, 2.22507386e-313]), False),))
    export_and_check(run, tmp_path / "run.json")
