"""The issue-14 reproductions: each silent wrong number is now right or a named error, each crash a
clear error, each hang a bounded wait. One test (or parameter) per reproduction."""

from __future__ import annotations

import math
import re
import threading
import time
import warnings

import numpy as np
import pytest

from scalarscope.cli import main
from scalarscope.engine import EngineConfig, ScalarScopeEngine
from scalarscope.errors import (
    ConfigError,
    ConfigTypeError,
    GeometryFileError,
    MeasurementWarning,
    OutputPathError,
    ScalarScopeError,
)
from scalarscope.evaluators import as_evaluator, correlated_evaluators, with_timeout
from scalarscope.governor import GovernorConfig, TokenPool

SMALL = EngineConfig(batch_size=8, max_new_tokens=8, probe_batch=4, state_probe_size=8, transfer_every=0)


@pytest.fixture
def engine() -> ScalarScopeEngine:
    return ScalarScopeEngine(seed=0, config=SMALL)


# -- silent wrong results ---------------------------------------------------------------------------
def test_cli_budget_zero_is_refused_not_replaced_by_the_default(capsys):
    with pytest.raises(SystemExit) as info:
        main(["run", "--budget", "0", "--cycles", "1", "--no-progress"])
    assert info.value.code == 2
    assert "argument --budget: must be an int >= 1, got 0" in capsys.readouterr().err


def test_default_world_budget_zero_is_an_error_not_the_default():
    from scalarscope.worlds.default import build_default_world

    with pytest.raises(ConfigError, match=r"max_tokens_per_cycle must be >= 1, got 0"):
        build_default_world(budget=0)
    assert build_default_world(budget=7).token_pool.config.max_tokens_per_cycle == 7


def test_holdout_that_scores_nothing_gives_nan_and_a_warning_not_zero():
    broken = threading.Event()

    def judge(prompt: str, response: str) -> float:
        return math.nan if broken.is_set() else 0.5

    evaluators = [*correlated_evaluators(3, 0.5, seed=0), as_evaluator(judge, name="judge")]
    engine = ScalarScopeEngine(evaluators=evaluators, holdout="judge", seed=0, config=SMALL)
    engine.run(2, progress=False)
    broken.set()
    with pytest.warns(MeasurementWarning, match=r"only 0 of 50 probe responses .*failing: judge"):
        measured = engine.holdout_transfer(50)
    assert measured.n == 0
    for name in ("transfer", "ceiling", "ratio", "fidelity", "head_mae", "baseline_mae"):
        assert math.isnan(getattr(measured, name)), name


def test_no_holdout_gives_nan_transfer_not_zero(engine):
    # untrained: the head predicts one value everywhere, so fidelity is not measured either (NaN, warned)
    with pytest.warns(MeasurementWarning, match=r"fidelity .* not measured: the internal evaluator's prediction"):
        measured = engine.holdout_transfer(50)
    assert math.isnan(measured.transfer) and math.isnan(measured.ceiling) and math.isnan(measured.ratio)
    assert measured.n == 50 and math.isnan(measured.fidelity)


def test_budget_exhausted_cycles_are_missing_not_zero_in_the_frame_means_and_exports(tmp_path):
    pool = TokenPool(GovernorConfig(max_tokens_per_cycle=64, max_tokens_total=100))
    engine = ScalarScopeEngine(token_pool=pool, seed=0, config=SMALL)
    engine.run(4, progress=False)
    frame = engine.history.to_frame()
    exhausted = frame[frame.status == "budget_exhausted"]
    trained = frame[frame.status == "ok"]
    assert len(exhausted) >= 2 and len(trained) >= 1
    for column in ("loss", "mean_score", "predicted_score", "surprise", "head_error", "grad_norm"):
        assert exhausted[column].isna().all(), column
        # the mean over the run is the mean over the cycles that trained
        assert frame[column].mean() == pytest.approx(trained[column].mean())
    assert (exhausted.tokens_used == 0).all()
    from scalarscope.engine.summary import summary_text
    from scalarscope.export import load_geometry

    assert "nan" not in summary_text(engine).split("holdout")[0].lower()
    loaded = load_geometry(engine.export_geometry(tmp_path / "run.json"))
    assert len(loaded.trajectory.t) == 4


