"""The judge boundary: score checks, batch calls, character -> token alignment, prefix feedback,
the score cache and the TRL reward-function bridge (no model needed)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scalarscope.engine._update import token_rewards
from scalarscope.errors import EvaluatorError
from scalarscope.evaluators import CallableEvaluator, as_evaluator, correlated_evaluators, score_responses
from scalarscope.evaluators.alignment import chars_to_tokens, token_ends
from scalarscope.evaluators.base import prefix_feedback
from scalarscope.evaluators.cache import ScoreCache, cached
from scalarscope.evaluators.reward_functions import as_reward_function, from_reward_function
from scalarscope.student import CharTokenizer
from scalarscope.student.hf_tokenizer import HFTokenizer
from scalarscope.student.word_tokenizer import word_tokenizer_hf

WORDS = ("the", "a", "kind", "answer", "is", "very", "no", "yes", "x", "integral")
WORD_TOKENIZER = HFTokenizer(word_tokenizer_hf(WORDS))  # ids: specials 0-2, words 3-12, punctuation 13-17


class CountingJudge:
    """Scores by the share of vowels; counts its calls (pairs and batches)."""

    name = "vowels"

    def __init__(self):
        self.pair_calls = self.batch_calls = self.texts_scored = 0

    def __call__(self, prompt, response):
        self.pair_calls += 1
        return sum(c in "aeiou" for c in response) / max(len(response), 1)

    def score_batch(self, prompts, responses):
        self.batch_calls += 1
        self.texts_scored += len(responses)
        return [sum(c in "aeiou" for c in r) / max(len(r), 1) for r in responses]


@pytest.mark.parametrize(("value", "named"), [("0.5", "str"), (True, "bool"), (np.bool_(True), "bool"),
                                              (None, "NoneType"), ([0.5], "list")])
def test_a_score_that_is_not_a_number_is_a_recorded_failure(value, named):
    judge = as_evaluator(lambda p, r: value, name="odd")
    table = score_responses([judge], ["p", "p"], ["ab", "cd"])
    assert not table.valid.any() and (table.sequence == 0).all()
    assert len(table.failures) == 2 and table.failures[0][0] == "odd"
    assert f"returned a {named}" in table.failures[0][1] and "not a number" in table.failures[0][1]


@pytest.mark.parametrize(("value", "message"), [(float("nan"), "non-finite"), (1.5, "outside"), (-0.1, "outside")])
def test_nan_and_out_of_range_scores_are_recorded_failures(value, message):
    table = score_responses([as_evaluator(lambda p, r: value, name="bad")], ["p"], ["ab"])
    assert not table.valid[0, 0] and message in table.failures[0][1]


def test_a_batch_judge_is_called_once_per_batch_with_the_per_pair_scores():
    judge = CountingJudge()
    responses = ["hello", "xyz", "aeiou", ""]
    table = score_responses([judge], ["q"] * 4, responses)
    assert (judge.batch_calls, judge.pair_calls) == (1, 0)
    np.testing.assert_allclose(table.sequence[:, 0], [CountingJudge()("q", r) for r in responses])


def test_a_batch_of_the_wrong_length_or_a_raising_batch_fails_every_row():
    class Short:
        name = "short"

        def __call__(self, p, r):
            return 0.5

        def score_batch(self, prompts, responses):
            return [0.5]

    class Raising(Short):
        name = "raising"

        def score_batch(self, prompts, responses):
            raise RuntimeError("model on fire")

    table = score_responses([Short(), Raising()], ["p"] * 3, ["a", "b", "c"])
    assert not table.valid.any()
    assert "gave 1 scores for 3 responses" in table.failures[0][1]
    assert "RuntimeError: model on fire" in table.failures[-1][1]


def _letter_judge(weights):
    """A character-level judge: feedback of a character is its letter's weight."""
    def feedback(prompt, response):
        return np.array([weights.get(c, -0.25) for c in response])

    return CallableEvaluator("letters", lambda p, r: 0.5, token_fn=feedback)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.lists(st.integers(3, 3 + len(WORDS) + 4), min_size=0, max_size=9), min_size=1, max_size=5),
       weights=st.dictionaries(st.sampled_from("aeiknorstxy"), st.floats(-3, 3), min_size=1))
def test_token_feedback_of_a_word_student_sums_to_the_character_feedback(rows, weights):
    tok = WORD_TOKENIZER
    width = max(len(r) for r in rows)
    ids = np.array([r + [tok.eos_id] * (width - len(r)) for r in rows]).reshape(len(rows), width)
    lengths = np.array([len(r) for r in rows])
    responses = tok.decode_batch(ids, lengths)
    judge = _letter_judge(weights)
    table = score_responses([judge], ["p"] * len(rows), responses, response_ids=ids, lengths=lengths, tokenizer=tok)
    assert table.tokens.shape == (len(rows), width, 1) and table.valid.all()
    for b, response in enumerate(responses):
        char_feedback = judge.token_scores("p", response)
        assert table.tokens[b, :, 0].sum() == pytest.approx(char_feedback.sum(), abs=1e-9)
        assert np.all(table.tokens[b, lengths[b]:, 0] == 0)
        # each token gets its own word's characters and the space before it (an independent count)
        words = [tok.decode_batch(ids[b:b + 1, t:t + 1], [1])[0] for t in range(lengths[b])]
        start = 0
        for t, word in enumerate(words):
            gap = 1 if start > 0 else 0
            expected = sum(weights.get(c, -0.25) for c in " " * gap + word)
            assert table.tokens[b, t, 0] == pytest.approx(expected, abs=1e-9)
            start += gap + len(word)


