"""The English corpus, tokenizers, n-gram baselines and pretraining (tiny, on the fixture corpus)."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"

import json  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from scalarscope import corpus as corpus_module  # noqa: E402
from scalarscope.corpus import build_corpus, clean_sentence, load_corpus, split_of  # noqa: E402
from scalarscope.errors import CheckpointError, ConfigError  # noqa: E402

FIXTURE = Path(__file__).parent / "data" / "english_corpus.txt"


@pytest.fixture(scope="module")
def fixture_corpus():
    return load_corpus(FIXTURE)


def test_fixture_corpus_is_cleaned_split_and_counted(fixture_corpus):
    lines = [line for line in FIXTURE.read_text().splitlines() if line.strip()]
    counts = fixture_corpus.counts()
    assert counts["total"]["sentences"] == sum(len(s) for s in fixture_corpus.splits.values())
    assert counts["total"]["words"] == sum(len(s.split()) for split in fixture_corpus.splits.values() for s in split)
    assert 0.9 * len(lines) <= counts["total"]["sentences"] <= len(lines)
    every = [s for split in fixture_corpus.splits.values() for s in split]
    assert len({s.lower() for s in every}) == len(every)  # deduplicated
    assert all(4 <= len(s.split()) <= 20 and s.isascii() for s in every)
    for name, sentences in fixture_corpus.splits.items():  # each sentence sits in the split of its hash
        assert all(split_of(s) == name for s in sentences)
    assert 0.7 < counts["train"]["sentences"] / counts["total"]["sentences"] < 0.9


def test_split_does_not_depend_on_order_or_on_the_rest_of_the_corpus(fixture_corpus):
    sentences = [s for split in fixture_corpus.splits.values() for s in split]
    shuffled = build_corpus(list(reversed(sentences)))
    assert {k: set(v) for k, v in shuffled.splits.items()} == {k: set(v) for k, v in fixture_corpus.splits.items()}
    half = build_corpus(sentences[::2])
    for name, split in half.splits.items():
        assert set(split) <= set(fixture_corpus.splits[name])
    assert half.fingerprint != fixture_corpus.fingerprint
    assert load_corpus(FIXTURE).fingerprint == fixture_corpus.fingerprint


def test_cleaning_rules():
    assert clean_sentence("  The cat   sat on the mat. ") == "The cat sat on the mat."
    assert clean_sentence("Too short.") is None
    assert clean_sentence(" ".join(["word"] * 21)) is None
    assert clean_sentence("Caf\u00e9 au lait is what I want.") is None  # not ASCII
    assert clean_sentence("|___| |___| |___| |___| x") is None  # drawing
    assert clean_sentence("1234 5678 9012 3456 and") is None  # mostly digits
    corpus = build_corpus(["It was late. the dog barked at the moon! Was it? It was late."])
    # "It was late." (3 words) and "Was it?" are too short; the lower-case sentence is split off and kept
    assert [s for split in corpus.splits.values() for s in split] == ["the dog barked at the moon!"]


def test_folder_source_reads_every_file(tmp_path):
    (tmp_path / "a.txt").write_text("The first file has a sentence in it.\n\nAnd a second paragraph here too.")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text("A third sentence lives in a subfolder.")
    (tmp_path / ".hidden").write_text("This hidden file must not be read at all.")
    corpus = load_corpus(tmp_path)
    assert corpus.counts()["total"]["sentences"] == 3
    assert len(corpus.sources) == 2


@pytest.mark.parametrize(("content", "needle"), [(b"", "empty"), (b"\x00\x01\x02 binary", "binary"),
                                                 (b"caf\xe9 is not utf-8 text at all", "not UTF-8"),
                                                 (b"a b\n\n###\n\n12 34", "survives cleaning")])
def test_bad_corpus_files_are_refused_with_the_fix(tmp_path, content, needle):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=needle):
        load_corpus(path)


def test_missing_corpus_and_missing_debian_packages(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="does not exist"):
        load_corpus(tmp_path / "nowhere.txt")
    monkeypatch.setattr(corpus_module, "FORTUNES_DIR", tmp_path / "no-fortunes")
    with pytest.raises(ConfigError, match=r"fortunes.*--corpus PATH"):
        load_corpus()


def test_byte_level_tokenizer_round_trips_and_wordpiece_does_not_always(fixture_corpus):
    from scalarscope.student.english_tokenizer import compare_tokenizers

    table = compare_tokenizers(fixture_corpus.train, fixture_corpus.validation, vocab_size=400)
    assert table["bytelevel"]["exact_round_trip"] == 1.0
    assert table["wordpiece"]["exact_round_trip"] < 1.0  # "don't" comes back as "don ' t"
    assert table["bytelevel"]["unknown_share"] == 0.0


def test_ngram_baselines_match_a_direct_count():
    from scalarscope.student.english_tokenizer import ngram_perplexities

    rng = np.random.default_rng(0)
    train = [rng.integers(0, 6, size=rng.integers(2, 8)) for _ in range(50)]
    held = [rng.integers(0, 6, size=rng.integers(2, 8)) for _ in range(20)]
    out = ngram_perplexities(train, held, 6, ks=(0.5,))
    uni = Counter(t for r in train for t in r[1:].tolist())
    bi = Counter(p for r in train for p in zip(r[:-1].tolist(), r[1:].tolist(), strict=True))
    prev = Counter(t for r in train for t in r[:-1].tolist())
    pairs = [p for r in held for p in zip(r[:-1].tolist(), r[1:].tolist(), strict=True)]
    total = sum(uni.values())
    uni_ppl = np.exp(-np.mean([np.log((uni[b] + 0.5) / (total + 3.0)) for _, b in pairs]))
    bi_ppl = np.exp(-np.mean([np.log((bi[(a, b)] + 0.5) / (prev[a] + 3.0)) for a, b in pairs]))
    assert out["unigram"]["perplexity"] == pytest.approx(uni_ppl)
    assert out["bigram"]["perplexity"] == pytest.approx(bi_ppl)


TINY = dict(vocab_size=400, n_layer=1, n_embd=32, n_head=2, n_positions=48, batch_size=16, steps=12, warmup=2)


def test_pretrain_tiny_loads_back_reuses_the_cache_and_resumes(fixture_corpus, tmp_path, monkeypatch):
    from scalarscope.student import pretrain as pt

    monkeypatch.setattr("scalarscope.student.pretrain_config.cache_dir", lambda: tmp_path)
    config = pt.PretrainConfig(**TINY)
    folder = pt.pretrain(fixture_corpus, config, progress=False, max_steps=5)  # interrupted after 5 steps
    assert not (folder / pt.META).exists() and (folder / pt.STATE).exists()
    assert folder == pt.pretrain(fixture_corpus, config, progress=False)  # resumes to 12
    meta = json.loads((folder / pt.META).read_text())
    assert meta["complete"] and meta["fingerprint"] == fixture_corpus.fingerprint
    assert meta["validation_perplexity"] < meta["baselines"]["unigram"]["perplexity"] * 10
    student = pt.load_student(folder, fingerprint=fixture_corpus.fingerprint)
    ids = student.tokenizer.encode("The dog barked.")
    assert student.tokenizer.decode_batch(ids[None, :], np.array([len(ids)])) == ["The dog barked."]
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    assert pt.pretrain(fixture_corpus, config, progress=False) == folder  # cached: not trained again
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp
    assert pt.student_folder(fixture_corpus, pt.PretrainConfig(**{**TINY, "steps": 13})) != folder


def test_a_resumed_run_equals_an_uninterrupted_one(fixture_corpus, tmp_path):
    import torch

    from scalarscope.student import pretrain as pt

    config = pt.PretrainConfig(**{**TINY, "steps": 6})
    whole = pt.pretrain(fixture_corpus, config, folder=tmp_path / "whole", progress=False)
    pt.pretrain(fixture_corpus, config, folder=tmp_path / "parts", progress=False, max_steps=3)
    parts = pt.pretrain(fixture_corpus, config, folder=tmp_path / "parts", progress=False)
    a, b = (pt.load_student(f).lm.state_dict() for f in (whole, parts))
    for key in a:
        torch.testing.assert_close(a[key], b[key])


def test_a_mismatched_tokenizer_or_corpus_is_refused(fixture_corpus, tmp_path):
    from scalarscope.student import pretrain as pt
    from scalarscope.student.english_tokenizer import train_tokenizer

    folder = pt.pretrain(fixture_corpus, pt.PretrainConfig(**{**TINY, "steps": 2}), folder=tmp_path / "s",
                         progress=False)
    with pytest.raises(CheckpointError, match="corpus"):
        pt.load_student(folder, fingerprint="0" * 64)
    other = train_tokenizer(fixture_corpus.train[::-1][:100], vocab_size=300)
    other.save_pretrained(folder)  # another tokenizer put in the student's folder
    with pytest.raises(CheckpointError, match="tokenizer"):
        pt.load_student(folder)
    with pytest.raises(CheckpointError, match="scalarscope pretrain"):
        pt.load_student(tmp_path)


def test_pretrain_command_trains_reports_and_refuses_a_missing_corpus(tmp_path, capsys):
    from scalarscope.cli import main

    out = tmp_path / "student"
    code = main(["pretrain", "--corpus", str(FIXTURE), "--steps", "3", "--layers", "1", "--width", "32", "--vocab",
                 "300", "--out", str(out), "--samples", "2", "--no-progress"])
    text = capsys.readouterr().out
    assert code == 0 and "validation perplexity" in text and "bigram" in text
    assert (out / "tokenizer.json").is_file() and (out / "model.safetensors").is_file()
    assert main(["pretrain", "--corpus", str(tmp_path / "missing.txt")]) == 2
    assert "does not exist" in capsys.readouterr().err