def test_nan_metrics_survive_a_checkpoint(tmp_path):
    pool = TokenPool(GovernorConfig(max_tokens_per_cycle=32, max_tokens_total=1))
    engine = ScalarScopeEngine(token_pool=pool, seed=0, config=SMALL)
    engine.run(5, progress=False)
    assert engine.history[-1].status == "budget_exhausted"
    engine.save(tmp_path / "ck.pt")
    resumed = ScalarScopeEngine.load(tmp_path / "ck.pt")
    assert math.isnan(resumed.history[-1].metrics.loss) and math.isnan(resumed.history[-1].metrics.mean_score)


@pytest.mark.parametrize(("n", "error", "match"), [
    (-5, ConfigError, r"n must be >= 0, got -5"),
    (True, ConfigTypeError, r"n must be an int >= 0, got True \(bool\)"),
    (1.5, ConfigTypeError, r"n must be an int >= 0, got 1\.5 \(float\)"),
    (None, ConfigTypeError, r"n must be an int >= 0, got None \(NoneType\)"),
])
def test_run_count_must_be_a_non_negative_int(engine, n, error, match):
    with pytest.raises(error, match=match):
        engine.run(n, progress=False)
    with pytest.raises(error, match=match):
        next(engine.cycles(n))
    assert engine.cycle == 0
    assert len(engine.run(np.int64(1), progress=False)) == 1  # numpy ints are ints


def test_cli_negative_cycles_is_an_error(capsys):
    with pytest.raises(SystemExit) as info:
        main(["run", "--cycles", "-5", "--no-progress"])
    assert info.value.code == 2
    assert "argument --cycles: must be an int >= 0, got -5" in capsys.readouterr().err


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"seed": 1.5}, r"seed must be an int, got 1\.5 \(float\)"),
    ({"seed": True}, r"seed must be an int, got True"),
    ({"n": 10_000}, r"n must be <= 64, got 10000"),
])
def test_correlated_evaluators_refuse_float_seeds_and_huge_counts_at_once(kwargs, match):
    with pytest.raises(ConfigError, match=match):  # benchmarks/bench_checks.py times the refusal
        correlated_evaluators(**({"n": 3, "overlap": 0.5} | kwargs))
    assert len(correlated_evaluators(64, 0.5)) == 64


def test_divergence_limit_flags_an_exploding_loss_or_gradient():
    from scalarscope.engine._metrics import DIVERGENCE_LIMIT, divergence_events

    calm = {"loss": 1.0, "grad_norm": 3.0}
    assert divergence_events(0, calm) == []
    exploding = divergence_events(7, {"loss": 4.9e15, "grad_norm": 9e8})
    assert [(e.cycle, e.category, e.severity) for e in exploding] == [(7, "divergence", "critical")]
    assert "4.9e+15" in exploding[0].description and "lower the learning rate" in exploding[0].description
    assert divergence_events(0, {"loss": 0.5, "grad_norm": 2 * DIVERGENCE_LIMIT})
    assert divergence_events(0, {"loss": -2 * DIVERGENCE_LIMIT, "grad_norm": 0.0})
    assert divergence_events(0, {"loss": math.nan, "grad_norm": 0.0}) == []  # recorded where the step is skipped


def test_learning_rate_1e6_records_a_divergence_event():
    engine = ScalarScopeEngine(seed=0, config=EngineConfig(learning_rate=1e6, transfer_every=0))
    engine.run(10, progress=False)
    assert any(f.category == "divergence" for f in engine.history.failures)