def test_alignment_gives_uncovered_characters_to_the_next_token_and_the_tail_to_the_last():
    offsets = np.array([[0, 0], [2, 4], [4, 4], [6, 7]])  # a special token, words with gaps, a trailing gap
    assert token_ends(offsets, 9).tolist() == [0, 4, 4, 9]
    np.testing.assert_allclose(chars_to_tokens(np.arange(9.0), offsets), [0, 0 + 1 + 2 + 3, 0, 4 + 5 + 6 + 7 + 8])


def test_without_a_tokenizer_each_character_is_one_token_as_before():
    judge = correlated_evaluators(2, 0.3, seed=3)[0]
    plain = CallableEvaluator("copy", judge, token_fn=judge.token_scores)
    tok = CharTokenizer()
    ids = tok.encode("hello there")[None]
    table = score_responses([plain], ["q"], ["hello there"], response_ids=ids, lengths=np.array([11]))
    with_tok = score_responses([plain], ["q"], ["hello there"], response_ids=ids, lengths=np.array([11]),
                               tokenizer=tok)
    np.testing.assert_allclose(table.tokens[0, :, 0], judge.token_scores("q", "hello there"), atol=1e-12)
    np.testing.assert_array_equal(table.tokens, with_tok.tokens)


@settings(max_examples=30, deadline=None)
@given(rows=st.lists(st.lists(st.integers(3, 3 + len(WORDS) - 1), min_size=1, max_size=8), min_size=1, max_size=4))
def test_prefix_feedback_sums_to_the_sequence_score(rows):
    tok = WORD_TOKENIZER
    width = max(len(r) for r in rows)
    ids = np.array([r + [tok.pad_id] * (width - len(r)) for r in rows])
    lengths = np.array([len(r) for r in rows])
    responses = tok.decode_batch(ids, lengths)
    inner = CountingJudge()
    table = score_responses([prefix_feedback(inner)], ["p"] * len(rows), responses, response_ids=ids,
                            lengths=lengths, tokenizer=tok)
    assert table.has_tokens[0] and table.valid.all()
    np.testing.assert_allclose(table.tokens[:, :, 0].sum(1), table.sequence[:, 0], atol=1e-12)
    for b in range(len(responses)):  # the first token's feedback is the first word's own score
        first = tok.decode_batch(ids[b:b + 1, :1], [1])[0]
        assert table.tokens[b, 0, 0] == pytest.approx(CountingJudge()("p", first))
    assert inner.batch_calls == 2  # one call for the sequences, one for every prefix of the batch


def test_the_policy_reward_spreads_a_sequence_only_judge_over_the_response():
    """Per token: the mean over the judges that answered of their token feedback, a sequence-only
    judge counting as its score / length; a judge that failed on a response is left out of it."""
    def picky(prompt: str, response: str) -> float:
        if response == "ab":
            raise RuntimeError("refuses short answers")
        return 0.25

    evaluators = [correlated_evaluators(1, 0.0, seed=1)[0], CountingJudge(), as_evaluator(picky, name="picky")]
    tok = CharTokenizer()
    responses = ["hello", "ab", "xyzzy ok"]
    ids = np.zeros((3, 8), dtype=np.int64)
    for b, r in enumerate(responses):
        ids[b, : len(r)] = tok.encode(r)
    lengths = np.array([len(r) for r in responses])
    table = score_responses(evaluators, ["q"] * 3, responses, prompt_ids=[tok.encode("q")] * 3,
                            response_ids=ids, lengths=lengths)
    assert table.has_tokens.tolist() == [True, False, False] and table.valid[:, 2].tolist() == [True, False, True]
    rewards = token_rewards(table, np.array([0, 1, 2]), lengths, 8)
    vowels = [2 / 5, 1 / 2, 1 / 8]  # "hello", "ab", "xyzzy ok"
    for b, response in enumerate(responses):
        for t in range(8):
            if t >= len(response):
                assert rewards[b, t] == 0.0
                continue
            parts = [table.tokens[b, t, 0], vowels[b] / len(response)] + ([0.25 / len(response)] if b != 1 else [])
            assert rewards[b, t] == pytest.approx(np.mean(parts), abs=1e-12), (b, t)
    # a sequence-only judge alone: its token rewards add up to its score
    np.testing.assert_allclose(token_rewards(table, np.array([1]), lengths, 8).sum(1), vowels, atol=1e-12)


