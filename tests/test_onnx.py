"""The ONNX conscience against torch (the oracle), the engine's own transfer, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from scalarscope.cli import main
from scalarscope.engine import EngineConfig, ScalarScopeEngine
from scalarscope.errors import CheckpointError, ConfigError, UnsupportedCharacterError
from scalarscope.evaluators import correlated_evaluators
from scalarscope.evaluators.scalar_head import predicted_scores
from scalarscope.onnx import (
    OnnxConscience,
    OnnxModelError,
    OnnxModelNotFoundError,
    compare_with_engine,
    export_onnx,
)
from scalarscope.student import ALPHABET, BOS, EOS, PAD, CharTokenizer, default_student

CHARS = np.array(list(ALPHABET + "ABCXYZ"))


@pytest.fixture(scope="module")
def engine():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # 2 shared cores: one thread avoids oversubscription stalls
    eng = ScalarScopeEngine(evaluators=correlated_evaluators(5, 0.9, seed=0), holdout="clarity", seed=0,
                            config=EngineConfig(transfer_every=0))
    for _ in range(100):
        eng.step()
    yield eng
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def onnx_path(engine, tmp_path_factory):
    return engine.export_onnx(tmp_path_factory.mktemp("onnx") / "student.onnx")


@pytest.fixture(scope="module")
def conscience(onnx_path):
    return OnnxConscience(onnx_path, threads=1)


@pytest.fixture(scope="module")
def random_student(tmp_path_factory):
    """An untrained student (varied greedy text) with a random, non-zero scalar head."""
    student = default_student(seed=3, n_heads=2)
    with torch.no_grad():
        student.scalar_head.weight.normal_(0.0, 0.3, generator=torch.Generator().manual_seed(1))
    path = export_onnx(student, tmp_path_factory.mktemp("rand") / "r.onnx", evaluator_names=["a", "b"])
    return student, OnnxConscience(path, threads=1)


def _text(rng, low, high):
    return "".join(rng.choice(CHARS, size=int(rng.integers(low, high + 1))))


# -- parity with torch ---------------------------------------------------------------------------
def test_values_and_scores_match_torch_on_1000_varied_sequences(engine, conscience):
    rng = np.random.default_rng(11)
    tok = engine.tokenizer
    prompts = [_text(rng, 0, 24) for _ in range(1000)]
    responses = [_text(rng, 1, 48) for _ in range(1000)]
    got = conscience.token_values(prompts, responses, batch_size=128)
    got_scores = conscience.score_batch(prompts, responses, batch_size=128)
    lengths = np.array([len(r) for r in responses])
    worst_value = worst_score = 0.0
    for length in np.unique(lengths):  # torch, batched by response length
        rows = np.flatnonzero(lengths == length)
        ids = np.stack([tok.encode(responses[i]) for i in rows])
        values = engine.model.predict_values([tok.encode(prompts[i]) for i in rows], np.arange(len(rows)), ids)
        scores = predicted_scores(values, np.full(len(rows), length))
        worst_value = max(worst_value, max(float(np.abs(got[i] - v).max()) for i, v in zip(rows, values, strict=True)))
        worst_score = max(worst_score, float(np.abs(got_scores[rows] - scores).max()))
    assert worst_value < 1e-4 and worst_score < 1e-4
    assert np.concatenate(got).std() > 1e-2  # a trained head: the comparison is not 0 == 0
    single = conscience.score(prompts[0], responses[0])
    np.testing.assert_allclose(list(single.scores.values()), got_scores[0], atol=1e-9)
    assert single.aggregate == pytest.approx(got_scores[0].mean())


def test_graph_outputs_and_carried_state_match_torch(engine, conscience):
    rng = np.random.default_rng(2)
    model = engine.model
    for batch, seq in [(1, 1), (7, 3), (3, 50)]:
        tokens = rng.integers(0, model.tokenizer.vocab_size, size=(batch, seq))
        state = rng.normal(size=(1, batch, model.width)).astype(np.float32)
        with torch.no_grad():
            out, h = model.gru(model.embed(torch.from_numpy(tokens)), torch.from_numpy(state))
            expected = [model.policy_head(out), model.scalar_head(out), h]
        for e, g in zip(expected, conscience.run(tokens, state), strict=True):
            assert g.shape == tuple(e.shape) and np.abs(g - e.numpy()).max() < 1e-4
    # incremental: two calls carrying the state equal one call over the whole sequence
    tokens = rng.integers(3, 48, size=(4, 20))
    whole = conscience.run(tokens)
    first = conscience.run(tokens[:, :9])
    second = conscience.run(tokens[:, 9:], first[2])
    np.testing.assert_allclose(np.concatenate([first[1], second[1]], 1), whole[1], atol=1e-5)
    np.testing.assert_allclose(second[2], whole[2], atol=1e-5)


@torch.no_grad()
def _torch_greedy(model, prompt: str, max_new_tokens: int):
    """Independent greedy decoder: one torch.gru_cell step per token; PAD/BOS are never chosen."""
    gru = model.gru
    weights = (gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0)
    h = model.encode_prompts([model.tokenizer.encode(prompt)])
    tokens, values = [], []
    for _ in range(max_new_tokens):
        logits = model.policy_head(h)[0]
        logits[[PAD, BOS]] = -float("inf")
        token = int(logits.argmax())
        if token == EOS:
            break
        tokens.append(token)
        h = torch.gru_cell(model.embed(torch.tensor([token])), h, *weights)
        values.append(model.scalar_head(h)[0].numpy())
    return tokens, np.array(values).reshape(-1, model.n_heads)


@pytest.mark.parametrize("which", ["trained", "random"])
def test_greedy_generation_gives_identical_tokens(which, engine, conscience, random_student):
    model, judge = (engine.model, conscience) if which == "trained" else random_student
    for prompt in ["rate this answer:", "", "Is the claim correct?", "xyz 42"]:
        tokens, values = _torch_greedy(model, prompt, 40)
        generated = judge.generate(prompt, max_new_tokens=40, temperature=0.0)
        assert generated.tokens.tolist() == tokens
        assert generated.text == model.tokenizer.decode(tokens)
        assert generated.stopped == ("eos" if len(tokens) < 40 else "length")
        expected = predicted_scores(values[None], np.array([len(tokens)]))[0]
        np.testing.assert_allclose(list(generated.assessment.scores.values()), expected, atol=1e-4)


def test_sampling_follows_the_policy_and_is_reproducible(random_student):
    student, judge = random_student
    prompt = "explain the result."
    with torch.no_grad():
        probs = torch.softmax(student.policy_head(student.encode_prompts([student.tokenizer.encode(prompt)]))[0]
                              / 0.7, -1).numpy().astype(np.float64)
    probs[[PAD, BOS]] = 0.0
    probs /= probs.sum()
    first = [judge.generate(prompt, 1, 0.7, seed=s) for s in range(3000)]
    counts = np.bincount([g.tokens[0] if len(g.tokens) else EOS for g in first], minlength=len(probs))
    assert np.abs(counts / 3000 - probs).max() < 0.03
    a, b = judge.generate(prompt, 30, 1.0, seed=5), judge.generate(prompt, 30, 1.0, seed=5)
    assert a.text == b.text and np.array_equal(a.tokens, b.tokens) and a.assessment.scores == b.assessment.scores
    assert judge.generate(prompt, 30, 1.0, seed=6).text != a.text
    rescored = judge.score(prompt, a.text)  # the self-assessment is the score of what was written
    np.testing.assert_allclose(list(a.assessment.scores.values()), list(rescored.scores.values()), atol=1e-5)
    assert not a.tokens.flags.writeable and not a.assessment.token_values.flags.writeable


# -- torch-free at inference ---------------------------------------------------------------------
def test_conscience_runs_in_a_process_where_torch_cannot_be_imported(conscience, onnx_path):
    prompt, response = "rate this answer:", "clear and correct."
    code = f"""
