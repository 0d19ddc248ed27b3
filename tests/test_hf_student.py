"""The Hugging Face student: decoding, the teacher-forced pass, bad input, and the engine with it."""

from __future__ import annotations

import copy
import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from _protocols import mismatches

pytest.importorskip("transformers")

from transformers import GPT2Config, GPT2LMHeadModel, GPT2Model  # noqa: E402

from scalarscope.engine import EngineConfig, ScalarScopeEngine  # noqa: E402
from scalarscope.errors import ConfigError, UnsupportedCharacterError  # noqa: E402
from scalarscope.evaluators.synthetic import correlated_evaluators  # noqa: E402
from scalarscope.student import HFStudent, char_tokenizer_hf, tiny_gpt2  # noqa: E402
from scalarscope.student.protocol import SharedPromptStudent, Student, Tokenizer  # noqa: E402

SMALL = EngineConfig(batch_size=16, max_new_tokens=10, probe_batch=4, state_probe_size=8, transfer_every=10,
                     transfer_probes=64)


def _prompts(student, *texts):
    return [student.tokenizer.encode(t) for t in texts]


def test_tiny_gpt2_serves_the_protocols_but_not_the_gru_speed_path():
    student = tiny_gpt2(seed=0)
    assert mismatches(student, Student) == [] and mismatches(student.tokenizer, Tokenizer) == []
    assert not isinstance(student, SharedPromptStudent)
    tok = student.tokenizer
    assert (tok.pad_id, tok.bos_id, tok.eos_id) == (0, 1, 2)  # the default world's ids
    assert tok.decode_batch(tok.encode("Hello, World")[None], np.array([12])) == ["hello, world"]
    with pytest.raises(UnsupportedCharacterError, match=r"'\\n' at 2"):
        tok.encode("ab\ncd")


def test_cached_decoding_equals_a_full_forward():
    student = tiny_gpt2(seed=1, n_heads=3)
    torch.nn.init.normal_(student.scalar_head.weight)
    prompts = _prompts(student, "rate this answer:", "x", "a much longer prompt, for padding")
    row_prompt = np.array([0, 1, 2, 2, 1])
    limits = np.array([12, 12, 3, 12, 7])
    gen = student.generate(prompts, row_prompt, limits, generator=torch.Generator().manual_seed(0),
                           keep_logits=True)
    assert np.all(gen.used <= limits)
    with torch.no_grad():
        logits, values = student.forward(prompts, row_prompt, gen.tokens)
    for b in range(len(row_prompt)):
        n = gen.used[b]
        assert np.abs(logits.numpy()[b, :n] - gen.logits[b, :n]).max() <= 1e-5
        np.testing.assert_allclose(gen.values[b, :gen.lengths[b]], values.numpy()[b, :gen.lengths[b]], atol=1e-5)
        probs = torch.softmax(logits[b, :n], -1).numpy()
        np.testing.assert_allclose(gen.logit_stats[b, :n, 1], probs.max(-1), atol=1e-5)


def test_a_mixed_length_batch_decodes_like_each_prompt_alone():
    student = tiny_gpt2(seed=2)
    prompts = _prompts(student, "short", "a noticeably longer prompt here:", "mid length one")
    together = student.generate(prompts, np.arange(3), np.full(3, 14), temperature=0)
    for p in range(3):
        alone = student.generate([prompts[p]], np.zeros(1, int), np.full(1, 14), temperature=0)
        n = together.used[p]
        assert alone.used[0] == n
        np.testing.assert_array_equal(alone.tokens[0, :n], together.tokens[p, :n])


def test_sampling_uses_only_the_generator():
    student = tiny_gpt2(seed=3)
    prompts = _prompts(student, "hi")
    torch.manual_seed(5)
    before = torch.get_rng_state()
    a = student.generate(prompts, np.zeros(6, int), np.full(6, 9), generator=torch.Generator().manual_seed(1))
    b = student.generate(prompts, np.zeros(6, int), np.full(6, 9), generator=torch.Generator().manual_seed(1))
    assert torch.equal(torch.get_rng_state(), before)
    np.testing.assert_array_equal(a.tokens, b.tokens)