def test_default_learning_rate_records_no_divergence():
    engine = ScalarScopeEngine(seed=0, config=SMALL)
    engine.run(20, progress=False)
    assert not [f for f in engine.history.failures if f.category == "divergence"]


# -- crashes and hangs ----------------------------------------------------------------------------
def test_empty_run_export_is_a_clear_error(engine, tmp_path, capsys):
    with pytest.raises(GeometryFileError, match=r"no cycles.*run some first, e.g. engine.run\(10\)"):
        engine.export_geometry(tmp_path / "empty.json")
    assert not list(tmp_path.iterdir())
    assert main(["run", "--cycles", "0", "--export", str(tmp_path / "x.json"), "--no-progress"]) == 2
    assert "--export with --cycles 0" in capsys.readouterr().err


@pytest.mark.parametrize("option", ["--export", "--save"])
@pytest.mark.parametrize("where", ["directory", "under_a_file"])
def test_cli_output_paths_are_checked_before_training(tmp_path, capsys, monkeypatch, option, where):
    trained = []
    monkeypatch.setattr(ScalarScopeEngine, "run", lambda self, n, **kw: trained.append(n))
    (tmp_path / "file").write_text("x")
    target = tmp_path if where == "directory" else tmp_path / "file" / "out.json"
    assert main(["run", "--cycles", "300", option, str(target), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert trained == [], "training started before the output path was checked"
    assert str(target) in err and ("is a directory" in err or "is a file, not a directory" in err
                                   or "only opens files ending in .json" in err)


def test_output_path_check_names_the_problem(tmp_path):
    from scalarscope._atomic import atomic_write_text, check_output_path

    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputPathError, match=r"is a directory; give a file name inside it") as info:
        check_output_path(tmp_path, "--save")
    assert isinstance(info.value, OSError)
    with pytest.raises(OutputPathError, match=r"'file' is a file, not a directory|is a file, not a directory"):
        atomic_write_text(tmp_path / "file" / "deeper" / "x.txt", "text")
    assert check_output_path(tmp_path / "new" / "dir" / "x.txt") == tmp_path / "new" / "dir" / "x.txt"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]  # the check leaves nothing behind


def test_export_onnx_output_path_is_checked_before_loading(tmp_path, capsys):
    pytest.importorskip("onnx")
    assert main(["export-onnx", str(tmp_path / "missing.pt"), str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err  # not "checkpoint missing": the path came first


def test_evaluator_time_limit_records_an_evaluator_error_and_the_cycle_goes_on():
    hang = threading.Event()

    def slow(prompt: str, response: str) -> float:
        if hang.is_set():
            hang.clear()
            time.sleep(30)
        return 0.5

    evaluators = [*correlated_evaluators(2, 0.5, seed=0), with_timeout(as_evaluator(slow), seconds=0.2)]
    engine = ScalarScopeEngine(evaluators=evaluators, seed=0, config=SMALL)
    hang.set()
    record = engine.run_cycle("hello")  # benchmarks/bench_checks.py times it
    errors = [f for f in record.failures if f.category == "evaluator_error"]
    assert errors and "did not answer within 0.2 s" in errors[0].description
    assert "failed on 1 response(s)" in errors[0].description  # the next calls run on a fresh thread
    assert engine.run_cycle("hello").status == "ok"


def test_evaluator_time_limit_passes_results_and_errors_through():
    from scalarscope.evaluators import EvaluatorTimeout

    judge = with_timeout(correlated_evaluators(1, 0.0)[0], seconds=5)
    assert judge("q", "abc") == correlated_evaluators(1, 0.0)[0]("q", "abc")
    assert len(judge.token_scores("q", "abc")) == 3 and judge.has_token_scores
    with pytest.raises(ConfigError, match=r"seconds must be > 0"):
        with_timeout(judge, 0)

    def boom(prompt, response):
        raise KeyError("inner")

    with pytest.raises(KeyError, match="inner"):
        with_timeout(boom, 1)("a", "b")
    assert issubclass(EvaluatorTimeout, TimeoutError)


# -- cryptic errors -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("kwargs", "match"), [
    ({"token_pool": "x"}, r"token_pool must be a TokenPool, got 'x' \(str\)"),
    ({"token_pool": {"max_tokens_per_cycle": 5}}, r"token_pool must be a TokenPool, got \{'max_tokens_per_cycle'"),
    ({"model": "x"}, r"model must be a Student .*got 'x' \(str\)"),
    ({"prompts": "hello"}, r"prompts must be a list of str, got 'hello'"),
    ({"prompts": ["ok", 3]}, r"prompt\[1\] must be a str, got 3 \(int\)"),
])
def test_engine_parts_of_the_wrong_type_fail_at_construction(kwargs, match):
    with pytest.raises(ConfigTypeError, match=match) as info:
        ScalarScopeEngine(seed=0, config=SMALL, **kwargs)
    assert isinstance(info.value, TypeError) and isinstance(info.value, ValueError)