import json, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('torch', 'onnx', 'onnxscript'):
            raise ImportError('blocked by the test: ' + name)
sys.meta_path.insert(0, Block())
from scalarscope.onnx import OnnxConscience
c = OnnxConscience({str(onnx_path)!r}, threads=1)
s = c.score({prompt!r}, {response!r})
g = c.generate({prompt!r}, 24, 0.0)
from scalarscope.cli import main
main(['score', {str(onnx_path)!r}, {prompt!r}, {response!r}, '--json'])
print(json.dumps({{'scores': dict(s.scores), 'text': g.text, 'torch': 'torch' in sys.modules}}))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    cli_line, result_line = done.stdout.strip().splitlines()[-2:]
    result = json.loads(result_line)
    expected = conscience.score(prompt, response)
    assert result["torch"] is False
    assert result["scores"] == pytest.approx(dict(expected.scores), abs=1e-9)
    assert json.loads(cli_line)["scores"] == pytest.approx(dict(expected.scores), abs=1e-9)
    assert result["text"] == conscience.generate(prompt, 24, 0.0).text


# -- held-out text: the same judgment as torch, the same transfer as the engine ------------------
def test_held_out_correlations_match_torch_and_engine_transfer(engine, conscience):
    agreement = compare_with_engine(engine, conscience, n=1000, seed=7)
    measured = engine.holdout_transfer(1000, seed=7)
    print("\n" + agreement.table())
    np.testing.assert_allclose(agreement.onnx_correlation, agreement.torch_correlation, atol=1e-4)
    assert agreement.onnx_fidelity == pytest.approx(measured.fidelity, abs=1e-4)
    assert agreement.onnx_transfer == pytest.approx(measured.transfer, abs=1e-4)
    assert measured.transfer > 0.1 and agreement.onnx_correlation.min() > 0.05  # something was learned
    assert agreement.max_score_difference < 1e-4 and agreement.n == measured.n