def _gpt2_style_tokenizer():
    """The char tokenizer as GPT-2 ships: no pad token, one token for both BOS and EOS."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<|endoftext|>": 0, **{c: i + 1 for i, c in enumerate("abc de")}}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<|endoftext|>"))
    core.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    core.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(tokenizer_object=core, bos_token="<|endoftext|>", eos_token="<|endoftext|>")


def test_pad_equal_to_eos_is_handled():
    with pytest.warns(UserWarning, match="no pad token; using its EOS"):
        student = tiny_gpt2(seed=4, tokenizer=_gpt2_style_tokenizer())
    tok = student.tokenizer
    assert tok.pad_id == tok.eos_id == tok.bos_id == 0
    gen = student.generate([tok.encode("ab")], np.zeros(64, int), np.full(64, 12),
                           generator=torch.Generator().manual_seed(0))
    for b in range(64):  # a row ends at its first EOS; lengths exclude it; nothing after it counts
        row = gen.tokens[b]
        ended = np.flatnonzero(row[:gen.used[b]] == 0)
        assert len(ended) <= 1 and (len(ended) == 0 or ended[0] == gen.used[b] - 1)
        assert gen.lengths[b] == gen.used[b] - len(ended)
    assert (gen.lengths < gen.used).any() and (gen.lengths == 12).any()  # both kinds of ending occur
    evaluators = [lambda p, r: r.count("a") / max(len(r), 1)]
    engine = ScalarScopeEngine(model=student, evaluators=[_named(evaluators[0], "share_a")], prompts=["ab", "cd"],
                               config=SMALL, seed=0)
    engine.run(3, progress=False)
    assert all(r.status == "ok" for r in engine.history)


def _named(fn, name):
    from scalarscope.evaluators.base import as_evaluator

    return as_evaluator(fn, name=name)


def test_from_pretrained_round_trip(tmp_path):
    student = tiny_gpt2(seed=5)
    student.lm.save_pretrained(tmp_path)
    student.tokenizer.hf.save_pretrained(tmp_path)
    loaded = HFStudent.from_pretrained(tmp_path)
    prompts = _prompts(student, "judge this:")
    ids = student.tokenizer.sample_probes(4, 8, np.random.default_rng(0))
    with torch.no_grad():
        a = student.forward(prompts, np.zeros(4, int), ids)[0]
        b = loaded.forward(prompts, np.zeros(4, int), ids)[0]
    torch.testing.assert_close(a, b)
    assert loaded.tokenizer.encode("judge") .tolist() == student.tokenizer.encode("judge").tolist()


def test_bad_models_and_tokenizers_get_named_errors():
    tokenizer = char_tokenizer_hf()
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=32, n_embd=16, n_layer=1, n_head=2)
    with pytest.raises(ConfigError, match="no language-model head.*AutoModelForCausalLM"):
        HFStudent(GPT2Model(config), tokenizer)
    small = GPT2Config(vocab_size=10, n_positions=32, n_embd=16, n_layer=1, n_head=2)
    with pytest.raises(ConfigError, match="tokenizer has 49 tokens but the model's embedding only 10"):
        HFStudent(GPT2LMHeadModel(small), tokenizer)
    with pytest.raises(ConfigError, match="must be a transformers PreTrainedModel"):
        HFStudent(torch.nn.Linear(2, 2), tokenizer)
    student = HFStudent(GPT2LMHeadModel(config), tokenizer)
    with pytest.raises(ConfigError, match="exceeds the model's context of 32 positions"):
        student.generate(_prompts(student, "x" * 30), np.zeros(1, int), np.full(1, 8))
    with pytest.raises(ConfigError, match="exceeds the model's context"):
        ScalarScopeEngine(model=student, prompts=["y" * 40], config=SMALL).step()


def test_the_engine_trains_a_gpt2_student():
    """Parameters move, the score rises and the scalar head learns (a short run; the 300-cycle
    Path A / Path B figures are in docs/RESULTS_AND_LIMITATIONS.md, from examples/path_a_vs_b.py)."""
    engine = ScalarScopeEngine(model=tiny_gpt2(seed=0), evaluators=correlated_evaluators(3, 0.8, seed=0), seed=0,
                               config=SMALL)
    before = [p.detach().clone() for p in engine.model.parameters()]
    engine.run(60, progress=False)
    assert any(not torch.equal(a, b) for a, b in zip(before, engine.model.parameters(), strict=True))
    frame = engine.history.to_frame()
    assert frame.mean_score.tail(10).mean() > frame.mean_score.head(10).mean() + 0.1
    assert frame.head_error.tail(10).mean() < 0.5 * frame.head_error.head(10).mean()


def test_gpt2_resume_equals_uninterrupted(tmp_path):
    def build():
        return ScalarScopeEngine(model=tiny_gpt2(seed=2), evaluators=correlated_evaluators(3, 0.8, seed=2),
                                 holdout="calibration", seed=2, config=SMALL)

    straight = build()
    straight.run(40, progress=False)
    first = build()
    first.run(20, progress=False)
    first.save(tmp_path / "gpt2.ck")
    resumed = ScalarScopeEngine.load(tmp_path / "gpt2.ck")
    assert isinstance(resumed.model, HFStudent)
    resumed.run(20, progress=False)
    pd.testing.assert_frame_equal(straight.history.to_frame().drop(columns="wall_ms"),
                                  resumed.history.to_frame().drop(columns="wall_ms"))
    assert len(straight.history.transfers) == len(resumed.history.transfers) > 0
    for a, b in zip(straight.history.transfers, resumed.history.transfers, strict=True):
        np.testing.assert_equal(dataclasses.astuple(a), dataclasses.astuple(b))  # NaN (cycle 0's transfer) equals NaN


def test_revision_engine_with_a_gpt2_student():
    from scalarscope import RevisionConfig, RevisionScalarScopeEngine

    engine = RevisionScalarScopeEngine(model=tiny_gpt2(seed=0), evaluators=correlated_evaluators(3, 0.8, seed=0),
                                       revision=RevisionConfig(threshold=0.9), config=SMALL, seed=0)
    engine.run(4, progress=False)
    outcomes = [r.revision for r in engine.history]
    assert sum(o.revised for o in outcomes) > 0
    assert all(np.isfinite(o.pair_loss) for o in outcomes if o.revised)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert engine.revision_summary().revision_rate > 0


def test_cli_sweep_and_onnx_take_the_student_choice(tmp_path, capsys):
    from scalarscope import sweep
    from scalarscope.cli import main
    from scalarscope.onnx.errors import OnnxModelError

    assert main(["run", "--student", "tiny-gpt2", "--cycles", "3", "--no-progress",
                 "--export", str(tmp_path / "g.json")]) == 0
    assert "3 cycles in" in capsys.readouterr().out and (tmp_path / "g.json").exists()
    rows = sweep(overlaps=[0.87], seeds=[0], cycles=3, n_jobs=1, student="tiny-gpt2", transfer_probes=50,
                 progress=False)
    assert rows.student.tolist() == ["tiny-gpt2"] and np.isfinite(rows.transfer).all()
    engine = ScalarScopeEngine(model=tiny_gpt2(seed=0), config=SMALL)
    with pytest.raises(OnnxModelError, match="supports the default GRU student"):
        engine.export_onnx(tmp_path / "x.onnx")


def test_distinct_bigrams_count_for_any_vocabulary():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from scalarscope.critics.learned_critic import logit_features

    @settings(max_examples=60, deadline=None)
    @given(st.lists(st.lists(st.integers(3, 60_000), min_size=2, max_size=12), min_size=1, max_size=5))
    def check(rows):
        width = max(len(r) for r in rows)
        tokens = np.zeros((len(rows), width), dtype=np.int64)
        for b, r in enumerate(rows):
            tokens[b, :len(r)] = r
        lengths = np.array([len(r) for r in rows])
        features = logit_features(np.zeros((len(rows), width, 4)), tokens, lengths, lengths)
        for b, r in enumerate(rows):
            expected = len(set(zip(r[:-1], r[1:], strict=True))) / max(len(r) - 1, 1)
            assert features[b, 7] == pytest.approx(expected)

    check()


def test_the_recorded_state_is_the_student_as_the_cycle_began():
    """Rebuilt outside the engine: the fixed state probe from the engine's seed (checked against the
    engine's own scores of it), read by a copy of the student taken before the step through its
    public teacher-forced ``forward``."""
    engine = ScalarScopeEngine(model=tiny_gpt2(seed=1), evaluators=correlated_evaluators(3, 0.5, seed=1),
                               config=SMALL, seed=1)
    tok = engine.tokenizer
    probe = tok.sample_probes(SMALL.state_probe_size, SMALL.probe_length, np.random.default_rng([1, 2**32 + 7]))
    texts = tok.decode_batch(probe, np.full(len(probe), probe.shape[1]))
    scores = np.array([[e("judge this:", t) for e in engine.evaluators] for t in texts])
    np.testing.assert_allclose(scores, engine.state_probe_scores, atol=1e-12)  # the same probe as the engine's
    prompt = [tok.encode("judge this:")]
    for _ in range(3):
        before = copy.deepcopy(engine.model)
        record = engine.step()
        with torch.no_grad():
            values = before.forward(prompt, np.zeros(len(probe), dtype=int), probe)[1].double().numpy()
        expected = 1 / (1 + np.exp(-values.sum(axis=1)))  # [S, H]: the head's squashed sums
        np.testing.assert_allclose(record.state, expected.ravel(), atol=1e-5)
    with torch.no_grad():
        after = engine.model.forward(prompt, np.zeros(len(probe), dtype=int), probe)[1].double().numpy()
    assert not np.allclose(1 / (1 + np.exp(-after.sum(axis=1))).ravel(), record.state, atol=1e-6)  # it moved


def test_gpt2_under_its_own_conscience_resumes_exactly(tmp_path):
    """KL to the reference and conscience-only training with the GPT-2 student; save and resume
    across the switch of reward source."""
    def build():
        return ScalarScopeEngine(model=tiny_gpt2(seed=3), evaluators=correlated_evaluators(3, 0.8, seed=3),
                                 holdout="calibration", seed=3, config=SMALL)

    straight = build()
    straight.run(6, progress=False)
    straight.reward_source = "conscience"
    straight.run(6, progress=False)
    first = build()
    first.run(6, progress=False)
    first.reward_source = "conscience"
    first.run(3, progress=False)
    first.save(tmp_path / "c.ck")
    resumed = ScalarScopeEngine.load(tmp_path / "c.ck")
    assert resumed.reward_source == "conscience"
    resumed.run(3, progress=False)
    a = straight.history.to_frame().drop(columns="wall_ms")
    pd.testing.assert_frame_equal(a, resumed.history.to_frame().drop(columns="wall_ms"))
    assert a.kl.iloc[0] == pytest.approx(0.0, abs=1e-6) and a.kl.iloc[-1] > 0  # 0 against itself, then it moves
    assert a.reward_source.tolist() == ["evaluators"] * 6 + ["conscience"] * 6


def test_offsets_of_no_tokens_and_of_words():
    tok = tiny_gpt2(seed=0).tokenizer
    assert tok.offsets(np.zeros(0, dtype=np.int64)).shape == (0, 2)
    ids = tok.encode("ab c")
    np.testing.assert_array_equal(tok.offsets(ids), [[0, 1], [1, 2], [2, 3], [3, 4]])


def test_reads_on_the_probe_worker_give_the_plain_readings_numbers_bit_for_bit():
    from scalarscope.engine._reading import ConcurrentReading, PlainReading

    def run(concurrent: bool) -> tuple[pd.DataFrame, np.ndarray, type]:
        model = tiny_gpt2(seed=0)
        if not concurrent:
            model.reads_concurrently = False  # the instance's answer: read everything inline
        engine = ScalarScopeEngine(model=model, evaluators=correlated_evaluators(5, 0.87, seed=0), seed=0,
                                   holdout="clarity", config=EngineConfig(transfer_every=2))
        engine.run(6, progress=False)
        transfers = np.array([(t.cycle, t.transfer, t.ceiling, t.fidelity, t.head_mae) for t in engine.history.transfers])
        return (engine.history.to_frame().drop(columns="wall_ms"), engine.history.states(), transfers,
                type(engine._reader))

    concurrent, concurrent_states, concurrent_transfers, concurrent_kind = run(True)
    plain, plain_states, plain_transfers, plain_kind = run(False)
    assert (concurrent_kind, plain_kind) == (ConcurrentReading, PlainReading)
    assert concurrent["kl"].notna().all() and list(concurrent_transfers[:, 0]) == [0, 2, 4]
    pd.testing.assert_frame_equal(concurrent, plain, check_exact=True)
    np.testing.assert_array_equal(concurrent_states, plain_states)
    np.testing.assert_array_equal(concurrent_transfers, plain_transfers)