def test_token_pool_of_a_dict_is_a_type_error():
    with pytest.raises(ConfigTypeError, match=r"TokenPool expects a GovernorConfig, got dict"):
        TokenPool({"max_tokens_per_cycle": 5})


@pytest.mark.parametrize(("prompt", "match"), [
    (None, r"prompt must be a str or a list of str, got None \(NoneType\)"),
    (b"x", r"prompt must be a str, got bytes b'x'; decode it first"),
    (7, r"prompt must be a str or a list of str, got 7 \(int\)"),
    ([], r"run_cycle needs at least one prompt"),
    (["a", None], r"prompt\[1\] must be a str, got None"),
])
def test_run_cycle_prompt_must_be_text(engine, prompt, match):
    with pytest.raises(ConfigError, match=match):
        engine.run_cycle(prompt)
    assert engine.cycle == 0 and not engine.token_pool.cycle_open


@pytest.mark.parametrize(("n", "match"), [
    (None, r"n must be an int >= 3, got None"),
    (10**9, r"n must be in \[3, 200,000\], got 1,000,000,000"),
    (2, r"n must be in \[3, 200,000\], got 2"),
    (2.5, r"n must be an int >= 3, got 2\.5"),
])
def test_holdout_transfer_probe_count_is_checked_before_allocating(engine, n, match):
    with pytest.raises(ConfigError, match=match):  # benchmarks/bench_checks.py times the refusal
        engine.holdout_transfer(n)
    with pytest.raises(ConfigTypeError, match=r"seed must be an int or None, got 1\.5"):
        engine.holdout_transfer(10, seed=1.5)


