"""Desktop export/import: round trip, the viewer's own samples, malformed files, the validate CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from scalarscope.errors import GeometryFileError, GeometryFileNotFoundError
from scalarscope.export import (
    CRITERIA,
    FailureEvent,
    Professor,
    RunGeometry,
    geometry_document,
    load_geometry,
    main_validate,
    validate_geometry,
    viewer_samples,
    write_geometry,
)
from scalarscope.geometry import pca_2d

SAMPLES = sorted(viewer_samples().values())  # the viewer's own files, shipped with the package
SHARED_SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "desktop-samples"


def test_packaged_samples_are_the_viewers_files_unchanged():
    assert [p.name for p in SAMPLES] == ["correlated_professors.json", "orthogonal_professors.json"]
    for path in SAMPLES:
        original = SHARED_SAMPLES / path.name
        if original.exists():  # beside the repo on team machines and in CI
            assert path.read_bytes() == original.read_bytes()


def make_run(n: int = 200, d: int = 12, seed: int = 7, **changes) -> RunGeometry:
    rng = np.random.default_rng(abs(seed))
    fields = dict(
        run_id="run-1", condition="overlap=0.9", seed=seed, training_items=64, cycles=n,
        states=np.cumsum(rng.standard_normal((n, d)), axis=0), scalars=rng.random((n, 5)),
        eigenvalues=rng.random((n, 5)), holdout_professor="clarity", conscience_tier="CONVERGENT",
        professors=(Professor("correctness", [0.9, 0.2], False), ("clarity", np.array([0.7, -0.4, 0.1]), True)),
        failures=(FailureEvent(cycle=n // 2, category="budget_exhaustion", severity="WARNING", description="pool empty"),),
        extra={"overlap": 0.9, "evaluators": ["a", "b"], "note": None},
    )  # fmt: skip
    fields.update(changes)
    return RunGeometry(**fields)


def test_round_trip_equals_within_float_formatting(tmp_path):
    run = make_run()
    path = write_geometry(run, tmp_path / "run.json")
    assert validate_geometry(path) == []
    loaded = load_geometry(path)
    document = geometry_document(run)
    steps = document["trajectory"]["timesteps"]
    np.testing.assert_allclose(loaded.trajectory.state_2d, [s["state_2d"] for s in steps], atol=1e-12)
    np.testing.assert_allclose(loaded.trajectory.t, np.linspace(0, 1, run.cycles), atol=1e-9)
    np.testing.assert_allclose(loaded.scalars.values, run.scalars, atol=5e-7)
    spectra = np.sort(run.eigenvalues, axis=1)[:, ::-1]
    np.testing.assert_allclose(loaded.eigenvalues.values, spectra / spectra.sum(axis=1, keepdims=True), atol=5e-7)
    np.testing.assert_allclose(loaded.anisotropy.ratio, spectra[:, 0] / spectra[:, 1], rtol=1e-4)
    # The 2-D trajectory is the PCA of the states, up to sign and one common scale factor.
    reference = pca_2d(run.states).coords
    for k in range(2):
        scale = np.linalg.lstsq(reference[:, k : k + 1], loaded.trajectory.state_2d[:, k], rcond=None)[0][0]
        np.testing.assert_allclose(loaded.trajectory.state_2d[:, k], scale * reference[:, k], atol=2e-6)
    assert np.abs(loaded.trajectory.state_2d).max() <= 1.0
    meta = loaded.metadata
    assert (meta.run_id, meta.seed, meta.cycles, meta.holdout_professor) == ("run-1", 7, 200, "clarity")
    assert [p.name for p in loaded.professors] == ["correctness", "clarity"] and loaded.professors[1].holdout
    assert loaded.reduction.input_dim == 12 and loaded.reduction.components.shape == (2, 12)
    failure = next(f for f in loaded.failures if f.category == "budget_exhaustion")
    assert failure.severity == "warning" and failure.t == pytest.approx(100 / 199)
    assert loaded.extra["scalarscope"]["extra"] == {"overlap": 0.9, "evaluators": ["a", "b"], "note": ""}
    frame = loaded.to_frame()
    assert len(frame) == 200 and {"x", "y", "effective_dim", *CRITERIA, "lambda_1", "anisotropy"} <= set(frame)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_viewer_samples_load_and_pass_the_hard_rules(sample):
    assert validate_geometry(sample, strict=False) == []
    loaded = load_geometry(sample)
    assert len(loaded.trajectory.t) == 11 and len(loaded.eigenvalues.t) == 6
    assert loaded.metadata.holdout_professor == "P3" and len(loaded.professors) == 3
    assert {f.severity for f in loaded.failures} <= {"LOW", "MEDIUM"}
    frame = loaded.to_frame()
    assert frame["lambda_1"].iloc[1] == loaded.eigenvalues.values[0, 0]  # t=0.1 takes the t=0.0 spectrum
    strict = validate_geometry(sample)  # the samples do not share one t grid: strict mode says so
    assert {v.rule for v in strict} == {"t-grid", "failures"}


def test_samples_were_found():
    assert len(SAMPLES) == 2


def _sample_tree() -> dict:
    return json.loads(SAMPLES[0].read_text())


def _write(tmp_path: Path, text: str, name: str = "bad.json") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_truncated_file_is_named(tmp_path):
    text = SAMPLES[0].read_text()
    path = _write(tmp_path, text[: len(text) // 2])
    with pytest.raises(GeometryFileError, match=r"bad\.json: line \d+: truncated file"):
        load_geometry(path)


def test_nan_token_names_field_and_line(tmp_path):
    text = SAMPLES[0].read_text().replace('"curvature": 0.08', '"curvature": NaN')
    with pytest.raises(GeometryFileError, match=r"trajectory\.timesteps\[2\]\.curvature: is the bare token NaN \(line 23\)"):
        load_geometry(_write(tmp_path, text))
    quoted = _sample_tree()
    quoted["trajectory"]["timesteps"][0]["t"] = "Infinity"
    with pytest.raises(GeometryFileError, match=r"timesteps\[0\]\.t: is a number written as a string"):
        load_geometry(_write(tmp_path, json.dumps(quoted)))


@pytest.mark.parametrize(
    ("section", "key", "value", "message"),
    [
        ("run_metadata", "seed", "42", r"run_metadata\.seed: must be a JSON integer \(C# int\), got \"42\""),
        ("run_metadata", "cycles", 100.0, r"run_metadata\.cycles: must be a JSON integer \(C# int\), got 100\.0"),
        ("run_metadata", "seed", 2**40, r"run_metadata\.seed: 1099511627776 is outside Int32"),
        ("run_metadata", "run_id", 7, r"run_metadata\.run_id: must be a string, got an integer"),
        ("reduction", "components", None, r"reduction\.components: is null"),
        ("run_metadata", "conscience_tier", None, r"run_metadata\.conscience_tier: is null"),
    ],
)
def test_wrong_types_and_nulls_name_the_field(tmp_path, section, key, value, message):
    tree = _sample_tree()
    tree[section][key] = value
    with pytest.raises(GeometryFileError, match=message):
        load_geometry(_write(tmp_path, json.dumps(tree)))


def test_holdout_must_be_boolean_and_nulls_inside_lists_are_found(tmp_path):
    tree = _sample_tree()
    tree["evaluators"]["professors"][1]["holdout"] = 0
    tree["trajectory"]["timesteps"][3]["state_2d"] = None
    violations = validate_geometry(_write(tmp_path, json.dumps(tree)), strict=False)
    assert [(v.rule, v.path) for v in violations] == [
        ("8", "trajectory.timesteps[3].state_2d"),
        ("4", "evaluators.professors[1].holdout"),
    ]


def test_missing_trajectory_and_schema_2(tmp_path):
    tree = _sample_tree()
    del tree["trajectory"]
    with pytest.raises(GeometryFileError, match=r"trajectory: is missing"):
        load_geometry(_write(tmp_path, json.dumps(tree)))
    tree = _sample_tree()
    tree["trajectory"]["timesteps"] = []
    with pytest.raises(GeometryFileError, match=r"trajectory\.timesteps: is empty"):
        load_geometry(_write(tmp_path, json.dumps(tree)))
    tree = _sample_tree()
    tree["schema_version"] = "2.0"
    with pytest.raises(GeometryFileError, match=r"schema_version: is '2\.0'; the viewer reads schema 1\.x only"):
        load_geometry(_write(tmp_path, json.dumps(tree)))


def test_missing_file_and_wrong_suffix(tmp_path):
    with pytest.raises(GeometryFileNotFoundError, match=r"nope\.json: no such geometry file"):
        load_geometry(tmp_path / "nope.json")
    with pytest.raises(FileNotFoundError):  # callers may catch the built-in
        validate_geometry(tmp_path / "nope.json")
    path = _write(tmp_path, SAMPLES[0].read_text(), name="run.txt")
    with pytest.raises(GeometryFileError, match=r"run\.txt: \(file name\): must end in \.json"):
        load_geometry(path)
    with pytest.raises(GeometryFileError, match=r"\.json"):
        write_geometry(make_run(n=3), tmp_path / "run.txt")


def test_overflowing_numbers_and_top_level_list(tmp_path):
    text = SAMPLES[0].read_text().replace('"effective_dim": 4.2', '"effective_dim": 1e400')
    with pytest.raises(GeometryFileError, match=r"timesteps\[0\]\.effective_dim: overflows a double"):
        load_geometry(_write(tmp_path, text))
    violations = validate_geometry(_write(tmp_path, "[1, 2]\n"))
    assert [v.message.split(":")[0] for v in violations] == ["truncated file", "must be a JSON object, got a list"]


def test_validate_cli(tmp_path, capsys):
    good = write_geometry(make_run(n=20), tmp_path / "good.json")
    assert main_validate([str(good)]) == 0
    assert capsys.readouterr().out.strip() == f"{good}: ok"
    bad = _write(tmp_path, SAMPLES[0].read_text().replace('"seed": 42', '"seed": 42.0'))
    assert main_validate([str(bad), str(tmp_path / "missing.json")]) == 1
    out = capsys.readouterr().out
    assert "run_metadata.seed: must be a JSON integer (C# int), got 42.0 [rule 3]" in out
    assert "missing.json: no such geometry file" in out
    assert main_validate(["--hard-only", str(SAMPLES[0])]) == 0
    capsys.readouterr()
    from scalarscope.cli import main  # the project CLI routes `scalarscope validate` here

    assert main(["validate", str(good)]) == 0 and capsys.readouterr().out.strip() == f"{good}: ok"