def test_score_cache_is_a_bounded_lru_with_a_hit_rate():
    cache = ScoreCache(maxsize=2)
    cache.put("a", 0.1)
    cache.put("b", 0.2)
    assert cache.get("a") == 0.1  # a is now the most recent
    cache.put("c", 0.3)  # evicts b
    assert cache.get("b") is not cache.get("c") and len(cache) == 2
    info = cache.info()
    assert (info.hits, info.misses) == (2, 1) and info.hit_rate == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="maxsize must be >= 1"):
        ScoreCache(0)


def test_cached_judge_scores_each_distinct_text_once_within_and_across_batches():
    inner = CountingJudge()
    judge = cached(inner, uses_prompt=False)
    first = score_responses([judge], ["p", "q", "p"], ["same", "same", "other"])
    second = score_responses([judge], ["r", "r"], ["other", "new one"])
    assert inner.texts_scored == 3 and inner.batch_calls == 2
    np.testing.assert_allclose(first.sequence[:, 0], [CountingJudge()("", r) for r in ["same", "same", "other"]])
    np.testing.assert_allclose(second.sequence[:, 0], [CountingJudge()("", r) for r in ["other", "new one"]])
    info = judge.cache.info()
    assert (info.hits, info.misses) == (1, 4)  # "other" again; the in-batch repeat is a miss asked once


def test_failures_are_not_cached():
    calls = []

    def flaky(prompt, response):
        calls.append(response)
        return None if len(calls) == 1 else 0.5

    judge = cached(flaky)
    assert not score_responses([judge], ["p"], ["a"]).valid[0, 0]
    assert score_responses([judge], ["p"], ["a"]).sequence[0, 0] == 0.5
    assert len(calls) == 2 and len(judge.cache) == 1


def _trl_calls(reward_func, prompts, completions):
    """What TRL's GRPOTrainer does with a reward function (keyword call, extra columns, None -> NaN)."""
    output = reward_func(prompts=prompts, completions=completions, completion_ids=[[1, 2]] * len(completions),
                         trainer_state=None, answer=["yes"] * len(completions))
    return [reward if reward is not None else float("nan") for reward in output]


def test_a_trl_reward_function_is_an_evaluator():
    seen = {}

    def length_reward(completions, **kwargs):  # TRL's documented form: completions plus **kwargs
        seen.update(kwargs)
        return [2 * len(c) / 5 - 1 if c != "none" else None for c in completions]

    judge = from_reward_function(length_reward, score_range=(-1, 1), answer="yes")
    table = score_responses([judge], ["a", "b", "c"], ["hello", "", "none"])
    np.testing.assert_allclose(table.sequence[:2, 0], [1.0, 0.0])
    assert not table.valid[2, 0] and "NoneType" in table.failures[0][1]
    assert seen["prompts"] == ["a", "b", "c"] and seen["answer"] == "yes" and judge.name == "length_reward"
    with pytest.raises(EvaluatorError, match="needs a name"):
        from_reward_function(lambda completions, **kw: [1.0])
    with pytest.raises(EvaluatorError, match="worst < best"):
        from_reward_function(length_reward, score_range=(1, 1))


def test_an_evaluator_is_a_trl_reward_function():
    reward = as_reward_function(CountingJudge())
    assert reward.__name__ == "vowels"
    rewards = _trl_calls(reward, ["p", "q"], ["aaa", "xyz"])
    assert rewards == [1.0, 0.0]
    conversational = _trl_calls(reward, [[{"role": "user", "content": "hi"}]],
                                [[{"role": "assistant", "content": "ae"}]])
    assert conversational == [1.0]
    failing = _trl_calls(as_reward_function(as_evaluator(lambda p, r: "0.5", name="stringly")), ["p"], ["a"])
    assert np.isnan(failing[0])
    round_trip = from_reward_function(reward)
    assert score_responses([round_trip], ["p"], ["aaxx"]).sequence[0, 0] == pytest.approx(0.5)


def test_character_feedback_on_a_word_student_without_its_tokenizer_is_a_recorded_failure():
    tok = WORD_TOKENIZER
    ids = tok.encode("the kind answer")[None]
    responses = tok.decode_batch(ids, [3])
    table = score_responses([_letter_judge({"a": 1.0})], ["p"], responses, response_ids=ids, lengths=np.array([3]))
    assert not table.valid[0, 0] and "tokenizer=student.tokenizer" in table.failures[0][1]


def test_one_scoring_split_into_tables_equals_separate_scorings():
    def picky(prompt, response):
        return None if response == "bad" else len(response) / 10

    judges = [as_evaluator(picky), CountingJudge()]
    responses, probes = ["ab", "bad", "abcde"], ["bad", "aeio"]
    both = score_responses(judges, ["p"] * 5, responses + probes)
    first, second = both.take(slice(0, 3)), both.take(slice(3, None), columns=[0])
    alone, probes_alone = score_responses(judges, ["p"] * 3, responses), score_responses(judges[:1], ["p"] * 2, probes)
    for part, reference in ((first, alone), (second, probes_alone)):
        np.testing.assert_array_equal(part.sequence, reference.sequence)
        np.testing.assert_array_equal(part.valid, reference.valid)
        assert part.failures == reference.failures and part.failure_cells == reference.failure_cells
    assert second.failure_cells == ((0, 0),) and both.take([1], columns=[1]).failures == ()