def test_score_a_directory_says_directory(tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    assert main(["score", str(tmp_path), "hello", "world"]) == 2
    err = capsys.readouterr().err
    assert "is a directory" in err and "does not exist" not in err


def test_score_threads_beyond_the_cores_is_refused_at_once(tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    from scalarscope.onnx import OnnxConscience

    path = tmp_path / "m.onnx"
    path.write_bytes(b"not a model")
    with pytest.raises(ConfigError, match=r"threads must be <= \d+, got 100000\. This machine has"):
        OnnxConscience(path, threads=100000)
    assert main(["score", str(path), "a", "b", "--threads", "100000"]) == 2
    assert "threads must be <=" in capsys.readouterr().err


def test_every_new_error_is_a_scalarscope_error():
    for error in (ConfigTypeError, OutputPathError, GeometryFileError):
        assert issubclass(error, ScalarScopeError)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert issubclass(MeasurementWarning, UserWarning)


# -- run --save survives Ctrl-C and SIGTERM ------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize(("signame", "status"), [("SIGINT", 130), ("SIGTERM", 143)])
def test_signal_during_run_saves_the_last_completed_cycle(tmp_path, signame, status):
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    checkpoint = tmp_path / "ck.pt"
    process = subprocess.Popen([sys.executable, "-m", "scalarscope", "run", "--cycles", "100000", "--save",
                                str(checkpoint)], env=env, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    # the progress bar on stderr shows cycles completing; stop once a few have
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.extend(iter(lambda: process.stderr.read(1), "")), daemon=True)
    reader.start()
    deadline = time.monotonic() + 120
    while not re.search(r"\| ([3-9]|\d\d+)/100000", "".join(seen[-400:])):
        assert process.poll() is None, "".join(seen)[-2000:]
        assert time.monotonic() < deadline, "no cycle completed within 120 s"
        time.sleep(0.1)
    process.send_signal(getattr(signal, signame))
    process.wait(timeout=60)
    reader.join(timeout=10)
    rest = "".join(seen)
    assert process.returncode == status, rest[-2000:]
    assert f"stopped by {signame}" in rest
    resumed = ScalarScopeEngine.load(checkpoint)
    assert resumed.cycle >= 1 and len(resumed.history) == resumed.cycle
    assert f"(cycle {resumed.cycle})" in rest


# -- geometry files: refuse what would hang, crash or exhaust memory -------------------------------------
@pytest.fixture
def odd_files(tmp_path):
    import os

    (tmp_path / "deep.json").write_text("[" * 100_000)
    (tmp_path / "deep_unknown.json").write_text('{"extra": ' + "[" * 100_000 + "]" * 100_000 + "}")
    (tmp_path / "huge_int.json").write_text('{"schema_version": "1.0", "run_metadata": {"seed": ' + "9" * 100_000 + "}}")
    (tmp_path / "zero.json").symlink_to("/dev/zero")
    os.mkfifo(tmp_path / "fifo.json")
    (tmp_path / "word.json").write_text('{"trajectory": {"timesteps": [{"t": "a", "curvature": "0.5"}]}}')
    return tmp_path


@pytest.mark.parametrize(("name", "match"), [
    ("deep.json", r"line 1 column 501: nested too deeply to parse"),
    ("deep_unknown.json", r"line 1 column \d+: nested too deeply to parse"),
    ("huge_int.json", r"run_metadata.seed: is an integer of 100000 digits; it overflows Int32"),
    ("zero.json", r"is a character device, not a JSON file"),
    ("fifo.json", r"is a FIFO \(named pipe\), not a JSON file"),
])
def test_load_geometry_refuses_odd_input_with_its_own_error(odd_files, name, match):
    from scalarscope.export import load_geometry, validate_geometry

    with pytest.raises(GeometryFileError, match=rf"{name}: .*\[contract rule \d\]"):
        load_geometry(odd_files / name)  # benchmarks/bench_checks.py times it
    found = [str(v) for v in validate_geometry(odd_files / name)]
    assert any(re.search(match, v) for v in found), found


def test_validate_cli_reports_odd_files_and_exits_1(odd_files, capsys):
    files = [str(odd_files / n) for n in ("deep.json", "huge_int.json", "zero.json", "fifo.json")]
    assert main(["validate", *files]) == 1
    out = capsys.readouterr().out
    assert out.count("[rule 1]") >= 3 and "Traceback" not in out


def test_oversized_file_is_refused_without_reading_it(tmp_path, monkeypatch):
    from scalarscope.export import validate

    path = tmp_path / "big.json"
    path.write_text('{"a": "' + "x" * 2000 + '"}')
    monkeypatch.setattr(validate, "MAX_BYTES", 1000)
    found = validate.validate_geometry(path)
    assert [v.rule for v in found] == ["1"] and "the viewer opens at most" in found[0].message


def test_validator_calls_a_word_a_word_and_a_numeric_string_a_numeric_string(odd_files):
    from scalarscope.export import validate_geometry

    messages = {v.path: v.message for v in validate_geometry(odd_files / "word.json")}
    assert messages["trajectory.timesteps[0].t"] == "must be a number, got the string 'a'"
    assert messages["trajectory.timesteps[0].curvature"].startswith("is a number written as a string ('0.5')")