# -- text encoding is CharTokenizer's ------------------------------------------------------------
def test_tokenizer_message_lists_the_punctuation():
    with pytest.raises(UnsupportedCharacterError) as info:
        CharTokenizer().encode("a" * 50 + "@#$%^&*", what="response")
    assert "space and \".,!?'-:;\"" in str(info.value)


# -- bad input -----------------------------------------------------------------------------------
def test_missing_and_corrupt_files_raise_clear_errors(tmp_path, onnx_path):
    with pytest.raises(OnnxModelNotFoundError, match="does not exist; export one"):
        OnnxConscience(tmp_path / "nope.onnx")
    with pytest.raises(FileNotFoundError):
        OnnxConscience(tmp_path / "nope.onnx")
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(np.random.default_rng(0).bytes(4096))
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(onnx_path.read_bytes()[:5000])
    for path in (garbage, truncated):
        with pytest.raises(OnnxModelError, match="could not be loaded by onnxruntime.*corrupt"):
            OnnxConscience(path)


def test_models_without_the_head_or_metadata_are_refused(engine, onnx_path, tmp_path):
    import onnx

    headless = engine.export_onnx(tmp_path / "policy.onnx", include_head=False)
    with pytest.raises(OnnxModelError, match="exported without the internal evaluator.*include_head=True"):
        OnnxConscience(headless)
    proto = onnx.load(onnx_path)
    del proto.metadata_props[:]
    onnx.save(proto, tmp_path / "bare.onnx")
    with pytest.raises(OnnxModelError, match="not a ScalarScope conscience"):
        OnnxConscience(tmp_path / "bare.onnx")
    with pytest.raises(ValueError, match="not a ScalarScope conscience"):
        OnnxConscience(tmp_path / "bare.onnx")


def test_unsupported_text_and_bad_arguments(conscience):
    with pytest.raises(UnsupportedCharacterError, match="response .* outside the student's alphabet: 'é' at 3, '☕' at 5"):
        conscience.score("rate this:", "caf\xe9 \u2615")
    with pytest.raises(UnsupportedCharacterError, match="prompt .* '@' at 4"):
        conscience.generate("rate@this", 5)
    with pytest.raises(ConfigError, match="temperature must be >= 0.0"):
        conscience.generate("rate this", 5, temperature=-1.0)
    with pytest.raises(ConfigError, match="max_new_tokens must be int"):
        conscience.generate("rate this", 2.5)
    with pytest.raises(ConfigError, match="same length"):
        conscience.score_batch(["a", "b"], ["c"])


def test_export_refuses_what_it_cannot_export(tmp_path):
    with pytest.raises(OnnxModelError, match="supports the default GRU student"):
        export_onnx(torch.nn.Linear(2, 2), tmp_path / "x.onnx")
    with pytest.raises(OnnxModelError, match="must be 2 non-empty strings"):
        export_onnx(default_student(n_heads=2), tmp_path / "x.onnx", evaluator_names=["only_one"])
    assert not (tmp_path / "x.onnx").exists()


# -- CLI -----------------------------------------------------------------------------------------
def test_cli_export_and_score(engine, conscience, tmp_path, capsys):
    checkpoint = tmp_path / "run.pt"
    engine.save(checkpoint)
    out = tmp_path / "cli.onnx"
    assert main(["export-onnx", str(checkpoint), str(out)]) == 0
    assert "internal evaluator for correctness" in capsys.readouterr().out
    assert main(["score", str(out), "Rate this answer:", "a fine answer.", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    expected = conscience.score("Rate this answer:", "a fine answer.")
    assert printed["scores"] == pytest.approx(dict(expected.scores), abs=1e-9)
    assert printed["holdout"] == "clarity" and printed["cycle"] == 100
    assert main(["score", str(out), "rate this", "ok"]) == 0
    assert "aggregate" in capsys.readouterr().out


def test_cli_errors_exit_2_with_a_message(tmp_path, onnx_path, capsys):
    assert main(["export-onnx", str(tmp_path / "none.pt"), str(tmp_path / "o.onnx")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["score", str(tmp_path / "none.onnx"), "p", "r"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["score", str(onnx_path), "p", "r\u00e9"]) == 2
    assert "outside the student's alphabet" in capsys.readouterr().err
    with pytest.raises(CheckpointError):
        ScalarScopeEngine.load(tmp_path / "none.pt")
