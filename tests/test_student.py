"""The student: tokenizer, incremental decoding equals a full teacher-forced pass."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from scalarscope.errors import UnsupportedCharacterError
from scalarscope.student import EOS, CharTokenizer, default_student


def test_tokenizer_round_trip_and_errors():
    tok = CharTokenizer()
    text = "Hello, world: 42 isn't it?"
    assert tok.decode(tok.encode(text)) == text.lower()
    with pytest.raises(UnsupportedCharacterError, match=r"'\\n' at 2"):
        tok.encode("ab\ncd")


def test_incremental_decoding_matches_teacher_forcing():
    student = default_student(seed=3, n_heads=3)
    torch.nn.init.normal_(student.scalar_head.weight)  # a non-trivial head
    tok = student.tokenizer
    prompts = [tok.encode("rate this:"), tok.encode("a longer prompt, here")]
    row_prompt = np.array([0, 0, 1, 1, 1])
    limits = np.array([12, 5, 12, 1, 8])
    gen = student.generate(prompts, row_prompt, limits, generator=torch.Generator().manual_seed(0))
    assert np.all(gen.used <= limits)
    with torch.no_grad():
        logits, values = student.forward_responses(student.encode_prompts(prompts), row_prompt, gen.tokens)
    probs = torch.softmax(logits, -1).numpy()
    for b in range(len(row_prompt)):
        n = gen.used[b]
        np.testing.assert_allclose(gen.logit_stats[b, :n, 3], probs[b, :n, EOS], atol=1e-5)
        np.testing.assert_allclose(gen.logit_stats[b, :n, 1], probs[b, :n].max(-1), atol=1e-5)
        np.testing.assert_allclose(gen.values[b, : gen.lengths[b]], values.numpy()[b, : gen.lengths[b]], atol=1e-5)


def test_generation_is_seeded_and_nothing_global_is_touched():
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a = default_student(seed=5)
    b = default_student(seed=5)
    assert torch.equal(torch.get_rng_state(), before)
    ids = [a.tokenizer.encode("hi")]
    ga = a.generate(ids, np.zeros(4, int), np.full(4, 10), generator=torch.Generator().manual_seed(1))
    gb = b.generate(ids, np.zeros(4, int), np.full(4, 10), generator=torch.Generator().manual_seed(1))
    np.testing.assert_array_equal(ga.tokens, gb.tokens)


def test_decoding_returns_the_hidden_states_a_full_pass_computes():
    """Generation.hidden equals the teacher-forced GRU's outputs; the probe read and the truncated
    probe pass (the shared-prompt capability) give the full pass's values."""
    student = default_student(seed=4, n_heads=2)
    torch.nn.init.normal_(student.scalar_head.weight)
    tok = student.tokenizer
    prompts = [tok.encode("judge this:"), tok.encode("x")]
    row_prompt = np.array([0, 1, 1])
    gen = student.generate(prompts, row_prompt, np.array([9, 9, 4]), generator=torch.Generator().manual_seed(2))
    states = student.encode_prompts(prompts)
    with torch.no_grad():
        full = student._trunk(states, row_prompt, gen.tokens)[1].numpy()
        _, values = student.forward_responses(states, row_prompt, gen.tokens)
    assert gen.hidden.shape == (3, gen.tokens.shape[1], student.width)
    for b in range(3):
        n = gen.used[b]
        np.testing.assert_allclose(gen.hidden[b, :n], full[b, :n], atol=1e-5)
        assert not gen.hidden[b, n:].any()  # zeros past the end
    read, kept = student.read_probes(states, row_prompt, gen.tokens, keep_from=1)
    np.testing.assert_allclose(read, values.numpy(), atol=1e-5)
    with torch.no_grad():  # one truncated step from the kept hidden states gives the full pass's values
        stepped = student.probe_values(states, row_prompt[1:], kept, gen.tokens[1:]).numpy()
    np.testing.assert_allclose(stepped, values.numpy()[1:], atol=1e-5)


def test_the_default_student_implements_the_protocols():
    from _protocols import mismatches

    from scalarscope.student.protocol import SharedPromptStudent, Student, Tokenizer

    student = default_student(seed=0)
    assert mismatches(student, Student) == [] and mismatches(student, SharedPromptStudent) == []
    assert mismatches(student.tokenizer, Tokenizer) == []

    class Renamed:  # the right names with the wrong parameters: isinstance accepts it, the check does not
        vocab_size = pad_id = bos_id = eos_id = 0

        def normalize(self, text, *, what="text"): ...
        def encode(self, txt): ...
        def decode_batch(self, ids, lengths, extra): ...
        def offsets(self, ids): ...
        def sample_probes(self, n, length, rng): ...

    assert isinstance(Renamed(), Tokenizer)
    found = mismatches(Renamed(), Tokenizer)
    assert found[0] == "decode_batch: extra parameters without defaults" and found[1].startswith("encode(txt) differs")
    assert len(found) == 2
